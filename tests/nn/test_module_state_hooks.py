"""``Module``'s state-dict protocol and hooks against PyTorch: ``state_dict()._metadata``,
``_save_to_state_dict`` / ``_load_from_state_dict`` overrides (a layer migrating an older
checkpoint by its version), extra state, the state-dict and load hooks, full backward
pre-hooks, ``set_submodule``, ``to_empty``, ``call_super_init``; the load hooks of
``weight_norm`` and ``spectral_norm``; ``_metadata`` through ``ember.save``/``load``.

Each module class is written once, as a function of the library, and run on both; the
results are compared as plain Python data.
"""

from __future__ import annotations

import io
import warnings
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)

LIBRARIES = (torch, ember)


def _arrays(state) -> dict:
    return {key: value.detach().numpy() if hasattr(value, "detach") else value
            for key, value in state.items()}


def _same_arrays(left: dict, right: dict) -> None:
    assert list(left) == list(right)
    for key in left:
        if isinstance(left[key], np.ndarray):
            assert left[key].dtype == right[key].dtype, key
            np.testing.assert_allclose(left[key], right[key], rtol=1e-12, atol=1e-12)
        else:
            assert left[key] == right[key], key


def _fill(lib, module, rng) -> None:
    """Give every float parameter and buffer of ``module`` random float64 values (the same
    on both libraries for the same ``rng`` seed)."""
    with lib.no_grad():
        for _, tensor in list(module.named_parameters()) + list(module.named_buffers()):
            if tensor.is_floating_point():
                tensor.copy_(lib.tensor(rng.standard_normal(tuple(tensor.shape))))


def _errors(function) -> tuple:
    """The class and message of what ``function()`` raises."""
    with pytest.raises(Exception) as caught:
        function()
    return type(caught.value).__name__, str(caught.value)


# ---------------------------------------------------------------- state_dict and _metadata
def _net(lib):
    class Versioned(lib.nn.Module):
        _version = 3

        def __init__(self):
            super().__init__()
            self.gain = lib.nn.Parameter(lib.ones(2, dtype=lib.float64))
            self.register_buffer("steps", lib.zeros((), dtype=lib.int64))
            self.register_buffer("scratch", lib.zeros(2), persistent=False)

    return lib.nn.Sequential(lib.nn.Linear(2, 3).double(), lib.nn.BatchNorm1d(3).double(),
                             lib.nn.Sequential(Versioned()))


def test_state_dict_keys_values_and_metadata_match_torch():
    seen = []
    for lib in LIBRARIES:
        net = _net(lib)
        _fill(lib, net, np.random.default_rng(0))
        state = net.state_dict()
        assert type(state) is OrderedDict and type(state._metadata) is OrderedDict
        assert all(type(entry) is dict for entry in state._metadata.values())
        assert not any(value.requires_grad for value in state.values())
        kept = net.state_dict(prefix="net.", keep_vars=True)
        assert kept["net.0.weight"] is net[0].weight
        seen.append((_arrays(state), dict(state._metadata), list(kept),
                     dict(kept._metadata)))
    (torch_state, *torch_rest), (ember_state, *ember_rest) = seen
    _same_arrays(ember_state, torch_state)
    assert ember_rest == torch_rest
    assert ember_rest[0] == {"": {"version": 1}, "0": {"version": 1}, "1": {"version": 2},
                             "2": {"version": 1}, "2.0": {"version": 3}}


def test_state_dict_destination_and_positional_arguments_match_torch():
    def run(lib):
        net = _net(lib)
        plain = {}
        net.state_dict(destination=plain, prefix="a.")  # no _metadata: none is written
        given = OrderedDict()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            returned = net.state_dict(given, "p.", True)
        messages = [(w.category.__name__, str(w.message)) for w in caught]
        return (list(plain), returned is given, list(given), hasattr(given, "_metadata"),
                given["p.0.weight"] is net[0].weight, messages)

    assert run(ember) == run(torch)
    assert run(ember)[-1][0][0] == "FutureWarning"


