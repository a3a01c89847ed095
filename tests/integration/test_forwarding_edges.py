"""Follower forwarding: what a client relays through a follower is never applied in the wrong
database nor answered with another request's reply."""

import socket
import time

import hiredis

from tests.integration.cluster import wait_for


def _send(sock: socket.socket, reader: hiredis.Reader, *cmd: str):
    sock.sendall(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in cmd))
    while (reply := reader.gets()) is False:
        reader.feed(sock.recv(65536))
    return reply


def test_a_relayed_exec_that_fails_does_not_move_later_relayed_commands_to_its_db(cluster_factory):
    # MULTI; SELECT 1; <write over max-write-size>; EXEC through a follower: the leader refuses
    # EXEC (-EXECABORT), so the client stays in db 0. The leader's session for the client's relay
    # link must stay there too, or the client's next transaction is applied to db 1.
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    leader = c.nodes[lead].client()
    leader.config_set("max-write-size", "4096")
    reader = hiredis.Reader()
    with socket.create_connection(("127.0.0.1", c.nodes[fol].port), timeout=15) as sock:
        assert _send(sock, reader, "MULTI") == b"OK"
        assert _send(sock, reader, "SELECT", "1") == b"QUEUED"
        assert _send(sock, reader, "SET", "big", "x" * 10000) == b"QUEUED"
        err = _send(sock, reader, "EXEC")
        assert isinstance(err, hiredis.ReplyError) and str(err).startswith("EXECABORT"), err
        # The client is in db 0 (the transaction, SELECT included, did not run).
        assert _send(sock, reader, "MULTI") == b"OK"
        assert _send(sock, reader, "SET", "k", "v") == b"QUEUED"
        assert _send(sock, reader, "EXEC") == [b"OK"]
        db1 = c.nodes[lead].client(db=1).get("k")
        db0 = leader.get("k")
    assert (db0, db1) == (b"v", None), f"db0={db0!r} db1={db1!r}: the write went to the wrong database"


def _send_all(sock: socket.socket, commands: list[list[str]]) -> None:
    sock.sendall(b"".join(b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in cmd)
                          for cmd in commands))


def _read_replies(sock: socket.socket, reader: hiredis.Reader, n: int, wait: float) -> list:
    sock.settimeout(wait)
    replies: list = []
    try:
        while len(replies) < n:
            while (reply := reader.gets()) is not False:
                replies.append(reply)
            if len(replies) >= n:
                break
            data = sock.recv(65536)
            if not data:
                break
            reader.feed(data)
    except TimeoutError:
        pass
    return replies


def test_a_relayed_multi_the_old_leader_refused_does_not_let_it_run_connection_commands(cluster_factory):
    # A client of a follower relays BLPOP to the leader L; behind it, it pipelines MULTI,
    # CLIENT REPLY SKIP, ECHO a, ECHO b, DISCARD. While the BLPOP waits, L hands leadership
    # over and refuses the MULTI (no transaction opens there). The follower used to relay
    # the rest at once, to be queued: L ran CLIENT REPLY SKIP as a command of the link's
    # session, skipped two replies, and the follower matched the next replies to the wrong
    # requests and waited forever for the last two. Now the follower waits for the MULTI's
    # answer: refused, the client is in no transaction, and CLIENT REPLY SKIP runs where the
    # client is (no reply for it and for ECHO a), as in Redis after a failed MULTI.
    c = cluster_factory(3).start()
    lead, fol = c.leader(), c.follower()
    other = next(n for n in c.nodes if n not in (lead, fol))
    reader = hiredis.Reader()
    with socket.create_connection(("127.0.0.1", c.nodes[fol].port), timeout=15) as sock:
        _send_all(sock, [["BLPOP", "review-q", "10"]])
        time.sleep(0.5)  # parked on the leader
        _send_all(sock, [["MULTI"], ["CLIENT", "REPLY", "SKIP"], ["ECHO", "a"], ["ECHO", "b"], ["DISCARD"]])
        time.sleep(0.3)
        c.nodes[lead].client().execute_command("RAFT.TRANSFERLEADER", str(other))
        wait_for(lambda: c.leader() == other, 10, what="leadership to move")
        replies = _read_replies(sock, reader, 4, 5.0)
        kinds = [r if r == b"b" else type(r).__name__ for r in replies]
        assert kinds == ["ReplyError", "ReplyError", b"b", "ReplyError"], replies  # BLPOP, MULTI, ECHO b, DISCARD
        assert str(replies[3]).startswith(("ERR DISCARD without MULTI", "CLUSTERDOWN", "TRYAGAIN")), replies
        # Every request was answered: the connection goes on.
        _send_all(sock, [["ECHO", "after"]])
        assert _read_replies(sock, reader, 1, 5.0) == [b"after"]


def test_a_frozen_leader_does_not_keep_a_follower_s_clients_waiting(cluster_factory):
    # A follower's client waits on a BLPOP relayed to the leader; the leader freezes (SIGSTOP:
    # its sockets stay open, nothing ever answers or closes). Once the others elect a new
    # leader, the follower gives the old one the command timeout to answer, then closes the
    # link and answers -TIMEOUT, and the client's connection goes on. Before, it waited for
    # ever behind the BLPOP.
    import signal

    c = cluster_factory(3, extra_args=["--command-timeout", "2"]).start()
    lead, fol = c.leader(), c.follower()
    reader = hiredis.Reader()
    try:
        with socket.create_connection(("127.0.0.1", c.nodes[fol].port), timeout=30) as sock:
            _send_all(sock, [["BLPOP", "frozen-q", "0"]])
            time.sleep(0.5)  # parked on the leader
            c.kill(lead, signal.SIGSTOP)
            wait_for(lambda: c.leader(among=[n for n in c.nodes if n != lead]) != lead, 20,
                     what="a new leader")
            replies = _read_replies(sock, reader, 1, 15.0)
            assert len(replies) == 1 and str(replies[0]).startswith("TIMEOUT"), replies
            _send_all(sock, [["ECHO", "after"]])
            assert _read_replies(sock, reader, 1, 5.0) == [b"after"]
    finally:
        c.kill(lead, signal.SIGCONT)
