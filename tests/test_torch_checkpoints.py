"""Checkpoints across frameworks: torch.save archives into ember.load, and back.

PyTorch 2.13 is the oracle both ways: what ``torch.save`` writes, ``ember.load`` reads
(through an unpickler that builds only what ``weights_only=True`` builds), and what
``ember.save(..., format="torch")`` writes, ``torch.load(f, weights_only=True)`` reads.
Hostile archives are refused with nothing executed.
"""

from __future__ import annotations

import collections
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest
import torch

import ember
from ember import nn

torch.set_num_threads(1)

_DTYPES = ["float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool"]


def _torch_bytes(obj) -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    buffer.seek(0)
    return buffer


def _ember_bytes(obj) -> io.BytesIO:
    buffer = io.BytesIO()
    ember.save(obj, buffer, format="torch")
    buffer.seek(0)
    return buffer


def _random_array(rng, dtype: str, shape=(3, 4)):
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype.startswith("float"):
        return rng.standard_normal(shape).astype(dtype)
    info = np.iinfo(dtype)
    return rng.integers(info.min, info.max, shape, endpoint=True, dtype=dtype)


def _archive(records: dict, compression=zipfile.ZIP_STORED) -> io.BytesIO:
    """A zip archive by hand: ``records`` maps member names to their bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in records.items():
            archive.writestr(name, data)
    buffer.seek(0)
    return buffer


def _records(buffer: io.BytesIO) -> dict:
    with zipfile.ZipFile(buffer) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _weights_only_reason(load, buffer) -> str:
    """What follows "WeightsUnpickler error: " (or the blank line) in a weights-only refusal."""
    buffer.seek(0)
    with pytest.raises(pickle.UnpicklingError) as caught:
        load(buffer)
    message = str(caught.value).split("\n\nCheck the documentation")[0]
    return message.split("WeightsUnpickler error: ")[-1].split("\n\n")[-1].strip()


# ---- torch.save -> ember.load ---------------------------------------------------------


@pytest.mark.parametrize("dtype", _DTYPES)
def test_torch_archives_load_tensors_of_every_dtype(dtype):
    rng = np.random.default_rng(0)
    array = _random_array(rng, dtype)
    loaded = ember.load(_torch_bytes({"w": torch.from_numpy(array), "scalar": torch.tensor(7)}))
    assert loaded["w"].dtype == getattr(ember, dtype)
    np.testing.assert_array_equal(loaded["w"].numpy(), array)
    assert loaded["scalar"].shape == () and loaded["scalar"].item() == 7


def test_complex_and_uint16_are_refused_naming_the_dtype():
    for tensor, name in [
        (torch.ones(2, dtype=torch.uint16), "uint16"),
        (torch.ones(2, dtype=torch.complex64), "complex64"),
    ]:
        with pytest.raises(RuntimeError, match=f"torch.{name}.*which ember does not support"):
            ember.load(_torch_bytes({"w": tensor}))
    with pytest.raises(RuntimeError, match="dtype torch.uint16, which ember does not support"):
        ember.load(_torch_bytes({"dtype": torch.uint16}))


def test_views_keep_their_strides_offsets_and_shared_memory():
    rng = np.random.default_rng(1)
    base = torch.from_numpy(rng.standard_normal((4, 5)).astype(np.float32))
    saved = {
        "base": base,
        "block": base[1:3, 2:],
        "transposed": base.t(),
        "column": base[:, 3],
        "expanded": base[0:1, 0:1].expand(3, 2),
    }
    loaded = ember.load(_torch_bytes(saved))
    for name, tensor in saved.items():
        np.testing.assert_array_equal(loaded[name].numpy(), tensor.numpy(), err_msg=name)
        assert loaded[name].stride() == tensor.stride(), name
        assert loaded[name].shape == tuple(tensor.shape), name
    # One storage in the file is one buffer in ember: writing the base shows in its views.
    loaded["base"].add_(100.0)
    expected = base + 100.0
    for name, view in [("block", expected[1:3, 2:]), ("transposed", expected.t())]:
        np.testing.assert_array_equal(loaded[name].numpy(), view.numpy(), err_msg=name)


def test_containers_numbers_strings_and_none_load_as_torch_loads_them():
    rng = np.random.default_rng(2)
    weight = torch.from_numpy(rng.standard_normal(3))
    saved = {
        "ordered": collections.OrderedDict([("b", 1), ("a", weight)]),
        "list": [1, -(2**40), 2**80, 1.5, float("inf"), "text", None, True, False],
        "tuple": (weight, (), ("nested", [{}])),
        "int keys": {0: "zero", -1: "minus one"},
        "size": torch.Size([2, 3]),
        "dtype": torch.float64,
        "bytes": b"\x00\xff raw",
        "set": {1, 2},
        "parameter": torch.nn.Parameter(torch.ones(2)),
        "frozen": torch.nn.Parameter(torch.ones(1), requires_grad=False),
        "leaf": torch.ones(2, requires_grad=True),
    }
    expected = torch.load(_torch_bytes(saved), weights_only=True)
    loaded = ember.load(_torch_bytes(saved))
    assert type(loaded["ordered"]) is collections.OrderedDict
    assert list(loaded["ordered"]) == ["b", "a"]
    np.testing.assert_array_equal(loaded["ordered"]["a"].numpy(), weight.numpy())
    assert loaded["list"] == expected["list"]
    assert loaded["tuple"][1:] == expected["tuple"][1:] and loaded["int keys"] == saved["int keys"]
    assert loaded["size"] == (2, 3) and isinstance(loaded["size"], ember.Size)
    assert loaded["dtype"] is ember.float64
    assert loaded["bytes"] == b"\x00\xff raw" and loaded["set"] == {1, 2}
    assert isinstance(loaded["parameter"], nn.Parameter) and loaded["parameter"].requires_grad
    assert isinstance(loaded["frozen"], nn.Parameter) and not loaded["frozen"].requires_grad
    assert loaded["leaf"].requires_grad and not isinstance(loaded["leaf"], nn.Parameter)


def test_one_tensor_saved_twice_loads_as_one_object():
    tensor = torch.ones(3)
    first, second = ember.load(_torch_bytes([tensor, tensor]))
    assert first is second


def _torch_training_run(rng):
    model = torch.nn.Sequential(torch.nn.Linear(6, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.from_numpy(rng.standard_normal(parameter.shape)))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def _ember_training_run():
    model = nn.Sequential(nn.Linear(6, 4), nn.Tanh(), nn.Linear(4, 2))
    optimizer = ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = ember.optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    return model, optimizer, scheduler


def _step(library, model, optimizer, scheduler, inputs) -> None:
    optimizer.zero_grad()
    model(library.tensor(inputs)).pow(2).mean().backward()
    optimizer.step()
    scheduler.step()


def _checkpoint(model, optimizer, scheduler) -> dict:
    config = {"name": "mlp", "lr": 0.1, "nesterov": False, "clip": None, "sizes": [6, 4, 2]}
    return {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "step": 3,
        "config": config,
    }


def _assert_same_weights(ember_model, torch_model) -> None:
    torch_state = torch_model.state_dict()
    for name, value in ember_model.state_dict().items():
        np.testing.assert_allclose(
            value.numpy(), torch_state[name].numpy(), rtol=1e-12, atol=1e-12, err_msg=name
        )


def test_a_torch_training_checkpoint_resumes_in_ember():
    rng = np.random.default_rng(3)
    inputs = rng.standard_normal((5, 6))
    torch.set_default_dtype(torch.float64)
    try:
        torch_run = _torch_training_run(rng)
        for _ in range(3):
            _step(torch, *torch_run, inputs)
        checkpoint = ember.load(_torch_bytes(_checkpoint(*torch_run)))
    finally:
        torch.set_default_dtype(torch.float32)
    assert checkpoint["step"] == 3 and checkpoint["config"]["clip"] is None
    assert checkpoint["config"]["sizes"] == [6, 4, 2] and checkpoint["config"]["lr"] == 0.1
    ember_run = _ember_training_run()
    ember_run[0].double()
    ember_run[0].load_state_dict(checkpoint["model"])
    ember_run[1].load_state_dict(checkpoint["optimizer"])
    ember_run[2].load_state_dict(checkpoint["scheduler"])
    assert ember_run[1].param_groups[0]["lr"] == torch_run[1].param_groups[0]["lr"]
    for _ in range(2):
        _step(torch, *torch_run, inputs)
        _step(ember, *ember_run, inputs)
    _assert_same_weights(ember_run[0], torch_run[0])


def test_an_ember_training_checkpoint_resumes_in_torch():
    rng = np.random.default_rng(4)
    inputs = rng.standard_normal((5, 6)).astype(np.float32)
    ember_run = _ember_training_run()
    for _ in range(3):
        _step(ember, *ember_run, inputs)
    buffer = _ember_bytes(_checkpoint(*ember_run))
    checkpoint = torch.load(buffer, weights_only=True)
    assert checkpoint["step"] == 3 and checkpoint["config"]["name"] == "mlp"
    torch_run = _torch_training_run(rng)
    torch_run[0].load_state_dict(checkpoint["model"])
    torch_run[1].load_state_dict(checkpoint["optimizer"])
    torch_run[2].load_state_dict(checkpoint["scheduler"])
    for _ in range(2):
        _step(torch, *torch_run, inputs)
        _step(ember, *ember_run, inputs)
    torch_state = torch_run[0].state_dict()
    for name, value in ember_run[0].state_dict().items():
        np.testing.assert_allclose(
            value.numpy(), torch_state[name].numpy(), rtol=1e-5, atol=1e-6, err_msg=name
        )


# ---- ember.save(format="torch") -> torch.load ------------------------------------------


@pytest.mark.parametrize("dtype", _DTYPES)
def test_ember_archives_load_in_torch_for_every_dtype(dtype):
    rng = np.random.default_rng(5)
    array = _random_array(rng, dtype)
    loaded = torch.load(_ember_bytes({"w": ember.tensor(array)}), weights_only=True)
    assert loaded["w"].dtype == getattr(torch, dtype)
    np.testing.assert_array_equal(loaded["w"].numpy(), array)


def test_ember_views_share_one_storage_in_torch():
    rng = np.random.default_rng(6)
    base = ember.tensor(rng.standard_normal((4, 5)))
    saved = {"base": base, "block": base[1:3, 2:], "transposed": base.t(), "copy": [base]}
    buffer = _ember_bytes(saved)
    loaded = torch.load(buffer, weights_only=True)
    for name in ("base", "block", "transposed"):
        np.testing.assert_array_equal(loaded[name].numpy(), saved[name].numpy(), err_msg=name)
        assert loaded[name].stride() == saved[name].stride(), name
    assert loaded["block"].storage_offset() == 7 and loaded["copy"][0] is loaded["base"]
    pointers = {loaded[name].untyped_storage().data_ptr() for name in ("base", "block")}
    assert len(pointers) == 1
    assert [name for name in _records(buffer) if "/data/" in name] == ["archive/data/0"]
    # And back: ember reads its own archive with the same sharing.
    buffer.seek(0)
    again = ember.load(_ember_bytes(ember.load(buffer)))
    again["base"].mul_(0.0)
    assert bool((again["block"] == 0).all())


def test_ember_archive_records_are_aligned_as_torch_writes_them():
    buffer = _ember_bytes({"a": ember.ones(3), "b": ember.ones(5, dtype=ember.int64)})
    content = buffer.getvalue()
    with zipfile.ZipFile(buffer) as archive:
        for info in archive.infolist():
            assert info.compress_type == zipfile.ZIP_STORED
            name_length, extra_length = struct.unpack_from("<HH", content, info.header_offset + 26)
            start = info.header_offset + 30 + name_length + extra_length
            assert start % 64 == 0, info.filename
    assert _records(buffer)["archive/byteorder"] == b"little"


def test_saving_a_module_is_refused_with_the_state_dict_advice(tmp_path):
    model = nn.Linear(2, 2)
    for format in ("safetensors", "torch"):
        with pytest.raises(TypeError, match=r"module Linear.*state_dict\(\)"):
            ember.save({"model": model}, tmp_path / "model.pt", format=format)
    assert os.listdir(tmp_path) == []


def test_torch_format_saves_atomically(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    ember.save({"epoch": 1}, path, format="torch")

    def failing_replace(source, target):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk gone"):
        ember.save({"epoch": 2}, path, format="torch")
    monkeypatch.undo()
    assert torch.load(path, weights_only=True) == {"epoch": 1}
    assert os.listdir(tmp_path) == ["checkpoint.pt"]


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="format must be one of"):
        ember.save({}, io.BytesIO(), format="pickle")


# ---- NumPy arrays ----------------------------------------------------------------------

_NUMPY_GLOBALS = [np._core.multiarray._reconstruct, np.ndarray, np.dtype, np.dtypes.Float32DType]


def test_numpy_arrays_round_trip_as_arrays_in_safetensors():
    rng = np.random.default_rng(7)
    array = rng.standard_normal((2, 3)).astype(np.float32)
    buffer = io.BytesIO()
    ember.save({"array": array, "tensor": ember.tensor(array)}, buffer)
    buffer.seek(0)
    loaded = ember.load(buffer)
    assert type(loaded["array"]) is np.ndarray and isinstance(loaded["tensor"], ember.Tensor)
    np.testing.assert_array_equal(loaded["array"], array)


def test_numpy_arrays_in_archives_need_allowlisting_as_in_torch():
    rng = np.random.default_rng(8)
    array = rng.standard_normal(4).astype(np.float32)
    torch_file = _torch_bytes({"array": array})
    expected = _weights_only_reason(lambda f: torch.load(f, weights_only=True), torch_file)
    assert _weights_only_reason(ember.load, torch_file) == expected
    assert "numpy._core.multiarray._reconstruct" in expected
    torch_file.seek(0)
    with ember.serialization.safe_globals(_NUMPY_GLOBALS):
        loaded = ember.load(torch_file)["array"]
    assert type(loaded) is np.ndarray
    np.testing.assert_array_equal(loaded, array)
    ember_file = _ember_bytes({"array": array})
    with torch.serialization.safe_globals(_NUMPY_GLOBALS):
        np.testing.assert_array_equal(torch.load(ember_file, weights_only=True)["array"], array)


# ---- the allowlist ---------------------------------------------------------------------


class _Config:
    initialised = 0

    def __init__(self, depth=1):
        type(self).initialised += 1
        self.depth = depth


def test_safe_globals_rebuild_a_class_without_calling_its_init():
    ember.serialization.clear_safe_globals()
    buffer = _torch_bytes({"config": _Config(depth=7)})
    name = f"{__name__}._Config"
    assert _weights_only_reason(ember.load, buffer) == _weights_only_reason(
        lambda f: torch.load(f, weights_only=True), buffer
    )
    assert f"GLOBAL {name} was not an allowed global" in _weights_only_reason(ember.load, buffer)
    before = _Config.initialised
    with ember.serialization.safe_globals([_Config]):
        assert ember.serialization.get_safe_globals() == [_Config]
        buffer.seek(0)
        config = ember.load(buffer)["config"]
    assert ember.serialization.get_safe_globals() == []
    assert type(config) is _Config and config.depth == 7 and _Config.initialised == before
    ember.serialization.add_safe_globals([(_Config, "elsewhere.Config")])
    try:
        assert ember.serialization.get_safe_globals() == [(_Config, "elsewhere.Config")]
        with pytest.raises(pickle.UnpicklingError):
            ember.load(io.BytesIO(buffer.getvalue()))  # allowlisted under another name
    finally:
        ember.serialization.clear_safe_globals()
    assert ember.serialization.get_safe_globals() == []


def test_weights_only_false_and_a_pickle_module_are_refused():
    with pytest.raises(RuntimeError, match="weights_only=False is not supported.*run any code"):
        ember.load(_torch_bytes({"w": torch.ones(1)}), weights_only=False)
    assert ember.load(_torch_bytes({"w": torch.ones(1)}), weights_only=None)["w"].item() == 1.0
    with pytest.raises(RuntimeError, match="explicit pickle_module"):
        ember.load(_torch_bytes({}), pickle_module=pickle)


# ---- map_location ----------------------------------------------------------------------


def _on_cuda_archive() -> io.BytesIO:
    records = _records(_torch_bytes({"w": torch.arange(3.0)}))
    cpu, cuda = b"X\x03\x00\x00\x00cpu", b"X\x06\x00\x00\x00cuda:0"
    assert cpu in records["archive/data.pkl"]
    records["archive/data.pkl"] = records["archive/data.pkl"].replace(cpu, cuda)
    return _archive(records)


def test_cuda_storages_need_a_map_location_as_in_torch():
    if ember.cuda.is_available():
        pytest.skip("this run has CUDA")
    with pytest.raises(RuntimeError) as expected:
        torch.load(_on_cuda_archive(), weights_only=True)
    with pytest.raises(RuntimeError) as caught:
        ember.load(_on_cuda_archive())
    assert str(caught.value) == str(expected.value)
    for map_location in ("cpu", {"cuda:0": "cpu"}, lambda storage, location: storage):
        loaded = ember.load(_on_cuda_archive(), map_location=map_location)
        assert loaded["w"].tolist() == [0.0, 1.0, 2.0]


# ---- hostile archives ------------------------------------------------------------------


class _Command:
    def __init__(self, function, marker):
        self.function = function
        self.marker = marker

    def __reduce__(self):
        if self.function is os.system:
            return (os.system, (f"touch {self.marker}",))
        return (self.function, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("function", [os.system, exec, eval], ids=["system", "exec", "eval"])
def test_a_pickle_that_runs_a_command_is_refused_and_never_run(tmp_path, function):
    marker = tmp_path / "pwned"
    buffer = _torch_bytes({"w": torch.ones(1), "payload": _Command(function, marker)})
    expected = _weights_only_reason(lambda f: torch.load(f, weights_only=True), buffer)
    assert _weights_only_reason(ember.load, buffer) == expected
    with ember.serialization.safe_globals([function]), pytest.raises(pickle.UnpicklingError):
        ember.load(io.BytesIO(buffer.getvalue()))
    assert not marker.exists()


def _with_pickle(pickled: bytes, **extra) -> io.BytesIO:
    return _archive({"archive/data.pkl": pickled, "archive/version": b"3\n", **extra})


_TENSOR_OF = (
    b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((X\x07\x00\x00\x00storagectorch\n"
    b"FloatStorage\nX\x01\x00\x00\x000X\x03\x00\x00\x00cpuK\x04tQK%sK\x02\x85K\x01\x85\x89"
    b"ccollections\nOrderedDict\n)RtR."
)
_HOSTILE_PICKLES = {
    "a global outside the allowlist": (
        b"\x80\x02csubprocess\ncall\nX\x04\x00\x00\x00trueK\x01\x86R.",
        "GLOBAL subprocess.call was not an allowed global by default",
    ),
    "BUILD on a dict": (b"\x80\x02}}b.", "Can only build"),
    "append to a dict": (b"\x80\x02}K\x01a.", "Can only append to lists"),
    "a call of a value": (b"\x80\x02}NR.", "Trying to call reduce for unrecognized function"),
    "a protocol 4 frame": (
        b"\x80\x04\x95\x01\x00\x00\x00\x00\x00\x00\x00N.",
        "Unsupported operand",
    ),
    "a stack underflow": (b"\x80\x02a.", "malformed"),
    "a persistent id that is no storage": (
        b"\x80\x02X\x04\x00\x00\x00fileQ.",
        "Only persistent_load of storage",
    ),
}


@pytest.mark.parametrize(
    "pickled, message", list(_HOSTILE_PICKLES.values()), ids=list(_HOSTILE_PICKLES)
)
def test_hostile_pickles_are_refused(pickled, message):
    with pytest.raises(pickle.UnpicklingError, match=message):
        ember.load(_with_pickle(pickled))


_STORAGE = {"archive/data/0": np.arange(4, dtype=np.float32).tobytes()}
_HOSTILE_STORAGES = {
    "a key that does not exist": ({}, 0, "no record archive/data/0"),
    "a view past the end": (_STORAGE, 3, "reaches past the end of its storage"),
    "a record shorter than its storage": (
        {"archive/data/0": bytes(12)},
        0,
        "declares 4 elements of float32 \\(16 bytes\\), but its record holds 12",
    ),
}


@pytest.mark.parametrize(
    "records, offset, message", list(_HOSTILE_STORAGES.values()), ids=list(_HOSTILE_STORAGES)
)
def test_storage_references_are_checked(records, offset, message):
    pickled = _TENSOR_OF % bytes([offset])
    with pytest.raises(RuntimeError, match=message):
        ember.load(_with_pickle(pickled, **records))
    # The well-formed archive loads, so the message above is the check's own.
    loaded = ember.load(_with_pickle(_TENSOR_OF % bytes([2]), **_STORAGE))
    assert loaded.tolist() == [2.0, 3.0]


def test_compressed_members_and_oversized_declarations_are_refused():
    bomb = _archive(
        {"archive/data.pkl": b"\x80\x02N.", "archive/data/0": bytes(1 << 22)}, zipfile.ZIP_DEFLATED
    )
    assert len(bomb.getvalue()) < 1 << 16
    with pytest.raises(RuntimeError, match="'archive/data.pkl' is compressed"):
        ember.load(bomb)
    content = bytearray(_with_pickle(b"\x80\x02N.").getvalue())
    # data.pkl's compressed and uncompressed sizes in the central directory, made huge.
    entry = content.index(b"PK\x01\x02")
    assert content[entry + 46 : entry + 62] == b"archive/data.pkl"
    struct.pack_into("<II", content, entry + 20, 1 << 31, 1 << 31)
    with pytest.raises(RuntimeError, match="declares 2147483648 bytes, more than the archive"):
        ember.load(io.BytesIO(bytes(content)))


def test_truncated_archives_are_refused():
    content = _torch_bytes({"w": torch.ones(100)}).getvalue()
    for end in (len(content) // 2, len(content) - 10):
        with pytest.raises(RuntimeError, match="failed finding central directory"):
            ember.load(io.BytesIO(content[:end]))


@pytest.mark.parametrize(
    "name, message",
    [
        ("archive/../../etc/passwd", "unsafe name"),
        ("/archive/data/0", "unsafe name"),
        ("archive\\data\\0", "unsafe name"),
        ("other/data/0", "one top-level folder"),
    ],
)
def test_member_names_are_checked(name, message):
    with pytest.raises(RuntimeError, match=message):
        ember.load(_with_pickle(b"\x80\x02N.", **{name: b""}))


def test_duplicate_member_names_are_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02N.")
        with pytest.warns(UserWarning, match="Duplicate"):
            archive.writestr("archive/data.pkl", b"\x80\x02K\x01.")
    buffer.seek(0)
    with pytest.raises(RuntimeError, match="two members named 'archive/data.pkl'"):
        ember.load(buffer)


def test_plain_and_legacy_pickles_stay_refused(tmp_path):
    path = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(1)}, path, _use_new_zipfile_serialization=False)
    with pytest.raises(RuntimeError, match="legacy pre-1.6 format.*never unpickles"):
        ember.load(path)

