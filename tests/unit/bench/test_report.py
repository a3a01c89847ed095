"""The benchmark's arithmetic: reading redis-benchmark's CSV, medians and per-repeat ratios, and
the order the rows run in."""

from benchmarks import matrix
from benchmarks.loadgen import parse_csv
from benchmarks.report import keyspace_table, summarise, table

CSV = (
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms",'
    '"max_latency_ms"\n'
    '"SET","166666.67","3.662","0.576","3.135","7.063","8.167","8.319"\n'
    '"GET","123456.79","5.114","1.024","4.551","11.303","11.807","13.231"\n'
)


def test_parse_csv_picks_the_named_test():
    row = parse_csv(CSV, "get")
    assert row["rps"] == 123456.79
    assert row["p50_latency_ms"] == 4.551
    assert row["p99_latency_ms"] == 11.807


def _res(ops: float) -> dict:
    return {"ops": ops, "avg_ms": 1.0, "p50_ms": 1.0, "p99_ms": 2.0, "max_ms": 3.0, "seconds": 1.0}


def test_ratio_is_the_median_of_per_repeat_ratios():
    raftis = matrix.row_id(matrix.SET_P1, matrix.RAFTIS_3)
    redis = matrix.row_id(matrix.SET_P1, matrix.REDIS)
    runs = [{raftis: _res(10), redis: _res(100)}, {raftis: _res(40), redis: _res(200)},
            {raftis: _res(30), redis: _res(1000)}]
    by_id = {e["id"]: e for e in summarise(matrix.rows(), runs)}
    assert by_id[raftis]["ops"] == 30
    assert by_id[raftis]["ratio"] == 0.1  # ratios 0.1, 0.2, 0.03
    assert by_id[redis]["ratio"] is None
    assert (by_id[raftis]["target"], by_id[raftis]["meets_target"]) == (0.32, False)
    assert by_id[redis]["target"] is None and by_id[redis]["meets_target"] is None
    printed = table(list(by_id.values()))
    assert "0.100 >=0.32 missed" in printed
    assert ">=0.5 " in printed  # the follower row's target, with no measurement to judge


def test_each_target_row_has_its_target_and_a_ratio_at_the_target_meets_it():
    targets = {r.id: r.target for r in matrix.rows() if r.target is not None}
    assert targets == {
        matrix.row_id(matrix.SET_P1, matrix.RAFTIS_3): 0.32,
        matrix.row_id(matrix.GET_P1, matrix.RAFTIS_3): 0.7,
        matrix.row_id(matrix.SET_P16, matrix.RAFTIS_3): 0.07,
        matrix.row_id(matrix.SET_P1, matrix.RAFTIS_3_FOLLOWER): 0.5,
        matrix.row_id(matrix.SET_P1, matrix.RAFTIS_1): 0.8,
    }
    row = matrix.row_id(matrix.SET_P1, matrix.RAFTIS_1)
    base = matrix.row_id(matrix.SET_P1, matrix.REDIS_AOF)
    (entry,) = [e for e in summarise(matrix.rows(), [{row: _res(80), base: _res(100)}]) if e["id"] == row]
    assert entry["meets_target"] is True


def _keyspace(bytes_ratio: float) -> dict:
    side = {"load_ops": 1.0, "rss_loaded": 1, "bytes_per_key": 1.0, "bytes_per_key_after_restart": 1.0,
            "rss_after_snapshot": 1, "snapshot_s": 1.0, "snapshot_node_reported_s": 1.0,
            "restart_accepting_s": 1.0, "restart_serving_s": 1.0}
    ratios = {"bytes_per_key": bytes_ratio, "bytes_per_key_after_restart": 1.0, "snapshot_s": 1.0,
              "restart_serving_s": 1.0}
    return {"keys": 10, "raftis": side, "redis": side, "ratios": ratios}


def test_the_memory_row_is_judged_against_its_target():
    assert "<=2 met" in keyspace_table(_keyspace(1.9))
    assert "<=2 missed" in keyspace_table(_keyspace(2.1))

def test_every_row_has_its_baseline_and_the_follower_is_compared_with_the_leader():
    rows = matrix.rows()
    assert len({r.id for r in rows}) == len(rows)
    for r in rows:
        if r.baseline_id:
            assert r.baseline_id in {x.id for x in rows}
    follower = next(r for r in rows if r.system == matrix.RAFTIS_3_FOLLOWER)
    assert follower.baseline_id == matrix.row_id(matrix.SET_P1, matrix.RAFTIS_3)


def test_each_repeat_runs_every_row_once_beside_its_baseline_and_sets_before_gets():
    rows = matrix.rows()
    first, second = matrix.schedule(0), matrix.schedule(1)
    assert first != second
    for order in (first, second, matrix.schedule(2)):
        ids = [r.id for r in order]
        assert sorted(ids) == sorted(r.id for r in rows)
        for i, r in enumerate(order):
            if r.baseline_id:  # measured right before or right after its baseline
                assert r.baseline_id in {ids[j] for j in (i - 1, i + 1) if 0 <= j < len(ids)}
        for system in {r.system for r in rows}:
            kinds = [r.workload.test for r in order if r.system == system]
            assert kinds == sorted(kinds, key=lambda k: k != "set")  # every SET before any GET
    # the pairs change sides from one repeat to the next: a drift in the machine's speed
    # during a pair falls on Raftis once and on the baseline once
    raftis, redis = matrix.row_id(matrix.GET_P1, matrix.RAFTIS_3), matrix.row_id(matrix.GET_P1, matrix.REDIS)
    pos = [{r.id: i for i, r in enumerate(order)} for order in (first, second)]
    assert (pos[0][raftis] > pos[0][redis]) != (pos[1][raftis] > pos[1][redis])
