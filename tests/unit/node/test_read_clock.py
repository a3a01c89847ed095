"""The time reads judge expiry by: one clock reading for the reads one ReadIndex check
releases (as Redis caches the time for each turn of its event loop), and never behind the
newest applied entry's time."""

import pytest

from benchmarks.inproc import start_single_node
from benchmarks.processes import free_ports
from server.config import NodeConfig
from tests.unit.node.fake_clients import fake_client, until

T = 2_000_000_000_000  # the key expires at this Unix time in ms


@pytest.fixture
async def node_and_clock(tmp_path):
    """A single node whose clock the test sets, holding k, which expires at T."""
    port, raft_port = free_ports(2)
    node, task = await start_single_node(NodeConfig(dir=str(tmp_path / "n"), port=port, raft_port=raft_port,
                                                    bind="127.0.0.1"))
    clock = [T - 100]
    node.now_ms = lambda: clock[0]
    conn, out = fake_client(node)
    conn.data_received(b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$13\r\n%d\r\n" % T)
    await until(lambda: out, "the SET's reply")
    assert bytes(out) == b"+OK\r\n"
    clock[0] = T - 5
    yield node, clock
    node.shutdown_requested.set()
    await task


async def _two_gets(node, after_first_read):
    """Two clients GET k in one loop turn (one read check releases both); ``after_first_read``
    runs right after the first of them executes."""
    calls = []
    execute = node.execute_read

    def execute_read(*args):
        reply = execute(*args)
        calls.append(reply)
        if len(calls) == 1:
            after_first_read()
        return reply

    node.execute_read = execute_read
    (a, out_a), (b, out_b) = fake_client(node), fake_client(node)
    get = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
    a.data_received(get)
    b.data_received(get)
    await until(lambda: out_a and out_b, "both GETs' replies")
    return bytes(out_a), bytes(out_b)


async def test_reads_released_together_share_one_clock_reading(node_and_clock):
    node, clock = node_and_clock

    def clock_passes_expiry():
        clock[0] = T + 20

    first, second = await _two_gets(node, clock_passes_expiry)
    # Both reads judge by the reading taken when the check released them.
    assert first == second == b"$1\r\nv\r\n"


async def test_a_read_never_judges_by_a_time_behind_an_applied_entry(node_and_clock):
    node, _ = node_and_clock

    def an_entry_from_past_expiry_applies():
        # As if the first reply let its client's next write commit, with a leader time past
        # the expiry: the second read must not go back to the older reading.
        node.last_batch_ms = T + 20

    first, second = await _two_gets(node, an_entry_from_past_expiry_applies)
    assert first == b"$1\r\nv\r\n"
    assert second == b"$-1\r\n"
