"""Bad input gets Redis's error replies; the connection closes only where Redis closes it;
the node keeps serving everyone else."""

import socket

import pytest


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    from tests.integration.cluster import Cluster

    c = Cluster(str(tmp_path_factory.mktemp("bad")), 1).start()
    yield c
    c.close()


def _talk(port, data, read_until_close=True):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    chunks = []
    try:
        while True:
            b = s.recv(65536)
            if not b:
                break
            chunks.append(b)
            if not read_until_close:
                break
    except TimeoutError:
        pass
    s.close()
    return b"".join(chunks)


@pytest.mark.parametrize("data,reply", [
    (b"*1\r\n$4\r\nPING\r\n*x\r\n", b"+PONG\r\n-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$999999999999\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*2\r\n$3\r\nGET\r\n:1\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
    (b'SET a "b\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
])
def test_protocol_errors_close_the_connection(node, data, reply):
    assert _talk(node.nodes[1].port, data) == reply
    assert node.nodes[1].client().ping()


def test_command_errors_keep_the_connection(node):
    port = node.nodes[1].port
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"NOSUCH a b\r\nGET\r\nSET k v\r\nINCR k\r\nGET k\r\n")
    expected = (b"-ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' \r\n"
                b"-ERR wrong number of arguments for 'get' command\r\n"
                b"+OK\r\n-ERR value is not an integer or out of range\r\n$1\r\nv\r\n")
    got = b""
    while len(got) < len(expected):
        got += s.recv(65536)
    assert got == expected
    s.close()


def test_inline_and_pipelined_requests_answered_in_order(node):
    port = node.nodes[1].port
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    reqs = b"".join(b"*3\r\n$3\r\nSET\r\n$4\r\np%03d\r\n$1\r\n%d\r\nGET p%03d\r\n" % (i, i % 10, i)
                    for i in range(200))
    s.sendall(reqs)
    expected = b"".join(b"+OK\r\n$1\r\n%d\r\n" % (i % 10) for i in range(200))
    got = b""
    while len(got) < len(expected):
        chunk = s.recv(65536)
        assert chunk, got[-200:]
        got += chunk
    assert got == expected
    s.close()


def test_huge_bulk_header_is_refused_without_allocating(node):
    out = _talk(node.nodes[1].port, b"*1\r\n$4294967296\r\n")
    assert out == b"-ERR Protocol error: invalid bulk length\r\n"
    out = _talk(node.nodes[1].port, b"*4294967296\r\n")
    assert out.startswith(b"-ERR Protocol error")
    assert node.nodes[1].client().ping()
