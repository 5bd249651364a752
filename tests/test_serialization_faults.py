"""ember.save / ember.load under faults: every file ember writes loads back, an interrupted
save leaves the old checkpoint whole, and a malformed or hostile file gets a clear error."""

from __future__ import annotations

import errno
import io
import json
import os
import pickle
import signal
import struct
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest
import torch
from safetensors.numpy import load as safetensors_load

import ember
from ember import nn

torch.set_num_threads(1)


def _raw_file(header, data: bytes = b"", header_length: int | None = None) -> bytes:
    """A safetensors file by hand: ``header`` (a dict, or raw bytes) padded with spaces."""
    text = header if isinstance(header, bytes) else json.dumps(header).encode()
    if header_length is not None:
        text += b" " * (header_length - len(text))
    return struct.pack("<Q", len(text)) + text + data


def _entry(dtype: str, shape, begin: int, end: int) -> dict:
    return {"dtype": dtype, "shape": shape, "data_offsets": [begin, end]}


def _structure(document: str, **tensors) -> dict:
    return {"__metadata__": {"ember.structure": document}, **tensors}


# ---- telling formats apart --------------------------------------------------------------


def test_every_low_byte_of_the_header_length_loads():
    rng = np.random.default_rng(0)
    values = rng.standard_normal(3).astype(np.float32)
    header = {"w": _entry("F32", [3], 0, 12)}
    for low_byte in range(256):
        content = _raw_file(header, values.tobytes(), header_length=512 + low_byte)
        assert content[0] == low_byte
        np.testing.assert_array_equal(safetensors_load(content)["w"], values)  # a valid file
        loaded = ember.load(io.BytesIO(content))
        np.testing.assert_array_equal(loaded["w"].numpy(), values, err_msg=f"byte {low_byte}")


def test_files_ember_writes_load_back_whatever_their_header_length(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    first_bytes = set()
    for length in range(300):
        ember.save({"w": ember.arange(3), "note": "x" * length}, path)
        first_bytes.add(path.read_bytes()[0])
        loaded = ember.load(path)
        assert loaded["note"] == "x" * length and loaded["w"].tolist() == [0, 1, 2]
    assert 0x80 in first_bytes


def test_mlp_and_sgd_momentum_checkpoint_round_trip(tmp_path):
    def build():
        model = nn.Sequential(
            nn.Linear(32, 5), nn.ReLU(), nn.Linear(5, 5), nn.ReLU(), nn.Linear(5, 10)
        )
        return model, ember.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step(model, optimizer, inputs):
        optimizer.zero_grad()
        model(inputs).pow(2).mean().backward()
        optimizer.step()

    rng = np.random.default_rng(1)
    inputs = ember.tensor(rng.standard_normal((4, 32)).astype(np.float32))
    model, optimizer = build()
    step(model, optimizer, inputs)
    path = tmp_path / "checkpoint.pt"
    ember.save(
        {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 10}, path
    )
    checkpoint = ember.load(path)
    assert checkpoint["epoch"] == 10
    resumed, resumed_optimizer = build()
    resumed.load_state_dict(checkpoint["model"])
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    step(model, optimizer, inputs)
    step(resumed, resumed_optimizer, inputs)
    for (name, expected), (_, actual) in zip(
        model.state_dict().items(), resumed.state_dict().items()
    ):
        np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=name)


def test_pickles_and_zip_archives_are_recognised_by_their_content(tmp_path):
    path = tmp_path / "file"
    for protocol in (2, 3, 4, 5):
        path.write_bytes(pickle.dumps({"w": [1.0, 2.0]}, protocol=protocol))
        with pytest.raises(RuntimeError, match="never unpickles"):
            ember.load(path)
    torch.save({"w": torch.ones(2)}, path)
    assert ember.load(path)["w"].tolist() == [1.0, 1.0]  # a zip archive, read as torch.load
    # A safetensors header of 0x4B50 bytes starts with "PK", like a zip archive.
    content = _raw_file({"w": _entry("I64", [1], 0, 8)}, struct.pack("<q", 7), 0x4B50)
    assert content[:2] == b"PK"
    path.write_bytes(content)
    assert ember.load(path)["w"].tolist() == [7]


