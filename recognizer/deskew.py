"""Read digits upright and in their own proportions, however the paper lies before the camera.

- Tilt: paper held at an angle tilts every digit with it, and the model learned digits rotated
  by up to 15 degrees. For each line of two or more digits (`grouping`) tilted by more than
  MIN_TILT_DEG, the line's slope gives the tilt, and the median tilt of the frame's lines of
  PAPER_LINE digits or more that of its lone digits (the paper is tilted as a whole).
- A lone digit on a note or sheet turned by itself (held up to a webcam): no line gives the
  tilt, but the paper's outline does. A candidate read weakly (below PAPER_SURE) on a bright
  region around it whose outline fills PAPER_RECT of its tightest turned rectangle, off the
  frame's edges, is read turned by that rectangle's tilt (`paper_tilts`), and the reading is
  kept when it reaches PAPER_SURE.
- Foreshortening: a page seen from a low angle (a phone held well off square-on, a webcam
  looking across a desk) is squashed from top to bottom, and its digits look wider than any
  the model learned: a squashed 4 is read as no digit. Seen from one side, they look too
  narrow. The frame's digits read surely, each against MNIST's own proportions for its class
  (ASPECT), say how much (`foreshortening`); from SQUASHED on either way, the untilted
  candidates are read stretched back.

Either way each candidate is cut again from the frame so turned or stretched and normalized,
all such crops of the frame are classified in one model call, and a reading replaces the
original when it is more confident.

- Touching digits on a tilted line: `splitting` cuts a wide mark straight down the frame, which
  runs across a turned pair. A mark of a line tilted by MIN_TILT_DEG to MAX_CUT_TILT, read below
  CUT_WEAK even upright, and wide once turned upright (`upright_extent`), is also cut upright
  (`cut_upright`): turned upright, cut as `splitting` cuts, its pieces read in one more call
  and kept as `splitting.resolve` keeps a split.
"""

import math

import cv2
import numpy as np

from recognizer.core import Detections
from recognizer.detection import crop_boxes
from recognizer.grouping import lines
from recognizer.modelfiles import NOT_DIGIT
from recognizer.preprocessing import to_mnist
from recognizer.splitting import (
    SEVERAL_ASPECT,
    SPLIT_ASPECT,
    digit_confidence,
    pieces_of,
    resolve,
)

MIN_TILT_DEG = 8.0
PAPER_LINE = 3  # digits in a line that gives the paper's tilt (two may be marks read as digits)
CONTEXT = 1.5  # side of the square cut around a digit, relative to its longer side
# Median height / width of the ink of MNIST's test digits, by class (a 1 has no width to speak
# of). The median over a frame's digits read at FORESHORTENING_SURE or more, if FORESHORTENING_
# DIGITS of them, of their own height / width against these says how much the frame is squashed
# (1 square-on). Measured: 0.91-1.14 on the samples and 14 generated scenes (the paper turned
# by up to 30 degrees, its perspective), 0.96-1.15 on pages of 24 digits seen square-on;
# squashed to 0.8, 0.65 and 0.5 of their height, 1.22-1.44, 1.49-1.75 and 1.84-1.96, and of
# their width 0.78-0.94, 0.64-0.77 and 0.53-0.63. A frame estimated at SQUASHED or more, or at
# 1 / SQUASHED or less, is read stretched back, by at most MAX_STRETCH. (10 digits written
# narrow, seen square-on, may be at 0.8 too; read widened, they were read no worse.)
PAPER_SURE = 0.9
PAPER_RECT = 0.85
PAPER_SIDE = 320  # the paper's outline is looked for on a copy this wide at most
PAPER_RING = 0.25  # of a box's height: how far around it its paper is looked for
ASPECT = (1.18, math.nan, 1.11, 1.33, 1.33, 1.18, 1.43, 1.33, 1.43, 1.54)
FORESHORTENING_SURE = 0.9
FORESHORTENING_DIGITS = 4
SQUASHED = 1.25
MAX_STRETCH = 3.0
MAX_CUT_TILT = 35.0  # beyond, a turned box says too little of what fills it (see upright_extent)
CUT_WEAK = 0.9
# No digit is written WIDEST times as wide as tall (of 11,178 readings right on the samples and
# 19 generated scenes, none was wider than 1.82: a 5 with a long hat); a flat loop is (a spiral
# notebook's coil), and the model, which sees it fitted into 20x20, may read it as a 0.
WIDEST = 2.0


