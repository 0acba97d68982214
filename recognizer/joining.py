"""Broken digits: pieces over each other that detection kept apart are also read joined.

A gap across a digit (glare on the paper, a pen that skipped) leaves two pieces. Detection
joins pieces over each other only up to a small gap, and never two pieces of alike height that
each look like a digit: those are digits in rows close together (a sum written in columns).
So here the model's readings decide, as they choose where wide marks are cut (`splitting`):

- a pair of candidates over each other (`stacked_pairs`: overlapping across by MERGE_OVERLAP
  of the narrower, apart by at most MERGE_GAP of the taller, together no wider than
  MAX_ASPECT times their height) is read joined, all such pairs of a frame in one more call;
- the joined reading replaces the two when it is a digit read at JOIN_SURE or more, surer than
  either piece, and one piece is not reported as a digit by itself (below the reporting
  threshold), so two digits read well are never joined;
- and only on a page with JOIN_DIGITS digits read at JOIN_SURE, the joined mark no taller than
  JOIN_TALL times their median height: two digits in rows together are twice as tall, and a
  page of marks (no digits to compare with) keeps its pieces apart.
"""

import numpy as np

from recognizer.core import Detections
from recognizer.detection import MERGE_GAP, candidates_at, over_each_other
from recognizer.splitting import digit_confidence

JOIN_SURE = 0.9
JOIN_DIGITS = 3
JOIN_TALL = 1.4


def stacked_pairs(xyxy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indexes (i, j), i < j, of the boxes one above the other, as detection would merge them
    but for their alike heights (`over_each_other` within MERGE_GAP of the taller)."""
    a, b = xyxy[:, None], xyxy[None]
    taller = np.maximum(a[..., 3] - a[..., 1], b[..., 3] - b[..., 1])
    apart = np.maximum(a[..., 1], b[..., 1]) >= np.minimum(a[..., 3], b[..., 3])
    return np.nonzero(np.triu(over_each_other(xyxy, MERGE_GAP * taller) & apart, 1))


def join_broken(
    gray: np.ndarray, readings: Detections, classifier, min_confidence: float
) -> Detections:
    """The frame's `readings` (candidates read) with the pieces of broken digits joined."""
    digit = digit_confidence(readings)
    sure = digit >= JOIN_SURE
    if np.count_nonzero(sure) < JOIN_DIGITS:
        return readings
    i, j = stacked_pairs(readings.xyxy)
    xyxy = readings.xyxy
    joined = np.hstack([np.minimum(xyxy[i, :2], xyxy[j, :2]), np.maximum(xyxy[i, 2:], xyxy[j, 2:])])
    tall = np.median(xyxy[sure, 3] - xyxy[sure, 1]) * JOIN_TALL
    weak = np.minimum(digit[i], digit[j]) < min_confidence
    keep = weak & (joined[:, 3] - joined[:, 1] <= tall)
    if not keep.any():
        return readings
    i, j, joined = i[keep], j[keep], joined[keep].astype(np.float32)
    whole = classifier.classify(candidates_at(gray, joined))
    gain = digit_confidence(whole) - np.maximum(digit[i], digit[j])
    gain[digit_confidence(whole) < JOIN_SURE] = 0
    kept = np.ones(len(readings), bool)
    chosen = []
    for k in np.argsort(-gain, kind="stable"):  # the surest join first; a piece joins once
        if gain[k] > 0 and kept[i[k]] and kept[j[k]]:
            kept[i[k]] = kept[j[k]] = False
            chosen.append(k)
    if not chosen:
        return readings
    return Detections.concatenate([readings[kept], whole[np.array(chosen)]])