# ---- malformed headers ------------------------------------------------------------------

_MALFORMED = {
    "overlapping ranges": (
        _raw_file({"a": _entry("F32", [4], 0, 16), "b": _entry("F32", [2], 8, 16)}, bytes(16)),
        "'b'.*overlaps",
    ),
    "a gap before a tensor": (
        _raw_file({"a": _entry("F32", [2], 8, 16)}, bytes(16)),
        "'a'.*gap",
    ),
    "shape as a string": (_raw_file({"a": _entry("F32", "22", 0, 16)}, bytes(16)), "'a'.*shape"),
    "negative dimension": (
        _raw_file({"a": _entry("F32", [-1, 4], 0, 16)}, bytes(16)),
        "'a'.*shape.*non-negative",
    ),
    "bool dimension": (_raw_file({"a": _entry("F32", [True], 0, 4)}, bytes(4)), "'a'.*shape"),
    "float dimension": (_raw_file({"a": _entry("F32", [2.0], 0, 8)}, bytes(8)), "'a'.*shape"),
    "65 dimensions": (
        _raw_file({"a": _entry("F32", [1] * 65, 0, 4)}, bytes(4)),
        "'a'.*larger than",
    ),
    "a dimension beyond int64": (
        _raw_file({"a": _entry("F32", [2**63, 0], 0, 0)}),
        "'a'.*larger than",
    ),
    "shape larger than its bytes": (
        _raw_file({"a": _entry("F32", [3], 0, 16)}, bytes(16)),
        "'a'.*needs 12 bytes",
    ),
    "bytes not a multiple of the item": (
        _raw_file({"a": _entry("F32", [1], 0, 6)}, bytes(6)),
        "'a'.*needs 4 bytes",
    ),
    "begin after end": (
        _raw_file({"a": _entry("F32", [0], 4, 0)}, bytes(4)),
        "'a'.*end before they begin",
    ),
    "three offsets": (
        _raw_file({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4, 8]}}, bytes(4)),
        r"'a' has data_offsets.*expected \[begin, end\]",
    ),
    "unknown dtype": (_raw_file({"a": _entry("Q7", [1], 0, 4)}, bytes(4)), "'a'.*unknown dtype"),
    "uint16": (_raw_file({"a": _entry("U16", [2], 0, 4)}, bytes(4)), "'a'.*U16.*not support"),
    "an extra field": (
        _raw_file({"a": {**_entry("F32", [1], 0, 4), "note": 1}}, bytes(4)),
        "'a'.*exactly dtype, shape and data_offsets",
    ),
    "a missing field": (
        _raw_file({"a": {"dtype": "F32", "shape": [1]}}, bytes(4)),
        "'a'.*exactly dtype, shape and data_offsets",
    ),
    "metadata of numbers": (_raw_file({"__metadata__": {"epoch": 3}}), "__metadata__"),
    "duplicate keys": (
        _raw_file(
            b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},'
            b' "a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
            bytes(4),
        ),
        "'a' appears more than once",
    ),
    "NaN": (_raw_file(b'{"a": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}'), "NaN"),
    "Infinity": (_raw_file(b'{"__metadata__": {"x": Infinity}}'), "Infinity"),
    "not UTF-8": (_raw_file(b'{"\xff": 1}'), "not valid UTF-8"),
    "nested 100,000 deep": (_raw_file(b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"), "nested"),
    "data cut short": (
        _raw_file({"a": _entry("F32", [4], 0, 16)}, bytes(10)),
        "truncated: tensor 'a' ends at byte 16",
    ),
    "bytes after the data": (
        _raw_file({"a": _entry("F32", [1], 0, 4)}, bytes(10)),
        "6 bytes after",
    ),
}


@pytest.mark.parametrize("content, message", list(_MALFORMED.values()), ids=list(_MALFORMED))
def test_malformed_headers_raise_a_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(RuntimeError, match=message) as caught:
        ember.load(path)
    assert str(path) in str(caught.value)


def test_header_over_the_size_limit_is_refused_unread(tmp_path):
    path = tmp_path / "huge.safetensors"
    length = 100_000_008
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", length) + b"{")
        handle.truncate(8 + length + 8)  # sparse: nothing real is stored
    with pytest.raises(RuntimeError, match="limit of 100,000,000 bytes"):
        ember.load(path)


# ---- hostile structure in the metadata --------------------------------------------------

_TENSOR = _entry("F32", [1], 0, 4)
_HOSTILE = {
    "nested 50,000 deep": (
        _structure('{"version": 1, "object": ' + "[" * 50_000 + "]" * 50_000 + "}"),
        "nested",
    ),
    "an unknown tag": (
        _structure('{"version": 1, "object": {"__reduce__": ["os.system", "echo"]}}'),
        "unknown entry",
    ),
    "a tensor the header lacks": (
        _structure('{"version": 1, "object": {"__tensor__": "t9"}}'),
        "'t9'.*lacks",
    ),
    "a tensor never referred to": (
        _structure('{"version": 1, "object": 3}', t0=_TENSOR),
        "never refers to.*'t0'",
    ),
    "an integer that requires grad": (
        _structure(
            '{"version": 1, "object": {"__tensor__": "t0", "requires_grad": true}}',
            t0=_entry("I32", [1], 0, 4),
        ),
        "'t0'.*cannot require grad",
    ),
    "a newer format": (_structure('{"version": 2, "object": 3}'), "format version 2"),
    "a state dict whose metadata is no dict": (
        _structure('{"version": 1, "object": {"__state_dict__": {}, "__metadata__": [1]}}'),
        "a state dict in the structure must hold a dict and its metadata",
    ),
}


@pytest.mark.parametrize("header, message", list(_HOSTILE.values()), ids=list(_HOSTILE))
def test_hostile_structure_raises_a_clear_error(tmp_path, header, message):
    path = tmp_path / "hostile.safetensors"
    path.write_bytes(_raw_file(header, bytes(4) if len(header) > 1 else b""))
    with pytest.raises(RuntimeError, match=message) as caught:
        ember.load(path)
    assert str(path) in str(caught.value)


# ---- map_location -----------------------------------------------------------------------


def test_map_location_cuda_raises_pytorchs_error(tmp_path):
    if ember.cuda.is_available():
        pytest.skip("this run has CUDA")
    torch_path = tmp_path / "torch.pt"
    torch.save({"w": torch.ones(2)}, torch_path)
    with pytest.raises(RuntimeError) as expected:
        torch.load(torch_path, map_location="cuda")
    path = tmp_path / "checkpoint.safetensors"
    ember.save({"w": ember.ones(2)}, path)
    for target in ("cuda", "cuda:0", ember.device("cuda"), {"cpu": "cuda"}):
        with pytest.raises(RuntimeError) as caught:
            ember.load(path, map_location=target)
        assert str(caught.value) == str(expected.value)
    with pytest.raises(TypeError, match="map_location"):
        ember.load(path, map_location=3)


def test_map_location_cpu_forms_and_callables_are_honoured(tmp_path):
    path = tmp_path / "checkpoint.safetensors"
    ember.save({"w": ember.ones(2), "epoch": 4}, path)
    for target in ("cpu", ember.device("cpu"), {"cpu": "cpu"}, {"cuda:0": "cpu"}):
        assert ember.load(path, map_location=target)["w"].tolist() == [1.0, 1.0]
    calls = []

    def relocate(tensor, location):
        calls.append(location)
        return tensor * 2

    assert ember.load(path, map_location=relocate)["w"].tolist() == [2.0, 2.0]
    assert calls == ["cpu"]
    assert ember.load(path, map_location=lambda storage, location: storage)["epoch"] == 4
    # As in PyTorch, a CUDA target is only refused when a tensor is loaded.
    ember.save({"epoch": 4}, path)
    assert ember.load(path, map_location="cuda") == {"epoch": 4}


# ---- interrupted saves ------------------------------------------------------------------

_WRITER = textwrap.dedent(
    """
    import os, resource, signal, sys, time
    import ember

    path, mode, marker = sys.argv[1:4]
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if mode == "pause":
        def paused_replace(source, target):
            # The marker appears whole (by rename), never empty to a reader polling for it.
            with open(marker + ".part", "w") as handle:
                handle.write(source)
            os.rename(marker + ".part", marker)
            time.sleep(120)
        os.replace = paused_replace
    else:
        # The file size limit stops the write a quarter of the way in: the signal kills
        # the writer, or (ignored) the write fails with EFBIG.
        action = signal.SIG_DFL if mode == "killed" else signal.SIG_IGN
        signal.signal(signal.SIGXFSZ, action)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    try:
        ember.save({"w": ember.full((1 << 20,), 2.0)}, path)
    except OSError as error:
        print("failed:", error.errno)
    """
)


def _run_writer(directory, mode: str) -> tuple:
    marker = directory.parent / f"{directory.name}-paused"
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _WRITER,
            str(directory / "checkpoint.safetensors"),
            mode,
            str(marker),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    if mode == "pause":
        deadline = time.monotonic() + 60
        while not marker.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        if marker.exists():
            temporary = marker.read_text()
            assert os.path.getsize(temporary) > 4 << 20  # the data is written, not renamed
            process.send_signal(signal.SIGKILL)
    output, errors = process.communicate(timeout=60)
    return process.returncode, output, errors


@pytest.mark.skipif(os.name != "posix", reason="resource limits and signals are POSIX")
@pytest.mark.parametrize("mode", ["killed", "error", "pause"])
def test_an_interrupted_save_leaves_the_old_checkpoint_whole(tmp_path, mode):
    directory = tmp_path / "run"
    directory.mkdir()
    path = directory / "checkpoint.safetensors"
    ember.save({"w": ember.full((1 << 20,), 1.0), "epoch": 1}, path)
    code, output, errors = _run_writer(directory, mode)
    expected_code = {"killed": -signal.SIGXFSZ, "error": 0, "pause": -signal.SIGKILL}[mode]
    assert code == expected_code, errors
    if mode == "error":
        assert output.strip() == f"failed: {errno.EFBIG}"  # EFBIG, and the temporary removed
    loaded = ember.load(path)
    assert loaded["epoch"] == 1 and bool((loaded["w"] == 1.0).all())
    others = [name for name in os.listdir(directory) if name != path.name]
    if mode == "error":
        assert others == []
    # A writer killed outright cannot clean up; what it leaves is hidden and named .tmp.
    assert all(
        name.startswith(".checkpoint.safetensors.") and name.endswith(".tmp") for name in others
    )


def test_saving_to_a_directory_or_a_missing_parent_raises_like_pytorch(tmp_path):
    for target in (tmp_path, tmp_path / "missing" / "checkpoint.pt"):
        with pytest.raises(RuntimeError) as expected:
            torch.save({"w": torch.ones(1)}, target)
        with pytest.raises(RuntimeError) as caught:
            ember.save({"w": ember.ones(1)}, target)
        if "Parent directory" in str(expected.value):
            assert str(caught.value) == str(expected.value)
        else:
            assert "is a directory" in str(caught.value)
    assert os.listdir(tmp_path) == []


# ---- memory -----------------------------------------------------------------------------


def _state_of_64_mib() -> tuple:
    state = {f"layer{i}.weight": ember.ones(1024, 4096) for i in range(4)}
    state["transposed"] = ember.ones(256, 1024).t()
    return state, sum(tensor.numel() * 4 for tensor in state.values())


def _peak_allocation(function) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_save_streams_tensors_without_copying_the_checkpoint(tmp_path):
    state, size = _state_of_64_mib()
    peak = _peak_allocation(lambda: ember.save(state, tmp_path / "big.safetensors"))
    assert peak < size / 10  # one tensor's contiguous copy at most, not the whole file


def test_load_reads_each_tensor_once(tmp_path):
    state, size = _state_of_64_mib()
    path = tmp_path / "big.safetensors"
    ember.save(state, path)
    loaded = {}
    peak = _peak_allocation(lambda: loaded.update(ember.load(path)))
    assert peak < size * 1.1  # the loaded tensors themselves, not the file's bytes besides
    assert bool((loaded["layer3.weight"] == 1.0).all())