# ---------------------------------------------------------------- overriding the protocol
def _migrating(lib):
    """A layer whose format changed at version 2: its ``gain`` was stored halved under the
    key ``half_gain``; ``_load_from_state_dict`` migrates version-1 checkpoints."""

    class Scale(lib.nn.Module):
        _version = 2

        def __init__(self):
            super().__init__()
            self.gain = lib.nn.Parameter(lib.ones(3, dtype=lib.float64))

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict,
                                  missing_keys, unexpected_keys, error_msgs):
            version = local_metadata.get("version")
            old = prefix + "half_gain"
            if (version is None or version < 2) and old in state_dict:
                state_dict[prefix + "gain"] = state_dict.pop(old) * 2
            super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                          missing_keys, unexpected_keys, error_msgs)

        def forward(self, x):
            return x * self.gain

    return lib.nn.Sequential(lib.nn.Identity(), Scale())


def _checkpoint(lib, keys_and_values: dict, metadata):
    state = OrderedDict((key, lib.tensor(value)) for key, value in keys_and_values.items())
    if metadata is not None:
        state._metadata = OrderedDict(metadata)
    return state


@pytest.mark.parametrize("version", [1, None, 2])
def test_load_from_state_dict_override_migrates_an_older_checkpoint(version):
    """A version-1 checkpoint (or one without metadata) is migrated; a version-2 one with the
    old key is not, and strict loading reports that key."""
    half = np.random.default_rng(1).standard_normal(3)
    metadata = None if version is None else {"": {"version": 1}, "1": {"version": version}}

    def run(lib):
        net = _migrating(lib)
        state = _checkpoint(lib, {"1.half_gain": half}, metadata)
        if version == 2:
            return _errors(lambda: net.load_state_dict(state))
        result = net.load_state_dict(state)
        assert list(state) == ["1.half_gain"]  # the caller's dict is left as it was
        return repr(result), net[1].gain.detach().numpy().tolist()

    assert run(ember) == run(torch)
    if version != 2:
        np.testing.assert_allclose(run(ember)[1], 2 * half, rtol=1e-15)


def test_save_to_state_dict_and_state_dict_overrides_are_called_for_submodules():
    def make(lib):
        class Renamed(lib.nn.Linear):
            def _save_to_state_dict(self, destination, prefix, keep_vars):
                destination[prefix + "kernel"] = self.weight.detach() * 2

        class Tagged(lib.nn.Module):
            def state_dict(self, *, destination=None, prefix="", keep_vars=False):
                destination[prefix + "tag"] = lib.ones(1)
                return super().state_dict(destination=destination, prefix=prefix,
                                          keep_vars=keep_vars)

        net = lib.nn.Sequential(Renamed(2, 2).double(), Tagged())
        _fill(lib, net, np.random.default_rng(2))
        return net

    states = [_arrays(make(lib).state_dict()) for lib in LIBRARIES]
    _same_arrays(states[1], states[0])
    assert list(states[1]) == ["0.kernel", "1.tag"]


def test_load_from_state_dict_arguments_match_torch():
    """``strict`` is always True there (what is missing is decided at the end), the state
    dict is each module's own part, and ``local_metadata`` its metadata entry or {}."""

    def run(lib, strict, metadata):
        calls = []

        class Spy(lib.nn.Linear):
            def _load_from_state_dict(self, state_dict, prefix, local_metadata, *rest):
                calls.append((prefix, sorted(state_dict), dict(local_metadata), rest[0],
                              [list(items) for items in rest[1:]]))
                super()._load_from_state_dict(state_dict, prefix, local_metadata, *rest)

        net = lib.nn.Sequential(Spy(1, 1), lib.nn.Sequential(Spy(1, 1)))
        state = OrderedDict(net.state_dict())
        state["1.0.extra"] = lib.zeros(1)
        if metadata:
            state._metadata = net.state_dict()._metadata
        try:
            calls.append(repr(net.load_state_dict(state, strict=strict)))
        except RuntimeError as error:
            calls.append(str(error))
        return calls

    for strict in (True, False):
        for metadata in (True, False):
            assert run(ember, strict, metadata) == run(torch, strict, metadata)


# ---------------------------------------------------------------- errors and results
def _pair(lib):
    net = lib.nn.Sequential(lib.nn.Linear(2, 3).double(), lib.nn.Linear(3, 1).double())
    _fill(lib, net, np.random.default_rng(3))
    return net


