"""Run detection on a helper process, a few frames ahead of the loop that classifies.

Why a process and not a thread: both stages are much Python glue around many short OpenCV,
NumPy and ONNX Runtime calls, and each call hands the GIL over. Two threads doing so pass it back
and forth thousands of times a frame. Measured here on the 640x480 sample, 2 cores: two whole
pipelines side by side ran at 175 fps in all as two threads of one process (8.6 ms of CPU a
frame) and at 314 fps as two processes (6.3 ms); alone, one ran at 175 fps (5.8 ms).

How:

- The process is forked when the loop starts, so it starts in milliseconds with everything
  already imported and set up (`fork` is Linux's; elsewhere, and for live sources, detection
  runs on a thread instead: see `pipeline.run`).
- Each frame in flight has a slot of shared memory (an anonymous shared mapping, which the fork
  hands down): the loop copies the frame's pixels into it and sends a short message on a pipe
  with the frame's other fields and the decisions detection follows (`follow`: attributes of
  objects both sides hold, such as a video's polarity, set from the loop's copies each frame).
- The process sends back what `work` returned, pickled (protocol 5) with its arrays out of
  band: those go through the slot and are copied out on arrival. The frame itself does not go
  back, the loop still has it (it is pickled by reference, `persistent_id`).
- An exception in `work` is raised in the loop, with the helper's traceback as its cause.
- The helper ignores Ctrl-C (the loop decides when to stop) and ends when the loop closes it,
  or when the loop's end of the pipe is gone.
"""

import contextlib
import dataclasses
import io
import mmap
import multiprocessing
import os
import pickle
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Generic, TypeVar

import numpy as np

from recognizer.core import Frame

T = TypeVar("T")
DEPTH = 3  # frames in flight: the helper works on up to DEPTH - 1 while the loop reads one
SPARE_BYTES = 1 << 20  # room in each slot's way back beyond two grayscale frames (crops, boxes)
JOIN_S = 2.0
# A frame's detection takes milliseconds (a 4K still's, a second or so); a helper silent this
# long is stuck (a lock some other thread of the loop's process held at the fork, say).
ANSWER_S = 60.0


def available() -> bool:
    """Whether a helper process can be forked here (Linux)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


class RemoteTraceback(Exception):
    """The helper's traceback, as the cause of an exception raised there."""

    def __str__(self) -> str:
        return self.args[0]


class _Pickler(pickle.Pickler):
    def __init__(self, file, frame: Frame, buffer_callback) -> None:
        super().__init__(file, protocol=5, buffer_callback=buffer_callback)
        self._frame = frame

    def persistent_id(self, obj):
        return "frame" if obj is self._frame else None


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, frame: Frame, buffers: list) -> None:
        super().__init__(file, buffers=buffers)
        self._frame = frame

    def persistent_load(self, pid):
        return self._frame


