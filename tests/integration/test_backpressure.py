"""A client that pipelines far more than the server answers at once is slowed down by TCP, not
buffered without bound: every one of its commands is answered, none times out."""

import socket
import threading


def test_huge_pipeline_is_answered_in_full(cluster_factory):
    c = cluster_factory(1).start()
    port = c.nodes[1].port
    n = 60000
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    payload = b"".join(b"*3\r\n$3\r\nSET\r\n$6\r\nk%05d\r\n$1\r\nv\r\n" % i for i in range(n))
    sender = threading.Thread(target=s.sendall, args=(payload,))
    sender.start()
    expected = b"+OK\r\n" * n
    got = bytearray()
    while len(got) < len(expected):
        chunk = s.recv(1 << 20)
        assert chunk, "connection closed early"
        got += chunk
    sender.join(60)
    assert bytes(got) == expected
    s.close()
    assert c.nodes[1].client().dbsize() == n
