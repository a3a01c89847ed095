"""RaftHost: the node's Raft plumbing. Opens storage, recovers, builds the core, the driver
and the peer transport, takes snapshots, and carries out membership changes.

Data directory layout::

    DIR/raftis.meta        cluster id and node id (JSON), written once
    DIR/wal/               WAL segments (storage.wal)
    DIR/snapshots/         snapshots (storage.snapshots)

Snapshots of the keyspace are written by a forked child (like Redis's BGSAVE), so the
event loop keeps serving while a large keyspace is serialised; the parent only learns
when the child is done, then compacts the core's log and the WAL.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import random
import time
from typing import TYPE_CHECKING, Any

from consensus.codec import decode_conf_change
from consensus.config import Config
from consensus.messages import (
    Accepted,
    ConfChange,
    ConfChangeOp,
    Entry,
    HardState,
    Membership,
    NotLeader,
    Role,
    SnapshotMeta,
    members,
)
from consensus.transport import PeerTransport
from server.blocked_clients import LEADER_LOST as BLOCKED_LEADER_LOST
from server.config import NodeConfig, PeerAddress
from server.driver import RaftDriver
from server.forked import fork
from server.persistence import NodeStorage, encode_membership
from server.tls import peer_ssl_contexts
from storage.dirlock import close_inherited_locks
from storage.fs import OsFs

if TYPE_CHECKING:
    from server.node import Node

Role = members(Role)  # read through a plain class on the hot paths (see members)

log = logging.getLogger("raftis.raft")


# A leader that cannot write its log for this long hands leadership to the most up-to-date
# voter, so the cluster takes writes again while this node waits for its disk.
STUCK_DISK_HANDOFF_SECONDS = 3.0
MAX_INFLIGHT_APPENDS = 1  # see the core config in start()


class AdminError(Exception):
    """Becomes the error reply of an admin command (the text includes the prefix)."""


def cluster_id_for(peers: dict[int, PeerAddress]) -> str:
    text = ",".join(f"{nid}={peers[nid].encode()}" for nid in sorted(peers))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class RaftHost:
    def __init__(self, node: Node, cfg: NodeConfig) -> None:
        self.node = node
        self.cfg = cfg
        self.cluster_id = ""
        self.core: Any = None
        self.driver: RaftDriver | None = None
        self.transport: PeerTransport | None = None
        self.storage: NodeStorage | None = None
        self._known_membership: Membership | None = None
        self._apply_waits: list[tuple[int, asyncio.Future[None]]] = []
        self._snapshot_child: int = 0
        self._quiet_ticks = 0  # see _vote_quiet_ticks
        self._quiet_meta: dict = {}
        self._quiet_pending = False  # raftis.meta holds a longer promise than this run's
        self._start_delay = 0.0
        self._snapshot_started = 0.0
        self._snapshot_waiters: list[asyncio.Future[None]] = []
        self.log_bytes_since_snapshot = 0
        self.last_snapshot_index = 0
        self.last_snapshot_seconds = 0.0
        self.snapshots_taken = 0
        self.leader_changes = 0
        self.role = Role.FOLLOWER
        self.leader_id = 0
        self._ticks = 0
        self._disk_stuck_since: float | None = None
        self.fatal: BaseException | None = None
        self.conf_applied: dict[int, int] = {}  # index -> term of applied membership changes
        self.last_contact: dict[int, float] = {}  # peer id -> monotonic time of its last frame
        self.last_snapshot_time = 0.0  # wall clock time the newest local snapshot was made
        self.snapshot_failures = 0
        self.last_snapshot_ok = True
        self._fsyncs_seen = 0

    # -- start-up --------------------------------------------------------------------------------
    def _load_meta(self) -> dict:
        path = os.path.join(self.cfg.dir, "raftis.meta")
        if os.path.exists(path):
            with open(path) as f:
                meta = json.load(f)
            if meta.get("node_id") != self.cfg.node_id:
                raise SystemExit(f"data directory {self.cfg.dir} belongs to node {meta.get('node_id')}, "
                                 f"not node {self.cfg.node_id}")
            return meta
        return {}

    def _save_meta(self, meta: dict) -> None:
        path = os.path.join(self.cfg.dir, "raftis.meta")
        tmp = path + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(meta, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dfd = os.open(self.cfg.dir, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def _vote_quiet_ticks(self, meta: dict) -> int:
        """Ticks this node neither votes nor campaigns for after it starts: what it promised its peers in the
        handshakes of its previous run (a leader may hold a read lease counting on that run's
        acknowledgements) or promises now, whichever is longer, whatever its options are now.
        The longer one is written down first, so a second restart inside that time keeps it;
        ``_on_tick`` lowers it to this run's promise once that much time has passed."""
        cfg = self.cfg
        before = meta.get("vote_quiet_ms", 0)
        if type(before) is not int or before < 0:
            before = 0
        quiet_ms = max(before, cfg.vote_quiet_ms)
        if quiet_ms != before:
            self._save_meta({**meta, "vote_quiet_ms": quiet_ms})
        self._quiet_meta = {**meta, "vote_quiet_ms": quiet_ms}
        self._quiet_pending = quiet_ms != cfg.vote_quiet_ms
        if quiet_ms == 0:
            return 0
        if cfg.tick_ms <= 1:
            # A tick may fire a millisecond early, so 1 ms ticks measure no time at all: stay
            # off the peer port for that long instead (start waits), and the quiet is over.
            self._start_delay = quiet_ms / 1000
            return 0
        # The first tick may come at once, and each may fire a millisecond early.
        ticks = -(-quiet_ms // (cfg.tick_ms - 1)) + 1
        self._quiet_ticks = ticks
        return ticks

    def _quiet_over(self) -> asyncio.Future[None]:
        """The quiet time after start has passed: the previous run's promise has run out, and
        from now on this run's is the one to keep (written off the event loop, as it fsyncs;
        a failure leaves the longer promise standing)."""
        self._quiet_pending = False
        self._quiet_meta = {**self._quiet_meta, "vote_quiet_ms": self.cfg.vote_quiet_ms}
        meta = self._quiet_meta

        def save() -> None:
            try:
                self._save_meta(meta)
            except OSError as e:
                log.warning("could not lower the vote promise in raftis.meta (kept at the longer "
                            "one): %s", e)

        return asyncio.get_running_loop().run_in_executor(None, save)

    async def start(self, join_cluster_id: str = "") -> None:
        cfg = self.cfg
        # Created durably (each new directory's entry fsync'd in its parent): a power cut
        # just after the first start must not take the data directory, and what a node
        # acknowledged, with it.
        OsFs().make_dirs_durable(cfg.dir)
        meta = self._load_meta()
        fresh = not meta
        bootstrap: Membership | None = None
        if fresh:
            if cfg.join:
                cluster_id = join_cluster_id
            elif cfg.peers:
                if cfg.node_id not in cfg.peers:
                    raise SystemExit(f"--peers does not list this node (id {cfg.node_id})")
                cluster_id = cluster_id_for(cfg.peers)
            else:
                cluster_id = os.urandom(8).hex()
            meta = {"cluster_id": cluster_id, "node_id": cfg.node_id, "format": 1}
            self._save_meta(meta)
        self.cluster_id = meta["cluster_id"]
        if fresh and not cfg.join:
            peers = cfg.peers or {cfg.node_id: cfg.address()}
            bootstrap = Membership(frozenset(peers), frozenset(), {nid: p.encode() for nid, p in peers.items()})

        self.storage = NodeStorage(cfg.dir, self.cluster_id, cfg.node_id)
        hard_state, snapshot, entries = self.storage.recover(self.node.keyspace)
        self.node.keep_time_at_least(self.node.keyspace.time_ms)
        if snapshot is not None:
            self.node.applied = snapshot.index
            self.node.applied_term = snapshot.term
            self.last_snapshot_index = snapshot.index
            self.last_snapshot_time = self._snapshot_file_time()
        core_cfg = Config(
            id=cfg.node_id,
            election_tick=cfg.election_ticks,
            heartbeat_tick=cfg.heartbeat_ticks,
            # One AppendEntries in flight per follower: what piles up meanwhile goes in the
            # next one, so under load a follower gets fewer, larger appends (one fsync and one
            # acknowledgement each) and the leader handles fewer messages.
            max_inflight=MAX_INFLIGHT_APPENDS,
            # A leader's read lease counts on its followers not voting for an election timeout
            # after they acknowledged it, restarted or not (see Node's read path).
            vote_quiet_ticks=self._vote_quiet_ticks(meta),
        )
        self.core = self._make_core(core_cfg, hard_state, snapshot, entries, bootstrap)
        # Not while it keeps a promise as a start delay (1 ms ticks, below) instead of quiet ticks.
        if not self._start_delay and self.core.campaign_at_start():
            log.info("node %d is its cluster's only voter: elected at start, term %d", cfg.node_id, self.core.term)
        self.transport = PeerTransport(cfg.node_id, self.cluster_id, self._on_peer_batch,
                                       secret=cfg.cluster_secret.encode(),
                                       bind_host=cfg.bind if cfg.bind not in ("0.0.0.0", "::") else "",
                                       advertise=f"{cfg.host}:{cfg.raft_port}",
                                       max_frame=1 << 30, vote_quiet_ms=cfg.vote_quiet_ms,
                                       **peer_ssl_contexts(cfg))
        if self._start_delay:
            log.info("keeping off the peer port for %.3f s: the vote promise of the previous run",
                     self._start_delay)
            await asyncio.sleep(self._start_delay)
        await self.transport.listen(cfg.bind, cfg.raft_port)
        self.driver = RaftDriver(
            self.core, self.storage, self.transport, tick_ms=cfg.tick_ms,
            apply=self._apply, install_snapshot=self._install_snapshot,
            on_read_states=self.node.on_read_states, on_soft_state=self._on_soft_state,
            on_fatal=self._on_fatal,
        )
        self.driver.tick_hooks.append(self._on_tick)
        self.transport.on_progress = self.driver.on_peer_progress
        self.driver.after_advance = self._after_advance
        self._update_peers()
        self.driver.start()
        log.info("node %d of cluster %s started: term %d, commit %d, %d log entries, snapshot at %d",
                 cfg.node_id, self.cluster_id, self.core.term, self.core.commit, len(entries),
                 snapshot.index if snapshot else 0)

    def _make_core(self, core_cfg: Config, hard_state: HardState | None, snapshot: SnapshotMeta | None,
                   entries: list[Entry], bootstrap: Membership | None) -> Any:
        from consensus.node import RaftNode

        return RaftNode(core_cfg, random.Random(), hard_state=hard_state, snapshot=snapshot,
                        entries=entries, bootstrap_membership=bootstrap, snapshot_source=self.storage)

    async def stop(self) -> None:
        if self.driver is not None:
            self.driver.stop()
        if self.transport is not None:
            await self.transport.close()
        if self.driver is not None:
            await asyncio.get_running_loop().run_in_executor(None, self.driver.close)
        if self.storage is not None:
            self.storage.close()

    # -- what the rest of the node asks ------------------------------------------------------
    @property
    def term(self) -> int:
        return self.core.term

    def is_voter(self) -> bool:
        return self.cfg.node_id in self.core.membership.voters

    def is_member(self) -> bool:
        return self.cfg.node_id in self.core.membership

    def address_of(self, node_id: int) -> PeerAddress | None:
        text = self.core.membership.addresses.get(node_id)
        if not text:
            return None
        try:
            return PeerAddress.decode(node_id, text)
        except ValueError:
            return None

    # -- driver callbacks ----------------------------------------------------------------------
    def _on_peer_batch(self, from_id: int, body: bytes) -> None:
        self.last_contact[from_id] = time.monotonic()
        self.driver.on_peer_batch(from_id, body)  # type: ignore[union-attr]

    def _on_soft_state(self, ss: Any) -> None:
        if ss.leader_id != self.leader_id:
            self.leader_changes += 1
            log.info("node %d: leader is now %s (term %d)", self.cfg.node_id, ss.leader_id or "unknown",
                     self.core.term)
            if self.leader_id and self.leader_id != self.cfg.node_id:
                self.node.leader_moved(self.leader_id)
        was_leader = self.role == Role.LEADER
        self.role = ss.role
        self.leader_id = ss.leader_id
        if ss.role == Role.LEADER and not was_leader:
            self.node.time_floor_from_log()
        if was_leader and ss.role != Role.LEADER:
            log.info("node %d stepped down in term %d", self.cfg.node_id, self.core.term)
            self.node.blocked.fail_all(BLOCKED_LEADER_LOST)

    def _on_fatal(self, exc: BaseException) -> None:
        self.fatal = exc
        self.node.fail_all_waiters_fatal(exc)

    def _apply(self, entries: list[Entry]) -> None:
        waiters = self.node.waiters
        stats = self.node.ops_stats
        now = time.monotonic()
        for e in entries:
            self.log_bytes_since_snapshot += len(e.data) + 32
            if waiters:
                w = waiters.get(e.index)
                if w is not None and w.term == e.term:  # proposed here: deadline = proposed + timeout
                    stats.commit_latency.observe(now - (w.deadline - self.cfg.command_timeout))
        self.node.apply_entries(entries)
        if self._apply_waits:
            applied = self.node.applied
            keep = []
            for index, fut in self._apply_waits:
                if index <= applied:
                    if not fut.done():
                        fut.set_result(None)
                else:
                    keep.append((index, fut))
            self._apply_waits = keep
        if self.core.membership is not self._known_membership:
            self._update_peers()

    def _after_advance(self) -> None:
        d = self.driver
        if d is not None and d.fsyncs != self._fsyncs_seen:  # at most one write runs: one fsync each
            self._fsyncs_seen = d.fsyncs
            stats = self.node.ops_stats
            stats.fsync_latency.observe(d.fsync_last_ms / 1000)
            stats.latency.add("fsync", d.fsync_last_ms)
        if (self.log_bytes_since_snapshot >= self.cfg.snapshot_threshold and not self._snapshot_child
                and self.node.applied > self.last_snapshot_index):
            self.start_snapshot()

    def on_conf_change_applied(self, e: Entry) -> None:
        cc = decode_conf_change(e.data)
        self.conf_applied[e.index] = e.term
        if len(self.conf_applied) > 64:
            del self.conf_applied[min(self.conf_applied)]
        log.info("node %d: membership change applied at %d: %s node %d", self.cfg.node_id, e.index,
                 cc.op.name, cc.node_id)
        if cc.op == ConfChangeOp.REMOVE and cc.node_id == self.cfg.node_id:
            log.warning("node %d was removed from the cluster", self.cfg.node_id)

    def _update_peers(self) -> None:
        m = self.core.membership
        self._known_membership = m
        peers: dict[int, tuple[str, int]] = {}
        for nid in m.members():
            addr = self.address_of(nid)
            if addr is not None and nid != self.cfg.node_id:
                peers[nid] = (addr.host, addr.raft_port)
        self.transport.set_peers(peers)  # type: ignore[union-attr]

    def _install_snapshot(self, meta: SnapshotMeta) -> None:
        t0 = time.perf_counter()
        self.storage.load_into(meta, self.node.keyspace)  # type: ignore[union-attr]
        self.node.on_snapshot_installed(meta.index, meta.term)
        self.last_snapshot_index = meta.index
        self.log_bytes_since_snapshot = 0
        log.info("node %d installed a snapshot at index %d (term %d) from the leader in %.2fs",
                 self.cfg.node_id, meta.index, meta.term, time.perf_counter() - t0)

    def _on_tick(self) -> None:
        self._ticks += 1
        if self.driver is not None and self.driver.storage_error is not None:
            self._hand_off_if_disk_stuck()
        elif self._disk_stuck_since is not None:
            self._disk_stuck_since = None
        if self.membership_changed():
            self._update_peers()
        if self._snapshot_child:
            self._poll_snapshot_child()
        if self._ticks % 4 == 0 and self.role == Role.LEADER:
            self.node.propose_expirations()
            if self.cfg.check_interval > 0:
                self.node.checks.maybe_start(self.node, self.cfg.check_interval)
        if self._ticks % 10 == 0:
            self.node.fail_stale_waiters()
        if self._quiet_pending and self._ticks >= self._quiet_ticks:
            self._quiet_over()
        self.node.ops_stats.sample()

    def _hand_off_if_disk_stuck(self) -> None:
        now = time.monotonic()
        if self._disk_stuck_since is None:
            self._disk_stuck_since = now
            return
        core = self.core
        if (self.role != Role.LEADER or core.lead_transferee
                or now - self._disk_stuck_since < STUCK_DISK_HANDOFF_SECONDS):
            return
        target = self._best_voter()
        if target and core.transfer_leadership(target):
            log.warning("node %d cannot write its log: handing leadership to node %d", self.cfg.node_id, target)
            self.driver.kick()  # type: ignore[union-attr]

    def _best_voter(self) -> int:
        """The other voter with the most of the log (0: none)."""
        core = self.core
        best = None
        for nid, pr in core.progress.items():
            if nid != self.cfg.node_id and nid in core.membership.voters:
                if best is None or pr.match > best[1]:
                    best = (nid, pr.match)
        return best[0] if best is not None else 0

    def membership_changed(self) -> bool:
        return self.core.membership is not self._known_membership

    # -- snapshots ------------------------------------------------------------------------------
    def _snapshot_file_time(self) -> float:
        """When the newest snapshot on disk was written (its file's mtime; 0.0 if unknown), so
        LASTSAVE survives a restart."""
        snaps = self.storage.snapshots  # type: ignore[union-attr]
        meta = snaps.latest()
        if meta is None:
            return 0.0
        try:
            return os.path.getmtime(os.path.join(snaps.directory, meta.name))
        except OSError:
            return 0.0

    def start_snapshot(self) -> bool:
        if self._snapshot_child:
            return False
        index = self.node.applied
        if index <= self.core.log.snapshot_index or index != self.core.applied:
            return False  # (RAFT.SNAPSHOT retries from the next advance)
        if index > self.core.log.stable:
            # Applied entries (committed on a majority) that this node's own log has not made
            # durable yet, a full disk for one: the WAL must hold them before it is cut.
            return False
        meta = self.core.snapshot_meta_at(index)
        membership = encode_membership(meta.membership)
        self._snapshot_started = time.perf_counter()
        pid = fork()
        if pid != 0:
            self.node.ops_stats.latency.add("fork", (time.perf_counter() - self._snapshot_started) * 1000)
        if pid == 0:  # child: write the snapshot and leave without running any parent cleanup
            code = 1
            try:
                close_inherited_locks()
                self.storage.write_snapshot_in_child(meta.index, meta.term, membership,  # type: ignore[union-attr]
                                                     self.node.keyspace)
                code = 0
            except BaseException as e:  # noqa: BLE001 - the child must always _exit
                try:
                    os.write(2, f"raftis: snapshot child failed: {e!r}\n".encode())
                except OSError:
                    pass
            os._exit(code)
        self._snapshot_child = pid
        self._snapshot_meta = meta
        self.log_bytes_since_snapshot = 0
        log.info("node %d: snapshot at index %d started (child pid %d)", self.cfg.node_id, index, pid)
        return True

    def _poll_snapshot_child(self) -> None:
        try:
            pid, status = os.waitpid(self._snapshot_child, os.WNOHANG)
        except ChildProcessError:
            pid, status = self._snapshot_child, 1 << 8
        if pid == 0:
            return
        self._snapshot_child = 0
        meta = self._snapshot_meta
        ok = os.waitstatus_to_exitcode(status) == 0
        waiters, self._snapshot_waiters = self._snapshot_waiters, []
        self.last_snapshot_ok = ok
        if not ok:
            self.snapshot_failures += 1
            log.error("node %d: snapshot at index %d failed (status %d)", self.cfg.node_id, meta.index, status)
            for fut in waiters:
                if not fut.done():
                    fut.set_exception(AdminError("ERR snapshot failed, see the server log"))
            return
        took = time.perf_counter() - self._snapshot_started
        self.last_snapshot_seconds = took
        self.last_snapshot_index = meta.index
        self.last_snapshot_time = time.time()
        self.snapshots_taken += 1
        self.node.ops_stats.snapshot_duration.observe(took)
        self.node.ops_stats.latency.add("snapshot", took * 1000)
        self.storage.note_snapshot(meta)  # type: ignore[union-attr]
        self.core.compact(meta)
        # The WAL is compacted on the storage thread, in order with the writes.
        fut_c = self.driver.run_storage(self.storage.compact_wal, meta.index, meta.term)  # type: ignore[union-attr]

        def done(_f: Any) -> None:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

        fut_c.add_done_callback(done)
        log.info("node %d: snapshot at index %d written in %.2fs", self.cfg.node_id, meta.index, took)

    async def snapshot_now(self) -> None:
        """Take a snapshot now (or join the one being taken) and wait until it is durable."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._snapshot_waiters.append(fut)
        deadline = time.monotonic() + 5.0
        while not self._snapshot_child and not self.start_snapshot():
            if self.node.applied <= self.core.log.snapshot_index:
                self._snapshot_waiters.remove(fut)  # nothing new since the last snapshot:
                self.last_snapshot_time = time.time()  # what it holds is the state as of now
                return
            if time.monotonic() > deadline:
                self._snapshot_waiters.remove(fut)
                raise AdminError("TIMEOUT could not start a snapshot")
            await asyncio.sleep(0.005)
        await fut

    # -- membership changes (leader side) -------------------------------------------------------
    async def wait_applied(self, index: int, timeout: float) -> None:
        if self.node.applied >= index:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._apply_waits.append((index, fut))
        await asyncio.wait_for(fut, timeout)

    async def _propose_change(self, cc: ConfChange, deadline: float) -> None:
        while True:
            if self.role != Role.LEADER:
                raise AdminError("TRYAGAIN this node is not the leader any more")
            term = self.core.term
            res = self.core.propose_conf_change(cc)
            if type(res) is Accepted:
                self.driver.kick()  # type: ignore[union-attr]
                try:
                    await self.wait_applied(res.last_index, max(0.1, deadline - time.monotonic()))
                except TimeoutError:
                    raise AdminError("TIMEOUT the membership change was not committed in time") from None
                if self.conf_applied.get(res.last_index, term) != term:
                    raise AdminError("TRYAGAIN leadership changed before the change was committed")
                return
            if type(res) is NotLeader:
                raise AdminError("TRYAGAIN this node is not the leader any more")
            reason = getattr(res, "reason", "")
            if "change" in reason or "own term" in reason or "committed" in reason:
                # Another change is in flight, or this leader has not committed its first
                # entry yet: wait a little and try again until the deadline.
                if time.monotonic() > deadline:
                    raise AdminError(f"TIMEOUT membership change not accepted in time: {reason}")
                await asyncio.sleep(0.05)
                continue
            raise AdminError(f"ERR {reason or 'membership change refused'}")

    async def add_node(self, node_id: int, address: PeerAddress, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        m = self.core.membership
        if node_id in m.voters:
            if m.addresses.get(node_id) == address.encode():
                return
            raise AdminError(f"ERR node {node_id} is already a member with address {m.addresses.get(node_id)}")
        if node_id in m.learners and m.addresses.get(node_id) != address.encode():
            raise AdminError(f"ERR node {node_id} is already a learner with address {m.addresses.get(node_id)}; "
                             "remove it first to give it another")
        for other in m.members():
            known = self.address_of(other)
            if other != node_id and known is not None and (known.host, known.raft_port) == (address.host,
                                                                                             address.raft_port):
                raise AdminError(f"ERR address {address.host}:{address.raft_port} is already used by node {other}")
        if node_id not in m.learners:
            await self._propose_change(ConfChange(ConfChangeOp.ADD_LEARNER, node_id, address.encode()), deadline)
        # Promote once the learner has caught up with the leader's log.
        while True:
            if self.role != Role.LEADER:
                raise AdminError("TRYAGAIN this node is not the leader any more")
            pr = self.core.progress.get(node_id)
            # Caught up, and heard from in this check-quorum period: a learner that went
            # away after catching up must not become a voter a majority then waits for.
            if pr is not None and pr.match >= self.core.commit and pr.recent_active:
                break
            if time.monotonic() > deadline:
                raise AdminError(f"TIMEOUT node {node_id} did not catch up in time; it stays a learner")
            await asyncio.sleep(0.05)
        await self._propose_change(ConfChange(ConfChangeOp.PROMOTE, node_id, ""), deadline)

    async def remove_node(self, node_id: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        if node_id not in self.core.membership:
            raise AdminError(f"ERR node {node_id} is not a member of the cluster")
        await self._propose_change(ConfChange(ConfChangeOp.REMOVE, node_id, ""), deadline)

    async def transfer_leadership(self, target: int, timeout: float = 10.0) -> int:
        core = self.core
        if self.role != Role.LEADER:
            raise AdminError("TRYAGAIN this node is not the leader")
        if target == 0:
            target = self._best_voter()
            if not target:
                raise AdminError("ERR there is no other voter to transfer leadership to")
        if target == self.cfg.node_id:
            return target
        if target not in core.membership.voters:
            raise AdminError(f"ERR node {target} is not a voter")
        if not core.transfer_leadership(target):
            raise AdminError(f"ERR cannot transfer leadership to node {target} now")
        self.driver.kick()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.leader_id == target:
                return target
            await asyncio.sleep(0.02)
        raise AdminError(f"TIMEOUT leadership did not move to node {target} in time")
