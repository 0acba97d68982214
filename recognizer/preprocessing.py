"""Turn a grayscale crop of a digit into an MNIST-style 28x28 image.

MNIST digits are white ink on black, their longest side fitted into a 20x20 box with the aspect
kept, and centred by centre of mass in a 28x28 image. A crop cut from a camera frame is dark ink on
light paper, under uneven light, with any stroke width. `to_mnist` does, in order:

- ink extraction: the local paper brightness (a closing wider than any stroke) minus the pixel,
  so light gradients across the crop cancel out, and so does the border of a shadow that
  crosses the digit; faint paper texture is cut off;
- with the digit's box given: a ruled line that runs through the whole crop (a notebook's line
  the digit stands on) is taken out, the strokes written on it kept, and then the ink around
  the box and the pieces mostly outside it (a neighbour's, leaning into it);
- stroke normalization: a thin pen stroke on a large digit would shrink to a hair at 20 px, so
  strokes thinner than MNIST's (relative to the digit size) are thickened before scaling;
- fitting into MNIST_BOX and centring by centre of mass in MNIST_SIZE.

All constants of this contract live here; `training` and `classifier` import them.
"""

import functools
import math

import cv2
import numpy as np

MNIST_SIZE = 28
MNIST_BOX = 20
# The model sees uint8 pixels 0..255 and scales them itself (a Rescaling layer inside the model).
INPUT_SCALE = 1.0 / 255.0

# Stroke width relative to the digit's longest side, as estimated by `stroke_ratio`
# (median over the MNIST test set: 0.107). Thinner strokes are thickened towards it.
MNIST_STROKE_RATIO = 0.11
THIN_STROKE_RATIO = 0.08
# Ink at this fraction of the crop's strongest ink counts as full ink (MNIST strokes saturate).
INK_SATURATION = 0.7
# The strongest ink: the 99.5th percentile, or PEAK_OF_MAX of the maximum if that is higher.
PEAK_OF_MAX = 0.75
# Ink below this fraction of the crop's strongest ink is paper texture or shadow, not ink.
INK_FLOOR = 0.25
# A piece of ink with less than this share of it inside a digit's box is a neighbour's.
NEIGHBOUR_INSIDE = 0.5
# ... and ink below this multiple of the paper's own median "ink" is camera noise: without it a
# noisy, low-contrast crop comes out as a digit on a gray square.
NOISE_FLOOR = 2.0
# Ink weaker than this (in gray levels) is not ink at all: a blank crop stays blank.
MIN_INK_CONTRAST = 24.0
# The closing that finds the paper's brightness (`paper_minus_gray`), relative to the crop's
# shorter side. A third or half of it left the blurred strokes of small digits in the paper,
# and so took them out of the ink.
PAPER_CLOSING = 2 / 3
# A crop is normalized at most this large (its longer side, px): the result is 20 px, and the
# work grows with the crop's area times its strokes' width (a digit 360 px tall in a phone's
# photo, thickened at full size, took 0.75 s).
MAX_CROP_SIDE = 128
INK_QUANTILES = np.array([0.5, 0.995, 1.0])  # noise (the paper's median), high, maximum
# A ruled line through a crop (a digit written on a notebook's line) is inked across the whole
# crop: rows of the padding left and right of the digit's box this much inked are a line's
# (`without_rules`). Its rows on the two sides may differ by RULE_DRIFT of the crop's width
# (a line turned by up to about 12 degrees). Along it, ink RULE_INK_OVER times as strong as the
# line's is a stroke written on it, and so is ink that goes on above or below it (a stroke
# crossing it, or ending on it).
RULE_COVER = 0.9
RULE_DRIFT = 0.2
RULE_INK_OVER = 1.5
# A line has the same paper on both sides: the paper just above and just below it, beside the
# box, differs by at most this share of the line's contrast (the dark line a sharpening camera
# draws along the sheet's edge has the desk on one side).
RULE_SIDES = 0.5


