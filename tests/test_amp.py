"""``ember.amp``: autocast and GradScaler, as scripts use them, checked against torch."""

import pickle
import threading
import warnings

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)

LOW_DTYPES = ["float16", "bfloat16"]


def _array(tensor) -> np.ndarray:
    return tensor.detach().float().numpy()


def _name(dtype) -> str:
    return str(dtype).split(".")[-1]


def _op_cases(lib, low_dtype, inputs_low: bool, seed: int = 0) -> dict:
    """One tensor per op, computed by ``lib`` inside ``autocast("cpu", dtype=low_dtype)``."""
    F = lib.nn.functional
    rng = np.random.default_rng(seed)

    def make(*shape):
        tensor = lib.tensor(rng.standard_normal(shape).astype(np.float32))
        return tensor.to(getattr(lib, low_dtype)) if inputs_low else tensor

    a, b, v = make(4, 4), make(4, 4), make(4)
    batch, image, weight = make(2, 4, 4), make(1, 2, 5, 5), make(3, 2, 3, 3)
    probabilities = lib.tensor(rng.uniform(0.1, 0.9, (4, 4)).astype(np.float32)).to(a.dtype)
    target = lib.tensor([0, 1, 2, 3])
    spd = (a.float() @ a.float().T + 4 * lib.eye(4)).to(a.dtype)  # well conditioned
    cases = {
        "mm": lambda: lib.mm(a, b),
        "matmul": lambda: a @ b,
        "matmul_vector": lambda: a @ v,
        "bmm": lambda: lib.bmm(batch, batch),
        "mv": lambda: lib.mv(a, v),
        "addmm": lambda: lib.addmm(a, a, b),
        "baddbmm": lambda: lib.baddbmm(batch, batch, batch),
        "addbmm": lambda: lib.addbmm(a, batch, batch),
        "linear": lambda: F.linear(a, b, v),
        "linear_no_bias": lambda: F.linear(a, b),
        "conv1d": lambda: F.conv1d(batch, make(3, 4, 2)),
        "conv2d": lambda: F.conv2d(image, weight, make(3)),
        "conv_transpose2d": lambda: F.conv_transpose2d(image, make(2, 3, 3, 3)),
        "prelu": lambda: F.prelu(a, lib.tensor([0.2])),
        "sdpa": lambda: F.scaled_dot_product_attention(batch, batch, batch),
        "vecdot": lambda: lib.linalg.vecdot(a, b),
        "einsum": lambda: lib.einsum("ij,jk->ik", a, b),
        "tensordot": lambda: lib.tensordot(a, b, 1),
        "multi_dot": lambda: lib.linalg.multi_dot([a, b]),
        "relu": lambda: F.relu(a),
        "softmax": lambda: F.softmax(a, -1),
        "layer_norm": lambda: F.layer_norm(a, (4,)),
        "sum": lambda: a.sum(),
        "mse_loss": lambda: F.mse_loss(a, b),
        "cross_entropy": lambda: F.cross_entropy(a, target),
        "nll_loss": lambda: F.nll_loss(a, target),
        "l1_loss": lambda: F.l1_loss(a, b),
        "binary_cross_entropy": lambda: F.binary_cross_entropy(probabilities, probabilities),
        "bce_with_logits": lambda: F.binary_cross_entropy_with_logits(a, probabilities),
        "kl_div": lambda: F.kl_div(a, b, reduction="sum"),
        "huber_loss": lambda: F.huber_loss(a, b),
        "prod": lambda: a.prod(),
        "cdist": lambda: lib.cdist(a, b),
        "trace": lambda: a.trace(),
        "mixed_cat": lambda: lib.cat([a.float(), b]),
        "inverse": lambda: lib.inverse(spd),
        "linalg.inv": lambda: lib.linalg.inv(spd),
        "linalg.solve": lambda: lib.linalg.solve(spd, b),
        "linalg.cholesky": lambda: lib.linalg.cholesky(spd),
        "cholesky_solve": lambda: lib.cholesky_solve(b, lib.linalg.cholesky(spd)),
        "linalg.eigvalsh": lambda: lib.linalg.eigvalsh(spd),
        "linalg.svdvals": lambda: lib.linalg.svdvals(spd),
        "linalg.qr": lambda: lib.linalg.qr(spd)[1],
        "linalg.lstsq": lambda: lib.linalg.lstsq(spd, b).solution,
        "linalg.matrix_rank": lambda: lib.linalg.matrix_rank(spd),
        "pinverse": lambda: lib.pinverse(spd),
        "pad_reflect": lambda: F.pad(image, (1, 1, 1, 1), mode="reflect"),
        "pad_replicate": lambda: F.pad(image[0], (1, 1), mode="replicate"),
        "pad_circular": lambda: F.pad(image[0], (1, 1), mode="circular"),
        "local_response_norm": lambda: F.local_response_norm(image, 2),
        "adaptive_avg_pool2d": lambda: F.adaptive_avg_pool2d(image, 2),
    }
    if not inputs_low:  # PyTorch's own float16/bfloat16 matrix_exp overflows on these inputs
        cases["matrix_exp"] = lambda: lib.linalg.matrix_exp(a * 0.1)
    results = {}
    with lib.autocast("cpu", dtype=getattr(lib, low_dtype)):
        for name, case in cases.items():
            results[name] = case()
    return results


