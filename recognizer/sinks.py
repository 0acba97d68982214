"""Where results go: an annotated video, annotated images, and a JSONL log.

Every sink is a context manager; leaving the `with` block (normally, on an error or on Ctrl-C)
finalizes the file, so an interrupted run leaves a playable video and a log complete up to the
last processed frame. `JsonlSink` writes and flushes one line per frame.
"""

import json
import sys
from pathlib import Path

import cv2
import numpy as np

from recognizer.core import Detections, Frame
from recognizer.errors import OutputError

VIDEO_CODECS = {".mp4": "mp4v", ".m4v": "mp4v", ".avi": "MJPG", ".mkv": "MJPG", ".mov": "mp4v"}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
STDOUT = "-"  # the JSONL path that means standard output


def frame_record(frame: Frame, source: str, detections: Detections, numbers=None):
    """The JSONL schema: box is [x, y, w, h] of the top-left corner, in input-frame pixels.
    A folder's frames also name their image file ("file")."""
    digits = []
    for (x, y, w, h), digit, conf, track in zip(
        detections.xywh, detections.digit, detections.confidence, detections.track_id, strict=True
    ):
        item = {
            "box": [round(float(x)), round(float(y)), round(float(w)), round(float(h))],
            "digit": int(digit),
            "confidence": round(float(conf), 4),
        }
        if track >= 0:
            item["track"] = int(track)
        digits.append(item)
    record = {"frame": frame.index, "time": round(frame.time_s, 4), "source": source}
    if frame.file is not None:
        record["file"] = frame.file
    record["digits"] = digits
    if numbers is not None:
        record["numbers"] = numbers
    return record


def check_writable(path: Path) -> None:
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: folder {parent} does not exist")


class JsonlSink:
    """One JSON line a frame, to a file, or to standard output for the path "-"."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.stdout = str(path) == STDOUT
        if not self.stdout:
            check_writable(self.path)
        self.file = None
        self.lines = 0

    def __enter__(self) -> "JsonlSink":
        if self.stdout:
            self.file = sys.stdout
            return self
        try:
            self.file = open(self.path, "w", encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"cannot write {self.path} ({exc.strerror})") from None
        return self

    def write(self, record: dict) -> None:
        self.file.write(json.dumps(record) + "\n")
        self.file.flush()
        self.lines += 1

    def __exit__(self, *exc) -> None:
        if self.file is not None and not self.stdout:
            self.file.close()


class VideoSink:
    """An annotated video; the writer opens at the first frame's size (fps from the source).

    A file source's frames are written one for one. A live source's (`timed`) are written at
    their times: a frame is repeated while the next is late (the pipeline fell behind the
    camera and dropped frames, or the stream stalled) and left out when it comes sooner than
    the video's rate, so the video plays at the speed it was filmed. Written one for one, a
    camera read at 15 fps of its 30 would play twice as fast.
    """

    def __init__(self, path: Path, fps: float, timed: bool = False) -> None:
        self.path = Path(path)
        suffix = self.path.suffix.lower()
        if suffix not in VIDEO_CODECS:
            raise OutputError(
                f"cannot write video {path}: use one of {', '.join(sorted(VIDEO_CODECS))}"
            )
        check_writable(self.path)
        self.fourcc = cv2.VideoWriter_fourcc(*VIDEO_CODECS[suffix])
        self.fps = fps
        self.timed = timed
        self.writer = None
        self.frames = 0

    def __enter__(self) -> "VideoSink":
        return self

    def write(self, bgr: np.ndarray, frame: Frame) -> None:
        """Write the annotated `bgr` of `frame` (its time places it, for a timed video)."""
        if self.writer is None:
            h, w = bgr.shape[:2]
            self.writer = cv2.VideoWriter(str(self.path), self.fourcc, self.fps, (w, h))
            if not self.writer.isOpened():
                raise OutputError(f"cannot write video {self.path}: the encoder did not open")
        copies = 1
        if self.timed:  # the frame shows from its time until the next one's, in whole frames
            copies = round(frame.time_s * self.fps) + 1 - self.frames
            copies = max(copies, 0 if self.frames else 1)
        for _ in range(copies):
            self.writer.write(bgr)
            self.frames += 1

    def __exit__(self, *exc) -> None:
        if self.writer is not None:
            self.writer.release()


class ImageSink:
    """Annotated images: one file for an image source, or a folder with one PNG per frame,
    named after the frame's image file for a folder of images (scan-3.jpg: scan-3.png; a name
    already written gets its frame number too), else frame-NNNNNN.png by its number."""

    def __init__(self, path: Path, single: bool) -> None:
        self.path = Path(path)
        self.single = single
        if single and self.path.suffix.lower() not in IMAGE_SUFFIXES:
            raise OutputError(f"cannot write image {path}: use .png or .jpg")
        if not single:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"cannot create folder {path} ({exc.strerror})") from None
        else:
            check_writable(self.path)
        self.frames = 0
        self.names: set[str] = set()

    def __enter__(self) -> "ImageSink":
        return self

    def name(self, frame: Frame) -> str:
        stem = Path(frame.file).stem if frame.file else f"frame-{frame.index:06d}"
        if stem in self.names:
            stem = f"{stem}-{frame.index:06d}"
        self.names.add(stem)
        return f"{stem}.png"

    def write(self, bgr: np.ndarray, frame: Frame) -> None:
        """Write the annotated `bgr` of `frame`."""
        target = self.path if self.single else self.path / self.name(frame)
        if not cv2.imwrite(str(target), bgr):
            raise OutputError(f"cannot write image {target}")
        self.frames += 1

    def __exit__(self, *exc) -> None:
        pass


def open_output(path: Path, fps: float, single_image: bool, live: bool = False):
    """A video sink for video suffixes (timed by the frames' times for a `live` source), else
    an image (or folder of images) sink."""
    if Path(path).suffix.lower() in VIDEO_CODECS:
        return VideoSink(path, fps, timed=live)
    return ImageSink(path, single=single_image)
