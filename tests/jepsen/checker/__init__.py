"""Checkers for client histories recorded by the fault-injection suite.

- `history`: the `Op` record and the JSON-lines history files.
- `linearizable`: per-key linearizability against a model (`models.Register`).
- `list_append`, `counter`: workload-specific checkers reporting `anomaly.Anomaly`s.
- `jepsen_log`: reader for Jepsen text logs, used to validate the checker.
- `register_histories`: generator of linearizable register histories for tests.
"""
