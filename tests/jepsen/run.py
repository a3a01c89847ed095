"""Fault-injection campaigns from the command line.

    python -m tests.jepsen.run --seed 7 --duration 900 --nodes 5 --workload all --nemesis all

Prints op and fault counts and the verdicts, and exits 1 on any violation, node crash or
failure to recover, 0 otherwise. `--runs N` repeats with seeds S, S+1, ...; the report of
each run goes to ``$RAFTIS_JEPSEN_REPORTS`` (default ``reports/jepsen``)/<time>-<seed>.
"""

from __future__ import annotations

import argparse
import sys

from .campaign import CampaignConfig, run_campaign
from .nemesis import GROUPS, KINDS, parse_kinds
from .workloads import WORKLOADS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.jepsen.run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=1, help="runs with seeds seed, seed+1, ...")
    ap.add_argument("--duration", type=float, default=120.0, help="seconds of faults per run")
    ap.add_argument("--nodes", type=int, choices=(3, 5), default=3)
    ap.add_argument("--workload", default="all", help="register|list|counter|all, or a comma list")
    ap.add_argument("--nemesis", default="all",
                    help=f"all, none, or a comma list of kinds ({', '.join(KINDS)}) and groups ({', '.join(GROUPS)})")
    ap.add_argument("--clients", type=int, default=3, help="clients per workload")
    ap.add_argument("--snapshot-threshold", type=int, default=16384)
    ap.add_argument("--fault-seconds", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"))
    ap.add_argument("--quiet-seconds", type=float, nargs=2, default=(1.0, 3.0), metavar=("MIN", "MAX"))
    ap.add_argument("--overlap", type=float, default=0.3,
                    help="probability that a network fault and a process/admin fault run together")
    ap.add_argument("--unsafe-local-reads", action="store_true",
                    help="start nodes with the non-linearizable local read mode (the checker should object)")
    ap.add_argument("--lease-reads", action="store_true", help="run the nodes with --lease-reads")
    ap.add_argument("--report-dir", default="", help="report directory (only with --runs 1)")
    ap.add_argument("--keep-data", action="store_true", help="keep node data dirs of valid runs too")
    args = ap.parse_args(argv)

    workloads = list(WORKLOADS) if args.workload == "all" else [w.strip() for w in args.workload.split(",")]
    for w in workloads:
        if w not in WORKLOADS:
            ap.error(f"unknown workload {w!r}")
    try:
        nemeses = [] if args.nemesis == "none" else parse_kinds(args.nemesis)
    except ValueError as e:
        ap.error(str(e))
    failed = 0
    for seed in range(args.seed, args.seed + args.runs):
        cfg = CampaignConfig(
            seed=seed, duration=args.duration, nodes=args.nodes, workloads=workloads, nemeses=nemeses,
            report_dir=args.report_dir if args.runs == 1 else "", clients_per_workload=args.clients,
            snapshot_threshold=args.snapshot_threshold, unsafe_local_reads=args.unsafe_local_reads,
            lease_reads=args.lease_reads,
            fault_seconds=tuple(args.fault_seconds), quiet_seconds=tuple(args.quiet_seconds),
            keep_data=args.keep_data, overlap=args.overlap,
        )
        result = run_campaign(cfg)
        print(result.summary(), flush=True)
        failed += not result.valid
    if args.runs > 1:
        print(f"{args.runs - failed}/{args.runs} runs valid")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
