"""``python -m benchmarks.run`` end to end at tiny sizes: it completes, leaves no server behind,
and its JSON has every row. Timings are not checked: this machine's speed is not under test."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys

import pytest

from benchmarks import matrix

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

pytestmark = pytest.mark.skipif(shutil.which("redis-benchmark") is None or shutil.which("redis-server") is None,
                                reason="needs redis-server and redis-benchmark")


def test_benchmark_run_writes_every_row(tmp_path):
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "benchmarks/run.py", "-n", "300", "--keys", "2000", "--repeat", "1",
                           "--out", str(out), "--tmp", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(out.read_text())
    rows = {r["id"]: r for r in result["rows"]}
    assert set(rows) == {r.id for r in matrix.rows()}
    for r in matrix.rows():
        assert rows[r.id]["ops"] > 0
        assert (rows[r.id]["ratio"] is None) == (r.baseline is None)
        assert rows[r.id]["target"] == r.target
        assert (rows[r.id]["meets_target"] is None) == (r.target is None)
    keyspace = result["keyspace"]
    for system in ("raftis", "redis"):
        for k in ("bytes_per_key", "snapshot_s", "restart_serving_s"):
            assert keyspace[system][k] is not None
    assert set(keyspace["ratios"]) >= {"bytes_per_key", "snapshot_s", "restart_serving_s"}
    assert keyspace["meets_memory_target"] == (keyspace["ratios"]["bytes_per_key"] <= keyspace["memory_target"])
    assert "target" in done.stdout and ">=0.32" in done.stdout
    assert "ratio" in done.stdout
    # every server the run started is gone, and so is its temp dir
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]
    assert not _processes_mentioning(str(tmp_path))


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline and int(pid) != os.getpid():
            found.append(f"{pid}: {cmdline}")
    return found


def test_cpu_accounting_runs_and_sums_the_processes():
    done = subprocess.run([sys.executable, "-m", "benchmarks.cpu", "--nodes", "3", "-n", "2000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("SET -P1 -c 50 -n 2000 on 3 node(s)")
    roles = [ln.split()[2] for ln in lines if ln.startswith("node ")]
    assert sorted(roles) == ["(follower)", "(follower)", "(leader)"]
    assert any(ln.startswith("redis-benchmark") for ln in lines)
    assert "ops/s on" in lines[-1]


def test_floor_compares_every_server_and_the_bare_one_answers_like_redis(tmp_path):
    done = subprocess.run([sys.executable, "-m", "benchmarks.floor", "-n", "2000", "--repeat", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    table = done.stdout.split("vs none", 1)[1].splitlines()[1:]
    rows = [ln.split() for ln in table if ln.strip()]
    servers = ["redis (no persistence)", "redis (appendfsync always)", "bare-loop", "bare-thread",
               "raftis 1 node", "bare-3", "raftis 3 nodes"]
    assert [(" ".join(r[:2]), " ".join(r[2:-5])) for r in rows] == \
        [(w, s) for w in ("SET -P1", "GET -P1") for s in servers]
    for r in rows:
        ops, _p50, cpu, vs_aof, vs_none = r[-5:]
        assert float(ops.replace(",", "")) > 0 and float(cpu) > 0 and float(vs_aof) > 0 and float(vs_none) > 0


def test_bare_cluster_answers_in_order_and_both_followers_log_every_set(tmp_path):
    from benchmarks.bare_cluster import BareCluster
    from benchmarks.processes import ProcessSet

    with ProcessSet() as procs:
        cluster = BareCluster(procs, str(tmp_path)).start()
        c = cluster.leader.client()
        pipe = c.pipeline(transaction=False)
        pipe.get("k").set("k", "v1").get("k").set("k", "v2").ping()
        assert pipe.execute() == [None, True, b"v1", True, True]
        assert c.get("k") == b"v2"
        for follower in cluster.followers:
            with open(os.path.join(follower.dir, "log"), "rb") as f:
                assert f.read() == b"2 k v1\n2 k v2\n"
        # A SET is answered only once both followers have it on disk: with one stopped, none is.
        stopped = cluster.followers[1].proc
        stopped.send_signal(signal.SIGSTOP)
        with socket.create_connection(("127.0.0.1", cluster.leader.port), timeout=0.5) as sock:
            try:
                sock.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv3\r\n")
                with pytest.raises(TimeoutError):
                    sock.recv(16)
            finally:
                stopped.send_signal(signal.SIGCONT)
            sock.settimeout(30)
            assert sock.recv(16) == b"+OK\r\n"
        assert c.get("k") == b"v3"


@pytest.mark.parametrize("mode", ["loop", "thread"])
def test_bare_server_sets_gets_and_logs_durably(tmp_path, mode):
    from benchmarks.floor import bare_server
    from benchmarks.processes import ProcessSet

    with ProcessSet() as procs:
        srv = bare_server(procs, str(tmp_path), mode)
        srv.start()
        srv.wait_ping()
        c = srv.client()
        pipe = c.pipeline(transaction=False)
        pipe.get("k").set("k", "v1").get("k").set("k", "v2")
        assert pipe.execute() == [None, True, b"v1", True]
        assert c.get("k") == b"v2"
        with open(os.path.join(srv.dir, "log"), "rb") as f:
            assert f.read() == b"2 k v1\n2 k v2\n"


def _inproc(*args):
    return subprocess.run([sys.executable, "-m", "benchmarks.inproc", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=180)


@pytest.mark.parametrize("workload", ["set", "get"])
def test_inproc_runs_every_command_it_times(workload):
    done = _inproc("--workload", workload, "--clients", "3", "--rounds", "20", "--reps", "2", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["workload"] == workload and result["us_per_command"] > 0
    # every client's command of the warm-up (50 rounds) and of both timed passes was answered,
    # and for GET the SET of each client's key before them
    assert result["commands_processed"] == 3 * (50 + 2 * 20 + (workload == "get"))
    done = _inproc("--workload", workload, "--clients", "3", "--rounds", "20", "--reps", "1", "--profile")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "function calls" in done.stdout and "resp/parser.py" in done.stdout
    assert "main-thread CPU" in done.stdout


@pytest.mark.parametrize("workload", ["set", "get"])
def test_inproc_runs_a_whole_cluster_in_one_process(workload):
    done = _inproc("--nodes", "3", "--workload", workload, "--clients", "4", "--rounds", "10", "--reps", "2",
                   "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["nodes"] == 3 and result["us_per_command"] > 0
    # the leader answered every command of the warm-up (50 each) and of both passes (and for
    # GET the SETs of the keys)
    assert result["commands_processed"] == 4 * (50 + 2 * 10 + (workload == "get"))


@pytest.mark.parametrize("workload", ["set", "get"])
def test_inproc_sends_pipelines(workload):
    done = _inproc("--workload", workload, "--clients", "3", "--pipeline", "4", "--rounds", "10", "--reps", "2",
                   "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["pipeline"] == 4 and result["us_per_command"] > 0
    # each pass waited for every reply of every pipeline: 4 commands per client and round
    assert result["commands_processed"] == 3 * 4 * (50 + 2 * 10 + (workload == "get"))
    done = _inproc("--pipeline", "0")
    assert done.returncode == 2 and "--pipeline must be at least 1" in done.stderr


@pytest.mark.parametrize("workload", ["set", "get"])
def test_inproc_measures_the_bare_server_in_the_same_harness(workload):
    done = _inproc("--bare", "--workload", workload, "--clients", "3", "--rounds", "10", "--reps", "2", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["bare"] and result["us_per_command"] > 0
    assert result["commands_processed"] == 3 * (50 + 2 * 10 + (workload == "get"))
    done = _inproc("--bare", "--nodes", "3")
    assert done.returncode == 2 and "--bare is a single server" in done.stderr


def test_inproc_counts_bytecodes_per_function():
    done = _inproc("--workload", "get", "--clients", "3", "--rounds", "5", "--reps", "1", "--bytecodes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "bytecodes and" in done.stdout and "resp/parser.py" in done.stdout
    assert "server/commands/strings.py" in done.stdout  # GET itself ran under the counter
    done = _inproc("--bytecodes", "--profile")
    assert done.returncode == 2 and "give one" in done.stderr


def test_inproc_compares_two_checkouts_and_refuses_bad_counts():
    done = _inproc("--workload", "get", "--clients", "2", "--rounds", "5", "--reps", "1", "--runs", "1",
                   "--against", ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(ROOT) == 2 and "this / against" in done.stdout
    done = _inproc("--clients", "0")
    assert done.returncode == 2 and "--clients must be at least 1" in done.stderr
    done = _inproc("--against", "/nonexistent")
    assert done.returncode == 2 and "not a Raftis checkout" in done.stderr
    done = _inproc("--cpu", "4096")
    assert done.returncode == 2 and "--cpu 4096" in done.stderr


def test_inproc_counts_the_instructions_of_a_real_run():
    """One real run under callgrind (the slow part of ``--instructions``; its arithmetic is in
    tests/unit/bench/test_instructions.py): the count comes back, and the run answered every
    command it was given."""
    from benchmarks import inproc

    args = inproc.parse_args(["--instructions", "--workload", "set", "--clients", "2", "--rounds", "2"])
    assert inproc._instructions_of(args, ROOT, args.rounds) > 10**8  # an interpreter's start-up alone