@pytest.mark.parametrize("low_dtype", LOW_DTYPES)
@pytest.mark.parametrize("inputs_low", [False, True], ids=["float32_inputs", "low_inputs"])
def test_op_lists_give_torch_dtypes_and_values(low_dtype, inputs_low):
    expected = _op_cases(torch, low_dtype, inputs_low)
    actual = _op_cases(ember, low_dtype, inputs_low)
    for name, tensor in expected.items():
        assert _name(actual[name].dtype) == _name(tensor.dtype), name
        np.testing.assert_allclose(
            _array(actual[name]), _array(tensor), rtol=3e-2, atol=3e-2, err_msg=name
        )


def _mlp_step(lib, low_dtype, weights, data):
    """A small conv + attention + MLP, forward and backward under autocast."""
    F = lib.nn.functional
    params = [lib.tensor(w, requires_grad=True) for w in weights]
    conv_weight, first, second, bias = params
    image, target = (lib.tensor(item) for item in data)
    with lib.autocast("cpu", dtype=getattr(lib, low_dtype)):
        features = F.relu(F.conv2d(image, conv_weight, padding=1))
        tokens = features.flatten(2).transpose(1, 2)  # (batch, 16 positions, 3 channels)
        attended = F.scaled_dot_product_attention(tokens, tokens, tokens)
        hidden = F.relu(F.linear(attended.flatten(1), first, bias))
        output = F.linear(hidden, second)
        loss = F.mse_loss(output, target)
    loss.backward()
    dtypes = [_name(t.dtype) for t in (features, attended, hidden, output, loss)]
    return dtypes, loss, [p.grad for p in params]


@pytest.mark.parametrize("low_dtype", LOW_DTYPES)
def test_training_step_under_autocast_matches_torch(low_dtype):
    rng = np.random.default_rng(1)
    weights = [
        rng.standard_normal(shape).astype(np.float32) * 0.3
        for shape in [(3, 2, 3, 3), (8, 48), (2, 8), (8,)]
    ]
    data = [rng.standard_normal(shape).astype(np.float32) for shape in [(2, 2, 4, 4), (2, 2)]]
    expected_dtypes, expected_loss, expected_grads = _mlp_step(torch, low_dtype, weights, data)
    dtypes, loss, grads = _mlp_step(ember, low_dtype, weights, data)
    assert dtypes == expected_dtypes == [low_dtype] * 4 + ["float32"]
    np.testing.assert_allclose(_array(loss), _array(expected_loss), rtol=5e-2)
    for grad, expected in zip(grads, expected_grads):
        assert grad.dtype is ember.float32
        scale = np.abs(_array(expected)).max()
        np.testing.assert_allclose(_array(grad), _array(expected), atol=5e-2 * scale)


