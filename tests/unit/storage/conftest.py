import os
import sys

import pytest

# Lets a bare `pytest` find the package without `pip install -e .` (make test installs it).
_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)


@pytest.fixture
def waldir(tmp_path):
    return str(tmp_path / "wal")
