"""RaftNode: the Raft state machine, without I/O.

Inputs are method calls: ``tick()``, ``step(msg)``, ``propose(datas)``,
``propose_conf_change(cc)``, ``read_index(token)``, ``transfer_leadership(id)``,
``compact(meta)``. Output is collected in a ``Ready`` (see ``consensus.messages.Ready``)
that the driver takes with ``ready()`` and acknowledges with ``advance(ready)``.

Durability rules the core keeps, so the driver only has to follow the Ready's order:

* A message that depends on local state being durable (a vote grant, an append or
  snapshot ack) goes in ``persisted_messages``. So does every message while the current
  term is not yet durable: no peer ever sees a term this node could forget in a crash.
* The leader's AppendEntries go out before its own WAL write completes; its own log only
  counts towards a commit once ``advance`` says it is durable (``RaftLog.stable``).
* ``committed_entries`` may pass ``RaftLog.stable`` (they are durable on a majority) but
  never ``RaftLog.handed``: they are in this Ready's or an earlier Ready's writes.
* Several Readys may be in flight: each hands out only what earlier ones did not, and
  anything a message depends on is durable through the Ready it rides in or an earlier one
  (writes complete in order).

Role behaviour lives in ``_step_leader``, ``_step_candidate`` and ``_step_follower``;
term handling common to all roles is in ``step``.
"""

from __future__ import annotations

import random
from collections import deque

from msgspec.structs import replace

from . import codec
from .config import Config, SnapshotSource
from .log import RaftLog
from .membership import MembershipHistory, validate_conf_change
from .messages import (
    CAMPAIGN_TRANSFER,
    Accepted,
    ConfChange,
    ConfChangeOp,
    Dropped,
    Entry,
    EntryType,
    HardState,
    Membership,
    Message,
    MessageType,
    NotLeader,
    ProposalResult,
    ReadState,
    Ready,
    Role,
    SnapshotChunk,
    SnapshotMeta,
    SoftState,
    TooManyUncommitted,
    members,
)
from .progress import FollowerProgress, ProgressState
from .quorum import VoteResult, committed_index, has_quorum, majority, vote_result
from .readindex import ReadIndexQueue

# The hot paths read enum members through plain classes (see ``members``): these names
# stand for the enums in this module and give the same member objects.
MT = members(MessageType)
Role = members(Role)  # type: ignore[misc]
EntryType = members(EntryType)  # type: ignore[misc]
ProgressState = members(ProgressState)  # type: ignore[misc]
VoteResult = members(VoteResult)  # type: ignore[misc]


def bootstrap_entries(membership: Membership) -> list[Entry]:
    """The log every founding node of a new cluster starts with (term 1, committed).

    Writing the founding membership into the log, rather than only into each node's
    configuration, lets a node added later learn it by replicating the log.
    """
    ents: list[Entry] = []
    for nid in sorted(membership.voters | membership.learners):
        cc = ConfChange(ConfChangeOp.ADD_LEARNER, nid, membership.addresses.get(nid, ""))
        ents.append(Entry(len(ents) + 1, 1, EntryType.CONF_CHANGE, codec.encode_conf_change(cc)))
        if nid in membership.voters:
            cc = ConfChange(ConfChangeOp.PROMOTE, nid, "")
            ents.append(Entry(len(ents) + 1, 1, EntryType.CONF_CHANGE, codec.encode_conf_change(cc)))
    return ents


