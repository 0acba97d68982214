"""Group digits that sit on one line with small gaps into multi-digit numbers, read left to right.

Two digits are neighbours when the second lies to the right of the first along a line tilted by at
most MAX_SLOPE_DEG (paper held at an angle), the gap between them is at most MAX_GAP digit heights,
and their heights are alike. Each digit links to its nearest right neighbour; chains of two or more
digits are numbers. Several lines give several numbers. A decimal point, a colon or a comma written
in the gap between two of its digits ("3.14", "12:30", "1,000") is read into the number's value
(`separator`).

The same links with a letter's gap chain the marks of a word: a digit reading spelled between
letters ("apple", the l read as a 1) is a letter (`spelled`).
"""

import math

import cv2
import numpy as np

from recognizer.core import Detections
from recognizer.modelfiles import NOT_DIGIT
from recognizer.preprocessing import MIN_INK_CONTRAST

MAX_SLOPE_DEG = 35.0
MAX_GAP = 0.7  # of the taller digit's height
MAX_HEIGHT_RATIO = 1.8
# A 1 this much shorter than a digit other than 1 right beside it is punctuation: the comma of
# "1,000" or an apostrophe is read as a 1 on its own. (An exponent is half as tall or more; a
# tall 1 may be a line, a sudoku's or a table's, next to which a digit is no comma.)
PUNCTUATION = 0.4
PUNCTUATION_GAP = 0.6  # beside: at most this far from the digit, of its height
# A word: marks linked as digits are, but at most WORD_GAP of the taller one's height apart (the
# space between a word and a number is wider; handwritten letters stand up to about that far
# apart). Its letters are marks read as "not a digit" at LETTER_SURE or more; where they are
# WORD_LETTERS times as many as its digit readings, a digit reading with a mark on either side
# is a letter of it. One at the word's start or end is kept: "10cm", "$20", "A4", "km2". Where
# they are fewer, but still BETWEEN_LETTERS times as many, a digit reading with a letter
# somewhere before and after it in the word is a letter: the i and l of "milk", read as 1s
# beside its m and k. Not so in "2+3=5", where the signs, read as letters, are fewer, nor
# between brackets or bars BRACKET_REACH taller than the digits ("(12)").
WORD_GAP = 0.38
LETTER_SURE = 0.9
WORD_LETTERS = 1.5
BETWEEN_LETTERS = 0.7
# A digit reading at most X_HEIGHT as tall as another mark of its word, standing on the same
# line as that mark (their feet at most BASELINE of its height apart), and beside a letter read
# surely of its own size (at most PEER times taller or shorter), is a small letter written
# beside a tall one: the o of "hello" beside its l, with the e. A digit stands as tall as a
# unit's tall letters ("10kg", "5th"), an exponent is raised off the line ("m2"), a bracket
# reaches below the line too ("(12)"), and the digits beside a tall slash or bar have no small
# letter beside them ("12/03"). Small letters found so count as a word's letters, not its
# digits, for WORD_LETTERS.
X_HEIGHT = 0.75
BASELINE = 0.08
PEER = 1.4
# A mark between two digits of a number: a blob of ink (at least half as dark as their strokes)
# from DOT_MIN to DOT_MAX of the digits' height across, filling DOT_FILL of its box, standing
# free in the gap. One at most DOT_ASPECT times as long as wide, in the lower DOT_LOW of the
# line, is a decimal point; two over each other, one in each half, a colon. One COMMA_TALL times
# as tall as wide or more that reaches below the line by DOT_MIN of its height is a comma
# ("1,000"). A stroke DASH_LONG times as long as thick or more, from DASH_MIN to DASH_MAX of the
# digits' height long, its centre in the middle DASH_MIDDLE of the line, is a hyphen ("555-1234",
# "12-05"). Anything else there says nothing.
DOT_MIN = 0.04
DOT_MAX = 0.3
DOT_ASPECT = 2.0
DOT_FILL = 0.4
DOT_LOW = 0.35
COMMA_TALL = 1.3
DASH_LONG = 2.5
DASH_MIN = 0.15
DASH_MAX = 0.8
DASH_MIDDLE = 0.4
# A bracket around a number is read as a 1: "(40)", "(555) 123", "2(3+4)". A 1 that starts a
# number and bows out to the left, the middle of its stroke at least BRACKET_BOW of its height
# left of both its top and its bottom (the ink's centres in BRACKET_BANDS of its height: a 1's
# flag moves only its top, a slanted 1's middle lies between them), and that reaches above and
# below the digit after it, BRACKET_REACH of that digit's height taller, is an opening bracket;
# one that ends a number, bowing out to the right, a closing one. Inside a line, a 1 bowing
# either way must be so much taller than the digits on both its sides. 1.7% of MNIST's
# training 1s bow left so much and 0.7% right (brackets drawn as arcs: 0.028-0.1), and few of
# those are also taller than the digits beside them.
BRACKET_BOW = 0.025
BRACKET_REACH = 0.1
BRACKET_BANDS = ((0.15, 0.3), (0.4, 0.6), (0.7, 0.85))


