"""Grid and margin lines: long, thin, nearly straight lines of squared paper or a notebook's
margin, which are no digit's strokes, found on the detection copy and erased from the frame.

- `line_segments` sums each strip of the ink mask per column and keeps bands of columns inked
  over most of a strip with paper beside them; where such bands chain over much of the frame,
  `vote_lines` says which band lies on which line, a straight line is fitted to each, and those
  seen along most of their length with paper on both sides are kept;
- `erase_lines` turns the pixels along them into paper (a closing across each line), keeping
  the strokes that cross them or are written darker along them, so the digits written over or
  against the lines stay apart from them and their crops do not carry them.

`detection.ruling` adds the sides of boxes and circles drawn around digits to them, and
`detection.find_boxes` erases them all before it searches the frame again.
"""

import cv2
import numpy as np

from recognizer.preprocessing import square

# Grid and margin lines (`line_segments`, `erase_lines`), on the detection copy. A line is
# looked for in strips of LINE_STRIP_PX rows: a band of columns inked in LINE_FILL of a strip's
# rows with no ink just beside it; bands that chain over LINE_MIN_LENGTH of the frame are a
# line. A digit's stroke is shorter or thicker: one whose thin stroke ran that long (a
# pen-written 1 half the frame tall) would lose that stroke. Strokes stacked in a column are
# not a line: they leave LINE_STRIP_PX rows of paper between them (`unbroken`).
LINE_STRIP_PX = 16
LINE_TILT_PX = 2  # sideways drift allowed within a strip, each way (about 15 degrees)
LINE_FILL = 0.4  # share of a strip's rows a line inks (its crossings leave gaps in the rest)
LINE_WIDTH_PX = 6  # ink wider than this is a stroke's side or a dark area, not a line
LINE_SIDE_PX = LINE_WIDTH_PX + 2 * LINE_TILT_PX  # beside a line: past its width and drift
LINE_MIN_LENGTH = 0.45  # of the frame's height (of its width, for horizontal lines) ...
LINE_MIN_PX = 160  # ... and at least this long
LINE_LONE_LENGTH = 0.8  # a line with no other beside it (a margin), of the frame's height
LINE_GAP_STRIPS = 8  # a digit written over a line may break it for this many strips ...
LINE_GAP_DRIFT_PX = 8  # ... across which a tilted line moves this far sideways
LINE_COVERAGE = 0.5  # but a line is seen in this share of the strips along it
LINE_MAX_SLOPE = 0.27  # lines tilted up to 15 degrees, ...
LINE_SLOPES = 27  # ... voted for in this many steps each way
LINE_BIN_PX = 3  # histogram bin of the lines' positions
LINE_MAX_LINES = 120  # a bound on the lines taken one by one (`vote_lines`)
LINE_CONTRAST = 8  # gray levels a line is darker than the paper beside it, at least
LINE_PAPER_STEPS = np.array([-2, -1, 1, 2])  # where the paper beside it is, in half sides
LINE_SIDES = 30  # gray levels: the paper on either side of a line is alike
LINE_MAX_MISSED = 3  # lines of a grid hidden side by side (by a number) that are put back
LINE_SPACING_ERROR = 0.25  # ... when the gap is this close to a multiple of the spacing
LINE_BAND_PX = 7  # erased along a line: the line, its blurred edges and the fit's error
LINE_CLOSING_PX = 11  # the closing across a line that erases it
INK_OVER_LINE = 2.0  # ink this many times as dark as a line (`line_darkness`) is written on it


