"""A tracking client's invalidation never overtakes the reply to a read it sent before the
change was applied (server.tracking, ClientConnection.push_in_turn)."""


from tests.unit.node.fake_clients import command, fake_client, until


async def test_an_invalidation_follows_the_replies_to_earlier_requests(node):
    a, out_a = fake_client(node)
    a.data_received(command(b"HELLO", b"3") + command(b"CLIENT", b"TRACKING", b"ON"))
    await until(lambda: out_a.endswith(b"+OK\r\n"), "tracking on")
    out_a.clear()
    b, out_b = fake_client(node)
    # In one loop turn: a's write, then a's read of k (which waits for the write, its key
    # remembered as it is parsed), and b's write of k, which the same log entry applies
    # before a's read runs. The message about k must come after the read's reply.
    a.data_received(command(b"SET", b"x", b"1") + command(b"GET", b"k"))
    b.data_received(command(b"SET", b"k", b"2"))
    await until(lambda: out_a.count(b"\r\n") >= 5, "a's replies and the invalidation")
    assert bytes(out_a) == b"+OK\r\n$1\r\n2\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
    assert bytes(out_b) == b"+OK\r\n"


async def test_an_invalidation_with_nothing_outstanding_goes_at_once(node):
    a, out_a = fake_client(node)
    a.data_received(command(b"HELLO", b"3") + command(b"CLIENT", b"TRACKING", b"ON") + command(b"GET", b"k"))
    await until(lambda: out_a.endswith(b"_\r\n"), "the GET's reply")
    out_a.clear()
    b, out_b = fake_client(node)
    b.data_received(command(b"SET", b"k", b"2"))
    await until(lambda: out_b, "b's reply")
    assert bytes(out_a) == b">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
    assert node.tracking.keys == {}


async def test_over_the_table_limit_the_oldest_key_is_forgotten_and_its_reader_told(node):
    node.tracking.max_keys = 2  # CONFIG SET tracking-table-max-keys 2
    a, out_a = fake_client(node)
    a.data_received(command(b"HELLO", b"3") + command(b"CLIENT", b"TRACKING", b"ON"))
    await until(lambda: out_a.endswith(b"+OK\r\n"), "tracking on")
    out_a.clear()
    a.data_received(command(b"MGET", b"k1", b"k2") + command(b"GET", b"k3"))
    await until(lambda: out_a.count(b"invalidate") == 1 and out_a.endswith(b"k1\r\n"), "k1's invalidation")
    assert bytes(out_a) == b"*2\r\n_\r\n_\r\n_\r\n>2\r\n$10\r\ninvalidate\r\n*1\r\n$2\r\nk1\r\n"
    assert list(node.tracking.keys) == [b"k2", b"k3"] and node.tracking.items == 2
