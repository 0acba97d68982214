"""Labels on annotated frames: readable, and off the other digits where there is room."""

import numpy as np

from recognizer.core import Detections
from recognizer.drawing import LINE_PX, MIN_LABEL_SCALE, annotate, draw_boxes, text_size


def grid(rows: int, columns: int, size: tuple, gap: int) -> Detections:
    """Digits read at 0.99 in a grid of boxes `size` (w, h) px, `gap` px apart."""
    w, h = size
    xyxy = [
        [40 + c * (w + gap), 60 + r * (h + gap), 40 + c * (w + gap) + w, 60 + r * (h + gap) + h]
        for r in range(rows)
        for c in range(columns)
    ]
    n = len(xyxy)
    return Detections(
        xyxy=np.float32(xyxy),
        crops=np.zeros((n, 28, 28), np.uint8),
        digit=np.arange(n) % 10,
        confidence=np.full(n, 0.99, np.float32),
    )


def covers_another(labels: list, boxes: np.ndarray) -> int:
    """How many label rectangles overlap a box other than their own (labels in box order)."""
    count = 0
    for own, (x0, y0, x1, y1) in enumerate(labels):
        b = np.delete(boxes, own, axis=0)
        count += int(((b[:, 0] < x1) & (b[:, 2] > x0) & (b[:, 1] < y1) & (b[:, 3] > y0)).any())
    return count


def test_labels_of_a_page_of_small_digits_close_together_leave_the_other_digits_clear():
    # Rows of 20 px digits 12 px apart on a 480-line frame: a label as tall as the frame's
    # scale sets (22 px) above each box covered the digits of the row above. Labels now shrink
    # to their box, and go below it or inside it, without the confidence, where they fit.
    detections = grid(5, 8, (14, 20), 12)
    image = np.full((480, 640, 3), 200, np.uint8)
    taken: list = []
    draw_boxes(image, detections, 1.0, taken=taken)
    order = np.lexsort((detections.xyxy[:, 0], detections.xyxy[:, 1]))
    labels = [None] * len(detections)
    for rect, i in zip(taken, order, strict=True):
        labels[i] = rect
    assert covers_another(labels, detections.xyxy.astype(int)) == 0
    # Still readable: no smaller than MIN_LABEL_SCALE.
    smallest = min(text_size(str(digit), MIN_LABEL_SCALE)[1] for digit in range(10))
    assert min(y1 - y0 for _, y0, _, y1 in taken) >= smallest


def test_labels_of_digits_with_room_around_them_sit_above_them_with_the_confidence():
    detections = grid(2, 3, (40, 60), 80)
    image = np.full((480, 640, 3), 200, np.uint8)
    taken: list = []
    draw_boxes(image, detections, 1.0, taken=taken)
    full, _, _, _ = text_size("0 99%", 1.0)
    boxes = detections.xyxy.astype(int)
    order = np.lexsort((boxes[:, 0], boxes[:, 1]))
    for (x0, _, x1, y1), i in zip(taken, order, strict=True):
        assert y1 == boxes[i, 1] - LINE_PX and x0 == boxes[i, 0]  # just above its box
        assert x1 - x0 == full  # the digit and its confidence


def test_annotating_changes_a_copy_only():
    detections = grid(1, 2, (30, 40), 20)
    frame = np.full((120, 200, 3), 200, np.uint8)
    annotated = annotate(frame, detections, status="2 digits")
    assert (frame == 200).all() and not (annotated == 200).all()
