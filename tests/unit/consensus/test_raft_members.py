"""The plain-class views of the enums that the hot paths read members through."""

import consensus.node as core_module
from consensus.messages import EntryType, MessageType, Role, members
from consensus.progress import ProgressState
from consensus.quorum import VoteResult
from server.node import Route


def test_a_view_holds_the_very_members_of_its_enum():
    for enum_cls in (Role, MessageType, EntryType, ProgressState, VoteResult, Route):
        view = members(enum_cls)
        assert not isinstance(view, type(enum_cls))  # a plain class: no EnumType lookup
        for name, member in enum_cls.__members__.items():
            assert getattr(view, name) is member


def test_the_core_module_views_give_the_enum_members():
    assert core_module.MT.APPEND is MessageType.APPEND
    assert core_module.Role.LEADER is Role.LEADER
    assert core_module.ProgressState.REPLICATE is ProgressState.REPLICATE
    assert core_module.VoteResult.WON is VoteResult.WON
    assert core_module.EntryType.CONF_CHANGE is EntryType.CONF_CHANGE