# Every crop of every frame goes through `to_mnist`, on the thread that also classifies; each
# call into OpenCV or NumPy releases and retakes the GIL, which the detection thread wants too.
# So these functions use as few calls per crop as give the same result (measured: 5719 crops
# of the samples come out bit-identical to the plain version, a fifth faster).
LEVELS = np.arange(256, dtype=np.float32)  # uint8 ink levels, for look-up tables


@functools.cache
def square(k: int) -> np.ndarray:
    return np.ones((k, k), np.uint8)


def quantiles_u8(image: np.ndarray, quantiles: np.ndarray, mask=None) -> list[int]:
    """Quantiles (0..1) of a uint8 image (where `mask` is set) from its histogram: ~10x faster
    than np.quantile."""
    cumulative = np.cumsum(cv2.calcHist([image], [0], mask, [256], [0, 256]).ravel())
    return np.searchsorted(cumulative, cumulative[-1] * quantiles).tolist()


def ink_levels(ink: np.ndarray) -> tuple[int, int]:
    """(floor, peak) of a uint8 ink image: below `floor` is paper, `peak` is full-strength ink.

    The median is paper (a crop is mostly paper), its ink level the camera's noise; the
    strongest ink is robust to a few noisy pixels and found even where ink is a tiny share.
    """
    noise, high, top = quantiles_u8(ink, INK_QUANTILES)
    peak = max(high, PEAK_OF_MAX * top)
    # Integer ink below the floor is zeroed: levels up to ceil(floor) - 1 are paper.
    return math.ceil(max(INK_FLOOR * peak, NOISE_FLOOR * noise)) - 1, peak


def paper_minus_gray(gray: np.ndarray) -> np.ndarray:
    """uint8 ink: the local paper brightness minus the pixel.

    The paper's brightness is a closing (a max, then a min filter) wide enough to remove any
    stroke of the crop. Where a shadow's border crosses the crop, it stays a step: the max
    filter alone (blurred, as used before) carried the bright paper over the shadowed side, which
    came out as ink and the digit was misread.
    """
    k = max(3, int(min(gray.shape) * PAPER_CLOSING) | 1)
    return cv2.subtract(cv2.morphologyEx(gray, cv2.MORPH_CLOSE, square(k)), gray)


def ink_table(floor: int, peak: float) -> np.ndarray:
    """Look-up table from uint8 ink to strength 0..1: zero up to `floor`, saturating at 1."""
    table = np.minimum(LEVELS * np.float32(1 / (INK_SATURATION * peak)), np.float32(1.0))
    table[: floor + 1] = 0
    return table


def extract_ink(gray: np.ndarray) -> np.ndarray:
    """White-on-black ink strength in 0..1 of a dark-on-light grayscale crop."""
    ink = paper_minus_gray(gray)
    floor, peak = ink_levels(ink)
    if peak < MIN_INK_CONTRAST:
        return np.zeros(ink.shape, np.float32)
    return cv2.LUT(ink, ink_table(floor, peak))


def stroke_ratio(mask: np.ndarray) -> float:
    """Estimated stroke width (2 * area / boundary length) over the mask's longest side.

    `mask` is uint8, nonzero on ink.
    """
    area = cv2.countNonZero(mask)
    if area == 0:
        return 0.0
    boundary = area - cv2.countNonZero(cv2.erode(mask, square(3)))
    _, _, w, h = cv2.boundingRect(mask)
    side = max(w, h)
    return 2.0 * area / max(boundary, 1) / side


def thicken(ink: np.ndarray) -> np.ndarray:
    """Dilate strokes that are thinner than MNIST's, relative to the digit size."""
    ratio = stroke_ratio(cv2.compare(ink, 0.5, cv2.CMP_GT))
    if ratio == 0.0 or ratio >= THIN_STROKE_RATIO:
        return ink
    side = max(ink.shape)
    grow = int(round((MNIST_STROKE_RATIO - ratio) * side))
    if grow < 1:
        return ink
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow + 1, grow + 1))
    return cv2.dilate(ink, kernel)


