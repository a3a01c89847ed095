"""Key versions as WATCH and MIGRATE take them: a change after the first look is never missed."""

import asyncio

import hiredis

from tests.unit.node.fake_clients import command, fake_client, single_node, until


async def test_watching_a_key_again_does_not_forget_a_change_since_the_first_watch(tmp_path):
    # Redis 7.0 (multi.c watchForKey): a key already watched is not watched again, and the
    # change after the first WATCH has already made the client's EXEC fail.
    node, task = await single_node(str(tmp_path / "n"))
    try:
        a, out_a = fake_client(node)
        b, out_b = fake_client(node)
        a.data_received(command(b"SET", b"k", b"0") + command(b"WATCH", b"k"))
        await until(lambda: out_a.count(b"\r\n") >= 2, "SET and WATCH")
        b.data_received(command(b"SET", b"k", b"changed"))
        await until(lambda: out_b, "the other client's SET")
        del out_a[:]
        a.data_received(command(b"WATCH", b"k") + command(b"MULTI") + command(b"SET", b"k", b"mine") + command(b"EXEC"))
        await until(lambda: out_a.count(b"\r\n") >= 4, "WATCH, MULTI, SET, EXEC")
        assert bytes(out_a) == b"+OK\r\n+OK\r\n+QUEUED\r\n*-1\r\n"  # EXEC aborts
    finally:
        node.shutdown_requested.set()
        await task


async def test_migrate_does_not_delete_a_key_written_later_in_the_same_log_entry(tmp_path):
    # MIGRATE reads the key and its version at once when the client's previous write is
    # answered, which can be in the middle of applying a log entry. A write to the key later
    # in that same entry leaves the version (the entry's index) unchanged, so the guarded
    # DEL deletes the newer value although only the older one was copied to the target.
    restored: list = []

    async def target(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        parser = hiredis.Reader()
        while data := await reader.read(65536):
            parser.feed(data)
            while (req := parser.gets()) is not False:
                restored.append(req)
                writer.write(b"+OK\r\n")
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(target, "127.0.0.1", 0)
    tport = b"%d" % server.sockets[0].getsockname()[1]
    node, task = await single_node(str(tmp_path / "n"))
    try:
        a, out_a = fake_client(node)
        b, out_b = fake_client(node)
        c, out_c = fake_client(node)
        applied = node.applied
        # One loop turn: one log entry [b: SET k old, a: SET foo 1, c: SET k new].
        b.data_received(command(b"SET", b"k", b"old"))
        a.data_received(command(b"SET", b"foo", b"1") + command(b"MIGRATE", b"127.0.0.1", tport, b"k", b"0", b"5000"))
        c.data_received(command(b"SET", b"k", b"new"))
        await until(lambda: out_a.count(b"\r\n") >= 2 and out_b and out_c, "the replies")
        assert node.applied >= applied + 1
        copied = [r[3] for r in restored if r[0].upper() == b"RESTORE"]
        # Either MIGRATE copied the newest value, or the key written after the copy stays here.
        if copied and b"new" not in copied[0]:
            assert node.keyspace.dbs[0].data.get(b"k") == b"new", (bytes(out_a), copied)
    finally:
        node.shutdown_requested.set()
        await task
        server.close()


async def test_migrate_waits_until_a_new_leader_has_applied_its_log(node):
    # A leader that has not applied an entry of its own term may lack writes the leader
    # before it acknowledged: MIGRATE (COPY too) copies nothing from it yet.
    a, out_a = fake_client(node)
    a.data_received(command(b"SET", b"k", b"v"))
    await until(lambda: out_a, "SET")
    del out_a[:]
    applied_term, node.applied_term = node.applied_term, node.applied_term - 1  # as just elected
    try:
        a.data_received(command(b"MIGRATE", b"127.0.0.1", b"1", b"k", b"0", b"1000", b"COPY"))
        await until(lambda: out_a, "MIGRATE")
        assert out_a.startswith(b"-TRYAGAIN"), bytes(out_a)
    finally:
        node.applied_term = applied_term
