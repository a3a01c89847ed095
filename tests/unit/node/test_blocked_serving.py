"""A blocked client never stays parked on a node that stopped leading: it hears that nothing
was popped."""

import pytest

from benchmarks.inproc import start_single_node
from benchmarks.processes import free_ports
from consensus.messages import Role, SoftState
from server.config import NodeConfig
from tests.unit.node.fake_clients import fake_client, until


def _cmd(*argv: bytes) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


@pytest.fixture
async def node(tmp_path):
    port, raft_port = free_ports(2)
    node, task = await start_single_node(NodeConfig(dir=str(tmp_path / "n"), port=port, raft_port=raft_port,
                                                    bind="127.0.0.1"))
    yield node
    node.shutdown_requested.set()
    await task


async def test_a_blpop_applied_after_a_step_down_is_not_left_parked_on_a_follower(node):
    """The leader proposes A's BLPOP and steps down before it learns the entry committed; the
    new leader commits it and this node applies it as a follower. The step-down's fail_all
    ran before, so A is parked here, on a node that no longer leads: no error, no service
    from the new leader (it waits for a timeout, or gets -TRYAGAIN not leader when a push
    makes this node propose it again). The contract: an error saying nothing was popped."""
    raft = node.raft
    apply_entries = node.apply_entries

    def step_down_then_apply(entries):
        if any(b"BLPOP" in e.data for e in entries if e.data):
            raft._on_soft_state(SoftState(Role.FOLLOWER, 0))  # the step-down came first
        apply_entries(entries)

    node.apply_entries = step_down_then_apply
    a, out_a = fake_client(node)
    a.data_received(_cmd(b"BLPOP", b"k", b"0"))
    await until(lambda: out_a or node.blocked.parked, "the BLPOP applied")
    assert raft.role != Role.LEADER
    assert not node.blocked.parked, "a client is parked on a node that does not lead"
    assert out_a.startswith(b"-TRYAGAIN")
