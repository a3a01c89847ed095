"""Pub/sub across nodes: a message published anywhere reaches subscribers everywhere, in the
same order on every node."""

import threading
import time

import redis

from tests.integration.cluster import wait_for


def _collect(client, channels, patterns, n, out):
    ps = client.pubsub()
    if channels:
        ps.subscribe(*channels)
    if patterns:
        ps.psubscribe(*patterns)
    # Ready once the node confirmed every subscription: it then has them all.
    confirmed = 0
    until = time.monotonic() + 20
    while confirmed < len(channels) + len(patterns) and time.monotonic() < until:
        m = ps.get_message(timeout=0.5)
        if m and m["type"] in ("subscribe", "psubscribe"):
            confirmed += 1
    out["ready"] = True
    got = []
    deadline = time.monotonic() + 20
    while len(got) < n and time.monotonic() < deadline:
        m = ps.get_message(timeout=0.5)
        if m and m["type"] in ("message", "pmessage"):
            got.append((m["type"], m["channel"], m["data"]))
    out["got"] = got
    ps.close()


def test_messages_reach_every_node_in_one_order(cluster_factory):
    c = cluster_factory(3).start()
    results = {}
    threads = []
    for nid in c.nodes:
        for proto in (2, 3):
            out = results[(nid, proto)] = {}
            client = c.nodes[nid].client(protocol=proto)
            t = threading.Thread(target=_collect, args=(client, ["news"], ["n*"], 40, out))
            t.start()
            threads.append(t)
    wait_for(lambda: all(o.get("ready") for o in results.values()), 30)
    pubs = [c.nodes[nid].client() for nid in c.nodes]
    for i in range(20):
        n = pubs[i % 3].publish("news", f"m{i}")
        assert n >= 2  # the subscribers on the proposing node: one channel + one pattern, twice
    for t in threads:
        t.join(30)
    orders = {k: v["got"] for k, v in results.items()}
    first = next(iter(orders.values()))
    assert len(first) == 40
    assert all(o == first for o in orders.values())
    msgs = [d for typ, _, d in first if typ == "message"]
    assert len(msgs) == 20


def test_subscribed_resp2_connection_refuses_other_commands(cluster_factory):
    c = cluster_factory(1).start()
    conn = redis.Connection(port=c.nodes[1].port, protocol=2)
    conn.connect()
    conn.send_command("SUBSCRIBE", "a", "b")
    assert conn.read_response() == [b"subscribe", b"a", 1]
    assert conn.read_response() == [b"subscribe", b"b", 2]
    conn.send_command("GET", "x")
    try:
        conn.read_response()
        raise AssertionError("GET was allowed in subscribed mode")
    except redis.ResponseError as e:
        assert "only (P|S)SUBSCRIBE" in str(e)
    conn.send_command("PING")
    assert conn.read_response() == [b"pong", b""]
    conn.send_command("UNSUBSCRIBE")
    got = [conn.read_response(), conn.read_response()]
    assert sorted(got) == [[b"unsubscribe", b"a", 1], [b"unsubscribe", b"b", 0]] or got[-1][-1] == 0
    conn.disconnect()
