"""Randomized simulation of a Raft cluster, in the style of TigerBeetle's VOPR.

One ``random.Random(seed)`` drives everything: the fault rates themselves (swarm testing:
each seed gets its own mix), message delay, loss, duplication and reordering, symmetric
and one-way partitions, crashes and restarts (a restart keeps only what that node had
persisted), slow disks, membership changes (including removing the leader), leadership
transfers, snapshots/compaction (so followers need InstallSnapshot), client proposals and
linearizable reads, and appends that take a while to cross (their receiver hears from the
sender while they are on the way, as the server's transport reports a large frame arriving).
Invariants are checked after every step (checker.py).

After the safety phase comes a liveness phase: heal the network, restart every node, stop
injecting faults; a leader must emerge and a fresh proposal must commit and be applied on
every member within a bounded number of steps.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from consensus.config import Config
from consensus.messages import Accepted, ConfChangeOp
from consensus.node import RaftNode

from .checker import SimViolation
from .cluster import TICK_STEPS, SimCluster
from .network import SimNetwork


@dataclass
class SimResult:
    seed: int
    violation: str | None
    steps: int
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.violation is None

    def reproduce(self, variant: str | None = None) -> str:
        extra = f" --variant {variant}" if variant else ""
        return f"python -m tests.sim.run --seed {self.seed}{extra}"


@dataclass
class Swarm:
    """Fault rates drawn from the seed."""

    voters: int
    max_delay: int
    drop: float
    duplicate: float
    persist_delay: tuple[int, int]
    clock_skew: float
    config: dict
    p_propose: float
    p_read: float
    p_crash: float
    p_reboot: float
    p_pause: float
    p_restart: float
    p_partition: float
    p_heal: float
    p_conf: float
    p_transfer: float
    p_compact: float
    pipeline: int = 1

    @classmethod
    def draw(cls, rng: random.Random) -> Swarm:
        c = rng.choice
        return cls(
            voters=c([1, 3, 3, 3, 5, 5]),
            max_delay=c([1, 2, 4, 8, 12]),
            drop=c([0.0, 0.0, 0.01, 0.05, 0.2]),
            duplicate=c([0.0, 0.01, 0.1]),
            persist_delay=c([(0, 0), (0, 0), (0, 3), (1, 8)]),
            clock_skew=c([0.0, 0.0, 0.1, 0.5]),
            config=dict(
                pre_vote=c([True, True, True, False]),
                check_quorum=c([True, True, True, False]),
                max_size_per_msg=c([1, 48, 256, 1 << 20]),
                max_inflight=c([1, 2, 8, 256]),
                max_uncommitted_bytes=c([150, 1 << 20, 1 << 20]),
                snapshot_chunk_size=c([16, 64, 4096]),
                snapshot_window=c([1, 2, 4]),
            ),
            p_propose=c([0.05, 0.2, 0.5]),
            p_read=c([0.0, 0.05, 0.2]),
            p_crash=c([0.0, 0.002, 0.005, 0.02, 0.05]),
            p_reboot=c([0.0, 0.005, 0.02]),
            p_pause=c([0.0, 0.002, 0.01]),
            p_restart=c([0.01, 0.05, 0.2]),
            p_partition=c([0.0, 0.003, 0.01, 0.03]),
            p_heal=c([0.005, 0.02, 0.1]),
            p_conf=c([0.0, 0.005, 0.02]),
            p_transfer=c([0.0, 0.002, 0.01]),
            p_compact=c([0.0, 0.005, 0.03]),
            pipeline=c([1, 2, 8]),
        )


class Simulation:
    MAX_MEMBERS = 7

    def __init__(self, seed: int, node_cls: type[RaftNode] = RaftNode, safety_steps: int = 1200,
                 liveness_steps: int = 4000):
        self.seed = seed
        self.rng = rng = random.Random(seed)
        self.swarm = sw = Swarm.draw(rng)
        # Drawn apart from the main stream, so older seeds keep their schedules.
        side = random.Random(seed * 7919 + 17)
        sw.config["max_read_rounds"] = side.choice([1, 2, 1000])
        sw.config["read_round_to_quorum"] = side.choice([True, False])
        leader_hold = side.choice([0, 0, 10, 40])
        streaming = side.choice([0.0, 0.0, 0.3, 1.0])
        # Read leases need check quorum; a node then also keeps quiet after a restart for an
        # election timeout (what the server's persisted vote promise gives).
        leases = side.choice([False, True]) and sw.config["check_quorum"]
        if leases:
            sw.config["vote_quiet_ticks"] = Config(id=1).election_tick
        self.safety_steps = safety_steps
        self.liveness_steps = liveness_steps
        net = SimNetwork(rng, min_delay=1, max_delay=sw.max_delay, drop=sw.drop, duplicate=sw.duplicate)
        self.cluster = SimCluster(rng, voters=sw.voters, node_cls=node_cls, config=sw.config, net=net,
                                  persist_delay=sw.persist_delay, pipeline=sw.pipeline)
        self.cluster.clock_skew = sw.clock_skew
        if leases:
            # Half the least time a follower that answered a round refuses other candidates:
            # election_tick - 1 ticks (the first may come at once).
            self.cluster.checker.lease_steps = (Config(id=1).election_tick - 1) * TICK_STEPS // 2
        self.cluster.leader_hold = leader_hold
        self.cluster.streaming = streaming
        self.cluster.stream_rng = random.Random(seed * 104729 + 3)
        for sn in self.cluster.nodes.values():
            sn.tick_prob = 1.0 - rng.random() * sw.clock_skew
        self._payload = 0
        self.removed: set[int] = set()  # nodes a leader accepted a removal of
        self._token = 0
        self.stats = dict(proposed=0, conf_changes=0, transfers=0, compactions=0, crashes=0, pauses=0, partitions=0,
                          snapshots_installed=0)

    # --- random actions ----------------------------------------------------------------

    def _payloads(self, k: int, prefix: bytes = b"c") -> list[bytes]:
        out = []
        for _ in range(k):
            self._payload += 1
            out.append(prefix + b"%d" % self._payload)
        return out

    def act(self) -> None:
        rng, sw, cl = self.rng, self.swarm, self.cluster
        r = rng.random
        live = cl.live()
        if live and r() < sw.p_propose:
            sn = rng.choice(live)
            res = sn.node.propose(self._payloads(rng.randint(1, 5)))
            if isinstance(res, Accepted):
                self.stats["proposed"] += len(res.indexes)
        if live and r() < sw.p_read:
            self._token += 1
            cl.read(rng.choice(live).id, ("r", self._token))
        if live and r() < sw.p_crash:
            cl.crash(rng.choice(live).id)
            self.stats["crashes"] += 1
        if live and r() < sw.p_reboot:
            # A process restart: everything not yet persisted is lost, back at once.
            sn = rng.choice(live)
            cl.crash(sn.id)
            cl.restart(sn.id)
            self.stats["crashes"] += 1
        for sn in live:
            hs = sn.storage.hard_state
            cl.checker.on_durable_vote(sn.id, hs.term, hs.vote)
        if sw.p_reboot:
            # Restarts right after a node's vote for another candidate became durable: the
            # moment a forgotten vote would let it vote twice in one term.
            for sn in live:
                hs = sn.storage.hard_state
                key = (hs.term, hs.vote)
                if sn.node is not None and key != sn.seen_vote:
                    sn.seen_vote = key
                    if hs.vote not in (0, sn.id) and r() < 0.3:
                        cl.crash(sn.id)
                        cl.restart(sn.id)
                        self.stats["crashes"] += 1
        if live and r() < sw.p_pause:
            sn = rng.choice(live)
            if not cl.is_paused(sn.id):
                cl.pause(sn.id, rng.randint(10, 200))
                self.stats["pauses"] += 1
        for sn in live:
            if sn.paused_until == cl.now + 1 and r() < 0.5:
                # A client request that was waiting in the socket is the first thing the
                # process sees when it wakes up, before any message from its peers.
                self._token += 1
                cl.read(sn.id, ("r", self._token))
        if r() < sw.p_restart:
            down = [sn for sn in cl.nodes.values() if sn.node is None]
            if down:
                cl.restart(rng.choice(down).id)
        if r() < sw.p_partition:
            self._partition()
        if r() < sw.p_heal:
            cl.net.heal()
        if r() < sw.p_conf:
            self._conf_change()
        if r() < sw.p_transfer:
            lead = cl.leader()
            if lead is not None:
                voters = sorted(lead.membership.voters - {lead.id})
                if voters and lead.transfer_leadership(rng.choice(voters)):
                    self.stats["transfers"] += 1
        if live and r() < sw.p_compact:
            if cl.compact(rng.choice(live).id, pad=rng.randint(0, 300)):
                self.stats["compactions"] += 1

    def _partition(self) -> None:
        rng, net = self.rng, self.cluster.net
        ids = sorted(self.cluster.nodes)
        if len(ids) < 2:
            return
        self.stats["partitions"] += 1
        kind = rng.random()
        if kind < 0.5:
            side = set(rng.sample(ids, rng.randint(1, len(ids) - 1)))
            net.partition(side, set(ids) - side)
        elif kind < 0.8:
            a, b = rng.sample(ids, 2)
            net.block(a, b)
        else:
            net.isolate(rng.choice(ids), ids)

    def _conf_change(self) -> None:
        rng, cl = self.rng, self.cluster
        lead = cl.leader()
        if lead is None:
            return
        m = lead.membership
        members = m.voters | m.learners
        ops = []
        if len(members) < self.MAX_MEMBERS:
            ops.append("add")
        if m.learners:
            ops.append("promote")
        if len(members) > 1:
            ops.append("remove")
        op = rng.choice(ops)
        if op == "add":
            sn = cl.new_node()
            res = cl.propose_conf_change(lead.id, ConfChangeOp.ADD_LEARNER, sn.id)
            if not isinstance(res, Accepted):
                del cl.nodes[sn.id]
                return
        elif op == "promote":
            res = cl.propose_conf_change(lead.id, ConfChangeOp.PROMOTE, rng.choice(sorted(m.learners)))
        else:
            target = rng.choice(sorted(members))
            res = cl.propose_conf_change(lead.id, ConfChangeOp.REMOVE, target)
            if isinstance(res, Accepted):
                self.removed.add(target)
        if isinstance(res, Accepted):
            self.stats["conf_changes"] += 1

    # --- phases ------------------------------------------------------------------------

    def run(self) -> SimResult:
        cl = self.cluster
        try:
            for _ in range(self.safety_steps):
                self.act()
                cl.step()
            self.liveness()
            self.final_checks()
        except SimViolation as e:
            return SimResult(self.seed, str(e), cl.now, self.stats)
        except Exception as e:  # a crash of the core is a failure too, with the same seed
            import traceback

            return SimResult(self.seed, f"exception at step {cl.now}: {e!r}\n{traceback.format_exc()}",
                             cl.now, self.stats)
        return SimResult(self.seed, None, cl.now, self.stats)

    def liveness(self) -> None:
        cl = self.cluster
        cl.net.heal()
        cl.net.drop = 0.0
        cl.net.duplicate = 0.0
        for sn in cl.nodes.values():
            if sn.node is None:
                cl.restart(sn.id)
        self.decommission_removed()
        # Entries proposed but not yet committed must drain first; with one entry per message
        # and one message in flight that takes a round trip each, so the bound grows with them.
        # A lagging node catches up the same way.
        live = cl.live()
        backlog = max(sn.node.log.last_index for sn in live) - min(sn.applied for sn in live)
        per_entry = 2 * self.swarm.max_delay + 2 * self.swarm.persist_delay[1] + self.cluster.leader_hold + 4
        budget = self.liveness_steps + backlog * per_entry
        deadline = cl.now + budget
        final: list[bytes] = []
        last_try = -(10**9)
        committed = False
        read_token: object = None
        read_at = 0
        while cl.now < deadline:
            cl.step()
            lead = cl.leader()
            if lead is None:
                continue
            if not committed:
                done = [d for d in final if d in cl.checker.acked]
                if done:
                    idx = max(cl.checker.acked[d] for d in done)
                    members = lead.membership.voters | lead.membership.learners
                    committed = all(
                        cl.nodes[i].node is not None and cl.nodes[i].applied >= idx for i in members if i in cl.nodes
                    )
                if not committed and cl.now - last_try >= 60:
                    last_try = cl.now
                    batch = self._payloads(3, b"f")
                    if isinstance(lead.propose(batch), Accepted):
                        final.extend(batch)
                continue
            # Then a linearizable read must be served (retried if lost in a leader change).
            if read_token is not None and read_token not in cl.checker._reads:
                return
            if read_token is None or cl.now - read_at >= 60:
                self._token += 1
                read_token = ("final-read", self._token)
                read_at = cl.now
                if not cl.read(lead.id, read_token):
                    read_token = None
        summary = {sn.id: (sn.node.role.name, sn.node.term, sn.node.commit, sn.applied,
                           sorted(sn.node.membership.voters)) for sn in cl.live()}
        raise SimViolation(f"liveness: no leader committing and serving reads within {budget} "
                           f"steps after healing; nodes: {summary}")

    def decommission_removed(self) -> None:
        """Stop the nodes whose removal has committed, as an operator would.

        A removed node that never learnt of its removal still thinks it is a voter; without
        pre-vote and check-quorum its elections would keep deposing the real leader, which is
        Raft's known removed-server disruption, not a fault of this core.
        """
        cl = self.cluster
        # By the commit index, not the applied one: every node has just restarted, and a
        # node applies nothing until it learns the commit again.
        best = max(cl.live(), key=lambda sn: sn.node.commit)
        n = best.node
        committed = n._history.at(n.commit)
        for nid in sorted(self.removed):
            # Not a member at the commit index, nor in the newest configuration: a learner
            # added after that index whose removal was then lost is still a member.
            if nid not in committed and nid not in n.membership and cl.nodes[nid].node is not None:
                cl.crash(nid)

    def final_checks(self) -> None:
        cl = self.cluster
        ck = cl.checker
        lead = cl.leader()
        assert lead is not None
        members = lead.membership.voters | lead.membership.learners
        for i in members:
            sn = cl.nodes.get(i)
            if sn is None:
                continue
            if sn.hash != ck.hashes[sn.applied]:
                ck.fail(f"node {i} final state differs from the common sequence at {sn.applied}")
        top = cl.nodes[lead.id].applied
        for data, idx in ck.acked.items():
            if idx > top or ck.applied[idx][2] != data:
                ck.fail(f"committed payload {data!r} at {idx} is not in the final log")
        self.stats["snapshots_installed"] = cl.snapshots_installed
        self.stats["commit"] = lead.commit
        self.stats["term"] = lead.term
        self.stats["members"] = len(members)


def run_seed(seed: int, node_cls: type[RaftNode] = RaftNode, safety_steps: int = 1200,
             liveness_steps: int = 4000) -> SimResult:
    return Simulation(seed, node_cls, safety_steps, liveness_steps).run()
