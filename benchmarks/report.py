"""Medians over repeats, ratios, and the table printed at the end of a run."""

from __future__ import annotations

import statistics
from collections.abc import Iterable

from benchmarks.matrix import MEMORY_TARGET, SECTIONS, Row


def summarise(rows: Iterable[Row], runs: list[dict[str, dict]]) -> list[dict]:
    """One dict per row: medians of its measurements over ``runs`` (one dict of row id ->
    LoadResult json per repeat) and the median of the per-repeat ratios to its baseline."""
    out = []
    for row in rows:
        samples = [run[row.id] for run in runs if row.id in run]
        entry: dict = {
            "id": row.id, "section": row.section, "workload": row.workload.label, "system": row.system,
            "baseline": row.baseline_id, "repeats": len(samples),
        }
        for k in ("ops", "avg_ms", "p50_ms", "p99_ms", "max_ms"):
            entry[k] = statistics.median(s[k] for s in samples) if samples else None
        ratios = [run[row.id]["ops"] / run[row.baseline_id]["ops"]
                  for run in runs if row.baseline_id and row.id in run and row.baseline_id in run]
        entry["ratio"] = statistics.median(ratios) if ratios else None
        entry["ratio_runs"] = ratios
        entry["target"] = row.target
        entry["meets_target"] = (None if row.target is None or entry["ratio"] is None
                                 else entry["ratio"] >= row.target)
        out.append(entry)
    return out


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def _verdict(target: float | None, met: bool | None, at_least: bool = True) -> str:
    if target is None:
        return ""
    bound = f"{'>=' if at_least else '<='}{target:g}"
    return bound if met is None else f"{bound} {'met' if met else 'missed'}"


def table(summary: list[dict]) -> str:
    head = (f"{'workload':<9} {'system':<30} {'ops/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'ratio':>7} "
            f"{'target':<13} vs")
    lines = []
    for section, title in SECTIONS.items():
        lines += ["", title, head, "-" * len(head)]
        for e in summary:
            if e["section"] != section:
                continue
            vs = e["baseline"] or ""
            lines.append(f"{e['workload']:<9} {e['system']:<30} {_fmt(e['ops'], ',.0f'):>10} "
                         f"{_fmt(e['p50_ms'], '.3f'):>8} {_fmt(e['p99_ms'], '.3f'):>8} "
                         f"{_fmt(e['ratio'], '.3f'):>7} {_verdict(e['target'], e['meets_target']):<13} {vs}")
    return "\n".join(lines)


def meets_memory_target(costs: dict) -> bool:
    """Whether Raftis's memory per key in ``costs`` (keyspace_costs.measure's result) is
    within ``MEMORY_TARGET`` times redis-server's."""
    return costs["ratios"]["bytes_per_key"] <= MEMORY_TARGET


def keyspace_table(costs: dict) -> str:
    r, b, q = costs["raftis"], costs["redis"], costs["ratios"]
    mib = 1024 * 1024
    rows = [
        ("bulk load ops/s (pipelined)", f"{r['load_ops']:,.0f}", f"{b['load_ops']:,.0f}", ""),
        ("RSS loaded (MiB)", f"{r['rss_loaded'] / mib:.1f}", f"{b['rss_loaded'] / mib:.1f}", ""),
        ("bytes/key (loaded)", f"{r['bytes_per_key']:.0f}", f"{b['bytes_per_key']:.0f}",
         f"{q['bytes_per_key']:.2f}", _verdict(MEMORY_TARGET, meets_memory_target(costs), at_least=False)),
        ("bytes/key (after restart, no log)", f"{r['bytes_per_key_after_restart']:.0f}",
         f"{b['bytes_per_key']:.0f}", f"{q['bytes_per_key_after_restart']:.2f}"),
        ("RSS after snapshot (MiB)", f"{r['rss_after_snapshot'] / mib:.1f}", "", ""),
        ("snapshot s (client)", f"{r['snapshot_s']:.2f}", f"{b['snapshot_s']:.2f}", f"{q['snapshot_s']:.2f}"),
        ("snapshot s (node log)", f"{r['snapshot_node_reported_s']:.2f}", "", ""),
        ("restart: accepting s", f"{r['restart_accepting_s']:.2f}", "", ""),
        ("restart: serving last key s", f"{r['restart_serving_s']:.2f}", f"{b['restart_serving_s']:.2f}",
         f"{q['restart_serving_s']:.2f}"),
    ]
    head = f"{'at ' + format(costs['keys'], ',') + ' keys':<36} {'raftis-1':>10} {'redis':>10} {'ratio':>7}"
    lines = ["", "Keyspace costs (redis: no persistence, BGSAVE, dump.rdb restart)", head, "-" * len(head)]
    lines += [f"{a:<36} {x:>10} {y:>10} {z:>7}  {verdict[0] if verdict else ''}".rstrip()
              for a, x, y, z, *verdict in rows]
    return "\n".join(lines)
