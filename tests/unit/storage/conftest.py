import pytest

from storage import LogEntry


def ents(lo: int, hi: int, term: int = 1, size: int = 8) -> list[LogEntry]:
    """Entries lo..hi-1 whose data says which index and term they are."""
    return [LogEntry(i, term, i % 3, f"{i}:{term}:".encode().ljust(size, b".")) for i in range(lo, hi)]


@pytest.fixture
def waldir(tmp_path):
    return str(tmp_path / "wal")
