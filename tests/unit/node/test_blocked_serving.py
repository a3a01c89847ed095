"""A blocked client never stays parked on a node that stopped leading: it hears that nothing
was popped."""


from consensus.messages import Role, SoftState
from tests.unit.node.fake_clients import command, fake_client, until


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
    a.data_received(command(b"BLPOP", b"k", b"0"))
    await until(lambda: out_a or node.blocked.parked, "the BLPOP applied")
    assert raft.role != Role.LEADER
    assert not node.blocked.parked, "a client is parked on a node that does not lead"
    assert out_a.startswith(b"-TRYAGAIN")