def line_tilts(xyxy: np.ndarray) -> tuple[np.ndarray, float]:
    """Per digit, the tilt in degrees of the line it belongs to (NaN for a lone digit), and
    the median tilt of the lines of PAPER_LINE digits or more, the paper's (NaN if none)."""
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    tilt = np.full(len(xyxy), np.nan)
    slopes = []
    for chain in lines(xyxy):
        dx, dy = centre[chain[-1]] - centre[chain[0]]
        tilt[chain] = math.degrees(math.atan2(dy, dx))
        if len(chain) >= PAPER_LINE:
            slopes.append(tilt[chain[0]])
    return tilt, float(np.median(slopes)) if slopes else math.nan


def turned_patch(
    gray: np.ndarray, box: np.ndarray, tilt_deg: float, size_wh: tuple[int, int], stretch=1.0
) -> tuple[np.ndarray, np.ndarray]:
    """The patch `size_wh` of `gray` centred on the box, rotated by -tilt (upright) and then
    stretched from top to bottom `stretch` times; and the 2x3 matrix from frame to patch."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    matrix = cv2.getRotationMatrix2D((cx, cy), tilt_deg, 1.0)
    matrix[1] *= stretch  # about the box's centre, as the rotation is
    matrix[1, 2] += (1 - stretch) * cy
    matrix[:, 2] += (size_wh[0] / 2 - cx, size_wh[1] / 2 - cy)
    patch = cv2.warpAffine(
        gray, matrix, size_wh, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return patch, matrix


def upright_crop(
    gray: np.ndarray, box: np.ndarray, tilt_deg: float, stretch: float = 1.0
) -> np.ndarray:
    """The digit in `box` cut from `gray` rotated by -tilt (upright), then stretched from top
    to bottom `stretch` times, as a 28x28 MNIST crop."""
    x0, y0, x1, y1 = box
    # The digit's own extent once turned and stretched, centred in the patch.
    c, s = abs(math.cos(math.radians(tilt_deg))), abs(math.sin(math.radians(tilt_deg)))
    w, h = x1 - x0, y1 - y0
    rw, rh = w * c + h * s, (w * s + h * c) * stretch
    side = int(CONTEXT * max(w, h * stretch)) | 1
    patch, _ = turned_patch(gray, box, tilt_deg, (side, side), stretch)
    inner = (int((side - rw) / 2), int((side - rh) / 2), int((side + rw) / 2), int((side + rh) / 2))
    return to_mnist(patch, inner)


def foreshortening(detections: Detections, among: np.ndarray | None = None) -> float:
    """How many times taller the digits of the frame (`detections`, read; only those `among`,
    a mask, if given) are drawn than they show, from those read surely against ASPECT; 1 if
    too few are. Readings WIDEST times as wide as tall or more are no digits (`too_wide`) and
    tell nothing (a page of flat coils read as 0s would look squashed)."""
    xyxy = detections.xyxy
    width, height = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    sure = (detections.confidence >= FORESHORTENING_SURE) & (detections.digit < len(ASPECT))
    sure &= width < WIDEST * height
    if among is not None:
        sure &= among
    sure[sure] = ~np.isnan(np.take(ASPECT, detections.digit[sure]))
    if np.count_nonzero(sure) < FORESHORTENING_DIGITS:
        return 1.0
    shown = height[sure] / np.maximum(width[sure], 1)
    return float(np.median(np.take(ASPECT, detections.digit[sure]) / shown))


def paper_tilts(gray: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """Per box (N, 4), the tilt in degrees (-45..45) of the paper around it, NaN if none is
    seen: the bright region (Otsu's threshold on a blurred copy PAPER_SIDE wide) that most of
    the box, grown by PAPER_RING of its height on every side, lies on, if its outline fills
    PAPER_RECT of its tightest turned rectangle and stays off the frame's edges (a page
    filling the frame, or cut by its edge, tells no tilt)."""
    factor = max(1.0, gray.shape[1] / PAPER_SIDE)
    small = cv2.resize(gray, None, fx=1 / factor, fy=1 / factor, interpolation=cv2.INTER_LINEAR)
    blurred = cv2.GaussianBlur(small, (5, 5), 0)
    _, bright = cv2.threshold(blurred, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    _, labels = cv2.connectedComponents(bright)
    height, width = small.shape
    tilts, seen = np.full(len(xyxy), np.nan), {}
    for k, (x0, y0, x1, y1) in enumerate(np.asarray(xyxy) / factor):
        pad = max(2, round(PAPER_RING * (y1 - y0)))
        x0, y0, x1, y1 = max(0, int(x0) - pad), max(0, int(y0) - pad), int(x1) + pad, int(y1) + pad
        ring = labels[y0 : y1 + 1, x0 : x1 + 1]
        ring = ring[ring > 0]
        if not len(ring):
            continue
        label = int(np.bincount(ring).argmax())
        if label not in seen:
            seen[label] = math.nan
            contours, _ = cv2.findContours(
                cv2.compare(labels, label, cv2.CMP_EQ), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
            )
            outline = max(contours, key=cv2.contourArea)
            rect = cv2.minAreaRect(outline)
            bx, by, bw, bh = cv2.boundingRect(outline)
            inside = bx > 0 and by > 0 and bx + bw < width and by + bh < height
            if inside and cv2.contourArea(outline) >= PAPER_RECT * rect[1][0] * rect[1][1]:
                (ax, ay), (bx2, by2) = cv2.boxPoints(rect)[:2]
                seen[label] = (math.degrees(math.atan2(by2 - ay, bx2 - ax)) + 45) % 90 - 45
        tilts[k] = seen[label]
    return tilts


def more_confident(
    detections: Detections, rows: np.ndarray, crops: np.ndarray, classifier, floor: float = 0.0
) -> Detections:
    """`detections` with the readings of `crops` (cut again for `rows`) where more confident,
    and at least `floor`."""
    again = classifier.classify(Detections(xyxy=detections.xyxy[rows], crops=crops))
    sure = digit_confidence(again)
    better = (sure > digit_confidence(detections[rows])) & (sure >= floor)
    if not better.any():
        return detections
    chosen = rows[better]
    fields = {}
    for name in ("crops", "digit", "confidence", "probabilities"):
        values = getattr(detections, name).copy()
        values[chosen] = getattr(again, name)[better]
        fields[name] = values
    return detections.replace(**fields)


def upright_extent(xyxy: np.ndarray, tilt_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Width and height, upright, of what fills each box (N, 4) turned by its tilt (N,): the box
    of a W x H rectangle turned by t is W cos t + H sin t wide and W sin t + H cos t tall."""
    t = np.radians(np.abs(tilt_deg))
    c, s = np.cos(t), np.sin(t)
    w, h = xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1]
    return (c * w - s * h) / (c * c - s * s), (c * h - s * w) / (c * c - s * s)


