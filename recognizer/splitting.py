"""Touching digits: a candidate much wider than one digit is also read as 2 to MAX_PARTS digits.

- `split_hypotheses` looks for where digits may meet in every candidate wider than
  SPLIT_ASPECT, unless the model read it whole at SURE or more: at the column with the least ink
  near each place where 2, 3, ... digits of equal width would meet (`cut_points`). Every stretch
  between two of those columns as wide as one digit can be (PIECE_MIN to PIECE_MAX of the
  height) is a piece, so a 1 beside a wide digit is cut where they meet, not at the middle;
- the pieces are classified in one more model call, after the frame's candidates;
- `resolve` keeps, per wide candidate, the single reading (its confidence, also when it is "not a
  digit") or the chain of pieces across it with the best joint confidence (the product of its
  pieces' confidences, every piece a digit; `best_chain`), whichever is higher. The model's
  readings choose the cuts. A mark the model reads whole at SURE is not cut (a word's or a
  doodle's pieces are often strokes read as 1s), unless it is read as "not a digit" and is wide
  enough to be several digits (`several`); and at most CUT_PER_FRAME marks a frame are cut.
  Nor is a mark as small as a small letter beside a digit on its line, or beside another such
  mark (`small_beside_digit`): the m of "10mm" or "5cm" is a letter, and its arches read as 1s
  and 7s. A piece narrower than its digit is ever written is no reading of it (`too_narrow`).
"""

import cv2
import numpy as np

from recognizer.classifier import is_digit
from recognizer.core import Detections
from recognizer.detection import crop_boxes
from recognizer.grouping import MAX_GAP, small_beside
from recognizer.modelfiles import NOT_DIGIT
from recognizer.preprocessing import ink_to_mnist, scaled_ink

SPLIT_ASPECT = 1.1  # width / height above which a candidate may be two digits
MAX_PARTS = 5  # digits one candidate may be read as
PART_WIDTH = 0.5  # of the height: a candidate is tried as up to width / (this * height) digits
SEARCH = 0.15  # how far from where equal digits would meet a cut may move, of the width
PIECE_MIN = 0.12  # the narrowest piece (a 1), of the height
PIECE_MAX = 1.3  # the widest piece: a digit, with a stray mark beside it that it touches
PIECE_TYPICAL = 0.55  # a digit's usual width, of the height: which pieces to keep when too many
MAX_PIECES = 24  # pieces read per candidate
SURE = 0.999  # a candidate read at least this confidently is not cut (`split_hypotheses`)...
# ... unless it was read as "not a digit" and is this much wider than tall: a run of touching
# digits is not one digit, so the model rejects it whole. Such a mark is cut when it is one of
# the SEVERAL_PER_FRAME nearest to a digit (a page of words has a hundred of them), and a split
# of it wins from SEVERAL_JOINT (the default reporting threshold), however surely it was read
# whole. From 0.9, a run of touching digits with one of them read at 0.6-0.9 stayed unread.
SEVERAL_ASPECT = 1.5
SEVERAL_PER_FRAME = 8
SEVERAL_JOINT = 0.6
# At most this many marks a frame are cut, those nearest to a digit: a page of scribbles or of
# words, each cut into about 6 pieces, would make a frame's pieces many hundreds.
CUT_PER_FRAME = 24
# The narrowest each digit 0-9 is written, width over height of its ink: the 1st percentile of
# MNIST's test digits (a 1, any width). A piece read as a digit but narrower than NARROW_SHARE of
# that is no such digit: the arches of a bold m cut apart are read as 7s 0.37-0.40 as wide as
# tall, where 1% of MNIST's 7s are under 0.45 (half are over 0.75).
NARROWEST = np.array([0.6, 0.0, 0.6, 0.5, 0.5, 0.55, 0.5, 0.45, 0.5, 0.4])
NARROW_SHARE = 0.9


def least_ink_near(ink: np.ndarray, expected: float) -> int | None:
    """The index of the least of `ink` (a profile across a mark) within SEARCH of its length
    from `expected`, away from both ends; None if the mark is too short for one."""
    length = len(ink)
    lo = max(1, int(expected - SEARCH * length))
    hi = min(length - 1, int(expected + SEARCH * length) + 1)
    return lo + int(np.argmin(ink[lo:hi])) if hi > lo else None


