"""Faults, each a start and a heal, and the schedule that injects them.

Process faults act on PIDs the harness started (SIGKILL, SIGSTOP/SIGCONT, power loss);
network faults set per-link behaviour in the proxies (`proxy.NetworkFaults`); cluster
faults go through the RAFT.* admin commands. Every action is written to the timeline with
the time on the history's clock, so the report can draw both together.

The schedule cycles through a seeded shuffle of the enabled kinds, so a run of a few
cycles injects every kind; each fault lasts a random few seconds (optionally together with
a fault of the other family: network with process), then everything is healed and the
cluster gets a short quiet spell before the next one.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import Any

import redis

from .cluster import JepsenCluster, leader_or_none, wait_for
from .proxy import LinkFaults, ProxyFabric

KINDS = [
    "kill", "kill-leader", "kill-majority", "power-loss", "power-loss-all", "pause", "pause-leader",
    "partition-leader", "partition-halves", "partition-bridge", "partition-oneway",
    "delay", "loss", "duplicate", "reorder", "reset",
    "remove-readd", "replace", "grow-shrink", "transfer-leader", "snapshot",
]

GROUPS = {
    "process": ["kill", "kill-leader", "kill-majority", "power-loss", "power-loss-all", "pause", "pause-leader"],
    "partition": ["partition-leader", "partition-halves", "partition-bridge", "partition-oneway"],
    "network": ["delay", "loss", "duplicate", "reorder", "reset"],
    "membership": ["remove-readd", "replace", "grow-shrink"],
    "admin": ["transfer-leader", "snapshot"],
}


def parse_kinds(spec: str) -> list[str]:
    """'all', or a comma list of kinds and group names."""
    out: list[str] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if part == "all":
            out += KINDS
        elif part in GROUPS:
            out += GROUPS[part]
        elif part in KINDS:
            out.append(part)
        else:
            raise ValueError(f"unknown nemesis {part!r}; kinds: {', '.join(KINDS)}; groups: {', '.join(GROUPS)}")
    return list(dict.fromkeys(out))


class Nemesis:
    def __init__(self, cluster: JepsenCluster, fabric: ProxyFabric, rng: random.Random,
                 now: Callable[[], float]) -> None:
        self.c = cluster
        self.fabric = fabric
        self.rng = rng
        self.now = now
        self.timeline: list[dict[str, Any]] = []
        self.expected_down: set[int] = set()
        self.crashes: list[dict[str, Any]] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()

    # -- bookkeeping --------------------------------------------------------------------------
    def log(self, fault: str, phase: str, detail: str = "") -> None:
        with self.lock:
            self.timeline.append({"time": self.now(), "fault": fault, "phase": phase, "detail": detail})

    def check_crashes(self) -> None:
        """A member that exited without the nemesis killing it is a crash."""
        for nid in self.c.members():
            nd = self.c.nodes[nid]
            if nid in self.expected_down or nd.proc is None:
                continue
            code = nd.proc.poll()
            if code is not None:
                self.crashes.append({"time": self.now(), "node": nid, "exit_code": code, "log_tail": self.c.tail(nid)})
                self.log("crash", "note", f"node {nid} exited with {code}")
                self.expected_down.add(nid)  # report once; the heal restarts it

    def _live(self) -> list[int]:
        return [n for n in self.c.live() if n not in self.expected_down]

    def _leader(self) -> int | None:
        return leader_or_none(self.c)

    def _leader_or_random(self) -> int:
        lead = self._leader()
        return lead if lead is not None else self.rng.choice(self._live())

    def _restart(self, nid: int) -> None:
        if not self.c.nodes[nid].alive:
            self.c.start_node(nid)
        try:
            self.c.wait_serving(nid, timeout=30)
        except (TimeoutError, RuntimeError) as e:
            self.log("restart", "note", f"node {nid} did not come back: {e}")
        self.expected_down.discard(nid)

    # -- the faults: each returns its heal ----------------------------------------------------
    def start(self, kind: str) -> Callable[[], None]:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return getattr(self, "_" + kind.replace("-", "_"))()

    def _kill_nodes(self, kind: str, victims: list[int], power: bool) -> Callable[[], None]:
        cuts: dict[int, list[str]] = {}
        for nid in victims:
            self.expected_down.add(nid)
            if power or (kind == "kill-majority" and self.rng.random() < 0.5):
                cuts[nid] = self.c.power_loss(nid, self.rng)
                self.log(kind, "start", f"power loss on node {nid}; cut {cuts[nid] or 'nothing'}")
            else:
                self.c.kill(nid)
                self.log(kind, "start", f"SIGKILL node {nid}")

        def heal() -> None:
            for nid in victims:
                self._restart(nid)
            self.log(kind, "stop", f"restarted {victims}")

        return heal

    def _kill(self) -> Callable[[], None]:
        return self._kill_nodes("kill", [self.rng.choice(self._live())], False)

    def _kill_leader(self) -> Callable[[], None]:
        return self._kill_nodes("kill-leader", [self._leader_or_random()], False)

    def _kill_majority(self) -> Callable[[], None]:
        live = self._live()
        n = len(self.c.members()) // 2 + 1
        return self._kill_nodes("kill-majority", self.rng.sample(live, min(n, len(live))), False)

    def _power_loss(self) -> Callable[[], None]:
        victim = self._leader_or_random() if self.rng.random() < 0.5 else self.rng.choice(self._live())
        return self._kill_nodes("power-loss", [victim], True)

    def _power_loss_all(self) -> Callable[[], None]:
        return self._kill_nodes("power-loss-all", self._live(), True)

    def _pause_node(self, kind: str, nid: int) -> Callable[[], None]:
        self.expected_down.add(nid)
        self.c.pause(nid)
        self.log(kind, "start", f"SIGSTOP node {nid}")

        def heal() -> None:
            self.c.resume(nid)
            self.expected_down.discard(nid)
            self.log(kind, "stop", f"SIGCONT node {nid}")

        return heal

    def _pause(self) -> Callable[[], None]:
        return self._pause_node("pause", self.rng.choice(self._live()))

    def _pause_leader(self) -> Callable[[], None]:
        return self._pause_node("pause-leader", self._leader_or_random())

    def _net_heal(self, kind: str) -> Callable[[], None]:
        def heal() -> None:
            self.fabric.faults.heal()
            self.log(kind, "stop", "network healed")

        return heal

    def _partition(self, kind: str, groups: list[list[int]]) -> Callable[[], None]:
        self.fabric.faults.partition(groups, self.c.members())
        self.log(kind, "start", " | ".join(",".join(map(str, sorted(g))) for g in groups))
        return self._net_heal(kind)

    def _partition_leader(self) -> Callable[[], None]:
        lead = self._leader_or_random()
        return self._partition("partition-leader", [[lead], [n for n in self.c.members() if n != lead]])

    def _partition_halves(self) -> Callable[[], None]:
        members = self.c.members()
        self.rng.shuffle(members)
        k = len(members) // 2
        return self._partition("partition-halves", [members[:k], members[k:]])

    def _partition_bridge(self) -> Callable[[], None]:
        members = self.c.members()
        self.rng.shuffle(members)
        bridge = members[0]
        rest = members[1:]
        half = len(rest) // 2
        left, right = rest[:half], rest[half:]
        cut = {}
        for a in left:
            for b in right:
                cut[(a, b)] = cut[(b, a)] = LinkFaults(drop=True)
        self.fabric.faults.set_links(cut)
        self.log("partition-bridge", "start", f"{','.join(map(str, left))} | {','.join(map(str, right))}, "
                                              f"node {bridge} sees both")
        return self._net_heal("partition-bridge")

    def _partition_oneway(self) -> Callable[[], None]:
        lead = self._leader_or_random()
        others = [n for n in self.c.members() if n != lead]
        if self.rng.random() < 0.5:
            links = {(lead, n): LinkFaults(drop=True) for n in others}
            what = f"node {lead} cannot send to the others (it still hears them)"
        else:
            links = {(n, lead): LinkFaults(drop=True) for n in others}
            what = f"node {lead} hears nobody (the others still hear it)"
        self.fabric.faults.set_links(links)
        self.log("partition-oneway", "start", what)
        return self._net_heal("partition-oneway")

    def _link_default(self, kind: str, faults: LinkFaults) -> Callable[[], None]:
        self.fabric.faults.set_default(faults)
        self.log(kind, "start", repr(faults))
        return self._net_heal(kind)

    def _delay(self) -> Callable[[], None]:
        d = self.rng.choice([0.02, 0.05, 0.1])
        return self._link_default("delay", LinkFaults(delay=d, jitter=d))

    def _loss(self) -> Callable[[], None]:
        return self._link_default("loss", LinkFaults(loss=self.rng.choice([0.05, 0.2, 0.4])))

    def _duplicate(self) -> Callable[[], None]:
        return self._link_default("duplicate", LinkFaults(duplicate=self.rng.choice([0.1, 0.3, 0.5])))

    def _reorder(self) -> Callable[[], None]:
        return self._link_default("reorder", LinkFaults(reorder=self.rng.choice([0.1, 0.3, 0.5]),
                                                        jitter=0.01))

    def _reset(self) -> Callable[[], None]:
        n = self.fabric.reset_connections()
        self.log("reset", "start", f"reset {n} peer connections")

        def heal() -> None:
            m = self.fabric.reset_connections()
            self.log("reset", "stop", f"reset {m} peer connections again")

        return heal

    def _admin(self, kind: str, *argv: Any, timeout: float = 30.0) -> Any:
        try:
            reply = self.c.admin(*argv, timeout=timeout)
            self.log(kind, "note", f"{' '.join(map(str, argv))} -> {reply!r}")
            return reply
        except (RuntimeError, redis.RedisError) as e:
            self.log(kind, "note", f"{' '.join(map(str, argv))} failed: {e}")
            return e

    def _transfer_leader(self) -> Callable[[], None]:
        lead = self._leader()
        targets = [n for n in self._live() if n != lead]
        target = self.rng.choice(targets) if targets and self.rng.random() < 0.7 else None
        argv = ["RAFT.TRANSFERLEADER"] + ([target] if target else [])
        self.log("transfer-leader", "start", f"leader {lead} -> {target or 'most up-to-date'}")
        self._admin("transfer-leader", *argv)
        return lambda: self.log("transfer-leader", "stop")

    def _snapshot(self) -> Callable[[], None]:
        self.log("snapshot", "start", "RAFT.SNAPSHOT on every live node")
        for nid in self._live():
            try:
                self.c.nodes[nid].client(socket_timeout=30).execute_command("RAFT.SNAPSHOT")
            except redis.RedisError as e:
                self.log("snapshot", "note", f"node {nid}: {e}")
        return lambda: self.log("snapshot", "stop")

    def _remove(self, kind: str, nid: int) -> bool:
        """Remove `nid` from the cluster; once the change is committed, stop it for good."""
        reply = self._admin(kind, "RAFT.REMOVENODE", nid)
        if isinstance(reply, Exception):
            return False
        self.expected_down.add(nid)
        self.c.kill(nid)
        self.c.retired.add(nid)
        self.fabric.faults.heal()
        return True

    def _wait_voter(self, kind: str, nid: int, timeout: float = 30.0) -> bool:
        try:
            wait_for(lambda: self.c.is_voter(nid), timeout, interval=0.2, what=f"node {nid} to become a voter")
            self.log(kind, "note", f"node {nid} is a voter")
            return True
        except TimeoutError as e:
            self.log(kind, "note", str(e))
            return False

    def _remove_readd(self) -> Callable[[], None]:
        victim = self.rng.choice(self._live())
        self.log("remove-readd", "start", f"remove node {victim}, then re-add it with an empty data dir")
        if not self._remove("remove-readd", victim):
            return lambda: self.log("remove-readd", "stop", "removal failed; nothing to re-add")

        def heal() -> None:
            self.c.wipe(victim)
            self.c.add_fresh(victim)
            self.expected_down.discard(victim)
            self._wait_voter("remove-readd", victim)
            self.log("remove-readd", "stop", f"node {victim} re-added")

        return heal

    def _add_then_remove(self, kind: str, pick_victim: Callable[[], int]) -> Callable[[], None]:
        new = self.c.add_fresh(via=self.rng.choice(self._live()))
        self.log(kind, "start", f"node {new} joins")
        joined = self._wait_voter(kind, new)

        def heal() -> None:
            if not joined and not self._wait_voter(kind, new, 15):
                self.log(kind, "stop", f"node {new} never became a voter; nothing removed")
                return
            victim = pick_victim()
            if victim == new:
                victim = self.rng.choice([n for n in self._live() if n != new])
            ok = self._remove(kind, victim)
            self.log(kind, "stop", f"node {victim} {'removed' if ok else 'not removed'}")

        return heal

    def _replace(self) -> Callable[[], None]:
        return self._add_then_remove("replace", lambda: self.rng.choice(self._live()))

    def _grow_shrink(self) -> Callable[[], None]:
        return self._add_then_remove("grow-shrink", self._leader_or_random)

    # -- schedule -----------------------------------------------------------------------------
    def heal_all(self) -> None:
        """Undo everything: network healed, paused nodes resumed, killed members restarted."""
        self.fabric.faults.heal()
        for nid in self.c.members():
            self.c.resume(nid)
        for nid in self.c.members():
            if not self.c.nodes[nid].alive:
                self._restart(nid)
        self.expected_down = {n for n in self.expected_down if n not in self.c.members()}

    def run(self, kinds: list[str], until: float, stop: threading.Event,
            fault_seconds: tuple[float, float] = (2.0, 5.0), quiet_seconds: tuple[float, float] = (1.0, 2.5),
            cycles: int = 0, overlap: float = 0.0) -> None:
        """Inject faults until `until` (monotonic clock), or, if `cycles` is set, exactly that
        many passes over `kinds`, whatever the time. With probability `overlap` a fault gets
        company: a network fault joins a process or admin fault, and the other way round."""
        cycle: list[str] = []
        done = 0
        while not stop.is_set():
            if not cycle:
                if (cycles and done == cycles) or (not cycles and time.monotonic() >= until):
                    break
                cycle = list(kinds)
                self.rng.shuffle(cycle)
                done += 1
            elif not cycles and time.monotonic() >= until:
                break
            kind = cycle.pop()
            self.check_crashes()
            active = [kind]
            if overlap and self.rng.random() < overlap:
                company = self._company(kind, kinds)
                if company:
                    active.append(company)
            heals: list[tuple[str, Callable[[], None]]] = []
            for k in active:
                try:
                    heals.append((k, self.start(k)))
                except Exception as e:  # noqa: BLE001 - a nemesis bug must not hide the history
                    self.log(k, "note", f"could not start: {e!r}")
            self._sleep(self.rng.uniform(*fault_seconds), stop)
            self.check_crashes()
            for k, heal in reversed(heals):
                try:
                    heal()
                except Exception as e:  # noqa: BLE001
                    self.log(k, "note", f"heal failed: {e!r}")
            self.heal_all()
            self._sleep(self.rng.uniform(*quiet_seconds), stop)

    def _company(self, kind: str, kinds: list[str]) -> str | None:
        net = set(GROUPS["network"] + GROUPS["partition"])
        other = set(GROUPS["process"] + GROUPS["admin"])
        pool = [k for k in kinds if (k in other if kind in net else k in net if kind in other else False)]
        return self.rng.choice(pool) if pool else None

    def _sleep(self, seconds: float, stop: threading.Event) -> None:
        end = time.monotonic() + seconds
        while not stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(0.2, left))
            self.check_crashes()
