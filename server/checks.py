"""RAFT.CHECK: do the members hold the same data? Each compares digests taken at the same
log entry.

RAFT.CHECK (on the leader) proposes ``RAFTIS.DIGEST <token>``. Applying it changes nothing,
but every member, as it applies that entry, forks a child that computes the digest of its
data at exactly that point of the log (``Checkpoints.record``), so the members' digests are
comparable however many writes go on around the check. The leader then asks every member
for its digest (``RAFT.DIGEST <token>``) and compares them. A digest is Redis's DEBUG DIGEST
of the data (server/digest.py), with the function libraries, the script cache and the
streams' consumer groups added, which Redis's leaves out.

This is what a replica that silently diverged (a bug in applying the log, a bit flipped in
memory, a snapshot restored wrongly) would show, while every node still answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from hashlib import sha1
from typing import Any

from server import rdb
from server.digest import dataset_digest
from server.forked import start_in_child
from server.stream import Stream

log = logging.getLogger("raftis.checks")

__all__ = ["Checkpoints", "state_digest"]


def state_digest(keyspace: Any) -> bytes:
    """The data's Redis digest, with what it leaves out: function libraries, cached scripts,
    and each stream's whole state (consumer groups, pending entries, IDs) as DUMP writes it."""
    h = sha1(dataset_digest(keyspace))
    h.update(b"functions")
    for code in sorted(code for code, _ in keyspace.functions.values()):
        h.update(sha1(code).digest())
    h.update(b"scripts")
    for body in sorted(keyspace.scripts.values()):
        h.update(sha1(body).digest())
    h.update(b"streams")
    for db in keyspace.dbs:
        for key in sorted(k for k, v in db.data.items() if type(v) is Stream):
            h.update(b"%d:%d:" % (db.index, len(key)) + key)
            h.update(sha1(rdb.dump(db.data[key])).digest())
    return h.digest()


class Checkpoints:
    """This node's digests at the log entries RAFT.CHECK proposed, by the check's token."""

    KEEP = 32  # the latest checks' results
    MAX_RUNNING = 4  # children computing at once (a node catching up may apply many checks)

    def __init__(self) -> None:
        # token -> (log index, the child's result or None, why there is none)
        self.by_token: OrderedDict[bytes, tuple[int, asyncio.Future[bytes] | None, str]] = OrderedDict()

    def record(self, token: bytes, index: int, keyspace: Any) -> None:
        """Applying the check's entry at ``index``: fork now, while the data is exactly that."""
        running = sum(1 for _, child, _ in self.by_token.values() if child is not None and not child.done())
        child: asyncio.Future[bytes] | None = None
        why = ""
        if running >= self.MAX_RUNNING:
            why = "too many digests being computed at once"
        else:
            try:
                child = start_in_child(lambda: state_digest(keyspace))
            except (OSError, RuntimeError) as e:  # no child, or no event loop (not serving yet)
                why = f"could not compute the digest: {e}"
        if why:
            log.warning("check at index %d: %s", index, why)
        self.by_token[token] = (index, child, why)
        while len(self.by_token) > self.KEEP:
            _, (_, old, _) = self.by_token.popitem(last=False)
            if old is not None and not old.done():
                old.cancel()

    async def result(self, token: bytes) -> tuple[int, bytes | None, str] | None:
        """(index, digest or None, why not) for a check this node applied; None if it has not
        applied it (yet)."""
        entry = self.by_token.get(token)
        if entry is None:
            return None
        index, child, why = entry
        if child is None:
            return index, None, why
        try:
            return index, await asyncio.shield(child), ""
        except asyncio.CancelledError:
            return index, None, "the check was dropped for newer ones"
        except OSError as e:
            return index, None, str(e)
