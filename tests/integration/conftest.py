import pytest

from tests.integration.cluster import Cluster


@pytest.fixture
def cluster_factory(tmp_path):
    made: list[Cluster] = []

    def make(n: int = 3, **kw) -> Cluster:
        c = Cluster(str(tmp_path / f"c{len(made)}"), n, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()
