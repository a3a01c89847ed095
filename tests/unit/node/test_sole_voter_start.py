"""A node that is its cluster's only voter leads as soon as it has read its log, at its first
start and after a restart, instead of after an election timeout (1-2 s by default)."""

from benchmarks.inproc import start_single_node
from benchmarks.processes import free_ports
from server.config import NodeConfig
from tests.unit.node.fake_clients import fake_client, until

# An election timeout of about 1000 s: if the node led only once it expired, these tests
# would wait past start_single_node's 30 s limit and fail.
NEVER = 20_000


async def _start(tmp_path, port, raft_port):
    cfg = NodeConfig(dir=str(tmp_path / "n"), port=port, raft_port=raft_port, bind="127.0.0.1",
                     election_ticks=NEVER)
    return await start_single_node(cfg)


async def test_a_single_node_leads_at_once_and_again_after_a_restart(tmp_path):
    port, raft_port = free_ports(2)
    node, task = await _start(tmp_path, port, raft_port)
    term = node.raft.core.term
    conn, out = fake_client(node)
    conn.data_received(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
    await until(lambda: out, "the SET's reply")
    assert bytes(out) == b"+OK\r\n"
    node.shutdown_requested.set()
    await task

    node, task = await _start(tmp_path, port, raft_port)
    try:
        assert node.raft.core.term == term + 1
        conn, out = fake_client(node)
        conn.data_received(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        await until(lambda: out, "the GET's reply")
        assert bytes(out) == b"$1\r\nv\r\n"
    finally:
        node.shutdown_requested.set()
        await task


async def test_a_single_node_keeping_a_vote_promise_does_not_elect_itself_at_start(tmp_path, caplog):
    # Its previous run promised (--lease-reads); with 1 ms ticks the promise is kept as a
    # delay before the node starts, and electing itself at once would break it.
    port, raft_port = free_ports(2)
    node, task = await start_single_node(NodeConfig(dir=str(tmp_path / "n"), port=port, raft_port=raft_port,
                                                    bind="127.0.0.1", lease_reads=True))
    node.shutdown_requested.set()
    await task
    caplog.set_level("INFO", logger="raftis.raft")
    node, task = await start_single_node(NodeConfig(dir=str(tmp_path / "n"), port=port, raft_port=raft_port,
                                                    bind="127.0.0.1", tick_ms=1))
    try:
        messages = [r.getMessage() for r in caplog.records]
        assert any("keeping off the peer port" in m for m in messages)
        assert not any("elected at start" in m for m in messages)
    finally:
        node.shutdown_requested.set()
        await task
