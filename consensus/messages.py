"""The records the Raft core consumes and produces.

Everything here is an immutable record, safe to share between the core, the driver and the
codec. The ones built for every message and every Ready (``Entry``, ``Message``, ``Ready``,
the states, ``Accepted``) are frozen ``msgspec.Struct``s: on Python 3.11 a frozen dataclass
sets each field through ``object.__setattr__`` and costs 1.5-3 us to build, a Struct about
a tenth of that. The rest are frozen, slotted dataclasses. Node ids are integers >= 1; 0
always means "none".

A ``Message`` is one record for every message type; each type uses the fields listed in
its ``MessageType`` comment and leaves the rest at their defaults, so the codec can encode
every message the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

import msgspec


def members(enum_cls: type[IntEnum]) -> Any:
    """A plain class with ``enum_cls``'s members as its attributes (the same objects).

    On Python 3.11 every attribute read on an Enum class (``Role.LEADER``) goes through
    ``EnumType.__getattr__``'s slow lookup, about 130 ns, where a read on a plain class is
    a few ns once the interpreter has specialised it. The hot paths (stepping messages,
    routing commands) read their enum members through this view; everything else, and
    anything that needs the Enum itself (``Role(3)``, ``isinstance``), uses the Enum.

    Naming: a module that imports an enum rebinds the name to the view (``Role =
    members(Role)``); a module that defines one keeps the Enum under its own name, since
    importers get it from there, and reads through a private alias (``_Role``).
    """
    return type(f"{enum_cls.__name__}Members", (), dict(enum_cls.__members__))


class EntryType(IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1  # data is an encoded ConfChange (consensus.codec.encode_conf_change)


class Entry(msgspec.Struct, frozen=True, gc=False):
    """One log entry. The leader's term-start no-op is a NORMAL entry with empty data."""

    index: int
    term: int
    type: EntryType = EntryType.NORMAL
    data: bytes = b""


class HardState(msgspec.Struct, frozen=True, gc=False):
    """What must be durable before any message that depends on it is sent."""

    term: int = 0
    vote: int = 0  # 0: no vote in this term
    commit: int = 0


@dataclass(frozen=True, slots=True)
class Membership:
    """Voters and learners. A node id is in at most one of the two sets.

    ``addresses`` is opaque to the core; the server keeps ``host:raftport:clientport`` there.
    """

    voters: frozenset[int] = frozenset()
    learners: frozenset[int] = frozenset()
    addresses: dict[int, str] = field(default_factory=dict, hash=False)

    def __contains__(self, node_id: int) -> bool:
        return node_id in self.voters or node_id in self.learners

    def members(self) -> frozenset[int]:
        return self.voters | self.learners


class ConfChangeOp(IntEnum):
    ADD_LEARNER = 0
    PROMOTE = 1  # learner -> voter
    REMOVE = 2


@dataclass(frozen=True, slots=True)
class ConfChange:
    op: ConfChangeOp
    node_id: int
    address: str = ""


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    """A snapshot covers every entry up to and including ``index``."""

    index: int
    term: int
    membership: Membership


class MessageType(IntEnum):
    # index/log_term: the entry preceding ``entries``; commit: the leader's commit index.
    APPEND = 0
    # accept: index = last index now known to match. reject: index = the rejected prev index,
    # reject_hint = conflict index, log_term = conflict term (0 if unknown).
    APPEND_RESP = 1
    # index/log_term: the candidate's last entry; context: CAMPAIGN_TRANSFER when a transfer.
    VOTE = 2
    VOTE_RESP = 3  # reject
    PRE_VOTE = 4  # as VOTE, with term = the term the candidate would campaign in
    PRE_VOTE_RESP = 5
    HEARTBEAT = 6  # commit: min(follower match, leader commit); context: read-index round
    HEARTBEAT_RESP = 7  # context: echoed; reject: not an answer, "still receiving" (RaftNode.heard_from)
    # snapshot, offset, data, done: one chunk of the snapshot's bytes.
    INSTALL_SNAPSHOT = 8
    # index: snapshot index; offset: the next offset the follower expects; done: installed;
    # reject: the chunk was out of sequence, resend from ``offset``.
    INSTALL_SNAPSHOT_RESP = 9
    READ_INDEX = 10  # follower -> leader; context: the follower's request id
    READ_INDEX_RESP = 11  # index: the read index; context: echoed; reject: leader could not serve it
    TIMEOUT_NOW = 12  # leadership transfer: campaign at once, skipping pre-vote


