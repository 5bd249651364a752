"""Fused kernels in ``ember.compile`` (``ember/_compile/fusion.py`` and ``kernels/``): the
exact GELU, ReLU and the gradients of ReLU, sigmoid and tanh, softmax, masked_fill and layer
norm over rows, an embedding's gradient, max pooling, the moves of the batch dim around the
convolutions' batch-last kernels, the gradients' norms of ``clip_grad_norm_``, Adam's and
plain SGD's updates as numba loops, bit for bit the eager result, compiled in a background
thread while the program runs NumPy's kernels; without numba, or when it fails, nothing
changes."""

from __future__ import annotations

import gc
import importlib.util
import os
import subprocess
import sys
import threading
import weakref

import numpy as np
import pytest

import ember
import ember.nn as nn
import ember.nn.functional as F
from ember._compile import fusion, kernels
from ember._compile.kernels import activations
from ember._compile.kernels._common import pairwise_sum
from ember.nn._functional.activation import Gelu

if importlib.util.find_spec("numba") is None:  # the test extra installs it (ember[compile])
    pytest.skip("numba is not installed", allow_module_level=True)
# Imported as ember imports it, so that the background thread's compilations leave
# sys.stderr alone (docs/compile.md): imported plainly here, first, numba would swap it
# while pytest captures another test's output.
numba = fusion._import_numba()

SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-40, -1e-40, 3.9, -3.9, 4.0, 40.0, -40.0,
           1e-3, -1e-3, 0.84375, -1.25]


def _inputs(shape, seed):
    rng = np.random.default_rng(seed)
    values = (rng.standard_normal(int(np.prod(shape))) * 3).astype(np.float32)
    values[: len(SPECIAL)] = SPECIAL[: values.size]
    return values.reshape(shape)


def _eager_and_compiled(function, array, calls=3, fused=True):
    """Outputs and input gradients (under a random cotangent) of ``function``, eagerly and
    compiled (the first call records; the later ones wait for the fused kernel)."""
    shape = tuple(function(ember.tensor(array)).shape)
    cotangent = ember.tensor(np.random.default_rng(7).standard_normal(shape),
                             dtype=ember.float32)

    def run(call):
        x = ember.tensor(array, requires_grad=True)
        y = call(x)
        (y * cotangent).sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    expected = run(function)
    compiled = ember.compile(function)
    results = []
    for _ in range(calls):
        results.append(run(compiled))
        assert fusion.wait(timeout=120) or not fused, fusion.failure
    return expected, results, compiled


def _kernel_of(compiled):
    program = compiled.latest.program
    (number,) = [n for n in program.lowered if program.steps[n].op.__name__ == "Gelu"]
    return program.namespace[f"Gelu_{number}"], program.namespace.get(f"B{number}")


@pytest.mark.parametrize("shape", [(64,), (16, 32, 24), (3, 0, 5)])
def test_the_fused_gelu_equals_eager_bit_for_bit(shape):
    expected, results, compiled = _eager_and_compiled(lambda x: F.gelu(x * 1.0),
                                                      _inputs(shape, seed=len(shape)))
    for output, grad in results:
        np.testing.assert_array_equal(output, expected[0])
        np.testing.assert_array_equal(grad, expected[1])
    forward, backward = _kernel_of(compiled)
    assert forward.__qualname__.startswith("_gelu_forward")
    assert backward.__qualname__.startswith("_gelu_backward")
    assert "fused by numba" in compiled.code


def test_a_0d_gelu_keeps_its_own_functions_and_equals_eager():
    """A 0-d GELU is not lowered: its program replays the op whole, whose forward and
    backward take a ctx; the fused kernels, made for the lowered functions, stay away."""
    expected, results, compiled = _eager_and_compiled(lambda x: F.gelu(x * 1.0),
                                                      np.float32(0.7), calls=3, fused=False)
    for output, grad in results:
        np.testing.assert_array_equal(output, expected[0])
        np.testing.assert_array_equal(grad, expected[1])
    assert "Gelu_" in compiled.code and "fused" not in compiled.code


def test_the_fused_gelu_covers_float32_across_its_range():
    """Every 97th float32 from -6 to 6, and the non-finite ones, against eager: the
    forward, and the backward under a random gradient."""
    grid = np.arange(np.float32(-6).view(np.int32), np.float32(-1e-30).view(np.int32),
                     -97, dtype=np.int32).view(np.float32)
    values = np.concatenate([grid, -grid, np.float32(SPECIAL)])
    kernel = activations._gelu_forward(_kernel())
    y, twice_cdf = kernel(values, "none")
    with np.errstate(invalid="ignore"):  # -inf / 2 * 0, as in eager under the op's errstate
        want_y, want_twice_cdf = Gelu.exact(values)
    np.testing.assert_array_equal(y, want_y)
    np.testing.assert_array_equal(twice_cdf, want_twice_cdf)
    grad = np.random.default_rng(5).standard_normal(values.shape).astype(np.float32)
    grad[:3] = [-0.0, np.inf, np.nan]
    with np.errstate(invalid="ignore", over="ignore"):
        found, _ = activations._gelu_backward(_kernel())(grad, values, twice_cdf)
        np.testing.assert_array_equal(found, Gelu.exact_grad(grad, values, twice_cdf))


def _kernel():
    fusion.offer({}, "probe", _probe_step())
    assert fusion.wait(timeout=120), fusion.failure
    return fusion._kernels["gelu"]


def _probe_step():
    x = ember.ones(2, requires_grad=True)
    compiled = ember.compile(lambda x: F.gelu(x))
    compiled(x)
    program = compiled.latest.program
    return program.steps[next(iter(program.lowered))]


def test_a_strided_input_takes_numpys_kernels_and_equals_eager():
    array = _inputs((12, 10), seed=3)
    expected, results, _ = _eager_and_compiled(lambda x: F.gelu(x.t()), array)
    for output, grad in results:
        np.testing.assert_array_equal(output, expected[0])
        np.testing.assert_array_equal(grad, expected[1])


@pytest.mark.parametrize("function", [lambda x: F.gelu(x.double() * 1.0),
                                      lambda x: F.gelu(x * 1.0, approximate="tanh")],
                         ids=["float64", "tanh"])
def test_float64_and_the_tanh_form_have_no_fused_kernel(function):
    expected, results, compiled = _eager_and_compiled(function, _inputs((5, 6), seed=4))
    assert "fused" not in compiled.code
    for output, grad in results:
        np.testing.assert_array_equal(output, expected[0])
        np.testing.assert_array_equal(grad, expected[1])


