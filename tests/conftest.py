"""Shared fixtures: the MNIST file (never downloaded in tests), real generated videos, the CLI."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recognizer.data import DATA_ENV
from recognizer.modelfiles import DEFAULT_MODEL
from recognizer.samples import SceneSpec, write_sample

ROOT = Path(__file__).resolve().parent.parent
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"


@pytest.fixture(scope="session")
def mnist_path() -> Path:
    path = Path(os.environ.get(DATA_ENV, SHARED_MNIST))
    if not path.is_file():
        pytest.fail(f"MNIST not found at {path}; set {DATA_ENV} (tests never download it)")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_path):
    with np.load(mnist_path) as npz:
        return {k: npz[k] for k in npz.files}


@pytest.fixture(scope="session")
def shipped_model() -> Path:
    assert DEFAULT_MODEL.is_file(), f"the shipped model is missing: {DEFAULT_MODEL}"
    return DEFAULT_MODEL


@pytest.fixture(scope="session")
def scene_video(tmp_path_factory, mnist) -> tuple[Path, Path]:
    """A real 30-frame 640x480 mp4 of 8 MNIST test digits on paper, and its ground truth."""
    folder = tmp_path_factory.mktemp("scene")
    spec = SceneSpec((640, 480), frames=30, digits=8, seed=11)
    path = folder / "scene.mp4"
    truth = write_sample(spec, mnist["x_test"], mnist["y_test"], path)
    return path, truth


@pytest.fixture(scope="session")
def long_video(tmp_path_factory, mnist) -> Path:
    """A 400-frame video, long enough to interrupt in the middle."""
    folder = tmp_path_factory.mktemp("long")
    spec = SceneSpec((640, 480), frames=400, digits=6, seed=12)
    path = folder / "long.mp4"
    write_sample(spec, mnist["x_test"], mnist["y_test"], path)
    return path


def recognizer_cli(*args: str, env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    """The installed CLI in a real subprocess."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "recognizer.cli", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=kwargs.pop("cwd", ROOT),
        timeout=kwargs.pop("timeout", 300),
        **kwargs,
    )


def count_frames(path: Path) -> tuple[int, tuple[int, int]]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    frames = 0
    while capture.read()[0]:
        frames += 1
    capture.release()
    return frames, size
