"""Random numbers: reproducible streams, PyTorch's shapes, dtypes and errors, sound distributions.

ember's bits differ from PyTorch's (NumPy's PCG64 against Mersenne Twister), so values are
compared through their moments and supports, and everything else against torch directly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import ember

# ---------------------------------------------------------------- reproducibility


def test_manual_seed_repeats_the_stream_and_returns_the_default_generator():
    generator = ember.manual_seed(123)
    assert generator is ember.default_generator
    first = (ember.rand(5), ember.randn(2, 3), ember.randint(0, 10, (4,)), ember.randperm(6))
    ember.manual_seed(123)
    second = (ember.rand(5), ember.randn(2, 3), ember.randint(0, 10, (4,)), ember.randperm(6))
    for a, b in zip(first, second):
        assert np.array_equal(a.numpy(), b.numpy())
    assert ember.initial_seed() == 123
    ember.manual_seed(124)
    assert not np.array_equal(ember.rand(5).numpy(), first[0].numpy())


def test_rng_state_round_trip():
    ember.manual_seed(7)
    ember.rand(3)
    state = ember.get_rng_state()
    assert state.dtype is ember.uint8 and state.ndim == 1
    after = ember.randn(10)
    ember.set_rng_state(state)
    assert np.array_equal(ember.randn(10).numpy(), after.numpy())
    assert ember.initial_seed() == 7


def test_generator_is_independent_of_the_global_stream():
    generator = ember.Generator().manual_seed(5)
    expected = ember.rand(4, generator=generator)
    ember.manual_seed(0)
    ember.rand(100)  # the global stream moves; the generator's does not
    generator.manual_seed(5)
    assert np.array_equal(ember.rand(4, generator=generator).numpy(), expected.numpy())
    ember.manual_seed(0)
    reference = ember.rand(3)
    ember.manual_seed(0)
    ember.rand(3, generator=ember.Generator().manual_seed(1))
    ember.manual_seed(0)
    assert np.array_equal(ember.rand(3).numpy(), reference.numpy())


def test_generator_api_matches_torch():
    generator = ember.Generator(device="cpu")
    assert generator.device == ember.device("cpu")
    assert generator.initial_seed() == torch.Generator().initial_seed()
    assert generator.manual_seed(3) is generator
    assert (
        generator.manual_seed(-1).initial_seed() == torch.Generator().manual_seed(-1).initial_seed()
    )
    state = generator.get_state()
    values = ember.randn(5, generator=generator)
    assert generator.set_state(state) is generator
    assert np.array_equal(ember.randn(5, generator=generator).numpy(), values.numpy())
    clone = ember.Generator()
    clone.set_state(state)
    assert clone.initial_seed() == generator.initial_seed()
    chosen = generator.seed()
    assert isinstance(chosen, int) and generator.initial_seed() == chosen
    if not ember.cuda.is_available():
        with pytest.raises(RuntimeError):
            ember.Generator("cuda")


def test_fork_rng_restores_the_global_stream():
    ember.manual_seed(11)
    expected = ember.rand(3)
    ember.manual_seed(11)
    with ember.ops.random.fork_rng():  # torch.random.fork_rng
        ember.rand(50)
    assert np.array_equal(ember.rand(3).numpy(), expected.numpy())


def test_every_sampler_is_reproducible_through_a_generator():
    def draw(seed):
        g = ember.Generator().manual_seed(seed)
        x = ember.empty(50, dtype=ember.float64)
        return [
            ember.rand(4, generator=g),
            ember.randn(4, generator=g),
            ember.randint(3, 9, (4,), generator=g),
            ember.randperm(7, generator=g),
            ember.normal(ember.zeros(4), ember.ones(4), generator=g),
            ember.normal(2.0, 3.0, (4,), generator=g),
            ember.multinomial(ember.ones(2, 5), 3, generator=g),
            ember.multinomial(ember.ones(5), 8, True, generator=g),
            ember.bernoulli(ember.full((6,), 0.5), generator=g),
            ember.bernoulli(ember.zeros(6), 0.5, generator=g),
            ember.poisson(ember.full((6,), 3.0), generator=g),
            x.clone().uniform_(generator=g),
            x.clone().normal_(generator=g),
            x.clone().random_(0, 100, generator=g),
            x.clone().bernoulli_(0.3, generator=g),
            x.clone().exponential_(generator=g),
            x.clone().geometric_(0.2, generator=g),
            x.clone().cauchy_(generator=g),
            x.clone().log_normal_(generator=g),
        ]

    for a, b in zip(draw(9), draw(9)):
        assert np.array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(draw(9)[0].numpy(), draw(10)[0].numpy())


# ---------------------------------------------------------------- shapes and dtypes


def _like_torch(lib):
    return lib.zeros(2, 3, dtype=lib.float64)


SHAPE_CASES = {
    "rand_varargs": lambda lib: lib.rand(2, 3),
    "rand_tuple": lambda lib: lib.rand((2, 3)),
    "rand_list": lambda lib: lib.rand([4]),
    "rand_size_keyword": lambda lib: lib.rand(size=(2,)),
    "rand_0d": lambda lib: lib.rand(()),
    "rand_empty": lambda lib: lib.rand(0, 3),
    "rand_float64": lambda lib: lib.rand(3, dtype=lib.float64),
    "rand_float16": lambda lib: lib.rand(3, dtype=lib.float16),
    "rand_requires_grad": lambda lib: lib.rand(3, requires_grad=True),
    "rand_device": lambda lib: lib.rand(3, device="cpu"),
    "randn": lambda lib: lib.randn(4, 1, dtype=lib.float64),
    "randn_requires_grad": lambda lib: lib.randn((2,), requires_grad=True),
    "randint_high": lambda lib: lib.randint(10, (3, 2)),
    "randint_low_high": lambda lib: lib.randint(-5, -2, (3,)),
    "randint_keywords": lambda lib: lib.randint(low=0, high=5, size=(3,)),
    "randint_high_keyword": lambda lib: lib.randint(high=5, size=(3,)),
    "randint_float_dtype": lambda lib: lib.randint(0, 5, (3,), dtype=lib.float32),
    "randint_bool_dtype": lambda lib: lib.randint(0, 2, (3,), dtype=lib.bool),
    "randint_uint8": lambda lib: lib.randint(0, 256, (3,), dtype=lib.uint8),
    "randint_requires_grad": lambda lib: lib.randint(
        0, 5, (3,), dtype=lib.float64, requires_grad=True
    ),
    "randperm": lambda lib: lib.randperm(5),
    "randperm_0": lambda lib: lib.randperm(0),
    "randperm_float": lambda lib: lib.randperm(5, dtype=lib.float64),
    "normal_tensor_tensor": lambda lib: lib.normal(lib.zeros(2, 1), lib.ones(3)),
    "normal_tensor_tensor_dtype": lambda lib: lib.normal(
        lib.zeros(2, dtype=lib.float64), lib.ones(2)
    ),
    "normal_tensor_0d_std": lambda lib: lib.normal(lib.zeros(2, 2), lib.tensor(1.0)),
    "normal_tensor_float": lambda lib: lib.normal(lib.zeros(2, 1), 2.0),
    "normal_tensor_default_std": lambda lib: lib.normal(lib.zeros(3)),
    "normal_float_tensor": lambda lib: lib.normal(1.0, lib.ones(3, dtype=lib.float64)),
    "normal_float_float": lambda lib: lib.normal(1.0, 2.0, (2, 3)),
    "normal_float_float_dtype": lambda lib: lib.normal(1.0, 2.0, (2,), dtype=lib.float64),
    "normal_requires_grad": lambda lib: lib.normal(0.0, 1.0, (2,), requires_grad=True),
    "rand_like": lambda lib: lib.rand_like(_like_torch(lib)),
    "rand_like_dtype": lambda lib: lib.rand_like(_like_torch(lib), dtype=lib.float32),
    "randn_like": lambda lib: lib.randn_like(_like_torch(lib)),
    "randint_like_high": lambda lib: lib.randint_like(lib.zeros(2, 3), 5),
    "randint_like_low_high": lambda lib: lib.randint_like(lib.zeros(2, 3, dtype=lib.int32), 2, 5),
    "randint_like_high_keyword": lambda lib: lib.randint_like(lib.zeros(2), high=5),
    "multinomial_1d": lambda lib: lib.multinomial(lib.tensor([1.0, 2, 3]), 2),
    "multinomial_2d_replacement": lambda lib: lib.multinomial(lib.ones(2, 3), 5, True),
    "multinomial_float64": lambda lib: lib.multinomial(lib.ones(4, dtype=lib.float64), 4),
    "multinomial_no_rows": lambda lib: lib.multinomial(lib.ones(0, 3), 1),
    "multinomial_zeros_last": lambda lib: lib.multinomial(lib.tensor([1.0, 0, 0]), 3),
    "bernoulli": lambda lib: lib.bernoulli(lib.full((3,), 0.5, dtype=lib.float64)),
    "bernoulli_p": lambda lib: lib.bernoulli(lib.zeros(3), 0.3),
    "bernoulli_p_keyword": lambda lib: lib.bernoulli(lib.zeros(3), p=0.3),
    "bernoulli_p_integer_input": lambda lib: lib.bernoulli(lib.tensor([1, 0]), 0.5),
    "poisson": lambda lib: lib.poisson(lib.full((2, 2), 2.0)),
    "poisson_float64": lambda lib: lib.poisson(lib.full((3,), 2.0, dtype=lib.float64)),
    "method_bernoulli": lambda lib: lib.full((3,), 0.5).bernoulli(),
    "method_multinomial": lambda lib: lib.ones(2, 4).multinomial(2),
    "uniform_": lambda lib: lib.zeros(3).uniform_(2, 3),
    "uniform_from_keyword": lambda lib: lib.zeros(3).uniform_(**{"from": 2, "to": 3}),
    "normal_": lambda lib: lib.zeros(2, 2, dtype=lib.float64).normal_(1, 2),
    "normal_0d": lambda lib: lib.tensor(0.0).normal_(),
    "random_": lambda lib: lib.zeros(3).random_(),
    "random_to": lambda lib: lib.zeros(3).random_(10),
    "random_from_to": lambda lib: lib.zeros(3, dtype=lib.int64).random_(3, 10),
    "random_from_none": lambda lib: lib.zeros(3, dtype=lib.int8).random_(100, None),
    "random_bool": lambda lib: lib.zeros(3, dtype=lib.bool).random_(),
    "random_uint8": lambda lib: lib.zeros(3, dtype=lib.uint8).random_(),
    "bernoulli_": lambda lib: lib.zeros(4).bernoulli_(),
    "bernoulli_int": lambda lib: lib.zeros(4, dtype=lib.int64).bernoulli_(0.5),
    "bernoulli_bool": lambda lib: lib.zeros(4, dtype=lib.bool).bernoulli_(0.5),
    "bernoulli_tensor_p": lambda lib: lib.zeros(2, 4).bernoulli_(lib.full((4,), 0.5)),
    "exponential_": lambda lib: lib.zeros(3).exponential_(2),
    "geometric_": lambda lib: lib.zeros(3).geometric_(0.5),
    "geometric_int": lambda lib: lib.zeros(3, dtype=lib.int64).geometric_(0.5),
    "cauchy_": lambda lib: lib.zeros(3).cauchy_(),
    "log_normal_": lambda lib: lib.zeros(3, dtype=lib.float64).log_normal_(),
    "fill_": lambda lib: lib.zeros(3).fill_(2.5),
    "fill_int_truncates": lambda lib: lib.zeros(3, dtype=lib.int64).fill_(2.7),
    "fill_bool": lambda lib: lib.zeros(3, dtype=lib.bool).fill_(2),
    "fill_tensor": lambda lib: lib.zeros(3).fill_(lib.tensor(2.5, dtype=lib.float64)),
    "zero_": lambda lib: lib.ones(3, dtype=lib.int32).zero_(),
}


def _grad_fn_name(tensor):
    return None if tensor.grad_fn is None else type(tensor.grad_fn).__name__


@pytest.mark.parametrize("name", sorted(SHAPE_CASES))
def test_shape_and_dtype_match_torch(name):
    expected, result = SHAPE_CASES[name](torch), SHAPE_CASES[name](ember)
    assert isinstance(result, ember.Tensor)
    assert tuple(result.shape) == tuple(expected.shape)
    assert result.dtype.name == str(expected.dtype).removeprefix("torch.")
    assert result.requires_grad == expected.requires_grad


def test_fixed_values_match_torch():
    # Draws that are certain come out the same as PyTorch's.
    cases = [
        lambda lib: lib.zeros(3).uniform_(1, 1),
        lambda lib: lib.zeros(3).normal_(3, 0),
        lambda lib: lib.bernoulli(lib.tensor([0.0, 1.0, 1.0, 0.0])),
        lambda lib: lib.zeros(3).bernoulli_(1.0),
        lambda lib: lib.multinomial(lib.tensor([0.0, 0.0, 5.0]), 4, True),
        lambda lib: lib.multinomial(lib.tensor([[0.0, 2.0], [3.0, 0.0]]), 1),
        lambda lib: lib.poisson(lib.zeros(3)),
        lambda lib: lib.randint(4, 5, (3,)),
        lambda lib: lib.normal(lib.tensor([1.0, 2.0]), 0.0),
        lambda lib: lib.zeros(3, dtype=lib.int64).fill_(2.7),
    ]
    for case in cases:
        assert np.array_equal(case(ember).numpy(), case(torch).numpy())


# ---------------------------------------------------------------- distributions

N = 200_000


def _moments(tensor):
    values = tensor.numpy().astype(np.float64).ravel()
    return values.mean(), values.var()


def _close(value, expected, spread):
    """Within 6 standard errors of a mean estimated from N samples (spread: the sd)."""
    assert abs(value - expected) < 6 * spread / math.sqrt(N) + 1e-12, (value, expected)


def test_continuous_moments():
    g = ember.Generator().manual_seed(2024)
    mean, var = _moments(ember.rand(N, generator=g))
    _close(mean, 0.5, math.sqrt(1 / 12))
    assert abs(var - 1 / 12) < 0.002
    mean, var = _moments(ember.randn(N, dtype=ember.float64, generator=g))
    _close(mean, 0.0, 1.0)
    assert abs(var - 1.0) < 0.02
    mean, var = _moments(ember.normal(3.0, 2.0, (N,), generator=g))
    _close(mean, 3.0, 2.0)
    assert abs(var - 4.0) < 0.08
    mean, var = _moments(ember.normal(ember.full((N,), -1.0), ember.full((N,), 0.5), generator=g))
    _close(mean, -1.0, 0.5)
    assert abs(var - 0.25) < 0.005
    mean, var = _moments(ember.empty(N).uniform_(-2, 4, generator=g))
    _close(mean, 1.0, math.sqrt(3.0))
    assert abs(var - 3.0) < 0.06
    mean, var = _moments(ember.empty(N, dtype=ember.float64).normal_(5, 3, generator=g))
    _close(mean, 5.0, 3.0)
    assert abs(var - 9.0) < 0.2
    mean, var = _moments(ember.empty(N).exponential_(4.0, generator=g))
    _close(mean, 0.25, 0.25)
    assert abs(var - 1 / 16) < 0.003
    log_values = ember.empty(N, dtype=ember.float64).log_normal_(0.5, 0.25, generator=g).numpy()
    _close(np.log(log_values).mean(), 0.5, 0.25)
    assert abs(np.log(log_values).std() - 0.25) < 0.005
    cauchy = ember.empty(N, dtype=ember.float64).cauchy_(2.0, 3.0, generator=g).numpy()
    # A Cauchy has no mean: its median and quartiles are median -+ sigma.
    quartiles = np.percentile(cauchy, [25, 50, 75])
    assert np.allclose(quartiles, [-1.0, 2.0, 5.0], atol=0.1)


def test_discrete_moments():
    g = ember.Generator().manual_seed(77)
    values = ember.randint(3, 9, (N,), generator=g).numpy()
    assert values.min() == 3 and values.max() == 8
    counts = np.bincount(values - 3) / N
    assert np.allclose(counts, 1 / 6, atol=0.006)
    values = ember.empty(N).random_(0, 4, generator=g).numpy()
    assert set(np.unique(values)) == {0.0, 1.0, 2.0, 3.0}
    mean, _ = _moments(ember.bernoulli(ember.full((N,), 0.3), generator=g))
    _close(mean, 0.3, math.sqrt(0.21))
    mean, _ = _moments(ember.empty(N).bernoulli_(0.7, generator=g))
    _close(mean, 0.7, math.sqrt(0.21))
    halves = ember.empty(2, N // 2).bernoulli_(ember.tensor([[0.1], [0.9]]), generator=g)
    _close(halves.numpy()[0].mean(), 0.1, 0.3 * math.sqrt(2))
    _close(halves.numpy()[1].mean(), 0.9, 0.3 * math.sqrt(2))
    mean, var = _moments(ember.poisson(ember.full((N,), 4.0), generator=g))
    _close(mean, 4.0, 2.0)
    assert abs(var - 4.0) < 0.1
    geometric = ember.empty(N, dtype=ember.int64).geometric_(0.25, generator=g).numpy()
    assert geometric.min() == 1
    _close(geometric.mean(), 4.0, math.sqrt(0.75) / 0.25)
    permutation = ember.randperm(1000, generator=g).numpy()
    assert np.array_equal(np.sort(permutation), np.arange(1000))
    unsigned = ember.empty(N, dtype=ember.uint8).random_(generator=g).numpy()
    assert unsigned.min() == 0 and unsigned.max() == 255


def test_multinomial_frequencies():
    g = ember.Generator().manual_seed(5)
    weights = ember.tensor([[1.0, 2.0, 0.0, 5.0], [0.0, 0.0, 1.0, 1.0]])
    samples = ember.multinomial(weights, N // 2, replacement=True, generator=g).numpy()
    first = np.bincount(samples[0], minlength=4) / (N // 2)
    assert np.allclose(first, [1 / 8, 2 / 8, 0, 5 / 8], atol=0.01)
    second = np.bincount(samples[1], minlength=4) / (N // 2)
    assert np.allclose(second, [0, 0, 0.5, 0.5], atol=0.01)
    # Without replacement the first draw follows the weights as well.
    firsts = np.array(
        [ember.multinomial(ember.tensor([1.0, 3.0]), 1, generator=g).item() for _ in range(4000)]
    )
    assert abs(firsts.mean() - 0.75) < 0.04


def test_multinomial_without_replacement_never_repeats():
    g = ember.Generator().manual_seed(3)
    weights = ember.rand(50, 10, generator=g) + ember.tensor([0.0] * 9 + [100.0])
    for count in (1, 5, 10):
        samples = ember.multinomial(weights, count, generator=g).numpy()
        assert samples.shape == (50, count)
        for row in samples:
            assert len(set(row.tolist())) == count
    zero_weights = ember.multinomial(ember.tensor([0.0, 1.0, 0.0, 2.0]), 4, generator=g).numpy()
    assert set(zero_weights[:2].tolist()) == {1, 3} and set(zero_weights.tolist()) == {0, 1, 2, 3}


# ---------------------------------------------------------------- in-place semantics


def test_inplace_fills_write_through_views_and_bump_the_version():
    fills = [
        lambda v: v.uniform_(),
        lambda v: v.normal_(),
        lambda v: v.random_(1, 5),
        lambda v: v.bernoulli_(1.0),
        lambda v: v.exponential_(),
        lambda v: v.geometric_(0.5),
        lambda v: v.cauchy_(),
        lambda v: v.log_normal_(),
        lambda v: v.fill_(7.0),
        lambda v: v.zero_(),
    ]
    for fill in fills:
        base = ember.full((2, 3), -3.0)
        view = base.transpose(0, 1)  # a strided view: the fill must land in base's storage
        before = base._version
        assert fill(view) is view
        assert base._version == view._version == before + 1
        assert np.array_equal(base.numpy(), view.numpy().T)
        assert not (base.numpy() == -3.0).all()


INPLACE_NAMES = [
    "uniform_",
    "normal_",
    "random_",
    "bernoulli_",
    "exponential_",
    "cauchy_",
    "log_normal_",
    "zero_",
]


@pytest.mark.parametrize("name", INPLACE_NAMES + ["geometric_", "fill_"])
def test_inplace_fill_on_a_leaf_that_requires_grad(name):
    args = {"geometric_": (0.5,), "fill_": (1.0,)}.get(name, ())
    for lib in (torch, ember):
        leaf = lib.zeros(3, requires_grad=True)
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            getattr(leaf, name)(*args)
        with lib.no_grad():
            getattr(leaf, name)(*args)  # initialising parameters is allowed
        assert leaf.requires_grad and leaf.grad_fn is None


@pytest.mark.parametrize("name", INPLACE_NAMES + ["geometric_", "fill_"])
def test_inplace_fill_on_a_non_leaf_gives_zero_gradient(name):
    args = {"geometric_": (0.5,), "fill_": (1.0,)}.get(name, ())
    results = {}
    for lib in (torch, ember):
        x = lib.rand(3, dtype=lib.float64, requires_grad=True)
        y = x * 2
        getattr(y, name)(*args)
        assert y.requires_grad
        (y * 3).sum().backward()
        results[lib] = (type(y.grad_fn).__name__, x.grad.numpy())
    assert results[ember][0] == results[torch][0]
    assert np.array_equal(results[ember][1], results[torch][1])


def test_fill_with_a_tensor_value_passes_the_gradient_to_the_value():
    results = []
    for lib in (torch, ember):
        value = lib.tensor(2.0, dtype=lib.float64, requires_grad=True)
        x = lib.zeros(3, dtype=lib.float64)
        x.fill_(value)
        (x * lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64)).sum().backward()
        results.append(
            (
                x.numpy(force=True) if lib is ember else x.detach().numpy(),
                value.grad.item(),
                type(x.grad_fn).__name__,
            )
        )
    assert np.array_equal(results[0][0], results[1][0])
    assert results[0][1:] == results[1][1:]


def test_sampling_gradients_are_zero_like_torch():
    def run(lib):
        mean = lib.zeros(2, 1, dtype=lib.float64, requires_grad=True)
        std = lib.ones(3, dtype=lib.float64, requires_grad=True)
        probabilities = lib.full((3,), 0.5, dtype=lib.float64, requires_grad=True)
        rates = lib.full((3,), 2.0, dtype=lib.float64, requires_grad=True)
        outputs = [
            lib.normal(mean, std),
            lib.normal(mean, 2.0),
            lib.normal(1.0, std),
            lib.bernoulli(probabilities),
            lib.poisson(rates),
        ]
        names = [type(out.grad_fn).__name__ for out in outputs]
        sum(out.sum() for out in outputs).backward()
        return names, [t.grad.numpy() for t in (mean, std, probabilities, rates)]

    torch_names, torch_grads = run(torch)
    ember_names, ember_grads = run(ember)
    assert ember_names == torch_names
    for a, b in zip(ember_grads, torch_grads):
        assert a.shape == b.shape and np.array_equal(a, b)


def test_bernoulli_with_p_has_no_derivative():
    for lib in (torch, ember):
        x = lib.zeros(2, requires_grad=True)
        result = lib.bernoulli(x, 0.5)
        assert result.requires_grad
        with pytest.raises(RuntimeError, match="not implemented"):
            result.sum().backward()


# ---------------------------------------------------------------- argument errors

ERROR_CASES = {
    "rand_no_size": lambda lib: lib.rand(),
    "rand_float_size": lambda lib: lib.rand(2.5),
    "rand_negative": lambda lib: lib.rand(-1),
    "rand_int_dtype": lambda lib: lib.rand(3, dtype=lib.int64),
    "rand_bool_dtype": lambda lib: lib.rand(3, dtype=lib.bool),
    "rand_bad_generator": lambda lib: lib.rand(2, generator=3),
    "randn_int_dtype": lambda lib: lib.randn(3, dtype=lib.int64),
    "randint_size_not_tuple": lambda lib: lib.randint(10, 3),
    "randint_empty_range": lambda lib: lib.randint(5, 5, (3,)),
    "randint_float_bounds": lambda lib: lib.randint(0.5, 5.5, (3,)),
    "randint_bool_range": lambda lib: lib.randint(0, 3, (3,), dtype=lib.bool),
    "randint_uint8_range": lambda lib: lib.randint(0, 300, (3,), dtype=lib.uint8),
    "randint_uint8_negative": lambda lib: lib.randint(-5, 2, (3,), dtype=lib.uint8),
    "randint_requires_grad_int": lambda lib: lib.randint(0, 5, (3,), requires_grad=True),
    "randperm_negative": lambda lib: lib.randperm(-1),
    "randperm_varargs": lambda lib: lib.randperm(5, 2),
    "randperm_half_overflow": lambda lib: lib.randperm(5000, dtype=lib.float16),
    "randperm_uint8_overflow": lambda lib: lib.randperm(300, dtype=lib.uint8),
    "normal_no_size": lambda lib: lib.normal(1.0, 2.0),
    "normal_varargs_size": lambda lib: lib.normal(1.0, 2.0, 2, 3),
    "normal_tensor_with_size": lambda lib: lib.normal(lib.zeros(2), 1.0, (2,)),
    "normal_negative_std": lambda lib: lib.normal(lib.zeros(2), -1.0),
    "normal_negative_std_tensor": lambda lib: lib.normal(lib.zeros(2), -lib.ones(2)),
    "normal_negative_std_floats": lambda lib: lib.normal(0.0, -1.0, (2,)),
    "normal_integer_mean": lambda lib: lib.normal(lib.zeros(2, dtype=lib.int64), 1.0),
    "normal_integer_std": lambda lib: lib.normal(0.0, lib.ones(2, dtype=lib.int64)),
    "normal_broadcast": lambda lib: lib.normal(lib.zeros(2), lib.ones(3)),
    "rand_like_int": lambda lib: lib.rand_like(lib.zeros(2, dtype=lib.int32)),
    "multinomial_3d": lambda lib: lib.multinomial(lib.ones(2, 2, 2), 1),
    "multinomial_0d": lambda lib: lib.multinomial(lib.tensor(1.0), 1),
    "multinomial_negative": lambda lib: lib.multinomial(lib.tensor([1.0, -2, 3]), 1),
    "multinomial_nan": lambda lib: lib.multinomial(lib.tensor([1.0, float("nan")]), 1),
    "multinomial_inf": lambda lib: lib.multinomial(lib.tensor([1.0, float("inf")]), 1),
    "multinomial_zero_sum": lambda lib: lib.multinomial(lib.tensor([0.0, 0]), 1),
    "multinomial_zero_row": lambda lib: lib.multinomial(lib.tensor([[0.0, 0], [1, 1]]), 1, True),
    "multinomial_too_many": lambda lib: lib.multinomial(lib.tensor([1.0, 2]), 3),
    "multinomial_no_categories": lambda lib: lib.multinomial(lib.ones(2, 0), 1),
    "multinomial_zero_samples": lambda lib: lib.multinomial(lib.tensor([1.0, 2]), 0),
    "multinomial_integer": lambda lib: lib.multinomial(lib.tensor([1, 2]), 1),
    "multinomial_float_count": lambda lib: lib.multinomial(lib.tensor([1.0, 2]), 2.0),
    "bernoulli_p_out_of_range": lambda lib: lib.bernoulli(lib.zeros(3), 1.3),
    "bernoulli_input_out_of_range": lambda lib: lib.bernoulli(lib.full((3,), 1.5)),
    "bernoulli_input_negative": lambda lib: lib.bernoulli(lib.full((3,), -0.5)),
    "bernoulli_integer_input": lambda lib: lib.bernoulli(lib.tensor([1, 0])),
    "poisson_negative": lambda lib: lib.poisson(lib.full((3,), -2.0)),
    "poisson_integer": lambda lib: lib.poisson(lib.full((3,), 2)),
    "uniform_integer": lambda lib: lib.zeros(3, dtype=lib.int64).uniform_(),
    "uniform_reversed": lambda lib: lib.zeros(3).uniform_(2, 1),
    "uniform_half_overflow": lambda lib: lib.zeros(3, dtype=lib.float16).uniform_(0, 70000),
    "uniform_range_overflow": lambda lib: lib.zeros(3).uniform_(-3e38, 3e38),
    "normal__integer": lambda lib: lib.zeros(3, dtype=lib.int64).normal_(),
    "normal__negative_std": lambda lib: lib.zeros(3).normal_(0, -1),
    "random__empty_range": lambda lib: lib.zeros(3, dtype=lib.int64).random_(5, 5),
    "random__zero": lambda lib: lib.zeros(3, dtype=lib.int64).random_(0),
    "random__negative_to": lambda lib: lib.zeros(3, dtype=lib.int64).random_(-3),
    "random__uint8_range": lambda lib: lib.zeros(3, dtype=lib.uint8).random_(0, 300),
    "random__uint8_negative": lambda lib: lib.zeros(3, dtype=lib.uint8).random_(-1, 5),
    "bernoulli__p": lambda lib: lib.zeros(3).bernoulli_(1.5),
    "bernoulli__tensor_p": lambda lib: lib.zeros(3).bernoulli_(lib.full((3,), 1.5)),
    "bernoulli__tensor_shape": lambda lib: lib.zeros(4).bernoulli_(lib.full((2, 4), 0.5)),
    "exponential__integer": lambda lib: lib.zeros(3, dtype=lib.int64).exponential_(),
    "exponential__zero": lambda lib: lib.zeros(3).exponential_(0),
    "exponential__negative": lambda lib: lib.zeros(3).exponential_(-1),
    "geometric__zero": lambda lib: lib.zeros(3).geometric_(0),
    "geometric__one": lambda lib: lib.zeros(3).geometric_(1),
    "geometric__missing_p": lambda lib: lib.zeros(3).geometric_(),
    "cauchy__integer": lambda lib: lib.zeros(3, dtype=lib.int64).cauchy_(),
    "cauchy__sigma": lambda lib: lib.zeros(3).cauchy_(0, 0),
    "log_normal__integer": lambda lib: lib.zeros(3, dtype=lib.int64).log_normal_(),
    "log_normal__std": lambda lib: lib.zeros(3).log_normal_(0, -1),
    "fill__vector": lambda lib: lib.zeros(3).fill_(lib.ones(2)),
    "fill__string": lambda lib: lib.zeros(3).fill_("a"),
    "fill__none": lambda lib: lib.zeros(3).fill_(None),
    "manual_seed_string": lambda lib: lib.Generator().manual_seed("a"),
    "manual_seed_float": lambda lib: lib.Generator().manual_seed(1.5),
    "manual_seed_overflow": lambda lib: lib.manual_seed(2**64),
    "manual_seed_underflow": lambda lib: lib.manual_seed(-(2**63) - 1),
    "set_state_float": lambda lib: lib.Generator().set_state(lib.zeros(8)),
    "set_state_list": lambda lib: lib.set_rng_state([1, 2]),
    "set_state_garbage": lambda lib: lib.Generator().set_state(lib.zeros(5, dtype=lib.uint8)),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_bad_arguments_raise_like_torch(name):
    with pytest.raises(Exception) as torch_error:
        ERROR_CASES[name](torch)
    with pytest.raises(Exception) as ember_error:
        ERROR_CASES[name](ember)
    expected = type(torch_error.value)
    assert isinstance(ember_error.value, expected), (
        f"ember raised {type(ember_error.value).__name__}({ember_error.value}); "
        f"torch raised {expected.__name__}({torch_error.value})"
    )


def test_a_gpu_device_is_refused():
    if ember.cuda.is_available():
        pytest.skip("this run has CUDA (--device cuda or fake-cuda)")
    # torch without CUDA raises AssertionError; ember's check_device raises RuntimeError.
    for call in (
        lambda: ember.rand(2, device="cuda"),
        lambda: ember.randn(2, device="cuda:0"),
        lambda: ember.randint(3, (2,), device="cuda"),
        lambda: ember.randperm(3, device="mps"),
        lambda: ember.normal(0.0, 1.0, (2,), device="cuda"),
    ):
        with pytest.raises(RuntimeError, match="no .* backend"):
            call()


def test_torch_float_seed_is_truncated():
    assert ember.manual_seed(1.5).initial_seed() == torch.manual_seed(1.5).initial_seed()
    assert ember.manual_seed(-(2**63)).initial_seed() == torch.manual_seed(-(2**63)).initial_seed()


def test_public_surface():
    for name in ember.ops.random.__all__:
        assert hasattr(ember, name), name
    for name in [
        "uniform_",
        "normal_",
        "random_",
        "bernoulli_",
        "exponential_",
        "geometric_",
        "cauchy_",
        "log_normal_",
        "fill_",
        "zero_",
        "bernoulli",
        "multinomial",
    ]:
        assert not getattr(getattr(ember.Tensor, name), "_ember_missing", False), name
