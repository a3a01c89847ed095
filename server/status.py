"""``raftis status HOST:PORT``: one table of every member, and what is wrong with the cluster.

It asks the given node for the members (RAFT.NODES), then every member for its own view
(RAFT.INFO); the leader's view adds each member's match index, lag, link state and time
since its last message. A cluster is healthy when every member answers, all agree on one
leader, and every member is connected to it and within ``max_lag`` entries of its log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from server.resp_client import ReplyError, RespClient


def parse_info(text: str | bytes) -> dict[str, str]:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k.strip()] = v.strip()
    return out


def parse_fields(text: str) -> dict[str, str]:
    """``id=1,role=leader,addr=h,port=1,...`` (values hold no commas)."""
    out = {}
    for part in text.split(","):
        k, _, v = part.partition("=")
        out[k] = v
    return out


@dataclass
class Member:
    node_id: int
    address: str  # host:port (client)
    info: dict[str, str] = field(default_factory=dict)
    error: str = ""
    match: str = "-"
    lag: str = "-"
    contact: str = "-"
    connected: str = "-"
    problems: list[str] = field(default_factory=list)

    @property
    def role(self) -> str:
        return self.info.get("role", "unreachable" if self.error else "?")


@dataclass
class Status:
    members: list[Member]
    leader: int
    problems: list[str]

    @property
    def healthy(self) -> bool:
        return not self.problems


def _ask_info(address: str, timeout: float, auth: tuple[str, str] | None) -> dict[str, str]:
    host, _, port = address.rpartition(":")
    with RespClient(host.strip("[]"), int(port), timeout=timeout, auth=auth) as c:
        return parse_info(c.call("RAFT.INFO"))


def collect(host: str, port: int, *, max_lag: int = 1000, timeout: float = 3.0,
            auth: tuple[str, str] | None = None) -> Status:
    with RespClient(host, port, timeout=timeout, auth=auth) as c:
        rows = c.call("RAFT.NODES")
    members = []
    for row in rows:
        nid, _role, addr = int(row[0]), row[1], row[2]
        members.append(Member(nid, addr.decode() if isinstance(addr, bytes) else str(addr)))
    for m in members:
        try:
            m.info = _ask_info(m.address, timeout, auth)
        except (OSError, ConnectionError, ReplyError, ValueError) as e:
            m.error = str(e) or type(e).__name__
    problems: list[str] = []
    leaders = {int(m.info.get("leader_id", "0") or 0) for m in members if m.info}
    claimants = [m.node_id for m in members if m.info.get("role") == "leader"]
    leader = 0
    if len(claimants) == 1 and leaders <= {claimants[0]}:
        leader = claimants[0]
    elif not claimants or leaders == {0}:
        problems.append("no leader")
    else:
        problems.append(f"members disagree about the leader (claim: {claimants}, known: {sorted(leaders)})")
    lead = next((m for m in members if m.node_id == leader), None)
    if lead is not None:
        for m in members:
            row = lead.info.get(f"node{m.node_id}")
            if not row:
                continue
            f = parse_fields(row)
            m.match, m.lag = f.get("match_index", "-"), f.get("lag", "-")
            m.connected = f.get("connected", "-")
            ms = f.get("last_contact_ms", "")
            m.contact = "-" if not ms or ms == "-1" else f"{int(ms) / 1000:.1f}s"
    for m in members:
        if m.error:
            m.problems.append("unreachable")
        elif m.info.get("state") == "failed":
            m.problems.append("storage failed")
        if lead is not None and m.node_id != leader:
            if m.connected == "no":
                m.problems.append("not connected to the leader")
            try:
                if int(m.lag) > max_lag or int(m.lag) < 0:
                    m.problems.append(f"lagging {m.lag} entries")
            except ValueError:
                pass
        for p in m.problems:
            problems.append(f"node {m.node_id}: {p}")
    return Status(members, leader, problems)


def render(status: Status) -> str:
    head = ["id", "address", "role", "term", "commit", "applied", "match", "lag", "last contact", "connected",
            "health"]
    rows = []
    for m in status.members:
        i = m.info
        rows.append([str(m.node_id), m.address, m.role, i.get("term", "-"), i.get("commit_index", "-"),
                     i.get("applied_index", "-"), m.match, m.lag, m.contact, m.connected,
                     "ok" if not m.problems else "; ".join(m.problems)])
    widths = [max(len(r[k]) for r in [head, *rows]) for k in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [line(head), line(["-" * w for w in widths])]
    out += [line(r) for r in rows]
    out.append("")
    if status.healthy:
        out.append(f"cluster healthy: leader is node {status.leader}, {len(status.members)} members")
    else:
        out.append("cluster UNHEALTHY:")
        out += [f"  - {p}" for p in status.problems]
    return "\n".join(out)


def as_dict(status: Status) -> dict[str, Any]:
    return {"leader": status.leader, "healthy": status.healthy, "problems": status.problems,
            "members": [{"id": m.node_id, "address": m.address, "role": m.role, "term": m.info.get("term"),
                         "match_index": m.match, "lag": m.lag, "last_contact": m.contact,
                         "connected": m.connected, "problems": m.problems} for m in status.members]}
