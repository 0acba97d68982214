"""Find digit-like marks in a grayscale frame and cut them out as MNIST-style crops.

Method:
- work on a copy no larger than DETECT_MAX_SIDE (boxes are mapped back to full resolution, and
  crops are cut from the full-resolution frame); a still (image, folder) gets a second pass on a
  copy of up to FINE_DETECT_MAX_SIDE for digits too small for the first (a page photographed
  whole with a 12 MP phone: digits 1-3% of its height; a video gets it only where such digits
  are read, see the pipeline's `Fine`), and one on a copy padded with paper for
  a digit that fills it (a photo cropped to one digit);
- long, thin, nearly straight vertical lines (squared paper's grid, a notebook's margin: see
  `lines`) are erased from the frame first, with the grid's horizontal lines, and so are boxes
  and circles drawn around digits (a form's fields, an exam's answers): digits written over or
  against them would otherwise join them and be lost, and their crops would carry the lines;
- adaptive mean threshold with a block relative to the frame size: dark ink on light paper under
  uneven light and shadow; its offset grows with the camera noise measured on the frame (dim
  light), so noise specks do not join the digits; a small vertical closing joins strokes that
  the threshold broke;
- thin horizontal lines are taken out of that mask (ruled paper, underlines), but not those
  that are a digit's own stroke: crossed or met by another (a 4's bar, a 5's hat, a 7's top
  lifted from its stem), shorter than the digit is tall and as dark (`remove_rules`);
- where a shadow's border crosses the page, the threshold also marks a band along its dark
  side, which swallows the digits it touches: that band is taken out again (`past_steps`), as
  it is no darker than the paper where it is (`paper_level`). A still is searched so always, a
  video only while that finds more than the plain search (`Steps`);
- outer contours (also of marks inside a drawn box), filtered by size relative to the frame,
  aspect and ink density; a candidate must have MIN_CONTRAST gray levels of ink on paper
  (rejects wood grain, paper texture), or FAINT_CONTRAST if that stands well above the paper's
  texture around it (faint writing: `Judge.faint`), and mostly paper around it (rejects the
  sheet's edge against the desk, shadow borders), shadowed paper counting as paper when
  searching past shadows' borders;
- pieces of one broken digit (a 5's detached hat, a gap in a 4) are merged when one lies over the
  other, or when a much shorter piece lies right beside a taller one within its height (a 4's
  arm); digits side by side stay apart, and a mark wholly inside another box (a digit in a
  drawn box, or on a sticky note that the threshold outlines against a dark desk) stays apart,
  and so does a piece touching the frame's edge (the desk beyond the sheet);
- at most MAX_CANDIDATES per video frame (STILL_MAX_CANDIDATES per still), the tallest first, so
  a frame of text or texture cannot blow up the per-frame time.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from recognizer.core import Detections, box_containment, box_iou
from recognizer.lines import LINE_WIDTH_PX, erase_lines, line_segments
from recognizer.preprocessing import quantiles_u8, square, to_mnist

DETECT_MAX_SIDE = 640  # detect on a downscaled copy when the frame is larger (video, camera)
FINE_DETECT_MAX_SIDE = 2048  # the fine pass, for digits too small for that copy (`find_boxes`)
FINE_OVERLAP = 1.5  # ... and up to this many times the first pass's smallest (`small_boxes`)
# A copy this many times smaller or more is taken from the frame with its ink widened first by
# a minimum filter half as wide: a pen's line a pixel or two wide keeps its darkness (`downscale`).
WIDEN_INK_FROM = 4
# Size limits are relative to the frame's shorter side up to this many pixels (a webcam frame's);
# on a larger detection copy (a still) the smallest digit stays MIN_HEIGHT_FRACTION of it.
SIZE_REFERENCE_PX = 480
BLOCK_FRACTION = 1 / 12  # adaptive threshold block, relative to the shorter side
THRESHOLD_OFFSET = 12  # gray levels darker than the local mean that count as ink
NOISE_OFFSET = 3.0  # ... or this many standard deviations of the camera noise, if more
NOISE_SUBSAMPLE = 4  # the noise is estimated on every fourth pixel of every fourth row
NOISE_KERNEL = np.float32([[1, -2, 1], [-2, 4, -2], [1, -2, 1]])
# A step in brightness (a shadow's border, the sheet's edge), not ink (`past_steps`): marked
# pixels at most this share of the offset darker than the paper (`paper_level`), ...
STEP_SHARE = 0.5
STEP_WEAK = 4  # ... and those within half a block that are less than this many offsets darker.
STEPS_EVERY = 15  # video frames between checks whether to look past steps (`Steps`)
STEPS_SAME_IOU = 0.5  # ... which are needed where they find other marks (`differ`)
PAPER_SCALE = 4  # `paper_level` works on a copy this many times smaller
MEDIAN = np.array([0.5])
MIN_HEIGHT_PX = 10  # in full-resolution pixels
MIN_HEIGHT_FRACTION = 0.02  # of the frame's shorter side
# A digit on a note held up close to a webcam fills most of the frame's height.
MAX_HEIGHT_FRACTION = 0.9
BOX_MAX_HEIGHT = 0.7  # a box drawn around a digit is at most this tall (`box_sides`)
MIN_ASPECT, MAX_ASPECT = 0.04, 1.6  # width / height of one digit
MAX_TOUCHING_ASPECT = 3.2  # up to three touching digits, split later by `splitting`
MIN_FILL, MAX_FILL = 0.06, 0.85  # ink pixels / box area (a thin 1 may fill its box: see below)
LARGE_FILL_PX = 6.0  # ... or, if less, this many pixels over the box's height (a pen's width)
SPARSE_FILL_PX = 3.0  # ... or down to this many (a thin pen's large digit), if no more than ...
SPARSE_RING_INK = 0.01  # ... this share of the ring around the box is ink (`Judge.alone`)
THIN_ASPECT = 0.35  # boxes narrower than this are strokes; any fill is fine
MIN_CONTRAST = 40.0  # gray levels between paper and ink around a candidate ...
FAINT_CONTRAST = 22.0  # ... or this many (light pencil, a washed-out image), if that is ...
FAINT_OVER_TEXTURE = 4.0  # ... this many times the texture of the paper around it
TEXTURE_QUANTILES = (10, 90)  # the paper's texture: the spread of the ring around a mark
RULE_LENGTH_DIVISOR = 20  # a horizontal line longer than width / 20 is a rule, not a stroke
RULE_BAND_PX = 5
RULE_MAX_THICKNESS_PX = 5  # on the detection copy; thicker horizontal ink is a stroke, not a rule
LONG_RULE_DIVISOR = 5  # ... but a line longer than width / 5 (and LONG_RULE_MIN_PX) is a rule ...
LONG_RULE_MIN_PX = 96  # (a small image's width / 5 is as long as a digit's bar)
LONG_RULE_THICKNESS_PX = 9  # ... up to this thick (a pen's line, widened by the threshold)
# A thin horizontal line that a stroke meets, either crossing it (ink leaves a band BAR_NEAR_PX
# along it above and below, at most BAR_CROSS_PX apart) or at one side while the line is at
# least BAR_BARE bare of thick strokes (with nothing above it, a stroke may start up to
# BAR_LIFT of its length below it: a 7's top the pen lifted from), at least BAR_INK as dark as
# the strokes there (a ruled line is often fainter than the ink on it), no longer than
# BAR_REACH times the height of the marks it touches, reaching past them by at most
# BAR_OVERHANG of it, and not the side of a box (a mark touches both its ends, within BAR_END
# of its length, and it is at least BAR_SIDE as long as that mark is wide; a loop's flat top
# is shorter) is a mark's own stroke (the bar of a 4, the hat of a 5, the top of a large 0
# written with a thin pen), not a rule (`digit_bars`). Lines longer than BAR_LONGEST of the
# frame's height (the bar of a digit MAX_HEIGHT_FRACTION as tall as the frame) are rules.
BAR_REACH = 1.5
BAR_OVERHANG = 1.0
BAR_INK = 0.6
BAR_END = 0.15
BAR_SIDE = 0.8
BAR_CONTRAST = MIN_CONTRAST / 2  # gray levels, on average over a line's blurred edges too
BAR_NEAR_PX = 6
BAR_CROSS_PX = 3
BAR_LIFT = 0.12
BAR_BARE = 0.5
BAR_LONGEST = 0.6  # of the frame's height
CROSS_KERNEL = np.ones((1, 2 * BAR_CROSS_PX + 1), np.uint8)
SQUARE3 = np.ones((3, 3), np.uint8)
# The ring around a box that must be mostly paper, relative to its longer side. Narrow: a digit
# that fills a sticky note has the desk a little way off (0.2 rejected digits filling 75% of one).
RING_FRACTION = 0.1
MAX_DARK_RING = 0.25
# A camera that sharpens (most phones, many webcams) draws a dark line along the desk's side of
# the sheet's edge, which the desk's grain breaks into pieces that read as 1s, 7s and 4s; the
# ring above lets them pass, as the desk is not dark beside so dark a line. Such a piece has
# the paper on one side and the desk on the other in every row (`edge_lines`): the paper just
# beside its ink differs by EDGE_SIDES of its ink contrast even in the EDGE_ROWS share of its
# rows where it differs least. Measured: 157 of 166 such 1s, 7s and 4s on 9 sharpened scenes
# above it; no digit of 14 scenes and the samples above 0.3; of 586 digits on pages under a
# hard shadow (35-65% of the light), 2 (1s across its border). Only marks whose brightest
# paper left and right of the box differs by EDGE_LOOK of the contrast are looked at so.
EDGE_DIGITS = (1, 4, 7)
EDGE_SIDES = 0.5
EDGE_ROWS = 0.1
EDGE_LOOK = 0.25
# A 1 may be a dash of a longer straight line (a crease, a faint pencil line broken by the
# paper's grain): such a line runs on past both its ends along its own axis. Looked for from
# DASH_NEAR to DASH_FAR of the mark's length past each end, where DASH_INK of the places must
# be as dark as its ink (`line_dashes`). A dashed line's gaps are a few pixels; a column of 1s
# is written with gaps of a fifth of their height or more, a ruled line or a box's side only
# crosses that stretch.
DASH_NEAR = 0.05
DASH_FAR = 0.25
DASH_INK = 0.8
MERGE_OVERLAP = 0.6  # horizontal overlap (of the narrower box) that merges stacked pieces
MERGE_GAP = 0.3  # vertical gap, relative to the taller piece, that still merges ...
STACKED_GAP = 0.15  # ... or this, for pieces of alike heights (digits in rows close together)
STACKED_ALIKE = 0.6  # heights alike: the shorter at least this share of the taller
# ... any gap, if both are digit-shaped (width / height at most this: a round 0 or a wide 2 is
# one, an 8's halves apart at its waist are wider) ...
STACKED_UPRIGHT = 1.3
STACKED_PAIR = 0.5  # ... and together as narrow as two digits (not an 8 of two narrow loops)
STACKED_COLUMN = 0.25  # ... but not as thin as a 1 (a broken 1 is one digit)
SIDE_PIECE = 0.6  # a piece at most this share of its neighbour's height, beside it ...
SIDE_GAP = 0.1  # ... at most this far away (of the neighbour's height), merges with it
SIDE_MIN = 0.3  # ... if at least this share of its height (a 4's arm), or flatter but ...
SIDE_TOP = 0.33  # ... in its top third (a 7's bar): not a minus or equals sign before a digit
HANG = 0.4  # a stem reaching below a piece beside it by this share of its height is its stem
# Pieces of one digit are of its scale: the longer side of the smaller at least this share of
# the larger's (a 5's hat is as wide as half the 5 is tall). Not so a speck beside a digit, nor a
# digit beside a mark many times its size whose box reaches over it (a pen on the page).
PIECE_SCALE = 0.2
REGROUP_ROUNDS = 2  # times a merged group turned down is judged again without some pieces
# Candidates a frame keeps, tallest first: each costs 0.1-0.5 ms to cut and read, so a video frame
# of text or texture is bounded; a photo of a page may hold hundreds of digits.
MAX_CANDIDATES = 128
STILL_MAX_CANDIDATES = 512
MAX_PIECES = 400  # contours considered for merging, a bound on work for frames full of texture
STILL_PAD = 0.35  # paper added around a still to find a digit that fills it (`filling_boxes`)
FILL_SHARE = 0.6  # ... a digit that fills it: this share of its height or width
FILL_TALLER = 0.7  # ... taken from here when taller than this share, or touching the edges
SLIVER = 0.2  # ... and not narrower than this share of its width (a neighbour cut by the edge)
EDGE_INK = 0.3  # ... the paper at the still's edges: darker runs up to this share are ink
SOLID_DARK = 0.3  # a dark area this wide (of the longer side) is no stroke: not a digit crop
LIT_PAPER = np.array([0.9])  # ... dark against this quantile of the still's gray levels, at least
# ... looked for only where the other passes found at most this many marks: a crop of a digit
# held 1 to 3 (140 crops); a page under a phone's shadow, whose outline was taken for a digit
# filling it (and everything inside for its pieces), a dozen.
FILL_MAX_FOUND = 4
# A video frame has no such search, but a digit held up close to the webcam may be written with
# strokes wider than the threshold's block, which outlines them in pieces: where the first pass
# found at most FILL_MAX_FOUND marks, marks taller than FILL_TALLER are looked for on a copy
# half its size, with a block COARSE_BLOCK times as wide (`large_boxes`).
COARSE_BLOCK = 2
SAME_BOX_IOU = 0.9  # ... and added to its marks, unless one of them has the same box
# ... between such looks while they find nothing (`WhileFound`): about 1 ms of a 640x480
# frame, a quarter of a frame's detection where few marks are in view.
LARGE_EVERY = 10
DARK_GROUND = 100  # an image whose border and median are darker may hold light ink (see pipeline)
CROP_PAD = 0.15  # context around a box when cutting a crop, relative to its longer side
BOX_FILL = 0.9  # a drawn box's outline fills its bounding rectangle (`box_sides`)
CIRCLE_FIT = 0.08  # a drawn circle's outline is this close to an ellipse (`circle_segments`)
CIRCLE_MARK = 0.3  # ... and holds a mark this share of its hole's height (or reaching in so far)
CIRCLE_THIN = 0.12  # ... a thin one: its line at most this share of its width
CIRCLE_TAKEN = 0.15  # ... or one touching it that takes this share of the hole (or splits it)
# Video frames between looks for a page's lines while none are in view (`WhileFound`): the
# search costs about 1 ms of a 640x480 frame where digits or texture look line-like in places
# (half of all detection).
RULING_EVERY = 10


def downscale(gray: np.ndarray, max_side: int = DETECT_MAX_SIDE) -> tuple[np.ndarray, float]:
    """A copy whose longer side is at most `max_side`, and the factor back to full size.

    Averaged down by 6 (a 12 MP photo), a ballpoint's 3 px line is half a pixel wide at half
    its contrast: a large digit written with it was too faint, or filled too little of its box,
    to be a candidate. From WIDEN_INK_FROM times smaller (frames 2560 px long and more, and the
    smaller copies of `large_boxes` and `filling_boxes`), a minimum filter `factor / 2` wide
    first keeps such lines near full contrast (the boxes found grow by about as many pixels).
    On 24 photos of 360 thin-pen digits, 303 were read before and 324 now. A filter as wide
    as `factor`, from 1080p on, read 334 but closed the gaps between small digits of numbers
    in 1080p video (recall 0.889 -> 0.809).
    """
    h, w = gray.shape
    factor = max(h, w) / max_side
    if factor <= 1:
        return gray, 1.0
    if factor >= WIDEN_INK_FROM:
        reach = int(factor // 2)
        gray = cv2.erode(gray, np.ones((reach, reach), np.uint8))
    small = cv2.resize(gray, (round(w / factor), round(h / factor)), interpolation=cv2.INTER_AREA)
    return small, factor


def noise_sigma(gray: np.ndarray) -> float:
    """The camera noise's standard deviation in gray levels, from a subsample of the frame.

    Immerkaer's estimator, made robust to edges with a median: the 3x3 Laplacian-difference
    kernel cancels smooth content, and on Gaussian noise of deviation s its response has
    deviation 6 s, whose absolute value has median 0.6745 * 6 s.
    """
    response = cv2.filter2D(gray[::NOISE_SUBSAMPLE, ::NOISE_SUBSAMPLE], cv2.CV_16S, NOISE_KERNEL)
    magnitude = cv2.convertScaleAbs(response)  # |response|, saturated at 255
    (median,) = quantiles_u8(magnitude, MEDIAN)
    return median / (0.6745 * 6)


def block_size(shape: tuple[int, int]) -> int:
    """The adaptive threshold's block: odd, relative to the shorter side."""
    return max(11, int(min(shape) * BLOCK_FRACTION) | 1)


