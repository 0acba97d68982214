"""Broken digits and rows merged: pieces over each other that detection kept apart are also read
joined, and marks detection merged from digits in rows are also read cut into them.

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

The other way round (`unstack`): detection merges pieces over each other with a small gap as
one digit's, and so merges digits in rows closer than about a tenth of their height, or a
little further apart on a turned page, where each digit's box and the gap lean. On a page with
JOIN_DIGITS digits read at JOIN_SURE, a mark STACK_TALL times their median height, not read
that surely, is cut across into 2 or 3 rows (by its height; at the rows with least ink near
where equal digits would meet, as `splitting` cuts across), all such rows of a frame read in
one more call; they replace the mark when each is a digit and the product of their
confidences beats the mark's reading and the reporting threshold, unless all are 0s: an 8 drawn
tall, read weakly, is cut into its two loops.
"""

import numpy as np

from recognizer.core import Detections
from recognizer.detection import MERGE_GAP, candidates_at, crop_boxes, over_each_other
from recognizer.preprocessing import ink_to_mnist
from recognizer.splitting import digit_confidence, ink_box, ink_in_box, least_ink_near

JOIN_SURE = 0.9
JOIN_DIGITS = 3
JOIN_TALL = 1.4
STACK_TALL = 1.6  # a mark this many times the page's digits' median height may be rows of them
MAX_ROWS = 3


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


def stacked_cuts(row_ink: np.ndarray, parts: int) -> list[int]:
    """Rows where `parts` digits over each other meet: the least ink near each place where
    equal ones would (`splitting.least_ink_near`); none where the mark is too short."""
    cuts = [least_ink_near(row_ink, len(row_ink) * k / parts) for k in range(1, parts)]
    return [cut for cut in cuts if cut is not None]


def rows_of(gray: np.ndarray, box: np.ndarray, padded: np.ndarray, parts: int) -> tuple:
    """A tall mark cut across into `parts` rows: their boxes (frame pixels, each around its own
    ink) and 28x28 crops; ([], []) when a row has no ink."""
    cx0, cy0 = padded[:2]
    ink, scale, (x0, y0) = ink_in_box(gray, box, padded)
    cuts = stacked_cuts(ink.sum(axis=1), parts)
    if len(cuts) != parts - 1:
        return [], []
    edges = [0, *cuts, len(ink)]
    boxes, crops = [], []
    for top, bottom in zip(edges[:-1], edges[1:], strict=True):
        piece = ink[top:bottom]
        row_box = ink_box(piece, (cx0, cy0), (x0, y0 + top), scale)
        if row_box is None:
            return [], []
        boxes.append(row_box)
        crops.append(ink_to_mnist(piece))
    return boxes, crops


def unstack(
    gray: np.ndarray, readings: Detections, classifier, min_confidence: float
) -> Detections:
    """The frame's `readings` with marks STACK_TALL times as tall as its sure digits (JOIN_DIGITS
    of them at JOIN_SURE), read weakly, replaced by the rows they are cut into when every row is
    read as a digit and together more surely than the mark whole."""
    digit = digit_confidence(readings)
    sure = digit >= JOIN_SURE
    if np.count_nonzero(sure) < JOIN_DIGITS:
        return readings
    xyxy = readings.xyxy
    heights = xyxy[:, 3] - xyxy[:, 1]
    typical = float(np.median(heights[sure]))
    tall = np.flatnonzero((heights >= STACK_TALL * typical) & ~sure)
    if not len(tall):
        return readings
    padded = crop_boxes(gray.shape, xyxy)
    boxes, crops, owner = [], [], []
    for i in tall:
        parts = int(min(MAX_ROWS, max(2, round(heights[i] / typical))))
        row_boxes, row_crops = rows_of(gray, xyxy[i], padded[i], parts)
        boxes += row_boxes
        crops += row_crops
        owner += [i] * len(row_boxes)
    if not boxes:
        return readings
    rows = classifier.classify(Detections(xyxy=np.array(boxes, np.float32), crops=np.stack(crops)))
    owner = np.array(owner)
    confidence = digit_confidence(rows)
    kept = np.ones(len(readings), bool)
    chosen = []
    for i in tall:
        mine = np.flatnonzero(owner == i)
        if (rows.digit[mine] == 0).all():  # an 8's loops, or a 0 written tall: one digit
            continue
        if float(np.prod(confidence[mine])) > max(digit[i], min_confidence):
            kept[i] = False
            chosen.append(rows[mine])
    if not chosen:
        return readings
    return Detections.concatenate([readings[kept], *chosen])