STRICT_CASES = {
    "missing": lambda lib, state: state.pop("0.bias"),
    "unexpected_top_and_nested": lambda lib, state: state.update(
        {"top": lib.zeros(1), "1.extra": lib.zeros(1), "7.other": lib.zeros(1)}),
    "size_mismatch": lambda lib, state: state.update({"1.weight": lib.zeros(5)}),
    "not_a_tensor": lambda lib, state: state.update({"0.weight": 3}),
    "everything": lambda lib, state: (state.pop("1.bias"), state.update(
        {"x": lib.zeros(1), "0.weight": lib.zeros(2, 2), "1.weight": [1.0]})),
}


@pytest.mark.parametrize("case", list(STRICT_CASES))
def test_strict_and_lenient_loading_report_as_torch(case):
    def run(lib, strict):
        net = _pair(lib)
        state = OrderedDict(net.state_dict())
        STRICT_CASES[case](lib, state)
        try:
            result = net.load_state_dict(state, strict=strict)
        except Exception as error:
            return type(error).__name__, str(error)
        return "returned", repr(result), list(result.missing_keys), result.unexpected_keys

    for strict in (True, False):
        assert run(ember, strict) == run(torch, strict)


def test_load_state_dict_refuses_what_is_not_a_mapping_and_widens_a_0d_parameter():
    for lib in LIBRARIES:
        assert _errors(lambda: _pair(lib).load_state_dict([1]))[0] == "TypeError"
    assert _errors(lambda: _pair(ember).load_state_dict([1])) == \
        _errors(lambda: _pair(torch).load_state_dict([1]))

    def scalar(lib):
        class Scalar(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.value = lib.nn.Parameter(lib.tensor(1.0, dtype=lib.float64))

        module = Scalar()
        result = module.load_state_dict({"value": lib.tensor([5.5], dtype=lib.float64)})
        return repr(result), tuple(module.value.shape), module.value.item()

    assert scalar(ember) == scalar(torch) == ("<All keys matched successfully>", (), 5.5)


def test_assign_puts_the_given_tensors_in_place_and_marks_the_metadata():
    rng = np.random.default_rng(4)
    values = {"0.weight": rng.standard_normal((3, 2)), "0.bias": rng.standard_normal(3),
              "1.weight": rng.standard_normal(3), "1.bias": rng.standard_normal(3),
              "1.running_mean": rng.standard_normal(3), "1.running_var": rng.random(3),
              "1.num_batches_tracked": np.array(7)}

    def run(lib):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3).double(), lib.nn.BatchNorm1d(3).double())
        net[1].weight.requires_grad_(False)
        state = OrderedDict((key, lib.tensor(value)) for key, value in values.items())
        given = state["0.weight"]
        state._metadata = net.state_dict()._metadata
        net.load_state_dict(state, assign=True)
        weight = net[0].weight
        return (type(weight).__name__, weight.requires_grad, net[1].weight.requires_grad,
                weight.data_ptr() == given.data_ptr(), weight is not given,
                net[1].running_mean is state["1.running_mean"],
                list(net.state_dict()), dict(state._metadata),
                _arrays(net.state_dict()).keys() == values.keys())

    assert run(ember) == run(torch)
    assert run(ember)[7][""] == {"version": 1, "assign_to_params_buffers": True}


# ---------------------------------------------------------------- extra state
def _with_extra_state(lib, getter=True, setter=True):
    namespace = {}
    if getter:
        namespace["get_extra_state"] = lambda self: {"count": self.count}
    if setter:
        namespace["set_extra_state"] = lambda self, state: setattr(self, "count",
                                                                   state["count"] + 100)

    def __init__(self):
        lib.nn.Module.__init__(self)
        self.inner = lib.nn.Linear(1, 1)
        self.count = 5

    kind = type("Counter", (lib.nn.Module,), {"__init__": __init__, **namespace})
    return lib.nn.Sequential(kind())


@pytest.mark.parametrize("getter, setter", [(True, True), (True, False), (False, True)])
def test_extra_state_is_saved_and_restored_as_torch(getter, setter):
    def run(lib):
        net = _with_extra_state(lib, getter, setter)
        state = net.state_dict()
        keys = list(state)
        results = []
        for source in (dict(state), {"0._extra_state": {"count": 1}, **state},
                       {k: v for k, v in state.items() if k != "0._extra_state"}):
            for strict in (True, False):
                try:
                    results.append(repr(net.load_state_dict(source, strict=strict)))
                except RuntimeError as error:
                    results.append(str(error))
                results.append(net[0].count)
        return keys, results

    assert run(ember) == run(torch)


