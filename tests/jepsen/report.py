"""A run's report directory.

- ``history.jsonl``: one op per line in `checker.history` form, plus the workload, the node
  the client talked to and the error code (`read_history` ignores the extra fields);
- ``timeline.jsonl``: the nemesis's actions, on the history's clock;
- ``verdict.json`` and ``summary.txt``: verdicts, op and fault counts, crashes, problems;
- ``index.html``: a self-contained timeline (inline SVG, no scripts or external files) of
  every op per client and every fault;
- ``cluster/nodeN.log``: each node's log (data directories are kept only for failed runs).
"""

from __future__ import annotations

import html
import json
import math
import os
from dataclasses import asdict
from typing import Any

from .checker.history import op_to_json

MAX_DRAWN_OPS = 40000
COLOURS = {"ok": "#3a9a48", "fail": "#9aa0a6", "unknown": "#e8a317"}
FAULT_COLOURS = ["#f4cccc", "#cfe2f3", "#d9ead3", "#fff2cc", "#ead1dc", "#d0e0e3", "#fce5cd"]


def write_report(report_dir: str, result: Any, recorder: Any, timeline: list[dict[str, Any]]) -> None:
    with open(os.path.join(report_dir, "history.jsonl"), "w") as f:
        for op, extra in zip(recorder.ops, recorder.extra, strict=True):
            record = json.loads(op_to_json(op))
            record.update(extra)
            f.write(json.dumps(record, separators=(",", ":")) + "\n")
    with open(os.path.join(report_dir, "timeline.jsonl"), "w") as f:
        for event in timeline:
            f.write(json.dumps(event) + "\n")
    config = asdict(result.config)
    verdict = {"valid": result.valid, "config": config, "verdicts": result.verdicts, "ops": result.op_counts,
               "faults": result.fault_counts, "errors": result.errors, "crashes": result.crashes, "problems": result.problems}
    with open(os.path.join(report_dir, "verdict.json"), "w") as f:
        json.dump(verdict, f, indent=2, default=str)
    summary = result.summary()
    with open(os.path.join(report_dir, "summary.txt"), "w") as f:
        f.write(summary + "\n")
    with open(os.path.join(report_dir, "index.html"), "w") as f:
        f.write(render_html(result, recorder, timeline, summary))


def _fault_spans(timeline: list[dict[str, Any]], end: float) -> list[tuple[float, float, str, str]]:
    spans = []
    open_at: dict[str, tuple[float, str]] = {}
    for e in timeline:
        if e["phase"] == "start":
            if e["fault"] in open_at:  # one fault acting on several nodes: one span
                t0, detail = open_at[e["fault"]]
                open_at[e["fault"]] = (t0, detail + "; " + e.get("detail", ""))
            else:
                open_at[e["fault"]] = (e["time"], e.get("detail", ""))
        elif e["phase"] == "stop" and e["fault"] in open_at:
            t0, detail = open_at.pop(e["fault"])
            spans.append((t0, e["time"], e["fault"], detail))
    for fault, (t0, detail) in open_at.items():
        spans.append((t0, end, fault, detail))
    return spans