CAMPAIGN_TRANSFER = 1  # Message.context of a VOTE sent because of TIMEOUT_NOW


class Message(msgspec.Struct, frozen=True):
    type: MessageType
    to: int
    from_: int
    term: int
    log_term: int = 0
    index: int = 0
    commit: int = 0
    entries: tuple[Entry, ...] = ()
    reject: bool = False
    reject_hint: int = 0
    context: int = 0
    snapshot: SnapshotMeta | None = None
    offset: int = 0
    data: bytes = b""
    done: bool = False


class Role(IntEnum):
    FOLLOWER = 0
    PRE_CANDIDATE = 1
    CANDIDATE = 2
    LEADER = 3


class SoftState(msgspec.Struct, frozen=True, gc=False):
    """Volatile state the driver may want to show or react to; not persisted."""

    role: Role
    leader_id: int


class ReadState(msgspec.Struct, frozen=True):
    """A linearizable read is safe once the applied index reaches ``index``."""

    token: object
    index: int


@dataclass(frozen=True, slots=True)
class SnapshotChunk:
    """Part of a snapshot arriving from the leader, to write through the snapshot store."""

    meta: SnapshotMeta
    offset: int
    data: bytes
    done: bool


class Ready(msgspec.Struct, frozen=True):
    """One batch of work for the driver. Carry it out in this order:

    1. send ``messages`` (at any point, even before this Ready's writes are durable); apply
       ``committed_entries`` (they are durable already) and serve ``read_states``.
    2. write ``snapshot_chunks``; persist ``hard_state``, ``snapshot`` and ``entries`` (when
       ``entries[0].index`` is at or below the last index written, truncate from there first).
    3. once that is durable, send ``persisted_messages``, restore the state machine from
       ``snapshot`` if set, and ``node.advance(ready)``.

    The driver may take further Readys while one is being written; writes complete, and
    Readys are advanced, in the order they were handed out.
    """

    soft_state: SoftState | None = None
    hard_state: HardState | None = None
    entries: tuple[Entry, ...] = ()
    snapshot: SnapshotMeta | None = None
    snapshot_chunks: tuple[SnapshotChunk, ...] = ()
    messages: tuple[Message, ...] = ()
    persisted_messages: tuple[Message, ...] = ()
    committed_entries: tuple[Entry, ...] = ()
    read_states: tuple[ReadState, ...] = ()


# --- the outcome of a proposal -------------------------------------------------------------


class Accepted(msgspec.Struct, frozen=True, gc=False):
    """The entries were appended at first_index..last_index (inclusive)."""

    first_index: int
    last_index: int

    @property
    def indexes(self) -> range:
        return range(self.first_index, self.last_index + 1)


@dataclass(frozen=True, slots=True)
class NotLeader:
    """This node is not the leader; ``leader_id`` is the one it knows of (0: none)."""

    leader_id: int


@dataclass(frozen=True, slots=True)
class Dropped:
    """The leader cannot take this now (transfer in progress, change pending, ...)."""

    reason: str


@dataclass(frozen=True, slots=True)
class TooManyUncommitted:
    """Back-pressure: the uncommitted tail is at max_uncommitted_bytes."""


ProposalResult = Accepted | NotLeader | Dropped | TooManyUncommitted
