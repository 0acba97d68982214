"""Give each digit a track id across frames and fuse its class probabilities over time.

Method (runs every frame, also on frames with no detections):
- predict each track's box from its smoothed velocity (camera motion);
- match predictions to detections greedily by IoU, falling back to centre distance for fast
  motion; a detection left over starts a new track, a track unmatched for MAX_MISSES_SECONDS
  ends;
- frames the source skipped (damaged) or dropped (a camera read slower than it films) count:
  `update` takes the frames since the last call (`period`, as norfair's tracker does), so the
  predictions move that far and misses age by it;
- a matched track's class probabilities are an exponential moving average (FUSION_RATE) of its
  detections' probabilities; the reported digit changes only when another class leads the fused
  probabilities by SWITCH_MARGIN (hysteresis), which removes one-frame flicker.

Written here rather than taken from a library: norfair 2.3 requires numpy < 2 and rich < 15 (this
project runs numpy 2 and rich 15), and supervision's ByteTrack brings eight more dependencies for
matching that is a few lines here and has no probability fusion; this one costs ~0.3 ms a frame
with 10 digits, in a few array operations.
"""

from dataclasses import dataclass, fields

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
class Tracks:
    """The live tracks as parallel arrays, one row per track (a frame's work is a few array ops)."""

    id: np.ndarray  # (T,) int64
    xyxy: np.ndarray  # (T, 4) float32, last matched box
    velocity: np.ndarray  # (T, 2) float32, pixels per source frame
    probabilities: np.ndarray  # (T, K) float32, fused
    digit: np.ndarray  # (T,) int64, reported
    misses: np.ndarray  # (T,) int64, source frames since the last match

    @classmethod
    def empty(cls, k: int) -> "Tracks":
        return cls(
            np.zeros(0, np.int64),
            np.zeros((0, 4), np.float32),
            np.zeros((0, 2), np.float32),
            np.zeros((0, k), np.float32),
            np.zeros(0, np.int64),
            np.zeros(0, np.int64),
        )

    def __len__(self) -> int:
        return len(self.id)

    def rows(self, index) -> "Tracks":
        return Tracks(*(getattr(self, f.name)[index] for f in fields(self)))

    def append(self, other: "Tracks") -> "Tracks":
        return Tracks(
            *(np.concatenate([getattr(self, f.name), getattr(other, f.name)]) for f in fields(self))
        )

    def predicted(self, period: int = 1) -> np.ndarray:
        """Where the tracks are `period` source frames after the last update."""
        return self.xyxy + np.tile(self.velocity * (self.misses + period)[:, None], 2)


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
    """Call `update` once per frame, in order; it returns the detections with track ids.
    Misses and motion are counted in the source's frames, of which `fps` make a second."""

    def __init__(self, fps: float = 30.0) -> None:
        self.max_misses = max(2, round(MAX_MISSES_SECONDS * fps))
        self.tracks = Tracks.empty(0)  # remade with the classes of the first detections
        self.next_id = 0

    def update(self, detections: Detections, period: int = 1) -> Detections:
        """`period`: the source's frames since the last update (1 unless some were skipped)."""
        if not len(self.tracks):
            self.tracks = Tracks.empty(detections.probabilities.shape[1])
        tracks = self.tracks
        pairs = np.array(match(tracks.predicted(period), detections.xyxy), np.int64)
        pairs = pairs.reshape(-1, 2)
        t, d = pairs.T
        follow(tracks, t, detections.xyxy[d], detections.probabilities[d], period)
        unmatched = np.ones(len(tracks), bool)
        unmatched[t] = False
        tracks.misses[unmatched] += period

        new = np.setdiff1d(np.arange(len(detections)), d)
        row = np.empty(len(detections), np.int64)  # each detection's track, after the append
        row[d], row[new] = t, len(tracks) + np.arange(len(new))
        if len(new):
            tracks = tracks.append(self.start(detections.xyxy[new], detections.probabilities[new]))
        self.tracks = tracks.rows(tracks.misses <= self.max_misses)
        probabilities = tracks.probabilities[row]
        digit = tracks.digit[row]
        return detections.replace(
            track_id=tracks.id[row],
            digit=digit,
            confidence=probabilities[np.arange(len(row)), digit],
            probabilities=probabilities,
        )

    def start(self, xyxy: np.ndarray, probabilities: np.ndarray) -> Tracks:
        ids = self.next_id + np.arange(len(xyxy))
        self.next_id += len(xyxy)
        return Tracks(
            ids,
            xyxy.astype(np.float32),
            np.zeros((len(xyxy), 2), np.float32),
            probabilities.astype(np.float32),
            read(probabilities)[0].astype(np.int64),
            np.zeros(len(xyxy), np.int64),
        )


def follow(
    tracks: Tracks, rows: np.ndarray, xyxy: np.ndarray, probabilities: np.ndarray, period: int = 1
) -> None:
    """Move the matched tracks to their new boxes, `period` source frames after the last
    update, and fuse in the new readings (in place)."""
    if not len(rows):
        return
    frames = (tracks.misses[rows] + period)[:, None]
    step = (centre(xyxy) - centre(tracks.xyxy[rows])) / frames
    velocity = VELOCITY_SMOOTHING * tracks.velocity[rows] + (1 - VELOCITY_SMOOTHING) * step
    tracks.velocity[rows] = velocity
    tracks.xyxy[rows] = xyxy
    fused = (1 - FUSION_RATE) * tracks.probabilities[rows] + FUSION_RATE * probabilities
    tracks.probabilities[rows] = fused
    digit = tracks.digit[rows]
    leader = read(fused)[0]
    picked = np.arange(len(rows))
    lead = fused[picked, leader] - fused[picked, digit]
    switch = (leader != digit) & ((lead >= SWITCH_MARGIN) | (leader == NOT_DIGIT))
    tracks.digit[rows] = np.where(switch, leader, digit)
    tracks.misses[rows] = 0