def test_extra_state_defaults_raise_as_torch():
    for name, call in (("get", lambda m: m.get_extra_state()),
                       ("set", lambda m: m.set_extra_state(1))):
        outcome = [_errors(lambda: call(lib.nn.Module())) for lib in LIBRARIES]
        assert outcome[0] == outcome[1] and outcome[1][0] == "RuntimeError", name


# ---------------------------------------------------------------- state-dict hooks
def test_state_dict_hooks_order_arguments_and_results_match_torch():
    def run(lib):
        log = []
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Linear(3, 1))

        def pre(module, prefix, keep_vars):
            log.append(("pre", type(module).__name__, prefix, keep_vars))

        def post(module, state, prefix, local_metadata):
            log.append(("post", type(module).__name__, prefix, dict(local_metadata),
                        list(state)))
            local_metadata["seen"] = True  # the entry in state._metadata itself

        def replacing(module, state, prefix, local_metadata):
            log.append(("private", prefix))
            copy = OrderedDict(state)
            copy["added"] = lib.zeros(1)
            return copy

        handles = [net.register_state_dict_pre_hook(pre), net[0].register_state_dict_pre_hook(pre),
                   net.register_state_dict_post_hook(post),
                   net[0].register_state_dict_post_hook(post)]
        state = net.state_dict(prefix="p.", keep_vars=True)
        log.append(dict(state._metadata))
        private = net._register_state_dict_hook(replacing)
        log.append(list(net.state_dict()))
        private.remove()
        for handle in handles:
            handle.remove()
        log.append(list(net.state_dict()))
        returning = net.register_state_dict_post_hook(lambda *args: {})
        log.append(_errors(net.state_dict))
        returning.remove()
        log.append(_errors(lambda: net._register_state_dict_hook(post)))
        return log

    assert run(ember) == run(torch)


# ---------------------------------------------------------------- load hooks
def test_load_hooks_order_arguments_and_incompatible_keys_match_torch():
    def run(lib):
        log = []
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Linear(3, 1))

        def public(module, state, prefix, local_metadata, strict, missing, unexpected, errors):
            log.append(("public", type(module).__name__, prefix, dict(local_metadata), strict,
                        list(state), list(missing), list(unexpected), list(errors)))

        def private(state, prefix, local_metadata, strict, missing, unexpected, errors):
            log.append(("private", prefix, list(state)))

        def with_module(module, state, prefix, *rest):
            log.append(("with_module", type(module).__name__, prefix))

        def post(module, incompatible):
            log.append(("post", type(module).__name__, type(incompatible).__name__,
                        list(incompatible.missing_keys), list(incompatible.unexpected_keys)))

        net.register_load_state_dict_pre_hook(public)
        net[1].register_load_state_dict_pre_hook(public)
        net[1]._register_load_state_dict_pre_hook(private)
        net[0]._register_load_state_dict_pre_hook(with_module, with_module=True)
        net.register_load_state_dict_post_hook(post)
        net[0].register_load_state_dict_post_hook(post)
        state = OrderedDict(net.state_dict())
        del state["1.bias"]
        state.update({"extra": lib.zeros(1), "1.q": lib.zeros(1), "5.q": lib.zeros(1)})
        state._metadata = net.state_dict()._metadata
        log.append(repr(net.load_state_dict(state, strict=False)))
        return log

    assert run(ember) == run(torch)


def test_load_pre_hook_can_rename_keys_and_post_hook_can_change_the_result():
    def run(lib):
        layer = lib.nn.Linear(2, 2).double()
        _fill(lib, layer, np.random.default_rng(5))

        def rename(module, state, prefix, *rest):
            for name in ("weight", "bias"):
                if prefix + "old_" + name in state:
                    state[prefix + name] = state.pop(prefix + "old_" + name)

        def note(module, incompatible):
            incompatible.unexpected_keys.append("noted")

        source = {"old_" + key: value * 3 for key, value in layer.state_dict().items()}
        rename_handle = layer.register_load_state_dict_pre_hook(rename)
        outcome = [repr(layer.load_state_dict(source)), sorted(source),
                   _arrays(layer.state_dict())]
        note_handle = layer.register_load_state_dict_post_hook(note)
        outcome.append(repr(layer.load_state_dict(layer.state_dict(), strict=False)))
        outcome.append(_errors(lambda: layer.load_state_dict(layer.state_dict())))
        note_handle.remove()
        rename_handle.remove()
        outcome.append(_errors(lambda: layer.load_state_dict(source)))
        layer.register_load_state_dict_post_hook(lambda module, keys: 1)
        outcome.append(_errors(lambda: layer.load_state_dict(layer.state_dict())))
        return outcome

    torch_outcome, ember_outcome = run(torch), run(ember)
    _same_arrays(ember_outcome.pop(2), torch_outcome.pop(2))
    assert ember_outcome == torch_outcome
    assert ember_outcome[-1][0] == "AssertionError"


