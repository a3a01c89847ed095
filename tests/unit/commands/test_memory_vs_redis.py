"""MEMORY USAGE against redis-server 7.0: replies of the same type (the figures are estimates,
see server/commands/memory.py) and the same errors; the estimate's growth with the value."""

from __future__ import annotations

import pytest
from commands_differential import against_redis

from server.commands.memory import key_bytes, value_bytes
from server.keyspace import Hash, List

SCRIPT = r"""
set k v
set big xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
rpush l a b c
hset h f v g w
sadd s 1 2 3
zadd z 1 a 2 b
?same-shape memory usage k
?same-shape memory usage big
?same-shape memory usage l
?same-shape memory usage l samples 0
?same-shape memory usage h SAMPLES 1
?same-shape memory usage s
?same-shape memory usage z
memory usage nokey
memory usage nokey samples 3
memory usage k samples x
memory usage k samples -1
memory usage k foo 1
memory usage k samples
memory usage k samples 5 extra
memory usage
memory
memory nosuch
memory doctor x
memory purge x
memory stats x
memory malloc-stats x
memory help x
"""


@pytest.mark.parametrize("resp3", [False, True])
def test_memory_usage_matches_redis(redis_server, resp3):
    problems = against_redis(redis_server, SCRIPT, resp3=resp3)
    assert not problems, "\n".join(problems)


def test_usage_grows_with_the_value_and_samples_extrapolate():
    assert key_bytes(b"k", b"x" * 1000) > key_bytes(b"k", b"x") + 900
    short = List([b"a"] * 10)
    assert value_bytes(List([b"a"] * 1000)) > value_bytes(short)
    # Sampling the first elements extrapolates; SAMPLES 0 looks at every one.
    mixed = Hash({b"f%d" % i: (b"v" if i < 5 else b"v" * 1000) for i in range(100)})
    assert value_bytes(mixed, 0) > value_bytes(mixed, 5) + 50_000
