"""The live window: show annotated frames and turn key presses into actions.

Keys: q or Esc quit, space pauses and resumes, s saves a snapshot (annotated PNG and its JSON).
Closing the window quits too, and so does `stop` being set (Ctrl-C in the terminal): a paused
video or an image held on screen waits for keys in short slices, never in one blocking call.
Only used when a display exists; files never need one.

A video file or a folder of images is shown at its own speed (`Pace`): a video as it was filmed,
a folder one image a second; processing without a window (`--no-display`) runs as fast as it
can. A camera or stream is shown as it comes.
"""

import os
import sys
import threading
import time

import cv2
import numpy as np

WINDOW_TITLE = "recognizer (q quit, space pause, s snapshot)"
QUIT_KEYS = {ord("q"), ord("Q"), 27}
PAUSE_KEY = ord(" ")
SNAPSHOT_KEYS = {ord("s"), ord("S")}
MAX_WINDOW_WH = (1280, 720)
WAIT_SLICE_MS = 50  # how often a wait for a key looks at `stop`


def has_display() -> bool:
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


class Window:
    """A resizable OpenCV window; `show` returns "quit", "snapshot" or None (go on, or `stop`)."""

    def __init__(self, title: str = WINDOW_TITLE, stop: threading.Event | None = None) -> None:
        self.title = title
        self.stop = stop or threading.Event()
        self.paused = False
        self.sized = False
        cv2.namedWindow(self.title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)

    def closed(self) -> bool:
        try:
            return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1
        except cv2.error:
            return True

    def show(self, image: np.ndarray, wait_ms: int = 1) -> str | None:
        """Show a frame for `wait_ms` (at least, while paused); wait_ms=0 holds it (an image)
        until a quit or snapshot key."""
        if not self.sized:  # a resizable window opens small: start at the frame's size
            h, w = image.shape[:2]
            fit = min(1.0, MAX_WINDOW_WH[0] / w, MAX_WINDOW_WH[1] / h)
            cv2.resizeWindow(self.title, int(w * fit), int(h * fit))
            self.sized = True
        cv2.imshow(self.title, image)
        deadline = time.monotonic() + wait_ms / 1000
        while True:
            waiting = self.paused or wait_ms == 0  # for a key, however long it takes
            left_ms = round(1000 * (deadline - time.monotonic()))
            key = cv2.waitKey(WAIT_SLICE_MS if waiting else min(max(left_ms, 1), WAIT_SLICE_MS))
            key &= 0xFF
            if self.stop.is_set():
                return None  # Ctrl-C: the caller stops after this frame
            if self.closed() or key in QUIT_KEYS:
                return "quit"
            if key in SNAPSHOT_KEYS:
                return "snapshot"
            if key == PAUSE_KEY:
                self.paused = not self.paused
            if self.paused or wait_ms == 0 or time.monotonic() < deadline:
                continue
            return None

    def close(self) -> None:
        cv2.destroyWindow(self.title)
        cv2.waitKey(1)


class Pace:
    """How long to show each frame of a file so that it plays at its own speed.

    Each frame is held for its time's distance from the frame before, less the time it took to
    process; time lost to slow processing or a pause is not made up, so the window never races
    to catch up.
    """

    def __init__(self) -> None:
        self.last: tuple[float, float] | None = None  # (source time, when shown until)

    def wait_ms(self, time_s: float) -> int:
        now = time.monotonic()
        wait = 0.0
        if self.last is not None:
            wait = max(0.0, (time_s - self.last[0]) - (now - self.last[1]))
        self.last = (time_s, now + wait)
        return max(1, round(1000 * wait))
