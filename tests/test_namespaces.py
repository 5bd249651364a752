"""Namespaces and names PyTorch scripts touch: backends, accelerator, onnx, Variable, constants.

Each test is written as a user's script would be and runs on PyTorch and on ember.
"""

from __future__ import annotations

import importlib
import math
import warnings

import pytest
import torch

import ember

torch.set_num_threads(1)



def on_both(check):
    """One test that runs ``check(library)`` on PyTorch, then on ember."""

    def test():
        for library in (torch, ember):
            try:
                check(library)
            except BaseException as error:
                error.add_note(f"(while running on {library.__name__})")
                raise

    test.__name__, test.__doc__ = check.__name__, check.__doc__
    return test



@on_both
def test_constants(library):
    assert library.inf == math.inf and math.isnan(library.nan)
    assert library.pi == math.pi and library.e == math.e
    assert library.newaxis is None
    assert library.ones(3)[library.newaxis].shape == (1, 3)


@on_both
def test_backend_flags_have_pytorchs_defaults(library):
    backends = importlib.import_module(f"{library.__name__}.backends")
    assert backends.cuda.matmul.allow_tf32 is False
    assert backends.cudnn.allow_tf32 is True
    assert backends.cudnn.benchmark is False
    assert backends.cudnn.deterministic is False
    assert backends.cudnn.enabled is True
    assert backends.cudnn.is_available() is False
    assert backends.cuda.is_built() is False
    assert backends.mps.is_available() is False and backends.mps.is_built() is False
    assert backends.opt_einsum.is_available() is False
    assert backends.opt_einsum.enabled is False and backends.opt_einsum.strategy is None
    assert backends.cpu.get_cpu_capability() in {"DEFAULT", "NO AVX", "AVX2", "AVX512", "VSX",
                                                 "Z VECTOR", "SVE256"}


@on_both
def test_backend_flags_are_settable_and_restorable(library):
    backends = library.backends
    backends.cudnn.benchmark = True
    backends.cudnn.deterministic = True
    backends.cuda.matmul.allow_tf32 = True
    try:
        assert backends.cudnn.benchmark and backends.cudnn.deterministic
        assert backends.cuda.matmul.allow_tf32
        # As in PyTorch, cudnn.deterministic does not switch on deterministic algorithms.
        assert library.are_deterministic_algorithms_enabled() is False
        with backends.cudnn.flags(enabled=False, deterministic=False):
            assert backends.cudnn.enabled is False and backends.cudnn.deterministic is False
        assert backends.cudnn.enabled is True and backends.cudnn.deterministic is True
    finally:
        backends.cudnn.benchmark = False
        backends.cudnn.deterministic = False
        backends.cuda.matmul.allow_tf32 = False
    with pytest.raises(AttributeError, match="Unknown attribute allow_tf33"):
        backends.cuda.matmul.allow_tf33 = True


@on_both
def test_opt_einsum_cannot_be_enabled_without_the_package(library):
    backends = library.backends
    with pytest.raises(ValueError, match="opt_einsum is not available, so setting `strategy`"):
        backends.opt_einsum.set_flags(None, "greedy")
    refused = pytest.raises(ValueError, match="opt_einsum is not available, so setting `enabled`")
    with refused, backends.opt_einsum.flags(enabled=True):
        pass
    assert backends.opt_einsum.enabled is False


@on_both
def test_accelerator_on_a_cpu_only_install(library):
    if library.cuda.is_available():
        pytest.skip("this run has CUDA")
    accelerator = library.accelerator
    assert accelerator.is_available() is False
    assert accelerator.current_accelerator() is None
    assert accelerator.current_accelerator(check_available=True) is None
    assert accelerator.device_count() == 0
    calls = [accelerator.current_device_index, lambda: accelerator.set_device_index(0),
             accelerator.synchronize, accelerator.current_stream, accelerator.empty_cache,
             accelerator.memory_allocated, accelerator.max_memory_allocated]
    for call in calls:
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none"):
            call()
    deprecated = pytest.warns(FutureWarning, match="Use `current_device_index` instead.")
    with deprecated, pytest.raises(RuntimeError):
        accelerator.current_device_idx()
    with accelerator.device_index(None):
        pass


@on_both
def test_device_selection_idiom(library):
    if ember.cuda.is_available():
        pytest.skip("this run has CUDA")
    if library.cuda.is_available():
        device = "cuda"
    elif library.backends.mps.is_available():
        device = "mps"
    elif library.accelerator.is_available():
        device = library.accelerator.current_accelerator()
    else:
        device = "cpu"
    assert library.ones(2, device=device).device.type == "cpu"


@on_both
def test_onnx_imports_and_reports_no_export(library):
    onnx = importlib.import_module(f"{library.__name__}.onnx")
    assert onnx.is_in_onnx_export() is False
    assert int(onnx.TrainingMode.EVAL) == 0 and int(onnx.OperatorExportTypes.ONNX) == 0
    assert issubclass(onnx.OnnxExporterError, RuntimeError)


def test_onnx_export_raises_a_clear_error(tmp_path):
    model = ember.nn.Linear(2, 1)
    with pytest.raises(ember.onnx.OnnxExporterError, match="cannot export models to ONNX"):
        ember.onnx.export(model, (ember.ones(1, 2),), str(tmp_path / "model.onnx"))
    assert not (tmp_path / "model.onnx").exists()


@on_both
def test_variable_wraps_a_tensor(library):
    from_module = importlib.import_module(f"{library.__name__}.autograd.variable").Variable
    Variable = library.autograd.Variable
    assert from_module is Variable
    data = library.ones(2, 3) * 2
    weight = Variable(data, requires_grad=True)
    assert weight is not data and weight.requires_grad and weight.is_leaf
    assert not data.requires_grad
    assert isinstance(weight, Variable) and isinstance(data, Variable)
    data.add_(1)  # the same storage
    assert weight.tolist() == [[3.0] * 3] * 2
    (weight * weight).sum().backward()
    assert weight.grad.tolist() == [[6.0] * 3] * 2
    computed = weight * 2
    wrapped = Variable(computed)
    assert wrapped.grad_fn is None and not wrapped.requires_grad
    assert Variable(data, True).requires_grad
    assert Variable().shape == (0,) and Variable().dtype == library.float32


@on_both
def test_variable_volatile_warns(library):
    with pytest.warns(UserWarning) as record:
        result = library.autograd.Variable(library.ones(2), volatile=True)
    assert [str(item.message) for item in record] == [
        "volatile was removed and now has no effect. Use `with torch.no_grad():` instead."
    ]
    assert not result.requires_grad
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        library.autograd.Variable(library.ones(2), volatile=False)


@on_both
def test_variable_bad_input(library):
    Variable = library.autograd.Variable
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        Variable([1.0, 2.0])
    with pytest.raises(TypeError, match="'str' object cannot be interpreted as an integer"):
        Variable(library.ones(2), requires_grad="yes")
    with pytest.raises(RuntimeError, match="(?i)only Tensors of floating point"):
        Variable(library.ones(2, dtype=library.int64), requires_grad=True)
