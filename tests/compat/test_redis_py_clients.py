"""redis-py against a three-node cluster, through the leader and through a follower, in each
way applications use it: the defaults (RESP3: redis-py 8 sends HELLO 3), ``protocol=2``,
``redis.asyncio``, and the cluster client.  Each mode runs the same short functional script:
strings, hashes, lists, pipelines, a WATCH transaction (one that commits and one that a
concurrent write aborts), and pub/sub with the message published through another node."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import redis
import redis.asyncio as aioredis
from redis.cluster import RedisCluster


def _nodes(cluster, via: str) -> tuple[int, int]:
    """(port to use, port of some other node)."""
    leader = cluster.leader()
    nid = leader if via == "leader" else cluster.follower()
    other = next(n for n in cluster.nodes if n != nid)
    return cluster.nodes[nid].port, cluster.nodes[other].port


def _text(v):
    return v.decode() if isinstance(v, bytes) else v


def exercise(r, other, *, transactions: bool = True) -> None:
    p = "{" + uuid.uuid4().hex[:8] + "}"  # one hash slot, so the cluster client takes multi-key commands
    # strings
    assert r.set(p + "s", "v") is True
    assert _text(r.get(p + "s")) == "v"
    assert r.incrby(p + "n", 5) == 5 and r.incrbyfloat(p + "n", 0.5) == 5.5
    assert r.set(p + "s", "w", nx=True) is None
    assert r.set(p + "t", "x", ex=100) is True and 0 < r.ttl(p + "t") <= 100
    assert [_text(x) for x in r.mget([p + "s", p + "missing"])] == ["v", None]
    # hashes
    assert r.hset(p + "h", mapping={"a": "1", "b": "2"}) == 2
    assert {_text(k): _text(v) for k, v in r.hgetall(p + "h").items()} == {"a": "1", "b": "2"}
    assert r.hincrby(p + "h", "a", 10) == 11
    assert sorted(_text(k) for k in r.hkeys(p + "h")) == ["a", "b"]
    # lists
    assert r.rpush(p + "l", "a", "b", "c") == 3
    assert [_text(x) for x in r.lrange(p + "l", 0, -1)] == ["a", "b", "c"]
    assert _text(r.lpop(p + "l")) == "a" and r.llen(p + "l") == 2
    assert [_text(x) for x in r.blpop([p + "l"], timeout=1)] == [p + "l", "b"]
    # sets
    assert r.sadd(p + "set", "x", "y") == 2 and r.sismember(p + "set", "x")
    # streams: entries, a consumer group, and a blocking read that times out
    st = p + "st"
    assert _text(r.xadd(st, {"a": "1"}, id="1-1")) == "1-1"
    assert _text(r.xadd(st, {"b": "2"}, id="2-1", maxlen=10, approximate=True)) == "2-1"
    assert [(_text(i), {_text(k): _text(v) for k, v in f.items()}) for i, f in r.xrange(st)] == [
        ("1-1", {"a": "1"}), ("2-1", {"b": "2"})]
    assert r.xgroup_create(st, "g", id="0") is True
    got = r.xreadgroup("g", "alice", {st: ">"}, count=1)
    # RESP2: [[key, entries]]; RESP3: {key: [entries]} (as redis-py parses them from redis-server)
    entries = next(iter(got.values()))[0] if isinstance(got, dict) else got[0][1]
    assert [_text(i) for i, _ in entries] == ["1-1"]
    assert r.xpending(st, "g")["pending"] == 1
    assert r.xack(st, "g", "1-1") == 1 and r.xlen(st) == 2
    assert r.xinfo_stream(st)["entries-added"] == 2
    assert not r.xread({st: "$"}, block=100)
    # pipeline (no transaction)
    pipe = r.pipeline(transaction=False)
    for _ in range(50):
        pipe.incr(p + "c")
    assert pipe.execute() == list(range(1, 51))
    if transactions:
        # MULTI/EXEC pipeline
        pipe = r.pipeline(transaction=True)
        pipe.set(p + "a", 1).incr(p + "a").get(p + "a")
        res = pipe.execute()
        # redis-py's cluster pipeline leaves SET's reply in a transaction as "OK".
        assert res[0] in (True, b"OK", "OK") and res[1] == 2 and _text(res[2]) == "2"
        # WATCH that commits
        with r.pipeline(transaction=True) as pipe:
            pipe.watch(p + "w")
            cur = int(pipe.get(p + "w") or 0)
            pipe.multi()
            pipe.set(p + "w", cur + 1)
            assert pipe.execute()[0] in (True, b"OK", "OK")
        # WATCH that a write from another node aborts
        with r.pipeline(transaction=True) as pipe:
            pipe.watch(p + "w")
            other.set(p + "w", 100)
            pipe.multi()
            pipe.set(p + "w", 0)
            with pytest.raises(redis.WatchError):
                pipe.execute()
        assert int(r.get(p + "w")) == 100
    assert r.delete(p + "s", p + "n") == 2


def pubsub_roundtrip(r, publisher) -> None:
    channel = "chan-" + uuid.uuid4().hex[:8]
    ps = r.pubsub()
    ps.subscribe(channel)
    msg = ps.get_message(timeout=5)
    assert msg and msg["type"] == "subscribe"
    # The subscription is local to the node; PUBLISH through another node goes through the
    # log and is delivered by every node.
    deadline = time.monotonic() + 10
    got = None
    while got is None and time.monotonic() < deadline:
        publisher.publish(channel, "hello")
        got = ps.get_message(timeout=1)
    assert got is not None and got["type"] == "message" and _text(got["data"]) == "hello"
    ps.unsubscribe(channel)
    ps.close()


@pytest.mark.parametrize("via", ["leader", "follower"])
@pytest.mark.parametrize("protocol", [3, 2], ids=["resp3-default", "resp2"])
def test_sync_client(three_nodes, via, protocol):
    port, other_port = _nodes(three_nodes, via)
    kw = {} if protocol == 3 else {"protocol": 2}
    r = redis.Redis(port=port, socket_timeout=15, **kw)
    other = redis.Redis(port=other_port, socket_timeout=15)
    try:
        if protocol == 3:
            assert r.connection_pool.get_connection().protocol in (3, "3")
        exercise(r, other)
        pubsub_roundtrip(r, other)
    finally:
        r.close()
        other.close()


@pytest.mark.parametrize("via", ["leader", "follower"])
def test_asyncio_client(three_nodes, via):
    port, other_port = _nodes(three_nodes, via)

    async def main() -> None:
        r = aioredis.Redis(port=port, socket_timeout=15)
        other = aioredis.Redis(port=other_port, socket_timeout=15)
        try:
            p = "{" + uuid.uuid4().hex[:8] + "}"
            assert await r.set(p + "s", "v") is True
            assert await r.get(p + "s") == b"v"
            await r.hset(p + "h", mapping={"a": "1"})
            assert await r.hgetall(p + "h") == {b"a": b"1"}
            assert await r.rpush(p + "l", "a", "b") == 2
            assert await r.lrange(p + "l", 0, -1) == [b"a", b"b"]
            results = await asyncio.gather(*(r.incr(p + "c") for _ in range(100)))
            assert sorted(results) == list(range(1, 101))
            async with r.pipeline(transaction=True) as pipe:
                pipe.set(p + "a", 1).incr(p + "a")
                assert await pipe.execute() == [True, 2]
            async with r.pipeline() as pipe:
                await pipe.watch(p + "w")
                await other.set(p + "w", 1)
                pipe.multi()
                pipe.set(p + "w", 2)
                with pytest.raises(redis.WatchError):
                    await pipe.execute()
            ps = r.pubsub()
            channel = "achan-" + p
            await ps.subscribe(channel)
            assert (await ps.get_message(timeout=5))["type"] == "subscribe"
            got = None
            deadline = time.monotonic() + 10
            while got is None and time.monotonic() < deadline:
                await other.publish(channel, "hi")
                got = await ps.get_message(ignore_subscribe_messages=True, timeout=1)
            assert got is not None and got["data"] == b"hi"
            await ps.aclose()
        finally:
            await r.aclose()
            await other.aclose()

    asyncio.run(main())


@pytest.mark.parametrize("via", ["leader", "follower"])
def test_cluster_client(three_nodes, via):
    port, other_port = _nodes(three_nodes, via)
    rc = RedisCluster(host="127.0.0.1", port=port, socket_timeout=15)
    other = redis.Redis(port=other_port, socket_timeout=15)
    try:
        exercise(rc, other)
        pubsub_roundtrip(rc, other)
    finally:
        rc.close()
        other.close()
