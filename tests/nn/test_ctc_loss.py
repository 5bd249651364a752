"""CTC loss against PyTorch 2.13 in float64: losses, gradients of random cotangents,
finite-difference gradchecks, both target formats, every reduction, impossible alignments,
and the errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from tests.nn.layer_oracle import check_layer
from tests.oracle import Case, ErrorCase, check_case, check_error

torch.set_num_threads(1)


def _problem(rng, frames=9, batch=4, classes=5, longest=3, blank=0):
    """Logits (T, N, C), padded targets without ``blank`` (some labels repeated), and
    lengths with at least one sequence shorter than T and one empty target."""
    logits = rng.standard_normal((frames, batch, classes))
    labels = [k for k in range(classes) if k != blank]
    targets = rng.choice(labels, size=(batch, longest))
    targets[0, 1] = targets[0, 0]  # a repeated label needs a blank between its copies
    input_lengths = np.array([frames, frames - 2, frames - 1, frames][:batch])
    target_lengths = np.array([longest, longest - 1, 0, 2][:batch])
    return logits, targets, input_lengths, target_lengths


def _concatenated(lib, targets, target_lengths):
    return lib.cat([targets[n, : int(target_lengths[n])] for n in range(targets.shape[0])])


def _ctc_cases():
    cases = []
    for reduction in ("none", "mean", "sum"):
        cases.append(Case(
            f"ctc_padded_{reduction}",
            lambda lib, x, t, il, tl, reduction=reduction: lib.nn.functional.ctc_loss(
                x.log_softmax(2), t, il, tl, reduction=reduction),
            inputs=lambda rng: list(_problem(rng)), gradgrad=False))
        cases.append(Case(
            f"ctc_concatenated_{reduction}",
            lambda lib, x, t, il, tl, reduction=reduction: lib.nn.functional.ctc_loss(
                x.log_softmax(2), _concatenated(lib, t, tl), il, tl, reduction=reduction),
            inputs=lambda rng: list(_problem(rng)), gradgrad=False))
    cases += [
        Case("ctc_blank_last", lambda lib, x, t, il, tl: lib.nn.functional.ctc_loss(
            x.log_softmax(2), t, il, tl, blank=4, reduction="none"),
            inputs=lambda rng: list(_problem(rng, blank=4)), gradgrad=False),
        Case("ctc_blank_middle_sum", lambda lib, x, t, il, tl: lib.nn.functional.ctc_loss(
            x.log_softmax(2), t, il, tl, 2, "sum"),
            inputs=lambda rng: list(_problem(rng, blank=2)), gradgrad=False),
        Case("ctc_tuple_lengths", lambda lib, x, t: lib.nn.functional.ctc_loss(
            x.log_softmax(2), t, (9, 7, 8, 9), [3, 2, 0, 2]),
            inputs=lambda rng: list(_problem(rng)[:2]), gradgrad=False),
        Case("ctc_unbatched_none", lambda lib, x, t: lib.nn.functional.ctc_loss(
            x.log_softmax(1), t, lib.tensor(7), lib.tensor(3), reduction="none"),
            inputs=lambda rng: [rng.standard_normal((8, 4)), np.array([1, 1, 3])],
            gradgrad=False),
        Case("ctc_unbatched_padded_mean", lambda lib, x, t: lib.nn.functional.ctc_loss(
            x.log_softmax(1), t, (8,), (2,)),
            inputs=lambda rng: [rng.standard_normal((8, 4)), np.array([[2, 3, 0]])],
            gradgrad=False),
        Case("ctc_int32_targets_and_lengths", lambda lib, x, t, il, tl: lib.nn.functional.ctc_loss(
            x.log_softmax(2), t.int(), il.int(), tl.int(), reduction="none"),
            inputs=lambda rng: list(_problem(rng)), gradgrad=False),
        # The longest possible target: every frame is used by the labels and the blanks
        # between repeats.
        Case("ctc_tight_alignment", lambda lib, x, t: lib.nn.functional.ctc_loss(
            x.log_softmax(2), t, (5, 3), (3, 3), reduction="none"),
            inputs=lambda rng: [rng.standard_normal((5, 2, 3)), np.array([[1, 1, 2], [2, 1, 2]])],
            gradgrad=False),
        Case("ctc_long_batch", lambda lib, x, t, il, tl: lib.nn.functional.ctc_loss(
            x.log_softmax(2), t, il, tl, reduction="none"),
            inputs=lambda rng: [rng.standard_normal((30, 6, 7)), rng.integers(1, 7, (6, 12)),
                                rng.integers(20, 31, 6), rng.integers(0, 13, 6)],
            gradgrad=False),
    ]
    return cases


@pytest.mark.parametrize("case", _ctc_cases(), ids=lambda case: case.name)
def test_ctc_loss_matches_torch(case):
    check_case(case)


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("concatenated", [False, True])
def test_gradient_wrt_log_probs_is_pytorchs(reduction, concatenated):
    """On log_probs as a leaf, PyTorch returns y - posterior (the logits' gradient), not the
    partial derivative; a log_softmax in front hides the difference, so check it bare."""
    rng = np.random.default_rng(11)
    logits, targets, input_lengths, target_lengths = _problem(rng, frames=10, classes=6)
    log_probs = torch.tensor(logits).log_softmax(2).numpy()
    results = []
    for lib in (torch, ember):
        x = lib.tensor(log_probs, requires_grad=True)
        t = lib.tensor(targets)
        t = _concatenated(lib, t, target_lengths) if concatenated else t
        loss = lib.nn.functional.ctc_loss(
            x, t, lib.tensor(input_lengths), lib.tensor(target_lengths), reduction=reduction
        )
        cotangent = np.random.default_rng(12).standard_normal(tuple(loss.shape))
        (grad,) = lib.autograd.grad(loss, x, lib.tensor(cotangent))
        results.append((loss.detach().numpy(), grad.numpy(), str(loss.dtype).split(".")[1]))
    (t_loss, t_grad, t_dtype), (e_loss, e_grad, e_dtype) = results
    assert e_dtype == t_dtype == "float64"
    np.testing.assert_allclose(e_loss, t_loss, rtol=1e-12)
    np.testing.assert_allclose(e_grad, t_grad, rtol=1e-10, atol=1e-12)
    assert not e_grad[input_lengths[1]:, 1].any()  # frames past a sequence's length get 0


@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_alignment_is_infinite_or_zeroed_like_torch(zero_infinity):
    """Three labels with a repeat need five frames: with three the loss is infinite (and its
    gradient NaN on its frames), or 0 with a 0 gradient under ``zero_infinity``."""
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((6, 3, 4))
    targets = np.array([[1, 1, 2], [2, 3, 1], [3, 3, 3]])
    input_lengths, target_lengths = np.array([3, 6, 5]), np.array([3, 3, 3])
    cotangent = rng.standard_normal(3)
    outputs = []
    for lib in (torch, ember):
        x = lib.tensor(logits, requires_grad=True)
        log_probs = x.log_softmax(2)
        log_probs.retain_grad()
        loss = lib.nn.functional.ctc_loss(
            log_probs, lib.tensor(targets), lib.tensor(input_lengths),
            lib.tensor(target_lengths), reduction="none", zero_infinity=zero_infinity,
        )
        loss.backward(lib.tensor(cotangent))
        outputs.append([loss.detach().numpy(), log_probs.grad.numpy(), x.grad.numpy()])
    for actual, expected in zip(outputs[1], outputs[0]):
        np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12, equal_nan=True)
    loss, grad = outputs[1][0], outputs[1][1]
    if zero_infinity:
        assert loss[0] == 0 and not grad[:, 0].any()
    else:
        assert loss[0] == np.inf and np.isnan(grad[:3, 0]).all() and not grad[3:, 0].any()
    assert np.isfinite(loss[1:]).all() and np.isfinite(grad[:, 1:]).all()


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_zero_infinity_in_a_reduced_loss_matches_torch(reduction):
    rng = np.random.default_rng(6)
    logits = rng.standard_normal((4, 3, 5))
    targets = np.array([[1, 2, 3, 4], [1, 1, 0, 0], [4, 0, 0, 0]])
    lengths = ((0, 4, 4), (4, 2, 1))  # no frame for a label: infinite
    cotangent = rng.standard_normal(())
    values = []
    for lib in (torch, ember):
        x = lib.tensor(logits, requires_grad=True)
        loss = lib.nn.functional.ctc_loss(x.log_softmax(2), lib.tensor(targets), *lengths,
                                          reduction=reduction, zero_infinity=True)
        (grad,) = lib.autograd.grad(loss, x, lib.tensor(cotangent))
        values.append((loss.item(), grad.numpy()))
    np.testing.assert_allclose(values[1][0], values[0][0], rtol=1e-12)
    np.testing.assert_allclose(values[1][1], values[0][1], rtol=1e-10, atol=1e-12)
    assert np.isfinite(values[1][0])


def test_no_frames_and_empty_targets_match_torch():
    """A sequence of no frames has loss 0 for an empty target and inf otherwise."""
    rng = np.random.default_rng(8)
    log_probs = torch.tensor(rng.standard_normal((5, 4, 3))).log_softmax(2).numpy()
    targets = np.array([[1, 2], [1, 1], [2, 2], [1, 2]])
    lengths = (np.array([0, 0, 3, 5]), np.array([1, 0, 0, 0]))
    losses = [lib.nn.functional.ctc_loss(lib.tensor(log_probs), lib.tensor(targets),
                                         *map(lib.tensor, lengths), reduction="none").numpy()
              for lib in (torch, ember)]
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-12)
    assert losses[1][0] == np.inf and losses[1][1] == 0


def test_float32_matches_torch():
    rng = np.random.default_rng(9)
    logits, targets, input_lengths, target_lengths = _problem(rng, frames=20, batch=4)
    results = []
    for lib in (torch, ember):
        x = lib.tensor(logits.astype(np.float32), requires_grad=True)
        loss = lib.nn.functional.ctc_loss(x.log_softmax(2), lib.tensor(targets),
                                          lib.tensor(input_lengths), lib.tensor(target_lengths))
        loss.backward()
        results.append((loss.dtype, loss.item(), x.grad.numpy()))
    assert str(results[1][0]) == "ember.float32" and results[0][0] == torch.float32
    assert results[1][2].dtype == np.float32
    np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-5)
    np.testing.assert_allclose(results[1][2], results[0][2], rtol=1e-4, atol=1e-6)


def test_ctc_loss_module_matches_torch():
    rng = np.random.default_rng(10)
    logits, targets, input_lengths, target_lengths = _problem(rng, blank=3)
    log_probs = torch.tensor(logits).log_softmax(2).numpy()
    inputs = [log_probs, targets, input_lengths, target_lengths]
    for reduction in ("none", "mean", "sum"):
        torch_module, ember_module = check_layer(
            lambda lib, reduction=reduction: lib.nn.CTCLoss(3, reduction, True), inputs
        )
        assert repr(ember_module) == repr(torch_module)
        for name in ("blank", "reduction", "zero_infinity"):
            assert getattr(ember_module, name) == getattr(torch_module, name)


def test_node_name_and_no_double_backward_like_torch():
    rng = np.random.default_rng(13)
    logits, targets, input_lengths, target_lengths = _problem(rng)
    for lib in (torch, ember):
        log_probs = lib.tensor(logits).log_softmax(2).detach().requires_grad_()
        losses = lib.nn.functional.ctc_loss(log_probs, lib.tensor(targets),
                                            lib.tensor(input_lengths),
                                            lib.tensor(target_lengths), reduction="none")
        assert losses.grad_fn.name() == "CtcLossBackward0"
        (grad,) = lib.autograd.grad(losses.sum(), log_probs, create_graph=True)
        with pytest.raises(RuntimeError, match="_ctc_loss_backward is not implemented"):
            grad.sum().backward()


def test_autocast_runs_ctc_loss_in_float32_like_torch():
    rng = np.random.default_rng(14)
    logits, targets, input_lengths, target_lengths = _problem(rng)
    dtypes = []
    for lib in (torch, ember):
        log_probs = lib.tensor(logits, dtype=lib.bfloat16).log_softmax(2)
        with lib.autocast("cpu", dtype=lib.bfloat16):
            loss = lib.nn.functional.ctc_loss(log_probs, lib.tensor(targets),
                                              lib.tensor(input_lengths),
                                              lib.tensor(target_lengths))
        dtypes.append(str(loss.dtype).split(".")[1])
    assert dtypes == ["float32", "float32"]


def test_labels_out_of_range_raise():
    """PyTorch's CPU kernel reads out of bounds here (no error, arbitrary values); ember
    refuses."""
    log_probs = ember.randn(6, 2, 4, dtype=ember.float64).log_softmax(2)
    for bad in (4, -1):
        targets = ember.tensor([[1, 2, bad], [1, 1, 1]])
        with pytest.raises(RuntimeError, match=r"target labels must be in \[0, 4\)"):
            ember.nn.functional.ctc_loss(log_probs, targets, (6, 6), (3, 2))
    # Past a target's length, padding may hold anything.
    targets = ember.tensor([[1, 2, 99], [1, -5, -5]])
    assert ember.nn.functional.ctc_loss(log_probs, targets, (6, 6), (2, 1)).isfinite()


def _log_probs(lib, shape=(6, 2, 4), dtype=None):
    values = np.random.default_rng(15).standard_normal(shape)
    return lib.tensor(values, dtype=dtype or lib.float64).log_softmax(-1)


def _ctc(lib, log_probs=None, targets=((1, 2, 3), (1, 1, 2)), input_lengths=None,
         target_lengths=None, **options):
    """A valid call of ``ctc_loss`` (lengths (6, 5) and (3, 2) as tensors) but for what the
    arguments change."""
    log_probs = _log_probs(lib) if log_probs is None else log_probs
    targets = targets if isinstance(targets, lib.Tensor) else lib.tensor(targets)
    input_lengths = lib.tensor([6, 5]) if input_lengths is None else input_lengths
    target_lengths = lib.tensor([3, 2]) if target_lengths is None else target_lengths
    return lib.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths,
                                      **options)


CTC_ERRORS = [
    ErrorCase("bad_reduction", lambda lib: _ctc(lib, reduction="average")),
    ErrorCase("float_input_lengths", lambda lib: _ctc(lib, input_lengths=lib.tensor([6.0, 5]))),
    ErrorCase("float_target_lengths", lambda lib: _ctc(lib, target_lengths=lib.tensor([3.0, 2]))),
    ErrorCase("input_lengths_size", lambda lib: _ctc(lib, input_lengths=lib.tensor([6]))),
    ErrorCase("target_lengths_size", lambda lib: _ctc(lib, target_lengths=(3, 2, 1),
                                                     input_lengths=(6, 5))),
    ErrorCase("input_lengths_2d", lambda lib: _ctc(lib, input_lengths=lib.tensor([[6, 5, 4]]))),
    ErrorCase("input_length_past_frames", lambda lib: _ctc(lib, input_lengths=lib.tensor([7, 5]))),
    ErrorCase("negative_input_length", lambda lib: _ctc(lib, input_lengths=lib.tensor([-1, 5]))),
    ErrorCase("negative_target_length", lambda lib: _ctc(lib, target_lengths=lib.tensor([3, -1]))),
    ErrorCase("target_length_past_padding",
              lambda lib: _ctc(lib, target_lengths=lib.tensor([4, 2]))),
    ErrorCase("padded_batch_mismatch", lambda lib: _ctc(lib, targets=((1, 2, 3),))),
    ErrorCase("concatenated_total_mismatch", lambda lib: _ctc(lib, targets=(1, 2, 3, 1))),
    ErrorCase("targets_3d", lambda lib: _ctc(lib, targets=(((1, 2, 3),), ((1, 1, 2),)))),
    ErrorCase("log_probs_4d", lambda lib: _ctc(lib, log_probs=_log_probs(lib, (6, 2, 4, 1)))),
    ErrorCase("log_probs_1d", lambda lib: _ctc(lib, log_probs=_log_probs(lib, (6,)))),
    ErrorCase("empty_log_probs", lambda lib: _ctc(lib, log_probs=_log_probs(lib, (0, 2, 4)),
                                                  input_lengths=lib.tensor([0, 0]))),
    ErrorCase("blank_too_large", lambda lib: _ctc(lib, blank=4)),
    ErrorCase("blank_negative", lambda lib: _ctc(lib, blank=-1)),
    ErrorCase("blank_float", lambda lib: _ctc(lib, blank=1.0)),
    ErrorCase("integer_log_probs", lambda lib: _ctc(lib, log_probs=lib.zeros(6, 2, 4).long())),
    ErrorCase("half_log_probs", lambda lib: _ctc(lib, log_probs=_log_probs(lib, dtype=lib.half))),
    ErrorCase("bfloat16_log_probs",
              lambda lib: _ctc(lib, log_probs=_log_probs(lib, dtype=lib.bfloat16))),
    ErrorCase("mixed_length_kinds", lambda lib: _ctc(lib, target_lengths=(3, 2))),
    ErrorCase("int_lengths", lambda lib: _ctc(lib, input_lengths=6, target_lengths=3)),
    ErrorCase("float_in_length_tuple",
              lambda lib: _ctc(lib, input_lengths=(6.5, 5), target_lengths=(3, 2))),
]


@pytest.mark.parametrize("case", CTC_ERRORS, ids=lambda case: case.name)
def test_ctc_loss_errors_match_torch(case):
    check_error(case)


@pytest.mark.parametrize("case", [case for case in CTC_ERRORS if case.name in {
    "input_lengths_size", "input_length_past_frames", "negative_target_length",
    "target_length_past_padding", "padded_batch_mismatch", "concatenated_total_mismatch",
    "targets_3d", "log_probs_4d", "empty_log_probs", "blank_too_large", "half_log_probs",
    "float_input_lengths", "bad_reduction"}], ids=lambda case: case.name)
def test_ctc_loss_error_messages_match_torch(case):
    with pytest.raises(Exception) as expected:
        case.fn(torch)
    with pytest.raises(type(expected.value)) as actual:
        case.fn(ember)
    assert str(actual.value) == str(expected.value)


def test_lengths_of_any_shape_are_read_as_lists_like_torch():
    rng = np.random.default_rng(16)
    logits, targets, input_lengths, target_lengths = _problem(rng)
    log_probs = torch.tensor(logits).log_softmax(2).numpy()
    losses = [lib.nn.functional.ctc_loss(
        lib.tensor(log_probs), lib.tensor(targets), lib.tensor(input_lengths).reshape(2, 2),
        lib.tensor(target_lengths)[None], reduction="none").numpy() for lib in (torch, ember)]
    np.testing.assert_allclose(losses[1], losses[0], rtol=1e-12)


def test_compiled_ctc_loss_matches_eager_with_new_lengths():
    """ember.compile replays the loss on new values and new lengths (they are the op's
    arguments, checked in each replay)."""
    rng = np.random.default_rng(17)

    def loss_of(x, targets, input_lengths, target_lengths):
        return ember.nn.functional.ctc_loss(x.log_softmax(2), targets, input_lengths,
                                            target_lengths, zero_infinity=True)

    compiled = ember.compile(loss_of)
    targets = ember.tensor([[1, 2, 3], [2, 2, 1]])
    for input_lengths in ([8, 7], [8, 3], [6, 8]):
        data = rng.standard_normal((8, 2, 4))
        results = []
        for function in (loss_of, compiled):
            x = ember.tensor(data, requires_grad=True)
            loss = function(x, targets, ember.tensor(input_lengths), ember.tensor([3, 2]))
            loss.backward()
            results.append((loss.item(), x.grad.numpy()))
        np.testing.assert_allclose(results[1][0], results[0][0], rtol=1e-12)
        np.testing.assert_allclose(results[1][1], results[0][1], rtol=1e-12)