def test_wrapped_load_hook_follows_a_deep_copy_of_its_module():
    import copy

    seen = []
    for lib in LIBRARIES:
        layer = lib.nn.Linear(1, 1)
        layer.register_load_state_dict_pre_hook(lambda module, *rest: seen.append(module))
        twin = copy.deepcopy(layer)
        twin.load_state_dict(twin.state_dict())
        assert seen.pop() is twin


# ---------------------------------------------------------------- backward pre-hooks
def _three(lib):
    class Three(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = lib.nn.Parameter(lib.tensor([0.5, -1.5], dtype=lib.float64))

        def forward(self, a, count, b):
            return a * b * self.weight, count, (a - b).sin()

    return Three()


def _backward_pre_run(lib, arrays, cotangents, scale_hook=True, prepend=True):
    log = []
    module = _three(lib)

    def listed(grads):
        return [None if g is None else g.detach().numpy().tolist() for g in grads]

    def scale(module, grad_output):
        log.append(("scale", listed(grad_output)))
        return (grad_output[0] * 10, None, grad_output[2])

    def observe(module, grad_output):
        log.append(("observe", listed(grad_output)))

    def full(module, grad_input, grad_output):
        log.append(("full", listed(grad_input), listed(grad_output)))

    module.register_full_backward_hook(full)
    if scale_hook:
        module.register_full_backward_pre_hook(scale)
    module.register_full_backward_pre_hook(observe, prepend=prepend)
    a, b = (lib.tensor(x, requires_grad=True) for x in arrays)
    first, _, third = module(a, 3, b)
    lib.autograd.backward([first, third], [lib.tensor(c) for c in cotangents])
    return log, [t.grad.numpy() for t in (a, b, module.weight)]


@pytest.mark.parametrize("scale_hook, prepend", [(True, True), (True, False), (False, False)])
def test_full_backward_pre_hook_sees_and_replaces_grad_output_as_torch(scale_hook, prepend):
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal(2) for _ in range(2)]
    cotangents = [rng.standard_normal(2) for _ in range(2)]
    torch_log, torch_grads = _backward_pre_run(torch, arrays, cotangents, scale_hook, prepend)
    ember_log, ember_grads = _backward_pre_run(ember, arrays, cotangents, scale_hook, prepend)
    assert [entry[0] for entry in ember_log] == [entry[0] for entry in torch_log]
    for ember_entry, torch_entry in zip(ember_log, torch_log):
        for ember_grads_seen, torch_grads_seen in zip(ember_entry[1:], torch_entry[1:]):
            assert [g is None for g in ember_grads_seen] == [g is None for g in torch_grads_seen]
            for e, t in zip(ember_grads_seen, torch_grads_seen):
                if t is not None:
                    np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-14)
    for ember_grad, torch_grad in zip(ember_grads, torch_grads):
        np.testing.assert_allclose(ember_grad, torch_grad, rtol=1e-12, atol=1e-14)


def test_full_backward_pre_hook_that_observes_leaves_gradients_exact():
    module = _three(ember)
    module.register_full_backward_pre_hook(lambda module, grad_output: None)
    rng = np.random.default_rng(7)
    a, b = (ember.tensor(rng.standard_normal(2), requires_grad=True) for _ in range(2))
    assert ember.autograd.gradcheck(lambda a, b: module(a, 3, b)[0::2], (a, b))


