"""`GroupCommitter`: a writer thread that makes batches durable with one fsync per round.

Callers (any thread; the server's asyncio loop in practice) `submit` batches of entries
and/or a hard state. The writer thread takes everything queued, writes it with one
``write`` (`Wal.write_batches`), runs ONE ``fdatasync`` for the lot, and only then
completes each batch, in submission order:

- the returned ``concurrent.futures.Future`` gets the batch's result (``token`` if one was
  given, else the batch's last entry index, else the log's last index) or the exception;
- ``on_durable(result)`` / ``on_error(result, exc)`` are called in the writer thread.

An asyncio caller bridges with ``asyncio.wrap_future(fut)`` or
``loop.call_soon_threadsafe`` in ``on_durable``. A failed round (ENOSPC, EIO, EROFS, ...)
fails every batch in it with `WalWriteError`; nothing of that round counts as written and
later rounds are tried again, so the WAL carries on once the disk has space again.

Works over `Wal` and `MemoryWal` alike (anything with ``write_batches``, ``sync``,
``compact``, ``last_index`` and ``durable_index``).
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from .errors import StorageError, WalWriteError
from .records import EntryLike
from .wal import Batch

log = logging.getLogger(__name__)

_COMPACT = object()


class _Item:
    __slots__ = ("batch", "token", "future", "nbytes")

    def __init__(self, batch: Any, token: Any, nbytes: int) -> None:
        self.batch = batch
        self.token = token
        self.future: Future[Any] = Future()
        self.nbytes = nbytes


class GroupCommitter:
    def __init__(
        self,
        wal: Any,
        *,
        on_durable: Callable[[Any], None] | None = None,
        on_error: Callable[[Any, BaseException], None] | None = None,
        max_round_bytes: int = 16 << 20,
        name: str = "wal-writer",
    ) -> None:
        self.wal = wal
        self.on_durable = on_durable
        self.on_error = on_error
        self.max_round_bytes = max_round_bytes
        self.rounds = 0  # rounds written, one fsync each
        self.batches = 0  # batches made durable
        self._queue: deque[_Item] = deque()
        self._cond = threading.Condition()
        self._durable = wal.durable_index
        self._closing = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ caller side

    def submit(
        self,
        entries: Sequence[EntryLike] = (),
        hard_state: Any = None,
        *,
        truncate_from: int | None = None,
        token: Any = None,
    ) -> Future[Any]:
        """Queue a batch; the future completes once it is durable (or failed)."""
        nbytes = sum(len(e.data) for e in entries) + 32 * len(entries)
        item = _Item(Batch(entries, hard_state, truncate_from), token, nbytes)
        self._put(item)
        return item.future

    def compact(self, index: int, term: int) -> Future[Any]:
        """Run `Wal.compact` on the writer thread, in order with the batches."""
        item = _Item(_COMPACT, (index, term), 0)
        self._put(item)
        return item.future

    def _put(self, item: _Item) -> None:
        with self._cond:
            if self._closing:
                raise StorageError("group committer is closed")
            self._queue.append(item)
            self._cond.notify_all()

    @property
    def durable_index(self) -> int:
        return self._durable

    def wait_durable(self, index: int, timeout: float | None = None) -> bool:
        """Block until ``index`` is durable; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._durable >= index, timeout)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far is durable (raises its error if not)."""
        self.submit().result(timeout)

    def close(self, timeout: float | None = None) -> None:
        """Finish what is queued, then stop the thread. Does not close the WAL."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def __enter__(self) -> GroupCommitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writer thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return
                round_: list[_Item] = []
                total = 0
                while self._queue and (not round_ or total < self.max_round_bytes):
                    item = self._queue[0]
                    if item.batch is _COMPACT:
                        if not round_:
                            round_.append(self._queue.popleft())
                        break
                    round_.append(self._queue.popleft())
                    total += item.nbytes
            try:
                if round_[0].batch is _COMPACT:
                    self._compact(round_[0])
                else:
                    self._commit(round_)
            except BaseException:  # never let the writer die silently
                log.exception("WAL writer thread: unexpected error")
                for it in round_:
                    if not it.future.done():
                        it.future.set_exception(StorageError("WAL writer failed unexpectedly"))

    def _compact(self, item: _Item) -> None:
        try:
            self.wal.compact(*item.token)
        except Exception as e:
            item.future.set_exception(e)
        else:
            item.future.set_result(item.token[0])

    def _commit(self, items: list[_Item]) -> None:
        written: list[_Item] = []
        try:
            self.wal.write_batches([it.batch for it in items])
            written = items
        except ValueError:
            # One batch does not fit the log: write the others one by one so only it fails.
            for n, it in enumerate(items):
                try:
                    self.wal.write_batches([it.batch])
                    written.append(it)
                except ValueError as e:
                    self._fail([it], e)
                except WalWriteError as e:
                    self._fail(items[n:], e)
                    break
        except WalWriteError as e:
            self._fail(items, e)
            return
        if not written:
            return
        try:
            durable = self.wal.sync()
        except WalWriteError as e:
            self._fail(written, e)
            return
        self.rounds += 1
        self.batches += len(written)
        with self._cond:
            self._durable = durable
            self._cond.notify_all()
        for it in written:
            b = it.batch
            result = it.token if it.token is not None else (b.entries[-1].index if b.entries else durable)
            if self.on_durable is not None:
                try:
                    self.on_durable(result)
                except Exception:
                    log.exception("on_durable callback failed")
            it.future.set_result(result)

    def _fail(self, items: list[_Item], exc: BaseException) -> None:
        for it in items:
            b = it.batch
            result = it.token if it.token is not None else (b.entries[-1].index if b.entries else None)
            if self.on_error is not None:
                try:
                    self.on_error(result, exc)
                except Exception:
                    log.exception("on_error callback failed")
            it.future.set_exception(exc)
