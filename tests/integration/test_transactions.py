"""MULTI/EXEC is one log entry; WATCH aborts EXEC when a watched key changed, on any node."""

from contextlib import contextmanager

import pytest
import redis

from tests.integration.cluster import wait_for


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    from tests.integration.cluster import Cluster

    c = Cluster(str(tmp_path_factory.mktemp("tx")), 3).start()
    yield c
    c.close()


def _both(cluster):
    return [cluster.nodes[cluster.leader()].client(), cluster.nodes[cluster.follower()].client()]


@contextmanager
def _raw(cluster, node):
    """A client of ``node`` and ``call``, which sends one command on one fixed connection and
    returns its reply (an error reply as the exception, not raised)."""
    r = cluster.nodes[node].client()
    conn = r.connection_pool.get_connection()

    def call(*argv):
        conn.send_command(*argv)
        try:
            return conn.read_response()
        except redis.ResponseError as e:
            return e

    try:
        yield r, call
    finally:
        r.connection_pool.release(conn)


def test_multi_exec_replies_and_queued_errors(cluster):
    for r in _both(cluster):
        p = r.pipeline(transaction=True)
        p.set("tx:a", 1).incr("tx:a").get("tx:a").lpush("tx:a", "x")
        res = p.execute(raise_on_error=False)
        assert res[:3] == [True, 2, b"2"]
        assert isinstance(res[3], redis.ResponseError) and "WRONGTYPE" in str(res[3])
        # A command refused when queued discards the whole transaction.
        conn = r.connection_pool.get_connection()
        try:
            conn.send_command("MULTI")
            assert conn.read_response() in (b"OK", "OK", True)
            conn.send_command("SET", "tx:b", "1")
            assert conn.read_response() in (b"QUEUED", "QUEUED")
            conn.send_command("NOSUCHCOMMAND")
            with pytest.raises(redis.ResponseError):
                conn.read_response()
            conn.send_command("EXEC")
            with pytest.raises(redis.exceptions.ExecAbortError):
                conn.read_response()
        finally:
            r.connection_pool.release(conn)
        assert r.get("tx:b") is None


def test_watch_aborts_when_key_changes_elsewhere(cluster):
    lead = cluster.leader()
    fol = cluster.follower()
    for watcher_node, writer_node in [(lead, fol), (fol, lead)]:
        w = cluster.nodes[watcher_node].client()
        other = cluster.nodes[writer_node].client()
        w.set("tx:w", "0")
        with w.pipeline() as p:
            p.watch("tx:w")
            assert p.get("tx:w") == b"0"
            other.set("tx:w", "changed")
            p.multi()
            p.set("tx:w", "mine")
            with pytest.raises(redis.WatchError):
                p.execute()
        assert w.get("tx:w") == b"changed"
        with w.pipeline() as p:
            p.watch("tx:w")
            p.multi()
            p.set("tx:w", "mine")
            assert p.execute() == [True]
        assert w.get("tx:w") == b"mine"


def test_reset_forgets_watches_and_the_open_transaction_on_any_node(cluster):
    # On a follower both live in the leader's session for the connection's relay link.
    lead = cluster.leader()
    for node in (lead, cluster.follower()):
        other = cluster.nodes[lead].client()
        with _raw(cluster, node) as (r, call):
            r.set("tx:r", "0")
            assert call("WATCH", "tx:r") in (b"OK", "OK", True)
            other.set("tx:r", "changed")
            assert call("RESET") in (b"RESET", "RESET")
            assert call("MULTI") in (b"OK", "OK", True)
            call("SET", "tx:r", "mine")
            assert call("EXEC") == [b"OK"]  # the watch went with RESET

            call("WATCH", "tx:r")
            call("SELECT", "1")
            call("MULTI")
            assert call("SET", "tx:r", "in-db-1") in (b"QUEUED", "QUEUED")
            assert call("RESET") in (b"RESET", "RESET")
            assert call("SET", "tx:after", "1") in (b"OK", "OK", True)  # db 0, not queued
            assert "EXEC without MULTI" in str(call("EXEC"))
            assert call("SELECT", "1") in (b"OK", "OK", True)
            assert call("GET", "tx:r") is None  # the discarded transaction never ran
            assert call("GET", "tx:after") is None
            call("SELECT", "0")
            assert call("GET", "tx:after") == b"1"
            assert call("GET", "tx:r") == b"mine"
        other.delete("tx:after")


def test_watch_aborts_when_key_expires(cluster):
    r = cluster.nodes[cluster.leader()].client()
    r.set("tx:e", "1", px=300)
    with r.pipeline() as p:
        p.watch("tx:e")
        wait_for(lambda: r.get("tx:e") is None, timeout=5)
        p.multi()
        p.set("tx:e", "2")
        with pytest.raises(redis.WatchError):
            p.execute()


