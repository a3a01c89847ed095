"""RaftDriver: where log writes run (the loop thread while the disk is quick, the storage
thread after a slow fsync) and that both ways make proposals durable and committed; and a
leader holding its own writes while its followers alone make a majority."""

from __future__ import annotations

import asyncio
import random
import threading
import time

import pytest

import server.driver as driver_mod
from consensus.codec import decode_message, encode_message
from consensus.config import Config
from consensus.messages import Accepted, Entry, Membership, Message, MessageType, Role
from consensus.node import RaftNode
from server.driver import RaftDriver, _dec, _enc


class RecordingStorage:
    """NodeStorage's interface, in memory; records which thread wrote and can be slow."""

    def __init__(self) -> None:
        self.threads: list[str] = []
        self.delay = 0.0
        self.written: list[int] = []
        self.deferred = 0
        self.synced_term_vote = (0, 0)
        self.calls: list[tuple[list[int], int]] = []  # per persist_all: entry indexes, newest term

    def needs_sync(self, rd) -> bool:
        hs = rd.hard_state
        return bool(rd.entries) or rd.snapshot is not None or (
            hs is not None and (hs.term, hs.vote) != self.synced_term_vote)

    def persist_all(self, rds) -> None:
        self.threads.append(threading.current_thread().name)
        if self.delay:
            time.sleep(self.delay)
        call: list[int] = []
        for rd in rds:
            call += [e.index for e in rd.entries]
            if rd.hard_state is not None:
                self.synced_term_vote = (rd.hard_state.term, rd.hard_state.vote)
        self.written += call
        self.calls.append((call, self.synced_term_vote[0]))

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


class Followers:
    """Nodes 2 and 3 in memory: the leader's transport. They persist at once, answer the
    leader through its driver, and never campaign (nothing ticks them)."""

    def __init__(self, membership: Membership) -> None:
        self.cores = {i: RaftNode(Config(id=i, election_tick=1000, heartbeat_tick=1), random.Random(i),
                                  bootstrap_membership=membership) for i in (2, 3)}
        self.drv: RaftDriver | None = None
        self.down: set[int] = set()
        self.delay: dict[int, float] = {}  # seconds before a follower gets each message
        self.parts_sent: list[tuple[int, list]] = []

    def send(self, peer: int, data: bytes) -> None:
        if peer not in self.down:
            asyncio.get_running_loop().call_later(self.delay.get(peer, 0.0), self._deliver, peer, data)

    def send_parts(self, peer: int, parts: list) -> None:
        self.parts_sent.append((peer, parts))
        self.send(peer, b"".join(parts))

    def _deliver(self, peer: int, data: bytes) -> None:
        core = self.cores[peer]
        for raw in _dec.decode(data):
            core.step(decode_message(raw))
        while core.has_ready():
            rd = core.ready()
            out = [m for m in rd.messages + rd.persisted_messages if m.to == 1]
            core.advance(rd)
            if out and peer not in self.down:
                self.drv.on_peer_batch(peer, _enc.encode([encode_message(m) for m in out]))


async def _three_nodes(storage: RecordingStorage) -> tuple[RaftNode, RaftDriver, list[int], Followers]:
    members = Membership(voters=frozenset({1, 2, 3}))
    core = RaftNode(Config(id=1, election_tick=2, heartbeat_tick=1), random.Random(1), bootstrap_membership=members)
    followers = Followers(members)
    applied: list[int] = []
    drv = RaftDriver(core, storage, followers, tick_ms=10,
                     apply=lambda ents: applied.extend(e.index for e in ents),
                     install_snapshot=lambda s: None, on_read_states=lambda rs: None,
                     on_soft_state=lambda s: None, on_fatal=lambda e: None)
    followers.drv = drv
    drv.start()
    for _ in range(300):
        if core.role == Role.LEADER and core.commit >= core.log.last_index and drv._can_hold([]):
            break
        await asyncio.sleep(0.01)
    assert core.role == Role.LEADER and drv._can_hold([])
    return core, drv, applied, followers


