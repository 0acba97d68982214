"""Touching digits: a candidate much wider than one digit is also read as two or three digits.

- `split_hypotheses` cuts every candidate wider than SPLIT_ASPECT into 2 (and, when wide enough,
  3) pieces at the columns with the least ink near the expected boundaries, unless the model
  read it whole at SURE or more;
- the pieces are classified in one more model call, after the frame's candidates;
- `resolve` keeps, per wide candidate, the reading with the best joint confidence: the single
  reading (its confidence, also when it is "not a digit") or a split (the product of its pieces'
  confidences, every piece a digit). A mark the model confidently rejects whole is not cut into
  digits: a doodle's pieces are often strokes that read as 1s.
"""

import numpy as np

from recognizer.core import Detections
from recognizer.detection import cut_crops
from recognizer.modelfiles import NOT_DIGIT
from recognizer.preprocessing import extract_ink

SPLIT_ASPECT = 1.1  # width / height above which a candidate may be two digits
THREE_ASPECT = 1.7  # ... or three
SEARCH = 0.15  # how far from the expected boundary a cut may move, relative to the width
SURE = 0.999  # a candidate read at least this confidently is not cut (`split_hypotheses`)


def cut_columns(column_ink: np.ndarray, parts: int) -> list[int]:
    """Columns that split the ink into `parts`, each at the least ink near its expected place."""
    width = len(column_ink)
    cuts = []
    for k in range(1, parts):
        expected = width * k / parts
        lo = max(1, int(expected - SEARCH * width))
        hi = min(width - 1, int(expected + SEARCH * width) + 1)
        cuts.append(lo + int(np.argmin(column_ink[lo:hi])))
    return [0, *cuts, width]


def split_hypotheses(gray: np.ndarray, candidates: Detections) -> tuple[Detections, np.ndarray]:
    """Pieces of the wide candidates, and per piece (candidate index, number of pieces).

    The candidates come read: one read at SURE or more, as a digit or as "not a digit", is not
    cut. A split wins only where its pieces' joint confidence is higher (`resolve`), so every
    piece would have to be read at more than SURE. (Measured: no split won over a reading above
    0.98 in the samples, 14 generated scenes, 15 mark videos and a page of text.) A page of
    words, each one wide and surely "not a digit", is not cut into 5 pieces a word.
    """
    boxes, origin = [], []
    sure = candidates.confidence >= SURE
    for i, (x0, y0, x1, y1) in enumerate(candidates.xyxy.astype(int)):
        width, height = x1 - x0, max(y1 - y0, 1)
        if width / height < SPLIT_ASPECT or sure[i]:
            continue
        column_ink = extract_ink(gray[y0:y1, x0:x1]).sum(axis=0)
        for parts in (2, 3):
            if parts == 3 and width / height < THREE_ASPECT:
                continue
            cuts = cut_columns(column_ink, parts)
            for a, b in zip(cuts, cuts[1:], strict=False):
                boxes.append([x0 + a, y0, x0 + b, y1])
                origin.append([i, parts])
    if not boxes:
        return Detections.empty(), np.zeros((0, 2), np.int64)
    xyxy = np.array(boxes, np.float32)
    return Detections(xyxy=xyxy, crops=cut_crops(gray, xyxy)), np.array(origin, np.int64)


def digit_confidence(detections: Detections) -> np.ndarray:
    """Confidence of a digit reading; 0 where the reading is "not a digit"."""
    return np.where(detections.digit == NOT_DIGIT, 0.0, detections.confidence)


def resolve(
    singles: Detections, pieces: Detections, origin: np.ndarray, min_joint: float = 0.0
) -> Detections:
    """Each candidate read whole or as its best split, whichever is more confident.

    A split must also reach `min_joint`: the chance that all its pieces are read right is what
    its readings are worth, and below the reporting threshold they are worth nothing.
    """
    if not len(pieces):
        return singles
    keep = np.ones(len(singles), bool)
    chosen = []
    piece_conf = digit_confidence(pieces)
    for i in np.unique(origin[:, 0]):
        best, best_mask = max(float(singles.confidence[i]), min_joint), None
        for parts in (2, 3):
            mask = (origin[:, 0] == i) & (origin[:, 1] == parts)
            if mask.any() and (joint := float(np.prod(piece_conf[mask]))) > best:
                best, best_mask = joint, mask
        if best_mask is not None:
            keep[i] = False
            chosen.append(pieces[best_mask])
    return Detections.concatenate([singles[keep], *chosen])
