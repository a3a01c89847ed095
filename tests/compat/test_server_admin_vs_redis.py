"""Server and admin commands on a real node next to redis-server 7.0: MEMORY's reports, with
the same field names and reply types (the figures are this process's own)."""

from __future__ import annotations

import pytest
import redis

from tests.compat.targets import RawConn


def _keys_of_stats(reply) -> list[bytes]:
    flat = reply.value
    return [flat[i].value for i in range(0, len(flat), 2)]


def test_memory_stats_has_redis_fields(single_node, redis_server):
    ours, ref = RawConn(single_node.nodes[1].port), RawConn(redis_server.port)
    try:
        for c in (ours, ref):
            c.call("SET", "memory-stats-key", "v")
        mine, theirs = ours.call("MEMORY", "STATS"), ref.call("MEMORY", "STATS")
        assert mine.kind == theirs.kind == "*"
        assert [k for k in _keys_of_stats(mine) if not k.startswith(b"db.")] == [
            k for k in _keys_of_stats(theirs) if not k.startswith(b"db.")]
        assert b"db.0" in _keys_of_stats(mine)
        stats = dict(zip(_keys_of_stats(mine), mine.value[1::2], strict=True))
        assert stats[b"keys.count"].value >= 1 and stats[b"total.allocated"].value > 0
        for c in (ours, ref):
            c.call("HELLO", "3")
        assert ours.call("MEMORY", "STATS").kind == ref.call("MEMORY", "STATS").kind == "%"
    finally:
        ours.call("DEL", "memory-stats-key")
        ref.call("DEL", "memory-stats-key")
        ours.close()
        ref.close()


def test_memory_doctor_purge_malloc_stats(single_node):
    r = single_node.nodes[1].client()
    r.set("memory-doctor-key", "v")
    text = r.execute_command("MEMORY", "DOCTOR")
    assert b"Sam" in text
    r.delete("memory-doctor-key")
    assert r.execute_command("MEMORY", "PURGE") in (True, b"OK")
    assert isinstance(r.execute_command("MEMORY", "MALLOC-STATS"), bytes)
    assert r.memory_usage("nosuch") is None
    r.rpush("memory-usage-list", *range(100))
    assert r.memory_usage("memory-usage-list") > r.memory_usage("memory-usage-list", samples=1) // 2 > 0
    r.delete("memory-usage-list")
    with pytest.raises(redis.ResponseError, match="^syntax error$"):
        r.execute_command("MEMORY", "USAGE", "x", "SAMPLES", "-1")
