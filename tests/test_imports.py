"""The layering rules: only the backend knows NumPy; nothing in ember imports torch."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "ember"
ARRAY_LIBRARIES = {"numpy", "cupy"}


def _imported_roots(path: pathlib.Path) -> set:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def _sources():
    return sorted(PACKAGE.rglob("*.py"))


def test_sources_found():
    assert len(_sources()) > 20


def test_only_the_backend_imports_an_array_library():
    offenders = [
        str(path.relative_to(PACKAGE.parent))
        for path in _sources()
        if path.name != "_backend.py" and _imported_roots(path) & ARRAY_LIBRARIES
    ]
    assert offenders == []


def test_nothing_in_ember_imports_torch():
    offenders = [str(p.relative_to(PACKAGE.parent)) for p in _sources() if "torch" in _imported_roots(p)]
    assert offenders == []


def test_importing_ember_does_not_load_torch():
    code = "import sys, ember, ember.nn, ember.optim; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_every_tensor_method_in_the_tables_is_backed_by_an_op():
    import ember
    from ember._tensor_methods import missing_methods

    assert missing_methods(ember.Tensor) == []


@pytest.mark.parametrize("setting", ["0", "1048576", "lots"])
def test_the_heap_pad_setting_is_honoured_or_refused_clearly(setting):
    result = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c", "import ember; print(ember.ones(2).sum().item())"],
        capture_output=True, text=True, env={**os.environ, "EMBER_MALLOC_TOP_PAD": setting},
    )
    if setting == "lots":
        assert "EMBER_MALLOC_TOP_PAD='lots' is not a whole number of bytes" in result.stderr
    else:
        assert result.returncode == 0 and result.stdout.strip() == "2.0", result.stderr
