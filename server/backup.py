"""Backup and restore of a whole keyspace through a snapshot.

Server side (``RAFT.BACKUP``): a backup is a consistent snapshot of the node's state at one
log index. ``RAFT.BACKUP BEGIN`` makes the node take a snapshot now (the forked writer that
log compaction uses; an up-to-date snapshot is reused) and opens it; the client then reads it
with ``RAFT.BACKUP CHUNK <id> <offset> <count>`` and says ``RAFT.BACKUP END <id>``. The open
file stays readable even if a newer snapshot replaces it meanwhile. An abandoned backup is
closed after ``IDLE_SECONDS``.

The backup file is a snapshot file in the storage layer's format (header with index, term,
membership and CRC, then the keyspace payload), written and checked with ``SnapshotStore``.

Restore (``raftis restore``) seeds an empty data directory from such a file: the snapshot
goes into DIR/snapshots with the membership of the new cluster (this node alone, or
``--peers``), the WAL starts empty after it, and raftis.meta names the new cluster. Every
founding node of a restored cluster is seeded from the same file with the same ``--peers``.
It also takes a Redis RDB file, whose data becomes the new cluster's first snapshot: the way
into Raftis from redis-server.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from consensus.messages import HardState, Membership
from server.config import PeerAddress
from server.persistence import decode_membership, encode_membership
from storage.snapshots import SnapshotReader, SnapshotStore, snapshot_name
from storage.wal import Batch, Wal

IDLE_SECONDS = 300.0
MAX_CHUNK = 8 << 20
DEFAULT_CHUNK = 4 << 20


# -- server side --------------------------------------------------------------------------------
@dataclass
class _OpenBackup:
    reader: SnapshotReader
    last_used: float


class BackupSessions:
    """The backups a node is serving, by id."""

    def __init__(self) -> None:
        self._open: dict[int, _OpenBackup] = {}
        self._ids = itertools.count(1)

    async def begin(self, node: Any) -> list[Any]:
        self._expire()
        raft = node.raft
        await raft.snapshot_now()
        store = raft.storage.snapshots
        meta = store.latest()
        if meta is None:
            raise RuntimeError("no snapshot to back up")
        reader = store.open(meta)
        bid = next(self._ids)
        self._open[bid] = _OpenBackup(reader, time.monotonic())
        return [bid, meta.index, meta.term, meta.size, meta.crc, meta.membership]

    async def chunk(self, bid: int, offset: int, count: int) -> bytes:
        ob = self._open.get(bid)
        if ob is None:
            raise KeyError(bid)
        ob.last_used = time.monotonic()
        count = max(0, min(count, MAX_CHUNK))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, ob.reader.read_chunk, offset, count)

    def end(self, bid: int) -> bool:
        ob = self._open.pop(bid, None)
        if ob is None:
            return False
        ob.reader.close()
        return True

    def _expire(self) -> None:
        now = time.monotonic()
        for bid in [b for b, ob in self._open.items() if now - ob.last_used > IDLE_SECONDS]:
            self.end(bid)


def sessions_of(node: Any) -> BackupSessions:
    s = getattr(node, "backup_sessions", None)
    if s is None:
        s = node.backup_sessions = BackupSessions()
    return s


# -- client side: raftis backup -------------------------------------------------------------------
@dataclass(frozen=True)
class BackupInfo:
    index: int
    term: int
    size: int
    path: str


def backup(host: str, port: int, dest: str, *, chunk_size: int = DEFAULT_CHUNK,
           progress: Any = None, timeout: float = 120.0, auth: tuple[str, str] | None = None) -> BackupInfo:
    """Stream a consistent snapshot from the node at host:port into ``dest``.

    ``progress`` (a click progress bar, or a callable) is told the size, then each chunk's."""
    from server.resp_client import RespClient

    dest = os.path.abspath(dest)
    work = tempfile.mkdtemp(prefix=".raftis-backup-", dir=os.path.dirname(dest))
    try:
        with RespClient(host, port, timeout=timeout, auth=auth) as c:
            bid, index, term, size, crc, membership = c.call("RAFT.BACKUP", "BEGIN")
            update = getattr(progress, "update", progress)
            if progress is not None and hasattr(progress, "length"):
                progress.length = max(size, 1)
            try:
                writer = SnapshotStore(work).create(index, term, membership)
                offset = 0
                while offset < size:
                    data = c.call("RAFT.BACKUP", "CHUNK", bid, offset, chunk_size)
                    if not data:
                        raise ConnectionError(f"the node sent no data at offset {offset} of {size}")
                    writer.write(data)
                    offset += len(data)
                    if update is not None:
                        update(len(data))
                meta = writer.commit(expected_size=size, expected_crc=crc)
            finally:
                try:
                    c.call("RAFT.BACKUP", "END", bid)
                except Exception:  # noqa: BLE001 - the node closes it after a while anyway
                    pass
        os.replace(os.path.join(work, meta.name), dest)
        return BackupInfo(index, term, size, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)


# -- restore -----------------------------------------------------------------------------------------
class RestoreError(Exception):
    pass


def open_backup(path: str) -> tuple[SnapshotStore, Any, str]:
    """The backup file as a one-snapshot store (a symlink in a temp dir); checks its CRC."""
    if not os.path.isfile(path):
        raise RestoreError(f"{path}: no such file")
    work = tempfile.mkdtemp(prefix=".raftis-restore-")
    os.symlink(os.path.abspath(path), os.path.join(work, snapshot_name(0, 0)))
    try:
        store = SnapshotStore(work)
        meta = store.latest()
        with store.open(meta, verify=True):  # type: ignore[arg-type]
            pass
    except Exception as e:
        shutil.rmtree(work, ignore_errors=True)
        raise RestoreError(f"{path} is not a usable backup: {e}") from e
    return store, meta, work


