"""The arithmetic of ``benchmarks.inproc --instructions``: start-up cancels out, and the figure
is per command of the extra rounds."""

import json
import types

import pytest

from benchmarks import inproc


def _fake_counts(monkeypatch, per_round: dict[str, int], fixed: int = 10**9):
    calls = []

    def counted(args, root, rounds):
        calls.append((root, rounds))
        return fixed + per_round[root] * rounds

    monkeypatch.setattr(inproc, "_instructions_of", counted)
    monkeypatch.setattr(inproc.shutil, "which", lambda name: "/usr/bin/" + name)
    return calls


def test_the_count_is_per_command_of_the_extra_rounds(monkeypatch, tmp_path, capsys):
    root = str(tmp_path)
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "app.py").write_text("")
    calls = _fake_counts(monkeypatch, {root: 50 * 60_000})  # 50 clients, 60,000 per command
    assert inproc.main(["--instructions", "--root", root, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["instructions_per_command"] == {"this": 60_000}
    assert calls == [(root, 100), (root, 300)]  # the default rounds, and three times as many


def test_against_prints_both_sides_and_their_ratio(monkeypatch, tmp_path, capsys):
    old, new = tmp_path / "old", tmp_path / "new"
    for d in (old, new):
        (d / "server").mkdir(parents=True)
        (d / "server" / "app.py").write_text("")
    _fake_counts(monkeypatch, {str(old): 10 * 50_000, str(new): 10 * 45_000})
    assert inproc.main(["--instructions", "--clients", "10", "--rounds", "7", "--root", str(new),
                        "--against", str(old)]) == 0
    out = capsys.readouterr().out
    assert "50,000" in out and "45,000" in out and "this / against: 0.900" in out
    assert "7 against 21 rounds" in out


def test_a_failed_run_is_reported_not_divided(monkeypatch, capsys):
    def failing(args, root, rounds):
        raise RuntimeError("the run under callgrind failed")

    monkeypatch.setattr(inproc, "_instructions_of", failing)
    monkeypatch.setattr(inproc.shutil, "which", lambda name: "/usr/bin/" + name)
    assert inproc.main(["--instructions"]) == 1
    assert "callgrind failed" in capsys.readouterr().err


def test_instructions_needs_valgrind_and_excludes_profile(monkeypatch, capsys):
    monkeypatch.setattr(inproc.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit) as stopped:
        inproc.main(["--instructions"])
    assert stopped.value.code == 2
    assert "needs valgrind" in capsys.readouterr().err
    monkeypatch.setattr(inproc.shutil, "which", lambda name: "/usr/bin/" + name)
    with pytest.raises(SystemExit) as stopped:
        inproc.main(["--instructions", "--profile"])
    assert stopped.value.code == 2
    assert "give one" in capsys.readouterr().err


def test_slow_down_stretches_every_timing_of_the_nodes(monkeypatch):
    import server.driver as driver

    for name in inproc._DRIVER_TIMINGS:
        monkeypatch.setattr(driver, name, getattr(driver, name))  # restored after the test
    before = {name: getattr(driver, name) for name in inproc._DRIVER_TIMINGS}
    nodes = [types.SimpleNamespace(raft=types.SimpleNamespace(driver=types.SimpleNamespace(tick_ms=50)),
                                   cfg=types.SimpleNamespace(command_timeout=10.0),
                                   ops_stats=types.SimpleNamespace(slowlog=types.SimpleNamespace(threshold_ns=t)))
             for t in (10_000_000, 0, -1)]
    inproc.slow_down(nodes, 50)
    for name, value in before.items():
        assert getattr(driver, name) == value * 50, name
    assert all(n.raft.driver.tick_ms == 2500 and n.cfg.command_timeout == 500.0 for n in nodes)
    # 10 ms becomes 500 ms; "log every command" and "log none" stay as they are
    assert [n.ops_stats.slowlog.threshold_ns for n in nodes] == [500_000_000, 0, -1]


def test_each_run_under_callgrind_stretches_the_nodes_timings(monkeypatch, tmp_path):
    seen = {}

    def fake_run(cmd, **kw):
        seen["cmd"] = cmd
        return types.SimpleNamespace(returncode=0, stderr=b"==1== Collected : 123456789\n")

    monkeypatch.setattr(inproc.subprocess, "run", fake_run)
    monkeypatch.setattr(inproc.shutil, "which", lambda name: "/usr/bin/" + name)
    args = inproc.parse_args(["--instructions", "--nodes", "3"])
    assert inproc._instructions_of(args, str(tmp_path), 5) == 123456789
    cmd = seen["cmd"]
    assert cmd[:2] == ["valgrind", "--tool=callgrind"]
    assert cmd[cmd.index("--slowdown") + 1] == str(inproc.CALLGRIND_SLOWDOWN)
    assert cmd[cmd.index("--nodes") + 1] == "3" and cmd[cmd.index("--rounds") + 1] == "5"


def test_slowdown_must_be_positive(capsys):
    with pytest.raises(SystemExit) as stopped:
        inproc.parse_args(["--slowdown", "0"])
    assert stopped.value.code == 2
    assert "--slowdown must be above 0" in capsys.readouterr().err
