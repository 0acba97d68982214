"""Give each digit a track id across frames and fuse its class probabilities over time.

Method (runs every frame, also on frames with no detections):
- predict each track's box from its smoothed velocity (camera motion);
- match predictions to detections greedily by IoU, falling back to centre distance for fast
  motion; a detection left over starts a new track, a track unmatched for MAX_MISSES frames ends;
- a matched track's class probabilities are an exponential moving average (FUSION_RATE) of its
  detections' probabilities; the reported digit changes only when another class leads the fused
  probabilities by SWITCH_MARGIN (hysteresis), which removes one-frame flicker.

Written here rather than taken from a library: norfair 2.3 requires numpy < 2 and rich < 15 (this
project runs numpy 2 and rich 15), and supervision's ByteTrack brings eight more dependencies for
matching that is a few lines here and has no probability fusion; this one costs ~0.1 ms a frame.
"""

from dataclasses import dataclass

import numpy as np

from recognizer.classifier import read
from recognizer.core import Detections, box_iou, greedy_match
from recognizer.modelfiles import NOT_DIGIT

MIN_IOU = 0.2
MAX_CENTRE_SHIFT = 0.6  # of the box diagonal, for matches that do not overlap
MAX_MISSES_SECONDS = 0.5
FUSION_RATE = 0.35
SWITCH_MARGIN = 0.15
VELOCITY_SMOOTHING = 0.5


@dataclass
class Track:
    id: int
    xyxy: np.ndarray
    velocity: np.ndarray  # (2,) pixels per frame
    probabilities: np.ndarray  # fused, (K,)
    digit: int
    misses: int = 0

    def predicted(self) -> np.ndarray:
        return self.xyxy + np.tile(self.velocity * (self.misses + 1), 2)


def centre(xyxy: np.ndarray) -> np.ndarray:
    return (xyxy[..., :2] + xyxy[..., 2:]) / 2


def match(predicted: np.ndarray, boxes: np.ndarray) -> list[tuple[int, int]]:
    """Greedy one-to-one matching of track predictions to detections."""
    if not len(predicted) or not len(boxes):
        return []
    iou = box_iou(predicted, boxes)
    diagonal = np.hypot(*(boxes[:, 2:] - boxes[:, :2]).T)[None, :]
    distance = np.linalg.norm(centre(predicted)[:, None] - centre(boxes)[None], axis=2)
    # One score: IoU where boxes overlap, else a small score that falls with distance.
    score = np.where(iou >= MIN_IOU, 1 + iou, 1 - distance / (MAX_CENTRE_SHIFT * diagonal))
    return greedy_match(score, 0.0)


class Tracker:
    """Call `update` once per frame, in order; it returns the detections with track ids."""

    def __init__(self, fps: float = 30.0) -> None:
        self.max_misses = max(2, round(MAX_MISSES_SECONDS * fps))
        self.tracks: list[Track] = []
        self.next_id = 0

    def update(self, detections: Detections) -> Detections:
        predicted = np.array([t.predicted() for t in self.tracks], np.float32).reshape(-1, 4)
        pairs = match(predicted, detections.xyxy)
        matched_tracks = {t for t, _ in pairs}
        track_of = {d: t for t, d in pairs}
        for i, track in enumerate(self.tracks):
            if i not in matched_tracks:
                track.misses += 1

        n = len(detections)
        ids = np.full(n, -1, np.int64)
        digits = detections.digit.copy()
        confidence = detections.confidence.copy()
        probabilities = detections.probabilities.copy()
        for d in range(n):
            if d in track_of:
                track = self.tracks[track_of[d]]
                self.follow(track, detections.xyxy[d], detections.probabilities[d])
            else:
                track = self.start(detections.xyxy[d], detections.probabilities[d])
            ids[d] = track.id
            digits[d] = track.digit
            confidence[d] = track.probabilities[track.digit]
            probabilities[d] = track.probabilities
        self.tracks = [t for t in self.tracks if t.misses <= self.max_misses]
        return detections.replace(
            track_id=ids, digit=digits, confidence=confidence, probabilities=probabilities
        )

    def start(self, xyxy: np.ndarray, probabilities: np.ndarray) -> Track:
        track = Track(
            id=self.next_id,
            xyxy=xyxy.astype(np.float32),
            velocity=np.zeros(2, np.float32),
            probabilities=probabilities.astype(np.float32),
            digit=int(read(probabilities[None])[0][0]),
        )
        self.next_id += 1
        self.tracks.append(track)
        return track

    @staticmethod
    def follow(track: Track, xyxy: np.ndarray, probabilities: np.ndarray) -> None:
        step = (centre(xyxy) - centre(track.xyxy)) / (track.misses + 1)
        track.velocity = VELOCITY_SMOOTHING * track.velocity + (1 - VELOCITY_SMOOTHING) * step
        track.xyxy = xyxy.astype(np.float32)
        track.probabilities = (1 - FUSION_RATE) * track.probabilities + FUSION_RATE * probabilities
        leader = int(read(track.probabilities[None])[0][0])
        lead = track.probabilities[leader] - track.probabilities[track.digit]
        if leader != track.digit and (lead >= SWITCH_MARGIN or leader == NOT_DIGIT):
            track.digit = leader
        track.misses = 0
