#!/usr/bin/env bash
# Issue #15's GPU checks in one run, for a machine with a GPU, CuPy and PyTorch on CUDA
# (the device machine's image): the CUDA test tables against PyTorch, then the benchmark.
# Usage: bash scripts/cuda-check.sh [pytest -k filter]
set -uo pipefail
cd "$(dirname "$0")/.."
python -c "import cupy, torch; print('cupy', cupy.__version__, '| torch', torch.__version__, \
'|', torch.cuda.get_device_name())"
pip install --no-deps --no-build-isolation -q -e . 2>/dev/null || export PYTHONPATH="$PWD"
python -m pytest -q -p no:warnings -p no:cacheprovider -n 8 --device cuda -x --maxfail 20 \
    tests/test_devices.py tests/test_ops.py tests/nn tests/test_cuda_library.py \
    tests/test_benchmarks_gpu.py tests/test_demo.py ${1:+-k "$1"} 2>&1 | tail -40
python -m benchmarks.gpu --rounds 3 --repeats 5