@pytest.fixture
def fresh_fusion(monkeypatch):
    """The module as a process starts it: nothing compiled, no thread. A thread an earlier
    test started ends first, and the test's own before the module's state comes back."""
    fusion.wait()
    for name, value in (("_kernels", {}), ("_requested", []), ("_waiting", []),
                        ("_thread", None), ("failure", None), ("_available", None),
                        ("_held", weakref.WeakKeyDictionary())):
        monkeypatch.setattr(fusion, name, value)
    yield fusion
    fusion.wait()


def test_a_forked_child_starts_with_a_free_lock_and_no_thread(fresh_fusion):
    fusion._kernels["gelu"] = "compiled"
    fusion._requested[:] = ["gelu", "adam"]
    fusion._waiting.append(("adam", {}, "call0", None))
    fusion._lock.acquire()  # as if the parent's thread held it when the process forked
    try:
        fusion._forget_in_child()
        assert fusion._lock.acquire(blocking=False)
        fusion._lock.release()
    finally:
        fusion._lock = threading.Lock()
    assert fusion._thread is None and fusion._waiting == [] and fusion._requested == ["gelu"]


def _starts(monkeypatch) -> list:
    """The calls to ``fusion.start``, counted instead of starting numba."""
    calls = []
    monkeypatch.setattr(fusion, "start", lambda: calls.append(1))
    return calls


def test_fused_kernels_compile_once_a_function_is_hot(fresh_fusion, monkeypatch):
    calls = _starts(monkeypatch)
    monkeypatch.setattr(fusion, "hot", 5)
    compiled = ember.compile(lambda x: F.gelu(x * 1.0))
    x = ember.tensor(_inputs((4, 5), seed=8))
    compiled(x)  # records: the program holds its request for the GELU kernel
    program = compiled.latest.program
    assert "fused by numba once compiled" in compiled.code
    assert [kind for kind, *_ in fusion._held[program]] == ["gelu"]
    assert fusion._requested == [] and fusion._waiting == []
    for replays in range(1, 5):
        compiled(x)
        assert compiled.replays == replays and calls == [] and fusion._requested == []
    compiled(x)  # the fifth replay: hot, so the request goes to numba
    assert calls == [1] and fusion._requested == ["gelu"] and program not in fusion._held
    compiled(x)
    assert calls == [1]
    compiled(ember.tensor(_inputs((3, 5), seed=9)))  # a new recording of a hot function
    assert compiled.replays == 6 and calls == [1, 1]
    assert compiled.latest.program not in fusion._held and len(fusion._waiting) == 2


def test_the_replay_of_another_recording_counts_towards_hot(fresh_fusion, monkeypatch):
    calls = _starts(monkeypatch)
    monkeypatch.setattr(fusion, "hot", 3)
    compiled = ember.compile(lambda x: F.gelu(x * 1.0))
    big, small = (ember.tensor(_inputs(shape, seed=10)) for shape in ((4, 5), (2, 5)))
    for x in (big, small, big, small):  # records twice, then replays each (not the latest)
        compiled(x)
    assert compiled.replays == 2 and calls == []
    compiled(small)
    assert compiled.replays == 3 and calls == [1]


def test_with_hot_at_zero_the_first_recording_starts_them(fresh_fusion, monkeypatch):
    calls = _starts(monkeypatch)
    monkeypatch.setattr(fusion, "hot", 0)
    compiled = ember.compile(lambda x: F.gelu(x * 1.0))
    compiled(ember.tensor(_inputs((4, 5), seed=11)))
    assert compiled.replays == 0 and calls == [1] and fusion._requested == ["gelu"]


def test_a_program_that_never_turns_hot_asks_for_nothing_and_holds_nothing(fresh_fusion):
    """What a program asked for waits on it: gone with it, never compiled, and nothing of
    it (its namespace, its parameters) kept by the module; ``wait`` asks for what the
    living ones hold."""
    layer = nn.Linear(5, 3)
    compiled = ember.compile(lambda x: F.gelu(layer(x)))
    compiled(ember.tensor(_inputs((4, 5), seed=12)))
    program = weakref.ref(compiled.latest.program)
    assert len(fusion._held) == 1 and fusion._requested == []
    del compiled
    gc.collect()
    assert program() is None and len(fusion._held) == 0
    assert fusion._requested == [] and fusion._waiting == []
    kept = ember.compile(lambda x: F.gelu(x * 2.0))
    kept(ember.tensor(_inputs((4, 5), seed=13)))
    assert fusion.wait(timeout=120), fusion.failure  # asks for what ``kept`` holds
    assert fusion._requested == ["gelu"]
    assert not _kernel_of(kept)[0].__qualname__.startswith("Gelu.lower")  # numba's now


def test_what_a_program_asks_for_is_collected_in_its_own_thread(fresh_fusion):
    """``deferring`` collects per thread: two programs written at once in two threads
    each hold what they asked for, never the other's."""
    inside, leave, theirs = threading.Event(), threading.Event(), {}

    def other_thread():
        with fusion.deferring() as entries:
            fusion.request("theirs", None, None)
            inside.set()
            leave.wait(timeout=60)
        theirs["entries"] = entries

    thread = threading.Thread(target=other_thread)
    with fusion.deferring() as ours:
        thread.start()
        assert inside.wait(timeout=60)
        fusion.request("ours", None, None)  # while the other thread collects too
        leave.set()
        thread.join()
    assert [kind for kind, *_ in ours] == ["ours"]
    assert [kind for kind, *_ in theirs["entries"]] == ["theirs"]
    assert fusion._requested == []


def test_a_short_run_never_imports_numba(tmp_path):
    # under ``hot`` replays, nothing compiles: the process neither imports numba nor
    # waits for it at its end
    script = tmp_path / "short.py"
    script.write_text(
        "import sys\nimport ember\nfrom ember._compile import fusion\n"
        "compiled = ember.compile(lambda x: ember.nn.functional.gelu(x * 2.0))\n"
        "for _ in range(fusion.hot - 1):\n    compiled(ember.ones(8))\n"
        "print(compiled.replays, fusion._requested, 'numba' in sys.modules, fusion._thread)\n")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.split() == [str(fusion.hot - 2), "[]", "False", "None"]