def test_full_backward_pre_hook_errors_warnings_and_removal_match_torch():
    def run(lib):
        outcome = []
        layer = lib.nn.Linear(2, 2).double()
        handle = layer.register_full_backward_pre_hook(
            lambda module, grad_output: (grad_output[0], grad_output[0]))
        x = lib.ones(1, 2, dtype=lib.float64, requires_grad=True)
        outcome.append(_errors(lambda: layer(x).sum().backward()))
        handle.remove()
        calls = []
        layer.register_full_backward_pre_hook(lambda module, grad_output: calls.append(1))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            layer(lib.ones(1, 2, dtype=lib.float64)).sum().backward()  # no input needs grad
        outcome.append([str(w.message)[:70] for w in caught])
        outcome.append(len(calls))
        return outcome

    assert run(ember) == run(torch)


def test_compiled_module_sees_a_backward_pre_hook_registered_later():
    """``ember.compile`` replays without hooks; one registered after a recording must make
    the next call run eagerly (its guards watch ``_backward_pre_hooks``)."""
    rng = np.random.default_rng(8)
    layer = ember.nn.Linear(3, 2).double()
    # a first hook, removed, leaves the module's forward wrapped: only the registry changes
    layer.register_full_backward_pre_hook(lambda module, grad_output: None).remove()
    compiled = ember.compile(layer)
    x = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    cotangent = ember.tensor(rng.standard_normal((4, 2)))
    for _ in range(3):
        compiled(x).backward(cotangent)
    expected = x.grad.clone() / 3
    x.grad = None
    calls = []
    layer.register_full_backward_pre_hook(
        lambda module, grad_output: calls.append(1) or (grad_output[0] * 2,))
    for _ in range(4):
        compiled(x).backward(cotangent)
    assert len(calls) == 4
    np.testing.assert_allclose(x.grad.numpy(), 8 * expected.numpy(), rtol=1e-12)
    # hooked when compiled: the recording names the hooks as why it cannot be replayed
    hooked = ember.nn.Linear(3, 2).double()
    hooked.register_full_backward_pre_hook(lambda module, grad_output: None)
    compiled = ember.compile(hooked)
    compiled(x).backward(cotangent)
    assert any("has hooks" in reason for reason, _ in compiled.__dict__["_compiled"].breaks)


# ---------------------------------------------------------------- set_submodule, to_empty
def test_set_submodule_replaces_in_place_and_refuses_as_torch():
    def run(lib):
        outcome = []
        net = lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.ReLU()),
                                lib.nn.Linear(3, 1))
        net.note = 3
        for arguments in (("", lib.nn.ReLU()), ("0", 3), ("0.weight", lib.nn.ReLU()),
                          ("5", lib.nn.ReLU(), True), ("1.x", lib.nn.ReLU(), True),
                          ("q.x", lib.nn.ReLU()), ("note", lib.nn.ReLU())):
            outcome.append(_errors(lambda: net.set_submodule(*arguments)))
        net.set_submodule("0", lib.nn.Linear(2, 3, bias=False))
        net.set_submodule("1.0", lib.nn.Tanh())
        net.set_submodule("1.extra", lib.nn.Identity())
        net.set_submodule("2", lib.nn.Linear(3, 1), strict=True)
        outcome.append(repr(net).replace("torch.", "").replace("ember.", ""))
        outcome.append(list(net.state_dict()))
        return outcome

    assert run(ember) == run(torch)


def test_assignment_keeps_the_place_of_a_replaced_parameter_or_submodule():
    def run(lib):
        net = lib.nn.Sequential(lib.nn.Linear(2, 2), lib.nn.Linear(2, 2))
        net[0].weight = lib.nn.Parameter(lib.ones(2, 2))
        parameters = list(net[0]._parameters)
        setattr(net, "0", lib.nn.Linear(2, 2))
        return list(net.state_dict()), parameters

    assert run(ember) == run(torch)


def test_to_empty_gives_new_storage_of_the_same_kind():
    def run(lib, recurse):
        net = lib.nn.Sequential(lib.nn.Linear(2, 3).double(), lib.nn.BatchNorm1d(3))
        net[0].weight.grad = lib.ones(3, 2, dtype=lib.float64)
        before = {name: tensor for name, tensor in net.named_parameters()}
        buffer = net[1].running_mean
        result = net.to_empty(device="cpu", recurse=recurse)
        after = dict(net.named_parameters())
        return (result is net, [after[name] is before[name] for name in before],
                [(name, tuple(t.shape), str(t.dtype).split(".")[-1], type(t).__name__)
                 for name, t in net.state_dict(keep_vars=True).items()],
                net[1].running_mean is buffer, net[0].weight.grad is not None)

    for recurse in (True, False):
        assert run(ember, recurse) == run(torch, recurse)
    net = ember.nn.Linear(2, 3)
    net.to_empty(device="cpu")
    assert not net.weight.detach().numpy().any()  # ember's "uninitialized" memory is zeros
    for lib in LIBRARIES:
        layer = lib.nn.Linear(1, 1)
        assert _errors(lambda: layer.to_empty("cpu"))[0] == "TypeError"
        assert _errors(layer.to_empty)[0] == "TypeError"


