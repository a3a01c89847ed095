"""NodeStorage: what a Ready's durability work writes, and when."""

from __future__ import annotations

from consensus.messages import Entry, HardState, Ready
from server.persistence import NodeStorage


def _open(path: str) -> NodeStorage:
    return NodeStorage(str(path), cluster_id="c1", node_id=1)


def _two_entries_then_deferred_commit(path: str, commit: int) -> NodeStorage:
    """Entries 1-2 of term 2 written with a vote for node 1, then commit ``commit`` deferred."""
    st = _open(path)
    st.persist_all([Ready(hard_state=HardState(2, 1, 0), entries=(Entry(1, 2), Entry(2, 2)))])
    st.defer([Ready(hard_state=HardState(2, 1, commit))])
    return st


def test_a_commit_only_hard_state_is_written_with_the_next_write(tmp_path):
    st = _open(tmp_path)
    st.persist_all([Ready(hard_state=HardState(2, 1, 0), entries=(Entry(1, 2, data=b"a"),))])
    size = st.wal._segments[-1].size
    commit_only = Ready(hard_state=HardState(2, 1, 1))
    assert not st.needs_sync(commit_only)
    st.defer([commit_only])
    assert st.wal._segments[-1].size == size  # nothing written for it by itself
    st.persist_all([Ready(entries=(Entry(2, 2, data=b"b"),))])
    st.wal.close()
    st = _open(tmp_path)
    hard, _, entries = st.recover(keyspace=None)
    assert hard == HardState(2, 1, 1)
    assert [e.index for e in entries] == [1, 2]
    st.close()


def test_a_newer_hard_state_replaces_the_deferred_one(tmp_path):
    st = _two_entries_then_deferred_commit(tmp_path, 1)
    st.persist_all([Ready(hard_state=HardState(3, 0, 2), entries=(Entry(3, 3),))])
    st.wal.close()
    st = _open(tmp_path)
    assert st.recover(keyspace=None)[0] == HardState(3, 0, 2)
    st.close()


def test_close_writes_the_deferred_commit_index(tmp_path):
    _two_entries_then_deferred_commit(tmp_path, 2).close()
    st = _open(tmp_path)
    assert st.recover(keyspace=None)[0] == HardState(2, 1, 2)
    st.close()


def test_a_crash_loses_only_the_deferred_commit_index(tmp_path):
    _two_entries_then_deferred_commit(tmp_path, 2).wal.close()  # the process dies: no NodeStorage.close
    st = _open(tmp_path)
    hard, _, entries = st.recover(keyspace=None)
    assert (hard.term, hard.vote) == (2, 1) and hard.commit == 0
    assert [e.index for e in entries] == [1, 2]
    st.close()


def test_a_snapshot_written_in_a_child_leaves_a_leader_snapshot_being_received_alone(tmp_path):
    """The child that writes the node's own snapshot opens a second store on the same
    directory; it must not delete the temporary file of a leader's snapshot the node is
    receiving meanwhile (the node's rename of it would fail, a fatal storage error)."""
    from consensus.messages import Membership, SnapshotChunk, SnapshotMeta
    from server.keyspace import Keyspace
    from server.persistence import encode_membership

    st = _open(tmp_path)
    st.persist_all([Ready(hard_state=HardState(2, 1, 2), entries=(Entry(1, 2), Entry(2, 2)))])
    members = Membership(frozenset({1, 2, 3}), frozenset(), {1: "a", 2: "b", 3: "c"})
    leader = Keyspace()
    leader.dbs[0].data[b"k"] = b"v"
    src = NodeStorage(str(tmp_path / "leader"), cluster_id="c1", node_id=2)
    src.write_snapshot_in_child(50, 3, encode_membership(members), leader)
    meta = SnapshotMeta(50, 3, members)
    data = src.read_chunk(meta, 0, 1 << 20)
    src.close()
    half = len(data) // 2
    st.persist_all([Ready(snapshot_chunks=(SnapshotChunk(meta, 0, data[:half], False),))])
    # Meanwhile the node's own snapshot, as its forked child writes it.
    st.write_snapshot_in_child(2, 2, encode_membership(members), Keyspace())
    st.persist_all([Ready(snapshot_chunks=(SnapshotChunk(meta, half, data[half:], True),), snapshot=meta)])
    restored = Keyspace()
    st.load_into(meta, restored)
    assert restored.dbs[0].data == {b"k": b"v"}
    st.close()
