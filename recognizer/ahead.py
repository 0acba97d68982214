"""Run an iterator on a helper thread, a few items ahead of the thread that consumes it.

Used twice, so that a 2-core machine keeps both cores busy: the source decodes frames ahead of
detection, and detection runs a frame ahead of classification. OpenCV and ONNX Runtime release
the GIL while they work, so the stages overlap. Order is kept; an exception raised in the helper
is raised in the consumer; `close()` (from any thread) stops the helper without blocking for good.

With `newest=True` (a live camera or stream) a helper that gets ahead does not wait for the
consumer: the oldest queued item is dropped instead, so a slow consumer always gets a recent frame
and never falls further and further behind the camera.
"""

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
POLL_S = 0.1  # how often a blocked put or get looks whether it has been closed
JOIN_S = 2.0


class Ahead(Generic[T]):
    """Iterate once: `for item in Ahead(items, depth)`; `close()` when done (or use `with`)."""

    def __init__(
        self, items: Iterable[T], depth: int, name: str = "recognizer-ahead", newest: bool = False
    ) -> None:
        self._items = items
        self._newest = newest
        self.dropped = 0
        self._buffer: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)

    def __enter__(self) -> "Ahead[T]":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            self._thread.join(timeout=JOIN_S)

    def _offer(self, item) -> bool:
        """Queue an item unless the consumer has gone; never blocks for good."""
        while not self._stop.is_set():
            try:
                self._buffer.put(item, block=not self._newest, timeout=POLL_S)
                return True
            except queue.Full:
                if self._newest:
                    self._drop_oldest()
        return False

    def _drop_oldest(self) -> None:
        try:
            self._buffer.get_nowait()
            self.dropped += 1
        except queue.Empty:
            pass

    def _produce(self) -> None:
        try:
            for item in self._items:
                if not self._offer((item, None)):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            self._offer((None, exc))
            return
        self._offer((self, None))  # the end

    def __iter__(self) -> Iterator[T]:
        self._thread.start()
        try:
            while not self._stop.is_set():
                try:
                    item, exc = self._buffer.get(timeout=POLL_S)
                except queue.Empty:
                    continue
                if exc is not None:
                    raise exc
                if item is self:
                    return
                yield item
        finally:
            self.close()