def line_segments(mask: np.ndarray, gray: np.ndarray) -> np.ndarray:
    """Long, thin, nearly vertical lines in the ink mask of `gray`: (L, 4) x0, y0, x1, y1.

    Each strip of LINE_STRIP_PX rows is summed per column after a sideways dilation (so a tilted
    line still inks one band of columns in every row of a strip): a line's band is inked in
    LINE_FILL of the rows, and the columns LINE_WIDTH_PX beyond it are mostly not (which rules
    out the sides of strokes and dark areas such as the desk beyond the sheet). Only if such
    bands chain from strip to strip over LINE_MIN_LENGTH of the frame's height (across gaps
    where digits cover a line) are lines looked for: `vote_lines` says which band lies on
    which line, a straight line is fitted to each, and those seen in LINE_COVERAGE of the
    strips along them, with paper on both sides (`paper_both_sides`), are kept.
    """
    none = np.zeros((0, 4), np.float32)
    h, w = mask.shape
    strips = h // LINE_STRIP_PX
    if strips < 3 or w < 4 * LINE_WIDTH_PX:
        return none
    rows = strips * LINE_STRIP_PX
    band = cv2.dilate(mask[:rows], np.ones((1, 2 * LINE_TILT_PX + 1), np.uint8))
    cover = band.reshape(strips, LINE_STRIP_PX, w).sum(axis=1, dtype=np.uint16)
    full = LINE_STRIP_PX * 255
    side = LINE_SIDE_PX
    beside = np.pad(cover, ((0, 0), (side, side)))
    cells = (cover >= LINE_FILL * full) & (beside[:, : -2 * side] < full // 2)
    cells &= beside[:, 2 * side :] < full // 2
    need = max(LINE_MIN_LENGTH * strips, LINE_MIN_PX / LINE_STRIP_PX)
    if need > strips:
        return none  # too small an image to tell a line from a stroke (a digit's photo)
    if np.count_nonzero(cells.any(axis=1)) < need - LINE_GAP_STRIPS:
        return none  # too few strips hold any line-like band: no line (most frames)
    # Chains may bend by a line's tilt across a gap: cells are widened by that much first.
    chains = cv2.dilate(cells.view(np.uint8), np.ones((1, 2 * LINE_GAP_DRIFT_PX + 1), np.uint8))
    chains = cv2.morphologyEx(chains, cv2.MORPH_CLOSE, np.ones((LINE_GAP_STRIPS + 1, 1), np.uint8))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(chains, connectivity=8)
    long = stats[:, cv2.CC_STAT_HEIGHT] >= need
    long[0] = False  # the background
    if not long.any():
        return none
    # One point per run of line-like columns in a strip (a line's band is several columns
    # wide): a line gets about one vote per strip, so lines are told apart by their length.
    edges = np.diff(np.pad(cells & long[labels], ((0, 0), (1, 1))).view(np.int8), axis=1)
    strip, start = np.nonzero(edges == 1)
    end = np.nonzero(edges == -1)[1]
    x = (start + end - 1) / 2
    y = (strip + 0.5) * LINE_STRIP_PX
    line, keep = vote_lines(x, y, need)
    if not len(line) or not keep.any():
        return none
    a, b, keep = fit_lines(x, y, line, keep)
    top = np.full(len(a), np.inf)
    bottom = np.zeros(len(a))
    np.minimum.at(top, line[keep], y[keep] - LINE_STRIP_PX / 2)
    np.maximum.at(bottom, line[keep], y[keep] + LINE_STRIP_PX / 2)
    top = np.minimum(top, bottom)  # a line left with no cells spans nothing
    segments = np.column_stack([a * top + b, top, a * bottom + b, bottom]).astype(np.float32)
    # A line is seen in most strips along it (strokes of digits stacked in a column are not),
    # and has paper on both sides (the sheet's edge has the desk on one).
    on = np.zeros((len(a), strips), bool)  # the strips each line is seen in
    on[line[keep], strip[keep]] = True
    seen = np.count_nonzero(on, axis=1)
    spanned = (bottom - top) / LINE_STRIP_PX
    straight = (spanned >= need) & (seen >= np.maximum(LINE_COVERAGE * spanned, need))
    lines = straight & paper_both_sides(gray, segments)
    lines[lines] = unbroken(mask, gray, segments[lines], on[lines])
    if np.count_nonzero(lines) == 1:  # a margin runs the page's length; a pen's 1 does not
        lines &= spanned >= LINE_LONE_LENGTH * strips
    return whole_lines(segments[lines], h)


def fit_lines(x: np.ndarray, y: np.ndarray, line: np.ndarray, keep: np.ndarray) -> tuple:
    """x = a * y + b for each line's kept cells by least squares, then again without the cells
    more than LINE_WIDTH_PX from it: (a, b, the cells kept)."""
    for _ in range(2):
        n, sy, sx = (np.bincount(line, v * keep) for v in (np.ones_like(y), y, x))
        syy, sxy = np.bincount(line, y * y * keep), np.bincount(line, x * y * keep)
        a = (n * sxy - sy * sx) / np.maximum(n * syy - sy * sy, 1e-6)
        b = (sx - a * sy) / np.maximum(n, 1)
        keep = np.abs(x - a[line] * y - b[line]) <= LINE_WIDTH_PX
    return a, b, keep


def whole_lines(segments: np.ndarray, height: int) -> np.ndarray:
    """The lines of `segments` over the whole frame, with those of a grid that were not found.

    A grid's or margin's line runs across the sheet, also where digits hid it. Lines of a grid
    are evenly spaced: a gap of about k spacings between found lines (k up to LINE_MAX_MISSED
    + 1) is filled with the k - 1 lines it hides (where digits stand in a column).
    """
    slope = (segments[:, 2] - segments[:, 0]) / np.maximum(segments[:, 3] - segments[:, 1], 1)
    top = segments[:, 0] - slope * segments[:, 1]
    lines = np.column_stack(
        [top, np.zeros_like(top), top + slope * height, np.full_like(top, height)]
    )
    if len(lines) < 3:
        return lines.astype(np.float32)
    lines = lines[np.argsort(lines[:, 0] + lines[:, 2])]
    middle = (lines[:, 0] + lines[:, 2]) / 2
    apart = np.diff(middle, prepend=-np.inf) > LINE_WIDTH_PX  # one line found twice: once
    lines, middle = lines[apart], middle[apart]
    if len(lines) < 3:
        return lines.astype(np.float32)
    gaps = np.diff(middle)
    # The spacing: the gaps with no line missing are the smallest (most lines may be missing).
    spacing = np.median(gaps[gaps <= (1 + LINE_SPACING_ERROR) * gaps.min()])
    missed = np.round(gaps / max(spacing, 1)).astype(int)
    regular = np.abs(gaps - missed * spacing) <= LINE_SPACING_ERROR * spacing
    added = [
        lines[i] + (lines[i + 1] - lines[i]) * j / missed[i]
        for i in np.flatnonzero(regular & (missed >= 2) & (missed <= LINE_MAX_MISSED + 1))
        for j in range(1, missed[i])
    ]
    return np.concatenate([lines, np.reshape(added, (-1, 4))]).astype(np.float32)


def paper_both_sides(gray: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Whether each near-vertical segment is darker than what lies just left and right of it,
    and those agree (paper on both sides, not the sheet's edge nor a textured desk)."""
    side = LINE_SIDE_PX
    left, right = (along_segments(gray, segments, 16, dx) for dx in (-side, side))
    on = np.min([along_segments(gray, segments, 16, dx) for dx in (-1, 0, 1)], axis=0)
    left, right, on = (np.median(v, axis=1) for v in (left, right, on))
    return (np.abs(left - right) <= LINE_SIDES) & (np.minimum(left, right) - on >= LINE_CONTRAST)


def unbroken(mask: np.ndarray, gray: np.ndarray, segments: np.ndarray, seen: np.ndarray):
    """Whether each near-vertical segment of the ink `mask` of `gray` runs on along its whole
    length: no LINE_STRIP_PX rows in a row along it without ink within LINE_WIDTH_PX of it,
    nor LINE_CONTRAST darker than the paper beside it (where the threshold lost a faint
    line). A line runs on where digits cover it, but strokes stacked in a column (the 1s of
    numbers listed down a page, a 4's stem over the next row's) leave paper between them.

    Only the rows of strips where a segment was not `seen` (segments by strips), nor in the
    strips on either side, are looked at, all segments' together: runs of such strips, each
    followed by a row that counts as inked.
    """
    h, w = mask.shape
    strips = seen.shape[1]
    if not len(segments):
        return np.ones(0, bool)
    first = np.clip(segments[:, 1] // LINE_STRIP_PX, 0, strips).astype(int)
    last = np.clip(np.ceil(segments[:, 3] / LINE_STRIP_PX), 0, strips).astype(int)
    unseen = cv2.erode(seen.view(np.uint8), np.ones((1, 3), np.uint8)) == 0
    unseen &= (np.arange(strips) >= first[:, None]) & (np.arange(strips) < last[:, None])
    segment, strip = np.nonzero(unseen)
    if not len(segment):
        return np.ones(len(segments), bool)
    after = np.r_[(segment[1:] != segment[:-1]) | (strip[1:] != strip[:-1] + 1), True]
    counts = LINE_STRIP_PX + after  # a strip's rows, and a row that ends a run of strips
    offset = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    segment = np.repeat(segment, counts)
    rows = np.repeat(strip * LINE_STRIP_PX, counts) + offset
    x0, y0, x1, y1 = segments[segment].T
    inked = (offset == LINE_STRIP_PX) | (rows < y0) | (rows >= y1) | (rows >= h)
    x = np.round(x0 + (x1 - x0) * (rows - y0) / np.maximum(y1 - y0, 1)).astype(int)[:, None]
    rows = np.minimum(rows, h - 1)[:, None]
    look = np.flatnonzero(~inked)
    reach = np.arange(-LINE_WIDTH_PX, LINE_WIDTH_PX + 1)
    inked[look] = mask[rows[look], np.clip(x[look] + reach, 0, w - 1)].any(axis=1)
    look = np.flatnonzero(~inked)
    if len(look) >= LINE_STRIP_PX:
        smooth = cv2.blur(gray, (1, 5)).astype(np.int16)  # the paper's noise averaged along
        beside = LINE_PAPER_STEPS * LINE_SIDE_PX // 2
        paper = smooth[rows[look], np.clip(x[look] + beside, 0, w - 1)].max(axis=1)
        centre = np.arange(-2, 3)  # the line itself, within the fit's error
        line = smooth[rows[look], np.clip(x[look] + centre, 0, w - 1)].min(axis=1)
        inked[look] = paper - line >= LINE_CONTRAST
    # The longest run of rows with neither, per segment.
    edges = np.flatnonzero(np.diff(np.r_[1, inked.view(np.int8), 1]))
    longest = np.zeros(len(segments), int)
    np.maximum.at(longest, segment[edges[::2]], np.diff(edges)[::2])
    return longest < LINE_STRIP_PX


def along_segments(image: np.ndarray, segments: np.ndarray, count: int, dx: int = 0):
    """`image` at `count` evenly spaced points of each segment, `dx` px to the right of it:
    (L, count)."""
    along = np.linspace(0, 1, count)
    x = segments[:, [0]] + along * (segments[:, [2]] - segments[:, [0]]) + dx
    y = segments[:, [1]] + along * (segments[:, [3]] - segments[:, [1]])
    h, w = image.shape
    rows = np.clip(y.round().astype(int), 0, h - 1)
    return image[rows, np.clip(x.round().astype(int), 0, w - 1)]


def vote_lines(x: np.ndarray, y: np.ndarray, need: float) -> tuple[np.ndarray, np.ndarray]:
    """Which line each line-like point (x, y) lies on, and whether it lies on one.

    A Hough vote, one line at a time: every point votes for the lines x = slope * y + intercept
    through it (slopes up to LINE_MAX_SLOPE each way, intercepts in bins of LINE_BIN_PX); the
    line with the most votes, if it has `need`, takes the points within LINE_WIDTH_PX of it,
    and their votes are withdrawn before the next. Each line gets its own slope (a grid seen at
    an angle has converging lines), and the evenly spaced points of a grid's parallel lines,
    once those are taken, leave no false lines across them. (Chains of cells alone would join
    neighbouring lines through the digits written across them.)
    """
    slopes = np.linspace(-LINE_MAX_SLOPE, LINE_MAX_SLOPE, 2 * LINE_SLOPES + 1)
    intercept = x[None, :] - slopes[:, None] * y[None, :]
    low = intercept.min()
    width = int((intercept.max() - low) / LINE_BIN_PX) + 1
    offset = ((intercept - low) / LINE_BIN_PX).astype(np.int64)
    slot = np.arange(len(slopes))[:, None] * width + offset  # each point's vote per slope
    votes = np.bincount(slot.ravel(), minlength=len(slopes) * width).astype(np.float32)
    votes = votes.reshape(len(slopes), width)
    line = np.full(len(x), -1)
    spread = np.ones((1, 3), np.float32)  # a line's points fall into neighbouring bins
    for found in range(LINE_MAX_LINES):
        summed = cv2.filter2D(votes, -1, spread, borderType=cv2.BORDER_CONSTANT)
        row, col = np.unravel_index(int(np.argmax(summed)), summed.shape)
        if summed[row, col] < need:
            break
        centre = low + (col + 0.5) * LINE_BIN_PX
        mine = (line < 0) & (np.abs(x - slopes[row] * y - centre) <= LINE_WIDTH_PX)
        if not mine.any():
            votes[row, max(0, col - 1) : col + 2] = 0
            continue
        line[mine] = found
        votes -= np.bincount(slot[:, mine].ravel(), minlength=votes.size).reshape(votes.shape)
    keep = line >= 0
    return np.where(keep, line, 0), keep


def erase_lines(gray: np.ndarray, lines: tuple, factor: float) -> np.ndarray:
    """`gray` with lines (segments on a copy `factor` times smaller) turned to paper.

    The pixels along each line take the value of a closing across it (a kernel wider than a
    line): a line on paper becomes paper, while a stroke that crosses it stays ink, as the
    closing runs along that stroke. A stroke that runs along a line (a 1 written on it) is
    darker than the line: pixels more than INK_OVER_LINE times as dark as the line (below the
    closing) are kept. Vertical lines first, so the grid's crossings go with the horizontal ones.
    """
    out = gray.copy()
    k = round(LINE_CLOSING_PX * factor) | 1
    thickness = round(LINE_BAND_PX * factor)  # the line, its blurred edges and some slack
    for segments, kernel in zip(lines, ((1, k), (k, 1)), strict=True):
        if not len(segments):
            continue
        pixels = np.zeros_like(gray)
        for x0, y0, x1, y1 in (segments * factor).round().astype(int).tolist():
            cv2.line(pixels, (x0, y0), (x1, y1), 255, thickness)
        closed = cv2.morphologyEx(out, cv2.MORPH_CLOSE, np.ones(kernel, np.uint8))
        darkness = cv2.subtract(closed, out)
        line = line_darkness(darkness, segments * factor, max(1, round(factor)))
        pixels &= cv2.compare(darkness, INK_OVER_LINE * max(line, 1.0), cv2.CMP_LE)
        cv2.copyTo(closed, pixels, out)
    return out


def line_darkness(darkness: np.ndarray, segments: np.ndarray, reach: int) -> float:
    """How much darker than the paper the lines are: the median along their centres (of the
    darkest pixel within `reach` of each point, as a fit may be a pixel off). Digits cover only
    a small part of a line's length, so this is the line's own darkness, not theirs."""
    peak = cv2.dilate(darkness, square(2 * reach + 1))
    length = np.abs(segments[:, 2:] - segments[:, :2]).max()  # a point per pixel of the longest
    return float(np.median(along_segments(peak, segments, int(length) + 1)))