def right_neighbours(xyxy: np.ndarray, max_gap: float = MAX_GAP) -> np.ndarray:
    """For each mark, the index of its right neighbour on the same line (at most `max_gap` of
    the taller one's height away), or -1."""
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
    ok = (dx > 0) & slope_ok & (along <= max_gap * taller) & (ratio <= MAX_HEIGHT_RATIO)
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


def bow(crop: np.ndarray) -> float:
    """How far the middle of a stroke lies right (+) or left (-) of both its top and its
    bottom, in its heights (the lesser of the two; 0 unless both lie on one side): the ink's
    centre in BRACKET_BANDS of a 28x28 crop's height."""
    ink = crop.astype(np.float32)
    rows = np.flatnonzero(ink.sum(axis=1) > 0)
    if len(rows) < 2:
        return 0.0
    height = rows[-1] - rows[0] + 1
    share = (np.arange(ink.shape[0]) + 0.5 - rows[0]) / height
    centres = []
    for low, high in BRACKET_BANDS:
        columns = ink[(share >= low) & (share <= high)].sum(axis=0)
        if not columns.any():
            return 0.0
        centres.append(float(columns @ np.arange(len(columns)) / columns.sum()))
    top, middle, bottom = centres
    if (middle - top) * (middle - bottom) <= 0:
        return 0.0
    return math.copysign(min(abs(middle - top), abs(middle - bottom)), middle - top) / height


def brackets(detections: Detections) -> np.ndarray:
    """Mask of the digit readings that are brackets around numbers (see BRACKET_BOW): at a
    line's start or end, taller than the digit inside; inside a line, taller than the digits
    on both sides ("2(3", "4)5"); or a closing bracket and an opening one side by side, each
    taller than the digit on its outer side ("(40) (02)" read as one line)."""
    out = np.zeros(len(detections), bool)
    xyxy = detections.xyxy
    ones = detections.digit == 1
    bows = {}

    def covers(mark: int, beside: int) -> bool:
        (_, top, _, bottom), (_, beside_top, _, beside_bottom) = xyxy[mark], xyxy[beside]
        taller = bottom - top >= (1 + BRACKET_REACH) * (beside_bottom - beside_top)
        return bool(taller and top <= beside_top and bottom >= beside_bottom)

    def bent(mark: int, side: int) -> bool:
        """Whether a 1 bows out to the left (side -1), to the right (1) or either way (0)."""
        if mark not in bows:
            bows[mark] = bow(detections.crops[mark])
        return (side * bows[mark] if side else abs(bows[mark])) >= BRACKET_BOW

    # Cheapest first: a 1, then taller than its neighbours, and only then its bow measured.
    for chain in lines(xyxy):
        first, last = chain[0], chain[-1]
        out[first] |= ones[first] and covers(first, chain[1]) and bent(first, -1)
        out[last] |= ones[last] and covers(last, chain[-2]) and bent(last, 1)
        for left, mark, right in zip(chain, chain[1:], chain[2:], strict=False):
            if ones[mark] and covers(mark, left) and covers(mark, right):
                out[mark] |= bent(mark, 0)
        for left, close, open_, right in zip(chain, chain[1:], chain[2:], chain[3:], strict=False):
            if ones[close] and ones[open_] and covers(close, left) and covers(open_, right):
                out[[close, open_]] |= bent(close, 1) and bent(open_, -1)
    return out


def spelled(detections: Detections, digits: np.ndarray) -> np.ndarray:
    """Mask of the digit readings (`digits`, a mask) that are letters of a word: spelled inside
    a word of letters or between its letters (see WORD_GAP), or small letters beside a tall one
    (see X_HEIGHT)."""
    letters = (detections.digit == NOT_DIGIT) & (detections.confidence >= LETTER_SURE)
    out = np.zeros(len(detections), bool)
    if not digits.any() or not letters.any():
        return out
    height = detections.xyxy[:, 3] - detections.xyxy[:, 1]
    for chain in lines(detections.xyxy, WORD_GAP):
        word = np.array(chain)
        if letters[word].any():
            read, peers = word[digits[word]], word[letters[word]]
            small = small_beside(detections.xyxy[read], detections.xyxy[word]).any(axis=1)
            ratio = height[read, None] / np.maximum(height[None, peers], 1)
            among = ((ratio >= 1 / PEER) & (ratio <= PEER)).any(axis=1)
            out[read[small & among]] = True
        # The small letters found count as the word's letters, not as its digits ("hello").
        spelt, numerals = letters[word] | out[word], digits[word] & ~out[word]
        count = spelt.sum()
        if len(word) >= 3 and count >= WORD_LETTERS * numerals.sum():
            inside = word[1:-1]
            out[inside[digits[inside]]] = True
        elif count >= 2 and numerals.any() and count >= BETWEEN_LETTERS * numerals.sum():
            tallest = height[word[numerals]].max()
            beside = spelt & (height[word] <= (1 + BRACKET_REACH) * tallest)
            before = np.cumsum(beside) - beside  # letters left of each mark
            after = beside.sum() - before - beside
            out[word[numerals & (before > 0) & (after > 0)]] = True
    return out


