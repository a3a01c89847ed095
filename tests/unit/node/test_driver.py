"""RaftDriver: where log writes run (the loop thread while the disk is quick, the storage
thread after a slow fsync) and that both ways make proposals durable and committed."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

import server.driver as driver_mod
from consensus.config import Config
from consensus.messages import Accepted, Membership, Role
from consensus.node import RaftNode
from server.driver import RaftDriver


class RecordingStorage:
    """NodeStorage's interface, in memory; records which thread wrote and can be slow."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.delay = 0.0
        self.written: list[int] = []
        self.deferred = 0

    def needs_sync(self, rd) -> bool:
        hs = rd.hard_state
        return bool(rd.entries) or rd.snapshot is not None or (hs is not None and hs.commit == 0)

    def persist_all(self, rds) -> None:
        self.threads.append(threading.current_thread().name)
        if self.delay:
            time.sleep(self.delay)
        for rd in rds:
            self.written += [e.index for e in rd.entries]

    def defer(self, rds) -> None:
        self.deferred += len(rds)


class NoTransport:
    def send(self, peer: int, data: bytes) -> None:
        raise AssertionError("a single node sends nothing")


async def _single_node(storage: RecordingStorage) -> tuple[RaftNode, RaftDriver, list[int]]:
    core = RaftNode(Config(id=1, election_tick=2, heartbeat_tick=1), random.Random(1),
                    bootstrap_membership=Membership(voters=frozenset({1})))
    applied: list[int] = []
    drv = RaftDriver(core, storage, NoTransport(), tick_ms=10,
                     apply=lambda ents: applied.extend(e.index for e in ents),
                     install_snapshot=lambda s: None, on_read_states=lambda rs: None,
                     on_soft_state=lambda s: None, on_fatal=lambda e: None)
    drv.start()
    for _ in range(200):
        if core.role == Role.LEADER and core.commit >= core.log.last_index:
            break
        await asyncio.sleep(0.01)
    assert core.role == Role.LEADER
    return core, drv, applied


async def _propose_and_wait(core: RaftNode, drv: RaftDriver, applied: list[int]) -> int:
    result = core.propose([b"x"])
    assert type(result) is Accepted
    drv.kick()
    for _ in range(300):
        if result.first_index in applied:
            return result.first_index
        await asyncio.sleep(0.01)
    raise AssertionError("the proposal was not applied")


@pytest.mark.asyncio
async def test_writes_run_inline_until_an_fsync_is_slow_then_on_the_storage_thread(monkeypatch):
    monkeypatch.setattr(driver_mod, "SLOW_FSYNC_SECONDS", 0.02)
    storage = RecordingStorage()
    core, drv, applied = await _single_node(storage)
    try:
        main = threading.current_thread().name
        storage.threads.clear()
        idx = await _propose_and_wait(core, drv, applied)
        assert storage.threads == [main] and idx in storage.written
        storage.delay = 0.03  # the disk turns slow: this write still runs inline...
        await _propose_and_wait(core, drv, applied)
        storage.delay = 0.0
        storage.threads.clear()
        await _propose_and_wait(core, drv, applied)  # ... the next one does not
        assert storage.threads and all(t.startswith("raftis-wal") for t in storage.threads)
        await _propose_and_wait(core, drv, applied)  # quick again: back on the loop thread
        assert storage.threads[-1] == main
        assert storage.deferred  # the commit-only hard states were never written by themselves
    finally:
        drv.close()