def paper_level(gray: np.ndarray) -> np.ndarray:
    """The paper's brightness under each pixel: a closing (a max, then a min filter) wider than
    any stroke, so strokes vanish, while a shadow's border or the sheet's edge stays a step.
    Found on a copy PAPER_SCALE times smaller (it varies slowly, but at such steps)."""
    h, w = gray.shape
    small = cv2.resize(
        gray, (max(1, w // PAPER_SCALE), max(1, h // PAPER_SCALE)), interpolation=cv2.INTER_AREA
    )
    k = (2 * block_size(gray.shape) // PAPER_SCALE) | 1
    closed = cv2.morphologyEx(
        small, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    )
    return cv2.resize(closed, (w, h), interpolation=cv2.INTER_LINEAR)


def ink_offset(gray: np.ndarray) -> float:
    """Gray levels darker than the local mean that count as ink.

    In a noisy frame (a webcam in dim light) a fixed offset marks the paper's noise as ink, and
    the specks join the digits: the offset grows with the noise.
    """
    return max(THRESHOLD_OFFSET, NOISE_OFFSET * noise_sigma(gray))


def threshold(gray: np.ndarray, widen: int = 1) -> np.ndarray:
    """Ink (255) against the local mean over `block_size`, `widen` times as wide, before ruled
    lines are removed."""
    return cv2.adaptiveThreshold(
        gray,
        255,
        cv2.ADAPTIVE_THRESH_MEAN_C,
        cv2.THRESH_BINARY_INV,
        widen * block_size(gray.shape) | 1,
        ink_offset(gray),
    )


def past_steps(gray: np.ndarray, raw: np.ndarray, paper: np.ndarray) -> np.ndarray:
    """`raw` (`threshold(gray)`) without the bands it marks along steps in brightness.

    The dark side of a shadow's border, or the desk beside the sheet's edge, is darker than the
    mean across the step: `threshold` marks a band of it, which joins the digits near it and
    swallows those that touch it. It is no darker than the paper where it is (`paper`, from
    `paper_level`), though. The band goes, and weak ink beside it (the step's blurred edge, the
    desk's grain), but not the strokes that cross it.
    """
    offset = ink_offset(gray)
    below = cv2.subtract(paper, gray)
    step = cv2.bitwise_and(raw, cv2.compare(below, STEP_SHARE * offset, cv2.CMP_LE))
    near = cv2.dilate(step, square(block_size(gray.shape) // 2 | 1))
    weak = cv2.compare(below, STEP_WEAK * offset, cv2.CMP_LT)
    return cv2.subtract(raw, cv2.bitwise_and(near, weak))


def ink_mask(gray: np.ndarray, raw: np.ndarray | None = None) -> np.ndarray:
    """The ink mask searched for digits; `raw` is `threshold(gray)` if already computed."""
    mask = remove_rules(threshold(gray) if raw is None else raw, gray)
    # Vertical only: a square closing would join digits written close side by side.
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, np.ones((3, 1), np.uint8))


def ruling(gray: np.ndarray, raw: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """(vertical, horizontal) lines of a squared or margined page (`line_segments`), or None.

    `raw` is `threshold(gray)`. Only a page with vertical lines is treated: plain ruled paper's
    horizontal rules are taken out of the ink mask by `remove_rules` at no extra cost.
    """
    vertical = line_segments(raw, gray)
    horizontal = np.zeros((0, 4), np.float32)
    if len(vertical):
        horizontal = line_segments(np.ascontiguousarray(raw.T), gray.T)[:, [1, 0, 3, 2]]
    sides = box_sides(raw)
    if not len(vertical) and not len(sides[0]):
        return None
    return np.concatenate([vertical, sides[0]]), np.concatenate([horizontal, sides[1]])


def box_sides(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(vertical, horizontal) sides of boxes drawn in an ink mask (a form's fields, a cell),
    with the segments along circles drawn around digits (`circle_segments`).

    A box is a thin outline around a hole nearly as large as itself: its outer contour fills
    BOX_FILL of its bounding rectangle (a written 0, an ellipse, fills about 0.79) and its
    holes together (a digit touching the box from inside splits the hole) reach within
    LINE_WIDTH_PX of every side. Such outlines that fill less are looked at as circles.
    """
    none = np.zeros((0, 4), np.float32)
    contours, hierarchy = cv2.findContours(raw, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if hierarchy is None:
        return none, none
    h_img, w_img = raw.shape
    smallest = max(MIN_HEIGHT_PX, MIN_HEIGHT_FRACTION * min(h_img, w_img, SIZE_REFERENCE_PX))
    vertical, horizontal = [], []
    outers = np.flatnonzero(hierarchy[0][:, 3] == -1)
    marks = []  # the boxes of all outer contours, found once a circle is to be judged

    def mark_in(hx: int, hy: int, hw: int, hh: int) -> bool:
        """Whether another mark lies in a hole with this bounding box."""
        if not marks:
            marks.append(np.array([cv2.boundingRect(contours[i]) for i in outers]).reshape(-1, 4))
        x, y, w, h = marks[0].T
        inside = (h >= CIRCLE_MARK * hh) & (x > hx) & (y > hy) & (x + w < hx + hw)
        return bool((inside & (y + h < hy + hh)).any())

    for outer in outers[hierarchy[0][outers, 2] != -1]:
        x, y, w, h = cv2.boundingRect(contours[outer])
        if min(w, h) < smallest or h > BOX_MAX_HEIGHT * h_img:
            continue
        holes, child = [], hierarchy[0][outer][2]
        while child != -1:
            holes.append(contours[child])
            child = hierarchy[0][child][0]
        hx, hy, hw, hh = cv2.boundingRect(np.concatenate(holes))  # a digit may split the hole
        insets = np.array([hx - x, hy - y, x + w - hx - hw, y + h - hy - hh])
        if insets.min() < 0 or insets.max() > LINE_WIDTH_PX:
            continue
        if cv2.contourArea(contours[outer]) < BOX_FILL * w * h:
            holds_mark = functools.partial(mark_in, hx, hy, hw, hh)
            for x0, y0, x1, y1 in circle_segments(contours[outer], holes, insets, holds_mark):
                (vertical if abs(y1 - y0) > abs(x1 - x0) else horizontal).append([x0, y0, x1, y1])
            continue
        left, top, right, bottom = (
            x + insets[0] / 2,
            y + insets[1] / 2,
            x + w - insets[2] / 2,
            y + h - insets[3] / 2,
        )
        vertical += [[left, y, left, y + h], [right, y, right, y + h]]
        horizontal += [[x, top, x + w, top], [x, bottom, x + w, bottom]]
    return np.float32(vertical).reshape(-1, 4), np.float32(horizontal).reshape(-1, 4)


def circle_segments(
    outline: np.ndarray, holes: list, insets: np.ndarray, holds_mark: Callable[[], bool]
):
    """The segments (x0, y0, x1, y1) along a circle drawn around a digit, or none.

    A circle is an outline close to an ellipse all along (CIRCLE_FIT), around a hole nearly as
    large as itself, its line at most CIRCLE_THIN of its width. A 0 written with a pen is one
    too: a circle holds a mark, either apart inside its hole (`holds_mark()`), or touching it
    from inside, which splits the hole or takes CIRCLE_TAKEN of it, reaching into it
    (`reaches_in`; not a 0's closing hook). (A 0 with a slash through it is taken for a
    circled 1.) The segments run along the middle of the circle's line.
    """
    if len(outline) < 5:
        return []
    (cx, cy), (width, height), angle = cv2.fitEllipse(outline)
    if min(width, height) <= 0:
        return []
    ring = insets.mean()
    if ring > CIRCLE_THIN * min(width, height):  # a 0 written with a thick pen
        return []
    areas = [cv2.contourArea(hole) for hole in holes]
    interior = np.pi / 4 * max(width - 2 * ring, 1) * max(height - 2 * ring, 1)
    split = len(areas) > 1 and sorted(areas)[-2] >= CIRCLE_TAKEN * sum(areas)
    taken = sum(areas) < (1 - CIRCLE_TAKEN) * interior and reaches_in(holes[np.argmax(areas)])
    if not (split or taken or holds_mark()):
        return []
    # Last, as it costs most: the fit along the whole outline. CHAIN_APPROX_SIMPLE keeps only
    # its corners, and a rectangle's four lie on an ellipse.
    t = np.radians(angle)
    corners = outline.reshape(-1, 2).astype(np.float32)
    sides = np.roll(corners, -1, axis=0) - corners
    steps = np.maximum(1, np.abs(sides).max(axis=1).astype(int))
    points = (
        np.repeat(corners, steps, axis=0)
        + np.repeat(sides / steps[:, None], steps, axis=0)
        * (np.arange(steps.sum()) - np.repeat(np.cumsum(steps) - steps, steps))[:, None]
    )
    points -= (cx, cy)
    u = (points[:, 0] * np.cos(t) + points[:, 1] * np.sin(t)) / (width / 2)
    v = (-points[:, 0] * np.sin(t) + points[:, 1] * np.cos(t)) / (height / 2)
    if np.abs(np.hypot(u, v) - 1).mean() > CIRCLE_FIT:
        return []
    axes = (max(1, round((width - ring) / 2)), max(1, round((height - ring) / 2)))
    poly = cv2.ellipse2Poly((round(cx), round(cy)), axes, round(angle), 0, 360, 10)
    return np.concatenate([poly[:-1], poly[1:]], axis=1).tolist()


def reaches_in(hole: np.ndarray) -> bool:
    """Whether a mark touching a ring from inside reaches into its `hole` (a contour) by
    CIRCLE_MARK of the hole's narrower side: a digit does, the hook a pen leaves where it
    closes a 0 does not."""
    hull = cv2.convexHull(hole, returnPoints=False)
    if len(hole) < 4 or len(hull) < 4:
        return False
    try:
        defects = cv2.convexityDefects(hole, hull)
    except cv2.error:  # a contour that turns back on itself
        return True
    if defects is None:
        return False
    _, _, w, h = cv2.boundingRect(hole)
    return defects.reshape(-1, 4)[:, 3].max() / 256 >= CIRCLE_MARK * min(w, h)


class WhileFound:
    """A search for the frames of one video, in order, at a fraction of its cost: in every
    frame while it finds something, and otherwise only in every `every`-th frame it is asked
    about (`nothing` in between). A page, or a digit held up close, brought into view is still
    found within a third of a second at 30 fps (`every` 10)."""

    def __init__(self, search: Callable, every: int, nothing=None) -> None:
        self.search, self.every, self.nothing = search, every, nothing
        self.wait = 0

    def __call__(self, *args):
        if self.wait:
            self.wait -= 1
            return self.nothing
        found = self.search(*args)
        self.wait = 0 if found is not None and len(found) else self.every - 1
        return found


def merge_pieces(boxes: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
    """The boxes of `merge_groups`' groups."""
    return group_boxes(boxes, merge_groups(boxes, shape))


def group_boxes(boxes: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Per group (labels 0..G-1), the box around its members' boxes."""
    merged = np.zeros((int(group.max(initial=-1)) + 1, 4), boxes.dtype)
    merged[group] = boxes  # any member's box, then grown to all of them
    np.minimum.at(merged[:, :2], group, boxes[:, :2])
    np.maximum.at(merged[:, 2:], group, boxes[:, 2:])
    return merged


def regroup(boxes: np.ndarray, group: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """`merge_groups` again, each piece merging only with pieces of its former group."""
    return merge_groups(boxes, shape, within=group)


def merge_groups(
    boxes: np.ndarray, shape: tuple[int, int] | None = None, within: np.ndarray | None = None
) -> np.ndarray:
    """Group labels (0..G-1) of boxes stacked over each other with a small vertical gap (pieces
    of one digit); with `within` (labels), only boxes with the same label may join.

    With the frame's `shape`, a piece touching the frame's edge is not merged with one that does
    not: it is a digit cut off by the edge, dropped anyway, or the desk beyond the sheet's edge,
    and merging would drop the digit beside it with it.

    Pairs are judged on the original boxes and joined transitively (union-find), so the cost is
    one vectorized pairwise test rather than a loop that re-tests after every merge.
    """
    n = len(boxes)
    if n < 2:
        return np.zeros(n, np.int64)
    a, b = boxes[:, None, :], boxes[None, :, :]
    top, bottom = np.minimum(a[..., 1], b[..., 1]), np.maximum(a[..., 3], b[..., 3])
    taller = np.maximum(a[..., 3] - a[..., 1], b[..., 3] - b[..., 1])
    union_w = np.maximum(a[..., 2], b[..., 2]) - np.minimum(a[..., 0], b[..., 0])
    # A box wholly inside another is not a piece of it: merging would only drop it, and the
    # outer one may be a frame around it (a drawn box, the desk's edge around a sticky note).
    inside = (a[..., 0] >= b[..., 0]) & (a[..., 1] >= b[..., 1]) & (a[..., 2] <= b[..., 2])
    inside &= a[..., 3] <= b[..., 3]
    # Two pieces of alike heights over each other, apart by more than STACKED_GAP, are digits in
    # rows (a sum written in columns), not the halves of one; a shorter piece is a 5's tail.
    h_a, h_b = a[..., 3] - a[..., 1], b[..., 3] - b[..., 1]
    alike = np.minimum(h_a, h_b) >= STACKED_ALIKE * taller
    reach = np.where(alike, STACKED_GAP, MERGE_GAP) * taller
    # Alike and each digit-shaped (not a broken 8's wide halves), they are two digits at any gap.
    upright = (a[..., 2] - a[..., 0] <= STACKED_UPRIGHT * h_a) & (
        b[..., 2] - b[..., 0] <= STACKED_UPRIGHT * h_b
    )
    two = alike & upright & (union_w >= STACKED_COLUMN * (bottom - top))
    two &= union_w <= STACKED_PAIR * (bottom - top)
    reach = np.where(two, -1, reach)
    close = over_each_other(boxes, reach) & ~inside & ~inside.T
    # A much shorter piece right beside a taller one and within its height is a piece of it
    # too: the arm of a 4 written in two strokes that do not meet, a 7's bar. (A flat one lower
    # down is a minus or equals sign written close before a digit.)
    x_gap = np.maximum(a[..., 0], b[..., 0]) - np.minimum(a[..., 2], b[..., 2])
    beside = (x_gap <= SIDE_GAP * h_b) & (x_gap > -0.5 * (a[..., 2] - a[..., 0]))
    spanned = (a[..., 1] >= b[..., 1]) & (a[..., 3] <= b[..., 3])
    flat_below_top = (h_a < SIDE_MIN * h_b) & (a[..., 1] - b[..., 1] > SIDE_TOP * h_b)
    side = (h_a <= SIDE_PIECE * h_b) & ~flat_below_top & spanned & beside
    side &= union_w <= MAX_ASPECT * (bottom - top)
    # A thin stroke right of a piece, from within its height down well below it, is the stem
    # of a 9 or a 4 that the pen did not join to its loop or arm (digits side by side on one
    # line end about level, and a minus, a plus or a smaller letter starts lower down).
    w_b = b[..., 2] - b[..., 0]
    hang = beside & (w_b <= THIN_ASPECT * h_b) & (a[..., 0] < b[..., 0])
    hang &= (a[..., 1] <= b[..., 1]) & (b[..., 1] < a[..., 3]) & (h_a >= SIDE_MIN * h_b)
    hang &= b[..., 3] - a[..., 3] >= HANG * h_a
    hang &= union_w <= MAX_ASPECT * (bottom - top)
    close |= side | side.T | hang | hang.T
    # A speck (a dot of dot-grid paper, a fleck of dirt) is no piece of a digit beside it, nor
    # is a digit a piece of a pen lying on the page, many times its size.
    extent = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    close &= np.minimum.outer(extent, extent) >= PIECE_SCALE * np.maximum.outer(extent, extent)
    if shape is not None:
        h, w = shape
        edge = (boxes[:, 0] <= 0) | (boxes[:, 1] <= 0) | (boxes[:, 2] >= w) | (boxes[:, 3] >= h)
        close &= edge[:, None] == edge[None, :]
    if within is not None:
        close &= within[:, None] == within[None, :]
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(*np.nonzero(np.triu(close, 1)), strict=True):
        parent[root(i)] = root(j)
    roots = np.array([root(i) for i in range(n)])
    return np.unique(roots, return_inverse=True)[1].astype(np.int64)


def over_each_other(boxes: np.ndarray, reach) -> np.ndarray:
    """Pairwise mask (N, N) of boxes (N, 4) that may be one digit's pieces over each other:
    overlapping across by MERGE_OVERLAP of the narrower, apart from top to bottom by at most
    `reach` px (a number or (N, N); below 0, overlapping by that much), and together no wider
    than MAX_ASPECT times as tall (not of the union: two stacked digits are not one)."""
    a, b = boxes[:, None, :], boxes[None, :, :]
    x_overlap = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0])
    narrower = np.minimum(a[..., 2] - a[..., 0], b[..., 2] - b[..., 0])
    gap = np.maximum(a[..., 1], b[..., 1]) - np.minimum(a[..., 3], b[..., 3])
    height = np.maximum(a[..., 3], b[..., 3]) - np.minimum(a[..., 1], b[..., 1])
    width = np.maximum(a[..., 2], b[..., 2]) - np.minimum(a[..., 0], b[..., 0])
    return (x_overlap >= MERGE_OVERLAP * narrower) & (gap <= reach) & (width <= MAX_ASPECT * height)


def remove_rules(mask: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """Erase long, nearly horizontal lines (ruled paper, underlines) from the ink mask of `gray`.

    A vertical dilation first turns a slightly tilted thin line into a band with long horizontal
    runs, so an opening with a long horizontal kernel finds lines tilted by up to about 10 degrees;
    it reaches a pixel sideways too, across the gaps that a faint line's threshold leaves (else
    its pieces, each shorter than a rule, stayed, and one touching a digit widened its box).
    Rules are thin: ink that is thick vertically (the bar of a large marker 7, the bottom of a
    large 0) is kept, or a digit half the frame tall would lose its horizontal strokes. A line
    as long as a fifth of the frame (a sum's bar, an underline drawn with the digits' pen, as
    thick as their strokes in the mask) may be thicker: up to LONG_RULE_THICKNESS_PX. A short
    line that is a mark's own stroke is kept (`digit_bars`).
    """
    length = max(25, mask.shape[1] // RULE_LENGTH_DIVISOR)
    banded = cv2.dilate(mask, np.ones((RULE_BAND_PX, 3), np.uint8))
    opened = cv2.morphologyEx(banded, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
    lines = cv2.erode(opened, np.ones((RULE_BAND_PX - 2, 1), np.uint8))
    h, w = mask.shape
    strokes = cv2.dilate(thicker_than(mask, RULE_MAX_THICKNESS_PX), SQUARE3)
    rules = cv2.subtract(lines, strokes)
    for window, bar in digit_bars(mask, gray, lines, rules, max(int(BAR_LONGEST * h), length)):
        lines[window] = cv2.subtract(lines[window], bar)
        rules[window] = cv2.subtract(rules[window], bar)
    # Lines kept along a stretch for their thickness (not where a stroke crosses them) are
    # judged again if long (a sum's bar, an underline), in the rows near them only; stretches
    # and lengths are found on copies 4 times narrower (a long opening costs its length).
    narrow = (max(1, w // 4), h)
    kept = cv2.resize(cv2.bitwise_and(lines, strokes), narrow, interpolation=cv2.INTER_NEAREST)
    kept = cv2.morphologyEx(kept, cv2.MORPH_OPEN, np.ones((1, max(1, length // 4)), np.uint8))
    near = cv2.dilate(
        kept.any(axis=1).astype(np.uint8)[:, None],
        np.ones((2 * LONG_RULE_THICKNESS_PX + 1, 1), np.uint8),
    ).ravel()
    rows = np.flatnonzero(near)  # stacked: each line with rows of its own on either side
    if not len(rows):
        return cv2.subtract(mask, rules)
    long = underline_px(w) // 4
    longest = cv2.resize(lines[rows], (narrow[0], len(rows)), interpolation=cv2.INTER_NEAREST)
    longest = cv2.morphologyEx(longest, cv2.MORPH_OPEN, np.ones((1, long), np.uint8))
    if longest.any():
        longest = cv2.resize(longest, (w, len(rows)), interpolation=cv2.INTER_NEAREST)
        longest = cv2.bitwise_and(lines[rows], longest)
        strokes = cv2.dilate(thicker_than(mask[rows], LONG_RULE_THICKNESS_PX), SQUARE3)
        rules[rows] = cv2.max(rules[rows], cv2.subtract(longest, strokes))
    return cv2.subtract(mask, rules)


def underline_px(width: int) -> int:
    """How long a line in a frame `width` px wide may be an underline or a sum's bar, judged
    as a rule though as thick as a pen's strokes (LONG_RULE_DIVISOR, LONG_RULE_MIN_PX)."""
    return max(width // LONG_RULE_DIVISOR, LONG_RULE_MIN_PX)


def digit_bars(
    mask: np.ndarray, gray: np.ndarray, lines: np.ndarray, rules: np.ndarray, longest: int
) -> list:
    """The lines of `lines` (horizontal lines of the ink `mask` of `gray`) that are strokes of
    a mark, not rules: (window, the line's mask there) pairs.

    A rule runs past the marks written on it, far longer than they are tall, and is often
    fainter than their ink. The bar of a 4, the hat of a 5 or the top of a 7 written with a
    thin pen is as thin and straight, but shorter than its digit is tall, and as dark as its
    other strokes. Erased as a rule, a 4's bar left two pieces read as 1s, and a large 5 fell
    apart. Only lines shorter than `longest`, off the frame's edge, are looked at: first
    whether a stroke crosses them, or meets them at one side while they are mostly bare of
    the thick strokes that `remove_rules` keeps anyway (in `rules`, the lines without them),
    and whether they are no fainter than the strokes there (`as_dark`), then the marks they
    touch (`is_bar`, in a window reaching half a line's length beyond it on either side and
    twice its length above and below, where a drawn box closes, cut to the rows inked without
    a break around the line). A line shorter than an underline (`underline_px`) and mostly
    inked thicker than a rule is a stroke, which `remove_rules` keeps: of it, the thin
    stretches between its thick parts are returned too.
    Other lines do not count as strokes near a line (a tilted rule's next step), but as marks.
    """
    contours, _ = cv2.findContours(lines, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    height, width = mask.shape
    bars = []

    def cut(i: int, x0: int, y0: int, x1: int, y1: int) -> tuple[np.ndarray, np.ndarray]:
        """Line `i` in a window, and the window of `mask` without it."""
        line = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.drawContours(line, [contours[i]], -1, 255, cv2.FILLED, offset=(-x0, -y0))
        line = cv2.bitwise_and(line, lines[y0:y1, x0:x1])
        return line, cv2.subtract(mask[y0:y1, x0:x1], line)

    rects = np.array([cv2.boundingRect(contour) for contour in contours]).reshape(-1, 4)
    x, y, w, h = rects.T
    look = (x > 0) & (y > 0) & (x + w < width) & (y + h < height) & (w < longest)
    if not look.any():
        return bars
    long = underline_px(width)
    # Lines a stroke meets: ink leaves a band along them at its top or bottom row. Either a
    # stroke crosses them (ink leaves at both rows, at most BAR_CROSS_PX apart: a 4's stem), or
    # they are mostly bare of thick strokes, the rest of which `remove_rules` keeps anyway (a
    # 5's hat, a 7's top written with a thin pen; not a marker's own strokes, nor a ruled
    # line's piece along one). The strokes are the ink without lines (not a tilted rule's
    # next step); the rows looked at are summed along first (only those: a whole integral
    # image took 0.4 ms a frame).
    y0, y1 = np.maximum(y - BAR_NEAR_PX, 0), np.minimum(y + h + BAR_NEAR_PX, height)
    strokes = cv2.subtract(mask, lines)
    # A top bar the pen lifted from may stand further above its stem: BAR_LIFT of its length.
    lift = np.maximum(BAR_NEAR_PX, (BAR_LIFT * w).astype(int))
    y2 = np.minimum(y + h + lift, height)
    rows, where = np.unique(np.concatenate([y0, y1 - 1, y2 - 1]), return_inverse=True)
    sums = np.zeros((len(rows), width + 1), np.int32)
    np.cumsum(strokes[rows] > 0, axis=1, out=sums[:, 1:])
    inked = (sums[where, np.tile(x + w, 3)] - sums[where, np.tile(x, 3)] > 0).reshape(3, -1)
    above, below = inked[0], inked[1]
    look &= above | below | inked[2]
    if not look.any():
        return bars
    for i in np.flatnonzero(look):
        x, y, w, h = (int(v) for v in rects[i])
        y0, y1 = max(0, y - BAR_NEAR_PX), min(height, y + h + BAR_NEAR_PX)
        crossed = above[i] and below[i]
        if crossed:
            ends = strokes[[y0, y1 - 1], x : x + w]
            crossed = cv2.dilate(ends[:1], CROSS_KERNEL).ravel()[ends[1] > 0].any()
        rect = np.s_[y : y + h, x : x + w]
        thick = cv2.countNonZero(rules[rect]) < BAR_BARE * cv2.countNonZero(lines[rect])
        if thick and w < long:
            # Mostly a thick stroke, which `remove_rules` keeps: its thin stretches between
            # thick parts (a pencil's or a pen's stroke thinning as the hand eased, a faint
            # stroke broken by noise) stay too, also where a stroke crosses it; not if it is
            # as long as an underline, which is judged as one.
            joins = thin_joins(lines[rect], rules[rect])
            if joins.any():
                line, _ = cut(i, x, y, x + w, y + h)
                line[:, ~joins] = 0
                bars.append((rect, line))
        if thick and not crossed:
            continue
        # (A top bar's strokes, and its run of inked rows, may start further below it.)
        gap = 0 if above[i] else int(lift[i])
        band = np.s_[y0 : max(y1, min(height, y + h + gap)), x : x + w]
        if not as_dark(cv2.bitwise_and(lines[band], mask[band]), strokes[band], gray[band]):
            continue
        x0, x1, y0 = max(0, x - w // 2), min(width, x + w + w // 2), max(0, y - 2 * w)
        y0, y1 = inked_rows(mask[y0 : min(height, y + h + 2 * w), x0:x1], y - y0, h + gap, y0)
        if w > BAR_REACH * (y1 - y0):  # no mark here is tall enough
            continue
        line, marks = cut(i, x0, y0, x1, y1)
        if is_bar(line, marks, gap):
            bars.append((np.s_[y0:y1, x0:x1], line))
    return bars


def thin_joins(line: np.ndarray, bare: np.ndarray) -> np.ndarray:
    """Mask of the columns of a `line` (a window's mask) where its stroke thins to a rule's
    width (all `bare`) between its first and last column inked thicker than a rule."""
    thick = cv2.reduce(cv2.subtract(line, bare), 0, cv2.REDUCE_MAX).ravel() > 0
    columns = np.flatnonzero(thick)
    joins = np.zeros_like(thick)
    if len(columns):
        joins[columns[0] : columns[-1] + 1] = ~thick[columns[0] : columns[-1] + 1]
    return joins


def area_sums(integral: np.ndarray, x0, y0, x1, y1) -> np.ndarray:
    """Sums over the boxes (x0, y0, x1, y1: arrays) of the image whose `cv2.integral` it is."""
    return integral[y1, x1] - integral[y0, x1] - integral[y1, x0] + integral[y0, x0]


def inked_rows(ink: np.ndarray, top: int, rows: int, offset: int) -> tuple[int, int]:
    """The rows (start, end) of the run of rows of `ink` with ink in them, without a break,
    around its rows top..top + rows; `offset` is added to both."""
    inked = cv2.reduce(ink, 1, cv2.REDUCE_SUM, dtype=cv2.CV_32S).ravel() > 0
    above = np.flatnonzero(~inked[:top])
    below = np.flatnonzero(~inked[top + rows :])
    start = above[-1] + 1 if len(above) else 0
    end = top + rows + below[0] if len(below) else len(inked)
    return offset + int(start), offset + int(end)


def as_dark(line: np.ndarray, strokes: np.ndarray, gray: np.ndarray) -> bool:
    """Whether a `line` (a mask of the window `gray`) is at least BAR_INK as dark as the other
    `strokes` there, both against the window's paper, and at least BAR_CONTRAST darker than
    the paper (not a desk's grain)."""
    paper = cv2.mean(gray, cv2.bitwise_not(cv2.bitwise_or(strokes, line)))[0]
    ink, bar = cv2.mean(gray, strokes)[0], cv2.mean(gray, line)[0]
    return paper - bar >= max(BAR_CONTRAST, BAR_INK * (paper - ink))


def is_bar(line: np.ndarray, strokes: np.ndarray, gap: int = 0) -> bool:
    """Whether a horizontal `line` (a window's mask) is a stroke of the marks it touches in
    `strokes` (the window's other ink): no longer than BAR_REACH times their height, reaching
    past them by at most BAR_OVERHANG of it, and not the side of a drawn box: that mark
    touches both its ends (BAR_END), and it spans BAR_SIDE of the mark's width (the flat top
    of a large loop, a 0's or an 8's, spans less).
    """
    # (Components without their stats, which cost 4 times as much: a box per touching one.
    # Where marks meet the line is looked up around it only.)
    _, labels = cv2.connectedComponents(strokes)
    x, y, w, h = cv2.boundingRect(line)
    x0, y0 = max(0, x - 1), max(0, y - 1)
    around = np.s_[y0 : y + h + 1, x0 : x + w + 1]
    near = cv2.dilate(line, SQUARE3)[around] > 0
    meet = labels[around][near]
    columns = np.nonzero(near)[1] + x0
    if gap:  # a top bar the pen may have lifted from: the marks `gap` rows below meet it too
        below = labels[y + h : y + h + gap, x : x + w]
        meet = np.r_[meet, below.ravel()]
        columns = np.r_[columns, np.nonzero(below >= 0)[1] + x]
    columns, meet = columns[meet > 0], meet[meet > 0]
    boxes = []
    for label in np.unique(meet):
        box = cv2.boundingRect(cv2.compare(labels, int(label), cv2.CMP_EQ))
        if box[1] >= y - 1 and box[1] + box[3] <= y + h + 1:
            continue  # a sliver of the line itself
        where = (columns[meet == label] - x) / w  # 0..1 along the line
        if where.min() <= BAR_END and where.max() >= 1 - BAR_END and w >= BAR_SIDE * box[2]:
            return False  # the line closes this mark into a box, as a side
        boxes.append(box)
    if not boxes:
        return False
    marks = np.array(boxes)
    left, right = marks[:, 0].min(), (marks[:, 0] + marks[:, 2]).max()
    tall = max((marks[:, 1] + marks[:, 3]).max(), y + h) - min(marks[:, 1].min(), y)
    overhang = max(0, left - x) + max(0, x + w - right)
    return w <= BAR_REACH * tall and overhang <= BAR_OVERHANG * tall


def thicker_than(mask: np.ndarray, thickness: int) -> np.ndarray:
    """The mask's ink in vertical runs longer than `thickness`."""
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((thickness + 1, 1), np.uint8))


def candidate_boxes(
    gray: np.ndarray, raw: np.ndarray | None = None, paper: np.ndarray | None = None
) -> np.ndarray:
    """Digit-like boxes (N, 4) xyxy in the coordinates of `gray`, best first. `raw` is
    `threshold(gray)` if already computed; with `paper` (`paper_level(gray)`), marks that
    straddle a shadow's border are judged by the paper on each side (`shaded_surround`).

    Merged pieces may be a digit and clutter beside it: the band the threshold leaves along the
    sheet's edge, a shape behind a sheet held up before a room. So every piece of a group of
    several must have paper around it by itself, and a group turned down is grouped and judged
    again without its stray pieces (or, if none, its tallest), for up to REGROUP_ROUNDS rounds.
    """
    mask = ink_mask(gray, raw)
    # Two-level hierarchy: outer outlines (parent -1) include marks drawn inside a box's hole.
    # (Measured: 0.15 ms on a 640x480 mask; connectedComponentsWithStats took 1.9 ms.)
    contours, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return np.zeros((0, 4), np.float32)
    outer = np.flatnonzero(hierarchy[0][:, 3] == -1)
    xywh = np.array([cv2.boundingRect(contours[i]) for i in outer])
    xywh = xywh.reshape(-1, 4).astype(np.int32)
    short = min(*gray.shape, SIZE_REFERENCE_PX)
    # Specks and huge regions are neither digits nor pieces of one; the rest may merge.
    plausible = (xywh[:, 3] >= max(3, MIN_HEIGHT_FRACTION * short / 3)) & (
        xywh[:, 3] <= MAX_HEIGHT_FRACTION * gray.shape[0]
    )
    xywh = xywh[plausible]
    if len(xywh) > MAX_PIECES:  # the largest, not the first found (dot-grid paper's dots)
        xywh = xywh[np.argsort(-xywh[:, 2] * xywh[:, 3], kind="stable")[:MAX_PIECES]]
    pieces = np.column_stack([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]])
    judge = Judge(gray, mask, paper)
    group = merge_groups(pieces, gray.shape)
    found = []
    for _ in range(REGROUP_ROUNDS + 1):
        boxes = group_boxes(pieces, group)
        keep = judge(boxes)
        several = (np.bincount(group) > 1)[group]  # per piece: one of several in its group
        if not several.any():
            found.append(boxes[keep])
            break
        # Each piece of several must be a mark on paper itself, not clutter beside the sheet.
        stray = np.zeros(len(pieces), bool)
        stray[several] = ~judge.on_paper(pieces[several])
        any_stray = np.bincount(group, weights=stray, minlength=len(boxes)) > 0
        keep &= ~any_stray
        found.append(boxes[keep])
        # The groups turned down are judged again without their stray pieces, or else without
        # their tallest piece.
        height = pieces[:, 3] - pieces[:, 1]
        order = np.lexsort((-height, group))  # by group, the tallest piece first
        tallest = np.zeros(len(pieces), bool)
        tallest[order[np.r_[True, group[order][1:] != group[order][:-1]]]] = True
        again = ~keep[group] & several & ~stray & (any_stray[group] | ~tallest)
        if not again.any():
            break
        pieces, group = pieces[again], regroup(pieces[again], group[again], gray.shape)
    boxes = np.concatenate(found)
    # Tallest first: `find_boxes` keeps the first MAX_CANDIDATES when there are too many.
    order = np.argsort(-(boxes[:, 3] - boxes[:, 1]))
    return boxes[order].astype(np.float32)


class Judge:
    """Which boxes of a frame's ink `mask` are digit-like: size relative to the frame, aspect,
    ink density, contrast of ink on paper, and mostly paper around them (`__call__`)."""

    def __init__(self, gray: np.ndarray, mask: np.ndarray, paper: np.ndarray | None) -> None:
        self.gray, self.mask, self.paper = gray, mask, paper
        self.integral = cv2.integral(mask)  # sums of 255 per ink pixel
        self.smooth = cv2.blur(gray, (3, 3))

    @functools.cached_property
    def lines(self) -> np.ndarray:
        """The mask's thin ink (lines), nonzero."""
        mask = self.mask
        return cv2.subtract(mask, cv2.morphologyEx(mask, cv2.MORPH_OPEN, square(LINE_WIDTH_PX)))

    def __call__(self, boxes: np.ndarray) -> np.ndarray:
        h_img, w_img = self.gray.shape
        short = min(h_img, w_img, SIZE_REFERENCE_PX)
        x0, y0, x1, y1 = boxes.T
        w, h = x1 - x0, y1 - y0
        aspect = w / np.maximum(h, 1)
        keep = (
            (h >= max(MIN_HEIGHT_FRACTION * short, 6))
            & (h <= MAX_HEIGHT_FRACTION * h_img)
            & (aspect >= MIN_ASPECT)
            & (aspect <= MAX_TOUCHING_ASPECT)
            & (x0 > 0)
            & (y0 > 0)
            & (x1 < w_img)
            & (y1 < h_img)
        )
        if not keep.any():
            return keep
        ink = area_sums(self.integral, x0, y0, x1, y1) // 255
        fill = ink / np.maximum(w * h, 1)
        thin = aspect < THIN_ASPECT
        # A thin pen's large digit fills less of its box: its strokes are as wide at any size.
        dense = fill >= np.minimum(MIN_FILL, LARGE_FILL_PX / np.maximum(h, 1))
        sparse = ~dense & (fill >= np.minimum(MIN_FILL, SPARSE_FILL_PX / np.maximum(h, 1)))
        keep &= (dense | sparse) & ((fill <= MAX_FILL) | thin)
        for i in np.flatnonzero(keep & sparse):
            keep[i] = self.alone(boxes[i], ink[i])
        stats = np.zeros((len(boxes), 2))
        for i in np.flatnonzero(keep):
            stats[i] = ink_contrast_and_surround(self.smooth, boxes[i])
        keep &= (stats[:, 0] >= MIN_CONTRAST) | self.faint(boxes, stats[:, 0], keep)
        keep[keep] = self.paper_around(boxes[keep], stats[keep, 1])
        return keep

    def alone(self, box: np.ndarray, ink: int) -> bool:
        """Whether a mark's ink ends inside its box: at most SPARSE_RING_INK of the ring around
        it is ink.

        The thinnest marks for their size, under LARGE_FILL_PX, are a thin pen's large digits
        (a slanted 1 or 7, an open 0, in a 12 MP photo) and pieces of longer lines: a crease
        in the paper, whose dashes are as sparse as a slanted 1. A line runs on through the
        ring; a digit has paper there. Measured: 24 thin-pen photos, 324 -> 333 of 360 read;
        candidates on 24 more, 254 -> 273 of 288. On 6 pages with 3 creases, 1 false digit as
        before; 3 without this check.
        """
        x0, y0, x1, y1 = (int(v) for v in box)
        rx0, ry0, rx1, ry1 = ring_window(x0, y0, x1, y1, self.mask.shape)
        ring_ink = area_sums(self.integral, rx0, ry0, rx1, ry1) // 255 - ink
        ring_area = (rx1 - rx0) * (ry1 - ry0) - (x1 - x0) * (y1 - y0)
        return ring_ink <= SPARSE_RING_INK * max(ring_area, 1)

    def faint(self, boxes: np.ndarray, contrast: np.ndarray, among: np.ndarray) -> np.ndarray:
        """Mask of the boxes `among` that are faint writing: FAINT_CONTRAST to MIN_CONTRAST gray
        levels of ink, FAINT_OVER_TEXTURE times the paper's texture around them.

        Light pencil, or a page filmed washed out, leaves strokes 20-35 gray levels below the
        paper: plain to see, but none was found under MIN_CONTRAST (0 of 72 digits at 30
        levels). A blank page's coarse grain and a faint grid are as faint: taking any mark
        from FAINT_CONTRAST read a grid's cells as 112 false digits, a blank page's grain as one
        a page. They do not stand out from the paper around them, which is as grainy or ruled.
        """
        faint = among & (contrast >= FAINT_CONTRAST) & (contrast < MIN_CONTRAST)
        for i in np.flatnonzero(faint):
            faint[i] = contrast[i] >= FAINT_OVER_TEXTURE * ring_texture(self.smooth, boxes[i])
        return faint

    def on_paper(self, boxes: np.ndarray) -> np.ndarray:
        """Whether each box has mostly paper around it (at most MAX_DARK_RING dark)."""
        ring = [ink_contrast_and_surround(self.smooth, b)[1] for b in boxes]
        return self.paper_around(boxes, np.array(ring))

    def paper_around(self, boxes: np.ndarray, ring: np.ndarray) -> np.ndarray:
        """`on_paper`, from the dark shares of the rings around the boxes."""
        # Thin lines close around a mark (a form's box, a table's cell) are no dark
        # surroundings: those marks are judged again without the mask's thin ink.
        for i in np.flatnonzero(ring > MAX_DARK_RING):
            ring[i] = ink_contrast_and_surround(self.smooth, boxes[i], self.lines)[1]
        if self.paper is not None:
            # Across a shadow's border, shadowed paper is paper, not dark surroundings.
            for i in np.flatnonzero(ring > MAX_DARK_RING):
                ring[i] = shaded_surround(self.smooth, boxes[i], self.paper)
        return ring <= MAX_DARK_RING


def ring_window(x0: int, y0: int, x1: int, y1: int, shape: tuple) -> tuple[int, int, int, int]:
    """A box grown by RING_FRACTION of its longer side (2 px at least), clipped to the frame:
    the box and the ring around it that must be mostly paper."""
    pad = max(2, int(RING_FRACTION * max(x1 - x0, y1 - y0)))
    h, w = shape
    return max(0, x0 - pad), max(0, y0 - pad), min(w, x1 + pad), min(h, y1 + pad)


def ink_contrast_and_surround(
    smooth: np.ndarray, box: np.ndarray, lines: np.ndarray | None = None
) -> tuple[float, float]:
    """Paper-minus-ink contrast inside a box, and the share of dark pixels in a ring around it.

    `smooth` is the frame after a 3x3 blur, so the darkest and brightest pixels are not single
    noisy ones. A digit is ink on paper: its surroundings are paper. The edge of the sheet
    against a dark desk, or a shadow's border, continues outside its box, so its ring is dark.
    """
    x0, y0, x1, y1 = (int(v) for v in box)
    inside = smooth[y0:y1, x0:x1]
    if inside.size == 0:
        return 0.0, 1.0
    low, high, _, _ = cv2.minMaxLoc(inside)
    rx0, ry0, rx1, ry1 = ring_window(x0, y0, x1, y1, smooth.shape)
    around = smooth[ry0:ry1, rx0:rx1]
    ring_pixels = around.size - inside.size
    if ring_pixels <= 0:
        return float(high - low), 1.0
    dark_level = high - 0.5 * (high - low)
    dark_around, dark_inside = around < dark_level, inside < dark_level
    if lines is not None:  # nonzero on thin lines, which do not count as dark
        dark_around &= lines[ry0:ry1, rx0:rx1] == 0
        dark_inside &= lines[y0:y1, x0:x1] == 0
    dark = int(np.count_nonzero(dark_around)) - int(np.count_nonzero(dark_inside))
    return float(high - low), dark / ring_pixels


def ring_texture(smooth: np.ndarray, box: np.ndarray) -> float:
    """The spread of gray levels (TEXTURE_QUANTILES) in the ring around a box: the paper's
    grain, camera noise and shading there. Faint writing stands well above its paper's
    texture; a blob of coarse grain or a crease does not."""
    x0, y0, x1, y1 = (int(v) for v in box)
    rx0, ry0, rx1, ry1 = ring_window(x0, y0, x1, y1, smooth.shape)
    strips = [
        smooth[ry0:y0, rx0:rx1],
        smooth[y1:ry1, rx0:rx1],
        smooth[y0:y1, rx0:x0],
        smooth[y0:y1, x1:rx1],
    ]
    ring = np.concatenate([strip.ravel() for strip in strips])
    if ring.size == 0:
        return float("inf")
    low, high = np.percentile(ring, TEXTURE_QUANTILES)
    return float(high - low)


def shaded_surround(smooth: np.ndarray, box: np.ndarray, paper: np.ndarray) -> float:
    """The share of dark pixels in the ring around a box, dark meaning darker than the paper
    where it is (`paper_level`), not than the paper inside the box.

    A digit written across a shadow's border has shadowed paper around its bright half: that is
    paper, not dark surroundings. Paper no brighter than the ink by FAINT_CONTRAST (a dark
    object, the desk) still counts as dark.
    """
    x0, y0, x1, y1 = (int(v) for v in box)
    rx0, ry0, rx1, ry1 = ring_window(x0, y0, x1, y1, smooth.shape)
    around = smooth[ry0:ry1, rx0:rx1]
    ring_pixels = around.size - (x1 - x0) * (y1 - y0)
    if ring_pixels <= 0:
        return 1.0
    low = float(smooth[y0:y1, x0:x1].min())
    level = paper[ry0:ry1, rx0:rx1].astype(np.float32)
    dark = (level - around > THRESHOLD_OFFSET) | (level - low < FAINT_CONTRAST)
    dark[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0] = False
    return int(np.count_nonzero(dark)) / ring_pixels


def crop_boxes(shape: tuple[int, int], xyxy: np.ndarray) -> np.ndarray:
    """The boxes grown by CROP_PAD on each side, clipped to the frame: (N, 4) int xyxy."""
    xyxy = xyxy.astype(np.float32)
    pad = CROP_PAD * np.maximum(xyxy[:, 2] - xyxy[:, 0], xyxy[:, 3] - xyxy[:, 1])[:, None]
    grown = np.concatenate([np.trunc(xyxy[:, :2] - pad), np.ceil(xyxy[:, 2:] + pad)], axis=1)
    h, w = shape
    return np.clip(grown, 0, [w, h, w, h]).astype(np.int64)


def cut_crops(gray: np.ndarray, xyxy: np.ndarray) -> np.ndarray:
    """MNIST-style crops (N, 28, 28) of the boxes, from the full-resolution frame."""
    crops = np.zeros((len(xyxy), 28, 28), np.uint8)
    boxes = np.trunc(xyxy).astype(np.int64).tolist()
    for i, ((cx0, cy0, cx1, cy1), (x0, y0, x1, y1)) in enumerate(
        zip(crop_boxes(gray.shape, xyxy).tolist(), boxes, strict=True)
    ):
        # Only ink inside the box belongs to this digit: blank the padding's ink (neighbours).
        crop = gray[cy0:cy1, cx0:cx1].copy()
        crops[i] = to_mnist(crop, (x0 - cx0, y0 - cy0, x1 - cx0, y1 - cy0))
    return crops


def boxes_at(
    gray: np.ndarray, max_side: int, steps: Callable | None = None, widen: int = 1
) -> np.ndarray:
    """Candidate boxes found on a copy of at most `max_side`, in full-resolution pixels;
    `steps` as in `Search`, if not the plain search; the threshold's block `widen` times as
    wide."""
    small, factor = downscale(gray, max_side)
    return (steps or boxes_in)(small, factor, gray.shape, threshold(small, widen))


def boxes_in(small: np.ndarray, factor: float, shape: tuple, raw=None, paper=None) -> np.ndarray:
    """Candidate boxes of a copy `factor` times smaller than a frame of `shape`, in its pixels."""
    xyxy = candidate_boxes(small, raw, paper) * factor
    if factor > 1:
        xyxy = np.clip(xyxy, 0, [shape[1], shape[0]] * 2)
        xyxy = xyxy[(xyxy[:, 3] - xyxy[:, 1]) >= MIN_HEIGHT_PX]
    return xyxy


def boxes_past_steps(small: np.ndarray, factor: float, shape: tuple, raw: np.ndarray) -> np.ndarray:
    """`boxes_in`, looking past the steps in brightness of shadows' borders (`past_steps`)."""
    if min(small.shape) < 2 * PAPER_SCALE:  # no room for a digit and a step beside it
        return boxes_in(small, factor, shape, raw)
    paper = paper_level(small)
    return boxes_in(small, factor, shape, past_steps(small, raw, paper), paper)


def differ(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two sets of boxes differ: a box of either overlaps none of the other's by
    STEPS_SAME_IOU."""
    if not len(a) or not len(b):
        return len(a) != len(b)
    iou = box_iou(a, b)
    return bool(
        (iou.max(axis=1) < STEPS_SAME_IOU).any() or (iou.max(axis=0) < STEPS_SAME_IOU).any()
    )


class Steps:
    """`boxes_past_steps` for the frames of one video, in order, only where it is needed.

    Looking past steps costs more than the plain search: 3.9 ms against 1.3 on the 640x480
    sample (a sheet on a wooden desk, whose grain beside the sheet's edge is left in pieces),
    2.2 against 1.5 on the 1280x720 one, and finds the same marks there. So every
    STEPS_EVERY-th frame is searched both ways; while the two find different marks (a shadow's
    border crosses the page and hides digits; a colored sticky note on a white wall, whose
    edges the plain search takes for 1s), every frame is searched past steps.
    """

    def __init__(self, every: int = STEPS_EVERY) -> None:
        self.every = every
        self.wait = 0
        self.past = False

    @property
    def now(self) -> Callable:
        """The search chosen at the last check: `boxes_past_steps` or `boxes_in`."""
        return boxes_past_steps if self.past else boxes_in

    def __call__(self, small: np.ndarray, factor: float, shape: tuple, raw: np.ndarray):
        if self.wait:
            self.wait -= 1
            return self.now(small, factor, shape, raw)
        plain = boxes_in(small, factor, shape, raw)
        past = boxes_past_steps(small, factor, shape, raw)
        self.past = differ(plain, past)
        self.wait = self.every - 1
        return past if self.past else plain


def large_boxes(gray: np.ndarray) -> np.ndarray:
    """Marks taller than FILL_TALLER of a video frame, found on a copy half the first pass's
    size with a block COARSE_BLOCK times as wide: there a marker's strokes, wider than the
    first pass's block on a digit held up close, are inked across."""
    xyxy = boxes_at(gray, DETECT_MAX_SIDE // 2, widen=COARSE_BLOCK)
    return xyxy[(xyxy[:, 3] - xyxy[:, 1]) > FILL_TALLER * gray.shape[0]]


@dataclass(frozen=True)
class Search:
    """How `find_boxes` looks for a page's grid and margin lines (`lines`), past shadows'
    borders (`steps`) and for digits held up close to the camera (`large`): in every frame (a
    still, the default), or in a video's frames, in order, only now and then
    (`Search.video`)."""

    lines: Callable = ruling
    steps: Callable = boxes_past_steps
    large: Callable = large_boxes

    @classmethod
    def video(cls) -> "Search":
        no_boxes = np.zeros((0, 4), np.float32)
        return cls(
            WhileFound(ruling, RULING_EVERY),
            Steps(),
            WhileFound(large_boxes, LARGE_EVERY, no_boxes),
        )


EVERY_FRAME = Search()


def find_boxes(
    gray: np.ndarray, still: bool = False, search: Search = EVERY_FRAME, fine: bool | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Boxes (N, 4) xyxy in frame pixels of the digit-like marks of a grayscale frame, and the
    frame they were found in: `gray` itself, or a copy with grid and margin lines erased, from
    which the crops are to be cut too. `search` says how lines, shadows and large digits are
    looked for.

    With `fine` (a still's default), a second pass on a copy of up to FINE_DETECT_MAX_SIDE adds
    the digits too small for the first (`small_boxes`); what the first pass finds is kept as
    it is. Where the passes found at most FILL_MAX_FOUND marks, a still may also be a photo
    cropped to a digit or number (`filling_boxes`): digits that fill it replace whatever was
    found inside them (their pieces). A video frame may show a digit held up close to the
    camera (`large_boxes`): such marks are added, and which of them and the marks inside them
    are digits is left to the model (`suppress_nested`), as a ring drawn around digits is one.
    """
    small, factor = downscale(gray, DETECT_MAX_SIDE)
    raw = threshold(small)
    ruled = search.lines(small, raw)
    if ruled is not None:  # squared paper, a margin: found again without its lines
        gray = erase_lines(gray, ruled, factor)
        small, factor = downscale(gray, DETECT_MAX_SIDE)
        raw = threshold(small)
    xyxy = search.steps(small, factor, gray.shape, raw)
    if (still if fine is None else fine) and factor > 1:
        # A video's Steps are for its first pass; the fine one follows their current choice.
        xyxy = np.concatenate(
            [xyxy, small_boxes(gray, xyxy, getattr(search.steps, "now", search.steps))]
        )
    if still and len(xyxy) <= FILL_MAX_FOUND:
        # The image is a crop of them: what else was found inside them is their pieces.
        xyxy = replacing(xyxy, filling_boxes(gray))
    elif len(xyxy) <= FILL_MAX_FOUND:
        # A digit held up close, or a ring drawn around digits: the model says which, and
        # `suppress_nested` drops the digits read inside a larger one.
        large = search.large(gray)
        if len(large) and len(xyxy):
            large = large[box_iou(large, xyxy).max(axis=1) < SAME_BOX_IOU]
        xyxy = np.concatenate([large, xyxy])
    return xyxy[: STILL_MAX_CANDIDATES if still else MAX_CANDIDATES].astype(np.float32), gray


def replacing(xyxy: np.ndarray, large: np.ndarray) -> np.ndarray:
    """The boxes `large`, and those of `xyxy` not inside one of them (their pieces)."""
    if not len(large):
        return xyxy
    if len(xyxy):
        xyxy = xyxy[box_containment(xyxy, large).max(axis=1) < 0.3]
    return np.concatenate([large, xyxy])


def first_pass_min_height(shape: tuple[int, int]) -> float:
    """The height in frame pixels below which the first pass (on a copy of DETECT_MAX_SIDE)
    finds no mark: MIN_HEIGHT_FRACTION of the shorter side, up to SIZE_REFERENCE_PX on the
    copy."""
    factor = max(1.0, max(shape) / DETECT_MAX_SIDE)
    return MIN_HEIGHT_FRACTION * min(*shape, SIZE_REFERENCE_PX * factor)


def fine_pass_max_height(shape: tuple[int, int]) -> float:
    """The height in frame pixels up to which the fine pass keeps marks: FINE_OVERLAP times the
    first pass's smallest, as a mark near that size measures a pixel more or less on either
    copy, and each pass would leave it to the other."""
    return FINE_OVERLAP * first_pass_min_height(shape)


def small_boxes(gray: np.ndarray, xyxy: np.ndarray, steps: Callable = boxes_past_steps):
    """The fine pass: marks found on a copy of up to FINE_DETECT_MAX_SIDE that are too small
    for the first pass, or near that size, and not inside its boxes `xyxy`; `steps` as in
    `Search`."""
    fine = boxes_at(gray, FINE_DETECT_MAX_SIDE, steps)
    fine = fine[(fine[:, 3] - fine[:, 1]) < fine_pass_max_height(gray.shape)]
    if len(xyxy) and len(fine):
        fine = fine[box_containment(fine, xyxy).max(axis=1) < 0.5]
    return fine


def filling_boxes(gray: np.ndarray) -> np.ndarray:
    """Digits that fill a still or touch its edges (a photo cropped to one digit or number).

    The other passes drop marks touching the frame's edge (in video, a digit half out of view
    or the sheet's edge) and marks taller than MAX_HEIGHT_FRACTION of it, and outline those
    taller than FILL_TALLER in pieces where their strokes are wider than the threshold's block.
    Here the still is set on paper as bright as its edges (`paper_edges`), STILL_PAD of its
    longer side on every side, and searched again, past shadows' borders (`boxes_past_steps`:
    else a phone's shadow is outlined as a mark as tall as the page); kept are the boxes that
    touch the still's edges or are taller than FILL_TALLER, and fill the image. Such digits are
    large, so this works on a copy that fits DETECT_MAX_SIDE once padded (where the block is
    wider than their strokes).
    """
    h, w = gray.shape
    small, factor = downscale(gray, round(DETECT_MAX_SIDE / (1 + 2 * STILL_PAD)))
    sh, sw = small.shape
    paper = border_level(small)
    # A crop of paper with ink has no large dark area, only strokes: a dark region wider than
    # a stroke (the desk beyond the sheet's edge, a shadow) means this is not such a crop. Dark
    # is darker than the paper at the border or, if brighter, the lit paper (LIT_PAPER): a
    # shadow over most of a page's border leaves the border at the shadow's level.
    lit = max(paper, quantiles_u8(small, LIT_PAPER)[0])
    dark = (small < lit - MIN_CONTRAST).astype(np.uint8)
    solid = max(3, round(SOLID_DARK * max(sh, sw)))
    if cv2.erode(dark, square(solid), borderType=cv2.BORDER_CONSTANT, borderValue=0).any():
        return np.zeros((0, 4), np.float32)
    pad = max(4, round(STILL_PAD * max(sh, sw)))
    padded = cv2.copyMakeBorder(paper_edges(small), pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    padded[pad : pad + sh, pad : pad + sw] = small
    x0, y0, x1, y1 = (boxes_at(padded, DETECT_MAX_SIDE, boxes_past_steps) - pad).T
    dropped = (x0 <= 0) | (y0 <= 0) | (x1 >= sw) | (y1 >= sh) | (y1 - y0 > FILL_TALLER * sh)
    # ... and only those that fill the image, not a neighbour's sliver at its edge.
    fills = (y1 - y0 >= FILL_SHARE * sh) | (x1 - x0 >= FILL_SHARE * sw)
    keep = dropped & fills & (x1 - x0 >= SLIVER * sw)
    xyxy = np.column_stack([x0, y0, x1, y1])[keep] * factor
    return np.clip(xyxy, 0, [w, h, w, h]).astype(np.float32)


def paper_edges(gray: np.ndarray) -> np.ndarray:
    """A copy of `gray` whose outermost rows and columns are the paper along them, without the
    ink that crosses them (dark runs up to EDGE_INK of the image's longer side), smoothed.

    Replicated outwards, they pad an image with paper as bright as it is at each edge: a
    constant pad left a step where light falls off across a photo, which the threshold
    outlined as a mark as tall as the image.
    """
    k = max(3, round(EDGE_INK * max(gray.shape)) | 1)
    edges = gray.copy()
    for side in (np.s_[0, :], np.s_[-1, :], np.s_[:, 0], np.s_[:, -1]):
        line = gray[side].reshape(1, -1)
        line = cv2.blur(cv2.dilate(line, np.ones((1, k), np.uint8)), (k, 1))
        edges[side] = line.ravel()
    return edges


def border_level(gray: np.ndarray) -> int:
    """The median gray level of an image's outermost rows and columns (its ground)."""
    return int(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])))


def dark_ground(gray: np.ndarray) -> bool:
    """Whether an image's border and most of the image are dark (a blackboard, a dark screen,
    MNIST's images): not a sheet of paper on a dark desk, whose border is dark too."""
    (median,) = quantiles_u8(gray[::NOISE_SUBSAMPLE, ::NOISE_SUBSAMPLE], MEDIAN)
    return median < DARK_GROUND and border_level(gray) < DARK_GROUND


def candidates_at(gray: np.ndarray, xyxy: np.ndarray) -> Detections:
    """The boxes with their MNIST crops, cut from the full-resolution frame."""
    if not len(xyxy):
        return Detections.empty()
    return Detections(xyxy=xyxy, crops=cut_crops(gray, xyxy))


def find_candidates(gray: np.ndarray, still: bool = False) -> Detections:
    """Digit-like marks of a grayscale frame: boxes in frame pixels and their MNIST crops."""
    boxes, gray = find_boxes(gray, still)
    return candidates_at(gray, boxes)


def edge_lines(gray: np.ndarray, detections: Detections) -> np.ndarray:
    """Mask of the detections read as a digit of EDGE_DIGITS that are pieces of the line a
    sharpening camera draws along a sheet's edge (see EDGE_SIDES). In each row of its ink, the
    paper beside it is the brightest pixel within the ring's width left of the ink, and right
    of it, past a pixel of blur."""
    edge = np.zeros(len(detections), bool)
    for i in np.flatnonzero(np.isin(detections.digit, EDGE_DIGITS)):
        x0, y0, x1, y1 = (int(v) for v in detections.xyxy[i])
        rx0, _, rx1, _ = ring_window(x0, y0, x1, y1, gray.shape)
        if rx0 == x0 or rx1 == x1 or y1 <= y0:
            continue
        # Most are digits on paper, as bright at its brightest left of the box as right of it
        # (a first look, with a margin: a sloping edge's line has paper on both sides of its box).
        low, high, _, _ = cv2.minMaxLoc(gray[y0:y1, x0:x1])
        brightest_left = cv2.minMaxLoc(gray[y0:y1, rx0:x0])[1]
        brightest_right = cv2.minMaxLoc(gray[y0:y1, x1:rx1])[1]
        if abs(brightest_left - brightest_right) <= EDGE_LOOK * (high - low):
            continue
        smooth = cv2.blur(gray[y0:y1, rx0:rx1], (3, 3))
        low, high, _, _ = cv2.minMaxLoc(smooth[:, x0 - rx0 : x1 - rx0])
        ink = smooth[:, x0 - rx0 : x1 - rx0] < (low + high) / 2
        rows = np.flatnonzero(ink.any(axis=1))
        if not len(rows):
            continue
        first = x0 - rx0 + ink[rows].argmax(axis=1)
        last = x1 - rx0 - 1 - ink[rows, ::-1].argmax(axis=1)
        # The brightest pixel up to `reach` px before each column, and up to `reach` after it.
        reach = max(x0 - rx0, rx1 - x1)
        kernel = np.ones((1, reach), np.uint8)
        before = cv2.dilate(smooth, kernel, anchor=(reach - 1, 0))
        after = cv2.dilate(smooth, kernel, anchor=(0, 0))
        width = smooth.shape[1]
        left = before[rows, np.maximum(first - 2, 0)].astype(np.int16)
        right = after[rows, np.minimum(last + 2, width - 1)].astype(np.int16)
        least = int(EDGE_ROWS * (len(rows) - 1))  # the rows where the sides differ least
        differ = np.partition(np.abs(left - right), least)[least]
        edge[i] = differ > EDGE_SIDES * (high - low)
    return edge


def line_dashes(gray: np.ndarray, detections: Detections) -> np.ndarray:
    """Mask of the detections read as 1 that are dashes of a longer straight line: dark ink
    (below halfway between the box's darkest and brightest) runs on past both ends of the
    mark's ink along its axis (see DASH_NEAR)."""
    dash = np.zeros(len(detections), bool)
    for i in np.flatnonzero(detections.digit == 1):
        x0, y0, x1, y1 = (int(v) for v in detections.xyxy[i])
        box = cv2.blur(gray[y0:y1, x0:x1], (3, 3))
        if box.size == 0:
            continue
        low, high, _, _ = cv2.minMaxLoc(box)
        level = (low + high) / 2
        ink = (box < level).astype(np.uint8)
        m = cv2.moments(ink, binaryImage=True)
        if m["m00"] < 3:
            continue
        angle = 0.5 * np.arctan2(2 * m["mu11"], m["mu20"] - m["mu02"])  # the longer axis
        ax, ay = np.cos(angle), np.sin(angle)
        cx, cy = m["m10"] / m["m00"], m["m01"] / m["m00"]
        ys, xs = np.nonzero(ink)
        along = (xs - cx) * ax + (ys - cy) * ay
        length = along.max() - along.min()
        # The darkest of each place and its 8 neighbours (a line drawn between pixels), in a
        # window as far around the box as the ends are looked past.
        pad = int(DASH_FAR * length) + 2
        wx0, wy0 = max(0, x0 - pad), max(0, y0 - pad)
        dark = cv2.erode(gray[wy0 : y1 + pad, wx0 : x1 + pad], np.ones((3, 3), np.uint8)) < level
        runs_on = 0
        for end, sign in ((along.max(), 1.0), (-along.min(), -1.0)):
            steps = sign * np.arange(end + DASH_NEAR * length, end + DASH_FAR * length)
            px = np.rint(x0 - wx0 + cx + steps * ax).astype(int)
            py = np.rint(y0 - wy0 + cy + steps * ay).astype(int)
            inside = (px >= 0) & (px < dark.shape[1]) & (py >= 0) & (py < dark.shape[0])
            stop = len(px) if inside.all() else int(np.argmin(inside))  # the frame's edge
            if stop >= 3:  # too short a mark, or at the frame's edge: no judging
                runs_on += dark[py[:stop], px[:stop]].mean() >= DASH_INK
        dash[i] = runs_on == 2
    return dash


def suppress_nested(detections: Detections, inside: float = 0.8) -> Detections:
    """Drop a digit that lies mostly inside another, larger digit (the hole of a 0, a 6's loop)."""
    if len(detections) < 2:
        return detections
    contained = box_containment(detections.xyxy, detections.xyxy)
    np.fill_diagonal(contained, 0)
    area = (detections.xyxy[:, 2] - detections.xyxy[:, 0]) * (
        detections.xyxy[:, 3] - detections.xyxy[:, 1]
    )
    larger = area[None, :] > area[:, None]
    nested = ((contained >= inside) & larger).any(axis=1)
    return detections[~nested]
