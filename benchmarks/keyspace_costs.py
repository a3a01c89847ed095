"""What a large keyspace costs: memory per key, snapshot time, restart-to-serving time.

Both systems get the same ``n`` small string keys from the pipelined loader in ``keyload``:

* memory: VmRSS of the server process before and after the load; bytes/key is the growth over
  ``n``. A Raftis node also holds the log since its last snapshot, so its RSS is read again after
  ``RAFT.SNAPSHOT`` has compacted the log and after a restart (keyspace only, no log).
* snapshot: ``RAFT.SNAPSHOT`` timed from the client (it replies once the snapshot is durable and
  the log compacted), beside the duration the node itself reports (``rdb_last_bgsave_time_sec``);
  for redis-server, ``BGSAVE`` until ``rdb_bgsave_in_progress`` drops to 0.
* restart: SIGKILL, start the same command again, and time until ``GET key:{n-1}`` answers with
  its value. A Raftis node must load its snapshot, replay its log and win an election (one
  randomised election timeout, 1-2 s with the default settings), so the time until it accepts
  connections (PING) is recorded too.

Raftis runs as a single node here: the load then measures the keyspace rather than the
replication, and a single node cannot serve a read before it has recovered everything.
"""

from __future__ import annotations

import signal
import statistics
import time

from benchmarks.keyload import key, load, value
from benchmarks.processes import ProcessSet, rss_bytes
from benchmarks.systems import RaftisCluster, Server, redis_server, wait_for


def _restart_to_serving(srv: Server, n: int, timeout: float = 600.0) -> dict[str, float]:
    srv.kill(signal.SIGKILL)
    t0 = time.perf_counter()
    srv.start()
    wait_for(lambda: srv.check_alive() or srv.client(1.0).ping(), timeout, f"{srv.name} to accept connections")
    t_ping = time.perf_counter() - t0
    last_key, last_value = key(n - 1), value(n - 1)

    def serving() -> bool:
        srv.check_alive()
        return srv.client(1.0).get(last_key) == last_value

    wait_for(serving, timeout, f"{srv.name} to serve GET {last_key.decode()}")
    return {"accepting_s": t_ping, "serving_s": time.perf_counter() - t0}


def _redis_bgsave(srv: Server, timeout: float = 600.0) -> float:
    c = srv.client()
    t0 = time.perf_counter()
    c.bgsave()
    wait_for(lambda: int(c.info("persistence")["rdb_bgsave_in_progress"]) == 0,
             timeout, "BGSAVE to finish", interval=0.005)
    took = time.perf_counter() - t0
    if c.info("persistence").get("rdb_last_bgsave_status") != "ok":
        raise RuntimeError(f"{srv.name}: BGSAVE failed:\n{srv.tail()}")
    return took


def _raftis_snapshot(srv: Server, i: int) -> dict[str, float]:
    c = srv.client(600.0)
    c.set(f"bench:before-snapshot:{i}", "x")  # so there is something new to snapshot
    t0 = time.perf_counter()
    c.execute_command("RAFT.SNAPSHOT")
    took = time.perf_counter() - t0
    info = c.info("persistence")
    return {"client_s": took, "node_reported_s": float(info["rdb_last_bgsave_time_sec"])}


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def measure_redis(procs: ProcessSet, root: str, n: int, repeat: int) -> dict:
    srv = redis_server(procs, root, "redis-keys", aof=False)
    srv.start()
    srv.wait_ping()
    rss0 = rss_bytes(srv.pid)
    load_s = load(srv.port, n)
    rss1 = rss_bytes(srv.pid)
    saves = [_redis_bgsave(srv) for _ in range(repeat)]
    restarts = [_restart_to_serving(srv, n) for _ in range(repeat)]
    srv.kill()
    return {
        "system": "redis-server (no persistence; BGSAVE for the snapshot)",
        "keys": n, "load_s": load_s, "load_ops": n / load_s,
        "rss_empty": rss0, "rss_loaded": rss1, "bytes_per_key": (rss1 - rss0) / n,
        "snapshot_s": _median(saves), "snapshot_runs_s": saves,
        "restart_serving_s": _median([r["serving_s"] for r in restarts]), "restart_runs": restarts,
    }


def measure_raftis(procs: ProcessSet, root: str, n: int, repeat: int) -> dict:
    cluster = RaftisCluster(procs, root, "raftis-keys", 1).start()
    srv = cluster.nodes[1]
    rss0 = rss_bytes(srv.pid)
    load_s = load(srv.port, n)
    if srv.client().get(key(n - 1)) != value(n - 1):
        raise RuntimeError(f"{srv.name} lost the last key of the load")
    rss1 = rss_bytes(srv.pid)
    snaps = [_raftis_snapshot(srv, i) for i in range(repeat)]
    rss_snap = rss_bytes(srv.pid)
    restarts = []
    rss_restarted = 0
    for _ in range(repeat):
        restarts.append(_restart_to_serving(srv, n))
        rss_restarted = rss_restarted or rss_bytes(srv.pid)
    cluster.kill()
    return {
        "system": "raftis single node (RAFT.SNAPSHOT)",
        "keys": n, "load_s": load_s, "load_ops": n / load_s,
        "rss_empty": rss0, "rss_loaded": rss1, "bytes_per_key": (rss1 - rss0) / n,
        "rss_after_snapshot": rss_snap, "rss_after_restart": rss_restarted,
        "bytes_per_key_after_restart": (rss_restarted - rss0) / n,
        "snapshot_s": _median([s["client_s"] for s in snaps]),
        "snapshot_node_reported_s": _median([s["node_reported_s"] for s in snaps]),
        "snapshot_runs": snaps,
        "restart_accepting_s": _median([r["accepting_s"] for r in restarts]),
        "restart_serving_s": _median([r["serving_s"] for r in restarts]), "restart_runs": restarts,
    }


def measure(procs: ProcessSet, root: str, n: int, repeat: int) -> dict:
    raftis = measure_raftis(procs, root, n, repeat)
    redis_ = measure_redis(procs, root, n, repeat)
    return {
        "keys": n, "raftis": raftis, "redis": redis_,
        "ratios": {
            "bytes_per_key": raftis["bytes_per_key"] / redis_["bytes_per_key"],
            "bytes_per_key_after_restart": raftis["bytes_per_key_after_restart"] / redis_["bytes_per_key"],
            "snapshot_s": raftis["snapshot_s"] / redis_["snapshot_s"],
            "restart_serving_s": raftis["restart_serving_s"] / redis_["restart_serving_s"],
        },
    }
