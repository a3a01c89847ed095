"""SimCluster: simulated nodes, each a RaftNode plus a driver that follows the Ready contract.

The driver here is the reference for the real one in server/driver.py: on ``ready()`` it
sends ``messages`` and applies ``committed_entries`` at once and starts persisting; when
persistence completes (possibly some steps later) it records the Ready in SimStorage,
sends ``persisted_messages`` and calls ``advance``. Up to ``pipeline`` Readys are written
at a time, completing in order (the real driver takes new Readys while an fsync runs). A
crash drops whatever was not yet recorded. Scenario tests use this class directly; simulator.py adds random faults.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from consensus.config import Config
from consensus.messages import ConfChange, ConfChangeOp, Membership, ProposalResult, Ready, Role
from consensus.node import RaftNode

from .checker import Checker, SimViolation
from .network import SimNetwork
from .storage import SimSnapshotSource, SimStorage

TICK_STEPS = 4  # simulator steps per node tick


class SimNode:
    def __init__(self, node_id: int, rng: random.Random):
        self.id = node_id
        self.rng = rng
        self.phase = rng.randrange(TICK_STEPS)
        self.tick_prob = 1.0  # < 1: a slow clock that misses ticks
        # A paused process (GC pause, SIGSTOP, overloaded host) neither ticks nor reads its
        # sockets until ``paused_until``; messages for it wait in ``held``.
        self.paused_until = 0
        self.held: list = []
        self.storage = SimStorage()
        self.node: RaftNode | None = None
        # Readys being written, oldest first: (ready, step it completes, term before its entries).
        self.persisting: list[tuple[Ready, int, int | None, bool]] = []  # (Ready, due, prev term, held)
        self.seen_vote = (0, 0)  # the durable (term, vote) the fault injector last saw
        self.applied = 0
        self.hash = 0
        self.last_commit = 0
        self.crashes = 0
        self.bootstrap: Membership | None = None  # given again on restart, like --peers

    @property
    def alive(self) -> bool:
        return self.node is not None


def snapshot_bytes(index: int, h: int, pad: int) -> bytes:
    return b"%d:%d:" % (index, h) + b"s" * pad


def parse_snapshot(data: bytes) -> tuple[int, int]:
    index, h, _ = data.split(b":", 2)
    return int(index), int(h)


class SimCluster:
    def __init__(
        self,
        rng: random.Random,
        *,
        voters: int = 3,
        learners: int = 0,
        node_cls: type[RaftNode] = RaftNode,
        config: dict | None = None,
        net: SimNetwork | None = None,
        persist_delay: tuple[int, int] = (0, 0),
        ticking: bool = True,
        pipeline: int = 4,
    ):
        self.rng = rng
        self.node_cls = node_cls
        self.config = dict(config or {})
        self.net = net or SimNetwork(rng)
        self.persist_delay = persist_delay
        self.pipeline = pipeline
        self.leader_hold = 0  # steps a leader may hold its own writes (server.driver); 0: never
        self.ticking = ticking
        self.now = 0
        self.checker = Checker()
        self.nodes: dict[int, SimNode] = {}
        self.next_id = voters + learners + 1
        self.clock_skew = 0.0  # new nodes get a tick probability in [1 - clock_skew, 1]
        # Per step and per link with an append in flight: the chance that the receiver hears
        # from the sender (its bytes arriving); 0: appends arrive whole, at once.
        self.streaming = 0.0
        self.stream_rng = random.Random(0)
        self.on_step: Callable[[], None] | None = None
        self.snapshots_installed = 0
        n = voters + learners
        boot = Membership(
            frozenset(range(1, voters + 1)), frozenset(range(voters + 1, n + 1)), {i: f"n{i}" for i in range(1, n + 1)}
        )
        for i in range(1, n + 1):
            self.add_node(i, boot)

    # --- nodes -------------------------------------------------------------------------

    def add_node(self, node_id: int, bootstrap: Membership | None = None) -> SimNode:
        sn = SimNode(node_id, random.Random(self.rng.getrandbits(64)))
        if self.clock_skew:
            sn.tick_prob = 1.0 - self.rng.random() * self.clock_skew
        self.nodes[node_id] = sn
        sn.bootstrap = bootstrap
        self._start(sn)
        return sn

    def new_node(self) -> SimNode:
        """A fresh, empty node waiting to be added to the cluster."""
        nid = self.next_id
        self.next_id += 1
        return self.add_node(nid)

    def _start(self, sn: SimNode) -> None:
        st = sn.storage
        cfg = Config(id=sn.id, **self.config)
        sn.node = self.node_cls(
            cfg,
            sn.rng,
            hard_state=st.hard_state,
            snapshot=st.snapshot,
            entries=list(st.entries),
            bootstrap_membership=sn.bootstrap,
            snapshot_source=SimSnapshotSource(st),
        )
        sn.persisting = []
        sn.last_commit = sn.node.commit
        if st.snapshot is not None:
            index, h = parse_snapshot(st.snapshot_data())
            self.checker.on_restore(sn, index, h)
        else:
            sn.applied, sn.hash = 0, 0

    def crash(self, node_id: int) -> None:
        sn = self.nodes[node_id]
        sn.node = None
        sn.persisting = []
        sn.crashes += 1
        sn.paused_until = 0
        sn.held = []

    def pause(self, node_id: int, steps: int) -> None:
        self.nodes[node_id].paused_until = self.now + steps

    def is_paused(self, node_id: int) -> bool:
        return self.nodes[node_id].paused_until > self.now

    def restart(self, node_id: int) -> None:
        sn = self.nodes[node_id]
        if sn.node is None:
            self._start(sn)

    def live(self) -> list[SimNode]:
        return [sn for sn in self.nodes.values() if sn.node is not None]

    def node(self, node_id: int) -> RaftNode:
        n = self.nodes[node_id].node
        assert n is not None, f"node {node_id} is down"
        return n

    def leader(self) -> RaftNode | None:
        """The live leader with the highest term, if any."""
        best = None
        for sn in self.live():
            n = sn.node
            if n.role == Role.LEADER and (best is None or n.term > best.term):
                best = n
        return best

    # --- client operations -------------------------------------------------------------

    def propose(self, node_id: int, datas: list[bytes]) -> ProposalResult:
        return self.node(node_id).propose(datas)

    def propose_conf_change(self, node_id: int, op: ConfChangeOp, target: int) -> ProposalResult:
        return self.node(node_id).propose_conf_change(ConfChange(op, target, f"n{target}"))

    def read(self, node_id: int, token: object) -> bool:
        self.checker.on_read_request(token)
        ok = self.node(node_id).read_index(token)
        if not ok:
            self.checker._reads.pop(token, None)
        return ok

    def compact(self, node_id: int, pad: int = 0) -> bool:
        """The node's application snapshots its state at its applied index."""
        sn = self.nodes[node_id]
        n = sn.node
        if n is None or n.applied <= n.log.snapshot_index or n.applied > n.log.stable:
            return False  # (as the server: never cut the log past what it holds durably)
        meta = n.snapshot_meta_at(n.applied)
        sn.storage.save_snapshot(meta, snapshot_bytes(meta.index, sn.hash, pad))
        n.compact(meta)
        return True

    # --- time --------------------------------------------------------------------------

    def step(self) -> None:
        self.now += 1
        self.checker.now = self.now
        leases = self.checker.lease_steps is not None
        for sn in self.live():
            if sn.held and sn.paused_until <= self.now:
                # Waking up: whatever the process had queued locally goes out before it reads
                # the messages that piled up meanwhile.
                self._drive(sn)
                held, sn.held = sn.held, []
                for m in held:
                    self._step(sn, m, leases)
        if self.ticking:
            for sn in self.live():
                if sn.paused_until > self.now:
                    continue
                if (self.now + sn.phase) % TICK_STEPS == 0:
                    if sn.tick_prob >= 1.0 or self.rng.random() < sn.tick_prob:
                        sn.node.tick()
        if self.streaming:
            # Appends with entries still on their way stand for large ones whose bytes are
            # arriving: the receiver hears from the sender (RaftNode.heard_from).
            for (src, dst), n in self.net.appends_in_flight.items():
                if n and (src, dst) not in self.net.blocked and self.stream_rng.random() < self.streaming:
                    sn = self.nodes.get(dst)
                    if sn is not None and sn.node is not None and sn.paused_until <= self.now:
                        sn.node.heard_from(src)
        for m in self.net.due(self.now):
            sn = self.nodes.get(m.to)
            if sn is not None and sn.node is not None:
                if sn.paused_until > self.now:
                    sn.held.append(m)
                else:
                    self._step(sn, m, leases)
        if self.on_step is not None:
            self.on_step()
        for sn in self.live():
            if sn.paused_until <= self.now:
                self._drive(sn)
        self.check()

    def _step(self, sn: SimNode, m, leases: bool) -> None:
        if not leases:
            sn.node.step(m)
            return
        before = self.checker.before_step(sn.node, m)
        sn.node.step(m)
        self.checker.after_step(sn.node, m, before)

    def run(self, steps: int) -> None:
        for _ in range(steps):
            self.step()

    def run_until(self, pred: Callable[[], bool], max_steps: int) -> bool:
        for _ in range(max_steps):
            if pred():
                return True
            self.step()
        return pred()

    def ticks(self, n: int) -> None:
        self.run(n * TICK_STEPS)

    def _drive(self, sn: SimNode) -> None:
        inflight = sn.persisting
        while inflight and inflight[0][1] <= self.now:
            rd, _, prev, _ = inflight.pop(0)
            self._complete(sn, rd, prev)
        for _ in range(4):
            n = sn.node
            if n is None or not n.has_ready():
                return
            if len(inflight) >= self.pipeline and sum(1 for x in inflight if not x[3]) >= self.pipeline:
                return
            rd = n.ready()
            prev = n.log.term_at(rd.entries[0].index - 1) if rd.entries else None
            for m in rd.messages:
                self.net.send(m, self.now)
            for rs in rd.read_states:
                self.checker.on_read_state(sn.id, rs)
                self.checker.on_lease_round(n, rs)
            for e in rd.committed_entries:  # durable already: applied while the rest is written
                self.checker.on_apply(sn, e)
            if not (n.needs_advance(rd) or rd.persisted_messages or rd.snapshot_chunks):
                continue
            lo, hi = self.persist_delay
            delay = self.rng.randint(lo, hi) if hi > lo else lo
            held = self.leader_hold > 0 and self._holdable(sn, rd)
            if held:
                # A leader holding its own writes (server.driver): they complete much later,
                # outside the pipeline's limit, and the core goes on meanwhile.
                delay += self.rng.randint(0, self.leader_hold)
            at = max(self.now + delay, inflight[-1][1] if inflight else 0)  # writes complete in order
            if not held:
                # A write that cannot be held takes everything held before it along.
                for i, x in enumerate(inflight):
                    if x[1] > at:
                        inflight[i] = (x[0], at, x[2], x[3])
            if at <= self.now and not inflight:
                self._complete(sn, rd, prev)
            else:
                inflight.append((rd, at, prev, held))

    @staticmethod
    def _holdable(sn: SimNode, rd: Ready) -> bool:
        """What server.driver lets a leader hold: entries and a new commit index only."""
        n = sn.node
        if n.role != Role.LEADER or rd.persisted_messages or rd.snapshot is not None or rd.snapshot_chunks:
            return False
        hs, durable = rd.hard_state, sn.storage.hard_state
        return hs is None or (hs.term, hs.vote) == (durable.term, durable.vote)

    def _complete(self, sn: SimNode, rd: Ready, prev: int | None) -> None:
        sn.storage.persist(rd)
        self.checker.on_entries(sn.node, rd.entries, prev)
        for m in rd.persisted_messages:
            self.net.send(m, self.now)
        if rd.snapshot is not None:
            index, h = parse_snapshot(sn.storage.snapshot_data())
            if index != rd.snapshot.index:
                raise SimViolation(f"node {sn.id}: snapshot data for {index} under meta {rd.snapshot.index}")
            self.checker.on_restore(sn, index, h)
            self.snapshots_installed += 1
        sn.node.advance(rd)

    def check(self) -> None:
        ck = self.checker
        for sn in self.live():
            n = sn.node
            if n.commit < sn.last_commit:
                ck.fail(f"node {sn.id} commit went back from {sn.last_commit} to {n.commit}")
            if n.role == Role.LEADER:
                ck.on_leader_commit(n, sn.last_commit)
            sn.last_commit = n.commit
            if n.applied > n.commit:
                ck.fail(f"node {sn.id} applied {n.applied} > commit {n.commit}")
            ck.record_commits(n)
            if n.role == Role.LEADER:
                ck.on_leader(n)
        if ck.leases:
            ck.check_leases({sid: sn.node for sid, sn in self.nodes.items()})
