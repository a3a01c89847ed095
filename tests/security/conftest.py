import pytest

from tests.security.procs import NodeProcess, start_node


@pytest.fixture
def node_factory(tmp_path):
    made: list[NodeProcess] = []

    def make(args=(), **kw) -> NodeProcess:
        n = start_node(str(tmp_path / f"n{len(made)}"), list(args), **kw)
        made.append(n)
        return n

    yield make
    for n in made:
        n.stop()