def fit_and_center(ink: np.ndarray) -> np.ndarray:
    """Fit white-on-black ink (float 0..1) into MNIST_BOX, centre by mass in MNIST_SIZE; uint8."""
    x, y, w, h = cv2.boundingRect(cv2.compare(ink, 0, cv2.CMP_GT))
    if w == 0:
        return np.zeros((MNIST_SIZE, MNIST_SIZE), np.uint8)
    scale = MNIST_BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(ink[y : y + h, x : x + w], (new_w, new_h), interpolation=interpolation)
    canvas = np.zeros((MNIST_SIZE, MNIST_SIZE), np.float32)
    top, left = (MNIST_SIZE - new_h) // 2, (MNIST_SIZE - new_w) // 2
    canvas[top : top + new_h, left : left + new_w] = small
    moments = cv2.moments(canvas)
    if moments["m00"] > 0:
        cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
        shift = np.float32([[1, 0, (MNIST_SIZE - 1) / 2 - cx], [0, 1, (MNIST_SIZE - 1) / 2 - cy]])
        canvas = cv2.warpAffine(canvas, shift, (MNIST_SIZE, MNIST_SIZE), flags=cv2.INTER_LINEAR)
    # Strengths are 0..1 (interpolation only averages them), so no clipping is needed.
    return (canvas * np.float32(255) + np.float32(0.5)).astype(np.uint8)


def scaled(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """A crop scaled down to MAX_CROP_SIDE if larger, and its scale (1.0 if not scaled)."""
    scale = MAX_CROP_SIDE / max(gray.shape)
    if scale < 1:
        return cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), scale
    return gray, 1.0


def scaled_ink(gray: np.ndarray) -> tuple[np.ndarray, float]:
    """A crop's ink (`extract_ink`), found on a copy scaled down to MAX_CROP_SIDE if larger;
    and the scale of that copy (1.0 if none)."""
    gray, scale = scaled(gray)
    return extract_ink(gray), scale


def ink_to_mnist(ink: np.ndarray) -> np.ndarray:
    """White-on-black ink (float 0..1) as a 28x28 uint8 MNIST-style digit."""
    return fit_and_center(thicken(ink))


def line_rows(strip: np.ndarray) -> list[tuple[int, int]]:
    """Runs (start, end) of the rows of a strip of ink that are RULE_COVER inked."""
    inked = cv2.reduce(cv2.compare(strip, 0, cv2.CMP_GT), 1, cv2.REDUCE_AVG).ravel()
    runs: list[tuple[int, int]] = []
    for row in np.flatnonzero(inked >= RULE_COVER * 255).tolist():
        if runs and runs[-1][1] == row:
            runs[-1] = (runs[-1][0], row + 1)
        else:
            runs.append((row, row + 1))
    return runs


def line_on_paper(gray: np.ndarray, top: int, end: int) -> bool:
    """Whether the rows top..end of a strip of `gray` are a line with the same paper on both
    sides (RULE_SIDES), not the border of a darker area: in a crop, what
    `detection.paper_both_sides` asks of a page's grid lines."""
    if top < 3 or end > len(gray) - 3:
        return False
    # (A row away from it: the line's blurred edges are not paper.)
    above, below = cv2.mean(gray[top - 3 : top - 1])[0], cv2.mean(gray[end + 1 : end + 3])[0]
    line = cv2.mean(gray[top:end])[0]
    return abs(above - below) <= RULE_SIDES * (min(above, below) - line)


