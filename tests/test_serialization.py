"""ember.save / ember.load: round trips, PyTorch's safetensors files, and refusing code."""

from __future__ import annotations

import io
import math
import os
import pickle

import numpy as np
import pytest
import torch

import ember
from ember import nn

torch.set_num_threads(1)


def test_round_trip_of_nested_structure(tmp_path):
    original = {
        "weights": ember.randn(3, 4),
        "ints": ember.arange(5),
        "flags": ember.tensor([True, False]),
        "half": ember.ones(2, dtype=ember.float16),
        "epoch": 7,
        "lr": 0.001,
        "inf": math.inf,
        "name": "nand",
        "done": False,
        "nothing": None,
        "history": [1.5, (2, "x", None)],
        "state": {0: {"step": ember.tensor(3.0)}, 1: {}},
    }
    path = tmp_path / "checkpoint.safetensors"
    ember.save(original, path)
    loaded = ember.load(path)
    assert loaded["epoch"] == 7 and loaded["lr"] == 0.001 and loaded["inf"] == math.inf
    assert loaded["name"] == "nand" and loaded["done"] is False and loaded["nothing"] is None
    assert loaded["history"] == [1.5, (2, "x", None)]
    assert set(loaded["state"]) == {0, 1} and loaded["state"][0]["step"].item() == 3.0
    for key in ("weights", "ints", "flags", "half"):
        assert loaded[key].dtype == original[key].dtype
        np.testing.assert_array_equal(loaded[key].numpy(), original[key].numpy())


def test_file_objects_and_shared_tensors():
    shared = ember.ones(3)
    buffer = io.BytesIO()
    ember.save([shared, shared], buffer)
    buffer.seek(0)
    first, second = ember.load(buffer)
    assert first.tolist() == [1.0, 1.0, 1.0] and second.tolist() == [1.0, 1.0, 1.0]


def test_model_state_dict_round_trip(tmp_path):
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    path = tmp_path / "model.safetensors"
    ember.save(model.state_dict(), path)
    other = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    other.load_state_dict(ember.load(path))
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)


def test_pytorch_safetensors_weights_load_into_ember_model(tmp_path):
    from safetensors.torch import save_file

    torch.manual_seed(0)
    torch_model = torch.nn.Sequential(
        torch.nn.Linear(2, 3), torch.nn.Sigmoid(), torch.nn.Linear(3, 1)
    )
    path = tmp_path / "torch.safetensors"
    save_file(torch_model.state_dict(), str(path))
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    model.load_state_dict(ember.load(path))
    for name, value in torch_model.state_dict().items():
        np.testing.assert_array_equal(model.state_dict()[name].numpy(), value.numpy(), err_msg=name)
    x = np.array([[0.0, 1.0], [1.0, 1.0]], dtype=np.float32)
    expected = torch_model(torch.tensor(x)).detach().numpy()
    with ember.no_grad():
        actual = model(ember.tensor(x)).numpy()
    # The weights are bit-exact; float32 sums may round differently from PyTorch's.
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-7)


class _Payload:
    def __reduce__(self):
        return (os.system, ("touch /tmp/ember-pwned",))


def test_pickle_payload_is_refused_and_never_executed(tmp_path):
    marker = "/tmp/ember-pwned"
    if os.path.exists(marker):
        os.remove(marker)
    pickled = tmp_path / "evil.pt"
    pickled.write_bytes(pickle.dumps({"weights": _Payload()}))
    with pytest.raises(RuntimeError, match="never unpickles"):
        ember.load(pickled)
    torch_file = tmp_path / "torch.pt"
    torch.save({"w": _Payload()}, torch_file)
    with pytest.raises(pickle.UnpicklingError, match="GLOBAL posix.system whose module posix"):
        ember.load(torch_file)
    assert not os.path.exists(marker)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "too short"),
        (b"\x10\x00\x00\x00\x00\x00\x00\x00{}", "truncated"),
        (b"\x04\x00\x00\x00\x00\x00\x00\x00abcd", "not JSON"),
    ],
)
def test_corrupted_files_raise_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(RuntimeError, match=message):
        ember.load(path)


def test_truncated_tensor_data_is_detected(tmp_path):
    path = tmp_path / "cut.safetensors"
    ember.save({"w": ember.ones(100)}, path)
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(RuntimeError, match="truncated|elements"):
        ember.load(path)


def test_unsupported_objects_are_refused_on_save(tmp_path):
    with pytest.raises(TypeError, match="cannot store"):
        ember.save({"model": object()}, tmp_path / "x.safetensors")