def test_autocast_leaves_float64_integers_and_disabled_blocks_alone():
    rng = np.random.default_rng(2)
    matrix = rng.standard_normal((3, 3))
    for lib in (torch, ember):
        double = lib.tensor(matrix)
        single = lib.tensor(matrix.astype(np.float32))
        integer = lib.tensor([[1, 2], [3, 4]])
        with lib.autocast("cpu", dtype=lib.float16):
            assert (double @ double).dtype is lib.float64
            assert (integer @ integer).dtype is lib.int64
            with lib.autocast("cpu", enabled=False):
                assert (single @ single).dtype is lib.float32
                assert not lib.is_autocast_enabled("cpu")
            assert (single @ single).dtype is lib.float16
        assert (single @ single).dtype is lib.float32


def test_state_belongs_to_the_thread_and_is_restored():
    for lib in (torch, ember):
        seen = []

        def worker(lib=lib, seen=seen):
            matrix = lib.ones(2, 2)
            seen.append((lib.is_autocast_enabled("cpu"), (matrix @ matrix).dtype))

        assert lib.get_autocast_dtype("cpu") is lib.bfloat16
        with lib.autocast("cpu", dtype=lib.float16):
            assert lib.is_autocast_enabled("cpu") and not lib.is_autocast_enabled()
            assert lib.get_autocast_dtype("cpu") is lib.float16
            thread = threading.Thread(target=worker)
            thread.start()
            thread.join(timeout=60)
        assert seen == [(False, lib.float32)]
        assert not lib.is_autocast_enabled("cpu")
        assert lib.get_autocast_dtype("cpu") is lib.bfloat16


def test_autocast_as_decorator():
    for lib in (torch, ember):

        @lib.autocast("cpu", dtype=lib.bfloat16)
        def forward(x):
            return x @ x

        assert forward(lib.ones(2, 2)).dtype is lib.bfloat16
        assert not lib.is_autocast_enabled("cpu")


def _warnings_of(function) -> list:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = function()
    return result, [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize(
    "make",
    [
        lambda lib: lib.autocast("cuda"),
        lambda lib: lib.cuda.amp.autocast(),
        lambda lib: lib.cpu.amp.autocast(),
        lambda lib: lib.autocast("cpu", dtype=lib.float32),
        lambda lib: lib.cuda.amp.GradScaler(),
        lambda lib: lib.amp.GradScaler(),
        lambda lib: lib.cpu.amp.GradScaler(),
    ],
    ids=["cuda", "cuda_amp", "cpu_amp", "float32", "cuda_scaler", "scaler", "cpu_scaler"],
)
def test_warnings_and_what_is_left_enabled_match_torch(make):
    if ember.cuda.is_available():
        pytest.skip("this run has CUDA")
    expected_object, expected = _warnings_of(lambda: make(torch))
    actual_object, actual = _warnings_of(lambda: make(ember))
    assert actual == expected
    if hasattr(expected_object, "is_enabled"):
        assert actual_object.is_enabled() == expected_object.is_enabled()
    else:
        assert actual_object._enabled == expected_object._enabled


def test_bad_device_type_raises_like_torch():
    for lib in (torch, ember):
        with pytest.raises(ValueError, match="Expected `device_type` of type `str`"):
            lib.autocast(3)


def _scaler_loop(lib, inf_step: int, growth_interval: int):
    """Six SGD steps with a GradScaler; the gradient overflows on ``inf_step``."""
    rng = np.random.default_rng(3)
    model = lib.nn.Linear(3, 2)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(rng.standard_normal((2, 3)).astype(np.float32)))
        model.bias.copy_(lib.tensor(rng.standard_normal(2).astype(np.float32)))
    optimizer = lib.optim.SGD(model.parameters(), lr=0.1)
    scaler = lib.amp.GradScaler("cpu", init_scale=8.0, growth_interval=growth_interval)
    history = []
    for step in range(6):
        input = lib.tensor(rng.standard_normal((4, 3)).astype(np.float32))
        if step == inf_step:
            input[0, 0] = float("inf")
        optimizer.zero_grad()
        loss = model(input).pow(2).mean()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        history.append(
            (
                scaler.get_scale(),
                scaler.state_dict()["_growth_tracker"],
                _array(model.weight).copy(),
                _array(model.bias).copy(),
            )
        )
    return history


