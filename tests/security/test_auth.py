"""Passwords and ACL users against real clients, with redis-server 7.0 as the oracle for
reply texts."""

from __future__ import annotations

import shutil
import socket
import time

import pytest
import redis

from tests.ops.conftest import raftis
from tests.security.procs import redis_cli, start_redis_server

ACL = """\
user default on >adminpw ~* &* +@all
user alice on >alicepw ~cached:* -@all +get +set +client|id +acl|whoami +multi +exec
user reader on >readpw allkeys -@all +@read +acl|whoami
user ops on >opspw allkeys allcommands -@dangerous
user off off >offpw allkeys allcommands
user anyone on nopass allkeys -@all +ping +get
"""

# (user, password, command) whose replies must match Redis 7.0's byte for byte.
SCRIPT = [
    (None, None, ["GET", "x"]),
    (None, None, ["AUTH", "wrong"]),
    (None, None, ["AUTH", "alice", "wrong"]),
    (None, None, ["AUTH", "nosuchuser", "x"]),
    (None, None, ["AUTH", "off", "offpw"]),
    ("alice", "alicepw", ["GET", "foo"]),
    ("alice", "alicepw", ["SET", "cached:1", "v"]),
    ("alice", "alicepw", ["GET", "cached:1"]),
    ("alice", "alicepw", ["DEL", "cached:1"]),
    ("alice", "alicepw", ["CLIENT", "LIST"]),
    ("alice", "alicepw", ["ACL", "WHOAMI"]),
    ("reader", "readpw", ["SET", "k", "v"]),
    ("reader", "readpw", ["GET", "cached:1"]),
    ("reader", "readpw", ["CONFIG", "SET", "timeout", "0"]),
    ("ops", "opspw", ["CONFIG", "SET", "timeout", "0"]),
    ("anyone", "whatever", ["GET", "cached:1"]),
    ("default", "adminpw", ["ACL", "CAT", "nosuch"]),
    ("default", "adminpw", ["ACL", "WHOAMI"]),
]


def _raw(port: int, user: str | None, password: str | None, argv: list[str]) -> bytes:
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        cmds = ([["AUTH", user, password]] if user else []) + [argv]
        s.sendall(b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in c)
                           for c in cmds))
        want = len(cmds)
        data = b""
        deadline = time.monotonic() + 5
        while data.count(b"\r\n") < want and time.monotonic() < deadline:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        if user:
            assert data.startswith(b"+OK\r\n"), data
            data = data[5:]
        return data
    finally:
        s.close()


@pytest.fixture
def acl_node(node_factory, tmp_path):
    path = tmp_path / "users.acl"
    path.write_text(ACL)
    return node_factory(["--aclfile", str(path)], password="adminpw")


@pytest.fixture
def real_redis(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    path = tmp_path / "redis-users.acl"
    path.write_text(ACL)
    proc, port = start_redis_server(str(tmp_path), "--aclfile", str(path))
    yield port
    proc.kill()
    proc.wait()


def test_replies_match_redis_7(acl_node, real_redis):
    for user, password, argv in SCRIPT:
        ours = _raw(acl_node.port, user, password, argv)
        theirs = _raw(real_redis, user, password, argv)
        assert ours == theirs, (user, argv, ours, theirs)


def test_requirepass_with_redis_cli_and_redis_py(node_factory):
    n = node_factory(["--requirepass", "s3cret"], password="s3cret")
    assert redis_cli(n.port, "GET", "x") == "NOAUTH Authentication required."
    assert "WRONGPASS" in redis_cli(n.port, "GET", "x", extra=["-a", "bad", "--no-auth-warning"])
    assert redis_cli(n.port, "SET", "x", "1", extra=["-a", "s3cret", "--no-auth-warning"]) == "OK"
    assert redis_cli(n.port, "GET", "x", extra=["--user", "default", "--pass", "s3cret", "--no-auth-warning"]) == "1"
    # one-argument and two-argument AUTH, RESP2 and RESP3 (HELLO 3 AUTH ...)
    for protocol in (2, 3):
        c = redis.Redis(port=n.port, password="s3cret", protocol=protocol)
        assert c.get("x") == b"1"
        c = redis.Redis(port=n.port, username="default", password="s3cret", protocol=protocol)
        assert c.acl_whoami() in (b"default", "default")
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=n.port, password="nope").ping()
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(port=n.port).get("x")
    # RESET forgets the authentication
    out = redis_cli(n.port, stdin="AUTH s3cret\nGET x\nRESET\nGET x\n").splitlines()
    assert out == ["OK", "1", "RESET", "NOAUTH Authentication required."]


