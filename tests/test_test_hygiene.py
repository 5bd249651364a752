"""The test sources keep their random data independent of test order.

A generator object made at module level and drawn from inside a test (or a helper or a
fixture a test calls) hands each test whatever state the tests before it in the same
process left behind, so under ``pytest -n 2`` a test's data depends on which worker ran
it and after what. Every test seeds its own generator instead; a module-level generator
may still build import-time data, since import runs once, in file order.
"""

from __future__ import annotations

import ast
import pathlib

TESTS = pathlib.Path(__file__).resolve().parent

# The calls that make a generator object; ``torch.Generator().manual_seed(0)`` returns one too.
GENERATOR_CONSTRUCTORS = {"default_rng", "RandomState", "Generator", "Random"}
SEEDING_METHODS = {"manual_seed", "seed"}
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _dotted_name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted_name(node.value)}.{node.attr}"
    return ""


def _makes_a_generator(value: ast.AST) -> bool:
    if not isinstance(value, ast.Call):
        return False
    name = _dotted_name(value.func)
    if name.split(".")[-1] in GENERATOR_CONSTRUCTORS or name.endswith("random.seed"):
        return True
    # generator.manual_seed(n) and generator.seed() return the generator itself
    return (
        isinstance(value.func, ast.Attribute)
        and value.func.attr in SEEDING_METHODS
        and _makes_a_generator(value.func.value)
    )


def _module_generators(tree: ast.Module) -> dict[str, int]:
    """Names bound at module level (or in a module-level block) to a generator: their lines."""
    found = {}
    for statement in ast.walk(tree):
        if isinstance(statement, FUNCTIONS + (ast.ClassDef,)):
            continue
        if isinstance(statement, ast.Assign) and _makes_a_generator(statement.value):
            targets = statement.targets
        elif isinstance(statement, ast.AnnAssign) and _makes_a_generator(statement.value):
            targets = [statement.target]
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name) and _is_module_level(tree, statement):
                found[target.id] = statement.lineno
    return found


def _is_module_level(tree: ast.Module, statement: ast.stmt) -> bool:
    """True when no function or class encloses ``statement``."""
    pending = list(tree.body)
    while pending:
        node = pending.pop()
        if node is statement:
            return True
        if not isinstance(node, FUNCTIONS + (ast.ClassDef,)):
            pending.extend(ast.iter_child_nodes(node))
    return False


def _local_names(function: ast.AST) -> set[str]:
    """The names a function binds itself (parameters and assignments), minus its globals."""
    arguments = function.args
    names = {
        argument.arg for argument in arguments.posonlyargs + arguments.args + arguments.kwonlyargs
    }
    names.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    declared_global = set()
    pending = list(function.body) if isinstance(function.body, list) else [function.body]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue  # a nested scope binds its own names
        elif isinstance(node, ast.Lambda):
            continue
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared_global.update(node.names)
        pending.extend(ast.iter_child_nodes(node))
    return names - declared_global


def _uses_inside_functions(
    node: ast.AST, names: dict[str, int], shadowed: frozenset, inside: bool
) -> list[tuple[str, int]]:
    """(name, line) of each read of a module generator from code that runs inside a function."""
    uses = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, FUNCTIONS):
            scope = shadowed | _local_names(child)
            uses += _uses_inside_functions(child, names, frozenset(scope), True)
            continue
        if (
            inside
            and isinstance(child, ast.Name)
            and isinstance(child.ctx, ast.Load)
            and child.id in names
            and child.id not in shadowed
        ):
            uses.append((child.id, child.lineno))
        uses += _uses_inside_functions(child, names, shadowed, inside)
    return uses


def shared_generator_draws(source: str, filename: str = "<source>") -> list[str]:
    """Each place where a function reads a generator object made at module level."""
    tree = ast.parse(source, filename=filename)
    generators = _module_generators(tree)
    if not generators:
        return []
    uses = _uses_inside_functions(tree, generators, frozenset(), False)
    return [
        f"{filename}:{line}: draws from {name}, a generator made at module level "
        f"(line {generators[name]}); seed a generator inside the test instead"
        for name, line in sorted(set(uses), key=lambda use: (use[1], use[0]))
    ]


def test_no_test_draws_from_a_module_level_generator():
    sources = sorted(TESTS.rglob("*.py"))
    assert len(sources) > 30, "the scan found too few test files"
    problems = []
    for path in sources:
        relative = str(path.relative_to(TESTS.parent))
        problems += shared_generator_draws(path.read_text(), relative)
    assert problems == [], "\n".join(problems)


def test_the_scan_flags_shared_draws_and_only_those():
    flagged = """
import numpy as np, torch
RNG = np.random.default_rng(0)
STATE = np.random.RandomState(1)
GEN = torch.Generator().manual_seed(2)
DATA = RNG.uniform(size=3)
def _input(*shape):
    return RNG.standard_normal(shape)
CASES = [lambda: STATE.rand(2)]
class TestThing:
    def test_a(self):
        def inner():
            return torch.randn(2, generator=GEN)
        return inner()
"""
    clean = """
import numpy as np
RNG = np.random.default_rng(0)
DATA = RNG.uniform(size=3)
ARRAY = np.random.default_rng(1).standard_normal(4)
def _input(rng, *shape):
    return rng.standard_normal(shape) + ARRAY
def test_a():
    RNG = np.random.default_rng(5)
    return _input(RNG, 2), [RNG.uniform() for _ in range(2)]
def test_b(RNG):
    return RNG
"""
    problems = shared_generator_draws(flagged)
    assert [problem.split(": ")[0] for problem in problems] == [
        "<source>:8",
        "<source>:9",
        "<source>:13",
    ], problems
    assert shared_generator_draws(clean) == []
