"""A single node running in the test's own event loop, for the tests that drive it with fake
client connections (fake_clients.py)."""

import pytest

from tests.unit.node.fake_clients import single_node


@pytest.fixture
async def node(tmp_path):
    node, task = await single_node(str(tmp_path / "n"))
    yield node
    node.shutdown_requested.set()
    await task
