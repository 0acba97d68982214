"""Read the digits of a tilted line upright: paper held at an angle tilts every digit with it.

The model learned digits rotated by up to 15 degrees. For each line of two or more digits
(`grouping`) tilted by more than MIN_TILT_DEG, the line's slope gives the tilt, and the median
tilt of the frame's lines of PAPER_LINE digits or more that of its lone digits (the paper is
tilted as a whole); each such digit is cut again from the frame rotated upright and normalized,
all such crops of the frame are classified in one model call, and an upright reading replaces
the original when it is more confident.
"""

import math

import cv2
import numpy as np

from recognizer.core import Detections
from recognizer.grouping import lines
from recognizer.preprocessing import to_mnist
from recognizer.splitting import digit_confidence

MIN_TILT_DEG = 8.0
PAPER_LINE = 3  # digits in a line that gives the paper's tilt (two may be marks read as digits)
CONTEXT = 1.5  # side of the square cut around a digit, relative to its longer side


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


def upright_crop(gray: np.ndarray, box: np.ndarray, tilt_deg: float) -> np.ndarray:
    """The digit in `box` cut from `gray` rotated by -tilt (upright), as a 28x28 MNIST crop."""
    x0, y0, x1, y1 = box
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    side = int(CONTEXT * max(x1 - x0, y1 - y0)) | 1
    rotation = cv2.getRotationMatrix2D((cx, cy), tilt_deg, 1.0)
    rotation[:, 2] += (side / 2 - cx, side / 2 - cy)
    patch = cv2.warpAffine(
        gray, rotation, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    # The digit's own extent after rotation: its box, turned, centred in the patch.
    c, s = abs(math.cos(math.radians(tilt_deg))), abs(math.sin(math.radians(tilt_deg)))
    w, h = x1 - x0, y1 - y0
    rw, rh = w * c + h * s, w * s + h * c
    inner = (int((side - rw) / 2), int((side - rh) / 2), int((side + rw) / 2), int((side + rh) / 2))
    return to_mnist(patch, inner)


def straighten(gray: np.ndarray, detections: Detections, classifier) -> Detections:
    """Re-read the digits of tilted lines upright; keep whichever reading is more confident."""
    if len(detections) < 2:
        return detections
    tilt, paper = line_tilts(detections.xyxy)
    tilt[np.isnan(tilt)] = paper  # a lone digit is on the same paper as the lines
    tilted = np.nonzero(np.abs(np.nan_to_num(tilt)) >= MIN_TILT_DEG)[0]
    if not len(tilted):
        return detections
    crops = np.stack([upright_crop(gray, detections.xyxy[i], tilt[i]) for i in tilted])
    upright = classifier.classify(Detections(xyxy=detections.xyxy[tilted], crops=crops))
    better = digit_confidence(upright) > digit_confidence(detections[tilted])
    if not better.any():
        return detections
    chosen = tilted[better]
    fields = {}
    for name in ("crops", "digit", "confidence", "probabilities"):
        values = getattr(detections, name).copy()
        values[chosen] = getattr(upright, name)[better]
        fields[name] = values
    return detections.replace(**fields)
