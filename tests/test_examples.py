"""Every script in ``examples/`` runs as a user would run it, in a temporary folder.

Each runs in a subprocess with ``EMBER_EXAMPLE_QUICK=1`` (fewer epochs) and one BLAS
thread (the models are tiny; threads only fight over the cores), and must exit 0 and
print its final line. The NAND example is the blog's program unchanged, so it has no
quick mode: it trains its full 4000 epochs and must converge. It creates its network
unseeded, as the blog does; the test seeds ember's global generator before running
the file, so that the run is reproducible (60 seeds tried: all converge).
"""

from __future__ import annotations

import importlib
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ENVIRONMENT = dict(os.environ, PYTHONPATH=str(ROOT), EMBER_EXAMPLE_QUICK="1", OMP_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")


def run(command: list, folder: pathlib.Path, **environment) -> str:
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300,
                            env=dict(ENVIRONMENT, **environment), cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def run_example(name: str, folder: pathlib.Path) -> str:
    return run([sys.executable, str(EXAMPLES / name)], folder)


def number_after(text: str, label: str) -> float:
    match = re.search(re.escape(label) + r" ([-+0-9.e]+)", text)
    assert match, f"{label!r} is missing from the output:\n{text}"
    return float(match.group(1))


def test_every_example_is_tested():
    tested = {"nand.py", "xor.py", "digits_mlp.py", "digits_cnn.py", "char_transformer.py",
              "custom_function.py", "higher_order.py", "distributed_digits.py"}
    assert {path.name for path in EXAMPLES.glob("*.py")} == tested


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.py")), ids=lambda path: path.name)
def test_examples_use_only_pytorch_names(path):
    """Every module and name an example imports from ember exists under the same name in torch."""
    pytest.importorskip("torch")
    source = path.read_text()
    assert "import ember as torch" in source
    for module in re.findall(r"^import ember(\.[\w.]+)? as \w+$", source, re.MULTILINE):
        importlib.import_module("torch" + module)
    for module, names in re.findall(r"^from ember([\w.]*) import ([\w, ]+)$", source, re.MULTILINE):
        torch_module = importlib.import_module("torch" + module)
        for name in names.split(","):
            assert hasattr(torch_module, name.strip()), f"torch{module} has no {name.strip()}"


def test_nand_is_the_blogs_program_and_converges(tmp_path):
    script = (f"import ember, runpy; ember.manual_seed(0); "
              f"runpy.run_path({str(EXAMPLES / 'nand.py')!r}, run_name='__main__')")
    out = run([sys.executable, "-c", script], tmp_path)
    assert number_after(out, "final loss") < 5e-3
    assert "after 4000 epochs" in out
    outputs = [float(value) for value in re.findall(r"NAND\(\d, \d\) = ([0-9.]+)", out)]
    assert [round(value) for value in outputs] == [1, 1, 1, 0], out


def test_xor(tmp_path):
    out = run_example("xor.py", tmp_path)
    assert "xor predictions [0, 1, 1, 0]: all correct" in out
    assert abs(number_after(out, "no hidden layer:  final loss") - 0.6931) < 1e-3


def test_digits_mlp(tmp_path):
    out = run_example("digits_mlp.py", tmp_path)
    assert number_after(out, "digits-mlp test accuracy") >= 0.8
    assert (tmp_path / "digits_mlp.pt").exists()


def test_digits_cnn(tmp_path):
    out = run_example("digits_cnn.py", tmp_path)
    assert number_after(out, "digits-cnn test accuracy") >= 0.9


def test_char_transformer(tmp_path):
    out = run_example("char_transformer.py", tmp_path)
    assert "after training:  'Beautiful is" in out
    assert number_after(out, "char-transformer final loss") < 3.0  # ln 45 ≈ 3.8 at the start


def test_custom_function(tmp_path):
    out = run_example("custom_function.py", tmp_path)
    assert "gradcheck and gradgradcheck passed for LegendrePolynomial3" in out
    assert "gradient [1.0, 1.0, 1.0], gradcheck says False" in out
    assert number_after(out, "custom-function fit loss") < 200  # 462 before the first step


def test_higher_order(tmp_path):
    out = run_example("higher_order.py", tmp_path)
    assert "higher-order checks passed" in out


def test_distributed_digits_on_two_ranks(tmp_path):
    if shutil.which("mpirun") is None:
        pytest.skip("Open MPI's mpirun is missing: apt-get install openmpi-bin libopenmpi-dev")
    pytest.importorskip("mpi4py")
    # Open MPI refuses to run as root (as CI does) unless told.
    command = ["mpirun", "-np", "2", "--oversubscribe", sys.executable,
               str(EXAMPLES / "distributed_digits.py")]
    out = run(command, tmp_path, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    assert "rank 0 of 2" in out and "rank 1 of 2" in out
    assert "models identical on every rank" in out
    assert number_after(out, "distributed-digits test accuracy") >= 0.8


GUIDE_RUNNER = """
import contextlib, io, json, re, sys
text = open(sys.argv[1]).read()
blocks = re.findall(r"```(python|text)\\n(.*?)```", text, re.DOTALL)
namespace, outputs = {"__name__": "__main__"}, []
for index, (kind, code) in enumerate(blocks):
    if kind == "python":
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            exec(compile(code, f"guide block {index}", "exec"), namespace)
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        if following[0] == "text":
            outputs.append([captured.getvalue(), following[1]])
print(json.dumps(outputs))
"""


def test_guide_code_runs_and_prints_what_the_guide_shows(tmp_path):
    """Every Python block of docs/guide.md runs, in order; each shown output is what it prints."""
    import json

    if shutil.which("dot") is None:
        pytest.skip("the guide renders a graph with Graphviz's `dot`: apt-get install graphviz")

    out = run([sys.executable, "-c", GUIDE_RUNNER, str(ROOT / "docs" / "guide.md")], tmp_path)
    pairs = json.loads(out.splitlines()[-1])
    assert len(pairs) >= 10
    for printed, shown in pairs:
        addresses = r"0x[0-9a-f]+"
        assert re.sub(addresses, "0x…", printed) == re.sub(addresses, "0x…", shown)
    assert (tmp_path / "nand-loss-graph.svg").read_text().count("Backward0") >= 5
