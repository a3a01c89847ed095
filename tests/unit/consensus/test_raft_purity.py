"""The core stays deterministic: no clock, sockets, OS or global randomness in consensus/.

The peer transport is the one module of the package allowed to do I/O.
"""

import ast
import pathlib

import consensus

FORBIDDEN = {"asyncio", "time", "socket", "os", "threading", "selectors", "datetime", "secrets", "uuid"}
IO_MODULES = {"transport.py"}


def core_modules():
    root = pathlib.Path(consensus.__file__).parent
    return [p for p in sorted(root.glob("*.py")) if p.name not in IO_MODULES]


def test_core_imports_nothing_nondeterministic():
    for path in core_modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name.split(".")[0] for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module.split(".")[0]]
            bad = FORBIDDEN.intersection(names)
            assert not bad, f"{path.name} imports {bad}"


def test_randomness_only_through_an_injected_random_instance():
    for path in core_modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "random":
                raise AssertionError(f"{path.name}: from random import ...")
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "random":
                assert node.attr == "Random", f"{path.name} uses random.{node.attr}"
