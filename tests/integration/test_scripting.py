"""Lua scripts on a three-node cluster: run by every node as the log is applied, to the same
result; usable through any node; the script cache survives restarts through snapshots; and
redis-py's Lock and Script work on it."""

import redis

from tests.integration.cluster import wait_for


def _local(c, nid):
    r = c.nodes[nid].client()
    r.execute_command("READONLY")
    return r


def test_a_script_leaves_the_same_state_on_every_node(cluster_factory):
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    c.nodes[lead].client().sadd("pool", *range(100))
    script = """
        local t = redis.call('time')
        local picked = redis.call('spop', KEYS[1], 5)
        for i, m in ipairs(picked) do redis.call('rpush', KEYS[2], m) end
        redis.call('set', KEYS[3], t[1] .. '.' .. t[2] .. ':' .. math.random(1000000))
        return #picked
    """
    for nid in (lead, fol):
        assert c.nodes[nid].client().eval(script, 3, "pool", "picked", f"stamp{nid}") == 5
    marker = c.nodes[lead].client()
    marker.set("done", 1)
    states = []
    for nid in c.nodes:
        r = _local(c, nid)
        wait_for(lambda r=r: r.get("done") == b"1", what=f"node {nid} to apply the scripts")
        states.append((sorted(r.smembers("pool")), r.lrange("picked", 0, -1), r.get(f"stamp{lead}"),
                       r.get(f"stamp{fol}")))
    assert states[0] == states[1] == states[2]
    assert len(states[0][0]) == 90 and len(states[0][1]) == 10


def test_evalsha_through_any_node_and_after_a_restart_from_snapshots(cluster_factory):
    c = cluster_factory(3).start()
    lead = c.leader()
    fol = c.follower()
    other = next(n for n in c.nodes if n not in (lead, fol))
    sha = c.nodes[fol].client().script_load("return redis.call('incrby', KEYS[1], ARGV[1])")
    assert c.nodes[other].client().evalsha(sha, 1, "n", 5) == 5
    assert c.nodes[lead].client().evalsha(sha, 1, "n", 2) == 7
    assert c.nodes[other].client().script_exists(sha, "0" * 40) == [True, False]
    c.restart_from_snapshots()
    assert c.nodes[fol].client().evalsha(sha, 1, "n", 1) == 8
    c.nodes[lead].client().script_flush()
    try:
        c.nodes[other].client().evalsha(sha, 1, "n", 1)
        raise AssertionError("EVALSHA after SCRIPT FLUSH should fail")
    except redis.exceptions.NoScriptError:
        pass


def test_redis_py_lock_and_script_work_through_a_follower(cluster_factory):
    c = cluster_factory(3).start()
    fol = c.follower()
    r = c.nodes[fol].client()
    other = c.nodes[c.leader()].client()
    lock = r.lock("resource", timeout=10)
    assert lock.acquire(blocking=False)
    assert not other.lock("resource", timeout=10).acquire(blocking=False)
    assert lock.extend(5)
    assert lock.owned()
    lock.release()
    assert other.lock("resource", timeout=10).acquire(blocking=False)
    # redis-py's Script: EVALSHA first, then SCRIPT LOAD and EVALSHA again on NOSCRIPT.
    double = r.register_script("return tonumber(ARGV[1]) * 2")
    assert double(args=[21]) == 42
    assert other.register_script("return tonumber(ARGV[1]) * 2")(args=[5]) == 10


def test_functions_through_any_node_and_after_a_restart_from_snapshots(cluster_factory):
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    other = next(n for n in c.nodes if n not in (lead, fol))
    code = ("#!lua name=counters\n"
            "redis.register_function('bump', function(keys, args) "
            "local v = redis.call('incrby', keys[1], args[1]) return v end)\n"
            "redis.register_function{function_name='peek', flags={'no-writes'}, "
            "callback=function(keys) local v = redis.call('get', keys[1]) return v end}")
    assert c.nodes[fol].client().function_load(code) == b"counters"  # forwarded to the leader
    assert c.nodes[other].client().fcall("bump", 1, "n", 5) == 5
    assert c.nodes[lead].client().fcall("bump", 1, "n", 2) == 7
    assert c.nodes[fol].client().fcall_ro("peek", 1, "n") == b"7"
    listed = c.nodes[other].client().function_list()
    assert [lib[:2] for lib in listed] == [[b"library_name", b"counters"]]
    c.restart_from_snapshots()
    assert c.nodes[fol].client().fcall("bump", 1, "n", 1) == 8
    c.nodes[lead].client().function_delete("counters")
    try:
        c.nodes[other].client().fcall("bump", 1, "n", 1)
        raise AssertionError("FCALL after FUNCTION DELETE should fail")
    except redis.exceptions.ResponseError as e:
        assert "Function not found" in str(e)