# ---------------------------------------------------------------- construction and calling
def test_call_super_init_and_constructor_errors_match_torch():
    def run(lib):
        outcome = []

        class Plain(lib.nn.Module):
            pass

        for args, kwargs in (((1,), {}), ((1, 2), {}), ((), {"q": 1}), ((1,), {"q": 1})):
            outcome.append(_errors(lambda: Plain(*args, **kwargs)))
            outcome.append(_errors(lambda: lib.nn.Module(*args, **kwargs)))

        class Mixin:
            def __init__(self, *args, **kwargs):
                outcome.append(("mixin", args, kwargs))

        class Cooperative(lib.nn.Module, Mixin):
            call_super_init = True

        layer = Cooperative(1, b=2)
        outcome.append((lib.nn.Module.call_super_init, list(layer.state_dict())))
        return outcome

    assert run(ember) == run(torch)


def test_call_impl_is_the_call():
    rng = np.random.default_rng(9)
    x = rng.standard_normal((2, 3))
    outputs = []
    for lib in LIBRARIES:
        layer = lib.nn.Linear(3, 2).double()
        _fill(lib, layer, np.random.default_rng(10))
        layer.register_forward_hook(lambda module, args, output: output * 2)
        values = [call(lib.tensor(x)).detach().numpy()
                  for call in (layer, layer._call_impl, layer._wrapped_call_impl)]
        outputs.append(values)
        np.testing.assert_allclose(values[0], values[1], rtol=0)
        np.testing.assert_allclose(values[0], values[2], rtol=0)
    np.testing.assert_allclose(outputs[1][0], outputs[0][0], rtol=1e-12)


