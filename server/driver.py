"""The driver: runs the Raft core on the event loop and carries out what it asks for.

The core (``consensus.node.RaftNode``) does no I/O. The driver feeds it ticks, peer
messages, proposals and read requests, and carries out each ``Ready``:

1. send ``ready.messages`` at once (the leader's AppendEntries overlap its own WAL write);
2. apply ``committed_entries`` and release ``read_states`` at once (they are durable);
3. queue the Ready's durability work (hard state, entries, snapshot). One write and one
   fsync covers every Ready queued since the previous fsync started: this is the group
   commit. A Ready whose only durable part is a new commit index is not written by itself:
   the index goes with the next write (after a crash it is learnt again);
4. once that is durable, for each Ready in order: send ``persisted_messages`` (votes,
   acknowledgements), install a received snapshot, ``advance``.

Where the write runs: on the loop thread while the disk is quick. The loop then waits for
the fsync (as Redis does with ``appendfsync always``), requests pile up in the sockets
meanwhile and the next loop turn takes them all: under load this batches better and costs
far less CPU than handing every write to a thread. When an fsync is slow (over
``SLOW_FSYNC_SECONDS``), or a write failed and is being retried, or other storage work is
running, or the write is large (over ``INLINE_MAX_BYTES`` of entries: a big value would
hold the loop long enough for the followers to start an election), writes go to the
storage thread instead. The core then keeps producing Readys
while the fsync runs (etcd's asynchronous storage writes), so heartbeats, read rounds,
replication and replies to committed writes do not wait behind a slow disk; the core
keeps anything that depends on durability (acknowledgements, a new term's messages, its
own match index) until ``advance``.

A leader whose followers alone make a majority (two of them in a 3-node cluster) holds its
own writes instead (see ``_can_hold``): the followers' acknowledgements commit the entries,
and the leader writes its log every ``HOLD_MAX_SECONDS``, or as soon as a held entry waits
uncommitted (a follower is gone, or lags the other one), or when a new term, a vote or a
snapshot must be written.

A write error the WAL recovered from (disk full, EIO) is retried every second while the
node refuses new writes and keeps serving reads; any other storage error is fatal for the
write path: the node stops taking part (it cannot promise durability any more) and
``on_fatal`` is told; nothing is acknowledged that was not durable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec

from consensus.codec import batch_parts, batch_views, decode_message, encode_message, encode_message_parts
from consensus.messages import Entry, Message, Ready, Role, members
from consensus.progress import ProgressState
from storage.errors import WalFailedError, WalWriteError

# The hot paths read enum members through plain classes (see consensus.messages.members).
Role = members(Role)
ProgressState = members(ProgressState)

log = logging.getLogger("raftis.driver")

# An fsync slower than this moves the log writes off the loop thread (see _sync_inline).
SLOW_FSYNC_SECONDS = 0.05
# So does a write with more than this many bytes of entries.
INLINE_MAX_BYTES = 4 * 1024 * 1024
# A message at least this large is written to its peer in pieces (see _send), and a batch
# this large is decoded into views of the frame, not copies (see on_peer_batch).
LARGE_MESSAGE_BYTES = 1024 * 1024
# A leader whose followers alone make a majority holds its own log writes (see _can_hold):
# it writes them once an entry it holds has waited this long without being committed (a
# follower is slow or gone), and then holds nothing for HOLD_OFF_SECONDS;
HOLD_STALL_SECONDS = 0.02
HOLD_OFF_SECONDS = 1.0
# The same once the commit of a held entry came this long after the first follower had it,
# several times in a row: the other follower is steadily slower, and the leader's own write
# would commit with the quicker one (without it, every commit waits for the slower follower).
HOLD_LAG_SECONDS = 0.005
HOLD_LAG_REPEATS = 3
# and in any case once the oldest held Ready is this old, or the held entries this large.
HOLD_MAX_SECONDS = 0.1
HOLD_MAX_BYTES = 4 * 1024 * 1024

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder(list[bytes])


class RaftDriver:
    def __init__(self, core: Any, storage: Any, transport: Any, *, tick_ms: int,
                 apply: Callable[[list[Entry]], None],
                 install_snapshot: Callable[[Any], None],
                 on_read_states: Callable[[list[Any]], None],
                 on_soft_state: Callable[[Any], None],
                 on_fatal: Callable[[BaseException], None]) -> None:
        self.core = core
        self.storage = storage  # server.persistence.NodeStorage
        self.transport = transport
        self.tick_ms = tick_ms
        self.apply = apply
        self.install_snapshot = install_snapshot
        self.on_read_states = on_read_states
        self.on_soft_state = on_soft_state
        self.on_fatal = on_fatal
        self.io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="raftis-wal")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scheduled = False
        self._queue: list[Ready] = []  # Readys whose durability work has not started
        self._writing = False  # a write (and fsync) is running
        self._io_busy = 0  # jobs submitted to the storage thread and not done
        self._inline_depth = 0
        # Log writes run on the loop thread while the disk is quick and the storage thread
        # is idle; ``False`` always uses the storage thread.
        self.inline_sync = True
        # A leader holds its own log writes while its followers alone make a majority
        # (see _can_hold); ``False`` writes every Ready at once.
        self.hold_leader_writes = True
        self._held: list[Ready] = []  # Readys held back, in order, neither written nor advanced
        self._held_marks: deque[tuple[float, int]] = deque()  # (when held, last entry index)
        self._held_since = 0.0
        self._held_bytes = 0
        self._held_timer: asyncio.TimerHandle | None = None
        self._release = False  # write what is held with the next write
        self._hold_off_until = 0.0
        self.held_writes = 0  # Readys that were held (INFO)
        self._apply_after_write: list[list[Entry]] = []  # a follower's committed entries (_process)
        self.hold_stalls = 0  # times holding stopped because a held entry waited (see _check_held)
        self._lag_since = 0.0  # when a follower had held entry _lag_index, uncommitted (_watch_lag)
        self._lag_index = 0
        self._lags = 0  # commits in a row that lagged the first follower's copy
        self._lagging = False  # ... often enough to stop holding
        self._ticker: asyncio.TimerHandle | None = None
        self._stopped = False
        self.failed: BaseException | None = None
        self.storage_error: BaseException | None = None  # a write error being retried
        self.on_storage_error: Callable[[BaseException], None] | None = None
        self.retry_seconds = 1.0
        # Figures for INFO and metrics.
        self.fsyncs = 0
        self.fsync_seconds = 0.0
        self.fsync_last_ms = 0.0
        self.ready_count = 0
        self.messages_in = 0
        self.messages_out = 0
        self.tick_hooks: list[Callable[[], None]] = []
        # Called after each advance: the one moment the state machine and the core agree on
        # the applied index (snapshots are taken then).
        self.after_advance: Callable[[], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._ticker = self._loop.call_later(self.tick_ms / 1000, self._tick)
        self.kick()

    def stop(self) -> None:
        self._stopped = True
        if self._ticker is not None:
            self._ticker.cancel()
        if self._held_timer is not None:
            self._held_timer.cancel()
            self._held_timer = None

    def close(self) -> None:
        self.stop()
        self.io.shutdown(wait=True)
        held, self._held = self._held, []
        if held and self.failed is None:
            # Not needed for safety (what is committed is durable on a majority), but a node
            # that stops cleanly keeps its whole log.
            try:
                self.storage.persist_all(held)
            except Exception as e:  # noqa: BLE001
                log.warning("could not write the held log entries at close: %s", e)

    def _tick(self) -> None:
        if self._stopped:
            return
        self._ticker = self._loop.call_later(self.tick_ms / 1000, self._tick)  # type: ignore[union-attr]
        if self.failed is None:
            self.core.tick()
        for hook in self.tick_hooks:
            try:
                hook()
            except Exception:
                log.exception("tick hook failed")
        self.kick()

    # -- input -------------------------------------------------------------------------------
    def on_peer_batch(self, from_id: int, body: bytes) -> None:
        """Called by the transport with one frame from a peer. Raises on malformed input,
        which makes the transport drop that connection."""
        if self.failed is not None or self._stopped:
            return
        step = self.core.step
        large = len(body) >= LARGE_MESSAGE_BYTES
        for raw in batch_views(body) if large else _dec.decode(body):
            # The messages of a large batch are views into it, their entries too: the frame is
            # this batch's alone, and copying a big entry out of it would stall the loop.
            msg = decode_message(raw, large)
            if msg.from_ != from_id:
                raise ValueError(f"message claims to be from node {msg.from_} on node {from_id}'s link")
            self.messages_in += 1
            step(msg)
        if self._held_marks:
            self._watch_lag(from_id)
        self.kick()

    def on_peer_progress(self, from_id: int) -> None:
        """Called by the transport while a large frame from a peer arrives (``heard_from``)."""
        if self.failed is None and not self._stopped:
            self.core.heard_from(from_id)
            self.kick()

    def kick(self) -> None:
        """Make sure a Ready will be processed soon (once per loop turn at most)."""
        if not self._scheduled and not self._stopped:
            self._scheduled = True
            self._loop.call_soon(self._process)  # type: ignore[union-attr]

    # -- the Ready cycle -----------------------------------------------------------------------
    def _process(self) -> None:
        self._scheduled = False
        if self._stopped or self.failed is not None:
            return
        core = self.core
        if not core.has_ready():
            return
        rd: Ready = core.ready()
        self.ready_count += 1
        if rd.soft_state is not None:
            self.on_soft_state(rd.soft_state)
        if rd.messages:
            self._send(rd.messages)
        if self._apply_after_write:
            self._apply_deferred()  # entries of earlier Readys go first
        if rd.committed_entries:
            if rd.persisted_messages and core.role != Role.LEADER:
                # A follower acknowledges first: these entries are applied once the write
                # that the acknowledgement waits for is done and the acknowledgement sent.
                self._apply_after_write.append(rd.committed_entries)
            else:
                self.apply(rd.committed_entries)  # type: ignore[arg-type]
        if rd.read_states:
            self.on_read_states(rd.read_states)  # type: ignore[arg-type]
        if core.needs_advance(rd) or rd.persisted_messages or rd.snapshot_chunks:
            self._queue.append(rd)
            self._write()

    def _apply_deferred(self) -> None:
        pending = self._apply_after_write
        self._apply_after_write = []
        for entries in pending:
            self.apply(entries)

    def _write(self) -> None:
        """Start writing everything queued, unless a write is running (it picks the queue up
        when it is done), or hold it (see ``_can_hold``)."""
        if self._writing or self._stopped:
            return
        queue = self._queue
        if not queue and not (self._held and self._release):
            return
        if not self._release and self._can_hold(queue) and (self._held or any(rd.entries for rd in queue)):
            self._hold(queue)
            if not self._release:
                return
            queue = self._queue
        batch = self._held + queue if self._held else queue
        if any(self.storage.needs_sync(rd) for rd in batch):
            if self.storage_error is None and not self._io_busy and self._sync_inline() and not _large(batch):
                if self._inline_depth:
                    # Called from the end of an inline write: the next one starts on the
                    # next loop turn, with whatever arrived meanwhile.
                    self._loop.call_soon(self._write)  # type: ignore[union-attr]
                    return
                self._take()
                self._persist_inline(batch)
            else:
                self._take()
                self._submit(batch)
            return
        self._queue = []
        # Nothing to fsync (at most a new commit index): it goes with the next write.
        self.storage.defer(batch)
        self._written(batch, None, None)

    def _take(self) -> None:
        """A write of the queue (and of everything held) starts."""
        self._queue = []
        self._writing = True
        self._release = False
        if self._held:
            self._held = []
            self._held_marks.clear()
            self._held_bytes = 0
            self._held_since = 0.0
            self._lag_since = 0.0
            self._lagging = False
            if self._held_timer is not None:
                self._held_timer.cancel()
                self._held_timer = None

    # -- a leader's held writes ----------------------------------------------------------------
    def _can_hold(self, batch: list[Ready]) -> bool:
        """Whether this leader may hold ``batch`` back instead of writing it now.

        Raft counts a leader's own log towards a majority only once it is durable (the core
        moves the leader's match index at ``advance``), so while the followers alone make a
        majority their acknowledgements commit the entries without the leader's write (Raft
        thesis §10.2.1). The leader then writes its log once per ``HOLD_MAX_SECONDS`` instead
        of once per batch: it spends no CPU on an fsync per batch and its event loop never
        waits for its disk. What is committed is durable on a majority all the same; a
        leader that crashes loses only entries it holds, which it learns again as a follower.

        Only entries and a new commit index are held. A new term or vote, a snapshot, and a
        Ready with messages to send after persisting are written at once, together with
        everything held before them; so is everything once a held entry waits
        ``HOLD_STALL_SECONDS`` uncommitted (a follower is slow or gone), or once the other
        follower lags the first to have an entry by ``HOLD_LAG_SECONDS``, ``HOLD_LAG_REPEATS``
        commits in a row: the leader's own write counts again, and nothing is held for
        ``HOLD_OFF_SECONDS``."""
        if not self.hold_leader_writes or self.storage_error is not None:
            return False
        core = self.core
        if core.role != Role.LEADER:
            return False
        voters = core.membership.voters
        need = len(voters) // 2 + 1
        me = core.id
        progress = core.progress
        for nid in voters:
            if nid != me:
                pr = progress.get(nid)
                if pr is not None and pr.state == ProgressState.REPLICATE:
                    need -= 1
        if need > 0:
            return False
        if self._hold_off_until and time.monotonic() < self._hold_off_until:
            return False
        synced = self.storage.synced_term_vote
        for rd in batch:
            if rd.persisted_messages or rd.snapshot is not None or rd.snapshot_chunks:
                return False
            hs = rd.hard_state
            if hs is not None and (hs.term, hs.vote) != synced:
                return False
        return True

    def _hold(self, batch: list[Ready]) -> None:
        now = time.monotonic()
        if not self._held:
            self._held_since = now
        held = self._held
        marks = self._held_marks
        size = self._held_bytes
        for rd in batch:
            held.append(rd)
            if rd.entries:
                marks.append((now, rd.entries[-1].index))
                for e in rd.entries:
                    size += len(e.data)
        self._held_bytes = size
        self.held_writes += len(batch)
        self._queue = []
        if size >= HOLD_MAX_BYTES:
            self._release = True
        elif self._held_timer is None:
            self._held_timer = self._loop.call_later(HOLD_STALL_SECONDS, self._check_held)  # type: ignore[union-attr]

    def _watch_lag(self, from_id: int) -> None:
        """A follower answered while entries are held. Measure how long after the first
        follower had a held entry the entry committed (waiting for the other follower, or
        in a larger cluster for the rest of the followers' majority): a lag of
        ``HOLD_LAG_SECONDS`` or more ``HOLD_LAG_REPEATS`` times in a row means a follower
        the commit needs is steadily slower, and the leader stops holding (see
        ``_check_held``): its own copy then counts instead."""
        core = self.core
        committed = core.log.committed
        if self._lag_since:
            if committed < self._lag_index:
                return  # still waiting for the slower follower
            lag = time.monotonic() - self._lag_since
            self._lag_since = 0.0
            if lag < HOLD_LAG_SECONDS:
                self._lags = 0
            else:
                self._lags += 1
                if self._lags >= HOLD_LAG_REPEATS:
                    self._lags = 0
                    self._lagging = True
                    if self._held_timer is not None:
                        self._held_timer.cancel()
                    self._held_timer = self._loop.call_soon(self._check_held)  # type: ignore[union-attr]
                    return
        marks = self._held_marks
        while marks and marks[0][1] <= committed:
            marks.popleft()
        if marks:
            index = marks[0][1]
            pr = core.progress.get(from_id)
            if pr is not None and pr.match >= index:
                self._lag_since = time.monotonic()
                self._lag_index = index

    def _check_held(self) -> None:
        """Write what is held once a held entry waited too long uncommitted (a follower is
        slow or gone), or the followers' commits lagged one behind the other several times in
        a row (``_watch_lag``), or the oldest held Ready is old enough, or this node is no
        longer the leader."""
        self._held_timer = None
        if not self._held or self._stopped:
            return
        now = time.monotonic()
        committed = self.core.log.committed
        marks = self._held_marks
        while marks and marks[0][1] <= committed:
            marks.popleft()
        stalled = self._lagging or (bool(marks) and now - marks[0][0] >= HOLD_STALL_SECONDS)
        if stalled or now - self._held_since >= HOLD_MAX_SECONDS or self.core.role != Role.LEADER:
            if stalled:
                self.hold_stalls += 1
                self._hold_off_until = now + HOLD_OFF_SECONDS
            self._release = True
            self._write()
            return
        due = self._held_since + HOLD_MAX_SECONDS
        if marks:
            due = min(due, marks[0][0] + HOLD_STALL_SECONDS)
        self._held_timer = self._loop.call_later(max(due - now, 0.0005), self._check_held)  # type: ignore[union-attr]

    def _sync_inline(self) -> bool:
        """Whether the next log write runs on the loop thread (see ``_persist_inline``): yes
        while the disk is quick. When an fsync took longer than ``SLOW_FSYNC_SECONDS``, the
        writes move to the storage thread until one is quick again, so a slow disk does not
        stall heartbeats, read rounds and replies for long (a leader then still commits
        with its followers' acknowledgements)."""
        return self.inline_sync and self.fsync_last_ms < SLOW_FSYNC_SECONDS * 1000

    def _submit(self, batch: list[Ready]) -> None:
        self._io_busy += 1
        fut = self._loop.run_in_executor(self.io, self._persist, batch)  # type: ignore[union-attr]
        fut.add_done_callback(lambda f: self._submitted_done(batch, f))

    def _submitted_done(self, batch: list[Ready], fut: asyncio.Future[float]) -> None:
        self._io_busy -= 1
        exc = fut.exception()
        self._written(batch, exc, 0.0 if exc is not None else fut.result())

    def _persist_inline(self, batch: list[Ready]) -> None:
        """Write and fsync on the event loop's own thread (see the module docstring). A
        write error goes the same way as on the storage thread (retried there, or fatal)."""
        t0 = time.perf_counter()
        try:
            self.storage.persist_all(batch)
        except Exception as exc:  # noqa: BLE001 - sorted out by _written
            self._written(batch, exc, 0.0)
            return
        self._inline_depth += 1
        try:
            self._written(batch, None, time.perf_counter() - t0)
        finally:
            self._inline_depth -= 1

    def run_storage(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``fn`` on the storage thread, in order with the log writes (no log write runs
        on the loop thread meanwhile)."""
        self._io_busy += 1
        fut = self._loop.run_in_executor(self.io, fn, *args)  # type: ignore[union-attr]

        def done(_f: Any) -> None:
            self._io_busy -= 1

        fut.add_done_callback(done)
        return fut

    def _persist(self, batch: list[Ready]) -> float:
        t0 = time.perf_counter()
        self.storage.persist_all(batch)
        return time.perf_counter() - t0

    def _retry_later(self, batch: list[Ready], exc: BaseException) -> None:
        """A write error the WAL recovered from (disk full, EIO): keep the batch, refuse new
        writes, and try again until the disk takes it. Everything that needs no new log
        write (reads, heartbeats, replies to what was committed) goes on meanwhile."""
        if self.storage_error is None:
            log.error("cannot write the log (%s); writes are refused until it works again", exc)
        self.storage_error = exc
        if self.on_storage_error is not None:
            self.on_storage_error(exc)

        def retry() -> None:
            if not self._stopped and self.failed is None:
                self._submit(batch)  # on the storage thread: a disk in trouble may also be slow

        self._loop.call_later(self.retry_seconds, retry)  # type: ignore[union-attr]

    def _storage_failed(self, exc: BaseException) -> None:
        self.failed = exc
        self._writing = False
        log.error("storage failed, this node stops taking part in the cluster: %s", exc)
        self.on_fatal(exc)

    def _written(self, batch: list[Ready], exc: BaseException | None, took: float | None) -> None:
        """``took`` is the write's duration, ``None`` for Readys that needed no write of their own."""
        if took is not None:
            if exc is not None:
                if isinstance(exc, WalWriteError) and not isinstance(exc, WalFailedError):
                    self._retry_later(batch, exc)
                else:
                    self._storage_failed(exc)
                return
            if self.storage_error is not None:
                log.warning("the log is writable again; this node takes writes again")
                self.storage_error = None
            self.fsyncs += 1
            self.fsync_seconds += took
            self.fsync_last_ms = took * 1000
        if self._stopped:
            return
        core = self.core
        for rd in batch:
            if rd.persisted_messages:
                self._send(rd.persisted_messages)
            if self._apply_after_write:
                self._apply_deferred()
            if rd.snapshot is not None:
                self.install_snapshot(rd.snapshot)
            core.advance(rd)
        self._writing = False
        if self.after_advance is not None:
            self.after_advance()
        # Straight on: what this write made committable (and the replies to it) goes out
        # now, and the next write starts with everything that queued up meanwhile (from the
        # end of a write on the loop thread, on the next loop turn). Readys that needed no
        # write have nothing to catch up on: the next loop turn will do.
        if took is None:
            self.kick()
        else:
            self._process()
        self._write()

    def _send(self, messages: tuple[Message, ...]) -> None:
        by_peer: dict[int, list[Any]] = {}
        in_parts: set[int] = set()
        for m in messages:
            if m.entries and _carries_large(m.entries):
                # Kept in pieces, the big entry's data one of them: the same bytes go to every
                # follower, copied into no message, batch or frame.
                raw: Any = encode_message_parts(m)
                in_parts.add(m.to)
            else:
                raw = encode_message(m)
            lst = by_peer.get(m.to)
            if lst is None:
                by_peer[m.to] = [raw]
            else:
                lst.append(raw)
        send = self.transport.send
        for peer, raws in by_peer.items():
            self.messages_out += len(raws)
            if peer not in in_parts and max(map(len, raws)) < LARGE_MESSAGE_BYTES:
                send(peer, _enc.encode(raws))
            else:  # a big message: not copied once more into a batch, then into a frame
                self.transport.send_parts(peer, batch_parts(raws))

    @property
    def role(self) -> Role:
        return self.core.role


def _carries_large(entries: tuple[Entry, ...]) -> bool:
    for e in entries:
        if len(e.data) >= LARGE_MESSAGE_BYTES:
            return True
    return False


def _large(batch: list[Ready]) -> bool:
    """Whether ``batch`` holds more than ``INLINE_MAX_BYTES`` of entries."""
    size = 0
    for rd in batch:
        for e in rd.entries:
            size += len(e.data)
    return size > INLINE_MAX_BYTES
