"""Pure stages as tables: Detections, detection, splitting, tracking, number grouping."""

import contextlib
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognizer import deskew
from recognizer.bench import xywh_to_xyxy
from recognizer.classifier import Classifier, is_digit
from recognizer.core import Detections, Frame, box_iou
from recognizer.detection import (
    MAX_CANDIDATES,
    Steps,
    crop_boxes,
    downscale,
    find_boxes,
    find_candidates,
    merge_pieces,
    noise_sigma,
    ruling,
    threshold,
)
from recognizer.grouping import group_numbers
from recognizer.joining import stacked_cuts
from recognizer.lines import erase_lines
from recognizer.modelfiles import NOT_DIGIT
from recognizer.orientation import ORIENTATIONS, boxes_back, numbers_back, turned, turned_crops
from recognizer.pipeline import DEFAULT_MIN_CONFIDENCE, detect, recognize
from recognizer.samples import SceneSpec, read_truth, scene_frames
from recognizer.splitting import (
    CUT_PER_FRAME,
    SEVERAL_PER_FRAME,
    best_chain,
    resolve,
    several,
    small_beside_digit,
    split_hypotheses,
)
from recognizer.tracking import Tracker

does_not_raise = contextlib.nullcontext
SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def batch(xyxy, digit=None, probabilities=None) -> Detections:
    xyxy = np.array(xyxy, np.float32).reshape(-1, 4)
    n = len(xyxy)
    return Detections(
        xyxy=xyxy,
        crops=np.zeros((n, 28, 28), np.uint8),
        digit=digit if digit is not None else np.zeros(n, np.int64),
        confidence=np.ones(n, np.float32),
        probabilities=probabilities if probabilities is not None else np.zeros((n, 0)),
    )


@pytest.mark.parametrize(
    ("kwargs", "expectation"),
    [
        ({"xyxy": np.zeros((2, 4)), "crops": np.zeros((2, 28, 28))}, does_not_raise()),
        ({"xyxy": np.zeros((2, 3)), "crops": np.zeros((2, 28, 28))}, pytest.raises(ValueError)),
        ({"xyxy": np.zeros((2, 4)), "crops": np.zeros((3, 28, 28))}, pytest.raises(ValueError)),
        (
            {"xyxy": np.zeros((1, 4)), "crops": np.zeros((1, 28, 28)), "digit": [1, 2]},
            pytest.raises(ValueError),
        ),
    ],
)
def test_detections_checks_shapes(kwargs, expectation):
    with expectation:
        Detections(**kwargs)


def test_detections_are_read_only_and_mask_indexing_returns_a_sub_batch():
    d = batch([[0, 0, 10, 10], [5, 5, 20, 30], [1, 1, 2, 2]], digit=np.array([1, 2, 3]))
    with pytest.raises(ValueError):
        d.xyxy[0, 0] = 5
    sub = d[d.digit >= 2]
    assert len(sub) == 2 and list(sub.digit) == [2, 3]
    assert np.allclose(d.xywh[1], [5, 5, 15, 25])
    assert len(Detections.empty()) == 0


def test_box_iou_table():
    a = np.array([[0, 0, 10, 10]], np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], np.float32)
    assert np.allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0]])


@pytest.mark.parametrize(
    ("box", "shape", "expected"),
    [
        ((0, 0, 10, 10), (100, 100), (0, 0, 12, 12)),  # never negative at the border
        ((90, 90, 100, 100), (100, 100), (88, 88, 100, 100)),
        ((40, 40, 60, 80), (100, 100), (34, 34, 66, 86)),
    ],
)
def test_crop_box_is_clipped_to_the_frame(box, shape, expected):
    assert crop_boxes(shape, np.array([box], np.float32)).tolist() == [list(expected)]


