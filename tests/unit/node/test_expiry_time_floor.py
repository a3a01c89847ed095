"""The log's time never goes back: a key that had expired by an entry's time stays expired for
every later entry and read, even after a restart whose state comes from a snapshot and whose
clock is behind the entries already in the log (a new leader's clock may be too)."""

from benchmarks.inproc import start_single_node
from benchmarks.processes import free_ports
from server.config import NodeConfig
from tests.unit.node.fake_clients import command, fake_client, until

T = 2_000_000_000_000  # k expires at this Unix time in ms (well ahead of the real clock)



async def _run(node, *args: bytes) -> bytes:
    conn, out = fake_client(node)
    conn.data_received(command(*args))
    await until(lambda: out, f"the reply to {args!r}")
    return bytes(out)


async def test_an_expired_key_stays_expired_after_a_restart_from_a_snapshot(tmp_path):
    port, raft_port = free_ports(2)
    cfg = NodeConfig(dir=str(tmp_path / "n"), port=port, raft_port=raft_port, bind="127.0.0.1")
    node, task = await start_single_node(cfg)
    node.active_expire = False  # keep k in the data: only the entries' times decide
    clock = [T - 100]
    node.now_ms = lambda: clock[0]
    try:
        assert await _run(node, b"SET", b"k", b"v", b"PXAT", b"%d" % T) == b"+OK\r\n"
        clock[0] = T + 100
        assert await _run(node, b"SET", b"other", b"x") == b"+OK\r\n"  # an entry at T + 100
        assert await _run(node, b"GET", b"k") == b"$-1\r\n"  # expired: linearizably absent
        await node.raft.snapshot_now()
    finally:
        node.shutdown_requested.set()
        await task

    # Restart (its state from the snapshot) with a clock behind the last entry's time, as after
    # a clock step or on a new leader whose clock lags the old one's.
    node, task = await start_single_node(NodeConfig(dir=str(tmp_path / "n"), port=port,
                                                    raft_port=raft_port, bind="127.0.0.1"))
    node.active_expire = False
    node.now_ms = lambda: T - 50
    try:
        # The log already said k had expired (an entry at T + 100): it must not come back.
        assert await _run(node, b"GET", b"k") == b"$-1\r\n"
        assert await _run(node, b"APPEND", b"k", b"x") == b":1\r\n"
        assert await _run(node, b"GET", b"k") == b"$1\r\nx\r\n"
    finally:
        node.shutdown_requested.set()
        await task


async def test_a_new_leader_takes_the_time_of_the_entries_it_has_not_applied_yet(tmp_path):
    # A new leader proposes before it has applied the entries already in its log (they commit
    # with its first one): their times are the floor for its own entries and reads.
    port, raft_port = free_ports(2)
    node, task = await start_single_node(NodeConfig(dir=str(tmp_path / "n"), port=port, raft_port=raft_port,
                                                    bind="127.0.0.1"))
    clock = [T + 100]
    node.now_ms = lambda: clock[0]
    try:
        before = node.applied
        assert await _run(node, b"SET", b"k", b"v") == b"+OK\r\n"  # an entry at T + 100
        # As seen by a leader that has these entries in its log but has not applied them,
        # with a clock behind theirs:
        applied, node.applied, node.last_batch_ms = node.applied, before, 0
        node.time_floor_from_log()
        assert node.last_batch_ms == T + 100
        node.applied = applied
        clock[0] = T - 50
        assert node.read_now_ms() >= T + 100
    finally:
        node.shutdown_requested.set()
        await task
