"""Compare an ember layer with its PyTorch twin: same weights, same inputs, float64.

``check_layer(make, inputs)`` builds the layer on both libraries with ``make(lib)``,
copies PyTorch's parameters and buffers into ember's, runs both on the same inputs,
compares outputs, then pulls back a random cotangent and compares the gradients of the
inputs and of every parameter. Ember's module and inputs live on the run's device
(``tests.devices.DEVICE``; ``python -m pytest --device fake-cuda``) and the layer runs under
``with ember.device(DEVICE)``; PyTorch's stay on the CPU.
"""

from __future__ import annotations

import numpy as np
import torch

import ember
from tests import devices

torch.set_num_threads(1)


def _flatten(value) -> list:
    if isinstance(value, (tuple, list)):
        return [item for element in value for item in _flatten(element)]
    return [value]


def copy_state(torch_module, ember_module) -> None:
    """Load PyTorch's parameters and buffers into the ember module (strict), each made on
    the device of the ember tensor it replaces."""
    devices_of = {k: v.device for k, v in ember_module.state_dict().items()}
    state = {k: ember.tensor(v.detach().numpy().copy(), device=devices_of.get(k))
             for k, v in torch_module.state_dict().items()}
    ember_module.load_state_dict(state)


def check_layer(make, inputs, atol: float = 1e-9, rtol: float = 1e-7, grad: bool = True,
                train: bool = True, seed: int = 0, call=None):
    """Build with ``make(lib)``; ``inputs`` is a list of NumPy arrays (floats get grads).

    ``call(module, *tensors)`` runs the layer (default ``module(*tensors)``). Returns the
    pair of modules for further checks.
    """
    torch.manual_seed(seed)
    torch_module = make(torch).double()
    ember_module = make(ember).double()
    copy_state(torch_module, ember_module)
    ember_module.to(devices.DEVICE)
    torch_module.train(train)
    ember_module.train(train)
    call = call or (lambda module, *xs: module(*xs))

    def tensors(lib):
        out = []
        for array in inputs:
            t = lib.tensor(np.array(array), device=devices.DEVICE if lib is ember else None)
            if t.is_floating_point() and grad:
                t.requires_grad_(True)
            out.append(t)
        return out

    torch_inputs, ember_inputs = tensors(torch), tensors(ember)
    expected = _flatten(call(torch_module, *torch_inputs))
    with ember.device(devices.DEVICE):
        actual = _flatten(call(ember_module, *ember_inputs))
    assert len(actual) == len(expected)
    for index, (a, e) in enumerate(zip(actual, expected)):
        if e is None:
            assert a is None
            continue
        assert tuple(a.shape) == tuple(e.shape), (
            f"output {index}: {tuple(a.shape)} != {tuple(e.shape)}"
        )
        assert a.device.type == devices.DEVICE, f"output {index} on {a.device}"
        np.testing.assert_allclose(a.detach().cpu().numpy(), e.detach().numpy(), atol=atol,
                                   rtol=rtol, err_msg=f"output {index}")
    if not grad:
        return torch_module, ember_module
    rng = np.random.default_rng(seed + 1)
    pairs = [(a, e) for a, e in zip(actual, expected)
             if e is not None and e.requires_grad and e.dtype.is_floating_point]
    cotangents = [rng.standard_normal(tuple(e.shape)) for _, e in pairs]
    torch_params = [p for _, p in torch_module.named_parameters()]
    ember_params = [p for _, p in ember_module.named_parameters()]
    torch_wrt = [t for t in torch_inputs if t.requires_grad] + torch_params
    ember_wrt = [t for t in ember_inputs if t.requires_grad] + ember_params
    torch_grads = torch.autograd.grad([e for _, e in pairs], torch_wrt,
                                      [torch.tensor(c) for c in cotangents], allow_unused=True)
    ember_cotangents = [ember.tensor(c, device=devices.DEVICE) for c in cotangents]
    ember_grads = ember.autograd.grad([a for a, _ in pairs], ember_wrt, ember_cotangents,
                                      allow_unused=True)
    names = [f"input {i}" for i in range(len(torch_wrt) - len(torch_params))]
    names += [n for n, _ in torch_module.named_parameters()]
    for name, a, e in zip(names, ember_grads, torch_grads):
        if e is None:
            assert a is None or not np.any(a.cpu().numpy()), f"grad of {name}: torch has none"
            continue
        assert a is not None, f"grad of {name}: ember has none"
        assert a.device.type == devices.DEVICE, f"grad of {name} on {a.device}"
        np.testing.assert_allclose(a.cpu().numpy(), e.numpy(), atol=atol * 10, rtol=rtol * 10,
                                   err_msg=f"grad of {name}")
    return torch_module, ember_module
