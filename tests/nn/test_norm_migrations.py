"""The checkpoint migrations of the batch and instance norms, against PyTorch: a checkpoint
from before version 2 (no ``num_batches_tracked``) loads and keeps the layer's count; an
instance norm without running statistics refuses, with PyTorch's message, the running
statistics of a checkpoint from before 0.4 (one without a version)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember

torch.set_num_threads(1)


def _checkpoint(lib, state: dict, metadata) -> OrderedDict:
    """``state`` (name -> array) as the library's tensors, with ``metadata`` (None: none)."""
    checkpoint = OrderedDict((key, lib.tensor(value)) for key, value in state.items())
    if metadata is not None:
        checkpoint._metadata = OrderedDict(metadata)
    return checkpoint


def _load(lib, make, state, metadata, strict=True, count=4):
    """Load into a fresh layer whose count is ``count``: (result or error, layer)."""
    layer = make(lib).double()
    for name, buffer in layer.named_buffers():
        if name.endswith("num_batches_tracked"):
            buffer.fill_(count)
    checkpoint = _checkpoint(lib, state, metadata)
    keys = list(checkpoint)
    try:
        result = layer.load_state_dict(checkpoint, strict=strict)
    except Exception as error:  # compared with PyTorch's below
        result = error
    assert list(checkpoint) == keys  # the caller's checkpoint is left as it was
    return result, layer


def _compare(make, state, metadata, strict=True):
    expected, torch_layer = _load(torch, make, state, metadata, strict)
    actual, ember_layer = _load(ember, make, state, metadata, strict)
    if isinstance(expected, Exception):
        assert type(actual) is type(expected), actual
        assert str(actual) == str(expected)
        return
    assert not isinstance(actual, Exception), actual
    assert actual.missing_keys == expected.missing_keys
    assert actual.unexpected_keys == expected.unexpected_keys
    for key, value in torch_layer.state_dict().items():
        np.testing.assert_array_equal(ember_layer.state_dict()[key].numpy(), value.numpy(),
                                      err_msg=key)


