"""The layering rules: only the backend knows NumPy; nothing in ember imports torch; imports
point down the layers of ``docs/ARCHITECTURE.md`` and never in a circle."""

from __future__ import annotations

import ast
import os
import pathlib
import subprocess
import sys

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "ember"
ARRAY_LIBRARIES = {"numpy", "cupy", "cupyx"}


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


# The layers of ember, lowest first, as docs/ARCHITECTURE.md lists them. A module belongs to
# the layer of the longest name here that is its own name or a package above it; it may
# import from its own layer and the layers before it, never from a later one.
LAYERS = (
    ("ember._backend",),
    ("ember._dtype", "ember._device", "ember._memory_format", "ember._hooks", "ember._tensor_str",
     "ember._tape", "ember._profiling"),
    ("ember._tensor",),
    ("ember.autograd", "ember._autocast"),
    ("ember.ops", "ember.return_types", "ember.linalg", "ember.random"),
    ("ember.autograd.functional", "ember._tensor_methods"),
    ("ember.nn",),
    ("ember.optim",),
    (
        "ember.utils", "ember._serialization", "ember.serialization", "ember.distributed",
        "ember.amp", "ember.cuda", "ember.cpu", "ember.backends", "ember.accelerator",
        "ember.sparse", "ember.special", "ember.testing", "ember.jit", "ember.onnx",
        "ember._toplevel", "ember._toplevel_misc", "ember._toplevel_views", "ember._foreach",
        "ember._compile", "ember.compiler", "ember._dynamo", "ember.distributions", "ember.func",
        "ember.profiler", "ember.autograd.profiler", "ember.autograd.profiler_util",
    ),
    ("ember.viz", "ember.demo"),
    ("ember",),
)


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _layer(module: str) -> int:
    best, found = -1, None
    for index, names in enumerate(LAYERS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, found = len(name), index
    assert found is not None, f"{module} is in no layer of LAYERS"
    return found


def _module_level_imports(path: pathlib.Path) -> list:
    """The import statements that run when the module is imported: not those inside a
    function, nor under ``if TYPE_CHECKING``."""
    found = []

    def visit(body):
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue
            elif isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(node, field, None)
                    if isinstance(inner, list):
                        visit(inner)

    visit(ast.parse(path.read_text(), filename=str(path)).body)
    return found


def _import_graph() -> dict:
    """Module -> the ember modules (and the packages above them) its import runs first."""
    modules = {_module_name(path): path for path in _sources()}
    graph = {}
    for module, path in modules.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets = set()
        for node in _module_level_imports(path):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    parts = parts[: len(parts) - (node.level - 1)]
                    base = ".".join(parts + ([base] if base else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                         for a in node.names]
            for name in names:
                parts = name.split(".")
                for end in range(1, len(parts) + 1):
                    target = ".".join(parts[:end])
                    # a package above this module is already being imported: no edge
                    if target in modules and not (module + ".").startswith(target + "."):
                        targets.add(target)
        graph[module] = targets
    return graph


def test_every_module_has_a_layer():
    for module in _import_graph():
        _layer(module)


def test_imports_point_down_the_layers():
    upward = sorted(
        f"{module} (layer {_layer(module)}) imports {target} (layer {_layer(target)})"
        for module, targets in _import_graph().items()
        for target in targets
        if _layer(target) > _layer(module)
    )
    assert upward == []


def test_no_module_level_import_cycle():
    graph = _import_graph()
    cycles, state = [], {}
    for start in sorted(graph):  # depth-first, with an explicit stack
        if start in state:
            continue
        stack, path = [(start, iter(sorted(graph[start])))], [start]
        state[start] = "open"
        while stack:
            module, targets = stack[-1]
            target = next(targets, None)
            if target is None:
                state[module] = "done"
                stack.pop()
                path.pop()
            elif state.get(target) == "open":
                cycles.append(" -> ".join(path[path.index(target):] + [target]))
            elif target not in state:
                state[target] = "open"
                stack.append((target, iter(sorted(graph[target]))))
                path.append(target)
    assert cycles == []


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
    offenders = [str(p.relative_to(PACKAGE.parent)) for p in _sources()
                 if "torch" in _imported_roots(p)]
    assert offenders == []


def test_importing_ember_does_not_load_torch():
    code = "import sys, ember, ember.nn, ember.optim; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def test_every_tensor_method_in_the_tables_is_backed_by_an_op():
    import ember
    from ember._tensor_methods import missing_methods

    assert missing_methods(ember.Tensor) == []


@pytest.mark.parametrize("setting", ["0", "1048576", "lots"])
def test_the_heap_pad_setting_is_honoured_or_refused_clearly(setting):
    result = subprocess.run(
        [sys.executable, "-W", "error::UserWarning", "-c",
         "import ember; print(ember.ones(2).sum().item())"],
        capture_output=True, text=True, env={**os.environ, "EMBER_MALLOC_TOP_PAD": setting},
    )
    if setting == "lots":
        assert "EMBER_MALLOC_TOP_PAD='lots' is not a whole number of bytes" in result.stderr
    else:
        assert result.returncode == 0 and result.stdout.strip() == "2.0", result.stderr


def test_the_import_graph_sees_real_edges_and_the_layers_order_them():
    graph = _import_graph()
    assert "ember._tensor" in graph["ember.ops._function"]
    assert "ember.autograd" in graph["ember.ops._function"]  # its package runs first
    assert "ember.ops" not in graph["ember.ops._function"]  # its own package is no edge
    assert _layer("ember._backend") < _layer("ember._tensor") < _layer("ember.autograd.engine")
    assert _layer("ember.autograd.engine") < _layer("ember.ops.shape") < _layer("ember.nn")
    assert _layer("ember.autograd.functional") > _layer("ember.ops")
