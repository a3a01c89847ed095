"""Log output: one line per event, as text or JSON, each carrying the node id and the
current Raft term.

Text::

    2026-11-26T16:45:01.123Z node=1 term=3 INFO raftis.raft: node 1: leader is now 2 (term 3)

JSON (``--log-format json``), one object per line::

    {"ts": "2026-11-26T16:45:01.123Z", "level": "info", "logger": "raftis.raft", "node": 1,
     "term": 3, "msg": "node 1: leader is now 2 (term 3)"}

Nothing is logged per command at the default level (info); commands show up only in the
SLOWLOG and the statistics.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable

LEVELS = ("debug", "info", "warning", "error")


class NodeContext(logging.Filter):
    """Adds ``node`` and ``term`` to every record."""

    def __init__(self, node_id: int, term: Callable[[], int] | None = None) -> None:
        super().__init__()
        self.node_id = node_id
        self.term = term

    def filter(self, record: logging.LogRecord) -> bool:
        record.node = self.node_id
        term = 0
        if self.term is not None:
            try:
                term = self.term()
            except Exception:  # noqa: BLE001 - logging must never fail
                term = 0
        record.term = term
        return True


def _utc(record: logging.LogRecord) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = (f"{_utc(record)} node={getattr(record, 'node', '-')} term={getattr(record, 'term', 0)} "
                f"{record.levelname} {record.name}: {record.getMessage()}")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        obj = {
            "ts": _utc(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "node": getattr(record, "node", None),
            "term": getattr(record, "term", 0),
            "msg": record.getMessage(),
        }
        if record.exc_info:
            obj["exc"] = self.formatException(record.exc_info)
        return json.dumps(obj, separators=(",", ":"))


_context: NodeContext | None = None


def configure(node_id: int, level: str = "info", fmt: str = "text") -> NodeContext:
    """Send every log record to stderr in the chosen format; returns the context filter so
    the caller can tell it where the term comes from once the node is up."""
    global _context
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    _context = NodeContext(node_id)
    handler.addFilter(_context)
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    return _context


def follow_term(term: Callable[[], int]) -> None:
    if _context is not None:
        _context.term = term
