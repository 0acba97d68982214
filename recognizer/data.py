"""MNIST loading and validation.

The data comes from `--data PATH`, else the environment variable RECOGNIZER_MNIST, else
`keras.datasets.mnist.load_data()` (which downloads). Every check runs before any training starts,
and every failure is a one-line `DataError`.
"""

import hashlib
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.errors import DataError
from recognizer.preprocessing import MNIST_SIZE

DATA_ENV = "RECOGNIZER_MNIST"
KEYS = ("x_train", "y_train", "x_test", "y_test")


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray  # (N, 28, 28) uint8, white on black
    y_train: np.ndarray  # (N,) uint8, 0..9
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # path or "keras.datasets.mnist"
    sha256: str  # of the file, or "" when Keras loaded it


def resolve_data_path(path: Path | None) -> Path | None:
    """The data file to use: the flag, else $RECOGNIZER_MNIST, else None (download)."""
    if path is not None:
        return Path(path)
    env = os.environ.get(DATA_ENV)
    return Path(env) if env else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def check_split(name: str, x: np.ndarray, y: np.ndarray) -> None:
    if x.ndim != 3 or x.shape[1:] != (MNIST_SIZE, MNIST_SIZE):
        raise DataError(f"x_{name} has shape {x.shape}; expected (N, 28, 28)")
    if x.dtype != np.uint8:
        raise DataError(f"x_{name} has dtype {x.dtype}; expected uint8 pixels 0-255")
    if y.ndim != 1 or y.shape[0] != x.shape[0]:
        raise DataError(
            f"y_{name} has shape {y.shape}; expected ({x.shape[0]},), one label per image"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"y_{name} has dtype {y.dtype}; expected integer labels 0-9")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataError(f"y_{name} has labels from {y.min()} to {y.max()}; expected 0-9")
    if x.shape[0] == 0:
        raise DataError(f"x_{name} is empty")


def load_npz(path: Path) -> Mnist:
    if not path.exists():
        raise DataError(f"data file not found: {path}")
    if not path.is_file():
        raise DataError(f"data path is not a file: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in KEYS if k not in npz.files]
            if missing:
                raise DataError(
                    f"{path} lacks {', '.join(missing)}; "
                    f"expected Keras's MNIST keys {', '.join(KEYS)}"
                )
            arrays = {k: npz[k] for k in KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"{path} is not a readable .npz file ({exc.__class__.__name__})") from None
    for split in ("train", "test"):
        check_split(split, arrays[f"x_{split}"], arrays[f"y_{split}"])
    return Mnist(**arrays, source=str(path), sha256=file_sha256(path))


def load_mnist(path: Path | None = None) -> Mnist:
    """MNIST from the flag, the environment, or Keras's download, validated."""
    resolved = resolve_data_path(path)
    if resolved is not None:
        return load_npz(resolved)
    try:
        from recognizer.native import import_keras

        keras = import_keras()
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # any download failure: no network, proxy, disk
        raise DataError(
            f"could not download MNIST ({exc.__class__.__name__}); pass --data PATH to a local "
            f"mnist.npz or set {DATA_ENV}"
        ) from None
    for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        check_split(split, x, y)
    return Mnist(x_train, y_train, x_test, y_test, source="keras.datasets.mnist", sha256="")