def cut_points(column_ink: np.ndarray, height: int) -> list[int]:
    """Columns where digits may meet: the least ink near each place where 2 to `parts` digits of
    equal width would, `parts` as many as fit (PART_WIDTH, MAX_PARTS)."""
    width = len(column_ink)
    parts = min(MAX_PARTS, max(2, int(np.ceil(width / (PART_WIDTH * height)))))
    points = {
        least_ink_near(column_ink, width * k / n) for n in range(2, parts + 1) for k in range(1, n)
    }
    return sorted(points - {None})


def ink_in_box(gray: np.ndarray, box: np.ndarray, padded: np.ndarray) -> tuple:
    """The ink (`scaled_ink`) of a box (frame pixels) judged in its padded crop: (ink inside the
    box, scale, the box's top-left corner in the scaled crop)."""
    cx0, cy0, cx1, cy1 = padded
    ink, scale = scaled_ink(gray[cy0:cy1, cx0:cx1])
    x0, y0 = round((box[0] - cx0) * scale), round((box[1] - cy0) * scale)
    x1, y1 = round((box[2] - cx0) * scale), round((box[3] - cy0) * scale)
    return ink[y0:y1, x0:x1], scale, (x0, y0)


def chainable_spans(points: list[int], narrowest: float, widest: float) -> list[tuple[int, int]]:
    """Stretches between two of the sorted `points` that are narrowest..widest wide and lie on
    some chain of such stretches from the first point to the last, of two or more (others
    could never be part of a split)."""
    spans = [
        (a, b)
        for k, a in enumerate(points)
        for b in points[k + 1 :]
        if narrowest <= b - a <= widest and (a, b) != (points[0], points[-1])
    ]
    reach, back = {points[0]}, {points[-1]}
    for a, b in spans:  # sorted by start
        if a in reach:
            reach.add(b)
    for a, b in reversed(spans):  # sorted by start, so by end too within a start
        if b in back:
            back.add(a)
    return [(a, b) for a, b in spans if a in reach and b in back]


def pieces_of(gray: np.ndarray, box: np.ndarray, padded: np.ndarray) -> tuple[list, list, list]:
    """One wide candidate's pieces: their boxes (frame pixels), 28x28 crops and (start, end,
    width) columns, in the candidate's ink (scaled as `scaled_ink` scales it)."""
    cx0, cy0 = padded[:2]
    ink, scale, (x0, y0) = ink_in_box(gray, box, padded)
    height, width = ink.shape
    if width < 4 or height < 2:
        return [], [], []
    points = [0, *cut_points(ink.sum(axis=0), height), width]
    spans = chainable_spans(points, PIECE_MIN * height, PIECE_MAX * height)
    if len(spans) > MAX_PIECES:
        spans.sort(key=lambda span: abs((span[1] - span[0]) / height - PIECE_TYPICAL))
        spans = spans[:MAX_PIECES]
    boxes, crops = [], []
    for a, b in spans:
        piece = ink[:, a:b]
        whole = (0, 0, b - a, height)  # a piece with no ink: its whole span
        boxes.append(ink_box(piece, (cx0, cy0), (x0 + a, y0), scale, whole))
        crops.append(ink_to_mnist(piece))
    return boxes, crops, [(a, b, width) for a, b in spans]


def ink_box(
    piece: np.ndarray,
    crop_origin: tuple,
    offset: tuple,
    scale: float,
    empty: tuple | None = None,
) -> list | None:
    """The frame box (xyxy) around the ink of `piece`, a part of a crop (`ink_in_box`) whose
    top-left corner is `crop_origin` in the frame, lying at `offset` in the crop as scaled by
    `scale`. A piece with no ink gives the rectangle `empty` (x, y, w, h in the piece), or None."""
    rect = cv2.boundingRect(cv2.compare(piece, 0, cv2.CMP_GT))
    if rect[2] == 0:
        if empty is None:
            return None
        rect = empty
    px, py, pw, ph = rect
    left = crop_origin[0] + (offset[0] + px) / scale
    top = crop_origin[1] + (offset[1] + py) / scale
    return [left, top, left + pw / scale, top + ph / scale]


