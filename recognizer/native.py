"""Native libraries: their stderr chatter, and the C allocator they share.

OpenCV, FFmpeg and TensorFlow print to the process's stderr directly. Users get our one-line
errors; the backends' own chatter (camera probing, TensorFlow start-up notices) is hidden only
around the calls that produce it.

`keep_freed_memory` stops glibc from returning frame-sized buffers to the system after each use.
"""

import contextlib
import ctypes
import ctypes.util
import os
import sys
from collections.abc import Iterator

# OpenCV's FFmpeg backend sets FFmpeg's log level from this variable when it first starts
# (default: errors, such as "[mpeg4 @ 0x...] header damaged" for each damaged frame, printed
# through the progress bar). AV_LOG_QUIET; a user may set another level to debug.
FFMPEG_LOG_LEVEL = ("OPENCV_FFMPEG_LOGLEVEL", "-8")
# glibc's mallopt() parameters, and the values keep_freed_memory sets.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 64 << 20  # a 4K BGR frame is 25 MB
TRIM_THRESHOLD_BYTES = 256 << 20


def keep_freed_memory() -> bool:
    """Serve large temporaries from the heap and keep freed memory for reuse (glibc only).

    By default glibc gives blocks of 128 KiB or more their own mmap and unmaps them when freed,
    so the frame-sized temporaries that OpenCV and numpy make for every frame are page-faulted in
    afresh each time. Measured here on the 640x480 sample, one thread: the ink mask 1.64 -> 0.81
    ms a frame, all of detection 3.81 -> 2.99 ms. Keeps at most TRIM_THRESHOLD_BYTES of freed
    memory. Returns whether it applied (not on macOS, Windows or a libc without mallopt).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    return bool(
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
        and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)
    )


def quiet_ffmpeg() -> None:
    """Keep FFmpeg from printing its decoding errors (damaged frames are counted instead): to
    be called before OpenCV first opens a video."""
    os.environ.setdefault(*FFMPEG_LOG_LEVEL)


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
