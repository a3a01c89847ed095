"""INFO sections, command and error statistics, SLOWLOG, LATENCY, logs and metrics, on a
real single-node server."""

import json
import time
import urllib.request

import pytest

from tests.integration.cluster import free_ports, wait_for


def info(r, section=None) -> dict:
    """INFO as the server wrote it (redis-py would parse it its own way)."""
    from server.resp_client import RespClient

    kw = r.connection_pool.connection_kwargs
    with RespClient(kw["host"], kw["port"]) as c:
        raw = c.call("INFO", section) if section else c.call("INFO")
    text = raw.decode()
    out = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


def fields(text: str) -> dict:
    return dict(p.split("=", 1) for p in text.split(","))


def test_info_sections_and_command_stats(single):
    node = single().start()
    r = node.client()
    r.execute_command("CONFIG", "RESETSTAT")
    for i in range(5):
        r.set(f"k{i}", i)
    assert r.get("k1") == b"1"
    r.get("missing")
    for bad in (["GET"], ["NOSUCHCMD"], ["INCR", "k0", "extra"]):
        try:
            r.execute_command(*bad)
        except Exception:  # noqa: BLE001 - the errors are what we count
            pass
    r.lpush("list", "a")
    try:
        r.execute_command("INCR", "list")
    except Exception:  # noqa: BLE001
        pass

    default = info(r)
    for key in ("redis_version", "tcp_port", "connected_clients", "used_memory", "loading", "aof_enabled",
                "total_commands_processed", "total_net_input_bytes", "instantaneous_ops_per_sec", "role",
                "used_cpu_sys", "db0", "errorstat_ERR"):
        assert key in default, key
    raft = info(r, "raft")
    for key in ("term", "commit_index", "applied_index", "proposals_pending", "fsync_avg_ms",
                "last_snapshot_index", "leader_id"):
        assert key in raft, key
    assert default["role"] == "master"
    assert "cmdstat_get" not in default  # commandstats is in "all", as in Redis
    # Fields monitoring tools read, in Redis's formats.
    assert int(default["used_memory_peak"]) >= int(default["used_memory"]) > 0
    assert default["used_memory_human"].endswith("M") and default["maxmemory_human"] == "0B"
    assert int(default["total_system_memory"]) > int(default["used_memory"])
    assert default["evicted_keys"] == "0"
    assert default["number_of_cached_scripts"] == "0" and default["used_memory_scripts_human"] == "0B"
    r.script_load("return 1")
    assert info(r)["number_of_cached_scripts"] == "1" and info(r)["used_memory_scripts"] == "8"
    p = r.pubsub()
    p.subscribe("news", "more")
    p.psubscribe("n*")
    for _ in range(3):  # the three confirmations: the server has them all
        assert p.get_message(timeout=5) is not None
    p.execute_command("SSUBSCRIBE", "shard-news")
    assert p.get_message(timeout=5) is not None
    stats = info(r, "stats")
    assert stats["pubsub_channels"] == "2" and stats["pubsub_patterns"] == "1"
    assert stats["pubsubshard_channels"] == "1"
    p.close()
    # Forks: a snapshot is written by a child process.
    forks = int(info(r, "stats")["total_forks"])
    r.execute_command("RAFT.SNAPSHOT")
    after = info(r, "stats")
    assert int(after["total_forks"]) == forks + 1 and int(after["latest_fork_usec"]) > 0
    # Functions and libraries, the CPU of the event loop's thread, the clock, the cluster mode.
    r.execute_command("FUNCTION", "LOAD", "#!lua name=obslib\n"
                      "redis.register_function('f1', function() return 1 end)\n"
                      "redis.register_function('f2', function() return 2 end)")
    memory = info(r, "memory")
    assert memory["number_of_libraries"] == "1" and memory["number_of_functions"] == "2"
    r.execute_command("FUNCTION", "FLUSH")
    cpu = info(r, "cpu")
    assert 0 < float(cpu["used_cpu_user_main_thread"]) <= float(cpu["used_cpu_user"])
    assert abs(int(default["server_time_usec"]) / 1e6 - time.time()) < 60
    assert default["cluster_enabled"] == "0"

    stats = info(r, "commandstats")
    s = fields(stats["cmdstat_set"])
    assert int(s["calls"]) == 5 and int(s["failed_calls"]) == 0 and float(s["usec_per_call"]) > 0
    g = fields(stats["cmdstat_get"])
    assert int(g["calls"]) == 3 and int(g["rejected_calls"]) == 1  # GET with no key: wrong arity
    assert int(fields(stats["cmdstat_incr"])["failed_calls"]) == 1  # WRONGTYPE
    assert int(fields(stats["cmdstat_incr"])["rejected_calls"]) == 1
    assert "cmdstat_config|resetstat" in stats or "cmdstat_info" in stats
    errs = info(r, "errorstats")
    assert int(fields(errs["errorstat_ERR"])["count"]) >= 3
    assert int(fields(errs["errorstat_WRONGTYPE"])["count"]) == 1
    everything = info(r, "everything")
    assert "cmdstat_set" in everything and "latency_percentiles_usec_set" in everything
    assert raft["role"] == "leader" and "node1" in raft and "last_contact_ms" in raft["node1"]


