"""Stopping nodes without hurting the cluster: SIGTERM and SHUTDOWN hand leadership over
first (writes resume without waiting out an election timeout) and exit 0; a rolling restart
of every node under a write load loses no acknowledged write and keeps every client's wait
bounded."""

import signal
import threading
import time

import pytest
import redis

from tests.integration.cluster import Cluster, wait_for

# Slow elections (2-4 s timeouts) make it visible whether a handover waited for one.
SLOW_ELECTIONS = ["--tick-ms", "50", "--election-ticks", "40", "--heartbeat-ticks", "2"]


def _write_until_ok(c: Cluster, nid: int, key: str, timeout: float = 20.0) -> float:
    """Seconds until a SET through node ``nid`` succeeds."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        try:
            if c.nodes[nid].client(socket_timeout=5).set(key, "v"):
                return time.monotonic() - t0
        except (redis.ResponseError, redis.ConnectionError, redis.TimeoutError):
            time.sleep(0.01)
    raise AssertionError(f"no write succeeded through node {nid} in {timeout}s")


@pytest.mark.parametrize("how", ["sigterm", "shutdown"])
def test_stopping_the_leader_hands_over_without_an_election_timeout(tmp_path, how):
    with Cluster(str(tmp_path / "c"), 3, extra_args=SLOW_ELECTIONS, fast=False) as c:
        c.start()
        lead = c.leader()
        other = next(n for n in c.nodes if n != lead)
        _write_until_ok(c, other, "before")
        t0 = time.monotonic()
        if how == "sigterm":
            c.nodes[lead].proc.send_signal(signal.SIGTERM)
        else:
            with pytest.raises(redis.ConnectionError):
                c.nodes[lead].client().execute_command("SHUTDOWN", "NOSAVE")
        took = _write_until_ok(c, other, "after")
        # An election would take at least the 2 s minimum timeout; a handover takes a round trip.
        assert took < 1.5, f"writes resumed only after {took:.2f}s"
        rc = c.nodes[lead].proc.wait(timeout=15)
        assert rc == 0
        assert time.monotonic() - t0 < 10
        new = c.leader(among=[n for n in c.nodes if n != lead])
        assert new != lead
        log = open(c.nodes[lead].log_path).read()
        assert "stopped" in log and "could not hand over" not in log


def test_rolling_restart_under_load_loses_no_acknowledged_write(tmp_path):
    with Cluster(str(tmp_path / "c"), 3) as c:
        c.start()
        ids = sorted(c.nodes)
        acked: dict[str, str] = {}
        acked_lock = threading.Lock()
        stop = threading.Event()
        max_wait = [0.0]
        max_gap = [0.0]
        errors: list[str] = []

        def client_loop(tid: int) -> None:
            pick = tid % len(ids)
            r = None
            n = 0
            last_ok = time.monotonic()
            while not stop.is_set():
                # Every attempt writes its own key: a failed attempt that still commits later
                # ("may have been applied") cannot overwrite an acknowledged value.
                key, value = f"t{tid}:{n}", f"{tid}-{n}-{time.monotonic_ns()}"
                n += 1
                if r is None:
                    r = c.nodes[ids[pick]].client(socket_timeout=10, socket_connect_timeout=2)
                t0 = time.monotonic()
                try:
                    ok = r.set(key, value)
                except (redis.ConnectionError, redis.TimeoutError, redis.ResponseError) as e:
                    errors.append(f"{type(e).__name__}: {e}"[:120])
                    r = None
                    pick = (pick + 1) % len(ids)
                    time.sleep(0.02)
                    continue
                finally:
                    max_wait[0] = max(max_wait[0], time.monotonic() - t0)
                if ok:
                    now = time.monotonic()
                    max_gap[0] = max(max_gap[0], now - last_ok)
                    last_ok = now
                    with acked_lock:
                        acked[key] = value

        threads = [threading.Thread(target=client_loop, args=(t,), daemon=True) for t in range(4)]
        for t in threads:
            t.start()
        time.sleep(1.0)
        for nid in ids:
            nd = c.nodes[nid]
            nd.proc.send_signal(signal.SIGTERM)
            assert nd.proc.wait(timeout=20) == 0, c.tail(nid)
            c.start_node(nid)
            c.wait_serving(nid)
            # Let it catch up before the next node goes down, as an operator would.
            lead = c.leader()
            target = int(c.raft_info(lead)["commit_index"])
            wait_for(lambda nid=nid, target=target: int(c.raft_info(nid)["applied_index"]) >= target, 30,
                     what=f"node {nid} to catch up")
            time.sleep(0.5)
        time.sleep(1.0)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert len(acked) > 100, (len(acked), errors[:10])
        lead = c.leader()
        r = c.nodes[lead].client()
        keys = sorted(acked)
        for i in range(0, len(keys), 500):
            batch = keys[i:i + 500]
            got = r.mget(batch)
            lost = [k for k, v in zip(batch, got, strict=True) if v is None or v.decode() != acked[k]]
            assert not lost, f"acknowledged writes lost: {lost[:10]}"
        assert max_wait[0] < 10, f"a client waited {max_wait[0]:.1f}s for one reply"
        assert max_gap[0] < 10, f"a client made no progress for {max_gap[0]:.1f}s"
        print(f"acked={len(acked)} max_wait={max_wait[0]:.2f}s max_gap={max_gap[0]:.2f}s errors={len(errors)}")
        print("\n".join(sorted(set(errors))))
