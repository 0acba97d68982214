"""The frame loop: capture -> detect -> crop, split and classify -> track -> group -> draw -> write.

`run()` reads top to bottom, one line per stage, and yields a `FrameResult` per frame with the
time each stage took, which `recognizer bench` reports as medians. Outputs are context managers
opened here, so leaving the loop for any reason (the end, an error, Ctrl-C, `stop` being set)
finalizes the video and leaves the JSONL complete up to the last frame processed.

Three threads share the work, each stage in order: the source decodes frames ahead (`Source`),
`detect` finds candidate boxes DETECT_AHEAD frames ahead on a helper thread (`Ahead`), and this
loop classifies (cutting and normalizing the crops too, for frames up to 640 px: see `detect`),
tracks, draws and writes. OpenCV and ONNX Runtime release the GIL, so on two cores the stages
overlap; OpenCV's own worker pool is turned off (`cv2.setNumThreads(1)`), as it would compete
with these threads for the same cores (measured: a quarter more CPU time per frame for the same
frame rate), and `native.keep_freed_memory` keeps the C allocator from unmapping and
page-faulting frame-sized buffers again at every call. In `FrameResult.times`, "capture" is the
time this loop waited for the next detected frame, and "detect" the time detection took on its
thread.
"""

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from recognizer import deskew, detection, splitting
from recognizer.ahead import Ahead
from recognizer.classifier import Classifier, is_digit
from recognizer.core import Detections, Frame
from recognizer.drawing import annotate
from recognizer.grouping import group_numbers
from recognizer.native import keep_freed_memory
from recognizer.sinks import JsonlSink, frame_record, open_output
from recognizer.sources import Source, open_source
from recognizer.tracking import Tracker

DEFAULT_MIN_CONFIDENCE = 0.6
FPS_SMOOTHING = 0.9
STAGES = ("capture", "detect", "classify", "track", "draw", "write")
DETECT_AHEAD = 2  # frames detected ahead of classification, on a helper thread
# A still on a dark ground is also read as light ink; that reading wins when the sum of its
# confidences is this many times the dark-ink reading's (a sheet on a dark desk stays dark ink).
INVERTED_MARGIN = 1.5


@dataclass(frozen=True)
class RunOptions:
    model: Path | None = None
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    output: Path | None = None
    jsonl: Path | None = None
    show_crops: bool = False
    draw: bool = False  # annotate even without --output (for a live window)
    track: bool = True
    threads: int = 1


@dataclass
class FrameResult:
    frame: Frame
    detections: Detections
    numbers: list
    annotated: np.ndarray | None
    times: dict = field(default_factory=dict)  # stage -> seconds
    fps: float = 0.0


