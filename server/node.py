"""The Raftis node: client sessions, routing, the write and read paths, and the state machine.

Write path: a connection asks ``propose``; every write that arrives in one loop turn goes
into one log entry (``server.proposals``); when that entry is applied, each command's reply
goes back to its connection. A proposal's waiters are keyed by (index, term): if another
leader's entry lands at that index, the proposal was lost and its clients hear ``-TRYAGAIN``
(certainly not applied); if nothing is heard within the command timeout, ``-TIMEOUT``
(may have been applied).

Read path: reads of one loop turn share one ReadIndex request; when the core confirms it
and the applied index has reached it, each read runs on the local keyspace.

On a follower, writes and linearizable reads go to the leader (``server.forwarding``), or
are answered with ``-MOVED`` in redirect mode; ``READONLY`` connections read locally.
"""

from __future__ import annotations

import asyncio
import functools
import heapq
import logging
import os
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any

from consensus.messages import Accepted, Entry, EntryType, NotLeader, Role, TooManyUncommitted, members
from resp.encoder import ENCODERS, encode
from resp.types import NULL_ARRAY, OK, ErrorReply
from server.blocked_clients import BlockedClients
from server.checks import Checkpoints
from server.commands.arguments import string2ll
from server.commands.blocking import Blocked
from server.commands.context import ExecContext
from server.commands.registry import CONN, READ, WRITE, keys_of, lookup_internal
from server.commands.streams import xread_blocks
from server.config import NodeConfig
from server.errors import (
    CLUSTERDOWN,
    EXECABORT,
    NOCLUSTER,
    TIMEOUT_READ,
    TIMEOUT_READ_APPLY,
    TIMEOUT_WRITE,
    TRYAGAIN_BUSY,
    TRYAGAIN_LOST,
    TRYAGAIN_NOT_LEADER,
    TRYAGAIN_TX_LOST,
)
from server.forwarding import LeaderLink
from server.keyspace import Keyspace
from server.limits import ClientGuard
from server.monitor import Monitors
from server.notify import notifier_for
from server.proposals import batch_time, decode_batch, encode_batch
from server.pubsub import PubSub
from server.session import Session
from server.stats import NodeStats
from server.tracking import Tracking
from server.transactions import TX_NAMES, apply_exec, exec_item, watch

if TYPE_CHECKING:
    from server.connection import ClientConnection

log = logging.getLogger("raftis.node")

MAX_BATCH_BYTES = 4 * 1024 * 1024
NOT_QUEUED = frozenset((b"quit", b"reset"))
# Relayed commands that open or end state the leader keeps in the link's session.
_RELAY_STATE = frozenset((b"multi", b"watch", b"unwatch", b"exec", b"discard"))

# What a RESP2 connection may send while it has subscriptions.
SUBSCRIBED_OK = frozenset((b"subscribe", b"psubscribe", b"unsubscribe", b"punsubscribe", b"ping", b"quit",
                           b"reset", b"ssubscribe", b"sunsubscribe"))


class Route(IntEnum):
    WRITE = 0
    READ = 1
    LOCAL_READ = 2
    FORWARD = 3
    ERROR = 4
    CONN = 5
    EXEC = 6
    QUEUE = 7  # between MULTI and EXEC: check and queue


# The clock of read tokens and the read lease: unlike CLOCK_MONOTONIC, CLOCK_BOOTTIME goes on
# while the machine is suspended, and a lease must run out while the leader is suspended.
_read_clock = functools.partial(time.clock_gettime, time.CLOCK_BOOTTIME) if hasattr(time, "CLOCK_BOOTTIME") \
    else time.monotonic

# The hot paths read enum members through plain classes (see consensus.messages.members).
_Route = members(Route)
Role = members(Role)
EntryType = members(EntryType)



def _track_relay(session: Session, name: bytes, link: Any) -> None:
    """Remember which link's leader session holds this connection's open MULTI ("multi") or
    its watches ("watch"), until EXEC, DISCARD, UNWATCH or RESET lets them go."""
    relay = session.relay
    if name == b"multi":
        session.relay = (link, "multi")
    elif name == b"watch":
        if relay is None:
            session.relay = (link, "watch")
    elif relay is not None:
        if name == b"unwatch":
            if relay[1] == "watch":  # inside MULTI, UNWATCH is queued like any command
                session.relay = None
        elif relay[1] == "multi":  # EXEC or DISCARD ends the transaction and its watches
            session.relay = None


def _same_basis(a: tuple, b: tuple) -> bool:
    """Whether two lease bases (``Node._basis``) are the same: the same transport epoch and the
    very same membership object (a change and its undoing is still a change)."""
    return a[0] == b[0] and a[1] is b[1]


@dataclass(slots=True)
class _Waiters:
    term: int
    slots: list  # (conn, seq) or None per command of the entry
    deadline: float
    # The entry's payload as proposed (now_ms, commands), when it holds only plain commands:
    # the entry at this index and term is this node's own proposal (log matching), so
    # applying it needs no decode of what was just encoded; and the Command each was looked
    # up to when its client sent it (None: look it up when applying).
    batch: tuple[int, list, list] | None = None


