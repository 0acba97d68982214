"""`recognizer train` and `evaluate` through the real CLI, in subprocesses."""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import ROOT, recognizer_cli

MODEL_FILES = ("digits.keras", "digits.onnx", "digits.json", "digits-curve.png")


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, mnist_path) -> Path:
    """One epoch on a 2,000-image slice: the real training path, end to end."""
    folder = tmp_path_factory.mktemp("tiny-model")
    result = recognizer_cli(
        "train",
        "--data",
        str(mnist_path),
        "--limit",
        "2000",
        "--epochs",
        "1",
        "--output",
        str(folder),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "MNIST test accuracy" in result.stdout
    return folder


def test_train_writes_model_metadata_and_curve(tiny_model):
    for name in MODEL_FILES:
        assert (tiny_model / name).stat().st_size > 0, name
    metadata = json.loads((tiny_model / "digits.json").read_text())
    assert metadata["epochs"] == 1
    assert metadata["train_images"] == 1800  # 2,000 less the 10% validation split
    assert 0.0 <= metadata["test_accuracy"] <= 1.0
    assert metadata["input"]["shape"] == [28, 28, 1]
    assert len(metadata["data_sha256"]) == 64
    assert len(metadata["classes"]) == 11
    assert not list(tiny_model.glob(".tmp-*")), "temporary files left behind"
    assert not (tiny_model / "digits.ckpt.keras").exists()


def test_exported_onnx_has_its_input_scaling_folded_and_matches_keras(tiny_model, mnist):
    import onnx

    from recognizer.classifier import Classifier
    from recognizer.native import import_keras

    graph = onnx.load(str(tiny_model / "digits.onnx")).graph
    ops = [node.op_type for node in graph.node]
    assert "Conv" in ops and ops.index("Conv") <= 1, ops[:4]  # no Mul/Add pass before it
    assert "Mul" not in ops[: ops.index("Conv")]
    images = mnist["x_test"][:500]
    keras_model = import_keras().models.load_model(tiny_model / "digits.keras")
    expected = keras_model.predict(images[..., None].astype(np.float32), verbose=0)
    got = Classifier(tiny_model / "digits.onnx").probabilities(images)
    assert np.abs(expected - got).max() < 1e-4


def test_evaluate_json_reports_accuracy_and_pictures(tiny_model, mnist_path):
    model = tiny_model / "digits.onnx"
    result = recognizer_cli("evaluate", "--data", str(mnist_path), "--model", str(model), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["n"] == 10000
    metadata = json.loads((tiny_model / "digits.json").read_text())
    # The ONNX export evaluated with ONNX Runtime agrees with the Keras score from training.
    assert report["accuracy"] == pytest.approx(metadata["test_accuracy"], abs=0.002)
    assert Path(report["confusion_png"]).stat().st_size > 0
    assert Path(report["mistakes_png"]).stat().st_size > 0


def test_evaluate_perturbed_is_a_different_harder_set(tiny_model, mnist_path):
    model = str(tiny_model / "digits.onnx")
    clean = recognizer_cli("evaluate", "--data", str(mnist_path), "--model", model, "--json")
    rough = recognizer_cli(
        "evaluate", "--data", str(mnist_path), "--model", model, "--json", "--perturbed"
    )
    assert rough.returncode == 0, rough.stderr
    assert json.loads(rough.stdout)["perturbed"] is True
    assert json.loads(rough.stdout)["accuracy"] != json.loads(clean.stdout)["accuracy"]


def test_sigint_keeps_the_model_byte_identical_and_resume_finishes(
    tiny_model, mnist_path, tmp_path
):
    folder = tmp_path / "models"
    folder.mkdir()
    before = {}
    for name in MODEL_FILES:
        data = (tiny_model / name).read_bytes()
        (folder / name).write_bytes(data)
        before[name] = data
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "recognizer.cli",
            "train",
            "--data",
            str(mnist_path),
            "--limit",
            "20000",
            "--epochs",
            "5",
            "--output",
            str(folder),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    # Wait until the first epoch has been checkpointed, then interrupt mid-training.
    deadline = time.monotonic() + 240
    while not (folder / "digits.ckpt.json").exists() and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-2000:]
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr[-2000:]
    assert "interrupted" in stderr and "--resume" in stderr
    assert "Traceback" not in stderr
    for name, data in before.items():
        assert (folder / name).read_bytes() == data, f"{name} changed"
    assert (folder / "digits.ckpt.keras").exists(), "the best-so-far checkpoint was not kept"
    done = json.loads((folder / "digits.ckpt.json").read_text())["epoch"]
    assert 1 <= done < 8

    resumed = recognizer_cli(
        "train",
        "--data",
        str(mnist_path),
        "--limit",
        "3000",
        "--epochs",
        str(done + 1),
        "--output",
        str(folder),
        "--resume",
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    metadata = json.loads((folder / "digits.json").read_text())
    assert metadata["epochs"] == done + 1
    assert len(metadata["history"]["loss"]) == done + 1  # the earlier epochs' history carried on
    assert (folder / "digits.onnx").read_bytes() != before["digits.onnx"]
    assert not (folder / "digits.ckpt.keras").exists()


def write_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def good_arrays():
    x = np.zeros((20, 28, 28), np.uint8)
    y = np.arange(20, dtype=np.uint8) % 10
    return {"x_train": x, "y_train": y, "x_test": x[:10], "y_test": y[:10]}


def bad_data(tmp_path: Path, case: str) -> Path:
    arrays = good_arrays()
    if case == "missing":
        return tmp_path / "nope.npz"
    if case == "not npz":
        path = tmp_path / "text.npz"
        path.write_text("not a zip")
        return path
    if case == "wrong keys":
        arrays.pop("y_test")
    elif case == "wrong shape":
        arrays["x_train"] = np.zeros((20, 32, 32), np.uint8)
    elif case == "wrong dtype":
        arrays["x_train"] = arrays["x_train"].astype(np.float32)
    elif case == "labels out of range":
        arrays["y_train"] = arrays["y_train"] + 5
    elif case == "label count":
        arrays["y_test"] = arrays["y_test"][:5]
    return write_npz(tmp_path / "data.npz", **arrays)


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "data file not found"),
        ("not npz", "is not a readable .npz"),
        ("wrong keys", "lacks y_test"),
        ("wrong shape", "expected (N, 28, 28)"),
        ("wrong dtype", "expected uint8"),
        ("labels out of range", "expected 0-9"),
        ("label count", "one label per image"),
    ],
)
def test_bad_training_data_exits_2_with_one_line_and_writes_nothing(tmp_path, case, message):
    data = bad_data(tmp_path, case)
    output = tmp_path / "out"
    result = recognizer_cli("train", "--data", str(data), "--output", str(output), "--epochs", "1")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert message in lines[0]
    assert not output.exists() or not any(output.iterdir())


def test_unwritable_output_is_refused_before_training(tmp_path, mnist_path):
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    result = recognizer_cli("train", "--data", str(mnist_path), "--output", str(blocker / "sub"))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert "cannot write to output folder" in result.stderr


def test_data_path_comes_from_the_environment(tmp_path):
    data = bad_data(tmp_path, "wrong shape")
    result = recognizer_cli(
        "train", "--output", str(tmp_path / "o"), env={"RECOGNIZER_MNIST": str(data)}
    )
    assert result.returncode == 2
    assert "expected (N, 28, 28)" in result.stderr