def test_acl_permissions_with_redis_py(acl_node):
    alice = redis.Redis(port=acl_node.port, username="alice", password="alicepw")
    assert alice.set("cached:a", "1") and alice.get("cached:a") == b"1"
    with pytest.raises(redis.exceptions.NoPermissionError, match="keys used as arguments"):
        alice.get("other")
    with pytest.raises(redis.exceptions.NoPermissionError, match="'del' command"):
        alice.delete("cached:a")
    assert alice.acl_whoami() in (b"alice", "alice")
    # a refused command inside MULTI aborts the transaction, as in Redis
    p = alice.pipeline(transaction=True)
    p.set("cached:b", "1").set("other", "2")
    with pytest.raises(redis.exceptions.ResponseError):
        p.execute()
    admin = acl_node.client()
    assert admin.get("cached:b") is None and admin.get("other") is None
    # admin commands: RAFT.* changes and CONFIG SET need @admin
    reader = redis.Redis(port=acl_node.port, username="reader", password="readpw")
    for argv in (["RAFT.SNAPSHOT"], ["RAFT.TRANSFERLEADER"], ["RAFT.REMOVENODE", "5"], ["CONFIG", "SET", "a", "b"],
                 ["ACL", "LIST"]):
        with pytest.raises(redis.exceptions.NoPermissionError):
            reader.execute_command(*argv)
    ops = redis.Redis(port=acl_node.port, username="ops", password="opspw")
    with pytest.raises(redis.exceptions.NoPermissionError):
        ops.execute_command("RAFT.SNAPSHOT")  # @admin commands are @dangerous too
    assert admin.execute_command("RAFT.SNAPSHOT") in (b"OK", "OK")


def test_acl_list_users_cat(acl_node):
    admin = acl_node.client()
    rows = [r.decode() for r in admin.execute_command("ACL", "LIST")]
    default = next(r for r in rows if r.startswith("user default"))
    assert default.startswith("user default on #") and default.endswith("~* &* +@all")
    alice = next(r for r in rows if r.startswith("user alice"))
    assert "alicepw" not in alice and "~cached:*" in alice and "-@all" in alice and "+get" in alice
    assert admin.execute_command("ACL", "USERS") == [b"alice", b"anyone", b"default", b"off", b"ops", b"reader"]
    cats = admin.execute_command("ACL", "CAT")
    assert b"admin" in cats and b"read" in cats and b"keyspace" in cats
    admin_cmds = admin.execute_command("ACL", "CAT", "admin")
    assert b"raft.addnode" in admin_cmds and b"config|set" in admin_cmds and b"get" not in admin_cmds
    assert b"get" in admin.execute_command("ACL", "CAT", "read")


def test_unauthenticated_clients_cannot_make_the_server_buffer(acl_node):
    s = socket.create_connection(("127.0.0.1", acl_node.port), timeout=5)
    s.sendall(b"*2\r\n$3\r\nGET\r\n$100000\r\n")  # a 100 KB argument before AUTH
    data = s.recv(1000)
    assert data.startswith(b"-ERR Protocol error")
    assert s.recv(1000) == b""
    s = socket.create_connection(("127.0.0.1", acl_node.port), timeout=5)
    s.sendall(b"*100\r\n")
    assert s.recv(1000).startswith(b"-ERR Protocol error")


def test_bad_acl_file_stops_the_node_with_a_message(tmp_path):
    from tests.security.procs import launch

    path = tmp_path / "bad.acl"
    path.write_text("user bob on >pw +nosuchcommand\n")
    proc, *_, log_path = launch(str(tmp_path / "d"), ["--aclfile", str(path)])
    assert proc.wait(timeout=20) != 0
    assert "nosuchcommand" in open(log_path).read()


def test_admin_tools_authenticate(node_factory, tmp_path, monkeypatch):
    """raftis status, check and backup against a node that needs a password: --password (or
    REDISCLI_AUTH, as redis-cli reads it) logs them in; without it they say why they failed."""
    n = node_factory(["--requirepass", "s3cret"], password="s3cret")
    addr = f"127.0.0.1:{n.port}"
    for args in (["status", addr], ["check", addr], ["backup", "--from", addr, "--to", str(tmp_path / "b.snap"),
                                                      "--quiet"]):
        refused = raftis(*args)
        assert refused.returncode != 0 and "NOAUTH" in refused.stderr + refused.stdout, args
        wrong = raftis(*args, "--password", "nope")
        assert wrong.returncode != 0 and "WRONGPASS" in wrong.stderr + wrong.stdout, args
        ok = raftis(*args, "--password", "s3cret")
        assert ok.returncode == 0, (args, ok.stdout, ok.stderr)
    monkeypatch.setenv("REDISCLI_AUTH", "s3cret")
    via_env = raftis("status", addr)
    assert via_env.returncode == 0, via_env.stderr