class RaftNode:
    def __init__(
        self,
        config: Config,
        rng: random.Random,
        *,
        hard_state: HardState | None = None,
        snapshot: SnapshotMeta | None = None,
        entries: list[Entry] | tuple[Entry, ...] = (),
        bootstrap_membership: Membership | None = None,
        snapshot_source: SnapshotSource | None = None,
    ):
        self.config = config
        self.id = config.id
        self._rng = rng
        self._snapshot_source = snapshot_source
        hs = hard_state or HardState()
        snap_index = snapshot.index if snapshot else 0
        self.log = RaftLog(snap_index, snapshot.term if snapshot else 0, list(entries))
        # The newest local snapshot: what a leader streams to a follower that needs it.
        self.snapshot_meta: SnapshotMeta | None = snapshot
        self._history = MembershipHistory(snap_index, snapshot.membership if snapshot else Membership())
        self.term = hs.term
        self.vote = hs.vote
        fresh = hard_state is None or hard_state == HardState()
        if bootstrap_membership is not None and fresh and snapshot is None and not entries:
            boot = bootstrap_entries(bootstrap_membership)
            self.log.append(boot)  # unstable: the first Ready persists them
            self.term = 1
            self.log.committed = len(boot)
        else:
            self.log.commit_to(max(hs.commit, snap_index))
        self._note_conf_entries(self.log.slice(self.log.first_index, self.log.last_index))

        self.role = Role.FOLLOWER
        self.leader_id = 0
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = config.election_tick
        self.progress: dict[int, FollowerProgress] = {}
        self._votes: dict[int, bool] = {}
        self.lead_transferee = 0
        # Whether this leader started handing leadership over in its term: a TimeoutNow lets
        # the target campaign at once, past its voters' leases (see read leases in server/node.py).
        self.handing_over = False
        # Ticks since this node started, counted up to vote_quiet_ticks.
        self._ticks_since_start = 0
        # Ticks since a leader last reached this node (an append, a heartbeat, a snapshot
        # chunk, or part of a large message), counted up to election_tick. Unlike
        # election_elapsed and leader_id, a change of term does not reset it: the promise a
        # follower makes by acknowledging a leader (no vote for anyone else for an election
        # timeout, which read leases count on) outlives a higher term learnt from a message
        # that is not a leader's, such as a late pre-vote rejection.
        self._since_leader = config.election_tick
        self._reads = ReadIndexQueue(self.id)
        # Reads forwarded to the leader: request id -> (token, leader asked). Ids start at a
        # random point so that an answer meant for this node before a restart cannot be
        # taken for the answer to a new request.
        self._forwarded_reads: dict[int, tuple[object, int]] = {}
        self._next_read_ctx = rng.getrandbits(48) + 1
        self._uncommitted_bytes = 0
        # Snapshot being received: [meta, next expected offset].
        self._snap_recv: list | None = None

        # Output not yet handed to the driver.
        self._msgs: list[Message] = []
        self._msgs_after_persist: list[Message] = []
        self._read_states: list[ReadState] = []
        self._chunks: list[SnapshotChunk] = []
        self._pending_snapshot: SnapshotMeta | None = None

        # What the driver has seen / made durable.
        self._prev_soft = SoftState(Role.FOLLOWER, 0)
        self._prev_hard = hs
        self._persisted_term = hs.term
        # Readys handed out whose durability work is not done yet, oldest first, each with
        # the restore generation it was made in (a snapshot received since makes its
        # entries moot). The driver may have several in flight; it advances them in order.
        self._unadvanced: deque[tuple[Ready, int]] = deque()
        self._restores = 0
        self._snapshot_handed: SnapshotMeta | None = None
        self._commit_dirty = False  # leader: followers have not been sent the newest commit

        self._become_follower(self.term, 0)

    # --- what the server shows ---------------------------------------------------------

    @property
    def commit(self) -> int:
        return self.log.committed

    @property
    def applied(self) -> int:
        return self.log.applied

    @property
    def membership(self) -> Membership:
        return self._history.current

    @property
    def pending_conf_change(self) -> int:
        """Index of the membership change appended but not committed yet; 0 if none."""
        idx = self._history.last_change_index
        return idx if idx > self.log.committed else 0

    @property
    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.log.committed)

    @property
    def soft_state(self) -> SoftState:
        return SoftState(self.role, self.leader_id)

    def promotable(self) -> bool:
        """May this node campaign? Voters may. So may a voter whose removal is appended but
        not committed: it may be the only one with the removal entry, and then the cluster
        needs it to win an election (with the new voters' votes, not its own) to commit it
        (Ongaro's dissertation, 4.2.2). Learners and removed nodes never campaign."""
        if self._pending_snapshot is not None:
            return False
        if self.id in self._history.current.voters:
            return True
        pending = self.pending_conf_change
        return bool(pending) and self.id in self._history.at(pending - 1).voters

    # --- inputs ------------------------------------------------------------------------

    def tick(self) -> None:
        if self._ticks_since_start < self.config.vote_quiet_ticks:
            self._ticks_since_start += 1
        if self._since_leader < self.config.election_tick:
            self._since_leader += 1
        if self.role == Role.LEADER:
            self._tick_leader()
        else:
            self.election_elapsed += 1
            if self.election_elapsed >= self.randomized_election_timeout and self.promotable():
                self.election_elapsed = 0
                # While quiet after start it helps elect nobody, itself included: it may have
                # acknowledged a leader's round just before it restarted (vote_quiet_ticks).
                if self._ticks_since_start >= self.config.vote_quiet_ticks:
                    self.campaign()

    def heard_from(self, peer: int) -> None:
        """The transport saw part of a message from ``peer`` arrive, one too large to cross
        between two heartbeats (a big entry): the heartbeats queued behind it cannot show
        the leader alive meanwhile, so its bytes arriving do. A follower then neither
        campaigns nor, when a tick passed since it last did so, lets its leader think it
        gone: it answers with a heartbeat response marked ``reject`` (still receiving),
        which keeps check quorum from stepping the leader down while its followers read and
        does nothing else (no read round counts it, no probe goes again). Nothing else changes: the follower refuses other candidates for longer, which a
        read lease only gains from."""
        if self.role == Role.FOLLOWER and peer == self.leader_id and peer != 0:
            if self.election_elapsed:
                self._send(Message(MT.HEARTBEAT_RESP, peer, self.id, self.term, reject=True))
            self.election_elapsed = 0
            self._since_leader = 0

    def campaign_at_start(self) -> bool:
        """Call once, before any other input: a node that is its configuration's only voter
        elects itself now instead of after an election timeout, as nobody else can win (etcd
        does the same for a single-member cluster). A restarted single node serves again as
        soon as it has read its log. Not while the node keeps a vote promise from its previous
        run (``vote_quiet_ticks``): a leader's lease may count on it. Returns whether it ran."""
        if (self.config.vote_quiet_ticks or self.role != Role.FOLLOWER or not self._single_voter()
                or not self.promotable()):
            return False
        self.campaign()
        return True

    def campaign(self, transfer: bool = False, pre_voted: bool = False) -> None:
        """Start an election now: pre-vote first, unless disabled, already won (``pre_voted``)
        or a transfer. Only a transfer's votes carry CAMPAIGN_TRANSFER, which voters grant
        past check-quorum's stickiness: a vote after a won pre-vote must respect it, as a
        voter that acknowledged the leader since it granted the pre-vote may hold up that
        leader's read lease."""
        if not self.promotable():
            return
        if self.config.pre_vote and not transfer and not pre_voted:
            self._become_pre_candidate()
            vote_type, term = MT.PRE_VOTE, self.term + 1
        else:
            self._become_candidate()
            vote_type, term = MT.VOTE, self.term
        if self._poll(self.id, True) == VoteResult.WON:
            # A single voter wins at once.
            if vote_type == MT.PRE_VOTE:
                self.campaign(pre_voted=True)
            else:
                self._become_leader()
            return
        ctx = CAMPAIGN_TRANSFER if transfer else 0
        for v in sorted(self._history.current.voters):
            if v != self.id:
                self._send(
                    Message(
                        vote_type,
                        v,
                        self.id,
                        term,
                        log_term=self.log.last_term,
                        index=self.log.last_index,
                        context=ctx,
                    )
                )

    def propose(self, datas: list[bytes] | tuple[bytes, ...]) -> ProposalResult:
        """Append NORMAL entries, one per payload, if this node is the leader."""
        refusal = self._proposal_refusal()
        if refusal is not None:
            return refusal
        if not datas:
            return Dropped("empty proposal")
        size = 0
        for d in datas:
            size += len(d)
        if self._uncommitted_bytes and self._uncommitted_bytes + size > self.config.max_uncommitted_bytes:
            return TooManyUncommitted()
        first = self.log.last_index + 1
        term = self.term
        normal = EntryType.NORMAL
        ents = [Entry(first + i, term, normal, d) for i, d in enumerate(datas)]
        self.log.append(ents)
        self._uncommitted_bytes += size
        self._bcast_append()
        return Accepted(first, first + len(ents) - 1)

    def propose_conf_change(self, cc: ConfChange) -> ProposalResult:
        """Append a single-server membership change. One at a time, and only once this
        leader has committed an entry of its own term (the known fix for single-server
        changes: an older leader's uncommitted change can then never come back)."""
        refusal = self._proposal_refusal()
        if refusal is not None:
            return refusal
        if not self._conf_change_allowed_by_commit():
            return Dropped("no entry of the current term committed yet")
        if self.pending_conf_change:
            return Dropped("a membership change is already in progress")
        why = validate_conf_change(self.membership, cc)
        if why is not None:
            return Dropped(why)
        index = self.log.last_index + 1
        self._append_own([Entry(index, self.term, EntryType.CONF_CHANGE, codec.encode_conf_change(cc))])
        self._sync_progress()
        self._maybe_commit()
        self._bcast_append()
        return Accepted(index, index)

    def read_index(self, token: object) -> bool:
        """Ask for a linearizable read index. The answer comes as ``ReadState(token, index)``
        in a later Ready. False when no leader is known (the driver answers -CLUSTERDOWN).
        A request can also get lost (leader change, dropped message): the driver times out."""
        if self.role == Role.LEADER:
            self._leader_read(0, token)
            return True
        if self.leader_id == 0:
            return False
        ctx = self._next_read_ctx
        self._next_read_ctx += 1
        self._forwarded_reads[ctx] = (token, self.leader_id)
        self._send(Message(MT.READ_INDEX, self.leader_id, self.id, self.term, context=ctx))
        return True

    def transfer_leadership(self, target: int) -> bool:
        """Hand leadership to ``target`` (a voter). Proposals are refused until it completes
        or aborts (after one election timeout). False if not possible from here."""
        if self.role != Role.LEADER or target == self.id or target not in self.membership.voters:
            return False
        if self.lead_transferee == target:
            return True
        self.lead_transferee = target
        self.election_elapsed = 0
        pr = self.progress.get(target)
        if pr is None:
            self.lead_transferee = 0
            return False
        self.handing_over = True
        if pr.match == self.log.last_index:
            self._send(Message(MT.TIMEOUT_NOW, target, self.id, self.term))
        else:
            self._send_append(target)
        return True

    def abort_transfer(self) -> bool:
        """Stop a leadership transfer under way (proposals are taken again); False if none
        was. The target may still win, if TIMEOUT_NOW already went to it; and the leader
        stays handing over for the rest of its term (read leases)."""
        if self.role != Role.LEADER or not self.lead_transferee:
            return False
        self.lead_transferee = 0
        return True

    def snapshot_meta_at(self, index: int) -> SnapshotMeta:
        """The meta for a snapshot of the state machine at ``index`` (<= applied)."""
        if index < self.log.snapshot_index or index > self.log.applied:
            raise ValueError(f"no snapshot possible at {index}")
        term = self.log.term_at(index)
        assert term is not None
        return SnapshotMeta(index, term, self._history.at(index))

    def compact(self, meta: SnapshotMeta) -> None:
        """The application made a durable snapshot at ``meta``: drop the log prefix."""
        if meta.index <= self.log.snapshot_index:
            return
        self.log.compact(meta.index, meta.term)
        self._history.compact(meta.index, meta.membership)
        self.snapshot_meta = meta

    def step(self, m: Message) -> None:
        if m.to != self.id:
            return
        t = m.type
        if m.term > self.term:
            if t == MT.VOTE or t == MT.PRE_VOTE:
                if m.context != CAMPAIGN_TRANSFER and self._keeping_promise():
                    return  # leader stickiness: we heard from a live leader recently
            if t == MT.PRE_VOTE or (t == MT.PRE_VOTE_RESP and not m.reject):
                pass  # pre-votes never change the term
            elif t == MT.APPEND or t == MT.HEARTBEAT or t == MT.INSTALL_SNAPSHOT:
                self._become_follower(m.term, m.from_)
            elif t == MT.VOTE and self.role != Role.LEADER:
                # The election timer goes on: only a vote granted restarts it (Raft, figure 2).
                # A candidate whose log is behind, campaigning again and again without pre-vote,
                # would otherwise keep the node that could win from ever timing out.
                elapsed = self.election_elapsed
                self._become_follower(m.term, 0)
                self.election_elapsed = elapsed
            else:
                self._become_follower(m.term, 0)
        elif m.term < self.term:
            if t == MT.APPEND or t == MT.HEARTBEAT:
                # A stale leader: tell it the current term so it steps down. Without this a
                # leader partitioned away could keep its followers' pre-votes failing forever.
                self._send(Message(MT.APPEND_RESP, m.from_, self.id, self.term))
            elif t == MT.PRE_VOTE:
                self._send(Message(MT.PRE_VOTE_RESP, m.from_, self.id, self.term, reject=True))
            return

        if t == MT.VOTE or t == MT.PRE_VOTE:
            self._handle_vote_request(m)
        elif self.role == Role.LEADER:
            self._step_leader(m)
        elif self.role == Role.FOLLOWER:
            self._step_follower(m)
        else:
            self._step_candidate(m)

    # --- output ------------------------------------------------------------------------

    def has_ready(self) -> bool:
        log = self.log
        pending = self._pending_snapshot
        return bool(
            self._msgs
            or self._msgs_after_persist
            or log.handed < log.last_index
            or (pending is None and log.has_next_committed())
            or self._read_states
            or self._chunks
            or (pending is not None and pending is not self._snapshot_handed)
            or self._soft_changed()
            or self._hard_changed()
            or (self.role == Role.LEADER and self._reads.has_queued() and self._read_round_due())
        )

    # Field comparisons: has_ready and ready run several times per batch, and building the
    # state objects just to compare them showed up in profiles.
    def _soft_changed(self) -> bool:
        prev = self._prev_soft
        return self.role != prev.role or self.leader_id != prev.leader_id

    def _hard_changed(self) -> bool:
        prev = self._prev_hard
        return self.term != prev.term or self.vote != prev.vote or self.log.committed != prev.commit

    def ready(self) -> Ready:
        """The next batch of work. May be called again before earlier Readys are advanced
        (their writes in flight): each Ready holds only what no earlier one handed out.
        ``committed_entries`` count as applied once handed out; the driver applies them
        before it calls into the core again."""
        if self.role == Role.LEADER:
            if self._commit_dirty:
                self._flush_commit()
            if self._read_round_due():
                self._start_read_round()
        soft = self.soft_state if self._soft_changed() else None
        hard = self.hard_state if self._hard_changed() else None
        msgs, after = self._msgs, self._msgs_after_persist
        if self.term > self._persisted_term:
            after = msgs + after
            msgs = []
        log = self.log
        snapshot = self._pending_snapshot
        if snapshot is not None and snapshot is self._snapshot_handed:
            snapshot = None
        entries = log.take_unstable()
        if self._pending_snapshot is None:
            # Nothing after a received snapshot is applied before the snapshot is in place.
            committed = log.next_committed()
            if committed:
                log.applied_to(committed[-1].index)
        else:
            committed = []
        rd = Ready(
            soft_state=soft,
            hard_state=hard,
            entries=tuple(entries),
            snapshot=snapshot,
            snapshot_chunks=tuple(self._chunks),
            messages=tuple(msgs),
            persisted_messages=tuple(after),
            committed_entries=tuple(committed),
            read_states=tuple(self._read_states),
        )
        self._msgs = []
        self._msgs_after_persist = []
        self._chunks = []
        self._read_states = []
        if soft is not None:
            self._prev_soft = soft
        if hard is not None:
            self._prev_hard = hard
        if snapshot is not None:
            self._snapshot_handed = snapshot
        if rd.hard_state is not None or rd.entries or rd.snapshot is not None:
            self._unadvanced.append((rd, self._restores))
        return rd

    @staticmethod
    def needs_advance(rd: Ready) -> bool:
        """Whether ``advance(rd)`` has anything to do (a Ready holding only messages to send
        at once, entries to apply and read states is done when handed out)."""
        return rd.hard_state is not None or bool(rd.entries) or rd.snapshot is not None

    def advance(self, rd: Ready) -> None:
        """The driver made ``rd``'s hard state, entries and snapshot durable (and sent its
        persisted messages, and installed its snapshot). Readys are advanced in the order
        they were handed out; advancing one that needs nothing is allowed and does nothing."""
        if not self.needs_advance(rd):
            return
        if not self._unadvanced or self._unadvanced[0][0] is not rd:
            raise RuntimeError("advance() out of order: not the oldest Ready in flight")
        _, generation = self._unadvanced.popleft()
        log = self.log
        if rd.hard_state is not None:
            self._persisted_term = max(self._persisted_term, rd.hard_state.term)
        if rd.snapshot is not None:
            if rd.snapshot is self._pending_snapshot:
                self._pending_snapshot = None
            if rd.snapshot is self._snapshot_handed:
                self._snapshot_handed = None
        if rd.entries and generation == self._restores:
            last = rd.entries[-1]
            log.stable_to(last.index, last.term)
        if self.role == Role.LEADER:
            pr = self.progress.get(self.id)
            if pr is not None and pr.maybe_update(log.stable) and self._maybe_commit():
                self._bcast_commit()

    # --- role transitions --------------------------------------------------------------

    def _reset(self, term: int) -> None:
        if term != self.term:
            self.term = term
            self.vote = 0
            self._forwarded_reads.clear()
        self.leader_id = 0
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = self._rng.randrange(
            self.config.election_tick, 2 * self.config.election_tick
        )
        self.lead_transferee = 0
        self._votes = {}
        self.progress = {}
        self._commit_dirty = False
        self._reads.clear()
        self._uncommitted_bytes = 0

    def _become_follower(self, term: int, leader: int) -> None:
        self._reset(term)
        self.role = Role.FOLLOWER
        self.leader_id = leader

    def _become_pre_candidate(self) -> None:
        # Neither the term nor the vote changes: a pre-vote that fails leaves no trace.
        self.role = Role.PRE_CANDIDATE
        self.leader_id = 0
        self.randomized_election_timeout = self._rng.randrange(
            self.config.election_tick, 2 * self.config.election_tick
        )
        self._votes = {}
        self.progress = {}
        self._reads.clear()

    def _become_candidate(self) -> None:
        self._reset(self.term + 1)
        self.vote = self.id
        self.role = Role.CANDIDATE

    def _become_leader(self) -> None:
        self._reset(self.term)
        self.handing_over = False
        self.role = Role.LEADER
        self.leader_id = self.id
        self._sync_progress()
        # The term-start no-op: committing it commits everything before it, and until it
        # commits this leader serves no reads and accepts no membership change.
        self._append_own([Entry(self.log.last_index + 1, self.term, EntryType.NORMAL, b"")])
        self._bcast_append()

    def _poll(self, voter: int, granted: bool) -> VoteResult:
        self._votes.setdefault(voter, granted)
        return vote_result(self._history.current.voters, self._votes)

    # --- sending -----------------------------------------------------------------------

    def _send(self, m: Message) -> None:
        self._msgs.append(m)

    def _send_after_persist(self, m: Message) -> None:
        self._msgs_after_persist.append(m)

    def _send_append(self, to: int, send_empty: bool = True) -> bool:
        """Send the follower what it needs next, if its progress allows. True if sent."""
        pr = self.progress.get(to)
        if pr is None or pr.is_paused():
            return False
        log = self.log
        last = log.last_index
        if pr.next > last + 1:
            pr.next = last + 1
        prev = pr.next - 1
        prev_term = log.term_at(prev)
        if prev_term is None:
            return self._start_snapshot(to, pr)
        if pr.next <= last:
            ents = log.slice(pr.next, last, self.config.max_size_per_msg)
        else:
            if not send_empty:
                return False
            ents = []
        self._send(
            Message(
                MT.APPEND,
                to,
                self.id,
                self.term,
                log_term=prev_term,
                index=prev,
                commit=log.committed,
                entries=tuple(ents),
            )
        )
        if ents and pr.state == ProgressState.REPLICATE:
            li = ents[-1].index
            pr.optimistic_update(li)
            pr.inflights.add(li)
        elif pr.state == ProgressState.PROBE:
            pr.probe_sent = True
        return True

    def _bcast_append(self) -> None:
        for nid in self.progress:
            if nid != self.id:
                self._send_append(nid)

    def _bcast_commit(self) -> None:
        """The commit index moved. Followers learn it from the next AppendEntries: send what
        entries they need now; ``_flush_commit`` (at ``ready``) gives the new index to the
        appends of this Ready and an empty append to a follower that gets none, so one
        message carries both under load."""
        for nid in self.progress:
            if nid != self.id:
                self._send_append(nid, send_empty=False)
        self._commit_dirty = True

    def _flush_commit(self) -> None:
        self._commit_dirty = False
        commit = self.log.committed
        msgs = self._msgs
        got = set()
        for i, m in enumerate(msgs):
            if m.type == MT.APPEND:
                got.add(m.to)
                if m.commit < commit:
                    # Safe: a follower commits min(commit, last entry of this message), and
                    # after taking the message its log matches ours up to that entry.
                    msgs[i] = replace(m, commit=commit)
        for nid in self.progress:
            if nid != self.id and nid not in got:
                self._send_append(nid)

    def _bcast_heartbeat(self, ctx: int) -> None:
        for nid in self.progress:
            if nid != self.id:
                self._send_heartbeat(nid, ctx)

    def _send_heartbeat(self, to: int, ctx: int) -> None:
        # A follower may lack entries up to our commit index: it learns at most its match.
        commit = min(self.progress[to].match, self.log.committed)
        self._send(Message(MT.HEARTBEAT, to, self.id, self.term, commit=commit, context=ctx))

    def _start_snapshot(self, to: int, pr: FollowerProgress) -> bool:
        meta = self.snapshot_meta
        if meta is None or self._snapshot_source is None:
            return False
        pr.become_snapshot(meta, self._snapshot_source.size(meta))
        self._send_snapshot_chunks(to, pr)
        return True

    def _send_snapshot_chunks(self, to: int, pr: FollowerProgress) -> None:
        meta = pr.snapshot
        src = self._snapshot_source
        if meta is None or src is None:
            return
        chunk = self.config.snapshot_chunk_size
        limit = self.config.snapshot_window * chunk
        while not pr.snapshot_done_sent and pr.snapshot_sent - pr.snapshot_acked < limit:
            off = pr.snapshot_sent
            try:
                data = src.read_chunk(meta, off, chunk)
            except LookupError:
                # The snapshot being streamed was replaced by a newer one and is gone: start
                # the transfer over with the newest (the follower drops a partial one when a
                # chunk at offset 0 arrives).
                newest = self.snapshot_meta
                if newest is None or newest.index <= meta.index:
                    return
                pr.become_snapshot(newest, src.size(newest))
                meta = newest
                continue
            done = off + len(data) >= pr.snapshot_size
            if not data and not done:
                break
            self._send(
                Message(
                    MT.INSTALL_SNAPSHOT, to, self.id, self.term, snapshot=meta, offset=off, data=data, done=done
                )
            )
            pr.snapshot_sent = off + len(data)
            pr.snapshot_done_sent = done

    # --- leader ------------------------------------------------------------------------

    def _proposal_refusal(self) -> ProposalResult | None:
        if self.role != Role.LEADER:
            return NotLeader(self.leader_id)
        if self.lead_transferee:
            return Dropped("leadership transfer in progress")
        if self.id not in self.membership.voters:
            return Dropped("this leader is being removed from the cluster")
        return None

    def _append_own(self, ents: list[Entry]) -> None:
        self.log.append(ents)
        self._note_conf_entries(ents)

    def _sync_progress(self) -> None:
        """Make ``progress`` match the membership: new members start probing at our end."""
        m = self.membership
        members = m.voters | m.learners
        for nid in list(self.progress):
            if nid not in members:
                del self.progress[nid]
                if nid == self.lead_transferee:
                    self.lead_transferee = 0
        nxt = self.log.last_index + 1
        for nid in members:
            pr = self.progress.get(nid)
            if pr is None:
                pr = FollowerProgress(nxt, self.config.max_inflight, nid in m.learners)
                self.progress[nid] = pr
                if nid == self.id:
                    pr.match = self.log.stable
                    pr.next = nxt
                    pr.recent_active = True
            else:
                pr.is_learner = nid in m.learners

    def _conf_change_allowed_by_commit(self) -> bool:
        return self._own_term_committed()

    def _own_term_committed(self) -> bool:
        return self.log.term_at(self.log.committed) == self.term

    def _maybe_commit(self) -> bool:
        """Advance the commit index to what a majority has, but only by counting entries of
        the current term: an older entry on a majority can still be overwritten (Raft §5.4.2,
        figure 8). Older entries commit along with the first current-term one."""
        prs = self.progress
        match = {nid: pr.match for nid, pr in prs.items()}
        idx = committed_index(self.membership.voters, match)
        log = self.log
        if idx > log.committed and self._may_commit_at(idx):
            old = log.committed
            log.commit_to(idx)
            self._on_commit_advanced(old)
            return True
        return False

    def _may_commit_at(self, idx: int) -> bool:
        return self.log.term_at(idx) == self.term

    def _on_commit_advanced(self, old: int) -> None:
        log = self.log
        new = log.committed
        if self._uncommitted_bytes:
            freed = 0
            term = self.term
            for e in log.slice(old + 1, new):
                if e.term == term:
                    freed += len(e.data)
            self._uncommitted_bytes = max(0, self._uncommitted_bytes - freed)
        if log.term_at(new) == self.term:
            self._reads.own_term_committed()
        if self.id not in self.membership.voters and self._history.last_change_index <= new:
            self._step_down_removed()

    def _step_down_removed(self) -> None:
        """Our own removal committed: stop leading. Hand over to the most caught-up voter
        so the cluster does not wait out an election timeout."""
        best, best_match = 0, -1
        for nid in sorted(self.membership.voters):
            pr = self.progress.get(nid)
            if pr is not None and pr.match > best_match:
                best, best_match = nid, pr.match
        if best and best_match == self.log.last_index:
            self.handing_over = True
            self._send(Message(MT.TIMEOUT_NOW, best, self.id, self.term))
        self._become_follower(self.term, 0)

    def _single_voter(self) -> bool:
        v = self.membership.voters
        return len(v) == 1 and self.id in v

    def _leader_read(self, requester: int, token: object) -> None:
        if self._single_voter() and self._own_term_committed():
            self._release_reads([(requester, token)], self.log.committed)
            return
        self._reads.add(requester, token, self._own_term_committed())

    def _read_round_due(self) -> bool:
        reads = self._reads
        if self._single_voter():
            return reads.has_queued()
        return reads.can_start(self.config.max_read_rounds)

    def _start_read_round(self) -> None:
        if self._single_voter():
            for requester, token, index in self._reads.take_rounds():
                self._deliver_read(requester, token, index)
            self._release_reads(self._reads.take_queued(), self.log.committed)
            return
        ctx = self._reads.start_round(self.log.committed)
        if self.config.read_round_to_quorum:
            self._send_read_round(ctx)
        else:
            self._bcast_heartbeat(ctx)

    def _send_read_round(self, ctx: int) -> None:
        """A read round needs the answers of a majority of voters, the leader included: send
        its heartbeat to just enough voters, those that answered the newest round first
        (ties by id). The rest are not woken for it. If one of them does not answer, the
        next periodic heartbeat, which carries the newest round's context and goes to every
        follower, completes the round, and the ones that answered it are asked next time."""
        voters = self.membership.voters
        need = majority(len(voters)) - (1 if self.id in voters else 0)
        prs = self.progress
        others = [nid for nid in voters if nid != self.id and nid in prs]
        if need >= len(others):
            self._bcast_heartbeat(ctx)
            return
        others.sort(key=lambda nid: (-prs[nid].read_ctx, nid))
        for nid in others[:need]:
            self._send_heartbeat(nid, ctx)

    def _release_reads(self, reqs: list, index: int) -> None:
        for requester, token in reqs:
            self._deliver_read(requester, token, index)

    def _deliver_read(self, requester: int, token: object, index: int) -> None:
        if requester == 0 or requester == self.id:
            self._read_states.append(ReadState(token, index))
        else:
            assert isinstance(token, int)
            self._send(Message(MT.READ_INDEX_RESP, requester, self.id, self.term, index=index, context=token))

    def _tick_leader(self) -> None:
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        cfg = self.config
        for nid, pr in self.progress.items():
            if pr.state == ProgressState.SNAPSHOT and nid != self.id:
                pr.snapshot_idle_ticks += 1
                if pr.snapshot_idle_ticks >= cfg.snapshot_resend_ticks:
                    pr.rewind_snapshot(pr.snapshot_acked)
                    self._send_snapshot_chunks(nid, pr)
        if self.election_elapsed >= cfg.election_tick:
            self.election_elapsed = 0
            if cfg.check_quorum:
                active = [nid for nid, pr in self.progress.items() if pr.recent_active or nid == self.id]
                for nid, pr in self.progress.items():
                    if nid != self.id:
                        pr.recent_active = False
                if not has_quorum(self.membership.voters, active):
                    self._become_follower(self.term, 0)
                    return
            if self.lead_transferee:
                self.lead_transferee = 0  # the transfer did not finish in time
        if self.heartbeat_elapsed >= cfg.heartbeat_tick:
            self.heartbeat_elapsed = 0
            self._bcast_heartbeat(self._reads.latest_ctx())

    def _step_leader(self, m: Message) -> None:
        t = m.type
        if t == MT.READ_INDEX:
            if m.from_ in self.progress:
                self._leader_read(m.from_, m.context)
            return
        pr = self.progress.get(m.from_)
        if pr is None or m.from_ == self.id:
            return
        if t == MT.APPEND_RESP:
            pr.recent_active = True
            self._handle_append_resp(m, pr)
        elif t == MT.HEARTBEAT_RESP:
            pr.recent_active = True
            if m.reject:
                # Sent by heard_from: alive and still receiving what it was sent. Nothing is
                # sent again (a probe still on its way must not go twice).
                return
            pr.probe_sent = False
            if pr.state == ProgressState.REPLICATE and pr.inflights.full():
                # An append may have been lost; free a slot so replication can go on.
                pr.inflights.free_first_one()
            if pr.match < self.log.last_index:
                self._send_append(m.from_)
            if m.context:
                if m.context > pr.read_ctx:
                    pr.read_ctx = m.context
                released = self._reads.ack(m.from_, m.context, self.membership.voters)
                for requester, token, index in released:
                    self._deliver_read(requester, token, index)
        elif t == MT.INSTALL_SNAPSHOT_RESP:
            pr.recent_active = True
            self._handle_snapshot_resp(m, pr)

    def _handle_append_resp(self, m: Message, pr: FollowerProgress) -> None:
        if m.reject:
            next_probe = m.reject_hint
            if m.log_term > 0:
                next_probe, _ = self.log.find_conflict_by_term(m.reject_hint, m.log_term)
            if pr.maybe_decr_to(m.index, next_probe):
                if pr.state == ProgressState.REPLICATE:
                    pr.become_probe()
                self._send_append(m.from_)
            return
        was_paused = pr.is_paused()
        if not pr.maybe_update(m.index):
            return
        if pr.state == ProgressState.PROBE:
            pr.become_replicate()
        elif pr.state == ProgressState.SNAPSHOT:
            if pr.snapshot is None or pr.match >= pr.snapshot.index:
                pr.become_probe()
        else:
            pr.inflights.free_le(m.index)
        if self._maybe_commit():
            if self.role != Role.LEADER:
                return
            self._bcast_commit()
        elif was_paused:
            self._send_append(m.from_)
        while self._send_append(m.from_, send_empty=False):
            pass
        if m.from_ == self.lead_transferee and pr.match == self.log.last_index:
            self._send(Message(MT.TIMEOUT_NOW, m.from_, self.id, self.term))

    def _handle_snapshot_resp(self, m: Message, pr: FollowerProgress) -> None:
        snap = pr.snapshot
        if pr.state != ProgressState.SNAPSHOT or snap is None or m.index != snap.index:
            if m.done and not m.reject and pr.maybe_update(m.index) and self._maybe_commit():
                self._bcast_commit()
            return
        pr.snapshot_idle_ticks = 0
        if m.done and not m.reject:
            pr.maybe_update(m.index)
            pr.become_probe()
            if self._maybe_commit():
                self._bcast_commit()
            else:
                self._send_append(m.from_)
            return
        if m.reject:
            latest = self.snapshot_meta
            if m.offset == 0 and latest is not None and latest.index > snap.index and self._snapshot_source:
                pr.become_snapshot(latest, self._snapshot_source.size(latest))
            else:
                pr.rewind_snapshot(m.offset)
        elif m.offset > pr.snapshot_acked:
            pr.snapshot_acked = m.offset
        self._send_snapshot_chunks(m.from_, pr)

    # --- candidate ---------------------------------------------------------------------

    def _handle_vote_request(self, m: Message) -> None:
        pre = m.type == MT.PRE_VOTE
        resp_type = MT.PRE_VOTE_RESP if pre else MT.VOTE_RESP
        can_vote = (
            self.vote == m.from_
            or (self.vote == 0 and self.leader_id == 0 and not self._promised_against(m))
            or (pre and m.term > self.term and not self._promised_against(m))
        )
        if can_vote and self._log_ok_for_vote(m):
            if pre:
                # Answer with the term asked about, so the pre-candidate counts it.
                self._send(Message(resp_type, m.from_, self.id, m.term))
            else:
                self.election_elapsed = 0
                self.vote = m.from_
                self._send_after_persist(Message(resp_type, m.from_, self.id, self.term))
        else:
            self._send(Message(resp_type, m.from_, self.id, self.term, reject=True))

    def _keeping_promise(self) -> bool:
        """Leader stickiness (with check quorum on): whether this node helps elect nobody
        now, because a leader reached it less than an election timeout ago (it may have
        answered that leader's read round, which a read lease counts on), because it leads
        and its check-quorum period is not over, or because it started less than
        ``vote_quiet_ticks`` ago (it may have answered a round just before it restarted)."""
        cfg = self.config
        return cfg.check_quorum and (
            (self.leader_id != 0 and self.election_elapsed < cfg.election_tick)
            or self._since_leader < cfg.election_tick
            or self._ticks_since_start < cfg.vote_quiet_ticks
        )

    def _promised_against(self, m: Message) -> bool:
        """The promise applied to the (pre-)vote request ``m``: a leadership transfer's
        campaign is exempt (the leader handing over gave up its lease)."""
        return m.context != CAMPAIGN_TRANSFER and self._keeping_promise()

    def _log_ok_for_vote(self, m: Message) -> bool:
        return self.log.is_up_to_date(m.index, m.log_term)

    def _step_candidate(self, m: Message) -> None:
        t = m.type
        if t == MT.APPEND or t == MT.HEARTBEAT or t == MT.INSTALL_SNAPSHOT:
            # Someone won this term.
            self._become_follower(self.term, m.from_)
            self._step_follower(m)
            return
        my_resp = MT.PRE_VOTE_RESP if self.role == Role.PRE_CANDIDATE else MT.VOTE_RESP
        if t == my_resp:
            res = self._poll(m.from_, not m.reject)
            if res == VoteResult.WON:
                if self.role == Role.PRE_CANDIDATE:
                    self.campaign(pre_voted=True)
                else:
                    self._become_leader()
            elif res == VoteResult.LOST:
                self._become_follower(self.term, 0)
        elif t == MT.READ_INDEX_RESP:
            self._handle_read_index_resp(m)

    # --- follower ----------------------------------------------------------------------

    def _step_follower(self, m: Message) -> None:
        t = m.type
        if t == MT.APPEND:
            self.election_elapsed = 0
            self._since_leader = 0
            self.leader_id = m.from_
            self._handle_append(m)
        elif t == MT.HEARTBEAT:
            self.election_elapsed = 0
            self._since_leader = 0
            self.leader_id = m.from_
            self.log.commit_to(m.commit)
            self._send(Message(MT.HEARTBEAT_RESP, m.from_, self.id, self.term, context=m.context))
        elif t == MT.INSTALL_SNAPSHOT:
            self.election_elapsed = 0
            self._since_leader = 0
            self.leader_id = m.from_
            self._handle_snapshot_chunk(m)
        elif t == MT.TIMEOUT_NOW:
            self.campaign(transfer=True)
        elif t == MT.READ_INDEX_RESP:
            self._handle_read_index_resp(m)
        elif t == MT.READ_INDEX:
            # Not the leader (any more); the asker times out and retries.
            pass

    def _handle_read_index_resp(self, m: Message) -> None:
        req = self._forwarded_reads.get(m.context)
        if req is None or req[1] != m.from_:
            return
        del self._forwarded_reads[m.context]
        if not m.reject:
            self._read_states.append(ReadState(req[0], m.index))

    def _handle_append(self, m: Message) -> None:
        log = self.log
        if m.index < log.committed:
            self._send_after_persist(Message(MT.APPEND_RESP, m.from_, self.id, self.term, index=log.committed))
            return
        if log.match_term(m.index, m.log_term):
            ents = m.entries
            last_new = m.index + len(ents)
            if ents:
                ci = log.find_conflict(ents)
                if ci:
                    new = ents[ci - ents[0].index :]
                    if ci <= log.last_index:
                        self._history.truncate(ci)
                        log.truncate_and_append(new)
                    else:
                        log.append(new)
                    self._note_conf_entries(new)
            log.commit_to(min(m.commit, last_new))
            self._send_after_persist(Message(MT.APPEND_RESP, m.from_, self.id, self.term, index=last_new))
        else:
            hint_index = min(m.index, log.last_index)
            hint_index, hint_term = log.find_conflict_by_term(hint_index, m.log_term)
            self._send(
                Message(
                    MT.APPEND_RESP,
                    m.from_,
                    self.id,
                    self.term,
                    index=m.index,
                    reject=True,
                    reject_hint=hint_index,
                    log_term=hint_term,
                )
            )

    def _note_conf_entries(self, ents: list[Entry] | tuple[Entry, ...]) -> None:
        conf = EntryType.CONF_CHANGE
        for e in ents:
            if e.type == conf:
                self._history.append(e.index, codec.decode_conf_change(e.data))

    def _handle_snapshot_chunk(self, m: Message) -> None:
        meta = m.snapshot
        if meta is None:
            return
        log = self.log
        if meta.index <= log.committed:
            self._snap_recv = None
            self._send_after_persist(Message(MT.APPEND_RESP, m.from_, self.id, self.term, index=log.committed))
            return
        if log.match_term(meta.index, meta.term):
            # We already have the entry the snapshot ends with, hence every entry before it:
            # keep our log (entries after it may be acked already) and just learn the commit.
            self._snap_recv = None
            log.commit_to(meta.index)
            self._send_after_persist(Message(MT.APPEND_RESP, m.from_, self.id, self.term, index=meta.index))
            return
        recv = self._snap_recv
        same = recv is not None and recv[0].index == meta.index and recv[0].term == meta.term
        if m.offset == 0:
            recv = self._snap_recv = [meta, 0]
        elif not same or recv is None or m.offset != recv[1]:
            if same and recv is not None and m.offset < recv[1]:
                # A duplicate of a chunk we have: tell the leader where we are.
                self._send(
                    Message(MT.INSTALL_SNAPSHOT_RESP, m.from_, self.id, self.term, index=meta.index, offset=recv[1])
                )
            else:
                expected = recv[1] if same and recv is not None else 0
                self._send(
                    Message(
                        MT.INSTALL_SNAPSHOT_RESP,
                        m.from_,
                        self.id,
                        self.term,
                        index=meta.index,
                        offset=expected,
                        reject=True,
                    )
                )
            return
        self._chunks.append(SnapshotChunk(meta, m.offset, m.data, m.done))
        recv[1] = m.offset + len(m.data)
        if m.done:
            self._snap_recv = None
            self._install_snapshot(meta)
        self._send_after_persist(
            Message(
                MT.INSTALL_SNAPSHOT_RESP,
                m.from_,
                self.id,
                self.term,
                index=meta.index,
                offset=recv[1],
                done=m.done,
            )
        )

    def _install_snapshot(self, meta: SnapshotMeta) -> None:
        self.log.restore(meta.index, meta.term)
        self._restores += 1
        self._history.reset(meta.index, meta.membership)
        self._pending_snapshot = meta
        self.snapshot_meta = meta