def cut_upright(
    gray: np.ndarray, detections: Detections, tilt: np.ndarray, classifier, min_confidence: float
) -> Detections:
    """`detections` with the weakly read wide marks of tilted lines (`tilt`, degrees, per
    detection) split where their pieces, cut upright, read more surely (`splitting.resolve`)."""
    rows = np.flatnonzero(
        (np.abs(tilt) >= MIN_TILT_DEG)
        & (np.abs(tilt) <= MAX_CUT_TILT)
        & (digit_confidence(detections) < CUT_WEAK)
    )
    width, height = upright_extent(detections.xyxy[rows], tilt[rows])
    wide = (height > 0) & (width > SPLIT_ASPECT * height)
    boxes, crops, origin = [], [], []
    for i, w, h in zip(rows[wide], width[wide], height[wide], strict=True):
        side_w, side_h = int(CONTEXT * w), int(CONTEXT * h)
        patch, turn = turned_patch(gray, detections.xyxy[i], tilt[i], (side_w, side_h))
        inner = np.float32([(side_w - w) / 2, (side_h - h) / 2, (side_w + w) / 2, (side_h + h) / 2])
        piece_boxes, piece_crops, spans = pieces_of(
            patch, inner, crop_boxes(patch.shape, inner[None])[0]
        )
        back = cv2.invertAffineTransform(turn)
        for (a, b, c, d), crop, span in zip(piece_boxes, piece_crops, spans, strict=True):
            corners = cv2.transform(np.float32([[[a, b], [c, b], [a, d], [c, d]]]), back)[0]
            boxes.append([*corners.min(axis=0), *corners.max(axis=0)])
            crops.append(crop)
            origin.append([i, *span])
    if not boxes:
        return detections
    pieces = classifier.classify(Detections(xyxy=np.float32(boxes), crops=np.stack(crops)))
    # As wide as several digits once upright (its turned box is squarer), read as none.
    several = np.zeros(len(detections), bool)
    several[rows[wide]] = width[wide] >= SEVERAL_ASPECT * height[wide]
    several &= detections.digit == NOT_DIGIT
    return resolve(detections, pieces, np.array(origin, np.int64), min_confidence, several)


