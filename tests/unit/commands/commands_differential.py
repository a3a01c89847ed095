"""Run a script of commands against redis-server and the in-process executor and compare
the encoded replies byte for byte.

Script lines are shell-quoted commands.  A line may start with a marker:
``?sort`` compare arrays ignoring order, ``?approx`` integers within 100 (clock skew between
the two), ``?same-shape`` only check that both replies are of the same RESP type,
``?ours`` run only on the executor (commands redis 7.0 lacks), ``?redis`` only on redis.
"""

from __future__ import annotations

import shlex

import hiredis
from commands_harness import LocalExecutor


def _decode(data: bytes):
    r = hiredis.Reader()
    r.feed(data)
    try:
        return r.gets()
    except hiredis.ReplyError as e:  # pragma: no cover - errors come back as objects
        return e


def _unescape(word: str) -> bytes:
    return word.encode("utf-8", "surrogateescape").decode("unicode_escape").encode("latin-1")


def _sorted(x):
    if isinstance(x, list):
        return sorted((_sorted(i) for i in x), key=repr)
    return x


def parse_script(script: str) -> list[tuple[int, str, list[bytes]]]:
    """(line number, marker, argv) for each command line."""
    out = []
    for lineno, raw in enumerate(script.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        mode = ""
        if line.startswith("?"):
            mode, _, line = line.partition(" ")
        out.append((lineno, mode, [_unescape(w) for w in shlex.split(line)]))
    return out


def run_script(script: str | list[tuple[int, str, list[bytes]]], redis_client, executor) -> list[str]:
    """Returns a list of mismatch descriptions (empty when everything matched).  ``script`` is
    text (see the module docstring) or already parsed entries."""
    problems: list[str] = []
    entries = parse_script(script) if isinstance(script, str) else script
    for lineno, mode, args in entries:
        line = b" ".join(args).decode("latin-1")
        if mode == "?ours":
            executor.wire(*args)
            continue
        if mode == "?redis":
            redis_client.call(*args)
            continue
        theirs = redis_client.call(*args)
        ours = executor.wire(*args)
        if theirs == ours:
            continue
        if mode == "?sort" and _sorted(_decode(theirs)) == _sorted(_decode(ours)):
            continue
        if mode == "?approx":
            a, b = _decode(theirs), _decode(ours)
            if isinstance(a, int) and isinstance(b, int) and abs(a - b) <= 100:
                continue
        if mode == "?same-shape" and theirs[:1] == ours[:1]:
            continue
        problems.append(f"line {lineno}: {line!r}\n    redis: {theirs!r}\n    ours:  {ours!r}")
    return problems


def against_redis(redis_server, script, *, resp3: bool = False, executor=None, before=(), check=None) -> list[str]:
    """``script`` on redis-server (flushed first and after) and on ``executor`` (a new
    ``LocalExecutor`` by default), both in RESP3 after HELLO 3 when ``resp3``; the mismatches
    ``check`` (``run_script`` by default) finds.  ``before``: commands redis-server gets
    first (state that outlives FLUSHALL, such as scripts)."""
    client = redis_server.client()
    ex = executor if executor is not None else LocalExecutor()
    try:
        client.call("FLUSHALL")
        for argv in before:
            client.call(*argv)
        if resp3:
            client.call("HELLO", "3")
            ex.run("HELLO", "3")
        return (check or run_script)(script, client, ex)
    finally:
        client.call("FLUSHALL")
        client.close()
