"""NodeStorage: the node's WAL and snapshot store, seen the way the Raft driver needs them.

- ``recover`` turns what is on disk into the core's start-up state and loads the newest
  snapshot into the keyspace;
- ``persist(ready)`` carries out one Ready's durability work with one write and one fsync
  (runs on the driver's storage thread, never on the event loop);
- as the core's ``SnapshotSource`` it streams local snapshots to followers in chunks.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import msgspec

from consensus.messages import Entry, EntryType, HardState, Membership, Ready, SnapshotMeta
from storage.errors import StorageError
from storage.snapshots import SnapshotMeta as StoredSnapshot
from storage.snapshots import SnapshotReader, SnapshotStore, SnapshotWriter
from storage.wal import Batch, Wal

log = logging.getLogger("raftis.storage")

_enc = msgspec.msgpack.Encoder()
_dec = msgspec.msgpack.Decoder()

# Zeros written ahead of the log's end (see Wal.open): an fdatasync that does not grow the
# file needs no journal commit, about a third less time per fsync on ext4 here.
WAL_PREALLOCATE = 1 << 20


def encode_membership(m: Membership) -> bytes:
    return _enc.encode((sorted(m.voters), sorted(m.learners), sorted(m.addresses.items())))


def decode_membership(data: bytes) -> Membership:
    if not data:
        return Membership()
    voters, learners, addresses = _dec.decode(data)
    return Membership(frozenset(voters), frozenset(learners), {int(k): v for k, v in addresses})


class SnapshotGone(LookupError, StorageError):
    """The snapshot asked for was replaced by a newer one and deleted."""


class StartupError(SystemExit):
    """The data directory cannot be used as it is; the message says why."""


class NodeStorage:
    def __init__(self, directory: str, cluster_id: str, node_id: int) -> None:
        self.directory = directory
        self.wal = Wal.open(os.path.join(directory, "wal"), cluster_id=cluster_id, node_id=node_id,
                            preallocate=WAL_PREALLOCATE)
        self.snapshots = SnapshotStore(os.path.join(directory, "snapshots"))
        self._incoming: SnapshotWriter | None = None
        self._incoming_key: tuple[int, int] | None = None
        self._installed_key: tuple[int, int] | None = None
        self._readers: dict[tuple[int, int], SnapshotReader] = {}
        self._lock = threading.Lock()
        hs = self.wal.recovered.hard_state
        self._synced_term_vote = (hs.term, hs.vote)
        self.syncs = 0
        self._deferred_hs: HardState | None = None  # see defer()

    # -- start-up ------------------------------------------------------------------------------
    def recover(self, keyspace: Any) -> tuple[HardState | None, SnapshotMeta | None, list[Entry]]:
        rec = self.wal.recovered
        stored = self.snapshots.latest()
        snap_index = stored.index if stored else 0
        if rec.snapshot_index > snap_index:
            raise StartupError(
                f"the WAL in {self.directory} was compacted up to index {rec.snapshot_index}, but the newest "
                f"snapshot there covers only {snap_index}: the data directory is damaged")
        meta: SnapshotMeta | None = None
        if stored is not None:
            with self.snapshots.open(stored, verify=True) as reader:
                keyspace.restore_from(reader)
            meta = SnapshotMeta(stored.index, stored.term, decode_membership(stored.membership))
        entries = [Entry(e.index, e.term, EntryType(e.type), e.data) for e in rec.entries if e.index > snap_index]
        if entries and entries[0].index != snap_index + 1:
            raise StartupError(
                f"the WAL in {self.directory} starts at index {entries[0].index} but the newest snapshot "
                f"ends at {snap_index}: entries are missing")
        hs = rec.hard_state
        hard = HardState(hs.term, hs.vote, hs.commit) if (hs.term or hs.vote or hs.commit) else None
        if hard is not None and entries and hard.commit > entries[-1].index:
            hard = HardState(hard.term, hard.vote, entries[-1].index)
        return hard, meta, entries

    # -- the Ready's durability work (storage thread) ------------------------------------------
    def needs_sync(self, rd: Ready) -> bool:
        """Whether persisting ``rd`` involves an fsync (and so belongs on the storage thread)."""
        if rd.entries or rd.snapshot is not None or rd.snapshot_chunks:
            return True
        hs = rd.hard_state
        return hs is not None and (hs.term, hs.vote) != self._synced_term_vote

    @property
    def synced_term_vote(self) -> tuple[int, int]:
        """The term and vote that are durable."""
        return self._synced_term_vote

    def defer(self, rds: list[Ready]) -> None:
        """Readys that need no fsync (their only durable part is a new commit index): the
        newest such hard state is written with the next write, or at close, instead of
        costing a write of its own per batch. A commit index is only a hint after a crash
        (the node learns it again), so writing it late loses nothing."""
        for rd in rds:
            if rd.hard_state is not None:
                self._deferred_hs = rd.hard_state

    def persist(self, rd: Ready) -> None:
        self.persist_all([rd])

    def persist_all(self, rds: list[Ready]) -> None:
        """Make a run of Readys durable, in order, with one write and at most one fsync
        (group commit across every Ready that piled up while the previous fsync ran).

        On a `WalWriteError` nothing after the last snapshot part was written, and calling
        again with the same list is safe (a rewritten entry replaces itself)."""
        batches: list[Batch] = []
        must_sync = False
        synced = self._synced_term_vote
        for rd in rds:
            if rd.snapshot_chunks or rd.snapshot is not None:
                if batches:
                    self.wal.write_batches(batches)  # what comes before the snapshot, first
                    batches = []
                self._persist_snapshot(rd)
                must_sync = True
            hs = rd.hard_state
            if rd.entries or hs is not None:
                batches.append(Batch(entries=rd.entries, hard_state=hs))
                if rd.entries:
                    must_sync = True
                if hs is not None and (hs.term, hs.vote) != synced:
                    synced = (hs.term, hs.vote)
                    must_sync = True
        deferred = self._deferred_hs
        if deferred is not None and not any(rd.hard_state is not None for rd in rds):
            batches.append(Batch(entries=(), hard_state=deferred))
        if batches:
            self.wal.write_batches(batches)
        self._deferred_hs = None
        # As etcd's MustSync: a new commit index alone need not be fsync'd at once (after a
        # crash it is learnt again from the leader); entries, term and vote must be.
        if must_sync:
            self.wal.sync()
            self.syncs += 1
            self._synced_term_vote = synced

    def _persist_snapshot(self, rd: Ready) -> None:
        for ch in rd.snapshot_chunks:
            key = (ch.meta.index, ch.meta.term)
            if self._incoming is None or self._incoming_key != key or ch.offset == 0 and self._incoming.size:
                if self._incoming is not None:
                    self._incoming.abort()
                self._incoming = self.snapshots.create(ch.meta.index, ch.meta.term,
                                                       encode_membership(ch.meta.membership))
                self._incoming_key = key
            self._incoming.write_chunk(ch.offset, ch.data)
        if rd.snapshot is not None and self._installed_key != (rd.snapshot.index, rd.snapshot.term):
            meta = rd.snapshot
            if self._incoming is None or self._incoming_key != (meta.index, meta.term):
                raise StorageError(f"snapshot {meta.index}/{meta.term} is complete but its data was not received")
            self._incoming.commit()
            self._incoming = None
            self._incoming_key = None
            self._installed_key = (meta.index, meta.term)  # a retried persist skips this part
            self.wal.compact(meta.index, meta.term)
            if self.wal.last_index > meta.index:
                # The leader's snapshot replaces the whole log: entries after it are void.
                self.wal.write_batches([Batch(truncate_from=meta.index + 1)])

    # -- snapshots --------------------------------------------------------------------------------
    def _stored(self, index: int, term: int) -> StoredSnapshot:
        for s in self.snapshots.list():
            if s.index == index and s.term == term:
                return s
        raise SnapshotGone(f"no snapshot at index {index} term {term}")

    def load_into(self, meta: SnapshotMeta, keyspace: Any) -> None:
        stored = self._stored(meta.index, meta.term)
        with self.snapshots.open(stored, verify=True) as reader:
            keyspace.restore_from(reader)

    def write_snapshot_in_child(self, index: int, term: int, membership: bytes, keyspace: Any) -> None:
        # A fresh store object: the parent's locks may have been held by another thread at
        # fork. It leaves the temporary files alone: the parent may be receiving a leader's
        # snapshot into one meanwhile.
        store = SnapshotStore(os.path.join(self.directory, "snapshots"), clean=False)
        writer = store.create(index, term, membership)
        keyspace.snapshot_to(writer)
        writer.commit()

    def note_snapshot(self, meta: SnapshotMeta) -> None:
        """A new local snapshot is durable: forget readers of snapshots that are gone."""
        with self._lock:
            for key in [k for k in self._readers if k[0] < meta.index]:
                self._readers.pop(key).close()

    def compact_wal(self, index: int, term: int) -> None:
        self.wal.compact(index, term)

    # SnapshotSource, used by the core when it streams a snapshot to a follower.
    def _reader(self, meta: SnapshotMeta) -> SnapshotReader:
        key = (meta.index, meta.term)
        with self._lock:
            r = self._readers.get(key)
            if r is None:
                r = self._readers[key] = self.snapshots.open(self._stored(meta.index, meta.term))
            return r

    def size(self, meta: SnapshotMeta) -> int:
        return self._reader(meta).size

    def read_chunk(self, meta: SnapshotMeta, offset: int, max_bytes: int) -> bytes:
        return self._reader(meta).read_chunk(offset, max_bytes)

    def close(self) -> None:
        if self._deferred_hs is not None:
            try:
                self.wal.write_batches([Batch(entries=(), hard_state=self._deferred_hs)])
                self.wal.sync()
            except Exception as e:  # noqa: BLE001 - only a hint is lost
                log.warning("could not write the last commit index at close: %s", e)
            self._deferred_hs = None
        with self._lock:
            for r in self._readers.values():
                r.close()
            self._readers.clear()
        if self._incoming is not None:
            self._incoming.abort()
        self.wal.close()
