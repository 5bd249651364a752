"""The test run's device: ``python -m pytest --device cuda`` (or ``EMBER_TEST_DEVICE=cuda``).

- ``cpu`` (the default): the suite as CI runs it; tests marked ``cuda`` are skipped.
- ``cuda``: CuPy on a GPU. The op and layer tables put ember's inputs on the GPU and
  compare with PyTorch (on CUDA where PyTorch has it, else on the CPU).
- ``fake-cuda``: ``tests/devices/fake_cupy.py`` stands in for CuPy, so the CUDA paths
  (devices, copies, errors, no hidden NumPy) run on a machine without a GPU.
"""

from __future__ import annotations

import os

import pytest

from ember._compile import fusion
from tests import devices

_CHOICES = ("cpu", "cuda", "fake-cuda")


def pytest_addoption(parser):
    parser.addoption(
        "--device", default=os.environ.get("EMBER_TEST_DEVICE", "cpu"), choices=_CHOICES,
        help="where the op and layer tables run ember: cpu, cuda, or fake-cuda (CuPy's "
             "stand-in on the CPU)",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "cuda: needs a CUDA device (or --device fake-cuda)")
    devices.configure(config.getoption("--device"))


def pytest_collection_modifyitems(config, items):
    if devices.CUDA:
        return
    skip = pytest.mark.skip(reason=devices.NO_CUDA_REASON)
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fused_kernels_compiled_within_their_test():
    """A compiled program's fused kernels compile in a background thread, and numba swaps
    Python's warning state (one for all threads) and, with colour, the standard streams
    while it works (docs/compile.md): a later test that records warnings or output could
    lose them. So each test waits at its end for the compilation it started."""
    yield
    if fusion._thread is not None:
        fusion.wait()