def test_without_numba_the_program_keeps_numpys_kernels(fresh_fusion, monkeypatch):
    monkeypatch.setattr(fusion.importlib.util, "find_spec", lambda name: None)
    expected, results, compiled = _eager_and_compiled(lambda x: F.gelu(x * 1.0),
                                                      _inputs((4, 5), seed=5), calls=2,
                                                      fused=False)
    assert fusion._thread is None and "fused" not in compiled.code
    assert _kernel_of(compiled)[0].__qualname__.startswith("Gelu.lower")
    np.testing.assert_array_equal(results[-1][0], expected[0])


def test_a_failed_compilation_keeps_numpys_kernels_and_says_why(fresh_fusion, monkeypatch):
    def broken(numba):
        raise RuntimeError("no LLVM today")

    monkeypatch.setitem(kernels.BUILDERS, "gelu", broken)
    expected, results, compiled = _eager_and_compiled(lambda x: F.gelu(x * 1.0),
                                                      _inputs((4, 5), seed=6), calls=2,
                                                      fused=False)
    assert fusion.failure == "RuntimeError: no LLVM today"
    assert _kernel_of(compiled)[0].__qualname__.startswith("Gelu.lower")
    for output, grad in results:
        np.testing.assert_array_equal(output, expected[0])
        np.testing.assert_array_equal(grad, expected[1])


_STREAMS_WHILE_COMPILING = """
import os, sys, threading
import ember
from ember._compile import fusion

compiled = ember.compile(lambda x: ember.nn.functional.gelu(x * 2.0))
compiled(ember.randn(8))  # asks for the GELU kernel: numba is imported in the background
seen, done = set(), threading.Event()
threading.Thread(target=lambda: (fusion.wait(), done.set())).start()
while not done.is_set():
    seen.add((id(sys.stdout), id(sys.stderr)))
errors = sys.modules["numba"].core.errors
print(len(seen), type(errors.termcolor()).__name__,
      "NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING" in os.environ, fusion.failure)
"""


def test_importing_numba_in_the_background_leaves_the_streams_alone():
    """numba's coloured error messages wrap and restore sys.stdout and sys.stderr for every
    message it formats, hundreds while it compiles a kernel: from the background thread,
    that undid a redirection made meanwhile in another thread (pytest's capture). ember
    imports it without them, and leaves the environment as it found it."""
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_DISABLE_ERROR_MESSAGE_HIGHLIGHTING"}
    run = subprocess.run([sys.executable, "-c", _STREAMS_WHILE_COMPILING], capture_output=True,
                         text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["1", "NOPColorScheme", "False", "None"]
    # and in this run of the suite, whose test modules import numba too (through ember)
    assert type(numba.core.errors.termcolor()).__name__ == "NOPColorScheme"


def test_a_program_written_while_numba_compiles_gets_the_kernel_when_it_is_ready(
        fresh_fusion):
    first = ember.compile(lambda x: F.gelu(x * 1.0))
    second = ember.compile(lambda x: F.gelu(x * 2.0))
    x = ember.tensor(_inputs((8,), seed=8))
    first(x), second(x)  # both written before the kernel can be ready
    assert "once compiled" in first.code and "once compiled" in second.code
    assert fusion.wait(timeout=120), fusion.failure
    assert _kernel_of(first)[0].__qualname__.startswith("_gelu_forward")
    assert _kernel_of(second)[0].__qualname__.startswith("_gelu_forward")


ADAMS = [
    (ember.optim.Adam, {}),
    (ember.optim.AdamW, {}),
    (ember.optim.Adam, {"weight_decay": 0.1}),  # L2: the gradient gains the decay
    (ember.optim.Adam, {"betas": (0.2, 0.9)}),  # 1 - beta1 >= 0.5: lerp_'s other side
    (ember.optim.AdamW, {"maximize": True, "eps": 1e-3}),
    (ember.optim.Adam, {"amsgrad": True}),  # not fused: Adam's own update
]


def _train(optimizer_class, options, compiled, dtype=ember.float32, steps=6):
    """Parameters and optimizer state after ``steps`` training steps, and the step."""
    ember.manual_seed(0)
    model = ember.nn.Sequential(ember.nn.Linear(5, 7), ember.nn.Tanh(), ember.nn.Linear(7, 3))
    model.to(dtype)
    optimizer = optimizer_class(model.parameters(), lr=1e-2, **options)
    rng = np.random.default_rng(11)
    x = ember.tensor(rng.standard_normal((8, 5)), dtype=dtype)
    y = ember.tensor(rng.standard_normal((8, 3)), dtype=dtype)

    def step(x, y):
        optimizer.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        optimizer.step()
        return loss

    train_step = ember.compile(step) if compiled else step
    for number in range(steps):
        train_step(x, y)
        if compiled and number == 1:  # steps 0-1 ran NumPy's kernels, 2-5 the fused one
            assert fusion.wait(timeout=120), fusion.failure
    values = [p.detach().numpy().copy() for p in model.parameters()]
    values += [tensor._data.copy() for state in optimizer.state.values()
               for tensor in state.values()]
    return values, train_step


@pytest.mark.parametrize("optimizer_class,options", ADAMS,
                         ids=[f"{c.__name__}{o}" for c, o in ADAMS])
def test_the_fused_adam_step_equals_eager_bit_for_bit(optimizer_class, options):
    _trains_as_eagerly(optimizer_class, options)


def _trains_as_eagerly(optimizer_class, options):
    """Parameters and optimizer state after compiled steps equal eager's, bit for bit, and
    the program's ``optimizer.step()`` is bound to the fused kernel's."""
    expected, _ = _train(optimizer_class, options, compiled=False)
    found, train_step = _train(optimizer_class, options, compiled=True)
    assert len(found) == len(expected)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have, want)
    program = train_step.latest.program
    (name,) = [f"call{n}" for n, step in enumerate(program.steps)
               if step.kind == "call" and step.op.func.__name__ == "step"]
    assert program.namespace[name] is not program.steps[int(name[4:])].op  # bound to fusion's


def test_a_float64_adam_is_not_fused_and_equals_eager():
    expected, _ = _train(ember.optim.Adam, {}, compiled=False, dtype=ember.float64)
    found, train_step = _train(ember.optim.Adam, {}, compiled=True, dtype=ember.float64)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have, want)


SGDS = [
    {},
    {"maximize": True},
    {"momentum": 0.9},  # not fused: SGD's own update
    {"weight_decay": 0.1},  # not fused either
]


