"""One node: durability across SIGKILL, and the basics through redis-py."""

import os
import signal
import subprocess
import sys

from tests.integration.cluster import ROOT, free_ports, wait_for


def test_acknowledged_writes_survive_sigkill(cluster_factory):
    c = cluster_factory(1).start()
    r = c.nodes[1].client()
    for i in range(300):
        assert r.set(f"k{i}", f"v{i}") is True
    r.incrby("counter", 41)
    r.incr("counter")
    pipe = r.pipeline(transaction=False)
    for i in range(300, 600):
        pipe.set(f"k{i}", f"v{i}")
    assert all(pipe.execute())
    c.kill(1, signal.SIGKILL)
    c.restart(1)
    r = c.nodes[1].client()
    wait_for(lambda: c.raft_info(1)["role"] == "leader", what="single node to lead again")
    assert r.get("counter") == b"42"
    values = r.mget([f"k{i}" for i in range(600)])
    assert values == [f"v{i}".encode() for i in range(600)]


def test_snapshot_and_restart(cluster_factory):
    c = cluster_factory(1, extra_args=["--snapshot-threshold", "20000"]).start()
    r = c.nodes[1].client()
    for i in range(2000):
        r.set(f"key:{i}", "x" * 20)
    wait_for(lambda: int(c.raft_info(1)["snapshot_index"]) > 0, what="a snapshot")
    assert r.execute_command("RAFT.SNAPSHOT") in (b"OK", "OK", True)
    r.set("after", "snapshot")
    c.kill(1)
    c.restart(1)
    r = c.nodes[1].client()
    wait_for(lambda: c.raft_info(1)["role"] == "leader")
    assert r.dbsize() == 2001
    assert r.get("key:1999") == b"x" * 20
    assert r.get("after") == b"snapshot"


def test_default_command_runs_single_node(tmp_path):
    """`raftis` with no arguments is a durable single node on 6379 with ./raftis-data; here we
    check the same code path with only the port changed, from an empty working directory."""
    (port,) = free_ports(1)
    env = dict(os.environ, PYTHONPATH=ROOT)
    p = subprocess.Popen([sys.executable, "-m", "server.cli", "server", "--port", str(port)],
                         cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import redis

        r = redis.Redis(port=port, socket_timeout=5)
        wait_for(lambda: r.execute_command("RAFT.INFO"), what="server")
        wait_for(lambda: r.set("a", "1"), what="a leader")
        assert r.get("a") == b"1"
        assert (tmp_path / "raftis-data" / "wal").is_dir()
    finally:
        p.terminate()
        assert p.wait(timeout=15) == 0


def test_a_port_in_use_stops_the_node_with_one_clear_line(tmp_path):
    import socket

    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    (raft_port,) = free_ports(1)
    env = dict(os.environ, PYTHONPATH=ROOT)
    try:
        done = subprocess.run([sys.executable, "-m", "server.cli", "server", "--port", str(port),
                               "--raft-port", str(raft_port), "--dir", str(tmp_path / "n")],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    finally:
        holder.close()
    assert done.returncode == 1
    assert f"cannot run: [Errno 98] error while attempting to bind on address ('127.0.0.1', {port}): " \
           "address already in use" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_listening_name_that_does_not_resolve_is_named_in_the_error(tmp_path):
    # .invalid never resolves (RFC 6761). --bind reaches the peer port first, --metrics-bind
    # only the metrics port: each listener names the address it could not use.
    ports = free_ports(3)
    env = dict(os.environ, PYTHONPATH=ROOT)
    for flag, extra in (("--bind", []), ("--metrics-bind", ["--metrics-port", str(ports[2])])):
        done = subprocess.run([sys.executable, "-m", "server.cli", "server", "--port", str(ports[0]),
                               "--raft-port", str(ports[1]), flag, "nosuch.invalid", *extra,
                               "--dir", str(tmp_path / flag.strip("-"))],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 1, done.stderr
        assert "cannot listen on 'nosuch.invalid': the name does not resolve" in done.stderr
        assert "Traceback" not in done.stderr
