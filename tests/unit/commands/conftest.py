from __future__ import annotations

import pytest
from commands_harness import LocalExecutor, RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    try:
        srv = RedisServer(tmp_path_factory.mktemp("redis"))
    except RuntimeError as e:
        pytest.fail(str(e), pytrace=False)
    yield srv
    srv.stop()


@pytest.fixture
def ex():
    return LocalExecutor()