def split_hypotheses(gray: np.ndarray, candidates: Detections) -> tuple[Detections, np.ndarray]:
    """Pieces of the wide candidates, and per piece (candidate index, start, end, width): where
    it starts and ends across its candidate, and how wide that is, for `resolve` to chain them.

    The candidates come read: one read at SURE or more is not cut, but for the SEVERAL_PER_FRAME
    marks read surely as "not a digit" that are SEVERAL_ASPECT wide and nearest to a digit
    (`several`); and of all, the CUT_PER_FRAME nearest to a digit are cut. (Splits do win over
    readings just below SURE: 14 of the 80 splits that won on generated touching numbers had a
    whole reading of 0.98 or more, the highest 0.997.)
    """
    boxes, crops, origin = [], [], []
    width = candidates.xyxy[:, 2] - candidates.xyxy[:, 0]
    wide = width > SPLIT_ASPECT * np.maximum(candidates.xyxy[:, 3] - candidates.xyxy[:, 1], 1)
    wide &= (candidates.confidence < SURE) | several(candidates)
    wide &= ~small_beside_digit(candidates, wide)
    wide = nearest_to_digits(candidates, wide, CUT_PER_FRAME)
    if not wide.any():
        return Detections.empty(), np.zeros((0, 4), np.int64)
    padded = crop_boxes(gray.shape, candidates.xyxy)
    for i in np.nonzero(wide)[0]:
        piece_boxes, piece_crops, spans = pieces_of(gray, candidates.xyxy[i], padded[i])
        boxes += piece_boxes
        crops += piece_crops
        origin += [[i, *span] for span in spans]
    if not boxes:
        return Detections.empty(), np.zeros((0, 4), np.int64)
    pieces = Detections(xyxy=np.array(boxes, np.float32), crops=np.stack(crops))
    return pieces, np.array(origin, np.int64)


def small_beside_digit(candidates: Detections, among: np.ndarray) -> np.ndarray:
    """Mask of the candidates `among` (a mask) as small as a small letter beside a candidate
    read as a digit (`grouping.small_beside`), at most MAX_GAP of its height away from it or
    from another such mark: a unit's small letters after a number ("10mm", "5cm", "3am")."""
    out = np.zeros(len(candidates), bool)
    digits = np.nonzero(is_digit(candidates, 0.0))[0]
    if not among.any() or not len(digits):
        return out
    xyxy = candidates.xyxy
    small = small_beside(xyxy, xyxy[digits])  # (candidates, digits)
    for k in np.flatnonzero((small & among[:, None]).any(axis=0)):
        d = digits[k]
        # The digit and the marks small beside it, each linked to those near it.
        marks = np.concatenate([[d], np.flatnonzero(small[:, k])])
        box = xyxy[marks]
        gap = np.maximum(box[:, None, 0] - box[None, :, 2], box[None, :, 0] - box[:, None, 2])
        near = gap <= MAX_GAP * (xyxy[d, 3] - xyxy[d, 1])
        reached = np.zeros(len(marks), bool)
        reached[0] = True
        while True:  # from the digit along its small letters: "5c" then "m"
            grown = reached | near[:, reached].any(axis=1)
            if (grown == reached).all():
                break
            reached = grown
        out[marks[1:][reached[1:]]] = True
    return out & among


def may_be_several(detections: Detections) -> np.ndarray:
    """Mask of the marks read as "not a digit" that are SEVERAL_ASPECT times as wide as tall."""
    xyxy = detections.xyxy
    wide = (xyxy[:, 2] - xyxy[:, 0]) >= SEVERAL_ASPECT * (xyxy[:, 3] - xyxy[:, 1])
    return wide & (detections.digit == NOT_DIGIT)


