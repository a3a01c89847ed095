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
running, writes go to the storage thread instead. The core then keeps producing Readys
while the fsync runs (etcd's asynchronous storage writes), so heartbeats, read rounds,
replication and replies to committed writes do not wait behind a slow disk; the core
keeps anything that depends on durability (acknowledgements, a new term's messages, its
own match index) until ``advance``.

A write error the WAL recovered from (disk full, EIO) is retried every second while the
node refuses new writes and keeps serving reads; any other storage error is fatal for the
write path: the node stops taking part (it cannot promise durability any more) and
``on_fatal`` is told; nothing is acknowledged that was not durable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import msgspec

from consensus.codec import decode_message, encode_message
from consensus.messages import Entry, Message, Ready, Role
from storage.errors import WalFailedError, WalWriteError

log = logging.getLogger("raftis.driver")

# An fsync slower than this moves the log writes off the loop thread (see _sync_inline).
SLOW_FSYNC_SECONDS = 0.05

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

    def close(self) -> None:
        self.stop()
        self.io.shutdown(wait=True)

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
        for raw in _dec.decode(body):
            msg = decode_message(raw)
            if msg.from_ != from_id:
                raise ValueError(f"message claims to be from node {msg.from_} on node {from_id}'s link")
            self.messages_in += 1
            step(msg)
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
        if rd.committed_entries:
            self.apply(rd.committed_entries)  # type: ignore[arg-type]
        if rd.read_states:
            self.on_read_states(rd.read_states)  # type: ignore[arg-type]
        if core.needs_advance(rd) or rd.persisted_messages or rd.snapshot_chunks:
            self._queue.append(rd)
            self._write()

    def _write(self) -> None:
        """Start writing everything queued, unless a write is running (it picks the queue up
        when it is done)."""
        if self._writing or not self._queue or self._stopped:
            return
        batch = self._queue
        if any(self.storage.needs_sync(rd) for rd in batch):
            if self.storage_error is None and not self._io_busy and self._sync_inline():
                if self._inline_depth:
                    # Called from the end of an inline write: the next one starts on the
                    # next loop turn, with whatever arrived meanwhile.
                    self._loop.call_soon(self._write)  # type: ignore[union-attr]
                    return
                self._queue = []
                self._writing = True
                self._persist_inline(batch)
            else:
                self._queue = []
                self._writing = True
                self._submit(batch)
            return
        self._queue = []
        # Nothing to fsync (at most a new commit index): it goes with the next write.
        self.storage.defer(batch)
        self._written(batch, None, None)

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
        by_peer: dict[int, list[bytes]] = {}
        for m in messages:
            lst = by_peer.get(m.to)
            if lst is None:
                by_peer[m.to] = [encode_message(m)]
            else:
                lst.append(encode_message(m))
        send = self.transport.send
        for peer, raws in by_peer.items():
            self.messages_out += len(raws)
            send(peer, _enc.encode(raws))

    @property
    def role(self) -> Role:
        return self.core.role