def test_grad_scaler_skips_backs_off_and_grows_like_torch():
    expected = _scaler_loop(torch, inf_step=1, growth_interval=2)
    actual = _scaler_loop(ember, inf_step=1, growth_interval=2)
    scales = [entry[0] for entry in actual]
    assert scales == [entry[0] for entry in expected] == [8.0, 4.0, 4.0, 8.0, 8.0, 16.0]
    for (_, tracker, weight, bias), (_, expected_tracker, expected_weight, expected_bias) in zip(
        actual, expected
    ):
        assert tracker == expected_tracker
        np.testing.assert_allclose(weight, expected_weight, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bias, expected_bias, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(actual[1][2], actual[0][2])  # the inf step changed nothing


def test_disabled_scaler_is_a_pass_through():
    model = ember.nn.Linear(2, 1)
    optimizer = ember.optim.SGD(model.parameters(), lr=0.5)
    scaler = ember.amp.GradScaler("cpu", enabled=False)
    loss = model(ember.ones(1, 2)).sum()
    assert scaler.scale(loss) is loss
    loss.backward()
    before = model.bias.detach().clone()
    scaler.step(optimizer)
    scaler.update()
    assert float(model.bias) == pytest.approx(float(before) - 0.5)
    assert scaler.get_scale() == 1.0 and scaler.state_dict() == {} and not scaler.is_enabled()


def test_scaler_state_dict_round_trip_and_misuse_errors():
    for lib in (torch, ember):
        scaler = lib.amp.GradScaler("cpu", init_scale=4.0, growth_interval=7)
        parameter = lib.nn.Parameter(lib.ones(2))
        optimizer = lib.optim.SGD([parameter], lr=0.1)
        scaler.scale(parameter.sum()).backward()
        scaler.unscale_(optimizer)
        np.testing.assert_array_equal(_array(parameter.grad), [1.0, 1.0])
        with pytest.raises(RuntimeError, match="unscale_\\(\\) has already been called"):
            scaler.unscale_(optimizer)
        scaler.step(optimizer)
        with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
            scaler.step(optimizer)
        scaler.update()
        state = scaler.state_dict()
        assert state == {
            "scale": 4.0,
            "growth_factor": 2.0,
            "backoff_factor": 0.5,
            "growth_interval": 7,
            "_growth_tracker": 1,
        }
        restored = lib.amp.GradScaler("cpu")
        restored.load_state_dict(state)
        assert restored.state_dict() == state
        assert pickle.loads(pickle.dumps(restored)).state_dict() == state
        with pytest.raises(RuntimeError, match="The source state dict is empty"):
            restored.load_state_dict({})


def test_custom_fwd_casts_inputs_and_runs_without_autocast():
    seen = {}

    class Square(ember.autograd.Function):
        @staticmethod
        @ember.amp.custom_fwd(device_type="cpu", cast_inputs=ember.float32)
        def forward(ctx, x):
            seen["dtype"], seen["autocast"] = x.dtype, ember.is_autocast_enabled("cpu")
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        @ember.amp.custom_bwd(device_type="cpu")
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return 2 * x * grad

    leaf = ember.ones(2, dtype=ember.float16, requires_grad=True)
    with ember.autocast("cpu", dtype=ember.bfloat16):
        result = Square.apply(leaf)
    assert seen == {"dtype": ember.float32, "autocast": False}
    result.sum().backward()
    assert leaf.grad.dtype is ember.float16


def _module_dtypes(lib) -> list:
    lib.manual_seed(0)
    nn = lib.nn
    tokens = lib.ones(2, 3, 8)
    dtypes = []
    with lib.autocast("cpu", dtype=lib.bfloat16):
        attention = nn.MultiheadAttention(8, 2, batch_first=True)
        output, weights = attention(tokens, tokens, tokens)
        dtypes += [output.dtype, weights.dtype]
        layer = nn.TransformerEncoderLayer(8, 2, 16, batch_first=True, dropout=0.0)
        for module in [nn.Linear(8, 4), nn.Conv1d(3, 2, 3), nn.PReLU(), nn.LayerNorm(8), layer]:
            dtypes.append(module(tokens).dtype)
    return [_name(dtype) for dtype in dtypes]


def test_layers_under_autocast_give_torch_dtypes():
    assert _module_dtypes(ember) == _module_dtypes(torch)
