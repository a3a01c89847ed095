"""The peer transport over real loopback sockets: handshake rules and frame limits."""

import asyncio

import pytest

from consensus.transport import K_BATCH, FrameReader, HandshakeError, PeerTransport, frame
from tests.integration.cluster import free_ports


def test_frame_reader_splits_and_limits():
    r = FrameReader(max_frame=100)
    data = frame(K_BATCH, b"abc") + frame(K_BATCH, b"")
    assert r.feed(data[:3]) == []
    assert r.feed(data[3:]) == [(K_BATCH, b"abc"), (K_BATCH, b"")]
    with pytest.raises(HandshakeError):
        r.feed(frame(K_BATCH, b"x" * 200))



@pytest.mark.parametrize("chunk", [1, 7, 4096, 65536, 3 << 20])
def test_frame_reader_reassembles_a_large_frame_from_any_chunks(chunk):
    # A frame over a megabyte is filled in place as its chunks come (no join at the end);
    # the frames around it, in the same chunks, come out whole and in order.
    import random

    big = random.Random(chunk).randbytes(3 << 20)
    stream = frame(K_BATCH, b"before") + frame(K_BATCH, big) + frame(K_BATCH, b"after") + frame(K_BATCH, b"x")
    r = FrameReader(max_frame=8 << 20)
    got = []
    step = chunk if chunk > 1 else 1
    pos = 0
    while pos < len(stream):
        n = step if chunk != 1 or pos < 20 or pos > len(stream) - 20 else 65536  # 1-byte steps at the edges
        got += r.feed(stream[pos:pos + n])
        pos += n
    assert got == [(K_BATCH, b"before"), (K_BATCH, big), (K_BATCH, b"after"), (K_BATCH, b"x")]
    assert r.feed(b"") == []


async def _pair(secret_a=b"", secret_b=b"", cluster_b="c1"):
    pa, pb = free_ports(2)
    got = []
    a = PeerTransport(1, "c1", lambda f, b: got.append(("a", f, b)), secret=secret_a, handshake_timeout=2)
    b = PeerTransport(2, cluster_b, lambda f, b: got.append(("b", f, b)), secret=secret_b, handshake_timeout=2)
    await a.listen("127.0.0.1", pa)
    await b.listen("127.0.0.1", pb)
    a.set_peers({2: ("127.0.0.1", pb)})
    b.set_peers({1: ("127.0.0.1", pa)})
    return a, b, got


async def _settle(a, b, n=40):
    for _ in range(n):
        if a.is_connected(2) and b.is_connected(1):
            return True
        await asyncio.sleep(0.05)
    return False


async def test_messages_flow_both_ways():
    a, b, got = await _pair()
    try:
        assert await _settle(a, b)
        a.send(2, b"hello")
        b.send(1, b"world")
        for _ in range(40):
            if len(got) == 2:
                break
            await asyncio.sleep(0.02)
        assert sorted(got) == [("a", 2, b"world"), ("b", 1, b"hello")]
    finally:
        await a.close()
        await b.close()


async def test_a_large_frame_reports_progress_before_it_is_delivered():
    # While a big batch crosses, the receiver hears from the sender (on_progress) before the
    # batch is whole: what keeps a follower from campaigning during a long transfer.
    a, b, got = await _pair()
    progress = []
    b.on_progress = lambda pid: progress.append((pid, len(got)))
    try:
        assert await _settle(a, b)
        big = bytes(range(256)) * (32 << 12)  # 8 MB
        a.send_parts(2, [b"head", big, b"tail"])
        for _ in range(200):
            if got:
                break
            await asyncio.sleep(0.02)
        assert got == [("b", 1, b"head" + big + b"tail")]
        assert progress and all(p == (1, 0) for p in progress)
        # Small frames report nothing.
        progress.clear()
        a.send(2, b"small")
        for _ in range(40):
            if len(got) == 2:
                break
            await asyncio.sleep(0.02)
        assert got[1] == ("b", 1, b"small") and progress == []
    finally:
        await a.close()
        await b.close()


async def test_other_cluster_is_refused():
    a, b, got = await _pair(cluster_b="other")
    try:
        assert not await _settle(a, b, n=10)
        a.send(2, b"x")
        await asyncio.sleep(0.1)
        assert got == []
    finally:
        await a.close()
        await b.close()


async def test_secret_must_match():
    a, b, got = await _pair(secret_a=b"s3cret", secret_b=b"s3cret")
    try:
        assert await _settle(a, b)
    finally:
        await a.close()
        await b.close()
    a, b, got = await _pair(secret_a=b"s3cret", secret_b=b"wrong")
    try:
        assert not await _settle(a, b, n=10)
    finally:
        await a.close()
        await b.close()


async def test_garbage_closes_only_that_connection():
    a, b, got = await _pair()
    try:
        assert await _settle(a, b)
        port = b._server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"\xff\xff\xff\xffgarbage")
        await writer.drain()
        assert await asyncio.wait_for(reader.read(), 2) is not None
        writer.close()
        a.send(2, b"still")
        for _ in range(40):
            if got:
                break
            await asyncio.sleep(0.02)
        assert got == [("b", 1, b"still")]
    finally:
        await a.close()
        await b.close()


