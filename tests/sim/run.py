"""Command line: run simulator seeds and print a reproduction command for each failure.

    python -m tests.sim.run --seeds 20000            # seeds 0..19999
    python -m tests.sim.run --seed 1234              # one seed, verbose
    python -m tests.sim.run --seeds 500 --start 1000
    python -m tests.sim.run --seeds 200 --variant commit-old-term   # a deliberately broken core
"""

from __future__ import annotations

import argparse
import sys
import time

from .broken import VARIANTS
from .simulator import run_seed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.sim.run")
    p.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    p.add_argument("--start", type=int, default=0, help="first seed")
    p.add_argument("--seed", type=int, help="run just this seed and print its statistics")
    p.add_argument("--steps", type=int, default=1200, help="steps in the safety phase")
    p.add_argument("--liveness-steps", type=int, default=4000)
    p.add_argument("--variant", choices=sorted(VARIANTS), help="run a deliberately broken core")
    p.add_argument("--max-failures", type=int, default=10)
    args = p.parse_args(argv)

    node_cls = VARIANTS[args.variant] if args.variant else None
    seeds = [args.seed] if args.seed is not None else range(args.start, args.start + args.seeds)
    failures = 0
    t0 = time.monotonic()
    total = 0
    for seed in seeds:
        kw = {"node_cls": node_cls} if node_cls else {}
        res = run_seed(seed, safety_steps=args.steps, liveness_steps=args.liveness_steps, **kw)
        total += 1
        if args.seed is not None:
            print(f"seed {seed}: steps={res.steps} stats={res.stats}")
        if not res.ok:
            failures += 1
            print(f"FAIL seed {seed}: {res.violation}")
            print(f"  reproduce: {res.reproduce(args.variant)}")
            if failures >= args.max_failures:
                print("too many failures, stopping")
                break
        elif total % 500 == 0:
            print(f"... {total} seeds, {failures} failures, {time.monotonic() - t0:.0f}s", flush=True)
    dt = time.monotonic() - t0
    print(f"{total} seeds, {failures} failures, {dt:.1f}s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