@pytest.mark.parametrize(
    ("spec", "min_recall"),
    [
        (SceneSpec((640, 480), frames=1, digits=10, seed=21), 0.9),
        (SceneSpec((640, 480), frames=1, digits=10, seed=22, ruled=True), 0.9),
        (SceneSpec((320, 240), frames=1, digits=6, seed=23), 0.8),
        (SceneSpec((1920, 1080), frames=1, digits=16, seed=24, ruled=True), 0.9),
        # Digits half the frame tall, thick strokes: their bars must not be taken for rules.
        (SceneSpec((640, 480), frames=1, digits=2, digit_height=(0.45, 0.55), seed=31), 1.0),
        (
            SceneSpec(
                (640, 480), frames=1, digits=3, digit_height=(0.3, 0.45), seed=34, ruled=True
            ),
            1.0,
        ),
        # Large digits in two rows: a 7 over a 3 must not merge into one "broken digit".
        (SceneSpec((640, 480), frames=1, digits=6, digit_height=(0.2, 0.35), seed=105), 1.0),
    ],
)
def test_candidates_cover_the_digits(mnist, spec, min_recall):
    frame, truth = next(scene_frames(spec, mnist["x_test"], mnist["y_test"]))
    found = find_candidates(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    true_xyxy = xywh_to_xyxy(truth["digits"])
    covered = (box_iou(true_xyxy, found.xyxy) >= 0.4).any(axis=1) if len(found) else []
    assert np.mean(covered) >= min_recall
    assert found.crops.shape == (len(found), 28, 28)


def test_stills_find_the_small_digits_of_a_large_photo(mnist):
    # A 12 MP photo of a page, digits 1.4-2.9% of its height: under the size limit of the
    # 640-px detection copy that video uses; a still gets a second, finer pass.
    spec = SceneSpec((4032, 3024), frames=1, digits=20, digit_height=(0.02, 0.04), seed=401)
    frame, truth = next(scene_frames(spec, mnist["x_test"], mnist["y_test"]))
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    true_xyxy = xywh_to_xyxy(truth["digits"])

    def recall(found):
        return (box_iou(true_xyxy, found.xyxy) >= 0.4).any(axis=1).mean() if len(found) else 0.0

    assert recall(find_candidates(gray, still=True)) >= 0.8  # measured: 0.85
    assert recall(find_candidates(gray)) <= 0.6  # the video path, measured 0.5: why stills differ


def test_stills_find_large_digits_written_with_a_thin_pen(mnist):
    # A 12 MP photo of digits 14-21% of its height written with a 3-5 px pen. Averaged down to
    # the 640-px copy such a line was half a pixel wide at half its contrast, too faint or too
    # sparse in its box to be a candidate. Measured on these 6 pages: 69 of 72 found; 62
    # before the copy kept thin lines dark, 66 before sparser marks were taken where their ink
    # ends in their box (a slanted 1 or 7, an open 0). On 24 pages: 273 of 288 (237, 254).
    covered = []
    for seed in range(6):
        rng = np.random.default_rng(seed)
        page = np.full((3024, 4032), 222, np.float32)
        boxes = []
        for i in range(12):
            index = int(rng.integers(0, 10000))
            x = 150 + (i % 4) * 980 + int(rng.integers(0, 200))
            y = 150 + (i // 4) * 980 + int(rng.integers(0, 100))
            height, pen = int(rng.integers(420, 650)), int(rng.integers(3, 6))
            boxes.append(pen_digit(page, mnist["x_test"][index], x, y, height, pen))
        page = cv2.GaussianBlur(page, (0, 0), 1.2) + rng.normal(0, 4, page.shape)
        found = find_candidates(np.clip(page, 0, 255).astype(np.uint8), still=True)
        covered += list((box_iou(np.float32(boxes), found.xyxy) >= 0.4).any(axis=1))
    assert sum(covered) >= 68


def dashed_lines_page(seed: int) -> np.ndarray:
    """A 640x480 grayscale page crossed by 4 faint straight lines, 30-63 degrees from the
    horizontal, each broken into dashes 60-110 px long by gaps of 2-6 px (a crease, a pencil
    line broken by the paper's grain)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 228, np.float32)
    for _ in range(4):
        angle = rng.uniform(0.5, 1.1) * rng.choice([-1, 1])
        step = np.array([np.cos(angle), np.sin(angle)])
        centre = np.array([rng.uniform(200, 440), rng.uniform(150, 330)])
        t = -400.0
        while t < 400:
            dash = rng.uniform(60, 110)
            a, b = (tuple(int(v) for v in centre + step * u) for u in (t, t + dash))
            cv2.line(page, a, b, (195, 195, 195), 2, cv2.LINE_AA)
            t += dash + rng.uniform(2, 6)
    return photographed(page, rng)


def test_the_dashes_of_a_long_line_are_not_taken_as_sparse_digits():
    # A dash is as sparse in its box as a thin pen's slanted 1, but its line runs on through
    # the ring around it. Measured on these 12 pages: 68 candidates (67 before sparse marks
    # were taken at all; 79 without looking at the ring).
    assert sum(len(find_candidates(dashed_lines_page(seed))) for seed in range(12)) <= 72


def test_the_dashes_of_a_long_line_are_not_read_as_1s(shipped_model):
    # A straight dash is a 1 to the model; its line runs on past both its ends. Measured on
    # these 12 pages: 11 readings (41 before `line_dashes`: 36 of them 1s; the rest are the
    # lines' end dashes, with paper past one end, and crossings read as 4s and 7s).
    classifier = Classifier(shipped_model)
    readings = 0
    for seed in range(12):
        frame = Frame(0, 0.0, cv2.cvtColor(dashed_lines_page(seed), cv2.COLOR_GRAY2BGR))
        readings += len(recognize(detect(frame), classifier, DEFAULT_MIN_CONFIDENCE))
    assert readings <= 18


def test_stills_find_digits_at_the_first_passs_size_limit(mnist):
    # At 1080p the 640-px copy's limit is 21.6 px: a digit near it measured a pixel taller on
    # the fine copy was left by the fine pass to the first, which found it too small. Measured:
    # 30 of 30 found (18 before).
    rng = np.random.default_rng(0)
    page = np.full((1080, 1920, 3), 226, np.float32)
    boxes, _ = digit_rows(page, mnist, rng, 30, 6, (150, 100), (280, 180), (19, 21), 20)
    found = find_candidates(photographed(page, rng), still=True)
    covered = (box_iou(np.float32(boxes), found.xyxy) >= 0.4).any(axis=1)
    assert covered.mean() >= 0.95


def thinned(mask: np.ndarray) -> np.ndarray:
    """A binary mask thinned to strokes one pixel wide (Zhang and Suen's thinning)."""
    image = np.pad(mask.astype(np.uint8), 1)
    changed = True
    while changed:
        changed = False
        for step in (0, 1):
            p = np.pad(image, 1)
            # The 8 neighbours, clockwise from the one above.
            n = [p[:-2, 1:-1], p[:-2, 2:], p[1:-1, 2:], p[2:, 2:]]
            n += [p[2:, 1:-1], p[2:, :-2], p[1:-1, :-2], p[:-2, :-2]]
            count = sum(n)
            turns = sum((n[i] == 0) & (n[(i + 1) % 8] == 1) for i in range(8))
            if step == 0:
                side = (n[0] * n[2] * n[4] == 0) & (n[2] * n[4] * n[6] == 0)
            else:
                side = (n[0] * n[2] * n[6] == 0) & (n[0] * n[4] * n[6] == 0)
            gone = (image == 1) & (count >= 2) & (count <= 6) & (turns == 1) & side
            if gone.any():
                image[gone] = 0
                changed = True
    return image[1:-1, 1:-1]


def pen_digit(image, digit, x: int, y: int, height: int, pen: int, ink=35) -> list:
    """Draw an MNIST digit `height` px tall at (x, y) of a grayscale float image as a pen `pen`
    px wide writes it (its strokes thinned, then drawn at that width at any size); its box."""
    big = cv2.GaussianBlur(cv2.resize(digit, (112, 112), interpolation=cv2.INTER_CUBIC), (0, 0), 3)
    skeleton = thinned(big > 100)
    ys, xs = np.nonzero(skeleton)
    scale = 16 * height / (ys.max() - ys.min() + 1)  # 4 fractional bits (`shift`)

    def at(px, py):
        return round((px - xs.min()) * scale) + 16 * x, round((py - ys.min()) * scale) + 16 * y

    layer = np.zeros(image.shape[:2], np.uint8)
    for py, px in zip(ys, xs, strict=True):
        for dy, dx in ((0, 1), (1, -1), (1, 0), (1, 1)):
            if py + dy < 112 and 0 <= px + dx < 112 and skeleton[py + dy, px + dx]:
                cv2.line(layer, at(px, py), at(px + dx, py + dy), 255, pen, cv2.LINE_AA, shift=4)
    alpha = layer.astype(np.float32) / 255
    image[:] = image * (1 - alpha) + np.float32(ink) * alpha
    ys, xs = np.nonzero(layer)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


def written_digit(image, digit, x: int, y: int, height: int, ink=30, thin: bool = False) -> list:
    """Draw an MNIST digit `height` px tall as ink at (x, y) of a BGR image; its box.

    `thin` erodes the strokes to a pen's or pencil's width.
    """
    ys, xs = np.nonzero(digit)
    digit = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    width = max(1, round(digit.shape[1] * height / digit.shape[0]))
    alpha = cv2.resize(digit, (width, height)).astype(np.float32) / 255
    if thin:
        alpha = cv2.erode((alpha > 0.5).astype(np.float32), np.ones((3, 3), np.uint8))
    region = image[y : y + height, x : x + width]
    alpha = alpha[..., None]
    image[y : y + height, x : x + width] = region * (1 - alpha) + np.float32(ink) * alpha
    return [x, y, x + width, y + height]


def photographed(page: np.ndarray, rng) -> np.ndarray:
    """A float BGR page as a camera sees it: slightly blurred, with noise; uint8 grayscale."""
    page = cv2.GaussianBlur(page, (3, 3), 0.8) + rng.normal(0, 3, page.shape)
    return cv2.cvtColor(np.clip(page, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)


def digit_rows(
    page, mnist, rng, count: int, columns: int, origin: tuple, step: tuple, heights: tuple, jitter
) -> tuple[list, list]:
    """`count` MNIST test digits written on `page` in rows of `columns`, from `origin` (x, y)
    every `step` (dx, dy) px, each moved right by up to `jitter` px: (boxes, digits)."""
    boxes, digits = [], []
    for i in range(count):
        index, height = int(rng.integers(0, 10000)), int(rng.integers(*heights))
        x = origin[0] + step[0] * (i % columns) + int(rng.integers(0, jitter))
        y = origin[1] + step[1] * (i // columns)
        boxes.append(written_digit(page, mnist["x_test"][index], x, y, height, 35))
        digits.append(int(mnist["y_test"][index]))
    return boxes, digits


def page_of_digits(mnist, condition: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 640x480 page of 8 digits under one camera condition: (gray frame, true boxes)."""
    rng = np.random.default_rng(seed)
    paper, ink, thin, heights = (225, 228, 230), (40, 30, 25), False, (40, 70)
    if condition == "dim":
        paper, ink = (86, 87, 87), (15, 12, 10)
    elif condition == "thin pen":
        thin, heights = True, (50, 90)
    elif condition == "pencil":
        ink, thin, heights = (140, 140, 145), True, (40, 90)
    elif condition == "whiteboard glare":
        paper, ink, heights = (240, 240, 238), (150, 60, 20), (60, 100)
    page = np.empty((480, 640, 3), np.uint8)
    page[:] = paper
    if condition == "whiteboard glare":
        cv2.circle(page, (400, 200), 90, (255, 255, 255), -1)
        page = cv2.GaussianBlur(page, (0, 0), 25)
    boxes = []
    for i in range(8):
        x, y = 60 + 140 * (i % 4) + int(rng.integers(0, 30)), 80 + 190 * (i // 4)
        digit = mnist["x_test"][int(rng.integers(0, 10000))]
        boxes.append(written_digit(page, digit, x, y, int(rng.integers(*heights)), ink, thin))
    page = cv2.GaussianBlur(page, (3, 3), 0)
    if condition == "motion blur":
        page = cv2.blur(page, (11, 1))
    if condition == "dim":
        page = np.clip(page + rng.normal(0, 6, page.shape), 0, 255).astype(np.uint8)
    return cv2.cvtColor(page, cv2.COLOR_BGR2GRAY), np.float32(boxes)


@pytest.mark.parametrize(
    "condition", ["plain", "dim", "motion blur", "thin pen", "pencil", "whiteboard glare"]
)
def test_digits_are_found_under_camera_conditions(mnist, condition):
    # Measured with the shipped model over 6 pages each: 96-98% of the digits read right.
    gray, boxes = page_of_digits(mnist, condition)
    found = find_candidates(gray)
    covered = (box_iou(boxes, found.xyxy) >= 0.4).any(axis=1) if len(found) else []
    assert np.mean(covered) >= 7 / 8


@pytest.mark.parametrize("condition", ["thin pen", "pencil"])
def test_a_pen_stroke_thinning_between_thick_parts_is_not_cut_as_a_ruled_line(mnist, condition):
    # A nearly horizontal stroke (a 3's top, a 2's foot) longer than a ruled line's least
    # length, inked thick but thinner for a stretch where the hand eased, had that stretch
    # erased as a rule: the digit fell apart (a pencil 3 read as a 2, a 7 and no digit).
    # Measured over these 24 pages each: 183 and 186 of 192 found whole (179 and 181 before).
    found_whole = 0
    for seed in range(24):
        gray, boxes = page_of_digits(mnist, condition, seed)
        found = find_candidates(gray)
        found_whole += int((box_iou(boxes, found.xyxy) >= 0.6).any(axis=1).sum())
    assert found_whole >= 182


@pytest.mark.parametrize(
    ("note_px", "digit_share", "note_bgr"),
    [(200, 0.6, (120, 235, 250)), (200, 0.75, (120, 235, 250)), (240, 0.85, (190, 140, 250))],
)
def test_a_digit_filling_a_sticky_note_on_a_dark_desk_is_found(
    mnist, note_px, digit_share, note_bgr
):
    # The desk next to the note is darker than the local mean, so the threshold outlines the
    # note; that outline must neither swallow the digit nor make its surroundings look dark.
    frame = np.full((480, 640, 3), (50, 70, 90), np.uint8)
    frame[120 : 120 + note_px, 200 : 200 + note_px] = note_bgr
    height = int(digit_share * note_px)
    margin = (note_px - height) // 2
    box = written_digit(frame, mnist["x_test"][0], 200 + margin, 120 + margin, height)
    found = find_candidates(cv2.cvtColor(cv2.GaussianBlur(frame, (3, 3), 0), cv2.COLOR_BGR2GRAY))
    assert len(found) and box_iou(np.float32([box]), found.xyxy).max() >= 0.6


def note_held_close(mnist, seed: int, height: float) -> tuple[np.ndarray, np.ndarray, int]:
    """A sticky note held up close to a webcam before a room: its digit `height` of the
    frame's height, turned up to 8 degrees, out of focus (640x480 BGR, its box, its digit)."""
    rng = np.random.default_rng(seed)
    frame = np.zeros((480, 640, 3), np.float32) + rng.uniform(60, 160, 3)
    for _ in range(12):  # the room: shapes of every shade
        x, y, w, h = (int(v) for v in rng.integers([0, 0, 20, 20], [640, 480, 200, 200]))
        cv2.rectangle(frame, (x, y), (x + w, y + h), rng.uniform(20, 220, 3).tolist(), -1)
    side = int(480 * min(1.3, 1.35 * height))
    note = np.zeros((side, side, 3), np.float32) + (120, 230, 245)  # yellow
    index, tall = int(rng.integers(0, 10000)), int(480 * height)
    x0, y0 = (side - tall) // 3 + int(rng.integers(0, (side - tall) // 3 + 1)), (side - tall) // 2
    box = written_digit(note, mnist["x_test"][index], x0, y0, tall, 30, thin=bool(seed % 2))
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), rng.uniform(-8, 8), 1.0)
    turn[:, 2] += (320 - side / 2 + rng.uniform(-40, 40), 240 - side / 2 + rng.uniform(-20, 20))
    held = cv2.warpAffine(note, turn, (640, 480))
    alpha = cv2.warpAffine(np.ones((side, side), np.float32), turn, (640, 480))[..., None]
    frame = cv2.GaussianBlur(frame * (1 - alpha) + held * alpha, (0, 0), 1.5 + 2 * height)
    corners = np.float32([[box[0], box[1]], [box[2], box[1]], [box[0], box[3]], [box[2], box[3]]])
    seen = cv2.transform(corners[None], turn)[0]
    frame = np.clip(frame + rng.normal(0, 3, frame.shape), 0, 255).astype(np.uint8)
    return frame, np.float32([[*seen.min(axis=0), *seen.max(axis=0)]]), int(mnist["y_test"][index])


def test_a_digit_on_a_note_held_up_close_to_a_webcam_is_read(mnist, shipped_model):
    # A note held up to show the webcam a digit: the digit fills 75-85% of the frame's height,
    # more than the 70% a video frame's mark could be. Measured: 10 of 12 read (0 before; the
    # digit missed at both sizes is a blotted 5, as thick as a third of its height).
    classifier = Classifier(shipped_model)
    right = 0
    for seed in range(6):
        for height in (0.75, 0.85):
            frame, box, digit = note_held_close(mnist, seed, height)
            right += frame_read_right(frame, box, [digit], classifier)
    assert right >= 9, right


def test_a_marker_digit_held_up_close_is_read_whole(mnist, shipped_model):
    # Held up close, a digit written with a marker (MNIST's own strokes, a tenth of its height)
    # has strokes wider than the threshold's block, which outlined it in pieces: 85% of the
    # frame's height, video frames. Measured: 8 of 8 read (4 before `large_boxes`).
    classifier = Classifier(shipped_model)
    right = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        page = np.full((480, 640, 3), rng.uniform(200, 235), np.float32)
        index = int(rng.integers(0, 10000))
        box = written_digit(page, mnist["x_test"][index], 60 + 40 * (seed % 3), 36, 408)
        frame = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
        right += frame_read_right(frame, [box], [int(mnist["y_test"][index])], classifier)
    assert right >= 7, right


def test_a_ring_drawn_around_digits_close_to_the_webcam_keeps_them(mnist, shipped_model):
    # A ring around two digits, 80% of the frame's height: `large_boxes` finds it too, and when
    # it replaced what was found inside it (as a still's `filling_boxes` does), the digits were
    # lost: 0 of 12. Now the model reads the ring as no digit, and they stay: 9 of 12, as
    # before marks could be taller than 70% of the frame.
    classifier = Classifier(shipped_model)
    right = 0
    for seed in range(6):
        rng = np.random.default_rng(seed)
        page = np.full((480, 640, 3), 228, np.float32)
        boxes, digits = digit_rows(page, mnist, rng, 2, 2, (220, 154), (110, 0), (170, 174), 1)
        cv2.ellipse(page, (320, 240), (190, 192), 0, 0, 360, (40, 40, 40), 3)
        frame = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
        right += frame_read_right(frame, boxes, digits, classifier)
    assert right >= 8, right


NOTE_COLORS = [(120, 235, 250), (190, 140, 250), (235, 200, 120), (150, 240, 170), (80, 170, 250)]


def sticky_wall(mnist, rng, shape=(480, 640)) -> tuple[np.ndarray, np.ndarray, list]:
    """A light, grainy wall with six sticky notes (yellow, pink, blue, green or orange, turned
    up to 10 degrees), a digit written on each: (BGR float32 image, boxes, digits)."""
    wall = np.empty((*shape, 3), np.float32)
    wall[:] = (215, 218, 220)
    wall += cv2.GaussianBlur(rng.normal(0, 8, shape).astype(np.float32), (0, 0), 1.2)[..., None]
    boxes, digits = [], []
    for i in range(6):
        side = int(rng.integers(100, 130))
        x = 40 + (shape[1] - 160) // 3 * (i % 3) + int(rng.integers(0, 30))
        y = 40 + (shape[0] - 80) // 2 * (i // 3) + int(rng.integers(0, 30))
        turn = float(rng.uniform(-10, 10))
        note = cv2.boxPoints(((x + side / 2, y + side / 2), (side, side), turn))
        cv2.fillPoly(wall, [note.astype(np.int32)], NOTE_COLORS[int(rng.integers(0, 5))])
        index, height = int(rng.integers(0, 10000)), int(side * rng.uniform(0.5, 0.7))
        left, top = int(x + side / 2 - 0.35 * height), int(y + (side - height) / 2)
        boxes.append(written_digit(wall, mnist["x_test"][index], left, top, height, 30))
        digits.append(int(mnist["y_test"][index]))
    return wall, np.float32(boxes), digits


def test_digits_on_colored_sticky_notes_on_a_white_wall_are_read(mnist, shipped_model):
    # A pink, blue or orange note is darker than the wall: the threshold marks a band inside its
    # edges, which swallowed the digits near them and was read as 1s. Measured on these 4
    # walls: 24 of 24 read right, no false digits (19 of 24 and 8 false digits before).
    classifier = Classifier(shipped_model)
    right = false = 0
    for seed in range(4):
        wall, boxes, digits = sticky_wall(mnist, np.random.default_rng(seed))
        wall = cv2.GaussianBlur(wall, (3, 3), 0.8)
        gray = cv2.cvtColor(np.clip(wall, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
        found = classifier.classify(find_candidates(gray))
        found = found[is_digit(found, 0.6)]
        iou = box_iou(boxes, found.xyxy)
        right += int(((iou.max(axis=1) >= 0.4) & (found.digit[iou.argmax(axis=1)] == digits)).sum())
        false += int((iou.max(axis=0) < 0.3).sum())
    assert right >= 22 and false <= 2, (right, false)


@pytest.mark.parametrize("index", range(4))
def test_a_digit_in_a_drawn_box_is_found_apart_from_the_box(mnist, index):
    frame = np.full((480, 640, 3), 225, np.uint8)
    x0, y0, x1, y1 = written_digit(frame, mnist["x_test"][index], 250, 150, 120)
    cv2.rectangle(frame, (x0 - 30, y0 - 30), (x1 + 30, y1 + 30), (30, 30, 30), 3)
    found = find_candidates(cv2.cvtColor(cv2.GaussianBlur(frame, (3, 3), 0), cv2.COLOR_BGR2GRAY))
    assert len(found) and box_iou(np.float32([[x0, y0, x1, y1]]), found.xyxy).max() >= 0.6


def circled_page(mnist, margin: float, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """A 640x480 page of 8 digits, each in a 2 px circle `margin` of its half-height away."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 228, np.float32)
    boxes, digits = digit_rows(page, mnist, rng, 8, 4, (70, 90), (140, 200), (40, 60), 20)
    for x0, y0, x1, y1 in boxes:
        radius = round((y1 - y0) / 2 * (1 + margin))
        axes = (round(radius * rng.uniform(0.9, 1.1)), radius)
        centre = (round((x0 + x1) / 2), round((y0 + y1) / 2))
        cv2.ellipse(page, centre, axes, float(rng.uniform(0, 180)), 0, 360, (40, 40, 40), 2)
    gray = photographed(page, rng)
    return gray, np.float32(boxes), digits


@pytest.mark.parametrize("margin", [0.15, 0.3])
def test_digits_in_drawn_circles_are_read(mnist, shipped_model, margin):
    # A digit touching its circle was read with it, and the circle alone as 0 or 6. Measured
    # on 6 pages each, the circle 15%, 30% and 50% of the half-height away: 47, 48 and 47 of 48
    # read right, 2, 1 and 0 false digits (4, 18 and 33 of 48, with 3, 6 and 13, before).
    pages = [circled_page(mnist, margin, seed) for seed in range(2)]
    assert mean_read_right(pages, shipped_model) >= 0.85


def page_seen_from_low(mnist, squash: float, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """A page of 24 digits photographed from a low angle: `squash` of its height in the frame
    (a phone held about 50 degrees from square-on at 0.65): (gray, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((960, 640, 3), 228, np.float32)
    boxes, digits = digit_rows(page, mnist, rng, 24, 4, (40, 40), (150, 150), (60, 90), 30)
    height = round(960 * squash)
    frame = np.full((max(480, height), 640, 3), 228, np.float32)
    frame[:height] = cv2.resize(page, (640, height), interpolation=cv2.INTER_AREA)
    return photographed(frame, rng), np.float32(boxes) * [1, squash, 1, squash], digits


def page_seen_from_the_side(mnist, squash: float, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """A page of 24 digits photographed from one side: `squash` of its width in the frame."""
    rng = np.random.default_rng(seed)
    page = np.full((640, 960, 3), 228, np.float32)
    boxes, digits = digit_rows(page, mnist, rng, 24, 6, (40, 40), (150, 150), (60, 90), 30)
    width = round(960 * squash)
    frame = np.full((640, max(640, width), 3), 228, np.float32)
    frame[:, :width] = cv2.resize(page, (width, 640), interpolation=cv2.INTER_AREA)
    return photographed(frame, rng), np.float32(boxes) * [squash, 1, squash, 1], digits


def test_digits_seen_from_a_low_angle_are_read(mnist, shipped_model):
    # Foreshortened digits are shorter and look wider. Measured on 6 pages of 24 each, read
    # right here: 144, 142, 141 and 125 of 144 with the page at 1, 0.8, 0.65 and 0.5 of its
    # height (by the whole pipeline, which reports only readings of 0.6 or more: 142, 141, 137
    # and 114).
    pages = [page_seen_from_low(mnist, 0.65, seed) for seed in range(2)]
    assert mean_read_right(pages, shipped_model) >= 0.85


def straightened_read_right(pages: list, classifier) -> int:
    """How many true digits of pages (gray, boxes, digits) are read right once their candidates
    are read and straightened (`deskew.straighten`), at the reporting threshold."""
    right = 0
    for gray, boxes, digits in pages:
        found = deskew.straighten(gray, classifier.classify(find_candidates(gray)), classifier)
        found = found[is_digit(found, DEFAULT_MIN_CONFIDENCE)]
        right += int(read_right_mask(boxes, np.asarray(digits), found).sum())
    return right


def test_a_page_squashed_by_a_low_angle_is_read_stretched_back(mnist, shipped_model):
    # At half its height, a page's digits look twice as wide as they are: many were read as no
    # digit (a 4 read at 0.94 "not a digit"). Their proportions, against MNIST's for the digit
    # each reads as, say how much the frame is squashed, and they are read stretched back.
    # Measured on these 3 pages: 70 of 72 read right (57 before); square-on, 71 either way.
    pages = [page_seen_from_low(mnist, 0.5, seed) for seed in range(3)]
    assert straightened_read_right(pages, Classifier(shipped_model)) >= 66


def test_a_page_seen_from_the_side_is_read_widened_back(mnist, shipped_model):
    # The other way round: digits at half their width, too narrow, read stretched across.
    # Measured on these 3 pages: 70 of 72 read right (64 before).
    pages = [page_seen_from_the_side(mnist, 0.5, seed) for seed in range(3)]
    assert straightened_read_right(pages, Classifier(shipped_model)) >= 67


@pytest.mark.parametrize(
    ("page", "squash", "expected"),
    [("low", 1.0, "as is"), ("low", 0.8, "stretched"), ("low", 0.5, "stretched")]
    + [("side", 0.8, "as is"), ("side", 0.65, "widened"), ("side", 0.5, "widened")],
)
def test_how_much_a_page_is_squashed_is_told_by_its_digits(
    mnist, shipped_model, page, squash, expected
):
    # Measured on these pages: 1.03, 1.29 and 1.84 seen from below (square-on pages:
    # 0.96-1.15), 0.85, 0.69 and 0.54 from the side.
    seen = page_seen_from_low if page == "low" else page_seen_from_the_side
    gray, _, _ = seen(mnist, squash, 0)
    stretch = deskew.foreshortening(Classifier(shipped_model).classify(find_candidates(gray)))
    told = "stretched" if stretch >= deskew.SQUASHED else "as is"
    told = "widened" if stretch <= 1 / deskew.SQUASHED else told
    assert told == expected


def faint_page(
    mnist, contrast: float, seed: int, mixed: bool = False
) -> tuple[np.ndarray, np.ndarray, list]:
    """A page of 12 digits written `contrast` gray levels below its paper (light pencil, a
    washed-out camera image), under light falling off across it; `mixed`: every other one in
    dark pen. (gray, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 215, np.float32)
    page *= (1 - 0.15 * np.arange(640, dtype=np.float32) / 640)[None, :, None]
    boxes, digits = [], []
    for i in range(12):
        x, y = 40 + 150 * (i % 4) + int(rng.integers(0, 30)), 40 + 145 * (i // 4)
        index = int(rng.integers(0, 10000))
        ink = page[y, x, 0] - (170 if mixed and i % 2 else contrast)
        boxes.append(
            written_digit(page, mnist["x_test"][index], x, y, int(rng.integers(35, 70)), ink)
        )
        digits.append(int(mnist["y_test"][index]))
    return photographed(page, rng), np.float32(boxes), digits


def grainy_blank_page(seed: int) -> np.ndarray:
    """Coarse paper grain (blobs 20-25 gray levels deep) and camera noise, nothing written."""
    rng = np.random.default_rng(seed)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (480, 640)).astype(np.float32), (0, 0), 2)
    page = 210 + 6 * grain / grain.std()
    page = cv2.GaussianBlur(page, (3, 3), 0.8) + rng.normal(0, 3, page.shape)
    return np.clip(page, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("mixed", [False, True])
def test_a_page_written_faintly_is_read(mnist, shipped_model, mixed):
    # Strokes 30 gray levels below the paper are plain to see, but under MIN_CONTRAST: none was
    # found. Measured on 6 pages of 12: 65 of 72 read right at 30 levels (0 before), 60 at 25
    # (0), 31 at 20 (0), 71 at 40 (66); with every other digit in dark pen, 70 of 72 at 30
    # levels (the 36 dark ones before).
    pages = [faint_page(mnist, 30, seed, mixed) for seed in range(2)]
    assert mean_read_right(pages, shipped_model) >= 0.8


def test_a_faint_digits_bar_crossed_by_its_stem_is_no_ruled_line(mnist, shipped_model):
    # At 30 gray levels over camera noise a 4's bar is speckled: found as a line crossed by the
    # stem, it was judged as a bar (too faint next to the thicker strokes) and its thin parts
    # erased, leaving the hook and the stem apart. Its thin stretches between thick parts stay
    # now, as those of a line no stroke crosses. Measured on these 6 pages through the whole
    # pipeline: 69 of 72 read right (66 before); at 20, 25 and 40 levels as before.
    classifier = Classifier(shipped_model)
    right = 0
    for seed in range(6):
        gray, boxes, digits = faint_page(mnist, 30, seed)
        bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        right += frame_read_right(bgr, boxes, digits, classifier)
    assert right >= 68


def test_coarse_paper_grain_is_not_taken_for_faint_writing(shipped_model):
    # A blank page's grain is as faint as light pencil: a blob of it counts only when it stands
    # FAINT_OVER_TEXTURE times above the paper's texture around it. Without that, these pages
    # gave a false digit each; with it, none, as before the floor was lowered.
    classifier = Classifier(shipped_model)
    for seed in range(4):
        read = classifier.classify(find_candidates(grainy_blank_page(seed)))
        assert not is_digit(read, DEFAULT_MIN_CONFIDENCE).any()


def test_written_zeros_are_no_circles(mnist):
    # A 0 is a thin ring too, but holds nothing: no circle is erased from a page of them.
    rng = np.random.default_rng(0)
    page = np.full((480, 640, 3), 228, np.float32)
    zeros = mnist["x_test"][mnist["y_test"] == 0]
    for i in range(12):
        zero = zeros[int(rng.integers(0, len(zeros)))]
        written_digit(page, zero, 40 + 150 * (i % 4), 30 + 150 * (i // 4), 80, 35, i % 2 == 0)
    gray = cv2.cvtColor(np.clip(page, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
    assert ruling(gray, threshold(gray)) is None


def test_a_zero_whose_pen_curled_in_where_it_closed_is_no_circle(mnist):
    # A 0 whose stroke ends in a short hook inside it, small in a 720p frame (18 px on the
    # detection copy): the hook took enough of the hole for a digit touching a circle drawn
    # around it from inside, and the 0 was erased as the circle. A mark touching a circle must
    # now reach into its hole by CIRCLE_MARK of it. (This scene's other frames and another
    # scene's 0: 6 frames missed the 0 before.)
    spec = SceneSpec((1280, 720), frames=1, digits=20, digit_height=(0.05, 0.11), seed=108)
    frame, truth = next(scene_frames(spec, mnist["x_test"], mnist["y_test"]))
    zero = xywh_to_xyxy([d for d in truth["digits"] if d["digit"] == 0])
    boxes, _ = find_boxes(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY))
    assert len(zero) == 1 and box_iou(zero, boxes).max() >= 0.8


@pytest.mark.parametrize("gap", [0.05, 0.0])
def test_a_digit_in_a_box_drawn_close_around_it_is_read_alone(mnist, shipped_model, gap):
    # A form's field or a table's cell around a digit, a little away or touching it: the box is
    # found and erased, else its sides are read as 1s or the digit merges with it. Measured on
    # these 20 digits each: 5% away 20 read right and nothing else reported (18 and 4 sides
    # read as 1s before boxes were erased); touching 20 right, nothing else (4 right).
    classifier = Classifier(shipped_model)
    right = extra = 0
    for i in range(20):
        frame = np.full((480, 640, 3), 225, np.uint8)
        height = 60 + 3 * i
        box = written_digit(frame, mnist["x_test"][100 + i], 250, 150, height)
        pad = round(gap * height)
        cv2.rectangle(frame, (box[0] - pad, box[1] - pad), (box[2] + pad, box[3] + pad), 30, 2)
        gray = cv2.cvtColor(cv2.GaussianBlur(frame, (3, 3), 0), cv2.COLOR_BGR2GRAY)
        found = classifier.classify(find_candidates(gray))
        found = found[is_digit(found, 0.6)]
        hit = box_iou(np.float32([box]), found.xyxy)[0] >= 0.5 if len(found) else np.zeros(0, bool)
        right += int(any(found.digit[hit] == mnist["y_test"][100 + i]))
        extra += int((~hit).sum())
    assert right >= 17
    assert extra <= 2


@pytest.mark.parametrize("gap_px", [0, 3])
def test_a_four_written_in_two_strokes_is_one_candidate(gap_px):
    # The arm (down, then across) and the stem do not meet: side by side, not stacked.
    page = np.full((480, 640), 225, np.uint8)
    arm = np.int32([[240, 150], [225, 230], [290 - gap_px, 230]])
    cv2.polylines(page, [arm], False, 30, 7, cv2.LINE_AA)
    cv2.line(page, (300, 140), (300, 290), 30, 7, cv2.LINE_AA)
    found = find_candidates(cv2.GaussianBlur(page, (3, 3), 0))
    assert len(found) == 1
    assert box_iou(found.xyxy, np.float32([[221, 136, 304, 294]]))[0, 0] >= 0.8


@pytest.mark.parametrize("sigma", [3.0, 8.0, 15.0])
def test_noise_sigma_measures_the_camera_noise_not_the_ink(mnist, sigma):
    page = np.full((480, 640, 3), 225, np.uint8)
    for i in range(8):
        written_digit(page, mnist["x_test"][i], 60 + 70 * i, 200, 60)
    gray = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)
    assert noise_sigma(gray) < 1.0
    noisy = gray + np.random.default_rng(0).normal(0, sigma, gray.shape)
    assert noise_sigma(np.clip(noisy, 0, 255).astype(np.uint8)) == pytest.approx(sigma, rel=0.15)


@pytest.mark.parametrize("sigma", [8.0, 12.0, 20.0])
def test_digits_on_a_noisy_page_are_found(mnist, sigma):
    # A webcam in dim light: with a fixed threshold offset the noise specks join the digits.
    page = np.full((480, 640, 3), 225, np.uint8)
    boxes = [
        written_digit(page, mnist["x_test"][i], 60 + 140 * (i % 4), 100 + 200 * (i // 4), 60)
        for i in range(8)
    ]
    noisy = cv2.GaussianBlur(page, (3, 3), 0) + np.random.default_rng(1).normal(
        0, sigma, page.shape
    )
    gray = cv2.cvtColor(np.clip(noisy, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
    found = find_candidates(gray)
    covered = (box_iou(np.float32(boxes), found.xyxy) >= 0.4).any(axis=1) if len(found) else []
    assert np.mean(covered) >= 0.85  # measured: 1.0 at each level; before: 1.0, 0 and 0


def lined_page(
    mnist, kind: str, angle: float, seed: int, keystone: float = 0.0
) -> tuple[np.ndarray, np.ndarray, list]:
    """A 640x480 page of 10 digits on squared paper (gray lines 50 levels below the paper,
    every 18-30 px) or on ruled paper with a red margin line that half the digits cross; turned
    by `angle` degrees, seen from below by `keystone` (the top this share of the width
    narrower on each side: converging lines), blurred and noisy: (gray, true boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 228, np.float32)
    step = int(rng.integers(18, 30))
    if kind == "squared":
        page[:, step // 2 :: step] = 178
        page[step // 2 :: step, :] = 178
    else:
        page[step // 2 :: step + 6, :] = (210, 170, 140)  # blue rules
        page[:, 150:152] = (120, 120, 230)  # a red margin line
    boxes, digits = [], []
    for i in range(10):
        index = int(rng.integers(0, 10000))
        if kind == "margin" and i < 5:  # written across the margin line
            x, y = 150 - int(rng.integers(-10, 25)), 40 + 85 * i
        else:
            x, y = 40 + 120 * (i % 5) + int(rng.integers(0, 30)), 60 + 200 * (i // 5)
            x = x if kind == "squared" else 260 + 70 * (i % 5)
        height = int(rng.integers(28, 60))
        boxes.append(written_digit(page, mnist["x_test"][index], x, y, height, 40, i % 3 == 0))
        digits.append(int(mnist["y_test"][index]))
    view = np.eye(3)
    view[:2] = cv2.getRotationMatrix2D((320, 240), angle, 1.0)
    frame = np.float32([[0, 0], [640, 0], [640, 480], [0, 480]])
    narrower = frame + np.float32([[640 * keystone, 0], [-640 * keystone, 0], [0, 0], [0, 0]])
    view = cv2.getPerspectiveTransform(frame, narrower) @ view
    page = cv2.warpPerspective(page, view, (640, 480), borderMode=cv2.BORDER_REPLICATE)
    corners = np.float32(boxes)[:, [[0, 1], [2, 1], [0, 3], [2, 3]]]  # (N, 4 corners, xy)
    seen = cv2.perspectiveTransform(corners.reshape(1, -1, 2), view).reshape(-1, 4, 2)
    boxes = np.concatenate([seen.min(axis=1), seen.max(axis=1)], axis=1)
    gray = photographed(page, rng)
    return gray, boxes, digits


def read_right_mask(boxes, digits, read: Detections) -> np.ndarray:
    """Which true digits (boxes, digits) `read` has: a reading over it (IoU 0.3) of its digit."""
    if not len(read):
        return np.zeros(len(boxes), bool)
    iou = box_iou(boxes, read.xyxy)
    return (iou.max(axis=1) >= 0.3) & (read.digit[iou.argmax(axis=1)] == digits)


def frame_read_right(bgr: np.ndarray, boxes, digits, classifier) -> int:
    """How many true digits (boxes, digits) a BGR video frame read whole is read right with."""
    read = recognize(detect(Frame(0, 0.0, bgr)), classifier, DEFAULT_MIN_CONFIDENCE)
    return int(read_right_mask(np.float32(boxes), np.asarray(digits), read).sum())


def read_on_page(bgr: np.ndarray, boxes, digits, classifier) -> tuple[np.ndarray, int]:
    """A BGR video frame read whole: which true digits (boxes, digits) are read right, and how
    many readings lie over none of them (IoU under 0.1: other things read as digits)."""
    read = recognize(detect(Frame(0, 0.0, bgr)), classifier, DEFAULT_MIN_CONFIDENCE)
    boxes = np.float32(boxes)
    other = int((box_iou(read.xyxy, boxes).max(axis=1) < 0.1).sum()) if len(read) else 0
    return read_right_mask(boxes, np.asarray(digits), read), other


def read_right(gray, boxes, digits, classifier) -> float:
    return float(
        np.mean(read_right_mask(boxes, digits, classifier.classify(find_candidates(gray))))
    )


def mean_read_right(pages: list, model) -> float:
    """`read_right` averaged over pages of (gray, boxes, digits), read with the model `model`."""
    classifier = Classifier(model)
    return float(np.mean([read_right(*page, classifier) for page in pages]))


@pytest.mark.parametrize(
    ("kind", "angle", "keystone"),
    [("squared", 0, 0), ("squared", -6, 0), ("squared", 0, 0.1), ("margin", 10, 0)],
)
def test_digits_on_squared_paper_or_across_a_margin_are_read(
    mnist, shipped_model, kind, angle, keystone
):
    # The grid's lines touch the digits, which merge with them into one large mark. Measured
    # on 6 of these pages each, read right: squared 0.93, 0.90 and (seen at an angle, its lines
    # converging) 0.92 (0.02, 0.02 and 0.02 before the lines were erased; 0.10 when all lines
    # had to share one slope), the margin at 10 degrees 0.90 (0.53).
    pages = [lined_page(mnist, kind, angle, seed, keystone) for seed in range(2)]
    assert mean_read_right(pages, shipped_model) >= 0.8


def shadowed_page(
    mnist, kind: str, dark: float, seed: int, count: int = 12
) -> tuple[np.ndarray, np.ndarray, list]:
    """A 640x480 page of `count` digits in rows of 4 with a hard-edged shadow `dark` (its share
    of the light taken away) over part of it: the border of a shadow across the page at any
    angle ("border"), or the shadow of a phone held over the page ("phone"): (gray, boxes,
    digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 228, np.float32)
    boxes, digits = digit_rows(page, mnist, rng, count, 4, (50, 50), (140, 140), (40, 75), 30)
    shadow = np.zeros((480, 640), np.float32)
    if kind == "border":
        angle, offset = rng.uniform(0, np.pi), rng.uniform(-60, 60)
        yy, xx = np.mgrid[0:480, 0:640].astype(np.float32)
        shadow[((xx - 320) * np.cos(angle) + (yy - 240) * np.sin(angle)) > offset] = 1
    else:
        center = (float(rng.uniform(200, 440)), float(rng.uniform(160, 320)))
        corners = cv2.boxPoints((center, (230.0, 300.0), float(rng.uniform(0, 90))))
        cv2.fillPoly(shadow, [corners.astype(np.int32)], 1)
    shadow = cv2.GaussianBlur(shadow, (0, 0), 1.5)
    page = page * (1 - dark * shadow[..., None])
    gray = photographed(page, rng)
    return gray, np.float32(boxes), digits


@pytest.mark.parametrize(("kind", "dark"), [("border", 0.35), ("border", 0.6), ("phone", 0.5)])
def test_digits_across_a_shadows_border_are_read(mnist, shipped_model, kind, dark):
    # Along the border, the threshold marks a band of the shadowed side that swallows the digits
    # it touches, a digit across it has shadowed paper around it, and its crop carried the
    # shadow as ink. Measured on these 3 pages each: read right 1.00, 0.97 and 1.00 (0.64, 0.83
    # and 0.56 before detection looked past the border; 1.00, 0.92 and 0.92 before the crops'
    # paper was found by a closing).
    pages = [shadowed_page(mnist, kind, dark, seed) for seed in range(3)]
    assert mean_read_right(pages, shipped_model) >= 0.9


@pytest.mark.parametrize(
    ("kind", "dark", "count", "pages"),
    [("border", 0.35, 12, 3), ("phone", 0.5, 12, 3), ("phone", 0.5, 4, 6)],
)
def test_a_still_of_a_page_under_a_shadow_keeps_its_digits(
    mnist, shipped_model, kind, dark, count, pages
):
    # A still is also searched for a digit filling it (a photo cropped to one). A shadow over
    # most of the page's border made the border's level the shadow's, so the lit paper passed
    # for ink; a phone's shadow was outlined as one mark: either was taken for a digit filling
    # the still, and the digits inside it for its pieces. These pages read 16 and 15 of 36,
    # and 16 of 24 (4 digits a page) before; 50 pages of 12 (5 kinds) 431 of 600 as stills,
    # 580 as video frames (as now).
    from recognizer.pipeline import detect, recognize

    classifier = Classifier(shipped_model)
    right = total = 0
    for seed in range(pages):
        gray, boxes, digits = shadowed_page(mnist, kind, dark, seed, count)
        found = detect(Frame(0, 0.0, cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)), still=True)
        read = recognize(found, classifier, DEFAULT_MIN_CONFIDENCE)
        total += len(digits)
        right += int(read_right_mask(boxes, digits, read).sum())
    assert right >= 0.9 * total, (right, total)


def sharpened(bgr: np.ndarray) -> np.ndarray:
    """A frame as a camera that sharpens it gives it (most phones, many webcams): an unsharp
    mask, which draws a dark line along the desk's side of the sheet's edge."""
    return cv2.addWeighted(bgr, 2.5, cv2.GaussianBlur(bgr, (0, 0), 2.0), -1.5, 0)


@pytest.mark.parametrize("seed", range(4))
def test_the_line_a_sharpening_camera_draws_along_the_sheets_edge_is_no_digit(
    mnist, shipped_model, seed
):
    # The desk's grain breaks that line into pieces that were read as 1s: 12 false digits on
    # these four 1280x720 frames (2 to 4 each), whose 40 digits are all read right.
    from recognizer.pipeline import detect, recognize

    spec = SceneSpec((1280, 720), frames=1, digits=10, seed=seed, rotation_deg=(0, 5, -8, 3)[seed])
    frame, truth = next(scene_frames(spec, mnist["x_test"], mnist["y_test"]))
    found = detect(Frame(0, 0.0, sharpened(frame)))
    read = recognize(found, Classifier(shipped_model), DEFAULT_MIN_CONFIDENCE)
    boxes, digits = xywh_to_xyxy(truth["digits"]), [d["digit"] for d in truth["digits"]]
    iou = box_iou(boxes, read.xyxy)
    right = (iou.max(axis=1) >= 0.4) & (read.digit[iou.argmax(axis=1)] == digits)
    assert right.sum() >= 9 and (iou.max(axis=0) < 0.3).sum() == 0, (right, read.xyxy)


def test_no_lines_are_found_in_the_samples(mnist):
    # Nothing there is a grid or a margin: the search costs only time, and a false line would
    # erase the strokes along it. (Sheet edges, desk grain and columns of digits are not lines.)
    for spec in (
        SceneSpec((640, 480), frames=4, seed=3),
        SceneSpec((640, 480), frames=4, ruled=True, seed=4, tilt=0.1),
    ):
        for frame, _ in scene_frames(spec, mnist["x_test"], mnist["y_test"]):
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            assert ruling(gray, threshold(gray)) is None


def test_the_samples_are_not_searched_past_steps(mnist):
    # A sheet's edge against the desk is a step too, but looking past it finds nothing more
    # there, and costs 1-2.5 ms a frame: a video looks past steps only where it finds more.
    for spec in (SceneSpec((640, 480), frames=8, seed=3), SceneSpec((1280, 720), frames=4)):
        steps = Steps(every=1)
        for frame, _ in scene_frames(spec, mnist["x_test"], mnist["y_test"]):
            gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
            small, factor = downscale(gray)
            steps(small, factor, gray.shape, threshold(small))
            assert not steps.past


def dot_grid_page(mnist, spacing: int, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """A 640x480 page of dot-grid paper (3 px gray dots every `spacing` px) with 12 digits."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 230, np.float32)
    for y in range(spacing // 2, 480, spacing):
        for x in range(spacing // 2, 640, spacing):
            cv2.circle(page, (x, y), 2, (120, 120, 120), -1)
    boxes, digits = digit_rows(page, mnist, rng, 12, 4, (50, 50), (140, 140), (40, 70), 30)
    gray = photographed(page, rng)
    return gray, np.float32(boxes), digits


@pytest.mark.parametrize("spacing", [18, 24])
def test_digits_on_dot_grid_paper_are_read(mnist, shipped_model, spacing):
    # The dots above and beside a digit were merged into it as its pieces, and with over 400
    # pieces in the frame the first 400 found were kept, not the largest: whole rows of digits
    # were lost. Measured on 6 pages each, dots every 18, 24 and 30 px: 71, 72 and 72 of 72
    # read right (19, 43 and 70 before).
    pages = [dot_grid_page(mnist, spacing, seed) for seed in range(2)]
    assert mean_read_right(pages, shipped_model) >= 0.9


def test_a_video_looks_past_steps_where_the_plain_search_finds_other_marks(mnist):
    # On this wall the plain search finds every digit, and a note's edge besides (a 1): looking
    # past steps finds no digit more, but the reading differs, so it is to be used.
    wall, _, _ = sticky_wall(mnist, np.random.default_rng(7), (520, 680))
    frame = np.clip(cv2.GaussianBlur(wall[10:490, 10:650], (3, 3), 0.8), 0, 255)
    gray = cv2.cvtColor(frame.astype(np.uint8), cv2.COLOR_BGR2GRAY)
    steps = Steps(every=1)
    steps(gray, 1.0, gray.shape, threshold(gray))
    assert steps.past


@pytest.mark.parametrize(
    ("speck", "count"), [([40, 12, 46, 18], 2), ([40, 12, 48, 25], 1)], ids=["dot", "hat"]
)
def test_a_speck_above_a_digit_is_not_a_piece_of_it(speck, count):
    # A 6 px dot 6 px above a 40 px digit stays apart; a 13 px piece there (a 5's hat) merges.
    digit = [30, 30, 60, 70]
    assert len(merge_pieces(np.array([digit, speck]))) == count


@pytest.mark.parametrize(
    ("shape", "count"), [(None, 1), ((480, 640), 2)], ids=["merged", "edge apart"]
)
def test_a_piece_at_the_frames_edge_stays_apart(shape, count):
    # The desk beyond the sheet's edge, left in pieces, must not take the digit beside it out
    # of the frame with it (merged boxes touching the edge are dropped).
    pieces = np.array([[0, 73, 92, 126], [77, 112, 85, 136]])
    assert len(merge_pieces(pieces, shape)) == count


@pytest.mark.parametrize(("length", "is_line"), [(260, False), (300, False), (480, True)])
def test_a_lone_line_must_run_the_page_to_be_a_margin(length, is_line):
    # A thin pen's 1 half the frame tall is as thin and straight as a margin line; only a line
    # with others beside it (a grid) may be shorter than LINE_LONE_LENGTH of the frame.
    page = np.full((480, 640), 228, np.uint8)
    cv2.line(page, (320, 240 - length // 2), (310, 240 + length // 2), 35, 3, cv2.LINE_AA)
    gray = cv2.GaussianBlur(page, (3, 3), 0)
    assert (ruling(gray, threshold(gray)) is not None) == is_line


def tilted_paper(mnist, seed: int, angle: float) -> tuple[np.ndarray, np.ndarray, list]:
    """A 640x480 view of paper turned by `angle` degrees (alternately each way), with a
    number of 4 digits in the middle and 6 lone digits around it: (gray, boxes of the lone
    digits, their digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((700, 900, 3), 228, np.float32)
    x = 250
    for _ in range(4):
        k = int(rng.integers(0, len(mnist["x_test"])))
        x = written_digit(page, mnist["x_test"][k], x, 320, int(rng.integers(55, 70)))[2] + 8
    boxes, digits = [], []
    for px, py in ((150, 150), (450, 150), (700, 150), (150, 500), (450, 500), (700, 500)):
        k = int(rng.integers(0, len(mnist["x_test"])))
        boxes.append(written_digit(page, mnist["x_test"][k], px, py, int(rng.integers(55, 70))))
        digits.append(int(mnist["y_test"][k]))
    turn = cv2.getRotationMatrix2D((450, 350), angle if seed % 2 else -angle, 0.75)
    turn[:, 2] += (320 - 450, 240 - 350)
    view = cv2.warpAffine(page, turn, (640, 480), borderValue=(228, 228, 228))
    corners = np.float32(boxes)[:, [[0, 1], [2, 1], [0, 3], [2, 3]]].reshape(-1, 1, 2)
    corners = cv2.transform(corners, turn).reshape(-1, 4, 2)
    return photographed(view, rng), np.hstack([corners.min(1), corners.max(1)]), digits


def turned_note(mnist, seed: int, angle: float) -> tuple[np.ndarray, np.ndarray, list]:
    """One digit on a note 160-240 px wide, turned by `angle`, on a plain desk or wall of any
    shade: (gray, boxes, digits)."""
    rng = np.random.default_rng(seed)
    ground = np.empty((480, 640, 3), np.float32)
    ground[:] = rng.uniform(40, 140, 3)
    ground += rng.normal(0, 6, (480, 640, 1))
    side = int(rng.integers(160, 240))
    note = np.empty((side, side, 3), np.float32)
    note[:] = [rng.uniform(120, 200), rng.uniform(210, 250), rng.uniform(220, 255)]
    index, height = int(rng.integers(0, 10000)), int(side * rng.uniform(0.45, 0.65))
    x0, y0, x1, y1 = written_digit(
        note, mnist["x_test"][index], side // 4, (side - height) // 2, height
    )
    turn = cv2.getRotationMatrix2D((side / 2, side / 2), angle, 1.0)
    turn[:, 2] += (int(rng.integers(side, 640 - side)) - side / 2, 240 - side / 2)
    cover = cv2.warpAffine(np.ones((side, side), np.float32), turn, (640, 480))[..., None]
    frame = ground * (1 - cover) + cv2.warpAffine(note, turn, (640, 480)) * cover
    corners = cv2.transform(np.float32([[[x0, y0], [x1, y0], [x1, y1], [x0, y1]]]), turn)[0]
    box = [*corners.min(axis=0), *corners.max(axis=0)]
    return photographed(frame, rng), np.float32([box]), [int(mnist["y_test"][index])]


def test_a_lone_digit_on_a_turned_note_is_read_upright(mnist, shipped_model):
    # No line of digits gives its tilt, but the note's outline does (`paper_tilts`). Measured
    # on these 12 notes turned by 35 degrees either way: 12 read right (8 before).
    classifier = Classifier(shipped_model)
    right = 0
    for seed in range(12):
        gray, boxes, digits = turned_note(mnist, seed, 35 if seed % 2 else -35)
        bgr = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        read = recognize(detect(Frame(0, 0.0, bgr), still=True), classifier, 0.6)
        right += int(read_right_mask(boxes, np.asarray(digits), read).sum())
    assert right >= 10


@pytest.mark.parametrize("angle", [-35, 20, 0])
def test_the_tilt_of_a_note_is_told_by_its_outline(mnist, angle):
    gray, boxes, _ = turned_note(mnist, 3, angle)
    # (Our turn is counterclockwise, as OpenCV's; the tilt is measured clockwise, y down.)
    assert abs(deskew.paper_tilts(gray, boxes)[0] + angle) < 2


def test_a_page_filling_the_frame_tells_no_tilt(mnist):
    gray, boxes = page_of_digits(mnist, "plain")
    assert np.isnan(deskew.paper_tilts(gray, boxes)).all()


def test_lone_digits_on_tilted_paper_are_read_upright(mnist, shipped_model):
    # The model learned digits turned by up to 15 degrees; a line of digits gives its own
    # tilt, and the lines of 3 or more digits give the paper's to the lone digits beside
    # them. Measured on these 12 pages turned by 25 degrees: 66 of 72 lone digits read right
    # (62 when only lines were turned upright; at 30 degrees, 52 and 48).
    classifier = Classifier(shipped_model)
    right = []
    for seed in range(12):
        gray, boxes, digits = tilted_paper(mnist, seed, 25)
        found = deskew.straighten(gray, classifier.classify(find_candidates(gray)), classifier)
        found = found[is_digit(found, 0.6)]
        iou = box_iou(np.float32(boxes), found.xyxy)
        right += list((iou.max(axis=1) >= 0.3) & (found.digit[iou.argmax(axis=1)] == digits))
    assert np.mean(right) >= 0.9


def listed_numbers(mnist, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Two columns of five numbers in the teens written down a 640x480 page, each a thin pen's
    1 (slanted by up to 6%) and an MNIST digit: (gray, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 226, np.float32)
    boxes, digits = [], []
    for column in range(2):
        x = 120 + 260 * column + int(rng.integers(0, 20))
        for row in range(5):
            height, y = int(rng.integers(50, 62)), 25 + 86 * row
            ink = np.zeros(page.shape[:2], np.uint8)
            slant = int(rng.uniform(-0.06, 0.06) * height)
            cv2.line(ink, (x + slant, y), (x, y + height), 255, 2, cv2.LINE_AA)
            alpha = ink[..., None].astype(np.float32) / 255
            page = page * (1 - alpha) + np.float32(40) * alpha
            bx, by, bw, bh = cv2.boundingRect(ink)
            boxes.append([bx, by, bx + bw, by + bh])
            k = int(rng.integers(0, len(mnist["x_test"])))
            boxes.append(written_digit(page, mnist["x_test"][k], x + 18, y, height))
            digits += [1, int(mnist["y_test"][k])]
    return photographed(page, rng), np.float32(boxes), digits


def test_the_1s_of_numbers_listed_down_a_page_are_no_margin(mnist, shipped_model):
    # Stacked in a column the length of the page, the 1s were found as a margin line and
    # erased. A line runs on between them (`unbroken`); they leave paper. Measured on these 2
    # pages: 1.0 read right (0.5 before: none of the 1s).
    pages = [listed_numbers(mnist, seed) for seed in range(2)]
    assert mean_read_right(pages, shipped_model) >= 0.9


@pytest.mark.parametrize("falloff", [0.0, 0.55])
def test_strokes_stacked_in_columns_are_no_grid(falloff):
    # The stems of large 4s in two rows, in line: three columns of two strokes each, 160 px
    # long, 60 px of paper between them. They leave paper between them, so they are no lines
    # (`unbroken`); under light falling off across the page, that paper was taken for a
    # faint line (the paper beside it is brighter on one side) until a line had to be
    # LINE_CONTRAST darker than it.
    page = np.full((480, 640), 228, np.float32)
    for x in (200, 350, 500):
        for top in (20, 240):
            cv2.line(page, (x + 4, top), (x, top + 160), 35, 3, cv2.LINE_AA)
    page *= 1 - falloff * np.linspace(0, 1, 640, dtype=np.float32)[None, :]
    rng = np.random.default_rng(0)
    gray = np.clip(cv2.GaussianBlur(page, (3, 3), 0.8) + rng.normal(0, 3, page.shape), 0, 255)
    gray = gray.astype(np.uint8)
    assert ruling(gray, threshold(gray)) is None


def test_erasing_a_line_keeps_the_strokes_on_it_and_across_it():
    page = np.full((300, 300), 230, np.uint8)
    page[:, 150] = 180  # a grid line, 50 levels dark
    cv2.line(page, (150, 100), (150, 200), 40, 3)  # a 1 written along it
    cv2.line(page, (100, 250), (200, 250), 40, 3)  # a stroke across it
    page = cv2.GaussianBlur(page, (3, 3), 0.8)
    lines = (np.float32([[150, 0, 150, 300]]), np.zeros((0, 4), np.float32))
    erased = erase_lines(page, lines, 1.0)
    assert erased[20:80, 147:154].min() >= 215  # the line is paper now
    assert erased[110:190, 150].max() <= 90  # the 1 is still ink
    assert erased[250, 140:160].max() <= 90  # so is the stroke across


def test_a_photo_of_a_page_full_of_digits_is_read(mnist, shipped_model):
    # A still keeps up to STILL_MAX_CANDIDATES: with a frame's 48, 47 of these 120 digits were
    # read. Measured: 119.
    rng = np.random.default_rng(0)
    page = np.full((1536, 2048, 3), 226, np.float32)
    boxes, digits = digit_rows(page, mnist, rng, 120, 12, (100, 60), (155, 145), (60, 90), 20)
    gray = cv2.cvtColor(np.clip(page, 0, 255).astype(np.uint8), cv2.COLOR_BGR2GRAY)
    found = Classifier(shipped_model).classify(find_candidates(gray, still=True))
    iou = box_iou(np.float32(boxes), found.xyxy)
    right = (iou.max(axis=1) >= 0.4) & (found.digit[iou.argmax(axis=1)] == digits)
    assert right.sum() >= 110


def held_sheet(mnist, seed: int, shape=(480, 640)) -> tuple[np.ndarray, np.ndarray, list]:
    """A sheet held up before a busy room (shapes of every shade behind it), turned by up to 8
    degrees, with two digits close to its left edge and two in the middle: (gray, boxes,
    digits)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    room = np.empty((h, w, 3), np.float32)
    room[:] = rng.uniform(60, 200, 3)
    for _ in range(30):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        size = int(rng.integers(10, 120)), int(rng.integers(20, 200))
        color = rng.uniform(20, 240, 3).tolist()
        cv2.rectangle(room, (x, y), (x + size[0], y + size[1]), color, -1)
    room = cv2.GaussianBlur(room, (0, 0), 1.0)
    sheet_w, sheet_h = int(rng.integers(300, 380)), int(rng.integers(220, 280))
    sheet = np.full((sheet_h, sheet_w, 3), 230, np.float32)
    boxes, digits = [], []
    for y in (20, sheet_h - 90):
        for x in (int(rng.integers(10, 18)), sheet_w // 2):
            index, height = int(rng.integers(0, 10000)), int(rng.integers(50, 70))
            boxes.append(written_digit(sheet, mnist["x_test"][index], x, y, height, 35))
            digits.append(int(mnist["y_test"][index]))
    turn = cv2.getRotationMatrix2D((sheet_w / 2, sheet_h / 2), float(rng.uniform(-8, 8)), 1.0)
    turn[:, 2] += (
        (w - sheet_w) / 2 + rng.integers(-60, 60),
        (h - sheet_h) / 2 + rng.integers(-40, 40),
    )
    cover = cv2.warpAffine(np.ones((sheet_h, sheet_w), np.float32), turn, (w, h))[..., None]
    room = room * (1 - cover) + cv2.warpAffine(sheet, turn, (w, h)) * cover
    corners = np.float32(boxes)[:, [[0, 1], [2, 1], [0, 3], [2, 3]]].reshape(-1, 1, 2)
    corners = cv2.transform(corners, turn).reshape(-1, 4, 2)
    boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
    return photographed(room, rng), boxes, digits


def test_digits_by_the_edge_of_a_sheet_held_before_a_busy_room_are_read(mnist, shipped_model):
    # The shapes behind the sheet, and the band the threshold leaves along its edge, were merged
    # with the digits beside them as their pieces. Measured on these 6 sheets: 22 of 24 read
    # right (16 before; 11 of the 12 by the edge, 6 before).
    pages = [held_sheet(mnist, seed) for seed in range(6)]
    assert mean_read_right(pages, shipped_model) >= 0.85


def gapped_page(mnist, seed: int, gap_px: int) -> tuple[np.ndarray, list, list]:
    """A BGR page of 12 digits 50-90 px tall, each cut across by a `gap_px` gap (glare, a pen
    that skipped) 30-70% of the way down: (page, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 228, np.float32)
    boxes, digits = digit_rows(page, mnist, rng, 12, 4, (60, 50), (140, 140), (50, 90), 30)
    for x0, y0, x1, y1 in boxes:
        cut = y0 + int(rng.uniform(0.3, 0.7) * (y1 - y0))
        page[cut : cut + gap_px, x0 - 2 : x1 + 2] = 228
    return cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR), boxes, digits


def test_a_digit_cut_across_by_a_gap_is_read_joined(mnist, shipped_model):
    # Halves of alike height that each look like a digit stay apart in detection (digits in
    # rows close together); read joined, a surer digit than either half, they are one.
    # Measured on these 8 pages: 75 of 96 read right (67 before; with a 4 px gap, 90 and 89).
    classifier = Classifier(shipped_model)
    pages = [gapped_page(mnist, seed, 6) for seed in range(8)]
    assert sum(frame_read_right(*page, classifier) for page in pages) >= 72


def test_digits_in_rows_close_together_are_not_read_joined(mnist, shipped_model):
    # Digits 46-50 px tall in rows 4-8 px apart: each column's two digits are a pair over each
    # other, but both read well by themselves, and together they are twice as tall as the
    # page's digits. Measured on these 4 pages: 90 of 96 read right (76 as before joining,
    # before the columns detection merged were cut into their rows, `unstack`).
    classifier = Classifier(shipped_model)
    right = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        page = np.full((480, 640, 3), 228, np.float32)
        boxes, digits = digit_rows(page, mnist, rng, 24, 6, (60, 40), (95, 54), (46, 50), 8)
        bgr = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
        right += frame_read_right(bgr, boxes, digits, classifier)
    assert right >= 86


@pytest.mark.parametrize(("angle", "row_step"), [(0, 52), (10, 58)])
def test_digits_in_rows_merged_by_detection_are_read_apart(mnist, shipped_model, angle, row_step):
    # Digits 46-50 px tall in rows 2-6 px apart, or 8-12 px apart on a page turned by 10
    # degrees (each digit's box, and the gap, leaning with it): detection merges a column's
    # digits as one digit's pieces. Cut across where they meet, each row is read. Measured on
    # these 4 pages of 18: 66 and 69 of 72 read right (53 and 58 before).
    classifier = Classifier(shipped_model)
    right = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        page = np.full((480, 640, 3), 228, np.float32)
        step = (80, row_step)
        boxes, digits = digit_rows(page, mnist, rng, 18, 6, (90, 70), step, (46, 50), 8)
        turn = cv2.getRotationMatrix2D((320, 240), angle, 1.0)
        page = cv2.warpAffine(page, turn, (640, 480), borderValue=(228, 228, 228))
        corners = np.float32(boxes)[:, [[0, 1], [2, 1], [0, 3], [2, 3]]].reshape(-1, 1, 2)
        corners = cv2.transform(corners, turn).reshape(-1, 4, 2)
        boxes = np.concatenate([corners.min(axis=1), corners.max(axis=1)], axis=1)
        bgr = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
        right += frame_read_right(bgr, boxes, digits, classifier)
    assert right >= 62


def stretched_digit(page, digit, x: int, y: int, height: int, stretch: float) -> list:
    """Draw an MNIST digit `height` px tall, then stretched `stretch` times taller; its box."""
    ys, xs = np.nonzero(digit)
    digit = digit[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    width, tall = max(1, round(digit.shape[1] * height / digit.shape[0])), int(height * stretch)
    alpha = cv2.resize(digit, (width, tall)).astype(np.float32)[..., None] / 255
    page[y : y + tall, x : x + width] = page[y : y + tall, x : x + width] * (1 - alpha) + 35 * alpha
    return [x, y, x + width, y + tall]


@pytest.mark.parametrize("seed", [10, 32, 37])
def test_a_tall_eight_read_weakly_is_not_cut_into_its_loops(mnist, shipped_model, seed):
    # On pages of 8 digits, one in four written 1.6-2.2 times as tall as the others: cut into
    # rows, these three 8s read as a 0 over a 0 more surely than whole (read 0.49-0.85). On
    # the 40 such pages, 79 of the 80 tall digits are read right (77 when such cuts won).
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 228, np.float32)
    boxes, digits = [], []
    for i in range(8):
        index, height = int(rng.integers(0, 10000)), int(rng.integers(40, 48))
        x, y = 40 + 150 * (i % 4) + int(rng.integers(0, 20)), 40 + 220 * (i // 4)
        y += int(rng.integers(0, 20))
        stretch = rng.uniform(1.6, 2.2) if i % 4 == 1 else 1.0
        boxes.append(stretched_digit(page, mnist["x_test"][index], x, y, height, stretch))
        digits.append(int(mnist["y_test"][index]))
    bgr = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
    read = recognize(detect(Frame(0, 0.0, bgr)), Classifier(shipped_model), DEFAULT_MIN_CONFIDENCE)
    eights = np.float32([box for box, digit in zip(boxes, digits, strict=True) if digit == 8])
    x0, y0, x1, y1 = read.xyxy.T
    for ex0, ey0, ex1, ey1 in eights:
        inside = (x0 >= ex0 - 2) & (x1 <= ex1 + 2) & (y0 >= ey0 - 2) & (y1 <= ey1 + 2)
        assert not (inside & (read.digit == 0)).any(), "an 8 was read as 0s"


@pytest.mark.parametrize("tilt", [10.0, -25.0, 35.0])
def test_what_fills_a_turned_box_is_found_upright(tilt):
    # Two touching digits 90 x 45 upright, turned by `tilt`: their box says how wide they are.
    turn = cv2.getRotationMatrix2D((200.0, 200.0), tilt, 1.0)
    corners = cv2.transform(np.float32([[[155, 178], [245, 178], [155, 222], [245, 222]]]), turn)
    box = np.concatenate([corners[0].min(axis=0), corners[0].max(axis=0)])[None]
    width, height = deskew.upright_extent(box, np.array([tilt]))
    np.testing.assert_allclose([width[0], height[0]], [90, 44], atol=1)


def test_rows_are_cut_where_they_meet():
    # Two marks over each other, the gap between them off the middle: the least ink near it.
    row_ink = np.r_[np.full(40, 9.0), [3.0, 0.0, 2.0], np.full(25, 8.0)]
    assert stacked_cuts(row_ink, 2) == [41]
    assert len(stacked_cuts(np.ones(90), 3)) == 2
    assert stacked_cuts(np.ones(2), 2) == []  # too short to cut


@pytest.mark.parametrize(("row_step", "at_least"), [(60, 0.95), (54, 0.7)])
def test_digits_in_rows_close_together_are_read(mnist, shipped_model, row_step, at_least):
    # A sum written in columns: digits 46-50 px tall in rows 10-14 px apart, or 4-8 px. Pieces
    # over each other with a gap up to 0.3 of the taller were merged as one digit's (a 5's
    # tail), so each column became one mark. Measured on these 4 pages: 0.99 and 0.80 read
    # right (0 and 0 before; 0.99 and 0.13 before alike upright pieces stayed apart at any gap;
    # 0.99 and 0.51 while a digit wider than 0.9 of its height, a round 0, was not upright).
    pages = []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        page = np.full((480, 640, 3), 228, np.float32)
        step = (95, row_step)
        boxes, digits = digit_rows(page, mnist, rng, 24, 6, (60, 40), step, (46, 50), 8)
        pages.append((photographed(page, rng), np.float32(boxes), digits))
    assert mean_read_right(pages, shipped_model) >= at_least


def notebook_page(mnist, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Digits written on a notebook's ruled lines, their feet on the line as people write: lines
    about 100 gray levels below the paper, 1-2 px, 40-55 px apart; (BGR frame, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 232, np.float32)
    gap = int(rng.integers(40, 56))
    rules = list(range(50, 470, gap))
    for y in rules:
        tilt = int(rng.integers(-3, 4))
        cv2.line(page, (0, y), (640, y + tilt), (170, 120, 90), 1 + seed % 2, cv2.LINE_AA)
    boxes, digits = [], []
    for y in rules[1:-1]:
        x = 30 + int(rng.integers(0, 20))
        while x < 560:
            index, height = int(rng.integers(0, 10000)), int(gap * rng.uniform(0.55, 0.85))
            box = written_digit(page, mnist["x_test"][index], x, y - height, height, 35)
            boxes.append(box)
            digits.append(int(mnist["y_test"][index]))
            x = box[2] + int(rng.integers(15, 50))
    frame = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
    return frame, np.float32(boxes), digits


def test_digits_written_on_a_notebooks_ruled_lines_are_read(mnist, shipped_model):
    # The line under a digit, erased from the detection's mask, stayed in its crop: a 7
    # standing on it read as a 2. Measured on these 4 pages: 234 of 236 read right (218 before,
    # 232 before a faint line's pieces were found as the line).
    classifier = Classifier(shipped_model)
    right = total = 0
    for seed in range(4):
        frame, boxes, digits = notebook_page(mnist, seed)
        right += frame_read_right(frame, boxes, digits, classifier)
        total += len(digits)
    assert right >= 226, (right, total)


def test_a_faint_rules_pieces_do_not_widen_the_boxes_of_the_digits_they_touch(shipped_model):
    # The 1280x720 sample's rules are faint: the threshold breaks them into pieces shorter than
    # a rule, and a piece touching a 1 was merged with it (a box 26 px wide for a 12 px 1).
    # Measured on its 60 frames, read one by one: of 1200 readings, 0 off their digit's box
    # at IoU 0.4 (16 before).
    from recognizer.pipeline import detect, recognize

    classifier = Classifier(shipped_model)
    capture = cv2.VideoCapture(str(SAMPLES / "digits-1280x720.mp4"))
    truth = read_truth(SAMPLES / "digits-1280x720.truth.jsonl")
    off = 0
    for index in range(60):
        ok, bgr = capture.read()
        assert ok
        read = recognize(detect(Frame(index, index / 30, bgr)), classifier, 0.6)
        iou = box_iou(read.xyxy, xywh_to_xyxy(truth[index]["digits"]))
        off += int((iou.max(axis=1) < 0.4).sum())
    assert off <= 3, off


def underlined_page(mnist, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """Three numbers, each underlined with a 3 px pen (as thick as the digits' strokes) 10-20%
    of a digit's height below it: (gray, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 228, np.float32)
    boxes, digits = [], []
    for row in range(3):
        height = int(rng.integers(45, 60))
        count = int(rng.integers(3, 6))
        origin = (80 + int(rng.integers(0, 40)), 60 + 140 * row)
        found, read = digit_rows(
            page, mnist, rng, count, count, origin, (68, 0), (height, height + 1), 1
        )
        boxes += found
        digits += read
        y = origin[1] + height + int(rng.uniform(0.1, 0.2) * height)
        end = max(box[2] for box in found) + 10
        cv2.line(page, (origin[0] - 10, y), (end, y + int(rng.integers(-4, 5))), (40,) * 3, 3)
    return photographed(page, rng), np.float32(boxes), digits


def test_underlined_numbers_are_read(mnist, shipped_model):
    # An underline or a sum's bar drawn with the digits' pen is as thick in the mask as their
    # strokes: kept for that, its pieces were merged with the digits over it (a 1 and a dash
    # read as 7). A line a fifth of the frame long may now be thicker. Measured on these 6
    # pages: 0.97 read right (0.84 before).
    pages = [underlined_page(mnist, seed) for seed in range(6)]
    assert mean_read_right(pages, shipped_model) >= 0.95


def ellipse(x: float, y: float, rx: float, ry: float) -> list:
    """An ellipse around (x, y) as a closed polyline."""
    angles = np.radians(np.arange(0, 361, 10))
    return [(x + rx * np.cos(a), y + ry * np.sin(a)) for a in angles]


# Print-style digits as a thin pen writes them: strokes in a unit box (x right, y down).
PEN_DIGITS = {  # style: (digit, strokes)
    "open 4": (4, [[(0.55, 0.0), (0.1, 0.65), (0.95, 0.65)], [(0.72, 0.3), (0.72, 1.0)]]),
    "4, stem apart": (4, [[(0.55, 0.0), (0.1, 0.65), (0.62, 0.65)], [(0.72, 0.3), (0.72, 1.0)]]),
    "7": (7, [[(0.05, 0.05), (0.95, 0.05), (0.35, 1.0)]]),
    "7, bar apart": (7, [[(0.05, 0.05), (0.9, 0.05)], [(0.95, 0.1), (0.35, 1.0)]]),
    "5": (
        5,
        [[(0.85, 0.0), (0.2, 0.0), (0.15, 0.45), (0.7, 0.4), (0.9, 0.7), (0.7, 0.98), (0.1, 0.9)]],
    ),
    "1": (1, [[(0.5, 0.0), (0.5, 1.0)]]),
    "8": (8, [ellipse(0.5, 0.23, 0.4, 0.23), ellipse(0.5, 0.73, 0.48, 0.27)]),
}
# Pages of them: (count, heights, columns, steps between columns and rows, in px).
PEN_SIZES = {
    "small": (12, (45, 80), 4, (140, 145)),
    "large": (8, (100, 170), 4, (150, 220)),
    "close": (3, (160, 230), 3, (200, 0)),  # a sheet held close to the webcam
    "held up": (1, (330, 430), 1, (0, 0)),  # a note held up to it, its digit 70-90% of the frame
}


def pen_page(style: str, seed: int, size: str = "small") -> tuple[np.ndarray, np.ndarray, list]:
    """Print-style digits (PEN_DIGITS[style]) written with a 2-3 px pen on a 640x480 page, as
    many and as tall as PEN_SIZES[size] says: (gray, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 225, np.float32)
    digit, strokes = PEN_DIGITS[style]
    count, heights, columns, step = PEN_SIZES[size]
    boxes = []
    for i in range(count):
        height = int(rng.integers(*heights))
        x = 40 + step[0] * (i % columns) + int(rng.integers(0, 25))
        y = 20 + step[1] * (i // columns)
        ink = np.zeros(page.shape[:2], np.uint8)
        for stroke in strokes:
            points = np.int32([[x + u * 0.65 * height, y + v * height] for u, v in stroke])
            cv2.polylines(ink, [points], False, 255, int(rng.integers(2, 4)), cv2.LINE_AA)
        alpha = ink[..., None].astype(np.float32) / 255
        page = page * (1 - alpha) + np.float32(40) * alpha
        bx, by, bw, bh = cv2.boundingRect(ink)
        boxes.append([bx, by, bx + bw, by + bh])
    return photographed(page, rng), np.float32(boxes), [digit] * len(boxes)


@pytest.mark.parametrize(
    ("style", "size"),
    [
        ("open 4", "small"),
        ("7", "small"),
        ("5", "small"),
        ("1", "small"),
        ("5", "large"),
        ("4, stem apart", "large"),
        ("7, bar apart", "large"),
        ("8", "close"),
        ("7", "close"),
        ("7, bar apart", "close"),
        ("open 4", "held up"),
        ("5", "held up"),
    ],
)
def test_print_style_digits_written_with_a_thin_pen_are_read(shipped_model, style, size):
    # A thin pen's bar is as thin and straight as a ruled line, and was erased as one when
    # longer than a twentieth of the frame: a 4 fell apart into pieces read as 1s, and a
    # large 5, whose hat a stroke meets at one end only, into its hat and the rest. A thin
    # pen's upright 1 was narrower than MIN_ASPECT allowed. A stem beside the 4's arm, apart
    # from it, was joined only where the pen's width closed the gap, and a 7's bar apart from
    # its stem was erased. Held close, an 8's loops lost their flat tops and bottoms as rules
    # closing a box, and a 7 filled too little of its box. Measured on these 2 pages each,
    # read right: open 4s 1.0 (0.67 before), 7s and 5s 1.0 (1.0), 1s 1.0 (0.71), large 5s 1.0
    # (0.56), large 4s with the stem apart 1.0 (0.06), large 7s with the bar apart 1.0
    # (0.75), 8s, 7s and 7s with the bar apart held close 1.0, 1.0 and 1.0 (0.83, 0.83 and
    # 0.83). Held up to the webcam, 70-90% of the frame's height: open 4s and 5s 1.0 (0 and 0
    # before marks could be taller than 70% of the frame; open 4s 0 until a bar could be 60%
    # of the frame's height, not 35%).
    pages = [pen_page(style, seed, size) for seed in range(2)]
    assert mean_read_right(pages, shipped_model) >= 0.9


def falloff_still(mnist, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """A 1280x960 still of 8 digits whose light falls off to 45% towards its right edge, as
    under a desk lamp: (gray, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((960, 1280, 3), 225, np.float32)
    boxes, digits = digit_rows(page, mnist, rng, 8, 4, (100, 140), (270, 430), (96, 97), 40)
    page *= 1 - 0.55 * np.linspace(0, 1, 1280, dtype=np.float32)[None, :, None]
    return photographed(page, rng), np.float32(boxes), digits


def test_a_still_whose_light_falls_off_keeps_its_digits(mnist, shipped_model):
    # A still is also searched set on paper, for a digit that fills it (`filling_boxes`). Set
    # on paper of one gray level, the step at its darker edge was outlined as a mark as tall
    # as the still, and that replaced the digits inside it. Measured on these 2 stills: 16 of
    # 16 read right (8 before).
    classifier = Classifier(shipped_model)
    right = []
    for seed in range(2):
        gray, boxes, digits = falloff_still(mnist, seed)
        found = classifier.classify(find_candidates(gray, still=True))
        iou = box_iou(boxes, found.xyxy)
        right += list((iou.max(axis=1) >= 0.4) & (found.digit[iou.argmax(axis=1)] == digits))
    assert np.mean(right) >= 0.9


def signed_page(mnist, sign: str, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """8 digits 45-60 px tall, each with a minus sign before it or a comma after it, 10% of its
    height away, drawn with a 3 px pen: (BGR frame, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 228, np.float32)
    boxes, digits = [], []
    for i in range(8):
        x, y, height = 70 + 140 * (i % 4), 80 + 180 * (i // 4), int(rng.integers(45, 60))
        index = int(rng.integers(0, 10000))
        if sign == "-":
            dash = int(0.35 * height)
            cv2.line(page, (x, y + height // 2), (x + dash, y + height // 2), (40,) * 3, 3)
            x += dash + height // 10
        box = written_digit(page, mnist["x_test"][index], x, y, height, 35)
        if sign == ",":
            tip = (box[2] + height // 10, box[3] - 3)
            cv2.line(page, (tip[0] + 2, tip[1] - 2), (tip[0] - 3, tip[1] + 8), (40,) * 3, 3)
        boxes.append(box)
        digits.append(int(mnist["y_test"][index]))
    frame = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
    return frame, np.float32(boxes), digits


@pytest.mark.parametrize("sign", ["-", ","])
def test_a_minus_sign_or_a_comma_beside_a_digit_is_no_part_of_it(mnist, shipped_model, sign):
    # A flat piece beside a digit merged with it as a 4's arm would (a minus sign), and a comma
    # after a digit ("1,000") was read as a 1. Measured on these 4 pages: 32 of 32 read right
    # each, no false digit by the minus signs (26 and 1 before), 2 by the commas (30 before).
    from recognizer.pipeline import detect, recognize

    classifier = Classifier(shipped_model)
    right = false = 0
    for seed in range(4):
        frame, boxes, digits = signed_page(mnist, sign, seed)
        found = recognize(detect(Frame(0, 0.0, frame)), classifier, 0.6)
        iou = box_iou(boxes, found.xyxy)
        right += int(((iou.max(axis=1) >= 0.4) & (found.digit[iou.argmax(axis=1)] == digits)).sum())
        false += int((iou.max(axis=0) < 0.3).sum())
    assert right >= 30 and false <= 2, (right, false)


def test_a_frame_of_noise_is_capped():
    noise = np.random.default_rng(0).integers(0, 256, (720, 1280), dtype=np.uint8)
    noise = cv2.GaussianBlur(noise, (0, 0), 1.5)
    assert len(find_candidates(noise)) <= MAX_CANDIDATES


def test_blank_paper_has_no_candidates():
    paper = np.full((480, 640), 220, np.uint8)
    assert len(find_candidates(paper)) == 0


def one_hot(digit: int, k: int = 11, p: float = 0.9) -> np.ndarray:
    v = np.full(k, (1 - p) / (k - 1), np.float32)
    v[digit] = p
    return v


def test_tracker_keeps_ids_through_motion_and_a_miss():
    tracker = Tracker(fps=30)
    ids = []
    for step in range(10):
        if step == 5:
            tracker.update(Detections.empty())  # one missed frame
            continue
        x = 100 + 8 * step
        d = batch(
            [[x, 50, x + 20, 90], [300, 50, 320, 90]],
            probabilities=np.stack([one_hot(3), one_hot(7)]),
        )
        ids.append(tuple(tracker.update(d).track_id))
    assert len(set(ids)) == 1 and len(set(ids[0])) == 2


@pytest.mark.parametrize("gap", [1, 3, 6])
def test_tracker_follows_fast_motion_across_skipped_frames(gap):
    # A digit crossing the view 12 px a frame; the source skips `gap` - 1 frames (damaged, or
    # dropped by a camera read slower than it films). The track moves on by the frames that
    # passed, not by one, and keeps its id.
    tracker = Tracker(fps=30)
    frames = [0, 1, 2, 3, 3 + gap, 4 + gap, 5 + gap]
    ids = []
    for before, frame in zip([-1, *frames], frames, strict=False):
        x = 100 + 12 * frame
        box = batch([[x, 50, x + 20, 80]], probabilities=one_hot(4)[None])
        ids.append(int(tracker.update(box, period=frame - before).track_id[0]))
    assert ids == [ids[0]] * 7


def test_tracker_fuses_flickering_readings():
    tracker = Tracker(fps=30)
    labels = []
    for step in range(20):
        reading = (
            one_hot(1, p=0.55) if step % 4 == 3 else one_hot(7, p=0.8)
        )  # a 7 sometimes read as 1
        out = tracker.update(batch([[100, 50, 120, 90]], probabilities=reading[None]))
        labels.append(int(out.digit[0]))
    assert labels == [7] * 20


def two_digits_and(mnist, mark: str, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two MNIST digits 55 px tall with `mark` written in the gap between them (".", ":", ",",
    "-", "=", "rule" for a ruled line through the gap, "" for nothing): (gray page, left box,
    right box)."""
    rng = np.random.default_rng(seed)
    page = np.full((160, 240, 3), 228, np.float32)
    left = written_digit(page, mnist["x_test"][seed], 40, 50, 55, 35)
    x = left[2] + 7
    ink = (35, 35, 35)
    if mark == ".":
        cv2.circle(page, (x + 3, 102), 3, ink, -1)
    elif mark == ":":
        cv2.circle(page, (x + 3, 70), 3, ink, -1)
        cv2.circle(page, (x + 3, 92), 3, ink, -1)
    elif mark == ",":
        cv2.line(page, (x + 5, 101), (x, 111), ink, 3)
    elif mark in "-=":
        for y in (77,) if mark == "-" else (71, 83):
            cv2.line(page, (x - 1, y), (x + 10, y), ink, 3)
    elif mark == "rule":
        cv2.line(page, (0, 104), (239, 104), (150, 150, 150), 2)
    right = written_digit(page, mnist["x_test"][seed + 1], x + 14, 50, 55, 35)
    return photographed(page, rng), np.float32(left), np.float32(right)


@pytest.mark.parametrize("mark", [".", ":", ",", "-", "", "rule", "="])
def test_a_decimal_point_colon_comma_or_hyphen_between_two_digits_is_read(mnist, mark):
    # Measured on pages of 4 numbers of 3 digits, 6 each: "8.23" 23, "8:23" 23 and "8,23" 20
    # of 24 read whole with it (one digit misread; 4 commas unseen, the value without one); no
    # separator in any of 1761 numbers of the samples, 14 fresh scenes and 5 more videos.
    from recognizer.grouping import separator

    for seed in range(3):
        gray, left, right = two_digits_and(mnist, mark, seed)
        assert separator(gray, left, right) == ("" if mark in ("rule", "=") else mark)


@pytest.mark.parametrize(
    ("boxes", "digits", "values"),
    [
        (
            [[0, 0, 20, 30], [24, 0, 44, 30], [48, 2, 68, 32], [72, 0, 92, 30]],
            [2, 0, 1, 9],
            ["2019"],
        ),
        ([[0, 0, 20, 30], [200, 0, 220, 30]], [4, 2], []),  # far apart: two lone digits
        (
            [[0, 0, 20, 30], [24, 0, 44, 30], [0, 60, 20, 90], [24, 60, 44, 90]],
            [1, 2, 3, 4],
            ["12", "34"],
        ),
        # A line tilted by about 25 degrees, read along its slope.
        ([[0, 0, 20, 30], [24, 11, 44, 41], [48, 22, 68, 52]], [5, 6, 7], ["567"]),
        ([[0, 0, 20, 30], [24, 0, 34, 8]], [1, 1], []),  # very different heights
    ],
)
def test_group_numbers_table(boxes, digits, values):
    numbers = group_numbers(batch(boxes, digit=np.array(digits)))
    assert sorted(n["value"] for n in numbers) == sorted(values)
    for n in numbers:
        assert len(n["digits"]) == len(n["value"]) and len(n["box"]) == 4


@pytest.mark.parametrize(
    ("readings", "dropped"),
    [
        # Marks 30 px tall, 4 px apart unless "  " (a space: 15 px); L a letter read surely.
        ("L L 1 L L", [2]),  # "apple": its l
        ("L L L 0 L 1 L", [3, 5]),  # "morning": its o and i
        ("1 0 L L", []),  # "10cm": the number starts the word
        ("L L 2", []),  # "km2": ends it
        ("L 2 L", [1]),  # "a2b"
        ("L 1 1 L", [1, 2]),  # "milk": as many letters as digits, the i and l between them
        ("1 0 L 1 0 L 2 0", []),  # "10+10=20": fewer signs than digits
        ("L 1 1 0", []),  # "he11o" read h, 1, 1, 0: more digits than letters
        ("2 L 3 L 5", []),  # "2+3=5": as many operators as digits
        ("L L  1 L L", []),  # "ab 1cd": a space before the 1 ends the word
        ("l 1 L", []),  # l: read as "not a digit" but not surely, so no letter
        # A mark ending in "." is 20 px tall on the line (a small letter's height), in "^" 18
        # px tall raised off it; ( and ) are brackets read surely as no digit, reaching 5 px
        # above and below the line, and | is a bar read so from 14 px above the line's top.
        ("L L. L L 0.", [4]),  # "hello": the o, as small as the e, beside the l's
        ("L L. 1 1 0.", [2, 3, 4]),  # "hello": with its o, more letters than digits
        ("L L L 0.", []),  # "HELL0": no small letter beside the 0
        ("1 2 | 0 3", []),  # "12/03": a tall slash, and no letter of the digits' size
        ("L. L. 0.", []),  # "ano": every mark small, none taller
        ("0. 0.", []),  # a small number, no letter
        ("5 L. L", []),  # "5th": as tall as the h
        ("1 0 L L", []),  # "10kg"
        ("L 2^", []),  # "m2": the exponent stands off the line
        ("( 1 2 )", []),  # "(12)": the brackets reach below the line too
    ],
)
def test_digits_spelled_inside_words_are_letters(readings, dropped):
    from recognizer.grouping import spelled

    boxes, digit, confidence, x = [], [], [], 0
    for token in readings.replace("  ", " _ ").split():
        if token == "_":
            x += 11
            continue
        mark, top, feet = token[0], 0, 30
        if token.endswith("."):
            top = 10
        elif token.endswith("^"):
            feet = 18
        elif mark in "()":
            top, feet = -5, 35
        elif mark == "|":
            top = -14
        boxes.append([x, top, x + 16, feet])
        digit.append(NOT_DIGIT if mark in "Ll()|" else int(mark))
        confidence.append(0.6 if mark == "l" else 0.99)
        x += 20
    read = batch(boxes, digit=np.array(digit)).replace(confidence=np.float32(confidence))
    digits = read.digit != NOT_DIGIT
    assert np.flatnonzero(spelled(read, digits)).tolist() == dropped


def bracketed_line(page, mnist, rng, y: int, height: int, telephone: bool, boxes, digits) -> list:
    """Numbers of 1-3 MNIST digits in brackets ("(40) (7) (02)") or a telephone number ("(555)
    123-4567") written on `page` at y, brackets and hyphen drawn with a pen; the digits' boxes
    and labels are added to `boxes` and `digits`: the numbers' values."""
    ink, pen = (35, 35, 35), max(2, height // 14)

    def bracket(x: int, side: int) -> int:
        """An opening (side -1) or closing (1) bracket from x; where the next mark goes."""
        top = y - rng.uniform(0.08, 0.25) * height
        bottom = y + height + rng.uniform(0.05, 0.2) * height
        centre = (x + (round(0.3 * height) if side < 0 else 0), round((top + bottom) / 2))
        axes = (round(0.3 * height), round((bottom - top) / 2))
        start = 110 if side < 0 else -70
        cv2.ellipse(page, centre, axes, 0, start, start + 140, ink, pen, cv2.LINE_AA)
        return x + round(0.45 * height)

    def number(x: int, count: int) -> tuple[int, str]:
        """`count` digits from x; where the next mark goes, and their value."""
        text = ""
        for _ in range(count):
            index = int(rng.integers(0, 10000))
            boxes.append(written_digit(page, mnist["x_test"][index], x, y, height, 35))
            digits.append(int(mnist["y_test"][index]))
            text += str(digits[-1])
            x = boxes[-1][2] + int(rng.integers(3, 10))
        return x, text

    x, values = 60, []
    if not telephone:
        for _ in range(3):
            x, text = number(bracket(x, -1), int(rng.integers(1, 4)))
            x = bracket(x + 4, 1) + round(0.5 * height)
            values.append(text)
        return values
    x, area = number(bracket(x, -1), 3)
    x, first = number(bracket(x + 4, 1) + height, 3)
    hyphen = (x + 4, y + height // 2), (x + 4 + height // 3, y + height // 2)
    cv2.line(page, *hyphen, ink, pen, cv2.LINE_AA)
    _, last = number(hyphen[1][0] + 8, 4)
    return [area, f"{first}-{last}"]


def bracketed_numbers_page(mnist, seed: int) -> tuple[np.ndarray, list, list, list]:
    """A 1280x720 page of 5 `bracketed_line`s: (gray page, digit boxes, digits, the values of
    its numbers of two digits or more)."""
    rng = np.random.default_rng(seed)
    page = np.full((720, 1280, 3), rng.uniform(205, 240), np.float32)
    boxes, digits, values = [], [], []
    for line in range(5):
        y, height = 70 + line * 130, int(rng.integers(40, 64))
        values += bracketed_line(page, mnist, rng, y, height, line % 2 == 1, boxes, digits)
    return photographed(page, rng), boxes, digits, [v for v in values if len(v) > 1]


def test_numbers_in_brackets_are_read_without_the_brackets(mnist, shipped_model):
    # Brackets bowing out from a number and taller than its digits are no 1s (`brackets`), and
    # a hyphen between two digits is read into the value. On these 2 pages: 77 of 77 digits, 0
    # false digits (44 before, the brackets read as 1s), 19 of 21 numbers read whole; the other
    # 2 are telephone numbers read as two numbers, their hyphen's gap too wide for one.
    classifier = Classifier(shipped_model)
    right = false = total = 0
    found, expected = [], []
    for seed in range(2):
        gray, boxes, digits, values = bracketed_numbers_page(mnist, seed)
        frame = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
        read = recognize(detect(Frame(0, 0.0, frame)), classifier, DEFAULT_MIN_CONFIDENCE)
        right += int(read_right_mask(np.float32(boxes), np.array(digits), read).sum())
        false += int((box_iou(read.xyxy, np.float32(boxes)).max(axis=1, initial=0) < 0.3).sum())
        total += len(digits)
        found += [n["value"] for n in group_numbers(read, gray)]
        expected += values
    assert right >= total - 2, (right, total)
    assert false <= 2, false
    assert len(set(found) & set(expected)) >= len(expected) - 2, (found, expected)


def test_a_page_of_words_and_numbers_reads_the_numbers_not_the_letters(mnist, shipped_model):
    # Lines of two words in italic and script faces, each followed by a written number: the
    # letters that look like digits inside the words (the l of "apple", the i of "price") are
    # no digits, the numbers all are, and so are small letters beside tall ones (the o of
    # "yellow"). Measured on these 4 pages: 47 of 48 digits, and 6 false digits (53 before
    # `spelled`, 35 with only the letters inside words taken for letters).
    words = ["apple", "price", "kitchen", "window", "chapter", "yellow", "market", "river"]
    classifier = Classifier(shipped_model)
    right = false = total = 0
    for seed in range(4):
        rng = np.random.default_rng(seed)
        ink = np.zeros((720, 1280), np.uint8)
        spots = []
        for line in range(4):
            y, height = 110 + line * 160, int(rng.integers(44, 64))
            font = (cv2.FONT_HERSHEY_SCRIPT_SIMPLEX, cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC)[
                line % 2
            ]
            x = 60
            for word in rng.choice(words, 2, replace=False):
                size = cv2.getTextSize(word, font, height / 22, height // 14)[0][0]
                cv2.putText(ink, word, (x, y + height), font, height / 22, 255, height // 14)
                x += size + int(0.6 * height)
            spots.append((x, y, height))
        page = np.full((720, 1280, 3), 225.0, np.float32) - 190 * (ink[..., None] / 255.0)
        boxes, digits = [], []
        for x, y, height in spots:
            for _ in range(3):
                index = int(rng.integers(0, 10000))
                boxes.append(written_digit(page, mnist["x_test"][index], x, y, height, 35))
                digits.append(int(mnist["y_test"][index]))
                x = boxes[-1][2] + int(rng.integers(4, 12))
        frame = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
        read = recognize(detect(Frame(0, 0.0, frame)), classifier, DEFAULT_MIN_CONFIDENCE)
        right += int(read_right_mask(np.float32(boxes), np.array(digits), read).sum())
        false += int((box_iou(read.xyxy, np.float32(boxes)).max(axis=1, initial=0) < 0.3).sum())
        total += len(digits)
    assert right >= total - 1, (right, total)
    assert false <= 12, false


def stroke_crop(mark: str) -> np.ndarray:
    """A 28x28 crop of a mark 20 px tall: "(" or ")" an arc, "/" a straight slanted 1, "1" a
    1 with a flag and a foot."""
    crop = np.zeros((28, 28), np.uint8)
    if mark in "()":
        start = 110 if mark == "(" else -70
        cv2.ellipse(crop, (17 if mark == "(" else 10, 14), (7, 11), 0, start, start + 140, 255, 2)
    elif mark == "/":
        cv2.line(crop, (17, 4), (11, 24), 255, 2)
    else:
        cv2.polylines(crop, [np.int32([[9, 8], [14, 4], [14, 24]])], False, 255, 2)
        cv2.line(crop, (10, 24), (18, 24), 255, 2)
    return crop


@pytest.mark.parametrize(("mark", "side"), [("(", -1), (")", 1), ("/", 0), ("1", 0)])
def test_the_bow_of_a_stroke_tells_a_bracket_from_a_1(mark, side):
    # A slanted 1's middle lies between its top and bottom; a flag moves only the top.
    from recognizer.grouping import BRACKET_BOW, bow

    bent = bow(stroke_crop(mark))
    assert side * bent >= BRACKET_BOW if side else abs(bent) < BRACKET_BOW / 2


@pytest.mark.parametrize(
    ("readings", "dropped"),
    [
        # Marks 30 px tall, 4 px apart ("_": a space, 34 px); ( and ) are brackets read as 1s
        # reaching 5 px above and below the line, or ones 3 px short of it at each end (".");
        # 1 a 1 with a flag and a foot, as tall as the digits; "^": as tall as the brackets.
        ("( 4 0 )", [0, 3]),
        ("( 4 0 ) ( 0 2 )", [0, 3, 4, 7]),  # two bracketed numbers read as one line
        ("( 5 5 5 ) _ 1 2 3", [0, 4]),  # a telephone number
        ("( 5 5 5 ) 1 2 3", [0, 4]),  # written without the space
        ("4 0 )", [2]),  # "1)": a list's number
        ("1 2 1", []),  # plain 1s at the ends
        ("(. 4 0 ).", []),  # brackets no taller than the digits beside them
        ("4 ( 0", [1]),  # "2(3": inside a line, taller than the digits on both sides
        ("4 ) 0", [1]),
        ("4 ( 8^", []),  # beside a digit as tall as itself
        ("4 1^ 0", []),  # a tall 1 with a flag does not bow
        (") 4 0 (", []),  # each bowing in, not out
    ],
)
def test_brackets_around_numbers_are_not_1s(readings, dropped):
    from recognizer.grouping import brackets

    boxes, digit, crops, x = [], [], [], 0
    for token in readings.split():
        mark = token[0]
        if mark == "_":
            x += 30
            continue
        top, feet = (-5, 35) if mark in "()" or token.endswith("^") else (0, 30)
        if token.endswith("."):
            top, feet = 3, 27
        boxes.append([x, top, x + 16, feet])
        digit.append(1 if mark in "()" else int(mark))
        crops.append(stroke_crop(mark if mark in "()1" else "/"))
        x += 20
    read = batch(boxes, digit=np.array(digit)).replace(crops=np.array(crops))
    assert np.flatnonzero(brackets(read)).tolist() == dropped


@pytest.mark.parametrize(("seven", "expected"), [((10, 24), [NOT_DIGIT]), ((8, 32), [1, 7])])
def test_a_piece_narrower_than_its_digit_is_written_is_no_reading_of_it(seven, expected):
    # A mark 40 px tall read "not a digit" at 0.8, cut into a 1 and a 7 read at 0.99 each: a 7
    # 14 px wide (0.35 of its height; MNIST's narrowest 7s are 0.45) is an m's arch, one 24 px
    # wide may be a 7.
    whole = batch([[0, 0, 32, 40]], digit=np.array([NOT_DIGIT])).replace(
        confidence=np.array([0.8], np.float32)
    )
    parts = batch([[0, 0, 7, 40], [seven[0], 0, seven[1], 40]], digit=np.array([1, 7])).replace(
        confidence=np.array([0.99, 0.99], np.float32)
    )
    origin = np.array([[0, 0, 8, 32], [0, 8, 32, 32]])  # candidate, start, end, its width
    assert list(resolve(whole, parts, origin, min_joint=0.6).digit) == expected


def test_a_small_mark_beside_a_digit_on_its_line_is_not_cut():
    # A 1 40 px tall; marks read "not a digit": the m of "1mm" (28 px on its line) and the
    # second m after it, one raised off it (an exponent's place), one as tall as the 1, one
    # far from them, one beside a letter only.
    marks = batch(
        [
            [0, 0, 16, 40],  # the 1
            [20, 12, 60, 40],  # small, on the line: a letter
            [20, 0, 60, 20],  # small, raised
            [-44, 0, -4, 40],  # as tall, before it
            [66, 12, 100, 40],  # small, on the line, 6 px after the first letter
            [160, 12, 200, 40],  # small, on the line, but 60 px from them
            [300, 0, 316, 40],  # a letter
            [320, 12, 360, 40],  # small beside it
        ],
        digit=np.array([1] + [NOT_DIGIT] * 7),
    )
    every = np.ones(len(marks), bool)
    expected = [False, True, False, False, True, False, False, False]
    assert small_beside_digit(marks, every).tolist() == expected
    assert not small_beside_digit(marks, ~every).any()  # only marks among those asked about


def test_a_units_small_letters_beside_a_number_are_not_cut_into_digits(mnist, shipped_model):
    # "10mm", "5cm", "3am": the m after a number, read surely as "not a digit" and wide enough
    # to be touching digits, was cut into its arches, read as 1s and 7s. Measured on these 8
    # pages: 49 false digits before small marks beside a digit were kept whole, 38 while only
    # those right beside it were (not the m of "cm", after the c), 26 while only digit readings
    # with more letters in their word were letters, 20 now; 125 of 192 digits read (126 and 127
    # before; most of the rest touch their unit: a known limit).
    units = ["mm", "cm", "km", "am", "min"]
    fonts = (
        cv2.FONT_HERSHEY_SIMPLEX,
        cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
        cv2.FONT_HERSHEY_PLAIN | cv2.FONT_ITALIC,
        cv2.FONT_HERSHEY_COMPLEX,
        cv2.FONT_HERSHEY_DUPLEX | cv2.FONT_ITALIC,
    )
    classifier = Classifier(shipped_model)
    right = false = total = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        page = np.full((720, 1280, 3), 225.0, np.float32)
        ink = np.zeros((720, 1280), np.uint8)
        boxes, digits = [], []
        for line in range(4):
            y, x, font = 100 + line * 160, 60, fonts[(seed + line) % len(fonts)]
            for _ in range(3):
                height = int(rng.integers(40, 64))
                scale = height / (12 if font & 7 == cv2.FONT_HERSHEY_PLAIN else 22)
                for _ in range(2):
                    index = int(rng.integers(0, 10000))
                    boxes.append(written_digit(page, mnist["x_test"][index], x, y, height, 35))
                    digits.append(int(mnist["y_test"][index]))
                    x += int(height * (0.7 + rng.uniform(0.05, 0.2)))
                for letter in str(rng.choice(units)):
                    width = cv2.getTextSize(letter, font, scale, max(2, height // 14))[0][0]
                    cv2.putText(
                        ink, letter, (x, y + height), font, scale, 255, max(2, height // 14)
                    )
                    x += width + int(height * (rng.uniform(0.05, 0.2) + rng.uniform(0.05, 0.2)))
                x += int(height * 1.5)
        page -= 190 * (ink[..., None] / 255.0)
        frame = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
        read = recognize(detect(Frame(0, 0.0, frame)), classifier, DEFAULT_MIN_CONFIDENCE)
        right += int(read_right_mask(np.float32(boxes), np.array(digits), read).sum())
        false += int((box_iou(read.xyxy, np.float32(boxes)).max(axis=1, initial=0) < 0.3).sum())
        total += len(digits)
    assert right >= 123, (right, total)
    assert false <= 25, false


@pytest.mark.parametrize(
    ("single", "pieces", "expected"),
    [
        ((NOT_DIGIT, 0.9), [(1, 0.8), (1, 0.6)], [NOT_DIGIT]),  # a doodle stays whole
        ((NOT_DIGIT, 0.5), [(1, 0.9), (2, 0.9)], [1, 2]),  # touching digits: "12"
        ((7, 0.6), [(1, 0.9), (2, 0.9)], [1, 2]),
        ((7, 0.95), [(1, 0.9), (2, 0.9)], [7]),
        ((NOT_DIGIT, 0.4), [(1, 0.9), (NOT_DIGIT, 0.9)], [NOT_DIGIT]),  # every piece a digit
        ((NOT_DIGIT, 0.3), [(1, 0.78), (1, 0.61)], [NOT_DIGIT]),  # joint 0.48 < min_joint 0.6
    ],
)
def test_resolve_picks_the_more_confident_reading(single, pieces, expected):
    whole = batch([[0, 0, 40, 20]], digit=np.array([single[0]])).replace(
        confidence=np.array([single[1]], np.float32)
    )
    parts = batch(
        [[0, 0, 20, 20], [20, 0, 40, 20]], digit=np.array([d for d, _ in pieces])
    ).replace(confidence=np.array([c for _, c in pieces], np.float32))
    origin = np.array([[0, 0, 20, 40], [0, 20, 40, 40]])  # candidate, start, end, its width
    assert list(resolve(whole, parts, origin, min_joint=0.6).digit) == expected


def test_best_chain_crosses_the_candidate_with_the_most_confident_pieces():
    # Pieces 0-10 (a 1), 10-40, 0-20, 20-40 and 10-25, 25-40 across a candidate 40 wide.
    starts, ends = np.array([0, 10, 0, 20, 10, 25]), np.array([10, 40, 20, 40, 25, 40])
    scores = np.array([0.99, 0.95, 0.6, 0.9, 0.98, 0.99])
    joint, chain = best_chain(starts, ends, scores, 40)
    assert chain == [0, 4, 5] and joint == pytest.approx(0.99 * 0.98 * 0.99)
    assert best_chain(starts[2:4], ends[2:4], scores[2:4], 40)[1] == [0, 1]
    assert best_chain(starts[:1], ends[:1], scores[:1], 40) == (0.0, [])  # none across


def touching_number(mnist, count: int, overlap: float, seed: int) -> tuple:
    """`count` MNIST test digits 60 px tall written in a row on a 640x480 page, each one's box
    over the one before by `overlap` of its width: (BGR frame, boxes, digits)."""
    rng = np.random.default_rng(seed)
    page = np.full((480, 640, 3), 228, np.float32)
    x, boxes, digits = 80, [], []
    for _ in range(count):
        index = int(rng.integers(0, 10000))
        box = written_digit(page, mnist["x_test"][index], x, 200, 60, 35)
        boxes.append(box)
        digits.append(int(mnist["y_test"][index]))
        x = box[2] - int(overlap * (box[2] - box[0]))
    frame = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
    return frame, np.float32(boxes), np.array(digits)


@pytest.mark.parametrize(("count", "overlap", "minimum"), [(2, 0.2, 0.7), (4, 0.2, 0.55)])
def test_touching_and_overlapping_digits_are_read(mnist, shipped_model, count, overlap, minimum):
    # Cut only where two or three equal digits would meet, a 1 beside a wide digit or a fourth
    # digit was cut wrong, and a run of them read surely as "not a digit" was not cut at all.
    # On these 10 numbers each: 20 of 20 and 25 of 40 read right (12 and 11 before the cuts
    # were chosen by the model's readings, 16 and 17 before such runs were cut, 18 and 25 while
    # their split needed a joint confidence of 0.9). On 20 numbers each of 2-5 digits
    # overlapping by 0, 0.1 and 0.2 of a digit (840 digits): 660 (517, 581; 635 at 0.9).
    from recognizer.pipeline import DEFAULT_MIN_CONFIDENCE, detect, recognize

    classifier = Classifier(shipped_model)
    right = total = 0
    for seed in range(10):
        frame, boxes, digits = touching_number(mnist, count, overlap, seed)
        found = detect(Frame(0, 0.0, frame))
        read = recognize(found, classifier, DEFAULT_MIN_CONFIDENCE)
        total += len(digits)
        if len(read):
            iou = box_iou(boxes, read.xyxy)
            right += int(
                ((iou.max(axis=1) >= 0.4) & (read.digit[iou.argmax(axis=1)] == digits)).sum()
            )
    assert right / total >= minimum


def test_slanted_digits_leaning_into_each_others_boxes_are_read(mnist, shipped_model):
    # Italic numbers: MNIST digits sheared by 0.25-0.5, each one's box over the one before by
    # a quarter of their height. A digit's crop held the piece of its neighbour that leaned
    # into its box (an 8's loop beside a 1 read as a 6). Measured on these 8 pages: 119 of 166
    # read right, 104 before a crop's pieces mostly outside its box were taken out; most of
    # the rest touch their neighbour.
    classifier = Classifier(shipped_model)
    right = total = 0
    for seed in range(8):
        rng = np.random.default_rng(seed)
        page = np.full((480, 640, 3), 226, np.float32)
        boxes, digits = [], []
        for y in range(40, 390, 85):
            height, x, shear = (
                int(rng.integers(40, 62)),
                int(rng.integers(20, 80)),
                rng.uniform(0.25, 0.5),
            )
            for _ in range(int(rng.integers(3, 6))):
                index = int(rng.integers(0, 10000))
                slant = np.float32([[1, -shear, shear * 28], [0, 1, 0]])
                digit = cv2.warpAffine(
                    mnist["x_test"][index], slant, (28 + int(28 * shear) + 2, 28)
                )
                if x + height >= 620:
                    break
                box = written_digit(page, digit, x, y, height, 35)
                boxes.append(box)
                digits.append(int(mnist["y_test"][index]))
                x = box[2] - height // 4
        frame = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
        mask, _ = read_on_page(frame, boxes, digits, classifier)
        right, total = right + int(mask.sum()), total + len(mask)
    assert right >= 114


@pytest.mark.parametrize(
    ("single", "right", "cut"),
    [
        ((NOT_DIGIT, 0.5), 58, True),
        ((7, 0.98), 58, True),
        ((NOT_DIGIT, 0.9995), 58, False),  # 1.2 times as wide as tall: one mark
        ((NOT_DIGIT, 0.9995), 70, True),  # 1.5 times: maybe several touching digits
        ((7, 0.9995), 70, False),
    ],
)
def test_a_wide_mark_read_surely_whole_is_not_cut(single, right, cut):
    # Only a split whose every piece is read more surely could win; a page of words, each
    # surely "not a digit", took 5 crops a word to read (12 fps on 720p video, 33-47 now).
    # But a run of touching digits is surely not one digit either.
    gray = np.full((60, 120), 230, np.uint8)
    cv2.putText(gray, "00", (12, 48), cv2.FONT_HERSHEY_SIMPLEX, 1.6, 30, 4)
    read = batch([[10, 10, right, 50]], digit=np.array([single[0]])).replace(
        confidence=np.array([single[1]], np.float32)
    )
    assert (len(split_hypotheses(gray, read)[0]) > 0) == cut


def test_only_the_marks_nearest_to_a_digit_are_cut_as_several_digits():
    # A page of words has a hundred marks read surely as "not a digit" and wide enough to be
    # several touching digits; SEVERAL_PER_FRAME of them are cut, those nearest to a digit.
    marks = [[x, 300, x + 60, 330] for x in range(0, 600, 60)]  # 10 words in a row, far
    marks[7] = [420, 100, 480, 130]  # one beside the digit
    xyxy = [*marks, [490, 100, 510, 130]]
    read = batch(xyxy, digit=np.array([NOT_DIGIT] * 10 + [3])).replace(
        confidence=np.array([0.9995] * 10 + [0.99], np.float32)
    )
    chosen = several(read)
    assert chosen.sum() == SEVERAL_PER_FRAME and chosen[7] and not chosen[10]
    assert several(read[np.arange(11) != 10]).sum() == SEVERAL_PER_FRAME  # no digit: any


def test_a_frame_cuts_at_most_cut_per_frame_marks_those_nearest_to_a_digit():
    # A page of 120 scribbles as a still took 255-295 ms to read, against 132-158 before marks
    # were cut into up to 5 digits' pieces; with the cap, 135 (the same 7 false digits).
    gray = np.full((400, 1300, 3), 230, np.uint8)[..., 0]
    marks = [[20 + 42 * i, 300, 80 + 42 * i, 340] for i in range(30)]  # overlapping, far
    marks[29] = [1100, 40, 1160, 80]
    xyxy = [*marks, [1170, 40, 1200, 80]]  # a digit beside the last mark
    read = batch(xyxy, digit=np.array([NOT_DIGIT] * 30 + [3])).replace(
        confidence=np.array([0.5] * 30 + [0.99], np.float32)
    )
    _, origin = split_hypotheses(gray, read)
    cut = set(origin[:, 0].tolist())
    assert len(cut) == CUT_PER_FRAME and 29 in cut


@pytest.mark.parametrize("turn", list(ORIENTATIONS.values()), ids=list(ORIENTATIONS))
def test_a_box_found_in_a_turned_frame_goes_back_where_it_is(turn):
    frame = np.zeros((48, 80), np.uint8)
    frame[10:20, 30:36] = 255  # x 30-36, y 10-20
    seen = turned(frame, turn)
    ys, xs = np.nonzero(seen)
    found = np.float32([[xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]])
    assert boxes_back(found, frame.shape, turn).tolist() == [[30, 10, 36, 20]]
    number = {"box": [int(v) for v in (*found[0, :2], *(found[0, 2:] - found[0, :2]))]}
    assert numbers_back([number], frame.shape, turn)[0]["box"] == [30, 10, 6, 10]


@pytest.mark.parametrize("start", list(ORIENTATIONS.values()), ids=list(ORIENTATIONS))
@pytest.mark.parametrize("end", list(ORIENTATIONS.values()), ids=list(ORIENTATIONS))
def test_crops_turn_as_the_frame_they_were_cut_from(start, end):
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, (28, 28), np.uint8)  # a crop as the frame itself
    crops = turned(frame, start)[None]
    assert np.array_equal(turned_crops(crops, start, end)[0], turned(frame, end))


def page_with_a_pen(mnist, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 1280x720 page of 12 digits with a pen lying across it, photographed: (BGR frame, true
    boxes, digits, which digits stand clear of the pen, 20 px or more from it)."""
    rng = np.random.default_rng(seed)
    page = np.full((720, 1280, 3), rng.uniform(205, 235), np.float32)
    boxes, digits = digit_rows(page, mnist, rng, 12, 6, (90, 110), (190, 220), (45, 80), 40)
    length, width = rng.uniform(380, 700), rng.uniform(18, 32)
    angle = rng.uniform(0, np.pi)
    centre = np.array([rng.uniform(320, 960), rng.uniform(180, 540)])
    along = np.array([np.cos(angle), np.sin(angle)])
    back, front = centre - along * length / 2, centre + along * length / 2
    tip = front + along * 2.5 * width
    across = np.array([-along[1], along[0]]) * width / 2
    color = [(120, 40, 20), (30, 30, 30), (40, 40, 170)][seed % 3]
    cv2.fillConvexPoly(page, np.int32([front + across, front - across, tip]), (190, 190, 195))
    cv2.line(page, np.int32(back), np.int32(front), color, int(width), cv2.LINE_AA)
    boxes = np.float32(boxes)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    t = np.clip((centres - back) @ (tip - back) / np.sum((tip - back) ** 2), 0, 1)
    from_pen = np.linalg.norm(centres - (back + t[:, None] * (tip - back)), axis=1)
    clear = from_pen - width / 2 - np.max(boxes[:, 2:] - boxes[:, :2], axis=1) / 2 >= 20
    frame = photographed(page, rng)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), boxes, np.array(digits), clear


def test_a_pen_lying_on_the_page_does_not_take_the_digits_near_it(mnist, shipped_model):
    # A pen's mark is many digits tall, and its box, across the page, reaches over digits
    # written well clear of it. Taken for pieces of one mark with it, they were lost: on these
    # 16 pages, 6 of the 172 digits 20 px or more from the pen were; 1 is now (PIECE_SCALE).
    classifier = Classifier(shipped_model)
    clear = read = 0
    for seed in range(16):
        *page, away = page_with_a_pen(mnist, seed)
        right, _ = read_on_page(*page, classifier)
        clear += int(away.sum())
        read += int(right[away].sum())
    assert read >= clear - 2, (read, clear)


def page_with_a_writing_hand(
    mnist, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A 1280x720 page of 12 digits with a hand over it holding a pen, its tip on the page (a
    webcam watching someone write): (BGR frame, true boxes, digits, which digits the hand and
    pen leave clear)."""
    rng = np.random.default_rng(seed)
    page = np.full((720, 1280, 3), rng.uniform(205, 235), np.float32)
    boxes, digits = digit_rows(page, mnist, rng, 12, 6, (90, 110), (190, 220), (45, 80), 40)
    skin = np.float32([(150, 180, 225), (120, 150, 200), (70, 95, 140)][seed % 3])
    tip = np.array([rng.uniform(380, 900), rng.uniform(220, 430)])
    angle = rng.uniform(20, 70)
    along = np.array([np.cos(np.radians(angle)), np.sin(np.radians(angle))])
    pen = rng.uniform(150, 250)
    grip = tip + along * pen * 0.45
    palm = np.int32(grip + along * 115 + (50, 15))
    shadow = np.zeros((720, 1280), np.float32)
    cv2.ellipse(shadow, palm + (25, 30), (140, 115), angle, 0, 360, 1, -1)
    page *= (1 - 0.35 * cv2.GaussianBlur(shadow, (0, 0), 25))[..., None]
    cv2.line(page, np.int32(tip + along * 12), np.int32(tip + along * pen), (40, 40, 40), 15)
    cv2.line(page, np.int32(tip), np.int32(tip + along * 14), (160, 160, 165), 8)
    cv2.ellipse(page, palm, (140, 115), angle, 0, 360, skin.tolist(), -1, cv2.LINE_AA)
    across = np.array([-along[1], along[0]])
    for k in (-1, 0, 1):  # fingers round the pen
        finger = np.int32(grip + across * k * 15)
        cv2.line(page, finger, palm, (skin * (0.96 + 0.04 * k)).tolist(), 38, cv2.LINE_AA)
        cv2.circle(page, finger, 19, (skin * 1.05).tolist(), -1, cv2.LINE_AA)
    hand = np.zeros((720, 1280), np.uint8)
    cv2.ellipse(hand, palm, (165, 130), angle, 0, 360, 255, -1)
    cv2.line(hand, np.int32(tip), np.int32(tip + along * pen), 255, 64)
    boxes = np.float32(boxes)
    clear = np.array(
        [not hand[int(y0) : int(y1), int(x0) : int(x1)].any() for x0, y0, x1, y1 in boxes]
    )
    frame = photographed(cv2.GaussianBlur(page, (0, 0), 1.2), rng)
    return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR), boxes, np.array(digits), clear


def test_a_hand_writing_on_the_page_leaves_the_digits_beside_it(mnist, shipped_model):
    # The hand is a large mark a little darker than the paper, the pen a long dark stroke; the
    # digits clear of them are read (125 of 125 on these 12 pages), and little else is (4 other
    # readings: the pen as a 1, the hand's edge).
    classifier = Classifier(shipped_model)
    clear = read = other = 0
    for seed in range(12):
        *page, away = page_with_a_writing_hand(mnist, seed)
        right, others = read_on_page(*page, classifier)
        clear += int(away.sum())
        read += int(right[away].sum())
        other += others
    assert read >= clear - 3 and other <= 6, (read, clear, other)


def other_paper(mnist, kind: str, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """A 1280x720 page of 12 digits on kraft paper (brown, with fibres), recycled paper (flecks),
    newsprint (gray) or cardboard (brown, fibres and flutes), all blotchy: (BGR, boxes, digits)."""
    rng = np.random.default_rng(seed)
    base = {"kraft": 95, "recycled": 200, "newsprint": 170, "cardboard": 110}[kind]
    page = np.empty((720, 1280, 3), np.float32)
    page[:] = (base, base + 50, base + 90) if kind in ("kraft", "cardboard") else (base,) * 3
    blotches = cv2.GaussianBlur(rng.normal(0, 1, (90, 160)).astype(np.float32), (0, 0), 3)
    page += cv2.resize(blotches, (1280, 720))[..., None] * 25
    fibres = np.zeros((720, 1280), np.float32)
    for _ in range({"kraft": 1500, "recycled": 300, "newsprint": 0, "cardboard": 1500}[kind]):
        start, turn = rng.uniform((0, 0), (1280, 720)), rng.uniform(0, np.pi)
        end = start + rng.uniform(5, 40) * np.array([np.cos(turn), np.sin(turn)])
        cv2.line(fibres, np.int32(start), np.int32(end), float(rng.uniform(10, 45)), 1, cv2.LINE_AA)
    page -= fibres[..., None]
    if kind == "recycled":
        for x, y in rng.uniform((0, 0), (1280, 720), (400, 2)).astype(int):
            cv2.circle(page, (x, y), int(rng.integers(1, 3)), (rng.uniform(60, 160),) * 3, -1)
    if kind == "cardboard":
        page += (6 * np.sin(np.arange(1280) / 9.0))[None, :, None]
    boxes, digits = digit_rows(page, mnist, rng, 12, 6, (90, 110), (190, 220), (45, 80), 40)
    return cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR), np.float32(boxes), digits


def test_digits_on_brown_gray_or_flecked_paper_are_read(mnist, shipped_model):
    # Kraft paper's and cardboard's fibres, recycled paper's flecks, newsprint's gray: over 12
    # pages of each, 141, 143, 142 and 142 of 144 digits read, and 0, 2, 0 and 0 other readings.
    classifier = Classifier(shipped_model)
    for kind in ("kraft", "recycled", "newsprint", "cardboard"):
        read = other = 0
        for seed in range(3):
            right, others = read_on_page(*other_paper(mnist, kind, seed), classifier)
            read += int(right.sum())
            other += others
        assert read >= 34 and other <= 1, (kind, read, other)


def spiral_notebook_page(mnist, seed: int) -> tuple[np.ndarray, np.ndarray, list]:
    """A 1280x720 photo of a spiral notebook's page of 12 digits on a light desk: down its left
    edge, the holes (the desk through them) and the wire's flat coils, 30 px apart. (BGR, boxes,
    digits)."""
    rng = np.random.default_rng(seed)
    desk = np.float32([(200, 200, 200), (185, 190, 195), (215, 210, 205)][seed % 3])
    page = np.empty((720, 1280, 3), np.float32)
    page[:] = desk
    page[30:690, 120:1220] = rng.uniform(205, 235)
    for y in range(50, 670, 30):
        cv2.rectangle(page, (130, y), (140, y + 13), desk.tolist(), -1)
        cv2.ellipse(page, (122, y + 7), (26, 9), rng.uniform(-10, 10), 0, 360, (70, 70, 75), 4)
    boxes, digits = digit_rows(page, mnist, rng, 12, 6, (230, 110), (160, 220), (45, 80), 40)
    return cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR), np.float32(boxes), digits


def test_a_spiral_notebooks_flat_coils_are_not_read_as_zeros(mnist, shipped_model):
    # Each coil is a flat loop, twice as wide as tall: no digit is written so wide, but the
    # model, which sees it fitted into 20x20, reads it as a 0. On these 3 pages 30 coils or
    # groups of them were read as digits; 4 are now, loops stacked into an 8 or a 3 (too_wide).
    classifier = Classifier(shipped_model)
    read = other = 0
    for seed in range(3):
        right, others = read_on_page(*spiral_notebook_page(mnist, seed), classifier)
        read += int(right.sum())
        other += others
    assert read >= 34 and other <= 6, (read, other)


def test_an_h_read_as_a_4_is_taken_for_a_letter(mnist, shipped_model):
    # A 4 stands on its stem alone, an H on two legs. In this digit-free scene of marks (one
    # of the 15 mark videos, 2.7 false digits a frame), italic Hs were read as 4s. Measured on
    # its first 10 frames: 10 readings of 4 of 19 readings (20 of 29 before); of MNIST's 982
    # test 4s written 56 px tall and seen through `to_mnist`, 2 stand on two legs.
    from recognizer.classifier import two_legs
    from recognizer.preprocessing import to_mnist
    from tests.test_preprocessing import paste_large

    classifier = Classifier(shipped_model)
    spec = SceneSpec((640, 480), 10, digits=16, content="marks", rotation_deg=-12, seed=215)
    fours = 0
    for frame, _ in scene_frames(spec, mnist["x_test"], mnist["y_test"]):
        read = recognize(detect(Frame(0, 0.0, frame)), classifier, DEFAULT_MIN_CONFIDENCE)
        fours += int((read.digit == 4).sum())
    assert fours <= 13

    fours = mnist["x_test"][mnist["y_test"] == 4]
    assert sum(two_legs(to_mnist(paste_large(digit, 56))) for digit in fours) <= 4
