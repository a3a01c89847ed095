"""The time reads judge expiry by: one clock reading for the reads one ReadIndex check
releases (as Redis caches the time for each turn of its event loop), and never behind the
newest applied entry's time."""

import asyncio

from benchmarks.processes import free_ports
from server.app import serve
from server.config import NodeConfig
from server.connection import ClientConnection

T = 2_000_000_000_000  # the key expires at this Unix time in ms


class _Transport:
    def __init__(self) -> None:
        self.out = bytearray()

    def write(self, data: bytes) -> None:
        self.out += data

    def get_write_buffer_size(self) -> int:
        return 0

    def is_closing(self) -> bool:
        return False

    def get_extra_info(self, name, default=None):
        return ("127.0.0.1", 1) if name == "peername" else default

    def set_write_buffer_limits(self, high=None, low=None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass

    def abort(self) -> None:
        pass


def _client(node):
    conn = ClientConnection(node)
    tr = _Transport()
    conn.connection_made(tr)
    return conn, tr


async def _until(cond, what: str) -> None:
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def _node_with_expiring_key(tmp_path, clock):
    port, raft_port = free_ports(2)
    cfg = NodeConfig(dir=str(tmp_path / "n"), port=port, raft_port=raft_port, bind="127.0.0.1")
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    task = loop.create_task(serve(cfg, ready.set_result))
    await asyncio.wait({ready, task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # serve() failed: show why
    node = ready.result()
    await _until(lambda: node.raft.role.name == "LEADER", "leadership")
    node.now_ms = lambda: clock[0]
    conn, tr = _client(node)
    conn.data_received(b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n$13\r\n%d\r\n" % T)
    await _until(lambda: tr.out, "the SET's reply")
    assert bytes(tr.out) == b"+OK\r\n"
    return node, task


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
    (a, ta), (b, tb) = _client(node), _client(node)
    get = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"
    a.data_received(get)
    b.data_received(get)
    await _until(lambda: ta.out and tb.out, "both GETs' replies")
    return bytes(ta.out), bytes(tb.out)


async def test_reads_released_together_share_one_clock_reading(tmp_path):
    clock = [T - 100]
    node, task = await _node_with_expiring_key(tmp_path, clock)
    try:
        clock[0] = T - 5

        def clock_passes_expiry():
            clock[0] = T + 20

        first, second = await _two_gets(node, clock_passes_expiry)
        # Both reads judge by the reading taken when the check released them.
        assert first == second == b"$1\r\nv\r\n"
    finally:
        node.shutdown_requested.set()
        await task


async def test_a_read_never_judges_by_a_time_behind_an_applied_entry(tmp_path):
    clock = [T - 100]
    node, task = await _node_with_expiring_key(tmp_path, clock)
    try:
        clock[0] = T - 5

        def an_entry_from_past_expiry_applies():
            # As if the first reply let its client's next write commit, with a leader time
            # past the expiry: the second read must not go back to the older reading.
            node.last_batch_ms = T + 20

        first, second = await _two_gets(node, an_entry_from_past_expiry_applies)
        assert first == b"$1\r\nv\r\n"
        assert second == b"$-1\r\n"
    finally:
        node.shutdown_requested.set()
        await task
