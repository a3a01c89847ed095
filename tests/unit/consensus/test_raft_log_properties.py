"""RaftLog against a plain list model, under random operation sequences."""

from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.log import RaftLog
from consensus.messages import Entry

ops = st.lists(
    st.tuples(st.sampled_from(["append", "conflict", "commit", "hand", "stable", "apply", "compact"]),
              st.integers(0, 6), st.integers(0, 1000)),
    max_size=40,
)


@settings(max_examples=100, deadline=None)
@given(ops)
def test_log_matches_model_and_keeps_its_invariants(seq):
    log = RaftLog()
    model: dict[int, int] = {}  # index -> term, the whole log ever kept
    term = 1
    for op, k, r in seq:
        last = log.last_index
        if op == "append":
            term += r % 2
            ents = [Entry(last + 1 + i, term) for i in range(k + 1)]
            log.append(ents)
            model.update({e.index: e.term for e in ents})
        elif op == "conflict" and last > log.committed:
            at = log.committed + 1 + r % (last - log.committed)
            term += 1
            ents = [Entry(at + i, term) for i in range(k + 1)]
            log.truncate_and_append(ents)
            for i in list(model):
                if i >= at:
                    del model[i]
            model.update({e.index: e.term for e in ents})
        elif op == "commit" and last:
            log.commit_to(max(log.committed, r % (last + 1)))
        elif op == "hand":
            before = log.handed
            assert [e.index for e in log.take_unstable()] == list(range(before + 1, last + 1))
            assert log.handed == last
        elif op == "stable" and log.handed:
            # Only what was handed out can become durable.
            i = max(log.first_index, r % (log.handed + 1))
            t = log.term_at(i)
            if t is not None:
                log.stable_to(i, t)
        elif op == "apply":
            hi = min(log.committed, log.handed)
            if hi > log.applied:
                log.applied_to(log.applied + 1 + r % (hi - log.applied))
        elif op == "compact" and min(log.applied, log.stable) > log.snapshot_index:
            # Only what is applied and durable is cut (a snapshot covers it, and the log
            # never drops entries it does not hold durably).
            hi = min(log.applied, log.stable)
            i = log.snapshot_index + 1 + r % (hi - log.snapshot_index)
            log.compact(i, log.term_at(i))
        assert log.snapshot_index <= log.applied <= log.committed <= log.last_index
        assert log.snapshot_index <= log.stable <= log.handed <= log.last_index
        assert log.last_index == (max(model) if model else 0)
        for i in range(log.first_index, log.last_index + 1):
            assert log.term_at(i) == model[i]
        assert [e.index for e in log.unstable_entries()] == list(range(log.handed + 1, log.last_index + 1))