def test_slowlog_and_latency(single):
    node = single().start()
    r = node.client()
    assert r.execute_command("SLOWLOG", "RESET") == b"OK"
    r.config_set("slowlog-log-slower-than", 0)
    r.set("slow", "1")
    entries = r.execute_command("SLOWLOG", "GET", "5")
    assert entries and [e for e in entries if [a.lower() for a in e[3][:2]] == [b"set", b"slow"]]
    assert r.execute_command("SLOWLOG", "LEN") >= 1
    r.config_set("slowlog-max-len", 2)
    for i in range(5):
        r.set(f"x{i}", i)
    assert r.execute_command("SLOWLOG", "LEN") == 2
    r.config_set("slowlog-log-slower-than", -1)
    r.execute_command("SLOWLOG", "RESET")
    r.set("fast", "1")
    assert r.execute_command("SLOWLOG", "LEN") == 0

    assert r.execute_command("LATENCY", "LATEST") == []  # off by default, as in Redis
    r.config_set("latency-monitor-threshold", 1)
    r.execute_command("RAFT.SNAPSHOT")
    wait_for(lambda: r.execute_command("LATENCY", "LATEST"), 10, what="a latency event")
    latest = r.execute_command("LATENCY", "LATEST")
    names = {e[0] for e in latest}
    assert names & {b"command", b"fsync", b"fork", b"snapshot"}
    assert r.execute_command("LATENCY", "RESET") >= 1


def test_logs_text_and_json_no_per_command_lines(single):
    node = single(["--log-format", "json"]).start()
    r = node.client()
    time.sleep(0.3)
    before = node.log().splitlines()
    for i in range(200):
        r.set(f"k{i}", i)
        r.get(f"k{i}")
    time.sleep(0.3)
    after = node.log().splitlines()
    assert len(after) - len(before) <= 2, after[len(before):]  # nothing per command at info level
    records = [json.loads(line) for line in after if line.startswith("{")]
    assert records, after
    ready = [x for x in records if "ready to accept connections" in x["msg"]]
    assert ready and ready[0]["node"] == 1 and ready[0]["level"] == "info"
    assert any(x["term"] >= 1 for x in records if "leader is now" in x["msg"])

    text = single(["--log-level", "debug"], name="text").start()
    line = next(x for x in text.log().splitlines() if "ready to accept" in x)
    assert " node=1 term=" in line and " INFO " in line


def test_prometheus_metrics(single):
    pytest.importorskip("prometheus_client")
    (mport,) = free_ports(1)
    node = single(["--metrics-port", str(mport)]).start()
    r = node.client()
    for i in range(20):
        r.set(f"m{i}", i)
        r.get(f"m{i}")
    try:
        r.execute_command("GET")
    except Exception:  # noqa: BLE001
        pass
    r.execute_command("RAFT.SNAPSHOT")
    assert r.execute_command("RAFT.CHECK")[0] == b"consistent"
    body = urllib.request.urlopen(f"http://127.0.0.1:{mport}/metrics", timeout=10).read().decode()
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    assert samples['raftis_commands_total{command="set",outcome="ok"}'] >= 20
    assert samples['raftis_commands_total{command="get",outcome="rejected"}'] == 1
    assert samples['raftis_command_duration_seconds_count{command="get"}'] >= 21
    assert samples['raftis_command_duration_seconds_bucket{command="set",le="+Inf"}'] >= 20
    assert samples["raftis_proposal_commit_seconds_count"] >= 20
    assert samples["raftis_fsync_seconds_count"] >= 1
    assert samples["raftis_snapshots_total"] >= 1
    assert samples["raftis_snapshot_duration_seconds_count"] >= 1
    assert samples["raftis_leader_changes_total"] >= 1
    assert samples["raftis_net_input_bytes_total"] > 0 and samples["raftis_net_output_bytes_total"] > 0
    assert samples["raftis_is_leader"] == 1
    assert samples['raftis_checks_total{verdict="consistent"}'] == 1
    assert samples['raftis_checks_total{verdict="DIVERGED"}'] == 0
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{mport}/nothing", timeout=10)
        raise AssertionError("expected 404")
    except urllib.error.HTTPError as e:
        assert e.code == 404


def test_metrics_on_a_cluster_show_peers(cluster_factory):
    pytest.importorskip("prometheus_client")
    ports = free_ports(3)
    c = cluster_factory(3)
    for nid, port in zip(c.nodes, ports, strict=True):
        c.nodes[nid].extra = ["--metrics-port", str(port)]
    c.start()
    lead = c.leader()
    c.nodes[lead].client().set("a", "1")
    port = ports[list(c.nodes).index(lead)]

    def scrape():
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
        return body if body.count("raftis_peer_connected{") == 2 and "raftis_peer_lag_entries{" in body else None

    body = wait_for(scrape, 15, what="peer metrics")
    assert 'raftis_peer_connected{peer="' in body
    assert "raftis_raft_output_bytes_total" in body


def test_server_runs_without_prometheus_client_unless_metrics_are_asked_for(tmp_path):
    """prometheus-client is imported only for --metrics-port."""
    import os
    import subprocess
    import sys

    import redis

    from tests.integration.cluster import ROOT

    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "prometheus_client.py").write_text("raise ImportError('blocked for this test')\n")
    env = dict(os.environ, PYTHONPATH=f"{blocker}{os.pathsep}{ROOT}")
    port, rport, mport = free_ports(3)
    base = [sys.executable, "-m", "server.cli", "server", "--port", str(port), "--raft-port", str(rport)]
    proc = subprocess.Popen([*base, "--dir", str(tmp_path / "a")], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: redis.Redis(port=port, socket_timeout=1).ping(), 30, what="the node")
    finally:
        proc.kill()
        proc.wait()
    out = subprocess.run([*base, "--dir", str(tmp_path / "b"), "--metrics-port", str(mport)], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0 and "prometheus-client" in out.stderr
