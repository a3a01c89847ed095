"""RAFT.CHECK: do the members hold the same data? Each compares digests taken at the same
log entry.

RAFT.CHECK (on the leader) proposes ``RAFTIS.DIGEST <token> <deadline>``. Applying it changes nothing,
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
import os
import time
from collections import OrderedDict
from hashlib import sha1
from typing import Any

import hiredis

from server import rdb
from server.digest import dataset_digest
from server.forked import start_in_child
from server.stream import Stream

log = logging.getLogger("raftis.checks")

__all__ = ["CHECK_TIMEOUT", "Checkpoints", "run_check", "state_digest", "verdict"]

CHECK_TIMEOUT = 30.0  # seconds a check waits for every member's digest by default


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
        # The checks this node ran as leader: how many gave each verdict, and the last one.
        self.verdicts: dict[str, int] = {"consistent": 0, "DIVERGED": 0, "incomplete": 0}
        self.last: tuple[float, int, str] | None = None  # (monotonic time, index, verdict)
        self.running = False  # a periodic check is under way
        self.started = time.monotonic()

    def maybe_start(self, node: Any, interval: float) -> None:
        """The leader's periodic check (``--check-interval``): start one if none is under way
        and the last is ``interval`` seconds old."""
        if self.running or (self.last is not None and time.monotonic() - self.last[0] < interval):
            return
        if self.last is None and time.monotonic() - self.started < interval:
            return  # the first one an interval after start
        self.running = True

        async def run() -> None:
            try:
                await run_check(node, min(CHECK_TIMEOUT, interval))
            except Exception:  # noqa: BLE001 - a failed check must not take the node down
                log.exception("periodic RAFT.CHECK failed")
                self.last = (time.monotonic(), -1, "failed")
            finally:
                self.running = False

        asyncio.get_running_loop().create_task(run())

    def note(self, result: bytes, index: int) -> None:
        name = result.decode()
        self.verdicts[name] = self.verdicts.get(name, 0) + 1
        self.last = (time.monotonic(), index, name)

    def record(self, token: bytes, index: int, deadline_ms: int, keyspace: Any) -> None:
        """Applying the check's entry at ``index``: fork now, while the data is exactly that;
        unless the check's deadline (the leader's clock, Unix ms) has passed, as it has for a
        node replaying its log at start: nobody waits for that digest any more."""
        running = sum(1 for _, child, _ in self.by_token.values() if child is not None and not child.done())
        child: asyncio.Future[bytes] | None = None
        why = ""
        late = time.time() * 1000 > deadline_ms
        if late:
            why = "applied after the check's deadline"
        elif running >= self.MAX_RUNNING:
            why = "too many digests being computed at once"
        else:
            try:
                child = start_in_child(lambda: state_digest(keyspace))
            except (OSError, RuntimeError) as e:  # no child, or no event loop (not serving yet)
                why = f"could not compute the digest: {e}"
        if why and not late:
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


def verdict(rows: list[tuple[int, int, bytes | None, str]]) -> bytes:
    """``consistent`` when every member gave a digest and they are the same (and at the same
    index); ``DIVERGED`` when two differ; ``incomplete`` when some member gave none."""
    digests = {d for _, _, d, _ in rows if d is not None}
    if len(digests) > 1 or len({i for _, i, d, _ in rows if d is not None}) > 1:
        return b"DIVERGED"
    if any(d is None for _, _, d, _ in rows):
        return b"incomplete"
    return b"consistent"


async def member_digest(node: Any, nid: int, token: bytes, deadline: float) -> tuple[int, bytes | None, str]:
    """Member ``nid``'s (index, digest, why not) for the check ``token``, asking again until it
    has applied the check or ``deadline`` passes."""
    from server.app import ask

    raft = node.raft
    why = "did not apply the check in time"
    while time.monotonic() < deadline:
        if nid == raft.cfg.node_id:
            got = await node.checks.result(token)
            if got is not None:
                return got
        else:
            addr = raft.address_of(nid)
            if addr is None:
                return -1, None, "no client address known"
            try:
                reader = hiredis.Reader()
                reader.feed(await ask(addr.host, addr.port, [b"RAFT.DIGEST", token],
                                      timeout=max(0.1, deadline - time.monotonic())))
                reply = reader.gets()
            except (OSError, ConnectionError, TimeoutError) as e:
                why = f"unreachable: {e}"
                reply = None
            if isinstance(reply, hiredis.ReplyError):
                return -1, None, str(reply)
            if isinstance(reply, list):
                index, value = reply
                if isinstance(value, hiredis.ReplyError):
                    return index, None, str(value)
                return index, bytes.fromhex(value.decode()), ""
        await asyncio.sleep(0.1)
    return -1, None, why


async def run_check(node: Any, timeout: float) -> tuple[bytes, list[tuple[int, int, bytes | None, str]]]:
    """On the leader: propose a check, collect every member's digest at its entry, compare.
    The verdict and, per member, (id, index, digest or None, why not)."""
    token = os.urandom(8).hex().encode()
    node.propose_internal(0, [b"RAFTIS.DIGEST", token, b"%d" % ((time.time() + timeout) * 1000)])
    deadline = time.monotonic() + timeout
    members = sorted(node.raft.core.membership.members())
    got = await asyncio.gather(*(member_digest(node, nid, token, deadline) for nid in members))
    rows = [(nid, index, digest, why) for nid, (index, digest, why) in zip(members, got, strict=True)]
    result = verdict(rows)
    node.checks.note(result, max((index for _, index, _, _ in rows), default=-1))
    if result != b"consistent":
        log.warning("RAFT.CHECK: %s: %s", result.decode(), "; ".join(
            f"node {nid}: " + (f"index {index} digest {digest.hex()}" if digest is not None else why)
            for nid, index, digest, why in rows))
    return result, rows
