"""A leader applies its own log entries from memory, running each client's command as the
connection looked it up; a batch that mixes client writes with the node's own proposals
(expiry) and with commands it must look up again runs each command on its own arguments."""

from benchmarks.inproc import start_single_node
from benchmarks.processes import free_ports
from server.config import NodeConfig
from tests.unit.node.fake_clients import fake_client, until

T = 2_000_000_000_000


def encode_command(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


async def test_one_entry_of_client_writes_and_the_nodes_own_runs_each_command_on_its_arguments(tmp_path):
    port, raft_port = free_ports(2)
    node, task = await start_single_node(NodeConfig(dir=str(tmp_path / "n"), port=port, raft_port=raft_port,
                                                    bind="127.0.0.1"))
    try:
        clock = [T - 100]
        node.now_ms = lambda: clock[0]
        a, out_a = fake_client(node)
        b, out_b = fake_client(node)
        a.data_received(encode_command([b"SET", b"gone", b"v", b"PXAT", b"%d" % T]))
        await until(lambda: out_a, "the first SET's reply")
        del out_a[:]
        clock[0] = T + 1
        applied = node.applied
        # One loop turn: all of these go into one log entry.
        a.data_received(encode_command([b"SET", b"a", b"1"]) + encode_command([b"APPEND", b"a", b"2"]))
        node.propose_internal(0, [b"RAFTIS.EXPIRE", b"0", b"gone"])
        b.data_received(encode_command([b"INCRBY", b"n", b"5"]) + encode_command([b"RPUSH", b"l", b"x", b"y"]))
        await until(lambda: out_a.count(b"\r\n") >= 2 and out_b.count(b"\r\n") >= 2, "the replies")
        assert node.applied == applied + 1  # one entry
        assert bytes(out_a) == b"+OK\r\n:2\r\n"
        assert bytes(out_b) == b":5\r\n:2\r\n"
        del out_a[:]
        a.data_received(encode_command([b"MGET", b"a", b"n", b"gone"]) + encode_command([b"LRANGE", b"l", b"0", b"-1"]))
        await until(lambda: out_a.count(b"\r\n") >= 10, "the reads")
        assert bytes(out_a) == b"*3\r\n$2\r\n12\r\n$1\r\n5\r\n$-1\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n"
        assert b"gone" not in node.ctx.keyspace.dbs[0].data  # deleted by the node's own entry
    finally:
        node.shutdown_requested.set()
        await task