@pytest.mark.parametrize("options", SGDS, ids=[str(o) for o in SGDS])
def test_the_fused_sgd_step_equals_eager_bit_for_bit(options):
    _trains_as_eagerly(ember.optim.SGD, options)


def _assert_step_fused(call) -> None:
    """The compiled ``call`` broke nowhere, and its ``optimizer.step()`` is bound to the
    fused kernel's."""
    program = call.latest.program
    (number,) = [n for n, s in enumerate(program.steps) if s.kind == "call"
                 and s.op.func.__name__ == "step" and "LRScheduler" not in s.op.func.__qualname__]
    assert program.namespace[f"call{number}"] is not program.steps[number].op
    assert not call.breaks


SGD_GROUPS = ["a new learning rate", "momentum in one group", "a tensor learning rate",
              "a scheduler", "Adam and a scheduler"]


@pytest.mark.parametrize("case", SGD_GROUPS)
def test_the_fused_sgd_step_follows_each_groups_settings(case):
    """Two groups, one with its own learning rate, and a parameter without a gradient;
    then a learning rate set anew between steps, momentum in one group (the whole step
    goes through ``Optimizer._step``), a tensor learning rate (likewise), or an LR
    scheduler, which wraps ``optimizer.step`` (for Adam too).
    The parameters, their versions and the state equal eager's, bit for bit, and the
    program's step is fused's."""

    def run(compiled):
        ember.manual_seed(0)
        first, second = ember.nn.Linear(5, 7), ember.nn.Linear(7, 3)
        unused = ember.nn.Parameter(ember.ones(4))
        model = ember.nn.ModuleList([first, second])
        groups = [{"params": [*first.parameters(), unused]},
                  {"params": list(second.parameters()), "lr": 0.05}]
        if case == "momentum in one group":
            groups[1]["momentum"] = 0.9
        lr = ember.tensor(0.02) if case == "a tensor learning rate" else 0.02
        kind = ember.optim.Adam if case.startswith("Adam") else ember.optim.SGD
        optimizer = kind(groups, lr=lr)
        scheduler = ember.optim.lr_scheduler.ExponentialLR(optimizer, 0.5) \
            if case.endswith("a scheduler") else None
        rng = np.random.default_rng(13)
        x = ember.tensor(rng.standard_normal((8, 5)), dtype=ember.float32)

        def step(x):
            optimizer.zero_grad()
            loss = (model[1](model[0](x).tanh()) ** 2).mean()
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            return loss

        call = ember.compile(step) if compiled else step
        for number in range(5):
            call(x)
            if scheduler is not None:  # what the scheduler's wrapper marks, as eagerly
                assert optimizer._opt_called
                del optimizer._opt_called
            if case == "a new learning rate":
                optimizer.param_groups[0]["lr"] *= 0.5
            if compiled and number == 1:
                assert fusion.wait(timeout=120), fusion.failure
        if compiled:
            _assert_step_fused(call)
            assert call.replays >= 3
        parameters = [*first.parameters(), unused, *second.parameters()]
        return ([p.detach().numpy().copy() for p in parameters],
                [p._version for p in parameters],
                [t._data.copy() for state in optimizer.state.values() for t in state.values()
                 if t is not None])

    expected, found = run(compiled=False), run(compiled=True)
    for want, have in zip(expected[0] + expected[2], found[0] + found[2]):
        np.testing.assert_array_equal(have, want)
    assert found[1] == expected[1]
    assert expected[1][2] == 0  # the parameter without a gradient was not stepped


def test_the_fused_sgd_step_leaves_to_eager_what_its_kernel_does_not_take():
    """Parameters of 5 dims, of 0 dims, strided, float64 and one bigger than the eager
    update's pieces (``_add_scaled_``): each ends as eagerly, bit for bit."""
    rng = np.random.default_rng(12)

    def parameters():
        shapes = [((2, 1, 2, 3, 2), ember.float32), ((), ember.float32),
                  ((3, 4), ember.float64), (((1 << 16) + 3,), ember.float32)]
        params = [ember.tensor(rng.standard_normal(shape), dtype=dtype)
                  for shape, dtype in shapes]
        params.append(ember.tensor(rng.standard_normal((4, 5)), dtype=ember.float32).t())
        return [ember.nn.Parameter(p) for p in params]

    def run(compiled):
        model = ember.nn.ParameterList(parameters())  # a module: compile finds its tensors
        assert not model[4]._data.flags.c_contiguous
        optimizer = ember.optim.SGD(model.parameters(), lr=0.3)

        def step():
            optimizer.zero_grad()
            sum((p * p * 1.5).sum() for p in model).backward()
            optimizer.step()

        call = ember.compile(step) if compiled else step
        for number in range(4):
            call()
            if compiled and number == 1:
                assert fusion.wait(timeout=120), fusion.failure
        if compiled:
            _assert_step_fused(call)
        return [p.detach().numpy() for p in model]

    state = rng.bit_generator.state
    expected = run(compiled=False)
    rng.bit_generator.state = state
    for want, have in zip(expected, run(compiled=True)):
        np.testing.assert_array_equal(have, want)


def _eager_then_fused(function, array, cotangent, fused=True):
    """``function``'s output and input gradient under ``cotangent``, eagerly and compiled
    (once the fused kernels are ready), and the compiled function."""

    def run(call):
        x = ember.tensor(array, requires_grad=True)
        y = call(x)
        y.backward(cotangent)
        return y.detach().numpy(), x.grad.numpy()

    expected = run(function)
    compiled = ember.compile(function)
    run(compiled)
    assert fusion.wait(timeout=120) or not fused, fusion.failure
    return expected, run(compiled), compiled


def _fused_names(compiled, op, prefix) -> list:
    """Whether the compiled program's forward and backward names for its ``op`` step are
    bound to fused kernels (whose names start with ``prefix``)."""
    program = compiled.latest.program
    (number,) = [n for n, step in enumerate(program.steps) if step.op.__name__ == op]
    return [getattr(program.namespace[name], "__qualname__", "").startswith(prefix)
            for name in (f"{op}_{number}", f"B{number}")]


