"""The frame loop: capture -> detect (and split) -> classify -> track -> group -> draw -> write.

`run()` reads top to bottom, one line per stage, and yields a `FrameResult` per frame with the
time each stage took, which `recognizer bench` reports as medians. Outputs are context managers
opened here, so leaving the loop for any reason (the end, an error, Ctrl-C, `stop` being set)
finalizes the video and leaves the JSONL complete up to the last frame processed.
"""

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from recognizer import deskew, detection, splitting
from recognizer.classifier import Classifier, is_digit
from recognizer.core import Detections, Frame
from recognizer.drawing import annotate
from recognizer.grouping import group_numbers
from recognizer.sinks import JsonlSink, frame_record, open_output
from recognizer.sources import Source, open_source
from recognizer.tracking import Tracker

DEFAULT_MIN_CONFIDENCE = 0.6
FPS_SMOOTHING = 0.9
STAGES = ("capture", "detect", "classify", "track", "draw", "write")


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
    """Times consecutive stages: `lap("detect")` records the time since the previous lap."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.times[stage] = self.times.get(stage, 0.0) + now - self.last
        self.last = now


def process(
    frame: Frame,
    classifier: Classifier,
    tracker: Tracker | None,
    min_confidence: float,
    clock: Stopwatch,
) -> tuple[Detections, list]:
    """One frame's detections and numbers; each stage timed on `clock`."""
    gray = cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2GRAY)
    candidates = detection.find_candidates(gray)
    pieces, origin = splitting.split_hypotheses(gray, candidates)
    clock.lap("detect")
    readings = classifier.classify(Detections.concatenate([candidates, pieces]))
    n = len(candidates)
    detections = splitting.resolve(readings[:n], readings[n:], origin)
    detections = deskew.straighten(gray, detections, classifier)
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
    with contextlib.ExitStack() as outputs:
        source = source if isinstance(source, Source) else open_source(source)
        outputs.enter_context(source)
        info = source.info
        video = options.output and outputs.enter_context(
            open_output(options.output, info.fps or 1.0, single_image=info.kind == "image")
        )
        log = options.jsonl and outputs.enter_context(JsonlSink(options.jsonl))
        tracker = Tracker(fps=info.fps or 1.0) if options.track else None
        draw = bool(video) or options.draw
        fps = 0.0
        clock = Stopwatch()
        for frame in source:
            clock.lap("capture")
            detections, numbers = process(frame, classifier, tracker, options.min_confidence, clock)
            annotated = None
            if draw:
                status = f"{fps:.0f} fps | {len(detections)} digits" if fps else None
                annotated = annotate(frame.bgr, detections, numbers, status, options.show_crops)
            clock.lap("draw")
            if log:
                log.write(frame_record(frame.index, frame.time_s, info.name, detections, numbers))
            if video:
                video.write(annotated)
            clock.lap("write")
            total = sum(clock.times.values())
            fps = 1 / total if not fps else FPS_SMOOTHING * fps + (1 - FPS_SMOOTHING) / total
            yield FrameResult(frame, detections, numbers, annotated, clock.times, fps)
            if stop.is_set():
                break
            clock = Stopwatch()