async def _until(cond, what: str) -> None:
    for _ in range(300):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(what)


async def _one_held_entry(monkeypatch, hold_max: float):
    """A 3-node leader that holds its writes, with one entry committed and applied through
    the followers' acknowledgements alone: the leader's own copy is not written yet."""
    monkeypatch.setattr(driver_mod, "HOLD_MAX_SECONDS", hold_max)
    storage = RecordingStorage()
    core, drv, applied, followers = await _three_nodes(storage)
    idx = await _propose_and_wait(core, drv, applied)
    assert idx not in storage.written
    return storage, core, drv, followers, idx


@pytest.mark.asyncio
async def test_a_large_entry_goes_to_every_follower_in_pieces_without_a_copy():
    # Each copy of a 200 MB entry costs the loop a stall long enough to matter: the leader
    # hands the very bytes it proposed to each follower's frame.
    storage = RecordingStorage()
    core, drv, applied, followers = await _three_nodes(storage)
    try:
        data = bytes(range(256)) * (8 << 10)  # 2 MB
        result = core.propose([data])
        assert type(result) is Accepted
        drv.kick()
        await _until(lambda: result.first_index in applied, "the large entry was not applied")
        sent = [(peer, p) for peer, parts in followers.parts_sent for p in parts if len(p) == len(data)]
        assert sorted(peer for peer, _ in sent) == [2, 3]
        entry = core.log.slice(result.first_index, result.first_index + 1)[0]
        assert entry.data == data and all(p is entry.data for _, p in sent)
        assert followers.cores[2].log.slice(result.first_index, result.first_index + 1)[0].data == data
        # Small messages still go as one body.
        n = len(followers.parts_sent)
        await _propose_and_wait(core, drv, applied)
        assert len(followers.parts_sent) == n
    finally:
        drv.close()


@pytest.mark.asyncio
async def test_a_leader_holds_its_writes_while_the_followers_make_a_majority(monkeypatch):
    storage, core, drv, _, idx = await _one_held_entry(monkeypatch, 1.0)
    try:
        assert core.log.stable < idx and drv.held_writes  # nor counted towards the commit
        await _until(lambda: idx in storage.written, "the held write never happened")
        assert core.log.stable >= idx  # written, then advanced: the leader's copy counts
        assert drv.hold_stalls == 0
    finally:
        drv.close()


@pytest.mark.asyncio
async def test_a_held_write_goes_out_when_a_follower_is_gone_and_holding_stops(monkeypatch):
    monkeypatch.setattr(driver_mod, "HOLD_STALL_SECONDS", 0.03)
    monkeypatch.setattr(driver_mod, "HOLD_MAX_SECONDS", 5.0)
    storage = RecordingStorage()
    core, drv, applied, followers = await _three_nodes(storage)
    try:
        followers.down.add(3)  # silent: the leader still thinks it replicates
        t0 = time.monotonic()
        idx = await _propose_and_wait(core, drv, applied)  # leader + node 2 make the majority
        assert idx in storage.written and drv.hold_stalls == 1
        assert time.monotonic() - t0 < 2.0  # the stall limit, not the hold limit
        assert not drv._can_hold([])  # and nothing is held for a while now
        idx2 = await _propose_and_wait(core, drv, applied)
        assert idx2 in storage.written and drv.hold_stalls == 1
    finally:
        drv.close()


@pytest.mark.asyncio
async def test_a_follower_steadily_slower_than_the_other_stops_the_hold(monkeypatch):
    # Node 3 gets every message 0.15 s late, below the stall limit: while the leader holds,
    # each commit waits for it. After HOLD_LAG_REPEATS such commits the leader stops holding,
    # and its own copy commits the next entry with node 2's.
    monkeypatch.setattr(driver_mod, "HOLD_STALL_SECONDS", 5.0)
    monkeypatch.setattr(driver_mod, "HOLD_MAX_SECONDS", 5.0)
    monkeypatch.setattr(driver_mod, "HOLD_LAG_SECONDS", 0.02)
    monkeypatch.setattr(driver_mod, "HOLD_LAG_REPEATS", 2)
    storage = RecordingStorage()
    core, drv, applied, followers = await _three_nodes(storage)
    try:
        followers.delay[3] = 0.15
        lagged = [await _propose_and_wait(core, drv, applied) for _ in range(2)]
        assert all(i <= followers.cores[3].log.last_index for i in lagged)  # they waited for node 3
        await _until(lambda: drv.hold_stalls == 1, "holding did not stop")
        assert not drv._can_hold([])
        idx = await _propose_and_wait(core, drv, applied)
        assert idx in storage.written
        assert followers.cores[3].log.last_index < idx  # committed by the leader and node 2
    finally:
        drv.close()