def small_beside(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) mask: box a[i] (xyxy) is at most X_HEIGHT as tall as box b[j] and stands on its
    line, their feet at most BASELINE of b[j]'s height apart (a small letter beside a tall
    one)."""
    height_a, height_b = a[:, 3] - a[:, 1], b[:, 3] - b[:, 1]
    feet = np.abs(a[:, None, 3] - b[None, :, 3])
    return (height_a[:, None] <= X_HEIGHT * height_b[None]) & (feet <= BASELINE * height_b[None])


def lines(xyxy: np.ndarray, max_gap: float = MAX_GAP) -> list[list[int]]:
    """Chains of two or more neighbouring marks (`right_neighbours`), each listed left to
    right."""
    if len(xyxy) < 2:
        return []
    right = right_neighbours(xyxy, max_gap)
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


def separator(gray: np.ndarray, left: np.ndarray, right: np.ndarray) -> str:
    """The mark written between two neighbouring digits' boxes (xyxy): ".", ":", ",", "-" or
    ""."""
    x0, x1 = int(left[2]), int(right[0])
    top, bottom = int(min(left[1], right[1])), int(math.ceil(max(left[3], right[3])))
    height = bottom - top
    if x1 - x0 < 2 or height < 8:
        return ""
    # The gap, with a margin into each digit's box and below the line (a comma's tail); a blob
    # that reaches the side of what is looked at is a stroke's end, not a mark. Ink is what is
    # darker than halfway from the gap's paper (its lightest) to the digits' darkest strokes.
    below = min(gray.shape[0], bottom + round(DOT_MAX * height))
    darkest, paper, _, _ = cv2.minMaxLoc(gray[top:below, x0:x1])
    ink = cv2.minMaxLoc(gray[top:bottom, int(left[0]) : int(math.ceil(right[2]))])[0]
    halfway = (paper + ink) / 2
    if paper - ink < MIN_INK_CONTRAST or darkest > halfway:
        return ""  # nothing dark written in the gap (most numbers)
    margin = max(2, round(DOT_MIN * height))
    region = gray[top:below, max(0, x0 - margin) : x1 + margin]
    gap = cv2.compare(region, halfway, cv2.CMP_LT)
    _, _, stats, centres = cv2.connectedComponentsWithStats(gap, connectivity=8)
    dots, commas, dashes, others = [], 0, 0, 0
    for (x, y, w, h, area), (_, cy) in zip(stats[1:], centres[1:], strict=True):
        if x == 0 or y == 0 or x + w == gap.shape[1] or y + h == gap.shape[0]:
            continue  # a digit's stroke, reaching in from beside (or a line running past)
        small = DOT_MIN * height <= max(w, h) <= DOT_MAX * height and max(w, h) >= 2
        dash = w >= DASH_LONG * h and DASH_MIN * height <= w <= DASH_MAX * height
        if dash and abs(cy / height - 0.5) <= DASH_MIDDLE / 2:
            dashes += 1
        elif not (small and area >= DOT_FILL * w * h):
            others += 1
        elif h >= COMMA_TALL * w and y + h > height + DOT_MIN * height:
            commas += 1
        elif max(w, h) <= DOT_ASPECT * min(w, h):
            dots.append(cy / height)
        else:
            others += 1
    if others or (commas and dots) or (dashes and (commas or dots)):
        return ""
    if dashes == 1:
        return "-"
    if commas == 1:
        return ","
    if len(dots) == 1 and dots[0] >= 1 - DOT_LOW:
        return "."
    if len(dots) == 2 and min(dots) < 0.5 <= max(dots):
        return ":"
    return ""


def group_numbers(detections: Detections, gray: np.ndarray | None = None) -> list[dict]:
    """Numbers of two or more digits: box [x, y, w, h], value, confidence, digit indexes.

    With the frame's grayscale `gray` (dark ink on light), a decimal point, a colon or a comma
    between two of a number's digits is read into its value."""
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
                "value": value(detections, chain, gray),
                "confidence": round(float(np.prod(detections.confidence[chain])), 4),
                "digits": chain,
            }
        )
    return numbers


def value(detections: Detections, chain: list[int], gray: np.ndarray | None) -> str:
    """A number's digits as text, with the separators written between them (`separator`)."""
    text = str(int(detections.digit[chain[0]]))
    for a, b in zip(chain, chain[1:], strict=False):
        if gray is not None:
            text += separator(gray, detections.xyxy[a], detections.xyxy[b])
        text += str(int(detections.digit[b]))
    return text