def _layer_norm_case(shape, seed, weight_grad=True, input_grad=True, elementwise=True,
                     normalized=None):
    """Outputs and gradients of a layer norm over ``normalized`` (the last dim), eagerly
    and compiled (replays after the kernels are ready), and the compiled function."""
    rng = np.random.default_rng(seed)
    normalized = normalized or shape[-1:]
    weight, bias = [ember.tensor(rng.standard_normal(normalized), dtype=ember.float32,
                                 requires_grad=weight_grad) if elementwise else None
                    for _ in range(2)]
    array = (rng.standard_normal(shape) * 3 + 1).astype(np.float32)
    array.reshape(-1)[: len(SPECIAL) // 2] = 0.0  # a row that starts flat
    cotangent = ember.tensor(rng.standard_normal(shape), dtype=ember.float32)

    def function(x):
        return F.layer_norm(x * 1.0, normalized, weight, bias)

    def run(call):
        x = ember.tensor(array, requires_grad=input_grad)
        tensors = [t for t in (x, weight, bias) if t is not None and t.requires_grad]
        for tensor in tensors:
            tensor.grad = None
        y = call(x)
        if tensors:
            (y * cotangent).sum().backward()
        return [y.detach().numpy()] + [t.grad.numpy() for t in tensors]

    expected = run(function)
    compiled = ember.compile(function)
    run(compiled)
    fusion.wait(timeout=120)
    return expected, run(compiled), compiled


@pytest.mark.parametrize("shape", [(16, 32, 64), (5, 7), (3, 8), (4, 129), (3, 300),
                                   (2, 1000), (1, 64)])
def test_the_fused_layer_norm_equals_eager_bit_for_bit(shape):
    expected, found, compiled = _layer_norm_case(shape, seed=shape[-1])
    assert fusion.failure is None
    assert len(found) == len(expected) == 4
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have, want)
    assert _fused_names(compiled, "NativeLayerNorm", "_layer_norm") == [True, True]


@pytest.mark.parametrize("weight_grad,input_grad", [(False, True), (True, False)])
def test_the_fused_layer_norm_computes_only_the_gradients_asked_for(weight_grad, input_grad):
    expected, found, compiled = _layer_norm_case((6, 40), seed=2, weight_grad=weight_grad,
                                                 input_grad=input_grad)
    assert len(found) == len(expected)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have, want)
    assert _fused_names(compiled, "NativeLayerNorm", "_layer_norm")[1]


@pytest.mark.parametrize("case", [{"elementwise": False}, {"normalized": (3, 8)}],
                         ids=["no weight", "two dims"])
def test_other_layer_norms_keep_numpys_kernels(case):
    expected, found, compiled = _layer_norm_case((4, 3, 8), seed=3, **case)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have, want)
    assert not _fused_names(compiled, "NativeLayerNorm", "_layer_norm")[0]


def test_the_pairwise_sum_is_numpys_at_every_length():
    row_sum = pairwise_sum(numba)  # compiled here, for its signature
    rng = np.random.default_rng(21)
    for length in list(range(0, 300)) + [511, 512, 1000, 4096, 5000]:
        values = (rng.standard_normal(length) * 100).astype(np.float32)
        assert row_sum(values) == values.sum(), length


@pytest.mark.parametrize("options,fused", [({}, True), ({"padding_idx": 3}, False),
                                           ({"scale_grad_by_freq": True}, False)],
                         ids=["plain", "padding_idx", "scale_grad_by_freq"])
@pytest.mark.parametrize("index_dtype", [ember.int64, ember.int32], ids=str)
def test_the_fused_embedding_gradient_equals_eager_bit_for_bit(options, fused, index_dtype):
    rng = np.random.default_rng(31)
    weight = ember.tensor(rng.standard_normal((9, 5)), dtype=ember.float32, requires_grad=True)
    indices = ember.tensor(rng.integers(0, 9, (6, 7)), dtype=index_dtype)  # repeats, surely
    cotangent = ember.tensor(rng.standard_normal((6, 7, 5)), dtype=ember.float32)

    def function(indices):
        return F.embedding(indices, weight, **options) * 1.0

    def run(call):
        weight.grad = None
        (call(indices) * cotangent).sum().backward()
        return weight.grad.numpy().copy()

    expected = run(function)
    compiled = ember.compile(function)
    run(compiled)
    fusion.wait(timeout=120)
    np.testing.assert_array_equal(run(compiled), expected)
    program = compiled.latest.program
    (number,) = [n for n, step in enumerate(program.steps) if step.op.__name__ == "Embedding"]
    bound = getattr(program.namespace[f"B{number}"], "__qualname__", "the op's own")
    assert bound.startswith("_embedding_backward") == fused, bound


SOFTMAXES = {"softmax": ("Softmax", "_softmax"), "log_softmax": ("LogSoftmax", "_log_softmax")}


@pytest.mark.parametrize("name", sorted(SOFTMAXES))
@pytest.mark.parametrize("shape,dim,fused", [((16, 4, 32, 32), -1, True), ((3, 200), 1, True),
                                             ((512, 56), -1, True), ((64, 10), 1, True),
                                             ((5, 7), -1, True), ((5, 7), 0, False)])
def test_the_fused_softmaxes_equal_eager_bit_for_bit(name, shape, dim, fused):
    """Rows of -inf after a masked_fill (one all -inf: NaN, as PyTorch's) and a NaN too."""
    rng = np.random.default_rng(41)
    array = (rng.standard_normal(shape) * 4).astype(np.float32)
    rows = array.reshape(-1, shape[-1])
    rows[0, 1:], rows[1, :], rows[2, 2] = -np.inf, -np.inf, np.nan
    cotangent = ember.tensor(rng.standard_normal(shape), dtype=ember.float32)
    function = getattr(F, name)

    expected, found, compiled = _eager_then_fused(lambda x: function(x * 1.0, dim=dim),
                                                  array, cotangent, fused)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have.view(np.uint32), want.view(np.uint32))
    assert _fused_names(compiled, *SOFTMAXES[name]) == [fused, fused]


def _causal(t, as_bool):
    """A causal mask as the minimal GPT scripts make one (``tril == 0``) or as a bool
    ``triu`` (charlm's), both True above the diagonal."""
    if as_bool:
        return ember.triu(ember.ones(t, t, dtype=ember.bool), diagonal=1)
    return ember.tril(ember.ones(t, t)).view(1, 1, t, t) == 0