@pytest.mark.asyncio
async def test_close_writes_what_is_held(monkeypatch):
    storage, _, drv, _, idx = await _one_held_entry(monkeypatch, 30.0)
    drv.close()
    assert idx in storage.written


@pytest.mark.asyncio
async def test_a_new_term_is_written_with_everything_held_before_it(monkeypatch):
    storage, core, drv, _, idx = await _one_held_entry(monkeypatch, 30.0)
    try:
        term = core.term
        # Node 2 has moved on to a later term: the leader steps down, and that term must be
        # durable before it answers anyone, so the write happens now, held entries first.
        drv.on_peer_batch(2, _enc.encode([encode_message(Message(type=MessageType.HEARTBEAT_RESP, to=1, from_=2,
                                                                 term=term + 1))]))
        await _until(lambda: idx in storage.written, "the held entries were not written with the new term")
        assert core.role == Role.FOLLOWER and storage.synced_term_vote[0] == term + 1
        first_of_new_term = next(call for call, t in storage.calls if t == term + 1)
        assert idx in first_of_new_term  # one write: the held entries, then the new term
    finally:
        drv.close()


class RecordingTransport:
    def __init__(self, events: list) -> None:
        self.events = events

    def send(self, peer: int, data: bytes) -> None:
        for raw in _dec.decode(data):
            m = decode_message(raw)
            self.events.append(("send", m.type, m.index))


@pytest.mark.asyncio
async def test_a_follower_acknowledges_an_append_before_applying_what_it_committed():
    # etcd's order: persist, send, apply. The acknowledgement the leader's commit waits for
    # goes out as soon as the write is done; applying the entries the same append committed
    # comes after it, and still before anything later.
    events: list = []
    core = RaftNode(Config(id=2, election_tick=1000, heartbeat_tick=1), random.Random(2),
                    bootstrap_membership=Membership(voters=frozenset({1, 2, 3})))
    drv = RaftDriver(core, RecordingStorage(), RecordingTransport(events), tick_ms=10,
                     apply=lambda ents: events.append(("apply", [e.index for e in ents])),
                     install_snapshot=lambda s: None, on_read_states=lambda rs: None,
                     on_soft_state=lambda s: None, on_fatal=lambda e: None)
    drv.start()
    try:
        base, term = core.log.last_index, core.term  # the bootstrap entries, committed

        def append(n: int, commit: int) -> None:  # the leader's n-th entry after them
            msg = Message(type=MessageType.APPEND, to=2, from_=1, term=term, log_term=term, index=base + n - 1,
                          commit=base + commit, entries=(Entry(index=base + n, term=term),))
            drv.on_peer_batch(1, _enc.encode([encode_message(msg)]))

        append(1, 0)
        await _until(lambda: ("send", MessageType.APPEND_RESP, base + 1) in events, "no acknowledgement of entry 1")
        append(2, 1)  # entry 2, and entry 1 is committed
        await _until(lambda: ("apply", [base + 1]) in events, "entry 1 was not applied")
        assert events.index(("send", MessageType.APPEND_RESP, base + 2)) < events.index(("apply", [base + 1]))
        append(3, 2)
        await _until(lambda: ("apply", [base + 2]) in events, "entry 2 was not applied")
        assert [e for e in events if e[0] == "apply" and e[1][-1] > base] == [("apply", [base + 1]), ("apply", [base + 2])]
    finally:
        drv.close()