def test_cas_increment_from_many_clients_is_exact(cluster):
    import threading

    r0 = cluster.nodes[1].client()
    r0.set("tx:cas", 0)
    done = []

    def worker(nid):
        r = cluster.nodes[nid].client()
        n = 0
        while n < 15:
            with r.pipeline() as p:
                try:
                    p.watch("tx:cas")
                    v = int(p.get("tx:cas"))
                    p.multi()
                    p.set("tx:cas", v + 1)
                    p.execute()
                    n += 1
                except redis.WatchError:
                    continue
        done.append(n)

    threads = [threading.Thread(target=worker, args=(nid,)) for nid in (1, 2, 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(done) == 45
    assert int(r0.get("tx:cas")) == 45


def _move_leadership(cluster, away_from: set[int], to: int | None = None) -> int:
    lead = cluster.leader()
    target = to if to is not None else min(n for n in cluster.nodes if n not in away_from | {lead})
    cluster.nodes[lead].client().execute_command("RAFT.TRANSFERLEADER", target)
    wait_for(lambda: cluster.leader() == target, what=f"node {target} to lead")
    return target


# MULTI and WATCH live where EXEC runs: in the leader's session (on a follower, the leader's
# session for the connection's relay link). When leadership moves in between, the open
# transaction must not turn into commands run one by one, and EXEC must not run as if nothing
# had been watched. The client is on the leader, or on a follower, and leadership moves to
# another node, or (from a follower) to the client's own node.
MOVES = ["on-leader", "on-follower", "on-follower-that-then-leads"]


def _client_and_move(cluster, case):
    node = cluster.leader() if case == "on-leader" else cluster.follower()

    def move():
        if case == "on-follower-that-then-leads":
            _move_leadership(cluster, set(), to=node)
        else:
            _move_leadership(cluster, {node})
    return node, move


@pytest.mark.parametrize("case", MOVES)
def test_a_transaction_open_when_leadership_moves_is_discarded(cluster, case):
    node, move = _client_and_move(cluster, case)
    with _raw(cluster, node) as (r, call):
        r.delete("tx:lost-a", "tx:lost-b")
        assert call("MULTI") in (b"OK", "OK", True)
        assert call("SET", "tx:lost-a", "1") in (b"QUEUED", "QUEUED")
        move()
        reply = call("SET", "tx:lost-b", "1")
        assert isinstance(reply, redis.ResponseError), reply  # -TRYAGAIN, not run
        assert "leader changed during the transaction" in str(reply)
        reply = call("EXEC")
        assert isinstance(reply, redis.exceptions.ExecAbortError), reply
        assert r.get("tx:lost-a") is None and r.get("tx:lost-b") is None
        # The connection works normally afterwards.
        assert call("MULTI") in (b"OK", "OK", True)
        call("SET", "tx:lost-a", "2")
        assert call("EXEC") == [b"OK"]
        assert r.get("tx:lost-a") == b"2"


@pytest.mark.parametrize("case", MOVES)
def test_watches_taken_before_leadership_moves_abort_the_next_exec(cluster, case):
    node, move = _client_and_move(cluster, case)
    with _raw(cluster, node) as (r, call):
        r.set("tx:lost-w", "0")
        assert call("WATCH", "tx:lost-w") in (b"OK", "OK", True)
        cluster.nodes[cluster.leader()].client().set("tx:lost-w", "changed")
        move()
        assert call("MULTI") in (b"OK", "OK", True)
        assert call("SET", "tx:lost-w", "mine") in (b"QUEUED", "QUEUED")
        assert call("EXEC") is None  # aborted, as the watched key changed
        assert r.get("tx:lost-w") == b"changed"
        call("WATCH", "tx:lost-w")
        call("MULTI")
        call("SET", "tx:lost-w", "mine")
        assert call("EXEC") == [b"OK"]
        assert r.get("tx:lost-w") == b"mine"
        # UNWATCH after the move: nothing is watched any more, EXEC runs.
        call("WATCH", "tx:lost-w")
        move()
        assert call("UNWATCH") in (b"OK", "OK", True)
        call("MULTI")
        call("SET", "tx:lost-w", "again")
        assert call("EXEC") == [b"OK"]


def test_check_and_set_stays_exact_while_leadership_keeps_moving(cluster):
    # Clients on every node increment a counter with WATCH/GET/MULTI/SET/EXEC, each EXEC also
    # appending to a log list, while leadership moves every few hundred milliseconds. A lost
    # update (two increments from the same value) would leave the counter below the log's
    # length; a transaction whose commands ran one by one would leave them apart as well.
    import threading
    import time

    r0 = cluster.nodes[cluster.leader()].client()
    r0.delete("tx:cas-moving", "tx:cas-moving-log")
    r0.set("tx:cas-moving", 0)
    stop = threading.Event()
    errors: list[str] = []

    def worker(nid):
        r = cluster.nodes[nid].client(socket_timeout=5)
        while not stop.is_set():
            try:
                with r.pipeline() as p:
                    p.watch("tx:cas-moving")
                    v = int(p.get("tx:cas-moving"))
                    time.sleep(0.02)  # widen the window between WATCH and EXEC
                    p.multi()
                    p.set("tx:cas-moving", v + 1)
                    p.rpush("tx:cas-moving-log", f"{nid}:{v}")
                    p.execute()
            except (redis.WatchError, redis.exceptions.ExecAbortError, redis.exceptions.TryAgainError,
                    redis.exceptions.ClusterDownError, redis.ConnectionError, redis.TimeoutError):
                continue  # not applied, or (a lost connection) applied or not: both keep the check
            except redis.ResponseError as e:
                errors.append(repr(e))

    def mover():
        while not stop.is_set():
            time.sleep(0.25)
            try:
                lead = cluster.leader()
                nxt = min((n for n in cluster.nodes if n != lead), key=lambda n: (n - lead) % 3)
                cluster.nodes[lead].client().execute_command("RAFT.TRANSFERLEADER", nxt)
            except redis.RedisError:
                pass

    threads = [threading.Thread(target=worker, args=(nid,)) for nid in cluster.nodes]
    threads.append(threading.Thread(target=mover))
    for t in threads:
        t.start()
    time.sleep(8)
    stop.set()
    for t in threads:
        t.join(30)
    assert not errors, errors[:5]
    r = cluster.nodes[cluster.leader()].client()
    log = r.lrange("tx:cas-moving-log", 0, -1)
    assert len(log) > 50  # the load ran
    assert int(r.get("tx:cas-moving")) == len(log)
    assert sorted(int(e.split(b":")[1]) for e in log) == list(range(len(log)))
