"""Run the same command sequence against redis-server and a Raftis node and compare replies.

Each sequence gets a fresh connection to each server after a FLUSHALL, optionally switches
both to RESP3 with ``HELLO 3``, and is sent in pipelined chunks of random length (so the
node's batching of a pipeline is exercised too).  A full scan is run on its own: the cursor
is followed to 0 on each server and the union of what came back is compared.

EXEC replies are compared element by element with the mode of each queued command; which
commands were queued is learnt from the reference's ``+QUEUED`` replies.

A sequence stops at its first difference (after that the data sets may differ and every
later reply would too); the difference is reported with the seed and the steps before it.
"""

from __future__ import annotations

import random
import shlex
from dataclasses import dataclass, field

from tests.compat.generator import SequenceGenerator, Step
from tests.compat.replies import Reply, same
from tests.compat.targets import RawConn

QUEUED = b"+QUEUED\r\n"


@dataclass
class Mismatch:
    seed: int
    position: int
    step: Step
    ours: bytes
    theirs: bytes
    context: list[str]

    def __str__(self) -> str:
        prior = "\n".join(f"      {c}" for c in self.context)
        return (f"seed {self.seed}, step {self.position}: {show(self.step.argv)} (mode {self.step.mode})\n"
                f"    redis:  {self.theirs[:300]!r}\n    raftis: {self.ours[:300]!r}\n"
                f"    steps before it:\n{prior}")


@dataclass
class Totals:
    sequences: int = 0
    commands: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)


def show(argv: list[bytes]) -> str:
    return " ".join(shlex.quote(a.decode("latin-1")) for a in argv)


def _full_scan(conn: RawConn, argv: list[bytes]) -> tuple[Reply | None, set[bytes], int]:
    """Follow the cursor to the end; returns (an error reply or None, the union, calls made)."""
    has_key = argv[0].upper() != b"SCAN"
    cursor_at = 2 if has_key else 1
    argv = list(argv)
    found: set[bytes] = set()
    calls = 0
    pair = argv[0].upper() in (b"HSCAN", b"ZSCAN")
    while True:
        r = conn.pipeline([argv])[0]
        calls += 1
        if r.kind != "*" or not isinstance(r.value, list) or len(r.value) != 2:
            return r, found, calls
        cursor, items = r.value
        elems = [i.raw for i in items.value or []]
        if pair:
            found.update(elems[i] + b"=" + elems[i + 1] for i in range(0, len(elems) - 1, 2))
        else:
            found.update(elems)
        if cursor.value == b"0" or calls > 10_000:
            return None, found, calls
        argv[cursor_at] = cursor.value


class SequenceRunner:
    """Compares one target with the reference, sequence by sequence."""

    def __init__(self, reference_port: int, target_port: int, *, host: str = "127.0.0.1",
                 context: int = 12) -> None:
        self.context = context
        self.reference_port = reference_port
        self.target_port = target_port
        self.host = host

    def run(self, seed: int, length: int, totals: Totals) -> None:
        rng = random.Random(seed * 7919 + 1)
        steps = SequenceGenerator(seed).steps(length)
        ref = RawConn(self.reference_port, self.host)
        tgt = RawConn(self.target_port, self.host)
        try:
            setup = [[b"FLUSHALL"]]
            if rng.random() < 0.5:
                setup.append([b"HELLO", b"3"])
            ref.pipeline(setup)
            tgt.pipeline(setup)
            totals.sequences += 1
            queued: list[str] | None = None
            history: list[str] = []
            i = 0
            while i < len(steps):
                if steps[i].fullscan:
                    step = steps[i]
                    err_a, a, _ = _full_scan(ref, step.argv)
                    err_b, b, calls = _full_scan(tgt, step.argv)
                    totals.commands += calls
                    ok = (err_a is None and err_b is None and a == b) or (
                        err_a is not None and err_b is not None and err_a.raw == err_b.raw)
                    if not ok:
                        totals.mismatches.append(Mismatch(
                            seed, i, step, repr(sorted(b)).encode() if err_b is None else err_b.raw,
                            repr(sorted(a)).encode() if err_a is None else err_a.raw, history[-self.context:]))
                        return
                    history.append(f"{show(step.argv)}  (full scan)")
                    i += 1
                    continue
                end = i
                limit = i + rng.randint(1, 40)
                while end < len(steps) and end < limit and not steps[end].fullscan:
                    end += 1
                chunk = steps[i:end]
                argvs = [s.argv for s in chunk]
                theirs = ref.pipeline(argvs)
                ours = tgt.pipeline(argvs)
                totals.commands += len(chunk)
                for j, (s, a, b) in enumerate(zip(chunk, theirs, ours, strict=True)):
                    name = s.argv[0].upper()
                    mode: object = s.mode
                    if name == b"EXEC" and queued is not None:
                        mode = ("exec", queued)
                    if not same(mode, a, b):
                        totals.mismatches.append(Mismatch(seed, i + j, s, b.raw, a.raw, history[-self.context:]))
                        return
                    history.append(show(s.argv))
                    # Track the reference's transaction state to know EXEC's element modes.
                    if name == b"MULTI" and a.raw == b"+OK\r\n":
                        queued = []
                    elif name in (b"EXEC", b"DISCARD", b"RESET"):
                        queued = None
                    elif queued is not None and a.raw == QUEUED:
                        queued.append(s.mode)
                i = end
        finally:
            ref.close()
            tgt.close()


def run_many(reference_port: int, target_port: int, *, commands: int, first_seed: int = 0,
             length: int = 150) -> Totals:
    """Sequences of about ``length`` steps from ``first_seed`` on until ``commands`` were sent."""
    runner = SequenceRunner(reference_port, target_port)
    totals = Totals()
    seed = first_seed
    while totals.commands < commands:
        runner.run(seed, min(length, max(commands - totals.commands, 1)), totals)
        seed += 1
    return totals


def parse_script(text: str) -> list[list[Step]]:
    """Paragraphs of steps (see ``tests/compat/scripts/regressions.txt``)."""
    blocks: list[list[Step]] = [[]]
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#"):
            continue
        if not line:
            if blocks[-1]:
                blocks.append([])
            continue
        mode = "exact"
        if line.startswith("?"):
            mode, _, line = line[1:].partition(" ")
        argv = [w.encode("utf-8", "surrogateescape").decode("unicode_escape").encode("latin-1")
                for w in shlex.split(line)]
        blocks[-1].append(Step(argv, mode))
    return [b for b in blocks if b]


def run_script(text: str, reference_port: int, target_port: int, *, resp3: bool = False) -> list[str]:
    """Run a script on both servers; the differences, described (empty when none)."""
    problems = []
    ref = RawConn(reference_port)
    tgt = RawConn(target_port)
    try:
        if resp3:
            ref.call(b"HELLO", b"3")
            tgt.call(b"HELLO", b"3")
        for block in parse_script(text):
            argvs = [s.argv for s in block]
            for s, a, b in zip(block, ref.pipeline(argvs), tgt.pipeline(argvs), strict=True):
                if not same(s.mode, a, b):
                    problems.append(f"{show(s.argv)}\n    redis:  {a.raw!r}\n    raftis: {b.raw!r}")
    finally:
        ref.close()
        tgt.close()
    return problems