def without_rules(ink: np.ndarray, gray: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """`ink` (float 0..1) of the crop `gray` without the ruled lines that cross the whole crop,
    seen in the padding left and right of the digit's `box` (x0, y0, x1, y1), with the same
    paper on both sides; the strokes written on them stay.

    The detection stage erases such lines from its mask, so the digit's box is right, but its
    crop still held the line: a 7 standing on a dark rule read as a 2.
    """
    x0, _, x1, _ = box
    h, w = ink.shape
    if x0 < 2 or w - x1 < 2:  # no padding on a side (the frame's edge): nothing to compare
        return ink
    left = line_rows(ink[:, :x0])
    right = line_rows(ink[:, x1:]) if left else []
    out = ink
    columns = np.arange(w)
    xl, xr = x0 / 2, (x1 + w) / 2  # where the two sides' rows are measured
    for top_l, end_l in left:
        for top_r, end_r in right:
            yl, yr = (top_l + end_l - 1) / 2, (top_r + end_r - 1) / 2
            if abs(yl - yr) > RULE_DRIFT * w:
                continue
            if not (
                line_on_paper(gray[:, :x0], top_l, end_l)
                and line_on_paper(gray[:, x1:], top_r, end_r)
            ):
                continue
            half = max(end_l - top_l, end_r - top_r) / 2 + 1  # and its blurred edges
            centre = yl + (yr - yl) * (columns - xl) / (xr - xl)  # the line's row, by column
            # The strip of rows the line runs through, and one row more each side.
            y0 = max(0, int(np.floor(centre.min() - half)) - 1)
            y1 = min(h, int(np.ceil(centre.max() + half)) + 2)
            strip = out[y0:y1]
            band = np.abs(np.arange(y0, y1)[:, None] - centre[None, :]) <= half
            peaks = cv2.reduce(ink[top_l:end_l, :x0], 0, cv2.REDUCE_MAX)
            strength = cv2.mean(peaks)[0]  # the line's ink, at its middle
            # Ink that goes on just above or below the band: a stroke crossing or meeting it.
            above = np.maximum((centre - half - 1).astype(np.intp), 0)
            below = np.minimum((centre + half + 2).astype(np.intp), h - 1)
            stroke = (ink[above, columns] > 0) | (ink[below, columns] > 0)
            erase = band & ~stroke[None, :] & (strip < RULE_INK_OVER * strength)
            if out is ink:
                out = ink.copy()
            out[y0:y1][erase] = 0
    return out


def without_neighbours(ink: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The ink without the pieces that lie mostly outside the box (x0, y0, x1, y1): a
    neighbour's, reaching into it.

    Slanted handwriting leans each digit over the next, so their boxes overlap: the foot of an
    italic 1 reached under the 8 after it, and the 8's loop into the 1's box, which then read
    as a 6. A piece with less than NEIGHBOUR_INSIDE of its ink inside the box is taken out;
    the piece with the most ink inside never is (a digit joined to what it touches).
    """
    x0, y0, x1, y1 = box
    count, labels = cv2.connectedComponents((ink > 0).astype(np.uint8), connectivity=8)
    if count <= 2:
        return ink
    total = np.bincount(labels.ravel(), minlength=count)
    inside = np.bincount(labels[y0:y1, x0:x1].ravel(), minlength=count)
    inside[0] = 0
    neighbour = inside < NEIGHBOUR_INSIDE * total
    neighbour[0] = False
    neighbour[int(inside.argmax())] = False
    if not neighbour.any():
        return ink
    ink = ink.copy()
    ink[neighbour[labels]] = 0
    return ink


def to_mnist(gray: np.ndarray, ink_box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """A dark-on-light grayscale crop (uint8, HxW) as a 28x28 uint8 MNIST-style digit.

    `ink_box` (x0, y0, x1, y1 in crop pixels) keeps only the ink inside it: the crop around it is
    context for judging the paper, and any ink there belongs to a neighbour. A crop larger than
    MAX_CROP_SIDE is first scaled down to it.
    """
    if gray.ndim != 2 or gray.size == 0:
        raise ValueError(f"to_mnist takes a non-empty 2-D grayscale crop, got shape {gray.shape}")
    gray, scale = scaled(gray)
    ink = extract_ink(gray)
    if ink_box is not None:
        x0, y0, x1, y1 = (round(v * scale) for v in ink_box) if scale < 1 else ink_box
        ink = without_rules(ink, gray, (x0, y0, x1, y1))
        ink = without_neighbours(ink, (x0, y0, x1, y1))
        ink[:y0] = 0
        ink[y1:] = 0
        ink[:, :x0] = 0
        ink[:, x1:] = 0
    return ink_to_mnist(ink)