def render_html(result: Any, recorder: Any, timeline: list[dict[str, Any]], summary: str) -> str:
    ops = list(zip(recorder.ops, recorder.extra, strict=True))
    end = max([op.complete_time for op, _ in ops if op.complete_time != math.inf] + [e["time"] for e in timeline]
              + [1.0])
    processes = sorted({op.process for op, _ in ops})
    lane = {p: i for i, p in enumerate(processes)}
    width = max(1200, min(12000, int(end * 12)))
    lane_h = 14
    top = 40
    fault_rows = 6
    height = top + fault_rows * 16 + lane_h * len(processes) + 30
    xs = (width - 100) / end

    def x(t: float) -> float:
        return 90 + min(t, end) * xs

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-size="10" '
             f'font-family="monospace">']
    for t in range(0, int(end) + 1, max(1, int(end / 30) or 1)):
        parts.append(f'<line x1="{x(t):.1f}" y1="{top - 10}" x2="{x(t):.1f}" y2="{height}" stroke="#eee"/>'
                     f'<text x="{x(t):.1f}" y="{top - 14}">{t}s</text>')
    spans = _fault_spans(timeline, end)
    kinds = sorted({s[2] for s in spans})
    for i, (t0, t1, fault, detail) in enumerate(spans):
        colour = FAULT_COLOURS[kinds.index(fault) % len(FAULT_COLOURS)]
        row = i % fault_rows
        label = html.escape(f"{fault} [{t0:.2f}s, {t1:.2f}s] {detail}")
        parts.append(f'<rect x="{x(t0):.1f}" y="{top + fault_rows * 16}" width="{max(1, x(t1) - x(t0)):.1f}" '
                     f'height="{lane_h * len(processes)}" fill="{colour}" opacity="0.45"><title>{label}</title></rect>')
        parts.append(f'<rect x="{x(t0):.1f}" y="{top + row * 16}" width="{max(2, x(t1) - x(t0)):.1f}" height="13" '
                     f'fill="{colour}" stroke="#888"><title>{label}</title></rect>'
                     f'<text x="{x(t0) + 2:.1f}" y="{top + row * 16 + 10}">{html.escape(fault)}</text>')
    for e in timeline:
        if e["phase"] == "note":
            parts.append(f'<line x1="{x(e["time"]):.1f}" y1="{top}" x2="{x(e["time"]):.1f}" '
                         f'y2="{top + fault_rows * 16}" stroke="#c00"><title>'
                         f'{html.escape(e["fault"] + ": " + e.get("detail", ""))}</title></line>')
    base = top + fault_rows * 16
    for p in processes:
        y = base + lane[p] * lane_h
        parts.append(f'<text x="2" y="{y + 10}">p{p}</text>')
    stride = max(1, len(ops) // MAX_DRAWN_OPS)
    for i, (op, extra) in enumerate(ops):
        if stride > 1 and op.outcome == "ok" and i % stride:
            continue
        y = base + lane[op.process] * lane_h + 2
        t1 = op.complete_time if op.complete_time != math.inf else end
        w = max(1.0, x(t1) - x(op.invoke_time))
        out = "" if op.output is None else f" -> {op.output if len(str(op.output)) < 80 else str(op.output)[:80]}"
        tip = html.escape(f"p{op.process} {extra['workload']} {op.kind} {op.key} {op.value}{out} {op.outcome} "
                          f"node {extra['node']} {extra['error']} [{op.invoke_time:.3f}, {t1:.3f}]")
        parts.append(f'<rect x="{x(op.invoke_time):.1f}" y="{y}" width="{w:.1f}" height="10" '
                     f'fill="{COLOURS[op.outcome]}"><title>{tip}</title></rect>')
    parts.append("</svg>")
    events = "\n".join(f"<tr><td>{e['time']:.3f}</td><td>{html.escape(e['fault'])}</td><td>{e['phase']}</td>"
                       f"<td>{html.escape(str(e.get('detail', '')))}</td></tr>" for e in timeline)
    verdict = "VALID" if result.valid else "INVALID"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Raftis fault run {result.config.seed}: {verdict}</title>
<style>
body {{ font-family: sans-serif; margin: 1em; }}
pre {{ background: #f6f6f6; padding: .5em; white-space: pre-wrap; }}
table {{ border-collapse: collapse; font-size: 12px; }} td {{ border: 1px solid #ddd; padding: 2px 6px; }}
.scroll {{ overflow-x: auto; border: 1px solid #ccc; }}
.legend span {{ display: inline-block; padding: 0 6px; margin-right: 6px; color: #fff; }}
</style></head><body>
<h1>Raftis fault run, seed {result.config.seed}: <span style="color:{'#3a9a48' if result.valid else '#c00'}">{verdict}</span></h1>
<pre>{html.escape(summary)}</pre>
<p class="legend">ops: <span style="background:{COLOURS['ok']}">ok</span><span style="background:{COLOURS['fail']}">fail</span>
<span style="background:{COLOURS['unknown']}">unknown (drawn to the end)</span> &middot; shaded bands: faults
(hover for details) &middot; red ticks: nemesis notes{' &middot; some ok ops omitted to keep the page small' if len(ops) > MAX_DRAWN_OPS else ''}</p>
<div class="scroll">{''.join(parts)}</div>
<h2>Fault timeline</h2>
<table><tr><td>time (s)</td><td>fault</td><td>phase</td><td>detail</td></tr>
{events}
</table>
</body></html>
"""
