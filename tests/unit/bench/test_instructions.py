"""The arithmetic of ``benchmarks.inproc --instructions``: start-up cancels out, and the figure
is per command of the extra rounds."""

import json

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
