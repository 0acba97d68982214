"""Quiet native libraries: OpenCV, FFmpeg and TensorFlow print to the process's stderr directly.

Users get our one-line errors; the backends' own chatter (camera probing, TensorFlow start-up
notices) is hidden only around the calls that produce it.
"""

import contextlib
import os
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null for the duration; Python exceptions still propagate."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def import_keras():
    """Keras on TensorFlow, imported without TensorFlow's start-up notices on stderr."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    with native_stderr_silenced():
        import keras
    return keras