def _batch_norm_state(prefix: str = "", channels: int = 3, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {prefix + "weight": rng.standard_normal(channels),
            prefix + "bias": rng.standard_normal(channels),
            prefix + "running_mean": rng.standard_normal(channels),
            prefix + "running_var": rng.uniform(1, 2, channels)}


BATCH_NORMS = [
    lambda lib: lib.nn.BatchNorm1d(3),
    lambda lib: lib.nn.BatchNorm2d(3, momentum=None),
    lambda lib: lib.nn.BatchNorm3d(3),
    lambda lib: lib.nn.SyncBatchNorm(3),
    lambda lib: lib.nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
]
OLD_METADATA = [None, {"": {}}, {"": {"version": 1}}]


@pytest.mark.parametrize("make", BATCH_NORMS)
@pytest.mark.parametrize("metadata", OLD_METADATA)
def test_checkpoint_without_num_batches_tracked_keeps_the_count(make, metadata):
    _compare(make, _batch_norm_state(), metadata)
    result, layer = _load(ember, make, _batch_norm_state(), metadata, count=7)
    assert int(layer.num_batches_tracked) == 7 and result.missing_keys == []
    np.testing.assert_array_equal(layer.running_mean.numpy(),
                                  _batch_norm_state()["running_mean"])


@pytest.mark.parametrize("make", BATCH_NORMS[:2])
def test_version_2_checkpoint_must_have_num_batches_tracked(make):
    _compare(make, _batch_norm_state(), {"": {"version": 2}})
    _compare(make, _batch_norm_state(), {"": {"version": 2}}, strict=False)
    with pytest.raises(RuntimeError, match='Missing key.*"num_batches_tracked"'):
        make(ember).load_state_dict(_checkpoint(ember, _batch_norm_state(), {"": {"version": 2}}))


def test_old_checkpoint_with_num_batches_tracked_loads_it():
    state = dict(_batch_norm_state(), num_batches_tracked=np.array(11))
    _compare(BATCH_NORMS[0], state, {"": {"version": 1}})
    _, layer = _load(ember, BATCH_NORMS[0], state, {"": {"version": 1}})
    assert int(layer.num_batches_tracked) == 11


def test_nested_layers_read_their_own_version():
    def make(lib):
        return lib.nn.Sequential(lib.nn.Linear(2, 3), lib.nn.Sequential(lib.nn.BatchNorm1d(3)))

    rng = np.random.default_rng(1)
    state = {"0.weight": rng.standard_normal((3, 2)), "0.bias": rng.standard_normal(3),
             **_batch_norm_state("1.0.")}
    _compare(make, state, {"": {"version": 1}, "1.0": {"version": 1}})
    _compare(make, state, {"": {"version": 1}, "1.0": {"version": 2}})  # a missing key
    _compare(make, state, None)


def test_without_running_statistics_nothing_is_added():
    def make(lib):
        return lib.nn.BatchNorm1d(3, track_running_stats=False)

    state = {key: value for key, value in _batch_norm_state().items() if "running" not in key}
    _compare(make, state, None)
    result, _ = _load(ember, make, state, None)
    assert result.missing_keys == result.unexpected_keys == []


INSTANCE_NORMS = [
    lambda lib: lib.nn.InstanceNorm1d(3),
    lambda lib: lib.nn.InstanceNorm2d(3, affine=True),
    lambda lib: lib.nn.InstanceNorm3d(3, affine=True),
]


@pytest.mark.parametrize("make", INSTANCE_NORMS)
@pytest.mark.parametrize("metadata", [None, {"": {}}])
@pytest.mark.parametrize("strict", [True, False])
def test_pre_0_4_instance_norm_running_stats_are_refused_with_the_reason(make, metadata, strict):
    state = _batch_norm_state()
    if make(torch).weight is None:
        state = {key: value for key, value in state.items() if "running" in key}
    _compare(make, state, metadata, strict)
    result, _ = _load(ember, make, state, metadata, strict)
    assert isinstance(result, RuntimeError)
    assert 'Unexpected running stats buffer(s) "running_mean" and "running_var"' in str(result)
    assert "set track_running_stats=True in" in str(result)


@pytest.mark.parametrize("strict", [True, False])
def test_versioned_instance_norm_checkpoint_reports_unexpected_keys(strict):
    _compare(INSTANCE_NORMS[1], _batch_norm_state(), {"": {"version": 1}}, strict)
    _compare(INSTANCE_NORMS[1], _batch_norm_state(), {"": {"version": 2}}, strict)


def test_instance_norm_names_only_the_statistics_present_and_its_prefix():
    def make(lib):
        return lib.nn.Sequential(lib.nn.InstanceNorm3d(3))

    _compare(make, {"0.running_var": np.ones(3)}, None)
    _compare(make, {"0.running_mean": np.zeros(3)}, {"": {}})
    result, _ = _load(ember, make, {"0.running_mean": np.zeros(3)}, None)
    assert 'buffer(s) "0.running_mean" for InstanceNorm3d' in str(result)


def test_old_torch_checkpoint_file_loads(tmp_path):
    """A ``torch.save`` archive of a version-1 state dict loads through ``ember.load``."""
    source = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 1), torch.nn.BatchNorm2d(3)).double()
    source[1].running_mean.fill_(0.25)
    state = source.state_dict()
    del state["1.num_batches_tracked"]
    state._metadata["1"]["version"] = 1
    torch.save(state, tmp_path / "old.pt")
    model = ember.nn.Sequential(ember.nn.Conv2d(2, 3, 1), ember.nn.BatchNorm2d(3)).double()
    result = model.load_state_dict(ember.load(tmp_path / "old.pt"))
    assert result.missing_keys == [] and int(model[1].num_batches_tracked) == 0
    np.testing.assert_array_equal(model[1].running_mean.numpy(), np.full(3, 0.25))
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        state._metadata["1"]["version"] = 2
        torch.save(state, tmp_path / "new.pt")
        model.load_state_dict(ember.load(tmp_path / "new.pt"))
