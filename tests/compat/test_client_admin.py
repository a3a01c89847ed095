"""CLIENT KILL, PAUSE and UNPAUSE on a real node (they act on that node's own clients)."""

from __future__ import annotations

import threading
import time

import pytest
import redis

from tests.integration.cluster import wait_for


def test_client_kill_by_id_addr_and_filters(single_node):
    nd = single_node.nodes[1]
    me = nd.client()
    victim = nd.client()
    vid = victim.client_id()
    assert me.execute_command("CLIENT KILL ID", vid) == 1
    wait_for(lambda: vid not in [int(c["id"]) for c in me.client_list()], 5, what="the killed client to go")
    assert me.execute_command("CLIENT KILL ID", vid) == 0
    other = nd.client()
    oid = other.client_id()
    addr = [c for c in me.client_list() if int(c["id"]) == oid][0]["addr"]
    assert me.execute_command("CLIENT KILL", addr) in (True, b"OK")
    with pytest.raises(redis.ResponseError, match="No such client"):
        me.execute_command("CLIENT KILL", addr)
    with pytest.raises(redis.ResponseError, match="client-id should be greater than 0"):
        me.execute_command("CLIENT KILL ID 0")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        me.execute_command("CLIENT KILL ID 1 SKIPME maybe")
    # SKIPME no with the caller's own id closes the caller after the reply.
    assert me.execute_command("CLIENT KILL ID", me.client_id(), "SKIPME", "no") == 1


def test_client_pause_holds_writes_until_it_ends(single_node):
    nd = single_node.nodes[1]
    admin, writer = nd.client(), nd.client()
    writer.ping()
    # Timed from before the PAUSE is sent: the pause ends 2 s after the node got it, so no
    # earlier than 2 s after t0, however late its reply comes back on a loaded machine.
    t0 = time.monotonic()
    assert admin.execute_command("CLIENT PAUSE 2000 WRITE") in (True, b"OK")
    assert writer.get("paused-key") is None  # reads go on
    assert time.monotonic() - t0 < 1.9  # (a read held too would come back only after 2 s)
    writer.set("paused-key", "v")  # held until the pause ends
    assert time.monotonic() - t0 >= 1.9
    with pytest.raises(redis.ResponseError, match="timeout is negative"):
        admin.execute_command("CLIENT PAUSE -1")
    with pytest.raises(redis.ResponseError, match="CLIENT PAUSE mode must be WRITE or ALL"):
        admin.execute_command("CLIENT PAUSE 10 SOME")


def test_client_unpause_releases_held_writes(single_node):
    nd = single_node.nodes[1]
    admin, writer = nd.client(), nd.client()
    writer.ping()
    admin.execute_command("CLIENT PAUSE 20000 WRITE")
    done = threading.Event()

    def write() -> None:
        writer.set("unpause-key", "v")
        done.set()

    t = threading.Thread(target=write)
    t.start()
    assert not done.wait(0.3)
    assert admin.execute_command("CLIENT UNPAUSE") in (True, b"OK")
    assert done.wait(5)
    t.join()
    assert admin.get("unpause-key") == b"v"