def describe(path: str) -> dict[str, Any]:
    store, meta, work = open_backup(path)
    try:
        m = decode_membership(meta.membership)
        return {"index": meta.index, "term": meta.term, "size": meta.size,
                "members": sorted(m.members())}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def restore(path: str, directory: str, node_id: int, peers: dict[int, PeerAddress], *,
            progress: Any = None) -> dict[str, Any]:
    """Seed ``directory`` (empty or missing) with the backup at ``path`` for node ``node_id``
    of a cluster whose founding members are ``peers``. A Redis RDB file (``REDIS`` at its
    start) is read instead into a first snapshot (``restore_rdb``)."""
    if is_rdb_file(path):
        return restore_rdb(path, directory, node_id, peers, progress=progress)
    _check_target(directory, node_id, peers)
    store, meta, work = open_backup(path)
    try:
        def copy(writer: Any) -> None:
            with store.open(meta) as reader:
                for chunk in reader.chunks(DEFAULT_CHUNK):
                    writer.write(chunk)
                    if progress is not None:
                        progress(len(chunk))

        cluster_id = _seed(directory, node_id, peers, meta.index, meta.term, copy, meta)
        return {"index": meta.index, "term": meta.term, "size": meta.size, "cluster_id": cluster_id}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def is_rdb_file(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(5) == b"REDIS"
    except OSError:
        return False


def restore_rdb(path: str, directory: str, node_id: int, peers: dict[int, PeerAddress], *,
                progress: Any = None) -> dict[str, Any]:
    """Seed ``directory`` with the data of a Redis RDB file (``SAVE``, ``BGSAVE``,
    ``redis-cli --rdb``): every database's keys with their expiry times and the function
    libraries, as the first snapshot (index 1, term 1) of a new cluster. The same file gives
    every founding node the same snapshot."""
    from server import rdb
    from server.commands.context import ExecContext
    from server.commands.functions import function_restore
    from server.keyspace import Keyspace

    _check_target(directory, node_id, peers)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise RestoreError(f"{path}: {e}") from e
    try:
        contents = rdb.load_file(data)
    except (rdb.PayloadError, rdb.VersionError, rdb.UnsupportedType) as e:
        raise RestoreError(f"{path} is not an RDB file Raftis can read: {e}") from e
    if progress is not None:
        progress(len(data))
    keyspace = Keyspace()
    for index, keys in sorted(contents.dbs.items()):
        if index >= len(keyspace.dbs):
            raise RestoreError(f"{path} has keys in database {index}; Raftis has databases 0 to "
                               f"{len(keyspace.dbs) - 1}")
        db = keyspace.dbs[index]
        data, expires = db.data, db.expires
        for key, value, expire_ms in keys:
            data[key] = value
            if expire_ms is not None:
                expires[key] = expire_ms
            else:
                expires.pop(key, None)  # a repeated key: the last one wins, as Redis loads it
        db.version_floor = 1  # every key came at index 1 (not one version per key to keep)
    if contents.functions:
        reply = function_restore(ExecContext(keyspace),
                                 [b"FUNCTION", b"RESTORE", rdb.dump_functions(contents.functions), b"APPEND"])
        if isinstance(reply, Exception):
            raise RestoreError(f"{path}: its function libraries do not load: {reply}")
    cluster_id = _seed(directory, node_id, peers, 1, 1, keyspace.snapshot_to, None)
    return {"index": 1, "term": 1, "size": len(data), "cluster_id": cluster_id,
            "keys": sum(len(keys) for keys in contents.dbs.values())}


def _check_target(directory: str, node_id: int, peers: dict[int, PeerAddress]) -> None:
    if node_id not in peers:
        raise RestoreError(f"the members ({', '.join(map(str, sorted(peers)))}) do not include node {node_id}")
    if os.path.isdir(directory) and os.listdir(directory):
        raise RestoreError(f"{directory} is not empty: restore only seeds a new data directory")


def _seed(directory: str, node_id: int, peers: dict[int, PeerAddress], index: int, term: int,
          write: Any, expected: Any) -> str:
    """The data directory of a new cluster's node whose first snapshot (at ``index``,
    ``term``) ``write(writer)`` writes; its cluster id."""
    from server.raft import cluster_id_for

    os.makedirs(directory, mode=0o700, exist_ok=True)
    cluster_id = cluster_id_for(peers) if len(peers) > 1 else os.urandom(8).hex()
    membership = Membership(frozenset(peers), frozenset(), {n: p.encode() for n, p in peers.items()})
    target = SnapshotStore(os.path.join(directory, "snapshots"))
    writer = target.create(index, term, encode_membership(membership))
    write(writer)
    if expected is not None:
        writer.commit(expected_size=expected.size, expected_crc=expected.crc)
    else:
        writer.commit()
    # The log starts right after the snapshot; the term is the snapshot's, so the first
    # election of the new cluster is in a newer term than any entry it holds.
    wal = Wal.open(os.path.join(directory, "wal"), cluster_id=cluster_id, node_id=node_id)
    try:
        wal.compact(index, term)
        wal.write_batches([Batch(hard_state=HardState(term, 0, index))])
        wal.sync()
    finally:
        wal.close()
    _write_meta(directory, {"cluster_id": cluster_id, "node_id": node_id, "format": 1})
    return cluster_id


def _write_meta(directory: str, meta: dict) -> None:
    path = os.path.join(directory, "raftis.meta")
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(meta, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
