"""Read leases (--lease-reads) on a 3-node cluster in the test's own event loop: a leader
that a majority acknowledged serves reads without a heartbeat round until its lease runs
out, and never while it is handing leadership over."""

import asyncio
import os
import time

import pytest

from benchmarks.inproc import start_cluster
from benchmarks.processes import free_ports
from consensus.messages import ReadState
from server.config import NodeConfig, PeerAddress
from server.node import _read_clock
from tests.unit.node.fake_clients import fake_client, until

GET = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"


@pytest.fixture
async def cluster(tmp_path, request):
    """A 3-node cluster; ``request.param`` is whether its nodes run with --lease-reads, or a
    tuple (the option, election ticks) per node. The leader is a node with the option, when
    one has it."""
    if isinstance(request.param, bool):
        nodes_opts = [(request.param, 40)] * 3
    else:
        nodes_opts = list(request.param)
    ports = free_ports(6)
    peers = {i + 1: PeerAddress(i + 1, "127.0.0.1", ports[2 * i + 1], ports[2 * i]) for i in range(3)}
    # 10 ms ticks (counted as 9) and 40 of them to an election: a lease of 175.5 ms.
    cfgs = [NodeConfig(node_id=i + 1, dir=os.path.join(tmp_path, str(i + 1)), port=ports[2 * i],
                       raft_port=ports[2 * i + 1], bind="127.0.0.1", peers=peers, tick_ms=10,
                       election_ticks=ticks, lease_reads=lease)
            for i, (lease, ticks) in enumerate(nodes_opts)]
    leader, nodes, tasks = await start_cluster(cfgs)
    if not leader.cfg.lease_reads and nodes_opts[0][0]:
        await leader.raft.transfer_leadership(1)
        leader = next(n for n in nodes if n.cfg.node_id == 1)
        await until(lambda: all(n.raft.core.leader_id == 1 for n in nodes), "node 1 leading")
    conn, out = fake_client(leader)
    conn.data_received(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
    await until(lambda: out, "the SET's reply")
    assert bytes(out) == b"+OK\r\n"
    yield leader
    for n in nodes:
        n.shutdown_requested.set()
    await asyncio.gather(*tasks)


async def _get(leader) -> None:
    conn, out = fake_client(leader)
    conn.data_received(GET)
    await until(lambda: out, "the GET's reply")
    assert bytes(out) == b"$1\r\nv\r\n"


async def _under_a_lease(leader) -> None:
    """Two reads: the first's round gives a lease, the second is served under it."""
    await _get(leader)
    await _get(leader)
    assert leader.lease_reads >= 1


async def _read_takes_a_round(leader) -> int:
    """One read, which must wait for a round of its own; returns the lease reads so far."""
    rounds, leased = leader.read_rounds, leader.lease_reads
    await _get(leader)
    assert leader.read_rounds == rounds + 1 and leader.lease_reads == leased
    return leased


@pytest.mark.parametrize("cluster", [True], indirect=True)
async def test_reads_under_the_lease_take_no_round(cluster):
    leader = cluster
    assert leader.cfg.read_lease_seconds == pytest.approx(0.1755)
    t0 = time.monotonic()
    await _get(leader)  # its round, asked for after t0, gives the lease
    rounds, leased = leader.read_rounds, leader.lease_reads
    for _ in range(5):
        await _get(leader)
    if time.monotonic() - t0 < 0.08:  # within the first half of the lease: no round at all
        assert leader.read_rounds == rounds
        assert leader.lease_reads == leased + 5
    # Past the lease, the next read waits for a round of its own (which renews the lease).
    await asyncio.sleep(0.3)
    leased = await _read_takes_a_round(leader)
    await _get(leader)
    assert leader.lease_reads == leased + 1


@pytest.mark.parametrize("cluster", [True], indirect=True)
async def test_a_leader_handing_over_reads_with_a_round(cluster):
    leader = cluster
    await _under_a_lease(leader)
    # As after transfer_leadership: the target may campaign past its voters' leases.
    leader.raft.core.handing_over = True
    rounds, leased = leader.read_rounds, leader.lease_reads
    for _ in range(3):
        await _get(leader)
    assert leader.read_rounds == rounds + 3 and leader.lease_reads == leased


@pytest.mark.parametrize("cluster", [False], indirect=True)
async def test_without_the_option_every_read_takes_a_round(cluster):
    leader = cluster
    rounds = leader.read_rounds
    for _ in range(3):
        await _get(leader)
    assert leader.read_rounds == rounds + 3 and leader.lease_reads == 0


@pytest.mark.parametrize("cluster", [False], indirect=True)
async def test_a_read_arriving_after_its_connections_round_started_waits_for_the_next(cluster):
    # ReadIndex confirms leadership after a read arrived only for reads that were there when
    # the round started: a later read on the same connection (a pipeline split over two
    # packets) must not ride on the earlier round.
    leader = cluster
    held = []
    driver = leader.raft.driver
    deliver = driver.on_read_states
    driver.on_read_states = held.extend  # hold the confirmed rounds back
    conn, out = fake_client(leader)
    rounds = leader.read_rounds
    conn.data_received(GET)
    await until(lambda: held, "the first round's answer")
    assert leader.read_rounds == rounds + 1
    conn.data_received(GET)  # arrives after the round started
    await asyncio.sleep(0.05)
    assert leader.read_rounds == rounds + 1 and not out  # waits behind the first read
    driver.on_read_states = deliver
    deliver(held)
    await until(lambda: bytes(out) == b"$1\r\nv\r\n" * 2, "both replies")
    assert leader.read_rounds == rounds + 2  # the second read had a round of its own


@pytest.mark.parametrize("cluster", [False], indirect=True)
async def test_a_read_waiting_for_an_index_the_node_never_applies_times_out(cluster):
    # A follower that learned a read index from its leader and was then cut off never applies
    # that far: its client gets -TIMEOUT within the command timeout instead of no reply at all.
    leader = cluster
    leader.cfg.command_timeout = 0.2
    held = []
    driver = leader.raft.driver
    deliver = driver.on_read_states
    driver.on_read_states = held.extend
    conn, out = fake_client(leader)
    conn.data_received(GET)
    await until(lambda: held, "the round's answer")
    driver.on_read_states = deliver
    deliver([ReadState(token=rs.token, index=leader.applied + 1000) for rs in held])
    await asyncio.sleep(0.05)
    assert not out  # parked until the node applies the index
    await until(lambda: out, "the -TIMEOUT reply")
    assert bytes(out).startswith(b"-TIMEOUT this node did not catch up")
    # The connection goes on: its next read is answered.
    conn.data_received(GET)
    await until(lambda: bytes(out).endswith(b"$1\r\nv\r\n"), "the next GET's reply")


@pytest.mark.parametrize("cluster", [((True, 40), (True, 40), (False, 40))], indirect=True)
async def test_no_lease_while_a_connected_member_runs_without_the_option(cluster, caplog):
    # Node 3 may vote at once after a restart: the leader cannot count on it to stay quiet.
    leader = cluster
    await until(lambda: leader.raft.transport.vote_quiet.get(3) == 0, "node 3's handshake")
    assert leader.lease_allowed() == 0
    rounds = leader.read_rounds
    for _ in range(3):
        await _get(leader)
    assert leader.read_rounds == rounds + 3 and leader.lease_reads == 0
    assert "node(s) 3 run without --lease-reads" in caplog.text
    assert "lease_ms:0\r\n" in leader_info(leader)


@pytest.mark.parametrize("cluster", [((True, 40), (True, 40), (True, 20))], indirect=True)
async def test_the_lease_is_no_longer_than_any_members_promise_allows(cluster):
    # Node 3 refuses other candidates for 19 ticks of 9 ms (171 ms): a lease of 85.5 ms at most.
    leader = cluster
    await until(lambda: len(leader.raft.transport.vote_quiet) == 2, "both handshakes")
    assert leader.lease_allowed() == pytest.approx(0.0855)
    assert "lease_ms:85\r\n" in leader_info(leader)
    await _get(leader)  # its round gives a lease of 85.5 ms from when it was asked
    assert 0 < leader._lease_until <= _read_clock() + 0.0855


@pytest.mark.parametrize("cluster", [True], indirect=True)
async def test_a_peer_connection_that_drops_ends_the_lease(cluster):
    # The member that dropped may have answered the round the lease rests on, and may be
    # restarting with other settings: the lease ends, and the next read takes a round.
    leader = cluster
    await _under_a_lease(leader)
    pt = leader.raft.transport
    await until(lambda: len(pt.vote_quiet) == 2, "both handshakes")
    peer, epoch = min(pt.vote_quiet), pt.epoch
    pt._open[peer].tr.abort()
    await until(lambda: pt.epoch > epoch, "the connection's loss")  # it may be back already
    leased = await _read_takes_a_round(leader)
    # The peer dials again; a round with no connection change since gives a new lease.
    await until(lambda: peer in pt.vote_quiet, "the peer's new handshake")
    await _get(leader)
    await _get(leader)
    assert leader.lease_reads >= leased + 1


def leader_info(node) -> str:
    from server.info import render_info

    return render_info(node, "raft")


@pytest.mark.parametrize("cluster", [True], indirect=True)
async def test_a_membership_change_ends_the_lease(cluster):
    # A member added since the round that granted the lease was not checked: the lease ends
    # once the change is in the log, and a round under the new membership grants a new one.
    from consensus.messages import ConfChange, ConfChangeOp

    leader = cluster
    await _under_a_lease(leader)
    (port,) = free_ports(1)
    learner = PeerAddress(4, "127.0.0.1", port, port).encode()  # never started
    assert type(leader.raft.core.propose_conf_change(ConfChange(ConfChangeOp.ADD_LEARNER, 4, learner))).__name__ == "Accepted"
    leader.raft.driver.kick()
    await until(lambda: 4 in leader.raft.core.membership.learners, "the change in the leader's log")
    leased = await _read_takes_a_round(leader)
    await _get(leader)
    await _get(leader)
    assert leader.lease_reads >= leased + 1
