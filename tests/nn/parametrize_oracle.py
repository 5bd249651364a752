"""Run a parametrized layer on PyTorch and on ember side by side, in float64.

``make_pair(make)`` builds the layer on both libraries with the same weights (PyTorch's,
copied into ember's). After the caller parametrizes both, ``check_states`` compares the
``state_dict()`` keys and values (copying into ember the entries that are random by design:
the power iteration's start, an orthogonal base completed with random columns), and
``train_and_compare`` runs a few SGD steps on both, comparing the outputs, the gradient of
every parameter (pulled back from a random cotangent) and the final state.
"""

from __future__ import annotations

import numpy as np
import torch

import ember
from tests.nn.layer_oracle import copy_state

torch.set_num_threads(1)


def make_pair(make, seed: int = 0):
    """``make(lib)`` on both libraries in float64, ember's weights copied from PyTorch's."""
    torch.manual_seed(seed)
    torch_module = make(torch).double()
    ember_module = make(ember).double()
    copy_state(torch_module, ember_module)
    return torch_module, ember_module


def _numpy(tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def check_states(torch_module, ember_module, random_keys=(), atol: float = 1e-10) -> None:
    """Same ``state_dict()`` keys in the same order, same shapes and dtypes, same values
    except under ``random_keys``, which are then copied from PyTorch into ember."""
    torch_state, ember_state = torch_module.state_dict(), ember_module.state_dict()
    assert list(ember_state) == list(torch_state)
    for key, expected in torch_state.items():
        actual = ember_state[key]
        assert tuple(actual.shape) == tuple(expected.shape), key
        assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], key
        if key not in random_keys:
            np.testing.assert_allclose(_numpy(actual), _numpy(expected), atol=atol, rtol=1e-8,
                                       err_msg=key)
    if random_keys:
        copied = {key: ember.tensor(_numpy(torch_state[key]).copy()) for key in random_keys}
        ember_module.load_state_dict(copied, strict=False)


def train_and_compare(torch_module, ember_module, input_shape, steps: int = 3,
                      seed: int = 0, lr: float = 0.1, atol: float = 1e-9,
                      call=None) -> None:
    """``steps`` SGD steps (with momentum) on both modules, each from a random input and a
    random cotangent; outputs, every parameter's gradient and the final state must agree."""
    rng = np.random.default_rng(seed)
    call = call or (lambda module, x: module(x))
    torch_names = [name for name, _ in torch_module.named_parameters()]
    assert [name for name, _ in ember_module.named_parameters()] == torch_names
    torch_optimizer = torch.optim.SGD(torch_module.parameters(), lr=lr, momentum=0.9)
    ember_optimizer = ember.optim.SGD(ember_module.parameters(), lr=lr, momentum=0.9)
    for step in range(steps):
        x = rng.standard_normal(input_shape)
        expected = call(torch_module, torch.tensor(x))
        actual = call(ember_module, ember.tensor(x))
        assert tuple(actual.shape) == tuple(expected.shape)
        np.testing.assert_allclose(_numpy(actual), _numpy(expected), atol=atol, rtol=1e-7,
                                   err_msg=f"output at step {step}")
        cotangent = rng.standard_normal(tuple(expected.shape))
        expected.backward(torch.tensor(cotangent))
        actual.backward(ember.tensor(cotangent))
        ember_parameters = dict(ember_module.named_parameters())
        for name, parameter in torch_module.named_parameters():
            assert ember_parameters[name].grad is not None, f"{name} has no grad at {step}"
            np.testing.assert_allclose(_numpy(ember_parameters[name].grad),
                                       _numpy(parameter.grad), atol=atol, rtol=1e-7,
                                       err_msg=f"grad of {name} at step {step}")
        torch_optimizer.step()
        ember_optimizer.step()
        torch_optimizer.zero_grad()
        ember_optimizer.zero_grad()
    check_states(torch_module, ember_module, atol=atol)
