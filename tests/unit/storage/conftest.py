import pytest


@pytest.fixture
def waldir(tmp_path):
    return str(tmp_path / "wal")
