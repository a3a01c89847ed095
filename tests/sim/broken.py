"""Deliberately broken cores, used only by tests to prove the simulator has teeth.

Each subclass breaks one rule Raft's safety depends on; the simulator must report a
violation for each within the CI seed budget (test_broken.py).
"""

from __future__ import annotations

from consensus.messages import HardState, Message
from consensus.node import RaftNode


class CommitOldTermEntries(RaftNode):
    """Commits by counting replicas of entries from earlier terms (Raft figure 8)."""

    def _may_commit_at(self, idx: int) -> bool:
        return True


class VoteIgnoringLog(RaftNode):
    """Grants votes without the election restriction (candidate's log up to date)."""

    def _log_ok_for_vote(self, m: Message) -> bool:
        return True


class ForgetVoteOnRestart(RaftNode):
    """Loses its vote across restarts, so it can vote twice in one term."""

    def __init__(self, config, rng, *, hard_state=None, **kw):
        if hard_state is not None:
            hard_state = HardState(hard_state.term, 0, hard_state.commit)
        super().__init__(config, rng, hard_state=hard_state, **kw)


class ReadWithoutHeartbeat(RaftNode):
    """Serves read indexes without confirming leadership with a heartbeat round."""

    def _start_read_round(self) -> None:
        self._release_reads(self._reads.take_queued(), self.log.committed)


class ConfChangeBeforeOwnCommit(RaftNode):
    """Accepts a membership change before committing an entry of its own term: the
    single-server change bug (raft-dev, 2015) that lets two disjoint majorities form."""

    def _conf_change_allowed_by_commit(self) -> bool:
        return True


class AckBeforePersist(RaftNode):
    """Sends append acknowledgements before the entries are durable."""

    def _send_after_persist(self, m: Message) -> None:
        self._send(m)


class VoteDuringLease(RaftNode):
    """Helps elect another leader while it keeps a promise to its own (no leader stickiness):
    a leader's read lease no longer holds."""

    def _keeping_promise(self) -> bool:
        return False


VARIANTS: dict[str, type[RaftNode]] = {
    "commit-old-term": CommitOldTermEntries,
    "vote-ignoring-log": VoteIgnoringLog,
    "forget-vote": ForgetVoteOnRestart,
    "read-without-heartbeat": ReadWithoutHeartbeat,
    "ack-before-persist": AckBeforePersist,
    "vote-during-lease": VoteDuringLease,
}
