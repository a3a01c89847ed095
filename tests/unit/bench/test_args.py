"""The benchmark tools refuse counts that make no sense before they start any server."""

import pytest

from benchmarks import cpu, floor, profile, run, wal

CASES = [
    (run.parse_args, ["--repeat", "0"], "argument --repeat: must be at least 1, not 0"),
    (run.parse_args, ["-n", "-5"], "argument -n/--requests: must be at least 1, not -5"),
    (run.parse_args, ["-c", "0"], "argument -c/--clients: must be at least 1, not 0"),
    (run.parse_args, ["--keys", "-1"], "argument --keys: must be at least 0, not -1"),
    (run.parse_args, ["-n", "many"], "argument -n/--requests: not a whole number: 'many'"),
    (cpu.parse_args, ["-P", "0"], "argument -P/--pipeline: must be at least 1, not 0"),
    (floor.parse_args, ["--repeat", "0"], "argument --repeat: must be at least 1, not 0"),
    (profile.parse_args, ["--rate", "0"], "argument --rate: must be at least 1, not 0"),
    (profile.parse_args, ["-c", "-1"], "argument -c/--clients: must be at least 1, not -1"),
    (wal.main, ["--appenders", "0"], "argument --appenders: must be at least 1, not 0"),
]


@pytest.mark.parametrize(("parse", "argv", "message"), CASES)
def test_a_bad_count_is_a_usage_error(parse, argv, message, capsys):
    with pytest.raises(SystemExit) as exc:
        parse(argv)
    assert exc.value.code == 2
    assert message in capsys.readouterr().err


def test_good_counts_pass_and_zero_keys_skips_the_keyspace_part():
    a = run.parse_args(["-n", "10", "-c", "1", "--repeat", "1", "--keys", "0"])
    assert (a.requests, a.clients, a.repeat, a.keys) == (10, 1, 1, 0)
    assert run.parse_args(["--quick"]).requests == 2000  # defaults still fill in