class Stopwatch:
    """Times consecutive stages: `lap("classify")` records the time since the previous lap."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.start = self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.times[stage] = self.times.get(stage, 0.0) + now - self.last
        self.last = now


@dataclass
class Found:
    """What detection hands to classification: a frame, its grayscale and its candidates."""

    frame: Frame
    gray: np.ndarray
    boxes: np.ndarray  # (N, 4) xyxy, frame pixels
    candidates: Detections | None = None  # the boxes with their crops, if already cut
    seconds: float = 0.0
    inverted: "Found | None" = None  # a still on a dark ground, read as light ink too


def detect(frame: Frame, still: bool = False, lines=detection.ruling) -> Found:
    """The candidate boxes of one frame (on the detection thread).

    Which thread cuts and normalizes the crops balances the two: a frame no larger than the
    detection copy leaves them to the classification thread (detection is the slower stage
    there), a larger one gets them cut here (there its crops are large and many, and detection
    works on a small copy). Measured end to end, interleaved runs: at 640x480, 224-237 fps with
    the crops cut on the classification thread against 188-206 with them cut here (measured
    again after to_mnist got faster, on 900 frames: 283-304 against 223-257); at 1280x720,
    cutting them on the classification thread was no faster (103-119 fps against 106-121), nor
    was cutting half of them here (152-180 against 165-181).
    """
    start = time.perf_counter()
    gray = cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2GRAY)
    found = find(frame, gray, still, lines)
    # A still on a dark ground may be light ink on it (chalk, MNIST's own images): it is read
    # both ways and the reading with more evidence wins (`more_evidence`).
    if still and detection.dark_ground(gray):
        found.inverted = find(frame, cv2.bitwise_not(gray), still, lines)
    found.seconds = time.perf_counter() - start
    return found


def find(frame: Frame, gray: np.ndarray, still: bool, lines=detection.ruling) -> Found:
    boxes, gray = detection.find_boxes(gray, still, lines)  # gray: grid and margin lines erased
    large = max(gray.shape) > detection.DETECT_MAX_SIDE
    candidates = detection.candidates_at(gray, boxes) if large else None
    return Found(frame, gray, boxes, candidates)


def more_evidence(a: Detections, b: Detections) -> bool:
    """Whether readings `a` are better supported than `b` (INVERTED_MARGIN times the sum)."""
    return float(a.confidence.sum()) > INVERTED_MARGIN * float(b.confidence.sum())


def recognize(
    found: Found,
    classifier: Classifier,
    tracker: Tracker | None,
    min_confidence: float,
    clock: Stopwatch,
) -> tuple[Detections, list]:
    """One frame's digits and numbers, from its candidates; each stage timed on `clock`."""
    candidates = found.candidates
    if candidates is None:
        candidates = detection.candidates_at(found.gray, found.boxes)
    pieces, origin = splitting.split_hypotheses(found.gray, candidates)
    readings = classifier.classify(Detections.concatenate([candidates, pieces]))
    n = len(candidates)
    detections = splitting.resolve(readings[:n], readings[n:], origin, min_confidence)
    detections = deskew.straighten(found.gray, detections, classifier)
    detections = detections[is_digit(detections, min_confidence)]
    detections = detection.suppress_nested(detections)
    clock.lap("classify")
    if tracker is not None:
        detections = tracker.update(detections)
        detections = detections[is_digit(detections, 0.0)]  # a fused reading may be "not a digit"
    numbers = group_numbers(detections)
    clock.lap("track")
    return detections, numbers


def run(
    source: str | Source,
    options: RunOptions,
    stop: threading.Event | None = None,
    classifier: Classifier | None = None,
) -> Iterator[FrameResult]:
    """Process a source frame by frame; see the module docstring."""
    classifier = classifier or Classifier(options.model, threads=options.threads)
    stop = stop or threading.Event()
    cv2.setNumThreads(1)
    keep_freed_memory()
    with contextlib.ExitStack() as outputs:
        source = source if isinstance(source, Source) else open_source(source)
        outputs.enter_context(source)
        info = source.info
        video = options.output and outputs.enter_context(
            open_output(options.output, info.fps or 1.0, single_image=info.kind == "image")
        )
        log = options.jsonl and outputs.enter_context(JsonlSink(options.jsonl))
        # Stills (an image, a folder of scans) are unrelated pictures: nothing to track or fuse.
        still = info.kind in ("image", "folder")
        tracker = Tracker(fps=info.fps or 1.0) if options.track and not still else None
        draw = bool(video) or options.draw
        fps = 0.0
        clock = Stopwatch()
        # A video looks for a grid's lines less often while none are in view (`Ruling`).
        lines = detection.ruling if still else detection.Ruling()
        detected = map(functools.partial(detect, still=still, lines=lines), source)
        for found in outputs.enter_context(Ahead(detected, DETECT_AHEAD, "detect")):
            clock.lap("capture")
            clock.times["detect"] = found.seconds
            frame = found.frame
            detections, numbers = recognize(
                found, classifier, tracker, options.min_confidence, clock
            )
            if found.inverted is not None:
                light = recognize(found.inverted, classifier, None, options.min_confidence, clock)
                if more_evidence(light[0], detections):
                    detections, numbers = light
            annotated = None
            if draw:
                status = f"{fps:.0f} fps | {len(detections)} digits" if fps else None
                annotated = annotate(frame.bgr, detections, numbers, status, options.show_crops)
            clock.lap("draw")
            if log:
                log.write(frame_record(frame, info.name, detections, numbers))
            if video:
                video.write(annotated)
            clock.lap("write")
            total = time.perf_counter() - clock.start
            fps = 1 / total if not fps else FPS_SMOOTHING * fps + (1 - FPS_SMOOTHING) / total
            yield FrameResult(frame, detections, numbers, annotated, clock.times, fps)
            if stop.is_set():
                break
            clock = Stopwatch()
