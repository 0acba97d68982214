"""Measure the pipeline on a source: per-stage medians, end-to-end fps, accuracy vs ground truth.

Two passes over the source:
1. the full job (draw and encode a video, write JSONL) for per-stage median times. Stages
   overlap: decoding and detection run on their own thread and process beside the rest, so
   "detect" is its time there while the others share the cores, and "capture" is how long the
   main loop waited for a detected frame; the stage times add up to more than a frame's share;
2. headless with JSONL output only, for throughput: fps counts the frames after the first over
   the time from the first result to the last, and the time to the first result (opening the
   source and filling the pipeline, process start-up excluded) is reported on its own, so a
   short clip's start-up does not read as a lower frame rate.
Accuracy compares pass 2's readings with a ground-truth JSONL (`samples.read_truth` format): a
reading is correct when its box overlaps a true box with IoU >= IOU_MATCH and the digit agrees.
Flicker is the share of consecutive frames in which a track's reported digit changes.
"""

import statistics
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from recognizer.classifier import Classifier
from recognizer.core import box_iou, greedy_match
from recognizer.pipeline import STAGES, RunOptions, run
from recognizer.samples import read_truth

IOU_MATCH = 0.4


@dataclass
class Accuracy:
    frames: int = 0
    readings: int = 0
    truths: int = 0
    correct: int = 0
    found: int = 0  # readings that overlap a true digit, whatever their label
    true_numbers: int = 0
    correct_numbers: int = 0  # multi-digit numbers read whole and right

    @property
    def precision(self) -> float:
        return self.correct / self.readings if self.readings else 1.0

    @property
    def recall(self) -> float:
        return self.correct / self.truths if self.truths else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def number_accuracy(self) -> float | None:
        return self.correct_numbers / self.true_numbers if self.true_numbers else None

    @property
    def false_per_frame(self) -> float:
        return (self.readings - self.found) / self.frames if self.frames else 0.0


@dataclass
class BenchReport:
    source: str
    frames: int
    resolution_wh: tuple[int, int]
    stage_ms: dict  # stage -> median milliseconds
    fps: float  # end to end, headless with JSONL, after the first frame
    first_frame_ms: float  # from opening the source to the first result
    accuracy: Accuracy | None
    flicker: float | None
    digits_per_frame: float


def xywh_to_xyxy(items: list[dict]) -> np.ndarray:
    xywh = np.array([item["box"] for item in items], np.float32).reshape(-1, 4)
    return np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]])


def score_numbers(accuracy: Accuracy, numbers: list[dict], truth: dict) -> None:
    true_numbers = truth.get("numbers", [])
    accuracy.true_numbers += len(true_numbers)
    if not numbers or not true_numbers:
        return
    iou = box_iou(xywh_to_xyxy(numbers), xywh_to_xyxy(true_numbers))
    pairs = greedy_match(iou, IOU_MATCH - 1e-6)
    accuracy.correct_numbers += sum(
        int(numbers[r]["value"] == true_numbers[t]["value"]) for r, t in pairs
    )


def score_frame(accuracy: Accuracy, xyxy: np.ndarray, digits: np.ndarray, truth: dict) -> None:
    true_xyxy = xywh_to_xyxy(truth["digits"])
    true_digits = [d["digit"] for d in truth["digits"]]
    accuracy.frames += 1
    accuracy.readings += len(xyxy)
    accuracy.truths += len(true_xyxy)
    if not len(xyxy) or not len(true_xyxy):
        return
    pairs = greedy_match(box_iou(xyxy, true_xyxy), IOU_MATCH - 1e-6)
    accuracy.found += len(pairs)
    accuracy.correct += sum(int(digits[r] == true_digits[t]) for r, t in pairs)


def flicker_rate(labels_by_track: dict[int, list[int]]) -> float | None:
    changes = sum(
        sum(a != b for a, b in zip(v, v[1:], strict=False)) for v in labels_by_track.values()
    )
    steps = sum(max(0, len(v) - 1) for v in labels_by_track.values())
    return changes / steps if steps else None


def throughput(frames: int, started: float, first: float, last: float) -> float:
    """Frames per second after the first result; a single frame counts from the start."""
    if frames > 1 and last > first:
        return (frames - 1) / (last - first)
    return frames / (last - started) if last > started else 0.0


def bench(source: str, options: RunOptions, truth_path: Path | None = None) -> BenchReport:
    truth = read_truth(truth_path) if truth_path else None  # checked before the long runs
    classifier = Classifier(options.model, threads=options.threads)
    with tempfile.TemporaryDirectory(prefix="recognizer-bench-") as tmp:
        full = replace(options, output=Path(tmp) / "bench.mp4", jsonl=Path(tmp) / "bench.jsonl")
        times: dict[str, list[float]] = {stage: [] for stage in STAGES}
        resolution = (0, 0)
        for result in run(source, full, classifier=classifier):
            resolution = result.frame.bgr.shape[1::-1]
            for stage in STAGES:
                times[stage].append(result.times.get(stage, 0.0))

        headless = replace(
            options, output=None, jsonl=Path(tmp) / "headless.jsonl", show_crops=False, draw=False
        )
        # The timed loop only keeps the readings; scoring them afterwards keeps the bench's own
        # work out of the measured frame rate.
        kept = []
        results = run(source, headless, classifier=classifier)
        started = time.perf_counter()
        first = last = started
        for result in results:
            last = time.perf_counter()
            first = first if kept else last
            det = result.detections
            kept.append((result.frame.index, det.xyxy, det.digit, det.track_id, result.numbers))

    accuracy = Accuracy() if truth else None
    labels: dict[int, list[int]] = {}
    for index, xyxy, digit, track_id, numbers in kept:
        if accuracy is not None and index < len(truth):
            score_frame(accuracy, xyxy, digit, truth[index])
            score_numbers(accuracy, numbers, truth[index])
        for track, label in zip(track_id, digit, strict=True):
            if track >= 0:  # untracked readings (stills) have no history to flicker
                labels.setdefault(int(track), []).append(int(label))
    frames = len(kept)
    digits = sum(len(digit) for _, _, digit, _, _ in kept)
    return BenchReport(
        source=str(source),
        frames=frames,
        resolution_wh=tuple(resolution),
        stage_ms={s: 1000 * statistics.median(v) for s, v in times.items() if v},
        fps=throughput(frames, started, first, last),
        first_frame_ms=1000 * (first - started),
        accuracy=accuracy,
        flicker=flicker_rate(labels) if options.track else None,
        digits_per_frame=digits / frames if frames else 0.0,
    )