def straighten(
    gray: np.ndarray, detections: Detections, classifier, min_confidence: float = 0.0
) -> Detections:
    """Re-read the digits of tilted lines upright, lone ones read weakly upright on their
    turned note, and those of a squashed frame stretched back (or a frame squashed across,
    widened); keep whichever reading is more confident. Last, cut wide marks of tilted lines
    upright (`cut_upright`); a split must reach `min_confidence`."""
    if not len(detections):
        return detections
    tilt, paper = line_tilts(detections.xyxy)
    lone = np.isnan(tilt) & np.isnan(paper)  # no line tells the tilt of its paper
    tilt[np.isnan(tilt)] = paper  # a lone digit is on the same paper as the lines
    tilt = np.nan_to_num(tilt)
    tilted = np.abs(tilt) >= MIN_TILT_DEG
    if tilted.any():
        rows = np.flatnonzero(tilted)
        crops = np.stack([upright_crop(gray, detections.xyxy[i], tilt[i]) for i in rows])
        detections = more_confident(detections, rows, crops, classifier)
    # A lone digit read weakly on a note turned by itself.
    rows = np.flatnonzero(lone & (digit_confidence(detections) < PAPER_SURE))
    sheet = paper_tilts(gray, detections.xyxy[rows]) if len(rows) else np.zeros(0)
    turned = np.abs(np.nan_to_num(sheet)) >= MIN_TILT_DEG
    if turned.any():
        rows, sheet = rows[turned], sheet[turned]
        crops = np.stack(
            [upright_crop(gray, detections.xyxy[i], sheet[k]) for k, i in enumerate(rows)]
        )
        detections = more_confident(detections, rows, crops, classifier, PAPER_SURE)
    # (A tilted digit's box is squarer than the digit: only untilted ones tell the squash.)
    stretch = foreshortening(detections, ~tilted)
    if not 1 / SQUASHED < stretch < SQUASHED:
        stretch = min(max(stretch, 1 / MAX_STRETCH), MAX_STRETCH)
        rows = np.flatnonzero(~tilted)
        crops = np.stack([upright_crop(gray, detections.xyxy[i], 0.0, stretch) for i in rows])
        detections = more_confident(detections, rows, crops, classifier)
    return cut_upright(gray, detections, tilt, classifier, min_confidence)


def too_wide(detections: Detections) -> np.ndarray:
    """Mask of the digit readings WIDEST times as wide as tall or more, once the frame is seen
    square-on: a page seen from a low angle, squashed (`foreshortening`), widens its digits."""
    width = detections.xyxy[:, 2] - detections.xyxy[:, 0]
    height = detections.xyxy[:, 3] - detections.xyxy[:, 1]
    stretch = max(1.0, foreshortening(detections))
    return (detections.digit != NOT_DIGIT) & (width >= WIDEST * stretch * height)