CHAINS = {  # name -> (scores -> attention, whether the scale and mask fold into the softmax)
    "times a scale, tril == 0": (lambda s: F.softmax((s * 0.25).masked_fill(
        _causal(8, False), float("-inf")), dim=-1), True),
    "over a scale, triu": (lambda s: F.softmax((s / 3.0).masked_fill(
        _causal(8, True), float("-inf")), dim=-1), True),
    "no scale, a finite fill": (lambda s: F.softmax((s + 0.0).masked_fill(
        _causal(8, True), -7.5), dim=-1), True),
    "scaled scores read twice": (lambda s: (lambda t: F.softmax(t.masked_fill(
        _causal(8, True), float("-inf")), dim=-1) + t)(s * 0.5), True),
    "masked scores read twice": (lambda s: (lambda m: F.softmax(m, dim=-1) + m.clamp(min=-1))(
        (s * 0.5).masked_fill(_causal(8, True), -2.0)), False),
}


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_a_softmax_chain_equals_eager_bit_for_bit(name, fused, monkeypatch):
    """Attention's scale, causal mask and softmax as one step, through the fused loops and
    through the chain's own (the three ops' kernels): a row with a NaN and a row that the
    mask and -inf scores leave all -inf (NaN, as PyTorch's)."""
    function, folds = CHAINS[name]
    monkeypatch.setattr(fusion, "enabled", fused)
    rng = np.random.default_rng(43)
    array = (rng.standard_normal((2, 3, 8, 8)) * 3).astype(np.float32)
    array[0, 0, 2, 1] = np.nan
    array[1, 2, 3, :4] = -np.inf
    cotangent = ember.tensor(rng.standard_normal((2, 3, 8, 8)), dtype=ember.float32)

    expected, found, compiled = _eager_then_fused(function, array, cotangent, fused)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have.view(np.uint32), want.view(np.uint32))
    program = compiled.latest.program
    assert bool(program.chains) == folds, program.code
    for number in program.chains:
        bound = [getattr(program.namespace[f"{name}{number}"], "__qualname__", "")
                 for name in ("Chain_", "ChainB")]
        assert [b.startswith(("_chain_forward", "_chain_backward")) for b in bound] == \
            [fused, fused], bound


def test_a_softmax_chain_keeps_an_array_that_a_backward_starts_from():
    """The masked scores are a ``backward()`` root as well as the softmax's input: they are
    not folded away, and the gradient through them reaches the scores."""
    rng = np.random.default_rng(44)
    array = rng.standard_normal((2, 8, 8)).astype(np.float32)
    seed = ember.tensor(rng.standard_normal((2, 8, 8)), dtype=ember.float32)
    mask = _causal(8, True)

    def step(scores, seed):
        masked = (scores * 0.5).masked_fill(mask, -3.0)
        attention = F.softmax(masked, dim=-1)
        masked.backward(seed, retain_graph=True)
        (attention * seed).sum().backward()
        return attention

    def run(call):
        scores = ember.tensor(array, requires_grad=True)
        return call(scores, seed).detach().numpy(), scores.grad.numpy()

    expected = run(step)
    compiled = ember.compile(step)
    for _ in range(2):
        for want, have in zip(expected, run(compiled)):
            np.testing.assert_array_equal(have.view(np.uint32), want.view(np.uint32))
    assert compiled.replays == 1 and compiled.breaks == []
    assert not compiled.latest.program.chains, compiled.code


POOLS = [((4, 3, 8, 8), 2, 2, False, "fused"), ((2, 3, 7, 9), 2, 2, False, "fused"),
         ((2, 2, 8, 8), 2, 2, False, "nan"), ((2, 2, 7, 7), 3, 2, False, "backward only"),
         ((2, 2, 5, 5), 2, 2, True, "backward only")]


@pytest.mark.parametrize("shape,kernel,stride,ceil_mode,fused", POOLS,
                         ids=[f"{p[0]}-k{p[1]}s{p[2]}{'-ceil' if p[3] else ''}" for p in POOLS])
def test_the_fused_max_pool_equals_eager_bit_for_bit(shape, kernel, stride, ceil_mode, fused):
    """Ties (±0 among them) keep the first, as eagerly; a -0 gradient lands as +0 as with
    NumPy's add.at; a tile with a NaN goes as eagerly (NaN wins there)."""
    rng = np.random.default_rng(61)
    array = rng.standard_normal(shape).astype(np.float32)
    array[0, 0, 0, :2], array[0, 0, 1, 0] = 0.0, -0.0  # a tile of zeros, -0 after +0
    array[0, 0, 0, 2], array[0, 0, 1, 3] = -0.0, 0.0  # and +0 after -0
    array[1, 1, 2, 3] = array[1, 1, 2, 2] = array[1, 1, 3, 2]  # a three-way tie
    if fused == "nan":
        array[1, 0, 4, 5] = np.nan

    def function(x):
        return F.max_pool2d(x * 1.0, kernel, stride, ceil_mode=ceil_mode)

    cotangent = rng.standard_normal(function(ember.tensor(array)).shape).astype(np.float32)
    cotangent.reshape(-1)[:3] = -0.0
    expected, found, compiled = _eager_then_fused(function, array, ember.tensor(cotangent))
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have, want)
        np.testing.assert_array_equal(np.signbit(have), np.signbit(want))
    assert _fused_names(compiled, "MaxPool2D", "_max_pool") == [fused != "backward only", True]


CONVOLUTIONS = [((64, 3, 8, 8), (8, 3, 3, 3), 1, 1, 1, np.float32),
                ((5, 1, 8, 8), (16, 1, 3, 3), 1, 1, 1, np.float32),
                ((16, 4, 6, 6), (6, 2, 3, 3), 2, 0, 2, np.float32),
                ((8, 2, 5, 5), (3, 2, 3, 3), 1, 1, 1, np.float64),
                ((2, 3, 20, 20), (4, 3, 3, 3), 1, 1, 1, np.float32)]


@pytest.mark.parametrize("shape,weight_shape,stride,padding,groups,dtype", CONVOLUTIONS,
                         ids=["batch-64", "batch-5", "strided-grouped", "float64", "wide"])
