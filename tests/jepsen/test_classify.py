"""How client errors become op outcomes (DESIGN §5): certainly-not-applied is ``fail``,
anything that may have been applied is ``unknown``."""

from __future__ import annotations

import pytest
import redis

from .workloads import classify


@pytest.mark.parametrize(("exc", "outcome"), [
    (redis.exceptions.ClusterDownError("CLUSTERDOWN No raft leader"), "fail"),
    (redis.exceptions.MovedError("0 127.0.0.1:7001"), "fail"),
    (redis.exceptions.TryAgainError("TRYAGAIN not the leader"), "fail"),
    (redis.ResponseError("NOCLUSTER this node is not part of a cluster yet"), "fail"),
    (redis.exceptions.ExecAbortError("EXECABORT Transaction discarded because of previous errors."), "fail"),
    (redis.WatchError("Watched variable changed."), "fail"),
    (redis.ResponseError("TIMEOUT the write was not committed in time; it may still be applied"), "unknown"),
    (redis.ResponseError("Command # 1 (SET k v) of pipeline caused error: TIMEOUT not committed"), "unknown"),
    (redis.ResponseError("Command # 1 (SET k v) of pipeline caused error: CLUSTERDOWN No raft leader"), "fail"),
    (redis.TimeoutError("Timeout reading from socket"), "unknown"),
    (redis.ConnectionError("Connection closed by server."), "unknown"),
    # redis-py turns a connection lost during a watched transaction into WatchError: EXEC may have run.
    (redis.WatchError("A ConnectionError occurred while watching one or more keys"), "unknown"),
    (redis.ResponseError("ERR something nobody expected"), "unknown"),
])
def test_classify(exc: Exception, outcome: str) -> None:
    assert classify(exc)[0] == outcome
