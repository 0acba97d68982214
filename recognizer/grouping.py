"""Group digits that sit on one line with small gaps into multi-digit numbers, read left to right.

Two digits are neighbours when the second lies to the right of the first along a line tilted by at
most MAX_SLOPE_DEG (paper held at an angle), the gap between them is at most MAX_GAP digit heights,
and their heights are alike. Each digit links to its nearest right neighbour; chains of two or more
digits are numbers. Several lines give several numbers.
"""

import math

import numpy as np

from recognizer.core import Detections

MAX_SLOPE_DEG = 35.0
MAX_GAP = 0.7  # of the taller digit's height
MAX_HEIGHT_RATIO = 1.8
# A 1 this much shorter than a digit other than 1 right beside it is punctuation: the comma of
# "1,000" or an apostrophe is read as a 1 on its own. (An exponent is half as tall or more; a
# tall 1 may be a line, a sudoku's or a table's, next to which a digit is no comma.)
PUNCTUATION = 0.4
PUNCTUATION_GAP = 0.6  # beside: at most this far from the digit, of its height


def right_neighbours(xyxy: np.ndarray) -> np.ndarray:
    """For each digit, the index of its right neighbour on the same line, or -1."""
    centre = (xyxy[:, :2] + xyxy[:, 2:]) / 2
    height = xyxy[:, 3] - xyxy[:, 1]
    dx = centre[None, :, 0] - centre[:, None, 0]
    dy = centre[None, :, 1] - centre[:, None, 1]
    taller = np.maximum(height[:, None], height[None, :])
    ratio = taller / np.maximum(np.minimum(height[:, None], height[None, :]), 1)
    gap = xyxy[None, :, 0] - xyxy[:, None, 2]
    slope_ok = np.abs(dy) <= np.tan(math.radians(MAX_SLOPE_DEG)) * np.maximum(dx, 1e-6)
    # Along a tilted line the horizontal gap shrinks; measure it along the line's direction.
    along = gap / np.maximum(np.cos(np.arctan2(np.abs(dy), np.maximum(dx, 1e-6))), 0.5)
    ok = (dx > 0) & slope_ok & (along <= MAX_GAP * taller) & (ratio <= MAX_HEIGHT_RATIO)
    np.fill_diagonal(ok, False)
    distance = np.where(ok, dx, np.inf)
    right = np.where(ok.any(axis=1), distance.argmin(axis=1), -1)
    # Keep a link only if it is mutual: the right digit's nearest left neighbour is this one.
    left = np.where(ok.any(axis=0), distance.argmin(axis=0), -1)
    return np.array([r if r >= 0 and left[r] == i else -1 for i, r in enumerate(right)], np.int64)


def punctuation(xyxy: np.ndarray, digit: np.ndarray) -> np.ndarray:
    """Mask of the 1s that are punctuation beside a digit (see PUNCTUATION)."""
    if len(xyxy) < 2:
        return np.zeros(len(xyxy), bool)
    a, b = xyxy[:, None, :], xyxy[None, :, :]  # a: the mark, b: a digit beside it
    height_a, height_b = a[..., 3] - a[..., 1], b[..., 3] - b[..., 1]
    gap = np.maximum(a[..., 0] - b[..., 2], b[..., 0] - a[..., 2])
    level = (a[..., 1] >= b[..., 1] - 0.2 * height_b) & (a[..., 3] <= b[..., 3] + 0.4 * height_b)
    small = (height_a < PUNCTUATION * height_b) & (gap <= PUNCTUATION_GAP * height_b) & level
    small &= (digit[:, None] == 1) & (digit[None, :] != 1)
    return small.any(axis=1)


def lines(xyxy: np.ndarray) -> list[list[int]]:
    """Chains of two or more neighbouring digits, each listed left to right."""
    if len(xyxy) < 2:
        return []
    right = right_neighbours(xyxy)
    has_left = np.zeros(len(xyxy), bool)
    has_left[right[right >= 0]] = True
    chains = []
    for start in np.nonzero(~has_left)[0]:
        chain = [int(start)]
        while right[chain[-1]] >= 0:
            chain.append(int(right[chain[-1]]))
        if len(chain) >= 2:
            chains.append(chain)
    return chains


def group_numbers(detections: Detections) -> list[dict]:
    """Numbers of two or more digits: box [x, y, w, h], value, confidence, digit indexes."""
    numbers = []
    for chain in lines(detections.xyxy):
        boxes = detections.xyxy[chain]
        x0, y0 = boxes[:, :2].min(axis=0)
        x1, y1 = boxes[:, 2:].max(axis=0)
        numbers.append(
            {
                "box": [
                    round(float(x0)),
                    round(float(y0)),
                    round(float(x1 - x0)),
                    round(float(y1 - y0)),
                ],
                "value": "".join(str(int(detections.digit[i])) for i in chain),
                "confidence": round(float(np.prod(detections.confidence[chain])), 4),
                "digits": chain,
            }
        )
    return numbers
