"""``ember.testing``, ``ember.utils.checkpoint``, ``ember.jit`` and the mkl/mkldnn backend
flags, each used the way a script uses PyTorch's and compared with it."""

import warnings

import numpy as np
import pytest
import torch
import torch.utils.checkpoint

import ember
import ember.utils.checkpoint

torch.set_num_threads(1)


def _failure(lib, actual, expected, **options):
    """assert_close's message in ``lib``, with ember's reprs spelled as torch's."""
    convert = (lambda value: value) if lib is ember else _to_torch
    with pytest.raises(AssertionError) as failure:
        lib.testing.assert_close(convert(actual), convert(expected), **options)
    return str(failure.value).replace("ember.", "torch.")


def _to_torch(value):
    if isinstance(value, ember.Tensor):
        return torch.tensor(value.numpy())
    if isinstance(value, (list, tuple)):
        return type(value)(_to_torch(item) for item in value)
    if isinstance(value, dict):
        return {key: _to_torch(item) for key, item in value.items()}
    return value


def _pairs():
    rng = np.random.default_rng(13)
    base = rng.standard_normal((3, 4)).astype(np.float32)
    shifted = base.copy()
    shifted[1, 2] += 0.5
    shifted[2, 0] -= 1e-3
    doubles = base.astype(np.float64)
    return [
        (ember.tensor(base), ember.tensor(shifted), {}),
        (ember.tensor(doubles), ember.tensor(doubles + 1e-6), {}),
        (ember.tensor(base), ember.tensor(shifted), {"rtol": 1e-2, "atol": 1e-2}),
        (ember.tensor([1, 2, 3]), ember.tensor([1, 5, 3]), {}),
        (ember.tensor([True, False]), ember.tensor([True, True]), {}),
        (ember.tensor(base), ember.tensor(doubles), {}),
        (ember.tensor(base), ember.tensor(base[:2]), {}),
        (ember.tensor([1.0]), ember.tensor([1.5]), {}),
        (1.0, 1.5, {}),
        ([ember.tensor(1.0), ember.tensor([2.0, 3.0])],
         [ember.tensor(1.0), ember.tensor([2.0, 4.0])], {}),
        ({"a": ember.tensor([1.0])}, {"a": ember.tensor([3.0])}, {}),
        ({"a": ember.tensor([1.0])}, {"b": ember.tensor([1.0])}, {}),
        ([1, 2], [1, 2, 3], {}),
        (ember.tensor([1.0, float("nan")]), ember.tensor([1.0, float("nan")]), {}),
        (ember.tensor([1.0, 2.0]), ember.tensor([1.0, 3.0]), {"msg": "custom"}),
    ]


@pytest.mark.parametrize("index", range(15))
def test_assert_close_failure_messages_match_torch(index):
    actual, expected, options = _pairs()[index]
    assert _failure(ember, actual, expected, **options) == _failure(
        torch, actual, expected, **options)


def test_assert_close_passes_where_torch_passes():
    rng = np.random.default_rng(17)
    data = rng.standard_normal(5).astype(np.float32)
    nudged = data * (1 + 1e-7)
    for lib in (torch, ember):
        lib.testing.assert_close(lib.tensor(data), lib.tensor(nudged))
        lib.testing.assert_close(lib.tensor([float("nan")]), lib.tensor([float("nan")]),
                                 equal_nan=True)
        lib.testing.assert_close(lib.tensor([1.0]), lib.tensor([1], dtype=lib.int64),
                                 check_dtype=False)
        lib.testing.assert_close([lib.tensor(1.0)], (lib.tensor(1.0),))


def test_assert_close_refuses_what_torch_refuses():
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="Both 'rtol' and 'atol' must be either"):
            lib.testing.assert_close(lib.ones(1), lib.ones(1), rtol=1e-3)
        with pytest.raises(TypeError, match="No comparison pair was able to handle"):
            lib.testing.assert_close(lib.ones(1), [1.0])
    message = _failure(ember, ember.tensor([1.0, 2.0]), ember.tensor([1.0, 3.0]),
                       msg=lambda text: "prefix: " + text)
    assert message.startswith("prefix: Tensor-likes are not close!")


def test_make_tensor_draws_within_torch_default_ranges():
    cases = [(ember.float32, -9, 9), (ember.int64, -9, 9), (ember.uint8, 0, 9)]
    for dtype, low, high in cases:
        sample = ember.testing.make_tensor(400, dtype=dtype, device="cpu")
        assert sample.dtype == dtype and tuple(sample.shape) == (400,)
        assert low <= float(sample.min()) and float(sample.max()) <= high
    bounded = ember.testing.make_tensor((2, 3), dtype=ember.float64, device="cpu", low=2,
                                        high=3, requires_grad=True)
    assert bounded.requires_grad and 2 <= float(bounded.min()) <= float(bounded.max()) <= 3
    no_zero = ember.testing.make_tensor(200, dtype=ember.int64, device="cpu", low=-1, high=2,
                                        exclude_zero=True)
    assert not (no_zero == 0).any()
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="`low` must be less than `high`, but got 5 >= 1"):
            lib.testing.make_tensor(3, dtype=lib.float32, device="cpu", low=5, high=1)
        with pytest.raises(TypeError):
            lib.testing.make_tensor(3, dtype=lib.float32)


def _block(lib, seed):
    lib.manual_seed(seed)
    return lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 3))