# ---------------------------------------------------------------- weight_norm, spectral_norm
@pytest.mark.parametrize("dim", [0, 1])
def test_parametrized_weight_norm_loads_a_legacy_weight_norm_checkpoint(dim):
    rng = np.random.default_rng(11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        legacy = torch.nn.utils.weight_norm(torch.nn.Linear(3, 4).double(), dim=dim)
    _fill(torch, legacy, rng)
    checkpoint = _arrays(legacy.state_dict())
    assert list(checkpoint) == ["bias", "weight_g", "weight_v"]
    x = rng.standard_normal((2, 3))

    def run(lib, keys):
        parametrize = lib.nn.utils.parametrizations.weight_norm
        net = lib.nn.Sequential(parametrize(lib.nn.Linear(3, 4).double(), dim=dim))
        state = {"0." + key: lib.tensor(checkpoint[key]) for key in keys}
        result = repr(net.load_state_dict(state, strict=False))
        return result, sorted(state), net(lib.tensor(x)).detach().numpy()

    expected = legacy(torch.tensor(x)).detach().numpy()
    for keys in (list(checkpoint), ["bias", "weight_g"]):
        (torch_result, torch_keys, torch_out), (ember_result, ember_keys, ember_out) = (
            run(torch, keys), run(ember, keys))
        assert (ember_result, ember_keys) == (torch_result, torch_keys)
        if len(keys) == 3:  # all loaded: the legacy layer's function, on both
            np.testing.assert_allclose(torch_out, expected, rtol=1e-12)
            np.testing.assert_allclose(ember_out, expected, rtol=1e-12)


def _spectral(lib):
    return lib.nn.utils.spectral_norm(lib.nn.Linear(3, 4).double())


def test_spectral_norm_writes_its_version_into_the_metadata():
    def run(lib):
        net = lib.nn.Sequential(_spectral(lib))
        state = net.state_dict()
        hook = next(iter(net[0]._state_dict_hooks.values()))
        duplicate = _errors(lambda: hook(net[0], {}, "", {"spectral_norm": {"weight.version": 1}}))
        return list(state), dict(state._metadata), duplicate

    assert run(ember) == run(torch)
    assert run(ember)[1]["0"] == {"version": 1, "spectral_norm": {"weight.version": 1}}


@pytest.mark.parametrize("case", ["version0", "no_metadata", "current_without_metadata",
                                  "version0_missing", "version1_with_old_keys"])
def test_spectral_norm_converts_a_version0_checkpoint_as_torch(case):
    rng = np.random.default_rng(12)
    weight_orig = rng.standard_normal((4, 3))
    u = rng.standard_normal(4)
    u /= np.linalg.norm(u)
    old = {"weight_orig": weight_orig, "weight": weight_orig / 2.5, "weight_u": u,
           "bias": rng.standard_normal(4)}
    metadata = {"": {"version": 1, "spectral_norm": {"weight.version": 0}}}
    keys, given_metadata = {
        "version0": (old, metadata),
        "no_metadata": (old, None),
        "current_without_metadata": ({**{k: v for k, v in old.items() if k != "weight"},
                                      "weight_v": rng.standard_normal(3)}, None),
        "version0_missing": ({"weight_orig": weight_orig, "bias": old["bias"]}, metadata),
        "version1_with_old_keys": (old, {"": {"spectral_norm": {"weight.version": 1}}}),
    }[case]

    def run(lib, strict):
        module = _spectral(lib)
        try:
            result = repr(module.load_state_dict(_checkpoint(lib, keys, given_metadata),
                                                 strict=strict))
        except RuntimeError as error:
            result = str(error)
        return result, _arrays(module.state_dict())

    for strict in (True, False):
        (torch_result, torch_state), (ember_result, ember_state) = (run(torch, strict),
                                                                    run(ember, strict))
        assert ember_result == torch_result
        if case in ("version0", "no_metadata"):
            _same_arrays(ember_state, torch_state)
            # the solved v reproduces the checkpoint's sigma: w_orig / sigma == weight
            v = ember_state["weight_v"]
            np.testing.assert_allclose(u @ weight_orig @ v, 2.5, rtol=1e-10)


def test_remove_spectral_norm_takes_its_state_hooks_out():
    """Unlike PyTorch 2.13, whose load pre-hook stays and then refuses the module's own
    state dict (``Missing key(s): "weight_orig", "weight_u"``)."""
    module = _spectral(ember)
    ember.nn.utils.remove_spectral_norm(module)
    assert not module._state_dict_hooks and not module._load_state_dict_pre_hooks
    assert repr(module.load_state_dict(module.state_dict())) == "<All keys matched successfully>"
    assert dict(module.state_dict()._metadata) == {"": {"version": 1}}


# ---------------------------------------------------------------- metadata through files
def _round_trip(state, how):
    buffer = io.BytesIO()
    if how == "torch.save":
        torch.save(state, buffer)
    else:
        ember.save(state, buffer, **({"format": "torch"} if how == "ember_torch" else {}))
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("how", ["ember_safetensors", "ember_torch", "torch.save"])
def test_metadata_survives_saving_and_loading(how):
    """A checkpoint keeps each state dict's ``_metadata`` (so a migrating layer can tell an
    old checkpoint from a new one), in both of ember's formats and from ``torch.save``."""
    rng = np.random.default_rng(13)
    half = rng.standard_normal(3)
    source = torch if how == "torch.save" else ember
    old = _checkpoint(source, {"1.half_gain": half}, {"": {"version": 1}, "1": {"version": 1}})
    new = _migrating(source).state_dict()
    buffer = _round_trip({"old": old, "new": new, "epoch": 3}, how)
    loaded = ember.load(buffer)
    assert loaded["epoch"] == 3
    for key, saved in (("old", old), ("new", new)):
        assert type(loaded[key]) is OrderedDict
        assert dict(loaded[key]._metadata) == dict(saved._metadata)
        _same_arrays(_arrays(loaded[key]), _arrays(saved))
    net = _migrating(ember)
    net.load_state_dict(loaded["old"])
    np.testing.assert_allclose(net[1].gain.detach().numpy(), 2 * half, rtol=1e-15)
    if how == "ember_torch":
        buffer.seek(0)
        from_torch = torch.load(buffer, weights_only=True)
        assert dict(from_torch["new"]._metadata) == {"": {"version": 1}, "0": {"version": 1},
                                                     "1": {"version": 2}}
        assert _migrating(torch).load_state_dict(from_torch["new"]) is not None
