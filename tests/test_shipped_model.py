"""The shipped model: its ONNX export agrees with the Keras model, and its recorded scores hold."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from recognizer.classifier import Classifier, read
from recognizer.modelfiles import ModelFiles
from tests.conftest import ROOT


def test_onnx_export_matches_keras_on_the_whole_test_set(shipped_model, mnist):
    from recognizer.native import import_keras

    keras = import_keras()

    files = ModelFiles(shipped_model.parent)
    model = keras.models.load_model(files.keras)
    images = mnist["x_test"]
    keras_probabilities = model.predict(images[..., None], batch_size=1000, verbose=0)
    onnx_probabilities = np.concatenate(
        [Classifier(files.onnx).probabilities(images[i : i + 1000]) for i in range(0, 10000, 1000)]
    )
    assert onnx_probabilities.shape == (10000, 11)
    assert np.array_equal(keras_probabilities.argmax(1), onnx_probabilities.argmax(1))
    assert np.abs(keras_probabilities - onnx_probabilities).max() < 1e-4


def test_shipped_model_meets_its_accuracy_targets(shipped_model, mnist):
    metadata = json.loads(shipped_model.with_suffix(".json").read_text())
    probabilities = Classifier(shipped_model).probabilities(mnist["x_test"])
    accuracy = float(np.mean(probabilities.argmax(1) == mnist["y_test"]))
    assert accuracy == metadata["test_accuracy"] or abs(accuracy - metadata["test_accuracy"]) < 2e-4
    # Issue 2's 99.6%, as `recognizer run` reads digits ("not a digit" only at p >= 0.7) ...
    assert float(np.mean(read(probabilities)[0] == mnist["y_test"])) >= 0.996
    # ... and by plain argmax over all 11 classes, where a digit called "not a digit" by the
    # slightest margin is wrong (the shipped model: 99.54%; the one before it: 99.61%).
    assert accuracy >= 0.995
    assert metadata["perturbed_accuracy"] >= 0.97


def test_a_wheel_installs_the_shipped_model_with_the_package(tmp_path):
    # `pip install .` (not -e) puts only the package in site-packages: the shipped model must
    # travel inside it, or `recognizer run` has no default model. Built from a copy of the
    # project's files, so the checkout gets no build/ or egg-info.
    project = tmp_path / "project"
    project.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, project / name)
    shutil.copytree(ROOT / "recognizer", project / "recognizer", ignore=ignore_caches)
    shutil.copytree(ROOT / "models", project / "models")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    build = ["wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), "."]
    subprocess.run([*pip, *build], cwd=project, check=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("recognizer-*.whl")
    site = tmp_path / "site"
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True)
    shutil.rmtree(project)  # nothing of the checkout's copy is left to fall back on

    image = ROOT / "samples" / "still-1280x720.png"
    code = "import recognizer.cli, recognizer.modelfiles as m; print(m.DEFAULT_MODEL)"
    env = {**os.environ, "PYTHONPATH": str(site)}  # before the editable install's finder
    where = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=tmp_path,
        text=True,
        capture_output=True,
        check=True,
    ).stdout.strip()
    assert Path(where) == site / "recognizer" / "models" / "digits.onnx", where
    result = subprocess.run(
        [sys.executable, "-m", "recognizer.cli", "run", str(image), "--jsonl", "-"],
        env={**env, "DISPLAY": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    read = sorted(d["digit"] for d in json.loads(result.stdout)["digits"])
    truth = json.loads(image.with_suffix(".truth.jsonl").read_text().splitlines()[0])
    assert read == sorted(d["digit"] for d in truth["digits"])


def ignore_caches(folder: str, names: list[str]) -> list[str]:
    return [name for name in names if name == "__pycache__"]