async def test_a_peer_that_connects_is_dialled_back_at_once():
    """A node that starts last is dialled as soon as it connects to us, not after the redial
    backoff has run out (it would not hear from the leader meanwhile)."""
    pa, pb = free_ports(2)
    a = PeerTransport(1, "c1", lambda f, b: None, handshake_timeout=2)
    b = PeerTransport(2, "c1", lambda f, b: None, handshake_timeout=2)
    await a.listen("127.0.0.1", pa)
    a.set_peers({2: ("127.0.0.1", pb)})  # b is not listening yet: a's link backs off
    try:
        await asyncio.sleep(1.6)  # 50+100+200+400+800 ms: the next redial is up to 1 s away
        assert not a.is_connected(2)
        await b.listen("127.0.0.1", pb)
        b.set_peers({1: ("127.0.0.1", pa)})
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        while not a.is_connected(2) and loop.time() - t0 < 2:
            await asyncio.sleep(0.005)
        assert a.is_connected(2)
        assert loop.time() - t0 < 0.5  # without the poke: about 0.95 s (the 1 s backoff step)
    finally:
        await a.close()
        await b.close()


async def test_each_side_learns_the_others_vote_promise_while_connected():
    """The handshake carries how long the dialer refuses other candidates after hearing from a
    leader; the acceptor knows it while that connection is open, and every connection opened
    or closed moves the epoch a read lease is checked against."""
    pa, pb = free_ports(2)
    a = PeerTransport(1, "c1", lambda f, b: None, handshake_timeout=2, vote_quiet_ms=930)
    b = PeerTransport(2, "c1", lambda f, b: None, handshake_timeout=2)  # no promise
    await a.listen("127.0.0.1", pa)
    await b.listen("127.0.0.1", pb)
    epoch0 = a.epoch
    a.set_peers({2: ("127.0.0.1", pb)})
    b.set_peers({1: ("127.0.0.1", pa)})
    try:
        assert await _settle(a, b)
        for _ in range(40):
            if 1 in b.vote_quiet and 2 in a.vote_quiet:
                break
            await asyncio.sleep(0.02)
        assert b.vote_quiet == {1: 930} and a.vote_quiet == {2: 0}
        assert a.epoch > epoch0
        epoch1 = a.epoch
        await b.close()  # b's connection to a closes: a no longer knows b's promise
        for _ in range(40):
            if not a.vote_quiet:
                break
            await asyncio.sleep(0.02)
        assert a.vote_quiet == {} and a.epoch > epoch1
    finally:
        await a.close()
        await b.close()


async def test_a_hello_without_a_promise_counts_as_none():
    """A dialer that sends the HELLO's first seven fields only is accepted, promising nothing."""
    import os

    import msgspec

    from consensus.transport import K_HELLO, K_WELCOME, MAGIC, PROTOCOL_VERSION

    (pa,) = free_ports(1)
    a = PeerTransport(1, "c1", lambda f, b: None, handshake_timeout=2, vote_quiet_ms=930)
    await a.listen("127.0.0.1", pa)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", pa)
        hello = msgspec.msgpack.encode([MAGIC.decode(), PROTOCOL_VERSION, "c1", 2, 1, os.urandom(16),
                                        "127.0.0.1:1"])
        writer.write(frame(K_HELLO, hello))
        assert FrameReader(1024).feed(await asyncio.wait_for(reader.read(64), 2)) == [(K_WELCOME, b"")]
        assert a.vote_quiet == {2: 0}
        writer.close()
    finally:
        await a.close()


async def test_a_malformed_hello_is_refused_and_the_node_goes_on():
    """A HELLO whose nonce is not bytes or whose address is not a string gets REJECT, as does
    one with too few fields; the acceptor keeps serving."""
    import os

    import msgspec

    from consensus.transport import K_HELLO, K_REJECT, MAGIC, PROTOCOL_VERSION

    (pa,) = free_ports(1)
    a = PeerTransport(1, "c1", lambda f, b: None, handshake_timeout=2)
    await a.listen("127.0.0.1", pa)
    bad = [
        [MAGIC.decode(), PROTOCOL_VERSION, "c1", 2, 1, "not-bytes", "127.0.0.1:1"],
        [MAGIC.decode(), PROTOCOL_VERSION, "c1", 2, 1, os.urandom(16), 12345],
        [MAGIC.decode(), PROTOCOL_VERSION, "c1", 2, 1],
    ]
    try:
        for fields in bad:
            reader, writer = await asyncio.open_connection("127.0.0.1", pa)
            writer.write(frame(K_HELLO, msgspec.msgpack.encode(fields)))
            (kind, _), = FrameReader(1024).feed(await asyncio.wait_for(reader.read(256), 2))
            assert kind == K_REJECT
            writer.close()
        assert a.vote_quiet == {} and a.epoch == 0
    finally:
        await a.close()
