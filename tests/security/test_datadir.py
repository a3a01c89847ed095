"""The data directory: owner-only files, and one node per directory."""

from __future__ import annotations

import os
import stat

from tests.security.procs import launch


def _modes(root: str) -> dict[str, int]:
    out = {}
    for d, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(d, name)
            out[os.path.relpath(p, root)] = stat.S_IMODE(os.lstat(p).st_mode)
    out["."] = stat.S_IMODE(os.stat(root).st_mode)
    return out


def test_files_are_owner_only(node_factory, tmp_path):
    d = tmp_path / "n0"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)  # as a careless operator made it
    n = node_factory()
    assert n.dir == str(d)
    c = n.client()
    for i in range(50):
        c.set(f"k{i}", "v" * 100)
    assert c.execute_command("RAFT.SNAPSHOT") in (b"OK", "OK")
    modes = _modes(n.dir)
    assert "raftis.meta" in modes and any(p.endswith(".snap") for p in modes) and any(p.endswith(".wal") for p in modes)
    loose = {p: oct(m) for p, m in modes.items() if m & 0o077}
    assert not loose, f"readable by others: {loose}"
    assert "was accessible to other users" in n.log()


def test_second_node_on_the_same_directory_is_refused(node_factory):
    first = node_factory()
    first.client().set("k", "v")
    proc, *_, log_path = launch(first.dir, [])
    assert proc.wait(timeout=20) != 0
    text = open(log_path).read()
    assert f"is in use by pid {first.pid}" in text and "Traceback" not in text
    assert first.client().get("k") == b"v"  # the first node did not notice