def _copy_parameters(source, target):
    for mine, theirs in zip(target.parameters(), source.parameters()):
        with ember.no_grad():
            mine.copy_(ember.tensor(theirs.detach().numpy()))


@pytest.mark.parametrize("reentrant", [True, False])
def test_checkpoint_gradients_equal_torch(reentrant):
    rng = np.random.default_rng(23)
    data = rng.standard_normal((2, 4)).astype(np.float32)
    torch_block, ember_block = _block(torch, 0), _block(ember, 0)
    _copy_parameters(torch_block, ember_block)
    results = []
    for lib, block in ((torch, torch_block), (ember, ember_block)):
        x = lib.tensor(data, requires_grad=True)
        out = lib.utils.checkpoint.checkpoint(block, x, use_reentrant=reentrant)
        sequential = lib.utils.checkpoint.checkpoint_sequential(
            block, 2, x, use_reentrant=reentrant)
        (out.square().sum() + sequential.sum()).backward()
        results.append([x.grad.numpy()] + [p.grad.numpy() for p in block.parameters()])
    for ember_grad, torch_grad in zip(results[1], results[0]):
        np.testing.assert_allclose(ember_grad, torch_grad, rtol=1e-5, atol=1e-6)


def test_checkpoint_warns_and_refuses_like_torch():
    for lib in (torch, ember):
        x = lib.ones(2, requires_grad=True)
        with pytest.warns(UserWarning, match="the use_reentrant parameter should be passed "
                                             "explicitly. Starting in PyTorch 2.9"):
            lib.utils.checkpoint.checkpoint(lib.sin, x)
        with pytest.warns(UserWarning, match="checkpoint_sequential: the use_reentrant "
                                             "parameter should be passed explicitly"):
            lib.utils.checkpoint.checkpoint_sequential([lib.nn.ReLU()], 1, x)
        with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
            lib.utils.checkpoint.checkpoint(lib.mul, x, use_reentrant=True, scale=2)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = lib.utils.checkpoint.checkpoint(lambda a, scale: a * scale, x,
                                                     use_reentrant=False, scale=3)
        assert result.tolist() == [3.0, 3.0]


def test_jit_annotations_pass_through_and_compilers_refuse():
    class Scaled(ember.nn.Module):
        limit: ember.jit.Final[int] = 3

        @ember.jit.ignore
        def helper(self, x):
            return x * 2

        @ember.jit.unused
        def unused_path(self, x):
            return x

        @ember.jit.export
        def exported(self, x):
            return x + 1

        @ember.jit.ignore(drop=True)
        def dropped(self, x):
            return x - 1

        def forward(self, x):
            if ember.jit.is_scripting() or ember.jit.is_tracing():
                return x
            return self.helper(x)

    module = Scaled()
    x = ember.ones(2)
    assert module(x).tolist() == [2.0, 2.0]
    assert module.exported(x).tolist() == module.dropped(x + 2).tolist() == [2.0, 2.0]
    assert module.unused_path(x) is x
    assert torch.jit.is_scripting() is ember.jit.is_scripting() is False
    assert torch.jit.is_tracing() is ember.jit.is_tracing() is False
    with pytest.raises(RuntimeError, match="ember has no TorchScript"):
        ember.jit.script(module)
    with pytest.raises(RuntimeError, match="ember has no TorchScript"):
        ember.jit.trace(module, (x,))


def test_mkldnn_and_mkl_flags():
    assert ember.backends.mkldnn.enabled is torch.backends.mkldnn.enabled is True
    assert ember.backends.mkldnn.is_available() is False
    assert ember.backends.mkl.is_available() is False
    with ember.backends.mkldnn.flags(enabled=False):
        assert ember.backends.mkldnn.enabled is False
    assert ember.backends.mkldnn.enabled is True


def _training_script(torch_like, weights, data, targets):
    """A user's script, unchanged between the libraries: it reaches for the top-level
    functional forms, torch.special, checkpointing and jit annotations."""
    w1, w2 = (torch_like.tensor(w, requires_grad=True) for w in weights)
    x, y = torch_like.tensor(data), torch_like.tensor(targets)
    optimizer = torch_like.optim.SGD([w1, w2], lr=0.1)

    @torch_like.jit.ignore
    def block(inputs):
        hidden = torch_like.layer_norm(inputs @ w1, [w1.shape[1]], None, None, 1e-5, True)
        return torch_like.dropout(torch_like.special.expit(hidden), 0.0, True) @ w2

    losses = []
    for _ in range(3):
        optimizer.zero_grad()
        logits = torch_like.utils.checkpoint.checkpoint(block, x, use_reentrant=False)
        loss = torch_like.binary_cross_entropy_with_logits(logits, y, None, None, 1)
        loss = loss + 1e-3 * torch_like.special.logsumexp(logits.flatten(), 0)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    return torch_like.stack(losses), w1.detach()


def test_a_training_script_runs_the_same_on_both_libraries():
    rng = np.random.default_rng(47)
    weights = [rng.standard_normal((4, 6)), rng.standard_normal((6, 2))]
    data, targets = rng.standard_normal((8, 4)), rng.integers(0, 2, (8, 2)).astype(float)
    torch_losses, torch_w1 = _training_script(torch, weights, data, targets)
    ember_losses, ember_w1 = _training_script(ember, weights, data, targets)
    ember.testing.assert_close(ember_losses, ember.tensor(torch_losses.numpy()))
    torch.testing.assert_close(torch.tensor(ember_w1.numpy()), torch_w1)
