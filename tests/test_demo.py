"""The demo command end to end, in a temporary folder."""

from __future__ import annotations

import subprocess
import sys

import pytest

import ember
from ember.demo.__main__ import main

PNG = b"\x89PNG\r\n\x1a\n"


def test_nand_demo_writes_its_pictures(tmp_path, capsys):
    assert main(["nand", "--epochs", "300", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "a  b | target | output" in out
    for name in ("nand-loss.png", "nand-predictions.png"):
        assert (tmp_path / name).read_bytes().startswith(PNG)
    dot = (tmp_path / "nand-graph.dot").read_text()
    assert "MseLossBackward0" in dot and "layer2.weight" in dot
    assert "<svg" in (tmp_path / "nand-graph.svg").read_text()


def test_nand_demo_converges_at_blog_settings():
    from ember.demo.nand import predictions, train

    model, losses = train()
    assert losses[-1] < 5e-3
    assert [round(p) for p in predictions(model)] == [1, 1, 1, 0]


def test_list_and_module_entry_point(tmp_path):
    result = subprocess.run([sys.executable, "-m", "ember.demo", "--list"], capture_output=True,
                            text=True, check=True, cwd=tmp_path)
    assert all(name in result.stdout for name in ("nand", "digits-mlp", "digits-cnn", "charlm"))


def test_digits_mlp_meets_its_accuracy_at_default_settings(tmp_path, capsys):
    from ember.demo.digits import train

    _, history = train("mlp")
    assert history["test accuracy"][-1] >= 0.95
    assert main(["digits-mlp", "--epochs", "2", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "digits-mlp-accuracy.png").read_bytes().startswith(PNG)
    assert "test accuracy" in capsys.readouterr().out


def test_digits_cnn_meets_its_accuracy_at_default_settings(tmp_path):
    from ember.demo.digits import train

    _, history = train("cnn", epochs=15, lr=3e-3)
    assert history["test accuracy"][-1] >= 0.97
    assert main(["digits-cnn", "--epochs", "1", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "digits-cnn-loss.png").read_bytes().startswith(PNG)


def test_charlm_prints_samples_and_plots(tmp_path, capsys):
    assert main(["charlm", "--epochs", "5", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "before training:" in out and "after 5 steps" in out and "Beautiful is" in out
    assert (tmp_path / "charlm-loss.png").read_bytes().startswith(PNG)


@pytest.mark.cuda
@pytest.mark.parametrize("demo", ["nand", "digits-mlp", "digits-cnn", "charlm"])
def test_demos_train_on_the_gpu(demo, tmp_path, capsys):
    assert main([demo, "--device", "cuda", "--epochs", "2", "--out", str(tmp_path),
                 "--quiet"]) == 0
    assert ember.get_default_device() == ember.device("cpu")


def test_the_device_option_says_when_cuda_is_missing(tmp_path):
    if ember.cuda.is_available():
        pytest.skip("this run has CUDA")
    with pytest.raises(RuntimeError, match="needs CuPy"):
        main(["nand", "--device", "cuda", "--epochs", "1", "--out", str(tmp_path), "--quiet"])