class Node:
    """Everything a client connection talks to. The Raft plumbing lives in ``server.raft``."""

    def __init__(self, cfg: NodeConfig) -> None:
        self.cfg = cfg
        self.keyspace = Keyspace()
        self.active_expire = True  # propose deleting expired keys nobody reads (while leading)
        self.sessions: dict[int, Session] = {}
        self._next_client_id = 1
        self.run_id = os.urandom(20).hex()
        self.started = time.time()
        self.raft: Any = None  # server.raft.RaftHost, set by start()
        self.applied = 0
        self.applied_term = 0
        self.last_batch_ms = 0
        # write batching
        self._batch_cmds: list = []
        self._batch_slots: list = []
        self._batch_fns: list = []  # the Command of each, or None (see _Waiters.batch)
        self._batch_bytes = 0
        self._batch_scheduled = False
        self._batch_plain = True  # no EXEC in the batch (see _Waiters.batch)
        self.waiters: dict[int, _Waiters] = {}
        # reads
        self._read_conns: list[ClientConnection] = []
        self._read_scheduled = False
        # token -> (when asked by _read_clock, the connections whose reads wait for it, the
        # term this node led when it asked or 0, the lease basis then: _basis)
        self._read_tokens: dict[int, tuple[float, list[ClientConnection], int, tuple]] = {}
        # Checked reads waiting for this node to apply their index: (index, token, when asked,
        # the connections). A follower that learned a read index and then lost its leader may
        # never get there: fail_stale_waiters answers those -TIMEOUT like unconfirmed reads.
        self._read_heap: list[tuple[int, int, float, list[ClientConnection]]] = []
        self._next_token = 1
        # The read lease (--lease-reads): until _lease_until (_read_clock seconds), in term
        # _lease_term, this leader serves reads at its commit index without a round.
        self._lease_seconds = cfg.read_lease_seconds if cfg.lease_reads else 0.0
        self._lease_until = 0.0
        self._lease_term = 0
        self._lease_basis: tuple = (-1, None)  # _basis() when the lease was granted
        self._lease_length = 0.0  # seconds it was granted for (lease_allowed() then)
        self._lease_refused_basis: tuple = (-1, None)  # the last basis a lease was refused in (logged once)
        self._lease_token = 0  # the round asked for to extend the lease, while it is out
        self.read_rounds = 0  # read index requests made (each a heartbeat round on a leader)
        self.lease_reads = 0  # reads served under the lease, without a round
        # output
        self._dirty: list[ClientConnection] = []
        # Follower: the link to the leader that clients' plain commands share (forward()).
        self.shared_link: LeaderLink | None = None
        self._flush_scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.ctx = ExecContext(self.keyspace)
        self.blocked = BlockedClients(self)
        self.pubsub = PubSub()
        self.tracking = Tracking(self, getattr(cfg, "tracking_table_max_keys", 1_000_000))
        self.ctx.publish = self.pubsub.publish
        self.checks = Checkpoints()  # digests at RAFT.CHECK's entries (server/checks.py)
        self.ctx.checkpoint = lambda token, index, deadline_ms: self.checks.record(token, index, deadline_ms,
                                                                                  self.keyspace)
        self.ctx.spublish = self.pubsub.spublish
        self.set_keyspace_events(getattr(cfg, "notify_keyspace_events", 0))
        self.stats_commands = 0
        self.stats_connections = 0
        self.stats_rejected = 0
        self.stats_expired = 0
        self.shutdown_requested: asyncio.Event | None = None
        self.ops_stats = NodeStats()  # command stats, SLOWLOG, LATENCY, bytes in/out
        self.monitors = Monitors(self.ops_stats, self.ctx)
        self.pause_until = 0.0  # monotonic time CLIENT PAUSE ends; 0: not paused
        self.pause_all = False
        self._pause_timer: asyncio.TimerHandle | None = None
        self._paused_conns: set[ClientConnection] = set()
        self.guard = ClientGuard(self, cfg)  # authentication, ACLs and client limits

    def set_keyspace_events(self, flags: int) -> None:
        """notify-keyspace-events (server.notify): from now on, applied writes announce their
        changes of the classes in ``flags`` to this node's subscribers."""
        notify = self.ctx.notify = notifier_for(flags, self.pubsub.publish)
        for db in self.keyspace.dbs:
            db.notify = notify

    # -- sessions ------------------------------------------------------------------------------
    def new_session(self, conn: ClientConnection) -> Session:
        cid = self._next_client_id
        self._next_client_id += 1
        peer = conn.transport.get_extra_info("peername") if conn.transport else None
        sock = conn.transport.get_extra_info("sockname") if conn.transport else None
        s = Session(self, addr=_fmt_addr(peer), laddr=_fmt_addr(sock), created_ms=self.now_ms(), client_id=cid)
        s.extra["conn"] = conn
        self.sessions[cid] = s
        self.stats_connections += 1
        return s

    # -- CLIENT PAUSE ---------------------------------------------------------------------------
    def pause_clients(self, timeout_ms: int, every: bool) -> None:
        """Hold this node's clients' commands (all, or writes only) for ``timeout_ms``."""
        until = time.monotonic() + timeout_ms / 1000
        if self.pause_until and time.monotonic() < self.pause_until:
            self.pause_all = self.pause_all or every
            until = max(until, self.pause_until)
        else:
            self.pause_all = every
        self.pause_until = until
        if self._pause_timer is not None:
            self._pause_timer.cancel()
        self._pause_timer = self._loop.call_later(  # type: ignore[union-attr]
            until - time.monotonic(), self.unpause_clients)

    def unpause_clients(self) -> None:
        self.pause_until = 0.0
        self.pause_all = False
        if self._pause_timer is not None:
            self._pause_timer.cancel()
            self._pause_timer = None
        held, self._paused_conns = self._paused_conns, set()
        for conn in held:
            if not conn.closing:
                conn.pump()
                conn.flush()

    def holds(self, conn: ClientConnection, cmd: Any) -> bool:
        """Whether CLIENT PAUSE holds ``cmd`` now (the caller stops pumping; unpausing resumes it)."""
        if time.monotonic() >= self.pause_until:
            self.unpause_clients()
            return False
        if self.pause_all or cmd.kind == WRITE or cmd.name == b"exec":
            self._paused_conns.add(conn)
            return True
        return False

    def end_session(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        self.pubsub.drop(session)
        self.tracking.disable(session)
        if "monitor" in session.extra:
            self.monitors.remove(session)

    # -- the server interface sessions use (CONFIG GET, CLIENT LIST, INFO, TIME) -------------
    def now_ms(self) -> int:
        return int(time.time() * 1000)

    @property
    def node_id(self) -> int:
        return self.cfg.node_id

    def clients(self) -> list[Session]:
        return list(self.sessions.values())

    def config_get(self, pattern: bytes) -> list[tuple[bytes, bytes]]:
        from server.info import config_items

        return [(k.encode(), v.encode()) for k, v in config_items(self, pattern.decode(errors="replace"))]

    def info(self, section: str | None) -> str:
        from server.info import render_info

        return render_info(self, section)

    def config_set(self, pairs: list[tuple[bytes, bytes]]) -> str | None:
        from server.settings import config_set

        return config_set(self, [(n.decode(errors="replace"), v.decode(errors="replace")) for n, v in pairs])

    def config_rewrite(self) -> str | None:
        from server.config_file import rewrite

        if not self.cfg.config_file:
            return "ERR The server is running without a config file"
        try:
            rewrite(self.cfg.config_file, self.cfg)
        except OSError as e:
            return f"ERR Rewriting config file: {e}"
        return None

    def reset_stats(self) -> None:
        self.ops_stats.reset()
        self.ctx.hits = self.ctx.misses = 0

    # -- routing ------------------------------------------------------------------------------
    def route(self, session: Session, cmd: Any, argv: list[bytes]) -> Route:
        name = cmd.name
        if session.multi is not None or session.watched or session.relay is not None or session.tx_lost:
            self._check_tx_home(session)
            if session.tx_lost is not None and self._lost_tx_answers(session, name):
                return _Route.ERROR
        if not session.resp3 and "pubsub" in session.extra and name not in SUBSCRIBED_OK and PubSub.count(session):
            return _Route.ERROR
        if session.multi is not None and name not in TX_NAMES and name not in NOT_QUEUED:
            return _Route.QUEUE
        kind = cmd.kind
        if kind == READ and name == b"xread" and xread_blocks(argv):
            kind = WRITE  # XREAD BLOCK waits like the other blocking commands: through the log
        tx = name in TX_NAMES
        if kind == CONN and not tx and (not session.forward_multi or name in NOT_QUEUED):
            return _Route.CONN  # QUIT and RESET end a relayed transaction here (forget_relay)
        raft = self.raft
        if raft.role == Role.LEADER:
            if raft.driver.storage_error is not None and kind == WRITE:
                return _Route.ERROR  # -MISCONF; reads go on (their check needs no log write)
            if tx:
                if name == b"exec":
                    return _Route.EXEC
                return _Route.READ if name == b"watch" else _Route.CONN
            if kind == WRITE:
                return _Route.WRITE
            if self.cfg.unsafe_local_reads:
                return _Route.LOCAL_READ
            return _Route.READ
        if kind == READ and not tx and (session.readonly or self.cfg.stale_reads or self.cfg.unsafe_local_reads):
            return _Route.LOCAL_READ
        if not raft.is_member():
            return _Route.ERROR
        if raft.leader_id == 0 or session.forwarded or self.cfg.follower_mode == "redirect":
            return _Route.ERROR
        if name == b"multi":
            if not session.forward_multi:
                # A new relayed transaction (a nested MULTI is an error on the leader, and
                # must not forget a SELECT queued before it).
                session.extra.pop("tx_db", None)
                session.extra["multi_opening"] = True
            session.forward_multi = True
        elif name in (b"exec", b"discard"):
            session.forward_multi = False
        return _Route.FORWARD

    def route_error(self, session: Session, cmd: Any, argv: list[bytes]) -> Any:
        if session.tx_lost is not None and self._lost_tx_answers(session, cmd.name):
            return self._lost_tx_reply(session, cmd.name)
        if not session.resp3 and cmd.name not in SUBSCRIBED_OK and PubSub.count(session):
            return ErrorReply(f"ERR Can't execute '{cmd.name.decode(errors='replace')}': only (P|S)SUBSCRIBE / "
                              "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
        raft = self.raft
        if raft.role == Role.LEADER:
            err = raft.driver.storage_error
            if err is not None:
                return ErrorReply(f"MISCONF Errors writing to the Raft log: {err}; writes are refused "
                                  "until the log can be written again")
            return TRYAGAIN_NOT_LEADER
        if not raft.is_member():
            return NOCLUSTER
        if raft.leader_id == 0:
            return CLUSTERDOWN
        if session.forwarded:
            return TRYAGAIN_NOT_LEADER
        leader = raft.address_of(raft.leader_id)
        if leader is None:
            return CLUSTERDOWN
        from server.cluster import key_slot

        keys = keys_of(cmd, argv)
        slot = key_slot(keys[0]) if keys else 0
        return ErrorReply(f"MOVED {slot} {leader.host}:{leader.port}")

    # -- write path ---------------------------------------------------------------------------
    def propose_exec(self, conn: ClientConnection, seq: int) -> Any:
        """EXEC on the leader: propose the queued commands as one item, or answer at once."""
        item = exec_item(conn.session)
        if isinstance(item, ErrorReply):
            return item
        queued, watches = item
        size = 16 + sum(len(a) for _, argv in queued for a in argv)
        if size > self.cfg.max_write_size:
            conn.session.extra.pop("exec_db", None)  # it does not run: the connection stays in its db
            return ErrorReply(f"EXECABORT Transaction discarded: its writes come to {size} bytes, over "
                              f"max-write-size ({self.cfg.max_write_size})")
        self.propose_transaction(conn.session.db_index, queued, watches, (conn, seq), size)
        return None

    def propose_transaction(self, db: int, queued: list, watches: list, slot: tuple[Any, int], size: int) -> None:
        """Propose a transaction item (EXEC's queued commands and its watches); its reply goes
        to ``slot`` (a connection and the request's sequence number) once applied."""
        self._batch_plain = False
        self._batch_cmds.append((db, queued, watches))
        self._batch_slots.append(slot)
        self._batch_fns.append(None)
        self._batch_bytes += size
        if not self._batch_scheduled:
            self._batch_scheduled = True
            self._loop.call_soon(self.flush_proposals)  # type: ignore[union-attr]

    def propose(self, conn: ClientConnection, db: int, argv: list[bytes], seq: int, cmd: Any = None) -> None:
        """Propose the write ``argv`` (``cmd``: its Command, as ``lookup`` found it, if known)."""
        size = 16 + sum(map(len, argv))
        if size > self.cfg.max_write_size:
            # One log entry holds it: a node copying and writing a huge entry keeps its event
            # loop from heartbeats and replies for long enough to lose the leadership.
            self._fail_slots([(conn, seq)], ErrorReply(
                f"ERR the write comes to {size} bytes, over max-write-size ({self.cfg.max_write_size}); "
                "it was not applied"))
            return
        self._batch_cmds.append((db, argv))
        self._batch_slots.append((conn, seq))
        self._batch_fns.append(cmd)
        self._batch_bytes += size
        if self._batch_bytes >= MAX_BATCH_BYTES:
            self.flush_proposals()
        elif not self._batch_scheduled:
            self._batch_scheduled = True
            self._loop.call_soon(self.flush_proposals)  # type: ignore[union-attr]

    def propose_internal(self, db: int, argv: list[bytes]) -> None:
        """A write with no client waiting for it (expiry, for one)."""
        self._batch_cmds.append((db, argv))
        self._batch_slots.append(None)
        self._batch_fns.append(None)
        self._batch_bytes += 16 + sum(len(a) for a in argv)
        if not self._batch_scheduled:
            self._batch_scheduled = True
            self._loop.call_soon(self.flush_proposals)  # type: ignore[union-attr]

    def flush_proposals(self) -> None:
        self._batch_scheduled = False
        cmds = self._batch_cmds
        if not cmds:
            return
        slots = self._batch_slots
        fns = self._batch_fns
        plain = self._batch_plain
        self._batch_cmds = []
        self._batch_slots = []
        self._batch_fns = []
        self._batch_bytes = 0
        self._batch_plain = True
        now = self.now_ms()
        if now < self.last_batch_ms:
            now = self.last_batch_ms
        self.last_batch_ms = now
        raft = self.raft
        result = raft.core.propose([encode_batch(now, cmds)])
        if type(result) is Accepted:
            self.waiters[result.first_index] = _Waiters(raft.core.term, slots,
                                                       time.monotonic() + self.cfg.command_timeout,
                                                       (now, cmds, fns) if plain else None)
            raft.driver.kick()
            return
        if type(result) is NotLeader:
            err = CLUSTERDOWN if result.leader_id == 0 else TRYAGAIN_NOT_LEADER
        elif type(result) is TooManyUncommitted:
            err = TRYAGAIN_BUSY
        else:
            err = ErrorReply(f"TRYAGAIN {getattr(result, 'reason', 'the leader cannot take writes now')}")
        self.stats_rejected += len(slots)
        self._fail_slots(slots, err)

    def _fail_slots(self, slots: list, err: ErrorReply) -> None:
        enc: dict[bool, bytes] = {}
        for slot in slots:
            if slot is None:
                continue
            conn, seq = slot
            resp3 = conn.session.resp3
            data = enc.get(resp3)
            if data is None:
                data = enc[resp3] = encode(err, resp3)
            conn.resolve(seq, data)
            conn.done_one()
        self.flush_dirty()

    # -- applying committed entries ---------------------------------------------------------
    def apply_entries(self, entries: list[Entry]) -> None:
        ctx = self.ctx
        retrying = self.blocked.retrying  # re-proposed blocked clients (not rebound while applying)
        for e in entries:
            if e.type == EntryType.CONF_CHANGE:
                self.raft.on_conf_change_applied(e)
            elif e.data:
                w = self.waiters.pop(e.index, None)
                if w is not None and w.term != e.term:
                    self._fail_slots(w.slots, TRYAGAIN_LOST)
                    w = None
                if w is not None and w.batch is not None:
                    now_ms, cmds, fns = w.batch
                else:
                    now_ms, cmds = decode_batch(e.data)
                    fns = None
                if now_ms > self.last_batch_ms:
                    self.last_batch_ms = now_ms
                if now_ms > self.keyspace.time_ms:
                    self.keyspace.time_ms = now_ms
                index = e.index
                seed = index << 20
                dbs = ctx.keyspace.dbs
                pos = 0
                # NOLOOP (CLIENT TRACKING) needs to know whose write changes a key.
                tracking = self.tracking if self.tracking.clients and w is not None else None
                for item in cmds:
                    if tracking is not None:
                        slot = w.slots[pos]  # type: ignore[union-attr]
                        tracking.writer = slot[0].session if slot is not None else None
                    db = item[0]
                    # A command that replies can let its connection run a read, which points
                    # the shared context at that read: prepare it again then.
                    if ctx.index != index or ctx.db_index != db or ctx.db is not dbs[db]:
                        ctx.for_write(index, now_ms, db)
                    ctx.rng_seed = seed | pos
                    # Key lookups count as hits and misses where the command ran: on the
                    # node that proposed it for its client, not on every member applying it.
                    ctx.counting = w is not None and w.slots[pos] is not None
                    try:
                        if len(item) > 2:
                            reply = apply_exec(self, ctx, item[1], item[2])
                        else:
                            argv = item[1]
                            cmd = fns[pos] if fns is not None else None
                            if cmd is None:
                                cmd = lookup_internal(argv)
                            reply = cmd if isinstance(cmd, ErrorReply) else cmd.run(ctx, argv)
                    except ErrorReply as err:
                        reply = err
                    except Exception as exc:  # a bug must not stop the node applying the log
                        log.exception("applying the command at index %d failed", e.index)
                        reply = ErrorReply(f"ERR internal error: {type(exc).__name__}")
                    if w is not None:
                        slot = w.slots[pos]
                        if slot is not None:
                            conn, seq = slot
                            if type(reply) is Blocked:
                                blocked = self.blocked
                                blocked.park(conn, seq, item[0], item[1], reply,
                                             blocked.deadline_of(conn, seq))
                            else:
                                if retrying:
                                    self.blocked.settled(conn, seq)
                                session = conn.session
                                if len(item) > 2 and session.extra:
                                    db = session.extra.pop("exec_db", None)
                                    if db is not None and type(reply) is list:
                                        session.db_index = db
                                session.woff = index  # WAIT counts the followers that have it
                                conn.resolve(seq, ENCODERS[session.resp3](reply))
                                conn.done_one()
                    pos += 1
                if tracking is not None:
                    tracking.writer = None
                self.stats_commands += pos
            self.applied = e.index
            self.applied_term = e.term
        if self._read_heap:
            self._release_reads()
        if self.blocked.parked:
            self.blocked.after_apply()
        self.flush_dirty()

    def fail_stale_waiters(self) -> None:
        """Writes and reads not answered within the command timeout get -TIMEOUT; blocked
        clients whose own timeout ran out get the timeout reply."""
        self.blocked.expire()
        now = time.monotonic()
        if self.waiters:
            for index in [i for i, w in self.waiters.items() if w.deadline < now]:
                self._fail_slots(self.waiters.pop(index).slots, TIMEOUT_WRITE)
        if self._read_tokens or self._read_heap:
            horizon = _read_clock() - self.cfg.command_timeout
            for token in [t for t, (t0, _, _, _) in self._read_tokens.items() if t0 < horizon]:
                conns = self._read_tokens.pop(token)[1]
                for conn in conns:
                    conn.fail_reads(TIMEOUT_READ)
            heap = self._read_heap
            if heap and any(asked < horizon for _, _, asked, _ in heap):
                self._read_heap = [e for e in heap if e[2] >= horizon]
                heapq.heapify(self._read_heap)
                for _, _, asked, conns in heap:
                    if asked < horizon:
                        for conn in conns:
                            conn.fail_reads(TIMEOUT_READ_APPLY)
            self.flush_dirty()

    def fail_all_waiters(self, err: ErrorReply) -> None:
        waiters, self.waiters = self.waiters, {}
        for w in waiters.values():
            self._fail_slots(w.slots, err)

    def fail_all_waiters_fatal(self, exc: BaseException) -> None:
        self.fail_all_waiters(ErrorReply(f"IOERR the node could not write to its log: {exc}; "
                                         "the command may or may not have been applied"))

    def on_snapshot_installed(self, index: int, term: int) -> None:
        """The keyspace was replaced by the leader's snapshot up to ``index``."""
        self.applied = index
        self.applied_term = term
        self.keep_time_at_least(self.keyspace.time_ms)
        if self.tracking.clients:
            self.tracking.flushed()
        for i in [i for i in self.waiters if i <= index]:
            self._fail_slots(self.waiters.pop(i).slots, TIMEOUT_WRITE)
        if self._read_heap:
            self._release_reads()
        self.flush_dirty()

    # -- read path ------------------------------------------------------------------------------
    def read_barrier(self, conn: ClientConnection) -> None:
        self._read_conns.append(conn)
        if not self._read_scheduled:
            self._read_scheduled = True
            self._loop.call_soon(self._flush_reads)  # type: ignore[union-attr]

    def _flush_reads(self) -> None:
        self._read_scheduled = False
        conns = self._read_conns
        if not conns:
            return
        self._read_conns = []
        for conn in conns:
            conn.read_asked = True
        now = _read_clock()
        if (self._lease_seconds and now < self._lease_until and self._leading_in(self._lease_term)
                and _same_basis(self._lease_basis, self._basis())):
            self.lease_reads += sum(len(conn.read_group) for conn in conns)
            self._read_at(self.raft.core.commit, conns, now)
            if self._lease_until - now < self._lease_length / 2 and self._lease_token not in self._read_tokens:
                self._lease_token = self._ask_read_index([], now)  # extend it before it runs out
            return
        self._ask_read_index(conns, now)

    def _ask_read_index(self, conns: list[ClientConnection], now: float) -> int:
        token = self._next_token
        self._next_token += 1
        core = self.raft.core
        self._read_tokens[token] = (now, conns, core.term if core.role == Role.LEADER else 0,
                                    self._basis())
        self.read_rounds += 1
        core.read_index(token)
        self.raft.driver.kick()
        return token

    def _leading_in(self, term: int) -> bool:
        """Whether this node leads in ``term`` and may serve reads under a lease there.

        The lease (Raft thesis §6.4.1): a majority answered a heartbeat round this leader
        started at time t in its term, and each of them then refuses to vote for another
        candidate for an election timeout (check-quorum's leader stickiness; a node that
        restarts does too, ``vote_quiet_ticks``). So no other leader can be elected, and
        nothing can commit past this leader's commit index elsewhere, until t plus about an
        election timeout; the lease ends at t plus half that (``read_lease_seconds``). A
        leadership transfer lets the target campaign past those refusals, so a leader that
        started one serves no read under the lease for the rest of its term."""
        core = self.raft.core
        return core.term == term and core.role == Role.LEADER and not core.handing_over

    def lease_allowed(self) -> float:
        """The longest lease (seconds) this leader may take now: its own, shortened to half of
        what any member connected to it promised in its handshake (``vote_quiet_ms``), and
        none while one promised nothing (it runs without --lease-reads, so may vote at once
        after a restart). A member with no open connection cannot have answered a round; one
        that connects or drops, or a change of membership, ends the lease (``_basis``)."""
        allowed = self._lease_seconds
        pt = self.raft.transport
        quiet = pt.vote_quiet if pt is not None else None
        if quiet:
            me = self.cfg.node_id
            for nid in self.raft.core.membership.members():
                if nid != me and nid in quiet and quiet[nid] / 2000 < allowed:
                    allowed = quiet[nid] / 2000
        return allowed

    def _basis(self) -> tuple:
        """What a lease was checked against: the peer transport's epoch (it moves whenever a
        peer connection opens or closes) and the membership. A lease holds only while
        neither changed since the round that granted it was asked for: a member that dropped
        may have answered that round and be restarting with other settings, and a member
        added since was not checked."""
        pt = self.raft.transport
        return (pt.epoch if pt is not None else 0, self.raft.core.membership)

    def _lease_refused(self, basis: tuple) -> None:
        if not _same_basis(basis, self._lease_refused_basis):
            self._lease_refused_basis = basis
            quiet = self.raft.transport.vote_quiet  # type: ignore[union-attr]
            without = sorted(nid for nid in self.raft.core.membership.members() if quiet.get(nid, 1) == 0)
            log.warning("read lease refused: node(s) %s run without --lease-reads; every read takes a "
                        "heartbeat round", ", ".join(map(str, without)))

    def _read_at(self, index: int, conns: list[ClientConnection], asked: float, token: int = 0) -> None:
        """Run ``conns``' reads now if ``index`` is applied, else once it is (they were asked
        for at ``asked``, by ``_read_clock``)."""
        if index <= self.applied:
            now_ms = self.read_now_ms()
            for conn in conns:
                conn.run_reads(now_ms)
        else:
            if not token:
                token = self._next_token
                self._next_token += 1
            heapq.heappush(self._read_heap, (index, token, asked, conns))
        self.flush_dirty()

    def on_read_states(self, states: list) -> None:
        for rs in states:
            entry = self._read_tokens.pop(rs.token, None)
            if entry is None:
                continue
            asked, conns, term, basis = entry
            # A round this node asked for as leader, still leading in that term, with the same
            # peer connections and membership since (_basis): a lease, as long as the members'
            # promises allow.
            if term and self._lease_seconds and self._leading_in(term) and _same_basis(basis, self._basis()):
                allowed = self.lease_allowed()
                until = asked + allowed
                if allowed <= 0:
                    self._lease_refused(basis)
                elif (term != self._lease_term or not _same_basis(basis, self._lease_basis)
                      or until > self._lease_until):
                    self._lease_term = term
                    self._lease_basis = basis
                    self._lease_until = until
                    self._lease_length = allowed
            self._read_at(rs.index, conns, asked, rs.token)

    def _release_reads(self) -> None:
        heap = self._read_heap
        applied = self.applied
        now_ms = self.read_now_ms()
        while heap and heap[0][0] <= applied:
            conns = heapq.heappop(heap)[3]
            for conn in conns:
                conn.run_reads(now_ms)

    def read_now_ms(self) -> int:
        """The time reads judge expiry by: never behind the newest applied entry's."""
        now = self.now_ms()
        return now if now > self.last_batch_ms else self.last_batch_ms

    def execute_read(self, session: Session, cmd: Any, argv: list[bytes], now_ms: int | None = None) -> Any:
        """Run a read on local state. ``now_ms`` is the time expiry is judged by; a group of
        reads run back to back shares one reading (as Redis caches the time for each turn
        of its event loop)."""
        if cmd.name == b"watch":
            return watch(self, session, argv)
        ctx = self.ctx.for_read(self.read_now_ms() if now_ms is None else now_ms, session.db_index)
        try:
            return cmd.run(ctx, argv)
        except ErrorReply as err:
            return err
        except Exception as exc:
            log.exception("read %r failed", argv[0])
            return ErrorReply(f"ERR internal error: {type(exc).__name__}")

    # -- forwarding -----------------------------------------------------------------------------
    def _shareable(self, conn: ClientConnection, cmd: Any, name: bytes) -> bool:
        """Whether this command may go on the shared link (``server.forwarding``): it keeps
        nothing in the leader's session, and nothing of this client is outstanding on its
        own link (so the command cannot overtake one sent before it)."""
        session = conn.session
        if cmd is None or "blocking" in cmd.flags or name in _RELAY_STATE:
            return False
        if session.relay is not None or session.forward_multi or session.tx_lost is not None:
            return False
        link = conn.upstream
        return link is None or link.idle

    def may_forward_now(self, conn: ClientConnection, cmd: Any) -> bool:
        """False while this client has commands outstanding on a link other than the one
        this command would take: it waits for them, so the leader gets its commands in order."""
        if not conn.shared_out:
            return True
        link = self.shared_link
        return (conn.shared_link is link and link is not None and not link.closed
                and link.leader_id == self.raft.leader_id and self._shareable(conn, cmd, cmd.name))

    def _link_to_leader(self, owner: ClientConnection | None, conn: ClientConnection, seq: int) -> LeaderLink | None:
        """A new link to the leader (``owner``'s own, or the shared one for None), or None
        after answering ``conn``'s command ``seq`` with -CLUSTERDOWN when no address is known."""
        leader = self.raft.leader_id
        addr = self.raft.address_of(leader)
        if addr is None:
            conn.resolve(seq, encode(CLUSTERDOWN, conn.session.resp3))
            conn.done_one()
            return None
        return LeaderLink(self, owner, leader, addr.host, addr.port)

    def forward(self, conn: ClientConnection, argv: list[bytes], seq: int, cmd: Any = None) -> None:
        raft = self.raft
        leader = raft.leader_id
        session = conn.session
        name = argv[0].lower()
        if self._shareable(conn, cmd, name):
            link = self.shared_link
            if link is not None and (link.closed or link.leader_id != leader):
                if link.idle:
                    link.close()
                link = self.shared_link = None
            if link is None:
                link = self.shared_link = self._link_to_leader(None, conn, seq)
                if link is None:
                    return
            conn.shared_out += 1
            conn.shared_link = link
            link.send(session.db_index, session.resp3, argv, conn, seq)
            return
        link = conn.upstream
        if link is not None and (link.closed or (link.leader_id != leader and link.idle)):
            link.close()
            link = conn.upstream = None
        relay = session.relay
        if relay is not None and relay[0] is not link:
            # The leader's session that held this connection's open MULTI or its watches
            # went with the old link: the transaction must not go on without them.
            self._lose(session, relay[1])
        if session.tx_lost is not None and self._relay_lost(conn, name, seq):
            return
        if link is None:
            link = conn.upstream = self._link_to_leader(conn, conn, seq)
            if link is None:
                return
        on_reply = None
        before = session.relay
        if name in _RELAY_STATE:
            _track_relay(session, name, link)
        if name == b"multi" and session.extra.pop("multi_opening", False):
            # The connection sends nothing more until the leader answers (ClientConnection.pump):
            # if it refuses (it is no longer the leader, say), no transaction is open there,
            # and what follows must not be relayed to be queued, or its connection commands
            # (CLIENT REPLY, HELLO, SELECT) would run in the leader's session for the link.
            def on_reply(raw: bytes, before: Any = before) -> None:
                if raw[:1] in (b"-", b"!"):
                    session.forward_multi = False
                    session.relay = before
        elif name == b"discard":
            session.extra.pop("tx_db", None)
        elif name == b"select" and session.forward_multi:
            # SELECT inside a relayed MULTI takes effect on the leader's session when EXEC
            # runs the transaction; this session and the link must follow it then.
            db = string2ll(argv[1]) if len(argv) == 2 else None
            if db is not None and 0 <= db < 16:
                session.extra["tx_db"] = db
        elif name == b"exec" and "tx_db" in session.extra:
            tx_db = session.extra.pop("tx_db")

            def on_reply(raw: bytes, link: Any = link) -> None:
                if raw[:1] == b"*" and raw != b"*-1\r\n":
                    session.db_index = tx_db
                    link.db = tx_db

        link.send(session.db_index, session.resp3, argv, conn, seq, on_reply)

    def keep_time_at_least(self, ms: int) -> None:
        """Never stamp an entry, nor judge a read, earlier than ``ms`` (a time the log holds)."""
        if ms > self.last_batch_ms:
            self.last_batch_ms = ms

    def time_floor_from_log(self) -> None:
        """On becoming leader: the entries in its log that it has not applied yet will commit
        with its first entry, and a new entry must not carry a time before theirs (a clock
        behind the old leader's would bring back keys that had expired)."""
        log = self.raft.core.log
        lo = max(self.applied, log.snapshot_index) + 1
        hi = log.last_index
        if hi < lo:
            return
        newest = 0
        for e in log.slice(lo, hi):
            if e.type == EntryType.NORMAL and e.data:
                try:
                    newest = max(newest, batch_time(e.data))
                except ValueError:
                    continue
        self.keep_time_at_least(newest)

    def leader_moved(self, old: int) -> None:
        """``old`` is no longer the leader this node knows. Links relaying to it that still
        wait for replies get the command timeout to drain (an old leader that is alive
        answers them, a blocked client with "nothing was popped"); then they are closed and
        what they still wait for is answered -TIMEOUT (it may or may not have been applied).
        A frozen or cut-off old leader would otherwise keep those clients waiting for ever."""
        self._loop.call_later(self.cfg.command_timeout, self._close_links_to, old)  # type: ignore[union-attr]

    def _close_links_to(self, old: int) -> None:
        if self.raft.leader_id == old:
            return  # it leads again: its links serve on
        links = [s.extra["conn"].upstream for s in list(self.sessions.values()) if "conn" in s.extra]
        links.append(self.shared_link)
        for link in links:
            if link is not None and not link.closed and link.leader_id == old and not link.idle:
                log.warning("closing the link to former leader %d: replies it still owes are answered "
                            "-TIMEOUT", old)
                link.close()

    # -- transaction state that can no longer reach EXEC ------------------------------------------
    # MULTI and WATCH live where EXEC runs: in this node's session while it leads, or, relayed
    # by a follower, in the leader's session for the connection's relay link. When leadership
    # moves in between, that state is lost: the rest of an open transaction is refused and EXEC
    # discards it (-EXECABORT); after lost watches, EXEC aborts as if a watched key had changed
    # (a null reply; it may have), so a check-and-set client retries instead of overwriting.

    @staticmethod
    def _lose(session: Session, kind: str) -> None:
        session.relay = None
        if kind == "multi" or session.tx_lost is None:
            session.tx_lost = kind
        if kind == "multi":
            session.forward_multi = False
            session.extra.pop("tx_db", None)

    def _check_tx_home(self, session: Session) -> None:
        if self.raft.role == Role.LEADER:
            relay = session.relay
            if relay is not None:
                # Relayed while another node led; this one leads now. Let the old leader's
                # session drop it too, in case the link is used again later.
                link = relay[0]
                if not link.closed:
                    link.send_internal([b"DISCARD" if relay[1] == "multi" else b"UNWATCH"])
                self._lose(session, relay[1])
        elif session.multi is not None:  # queued here while this node led
            session.multi = None
            session.watched = {}
            self._lose(session, "multi")
        elif session.watched:  # watched here while this node led
            session.watched = {}
            self._lose(session, "watch")

    @staticmethod
    def _lost_tx_answers(session: Session, name: bytes) -> bool:
        """Whether this command is answered from the lost state (``_lost_tx_reply``); it also
        lets the state go when the command ends it without needing an answer of its own."""
        if session.tx_lost == "multi":
            return name not in NOT_QUEUED
        # Watches lost. EXEC of a MULTI opened here since then aborts here; one relayed since
        # then aborts in forward(), where the link is known.
        if name == b"exec":
            return session.multi is not None
        if name == b"unwatch" and session.multi is None and not session.forward_multi:
            session.tx_lost = None
        elif name == b"discard" and (session.multi is not None or session.forward_multi):
            session.tx_lost = None
        return False

    @staticmethod
    def _lost_tx_reply(session: Session, name: bytes) -> Any:
        if session.tx_lost == "multi" and name != b"exec" and name != b"discard":
            return TRYAGAIN_TX_LOST
        lost = session.tx_lost
        session.tx_lost = None
        session.forward_multi = False
        session.extra.pop("tx_db", None)
        if lost == "multi":
            return EXECABORT if name == b"exec" else OK
        session.multi = None  # EXEC after lost watches: the transaction opened since aborts
        session.watched = {}
        return NULL_ARRAY

    def _relay_lost(self, conn: ClientConnection, name: bytes, seq: int) -> bool:
        """``forward`` found the state lost: answer here what cannot be relayed. True if
        answered."""
        session = conn.session
        if session.tx_lost == "multi":
            reply = self._lost_tx_reply(session, name)
        elif name == b"exec":
            relay = session.relay
            if relay is None or relay[1] != "multi":
                return False  # no MULTI went up since: the leader answers EXEC without MULTI
            link = relay[0]
            session.relay = None
            link.send_internal([b"DISCARD"])
            reply = self._lost_tx_reply(session, name)
        else:
            self._lost_tx_answers(session, name)  # UNWATCH or DISCARD may end the lost state
            return False
        conn.resolve(seq, encode(reply, session.resp3))
        conn.done_one()
        return True

    def forget_relay(self, session: Session) -> None:
        """RESET: forget the transaction state kept for EXEC elsewhere. On a follower the
        transaction and the watches it relayed live in the leader's session for this
        connection's link; drop them there too (DISCARD ends a MULTI and its watches, UNWATCH
        the watches alone)."""
        session.extra.pop("tx_db", None)
        session.relay = None
        session.tx_lost = None
        conn = session.extra.get("conn")
        link = conn.upstream if conn is not None else None
        if link is not None and not link.closed:
            link.send_internal([b"DISCARD" if session.forward_multi else b"UNWATCH"])
        session.forward_multi = False

    # -- output -------------------------------------------------------------------------------
    def mark_dirty(self, conn: ClientConnection) -> None:
        self._dirty.append(conn)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush_dirty)  # type: ignore[union-attr]

    def flush_dirty(self) -> None:
        self._flush_scheduled = False
        dirty = self._dirty
        if dirty:
            self._dirty = []
            for conn in dirty:
                conn.flush()

    # -- shutdown ---------------------------------------------------------------------------------
    async def graceful_stop(self) -> None:
        """Hand leadership over first (so the cluster does not wait out an election timeout),
        then let in-flight commands finish for a moment."""
        from server.raft import AdminError

        raft = self.raft
        if raft.role == Role.LEADER and len(raft.core.membership.voters) > 1:
            try:
                await raft.transfer_leadership(0, timeout=3.0)
            except (TimeoutError, AdminError) as e:
                log.warning("could not hand over leadership before stopping: %s", e)
        deadline = time.monotonic() + 2.0
        while self.waiters and time.monotonic() < deadline:
            await asyncio.sleep(0.02)

    # -- expiry ---------------------------------------------------------------------------------
    def propose_expirations(self) -> None:
        """Leader only: propose deleting keys whose time is up (the deletion is decided once,
        here, and every node applies the same entry)."""
        if not self.active_expire:  # DEBUG SET-ACTIVE-EXPIRE 0
            return
        sample = self.keyspace.expired_sample(self.read_now_ms(), 64)
        by_db: dict[int, list[bytes]] = {}
        for db, key in sample:
            by_db.setdefault(db, []).append(key)
        for db, keys in by_db.items():
            self.stats_expired += len(keys)
            self.propose_internal(db, [b"RAFTIS.EXPIRE", str(db).encode(), *keys])


def _fmt_addr(addr: Any) -> str:
    if not addr:
        return "?:0"
    if isinstance(addr, tuple):
        host, port = addr[0], addr[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return str(addr)