def nearest_to_digits(candidates: Detections, among: np.ndarray, limit: int) -> np.ndarray:
    """Mask of at most `limit` of the candidates `among` (a mask): those nearest to a candidate
    read as a digit, edge to edge, in heights of the mark (in their order, if no digit)."""
    chosen = among.copy()
    indexes = np.nonzero(among)[0]
    if len(indexes) <= limit:
        return chosen
    digits = np.nonzero(candidates.digit != NOT_DIGIT)[0]
    nearest = np.zeros(len(indexes))
    if len(digits):
        a, b = candidates.xyxy[indexes][:, None], candidates.xyxy[digits][None]
        gap_x = np.maximum(0, np.maximum(a[..., 0] - b[..., 2], b[..., 0] - a[..., 2]))
        gap_y = np.maximum(0, np.maximum(a[..., 1] - b[..., 3], b[..., 1] - a[..., 3]))
        nearest = (np.hypot(gap_x, gap_y) / np.maximum(a[..., 3] - a[..., 1], 1)).min(axis=1)
    chosen[indexes[np.argsort(nearest, kind="stable")[limit:]]] = False
    return chosen


def several(candidates: Detections) -> np.ndarray:
    """Mask of the SEVERAL_PER_FRAME marks read surely as "not a digit" that may be several
    touching digits (`may_be_several`) nearest to a digit."""
    sure = may_be_several(candidates) & (candidates.confidence >= SURE)
    return nearest_to_digits(candidates, sure, SEVERAL_PER_FRAME)


def too_narrow(pieces: Detections) -> np.ndarray:
    """Mask of the pieces read as a digit narrower than NARROW_SHARE of the narrowest it is
    written (NARROWEST)."""
    xyxy = pieces.xyxy
    aspect = (xyxy[:, 2] - xyxy[:, 0]) / np.maximum(xyxy[:, 3] - xyxy[:, 1], 1)
    digit = (pieces.digit >= 0) & (pieces.digit < len(NARROWEST))
    narrowest = np.where(digit, NARROWEST[np.where(digit, pieces.digit, 0)], 0.0)
    return aspect < NARROW_SHARE * narrowest


def digit_confidence(detections: Detections) -> np.ndarray:
    """Confidence of a digit reading; 0 where the reading is "not a digit"."""
    return np.where(detections.digit == NOT_DIGIT, 0.0, detections.confidence)


def best_chain(
    starts: np.ndarray, ends: np.ndarray, scores: np.ndarray, width: int
) -> tuple[float, list]:
    """The chain of pieces across 0..width, each starting where the one before ends, with the
    best product of scores: (product, piece indexes); (0, []) if none."""
    best = {0: (1.0, [])}
    for start in sorted(set(starts.tolist())):
        if start not in best:
            continue
        score, chain = best[start]
        for piece in np.nonzero(starts == start)[0]:
            end, joint = int(ends[piece]), score * float(scores[piece])
            if end not in best or joint > best[end][0]:
                best[end] = (joint, [*chain, int(piece)])
    return best.get(width, (0.0, []))


def resolve(
    singles: Detections,
    pieces: Detections,
    origin: np.ndarray,
    min_joint: float = 0.0,
    several: np.ndarray | None = None,
) -> Detections:
    """Each candidate read whole or as its best chain of pieces, whichever is more confident.

    A mark that may be several digits (`several`, a mask; by default `may_be_several`) is split
    from SEVERAL_JOINT, however surely it was read whole as "not a digit". A split must also
    reach `min_joint`: the chance that all its pieces are read right is what its readings are
    worth, and below the reporting threshold they are worth nothing.
    """
    if not len(pieces):
        return singles
    keep = np.ones(len(singles), bool)
    chosen = []
    piece_confidence = np.where(too_narrow(pieces), 0.0, digit_confidence(pieces))
    several = may_be_several(singles) if several is None else several
    whole = np.where(several, np.minimum(singles.confidence, SEVERAL_JOINT), singles.confidence)
    for i in np.unique(origin[:, 0]):
        rows = np.nonzero(origin[:, 0] == i)[0]
        start, end, width = origin[rows, 1], origin[rows, 2], int(origin[rows[0], 3])
        joint, chain = best_chain(start, end, piece_confidence[rows], width)
        if len(chain) >= 2 and joint > max(float(whole[i]), min_joint):
            keep[i] = False
            chosen.append(pieces[rows[chain]])
    return Detections.concatenate([singles[keep], *chosen])