def test_a_convolution_with_the_loops_moves_equals_eager_bit_for_bit(
        shape, weight_shape, stride, padding, groups, dtype):
    """A convolution replayed whole runs its forward and array backward with the loops that
    move the batch dim (``kernels/layout.py``): the output and the gradients of the input,
    weight and bias to the bit, where the batch-last kernels run (small images, a batch of
    5, a strided and grouped one whose gradient moves a strided view back through NumPy,
    float64) and where they do not (a wide image)."""
    rng = np.random.default_rng(62)
    arrays = [rng.standard_normal(s).astype(dtype) for s in (shape, weight_shape,
                                                            weight_shape[:1])]

    def function(x, weight, bias):
        return F.conv2d(x * 1.0, weight, bias, stride, padding, groups=groups)

    leaves = [ember.tensor(a) for a in arrays]
    cotangent = ember.tensor(rng.standard_normal(tuple(function(*leaves).shape)).astype(dtype))

    def run(call):
        leaves = [ember.tensor(a, requires_grad=True) for a in arrays]
        y = call(*leaves)
        y.backward(cotangent)
        return [y.detach().numpy()] + [leaf.grad.numpy() for leaf in leaves]

    expected = run(function)
    compiled = ember.compile(function)
    run(compiled)
    assert fusion.wait(timeout=120), fusion.failure
    for want, have in zip(expected, run(compiled)):
        np.testing.assert_array_equal(have.view(np.uint8), want.view(np.uint8))
    program = compiled.latest.program
    (number,) = [n for n, step in enumerate(program.steps) if step.op.__name__ == "Convolution"]
    for name in (f"Convolution_{number}", f"B{number}"):
        assert program.namespace[name].keywords["moves"].to_last.__qualname__.startswith(
            "_moves"), name


FILLS = [((16, 4, 8, 8), (1, 1, 8, 8), float("-inf"), True), ((3, 5), (3, 5), 2.5, True),
         ((2, 3, 4), (4,), 0, True), ((2, 3), (), 7.0, True),
         ((2, 3, 4), (3, 1), 1.0, False), ((2, 3), (1, 2, 3), 1.0, False)]


@pytest.mark.parametrize("shape,mask_shape,value,fused", FILLS,
                         ids=[f"{f[0]}-by-{f[1]}" for f in FILLS])
def test_the_fused_masked_fill_equals_eager_bit_for_bit(shape, mask_shape, value, fused):
    """A mask shared across leading dims (attention's causal mask) is fused; one that
    broadcasts in another way, or grows the result, keeps NumPy's kernels."""
    rng = np.random.default_rng(81)
    array = _inputs(shape, seed=8)
    mask = ember.tensor(rng.random(mask_shape) > 0.5)
    cotangent = rng.standard_normal(np.broadcast_shapes(shape, mask_shape)).astype(np.float32)
    cotangent.reshape(-1)[:4] = -0.0
    expected, found, compiled = _eager_then_fused(
        lambda x: (x * 1.0).masked_fill(mask, value), array, ember.tensor(cotangent), fused)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have, want)
        np.testing.assert_array_equal(np.signbit(have), np.signbit(want))
    assert _fused_names(compiled, "MaskedFill", "_masked_fill") == [fused, fused]


OUTPUT_GRADS = {"relu": (F.relu, "Relu"), "sigmoid": (ember.sigmoid, "Sigmoid"),
                "tanh": (ember.tanh, "Tanh")}


@pytest.mark.parametrize("name", sorted(OUTPUT_GRADS))
@pytest.mark.parametrize("shape,strided", [((64, 16, 8, 8), False), ((4, 3), False),
                                          ((2, 0, 3), False), ((4, 3), True),
                                          ((2, 1, 2, 3, 2), False)])
def test_fused_gradients_from_the_output_equal_eager_bit_for_bit(name, shape, strided):
    """ReLU's, sigmoid's and tanh's backward in one loop each: the gradient times the
    derivative at the output, to the bit, with special values (NaN, infinities, ±0,
    subnormals) in both the input and the gradient; and ReLU's forward, ``maximum(x, 0)``.
    A strided gradient and a 5-d array go to NumPy's kernels, with the same numbers."""
    function, op = OUTPUT_GRADS[name]
    rng = np.random.default_rng(83)
    array = _inputs(shape, seed=9)
    cotangent = rng.standard_normal(shape).astype(np.float32)
    cotangent.reshape(-1)[:len(SPECIAL)] = SPECIAL[::-1][:cotangent.size]
    cotangent = ember.tensor(cotangent.T.copy()).t() if strided else ember.tensor(cotangent)
    assert cotangent._data.flags.c_contiguous is not strided
    expected, found, compiled = _eager_then_fused(lambda x: function(x * 1.0), array,
                                                  cotangent)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have.view(np.int32), want.view(np.int32))
    program = compiled.latest.program
    (number,) = [n for n, step in enumerate(program.steps) if step.op.__name__ == op]
    bound = program.namespace[f"B{number}"]
    assert bound.__qualname__.startswith("_output_grad_backward")
    if name == "relu":
        assert program.namespace[f"Relu_{number}"].__qualname__.startswith("_relu_forward")
    else:  # no fused forward: the program writes NumPy's kernels in its own lines
        assert f"{op}_{number}" not in program.namespace
        assert f"# {op}: " in program.forward_source


def test_the_fused_relu_leaves_a_strided_input_to_numpy():
    """A transposed input, which the loop does not take, goes to NumPy's ``maximum``: the
    same numbers as eager, the special values included."""
    array = _inputs((6, 8), seed=10)
    cotangent = ember.tensor(np.random.default_rng(84).standard_normal((8, 6)),
                             dtype=ember.float32)
    expected, found, compiled = _eager_then_fused(lambda x: F.relu((x * 1.0).t()), array,
                                                  cotangent)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have.view(np.int32), want.view(np.int32))
    assert _fused_names(compiled, "Relu", "_relu_forward")[0]


CLIPS = [(ember.float32, 0.5, True), (ember.float32, 1e6, True), (ember.float64, 0.5, False)]


@pytest.mark.parametrize("dtype,max_norm,fused", CLIPS,
                         ids=["float32-clips", "float32-within", "float64"])
def test_the_fused_clip_grad_norm_equals_eager_bit_for_bit(dtype, max_norm, fused):
    """Gradients of sizes around NumPy's pairwise blocks (7, 128, 129, 1000, 64 x 256), in
    one and two dims, and a parameter without a gradient."""
    rng = np.random.default_rng(71)
    shapes = [(7,), (128,), (129,), (1000,), (64, 256), (3, 5)]
    model = ember.nn.ParameterList(
        [ember.nn.Parameter(ember.tensor(rng.standard_normal(shape), dtype=dtype))
         for shape in shapes + [(4,)]])
    cotangents = [ember.tensor(rng.standard_normal(shape) * 10, dtype=dtype)
                  for shape in shapes]
    optimizer = ember.optim.SGD(model.parameters())  # for its zero_grad()

    def step(*cotangents):
        optimizer.zero_grad()
        loss = sum(((w * w) * c).sum() for w, c in zip(model, cotangents))
        loss.backward()
        return ember.nn.utils.clip_grad_norm_(model.parameters(), max_norm)

    def run(call):
        total = call(*cotangents)
        return [total.numpy().copy()] + [w.grad.numpy().copy() for w in model[:-1]]

    expected = run(step)
    compiled = ember.compile(step)
    run(compiled)
    assert not compiled.breaks, compiled.breaks
    assert fusion.wait(timeout=120) or not fused, fusion.failure
    found = run(compiled)
    for want, have in zip(expected, found):
        np.testing.assert_array_equal(have, want)
    calls = [getattr(value, "func", None) for name, value in
             compiled.latest.program.namespace.items() if name.startswith("call")]
    assert any(getattr(call, "__name__", "") == "_clip_grad_norm" for call in calls) == fused