@dataclasses.dataclass(frozen=True)
class _Slots:
    """Where frame `n` in flight lies in the shared memory: its pixels, then its way back."""

    memory: mmap.mmap
    frame_bytes: int
    back_bytes: int
    depth: int

    @classmethod
    def create(cls, frame_bytes: int, depth: int) -> "_Slots":
        back_bytes = 2 * (frame_bytes // 3) + SPARE_BYTES
        memory = mmap.mmap(-1, depth * (frame_bytes + back_bytes))  # shared, anonymous
        return cls(memory, frame_bytes, back_bytes, depth)

    def start(self, n: int) -> int:
        return (n % self.depth) * (self.frame_bytes + self.back_bytes)

    def pixels(self, n: int, shape: tuple) -> np.ndarray:
        return np.ndarray(shape, np.uint8, buffer=self.memory, offset=self.start(n))


def _serve(
    conn, loops_end, slots: _Slots, work: Callable, follow: Sequence[tuple[object, str]]
) -> None:
    """The helper's loop: a frame in, what `work` makes of it back, until told to stop or the
    loop's end of the pipe is gone (closed here too, or the helper would hold it open itself).
    It ends with `os._exit`, as it must not run the clean-up it shares with the loop's process
    (flushing standard streams whose locks another thread may have held at the fork)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    loops_end.close()
    try:
        n = 0
        while True:
            message = conn.recv()
            if message is None:
                return
            frame, shape, decisions = message
            for (owner, name), value in zip(follow, decisions, strict=True):
                setattr(owner, name, value)
            if frame.bgr is None:  # sent through the slot
                frame = dataclasses.replace(frame, bgr=slots.pixels(n, shape))
            try:
                conn.send(("ok", *_pack(work(frame), frame, slots, n)))
            except Exception as exc:
                conn.send(("error", _picklable(exc), traceback.format_exc()))
            n += 1
    except (EOFError, OSError):  # the loop has gone
        return
    finally:
        os._exit(0)


def _pack(result, frame: Frame, slots: _Slots, n: int) -> tuple[bytes, list]:
    """`result` pickled, its large arrays written into slot `n`'s way back where they fit."""
    view = memoryview(slots.memory)
    offset = start = slots.start(n) + slots.frame_bytes
    end = start + slots.back_bytes
    spans: list[tuple[int, int]] = []

    def out_of_band(buffer: pickle.PickleBuffer) -> bool:
        nonlocal offset
        raw = buffer.raw()
        if offset + raw.nbytes > end:
            return True  # pickled in band
        view[offset : offset + raw.nbytes] = raw
        spans.append((offset, raw.nbytes))
        offset += raw.nbytes
        return False

    data = io.BytesIO()
    _Pickler(data, frame, out_of_band).dump(result)
    view.release()
    return data.getvalue(), spans


def _picklable(exc: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(exc))
        return exc
    except Exception:
        return RuntimeError(f"{exc.__class__.__name__}: {exc}")


class Offloaded(Generic[T]):
    """`for result in Offloaded(frames, work, frame_bytes)`: `work(frame)` for each frame, in
    order, on a forked helper process; `close()` when done (or use `with`)."""

    def __init__(
        self,
        frames: Iterable[Frame],
        work: Callable[[Frame], T],
        frame_bytes: int,
        follow: Sequence[tuple[object, str]] = (),
        depth: int = DEPTH,
        name: str = "recognizer-detect",
        answer_s: float = ANSWER_S,
    ) -> None:
        self._frames = frames
        self._answer_s = answer_s
        self._follow = tuple(follow)
        self._slots = _Slots.create(frame_bytes, depth)
        self._conn, child = multiprocessing.Pipe()
        for stream in (sys.stdout, sys.stderr):  # or the helper would write their buffers again
            if stream is not None:
                stream.flush()
        context = multiprocessing.get_context("fork")
        self._process = context.Process(
            target=_serve,
            args=(child, self._conn, self._slots, work, self._follow),
            name=name,
            daemon=True,
        )
        try:
            self._process.start()
        except OSError:  # no process to be had (a limit on processes, or on memory)
            self._conn.close()
            self._slots.memory.close()
            raise
        finally:
            child.close()
        self._sent = 0

    def __enter__(self) -> "Offloaded[T]":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the helper (it finishes the frame it is on) and free the shared memory."""
        if self._process is None:
            return
        with contextlib.suppress(OSError):  # it may have gone already
            self._conn.send(None)
        self._process.join(JOIN_S)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._process.close()
        self._process = None
        self._conn.close()
        self._slots.memory.close()

    def _gone(self) -> RuntimeError:
        self._process.join(JOIN_S)
        return RuntimeError(f"the detection process stopped (exit code {self._process.exitcode})")

    def _send(self, frame: Frame) -> None:
        decisions = tuple(getattr(owner, name) for owner, name in self._follow)
        bgr = frame.bgr
        if bgr.dtype == np.uint8 and bgr.nbytes <= self._slots.frame_bytes:
            np.copyto(self._slots.pixels(self._sent, bgr.shape), bgr)
            message = (dataclasses.replace(frame, bgr=None), bgr.shape, decisions)
        else:  # a frame larger than the source said: sent whole
            message = (frame, bgr.shape, decisions)
        try:
            self._conn.send(message)
        except OSError:  # a broken pipe: the helper has gone
            raise self._gone() from None
        self._sent += 1

    def _receive(self, frame: Frame) -> T:
        try:
            if not self._conn.poll(self._answer_s):
                self._process.kill()
                raise RuntimeError(f"the detection process did not answer in {self._answer_s} s")
            status, *answer = self._conn.recv()
        except (EOFError, OSError):
            raise self._gone() from None
        if status == "error":
            exc, remote = answer
            raise exc from RemoteTraceback(remote)
        data, spans = answer
        with memoryview(self._slots.memory) as view:
            buffers = [bytearray(view[offset : offset + size]) for offset, size in spans]
        return _Unpickler(io.BytesIO(data), frame, buffers).load()

    def __iter__(self) -> Iterator[T]:
        """Results in order; the next frame is sent before a result is handed on, so that the
        helper always has frames to work on."""
        pending: deque[Frame] = deque()
        for frame in self._frames:
            full = len(pending) == self._slots.depth
            result = self._receive(pending.popleft()) if full else None
            self._send(frame)
            pending.append(frame)
            if full:
                yield result
        while pending:
            yield self._receive(pending.popleft())
