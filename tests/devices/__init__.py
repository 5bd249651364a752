"""Which device the test run puts ember's tensors on (see ``tests/conftest.py``)."""

from __future__ import annotations

import ember

DEVICE = "cpu"  # where the tables put ember's inputs: "cpu" or "cuda"
CUDA = False  # whether CUDA tensors can be made in this run
FAKE = False  # whether CUDA is the CPU stand-in for CuPy
NO_CUDA_REASON = ("no CUDA device in this run: python -m pytest --device cuda on a GPU, "
                  "or --device fake-cuda for CuPy's CPU stand-in")


def configure(choice: str) -> None:
    global DEVICE, CUDA, FAKE
    if choice == "fake-cuda":
        from tests.devices.fake_cupy import fake_cupy

        ember._backend.use_cuda_library(fake_cupy)
        FAKE = True
    if choice in ("cuda", "fake-cuda"):
        if not ember.cuda.is_available():
            raise RuntimeError("--device cuda: ember.cuda.is_available() is False "
                               f"({ember._backend.cuda.error})")
        DEVICE, CUDA = "cuda", True