def test_the_fused_clip_grad_norm_raises_eagers_error_on_a_nonfinite_norm():
    model = ember.nn.Linear(3, 1)
    optimizer = ember.optim.SGD(model.parameters())

    def step(x):
        optimizer.zero_grad()
        model(x).sum().backward()
        return ember.nn.utils.clip_grad_norm_(model.parameters(), 1.0, error_if_nonfinite=True)

    compiled = ember.compile(step)
    x = ember.ones(2, 3)
    compiled(x)
    assert fusion.wait(timeout=120), fusion.failure
    compiled(x)
    with pytest.raises(RuntimeError, match="The total norm of order 2.0 .* is non-finite"):
        compiled(ember.full((2, 3), float("inf")))


def test_an_inference_region_runs_the_fused_forwards_too():
    """Under no_grad nothing is saved for a backward: the fused forwards give the same."""
    rng = np.random.default_rng(51)
    weight, bias = (ember.tensor(rng.standard_normal(16), dtype=ember.float32)
                    for _ in range(2))
    x = ember.tensor(rng.standard_normal((4, 6, 16)), dtype=ember.float32)

    def function(x):
        return F.softmax(F.gelu(F.layer_norm(x, (16,), weight, bias)), dim=-1)

    with ember.no_grad():
        expected = function(x).numpy()
        compiled = ember.compile(function)
        compiled(x)
        assert fusion.wait(timeout=120), fusion.failure
        found = compiled(x).numpy()
    np.testing.assert_array_equal(found, expected)
    namespace = compiled.latest.program.namespace
    bound = {getattr(value, "__qualname__", "").split(".")[0] for value in namespace.values()}
    assert {"_layer_norm_forward", "_gelu_forward", "_softmax_forward"} <= bound, bound


def _gelu_of_child(array, results):
    """A forked child's compiled GELU (run in the child by ``test_a_forked_child...``)."""
    compiled = ember.compile(lambda x: F.gelu(x * 1.0))
    x = ember.tensor(array)
    compiled(x)
    results.put(compiled(x).numpy())


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_a_child_forked_while_the_lock_is_held_still_compiles(fresh_fusion):
    """The parent's compiling thread may hold the lock when a DataLoader worker forks; the
    child must not wait on a lock that no thread of its own will ever release."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    array = _inputs((3, 4), seed=9)
    with ember.no_grad():
        expected = F.gelu(ember.tensor(array) * 1.0).numpy()
    results = context.Queue()
    with fusion._lock:  # held in the parent across the fork
        child = context.Process(target=_gelu_of_child, args=(array, results))
        child.start()
        child.join(timeout=60)
    alive = child.is_alive()
    if alive:
        child.kill()
    assert not alive and child.exitcode == 0, "the forked child hung or failed"
    np.testing.assert_array_equal(results.get(timeout=10), expected)


def test_replays_in_a_second_thread_while_the_kernel_is_bound_equal_eager(fresh_fusion):
    """The fused kernel replaces NumPy's between two replays of another thread."""
    array = _inputs((16, 32, 24), seed=10)
    with ember.no_grad():
        expected = F.gelu(ember.tensor(array) * 1.0).numpy()
    compiled = ember.compile(lambda x: F.gelu(x * 1.0))
    x = ember.tensor(array)
    compiled(x)  # records; the kernel compiles in the background from here
    found, stop = [], threading.Event()

    def replay():
        while not stop.is_set() and len(found) < 10000:
            found.append(compiled(x).numpy())

    worker = threading.Thread(target=replay)
    worker.start()
    try:
        assert fusion.wait(timeout=120), fusion.failure
        for _ in range(3):  # replays after the binding, in this thread and the other
            found.append(compiled(x).numpy())
    finally:
        stop.set()
        worker.join(timeout=60)
    assert not worker.is_alive()
    assert _kernel_of(compiled)[0].__qualname__.startswith("_gelu_forward")
    for result in found:
        np.testing.assert_array_equal(result, expected)


def test_the_fused_block_agrees_with_pytorch():
    """Layer norm, GELU, softmax and an embedding's gradient, fused, against PyTorch's
    float32 results (eager ember's own agreement is held bit for bit above)."""
    from tests.oracle import torch

    rng = np.random.default_rng(61)
    table = rng.standard_normal((11, 16)).astype(np.float32)
    indices = rng.integers(0, 11, (4, 6))
    weight, bias = (rng.standard_normal(16).astype(np.float32) for _ in range(2))
    cotangent = rng.standard_normal((4, 6, 16)).astype(np.float32)

    def block(library, embedding, weight, bias, indices):
        x = library.nn.functional.embedding(indices, embedding)
        x = library.nn.functional.layer_norm(x, (16,), weight, bias)
        return library.nn.functional.softmax(library.nn.functional.gelu(x), dim=-1)

    def run(library, call):
        tensors = [library.tensor(a, requires_grad=True) for a in (table, weight, bias)]
        out = call(library, *tensors, library.tensor(indices))
        (out * library.tensor(cotangent)).sum().backward()
        return [out.detach().numpy()] + [t.grad.numpy() for t in tensors]

    expected = run(torch, block)
    compiled = ember.compile(block)
    run(ember, compiled)
    assert fusion.wait(timeout=120), fusion.failure
    for want, have in zip(expected, run(ember, compiled)):
        np.testing.assert_allclose(have, want, rtol=2e-5, atol=2e-6)
    bound = {getattr(v, "__qualname__", "").split(".")[0]
             for v in compiled.latest.program.namespace.values()}
    assert {"_embedding_backward", "_layer_norm_forward", "_layer_norm_backward",
            "_gelu_forward", "_softmax_forward", "_softmax_backward"} <= bound, bound
