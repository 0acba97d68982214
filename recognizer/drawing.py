"""Draw detections on a frame: boxes, digit and confidence labels, an FPS/count overlay, crops.

`annotate(bgr, detections, ...)` returns a new image; the input frame is never changed. Sizes scale
with the frame, and every label sits on a filled background, so it reads on any scene. A label
covers no other digit's box nor another label where it can help it (a page of small digits
close together): it goes above its box, else below, else inside its top, and drops the
confidence (its box's color tells it) before it gives up; and it is no taller than
LABEL_BOX_SHARE of its box, down to MIN_LABEL_SCALE.
"""

import functools

import cv2
import numpy as np

from recognizer.core import Detections

FONT = cv2.FONT_HERSHEY_SIMPLEX
REFERENCE_HEIGHT = 480.0  # sizes below are for a 480-pixel-tall frame
LABEL_SCALE = 0.6
LINE_PX = 2
CROP_PX = 56  # shown size of a 28x28 model input with --show-crops
HIGH, MEDIUM, LOW = (60, 200, 60), (0, 200, 255), (60, 60, 230)  # BGR by confidence
TEXT_BGR = (255, 255, 255)
PANEL_BGR = (30, 30, 30)
NUMBER_BGR = (230, 140, 0)
LABEL_BOX_SHARE = 0.6
MIN_LABEL_SCALE = 0.6  # (font scale 0.36: 8 px letters)


def scale_of(image: np.ndarray) -> float:
    return max(0.5, image.shape[0] / REFERENCE_HEIGHT)


def color_for(confidence: float) -> tuple[int, int, int]:
    return HIGH if confidence >= 0.9 else MEDIUM if confidence >= 0.7 else LOW


@functools.lru_cache(maxsize=1024)
def text_size(text: str, scale: float) -> tuple[int, int, int, int]:
    """(width, height, baseline, pad) of a label with `text` at `scale`, background included."""
    (tw, th), baseline = cv2.getTextSize(text, FONT, LABEL_SCALE * scale, thickness_at(scale))
    pad = max(2, round(2 * scale))
    return tw + 2 * pad, th + baseline + 2 * pad, baseline, pad


def thickness_at(scale: float) -> int:
    return max(1, round(scale * 1.5))


def label(image: np.ndarray, text: str, x: int, y: int, color, scale: float) -> tuple:
    """Text with a filled background whose bottom-left corner is (x, y), kept inside the image;
    its rectangle (x0, y0, x1, y1)."""
    w, h, baseline, pad = text_size(text, scale)
    x, y = inside(image, x, y, w, h)
    cv2.rectangle(image, (x, y - h), (x + w, y), color, -1)
    position = (x + pad, y - baseline - pad)
    cv2.putText(image, text, position, FONT, LABEL_SCALE * scale, TEXT_BGR, thickness_at(scale))
    return x, y - h, x + w, y


def inside(image: np.ndarray, x: int, y: int, w: int, h: int) -> tuple[int, int]:
    """The bottom-left corner (x, y) of a `w` x `h` label moved into the image."""
    return min(max(int(x), 0), max(0, image.shape[1] - w)), min(max(int(y), h), image.shape[0])


def place_label(
    image: np.ndarray, texts: list, box, color, scale: float, taken: list, others: np.ndarray
) -> None:
    """The first of `texts` (longest first) that fits above `box`, below it or inside its top
    (past its line, drawn at the frame's `scale`) without covering `others` (the other digits'
    boxes, (N, 4)) or the labels `taken` so far; else the last above it. The label is drawn
    at its own size (`label_scale`), and its rectangle is added to `taken`."""
    x0, y0, _, y1 = (int(v) for v in box)
    line = max(1, round(LINE_PX * scale))
    scale = label_scale(scale, y1 - y0)
    rects = np.concatenate([others.reshape(-1, 4), np.array(taken, int).reshape(-1, 4)]).T
    for text in texts:
        w, h, _, _ = text_size(text, scale)
        for x, y in ((x0, y0 - line), (x0, y1 + line + h), (x0 + line, y0 + line + h)):
            x, y = inside(image, x, y, w, h)
            if not (
                (rects[0] < x + w) & (rects[2] > x) & (rects[1] < y) & (rects[3] > y - h)
            ).any():
                taken.append(label(image, text, x, y, color, scale))
                return
    taken.append(label(image, texts[-1], x0, y0 - line, color, scale))


def label_scale(scale: float, box_height: float) -> float:
    """The frame's label scale, down to LABEL_BOX_SHARE of a box `box_height` tall (not below
    MIN_LABEL_SCALE), in steps of a tenth."""
    _, h, _, _ = text_size("0", scale)
    fitting = round(scale * LABEL_BOX_SHARE * box_height / h, 1)
    return max(MIN_LABEL_SCALE, min(scale, fitting))


def draw_boxes(
    image: np.ndarray, detections: Detections, scale: float, quiet=(), taken: list | None = None
) -> None:
    """Boxes with "digit confidence" labels; digits in `quiet` (part of a number) get no label.
    `taken`: rectangles other labels cover already (and this adds its own)."""
    taken = [] if taken is None else taken
    line = max(1, round(LINE_PX * scale))
    boxes = detections.xyxy.astype(int)
    colors = [color_for(float(conf)) for conf in detections.confidence]
    for (x0, y0, x1, y1), color in zip(boxes, colors, strict=True):
        cv2.rectangle(image, (x0, y0), (x1, y1), color, line)
    for i in np.lexsort((boxes[:, 0], boxes[:, 1])):  # top to bottom, left to right
        if i in quiet:
            continue
        digit, conf = detections.digit[i], detections.confidence[i]
        texts = [f"{digit} {conf:.0%}", f"{digit}"]
        others = np.delete(boxes, i, axis=0)
        place_label(image, texts, boxes[i], colors[i], scale, taken, others)


def draw_numbers(image: np.ndarray, numbers: list, scale: float, taken: list, boxes) -> None:
    """Numbers' frames and "value confidence" labels, placed as digits' are (`place_label`)
    clear of the digits' `boxes`."""
    line = max(1, round(LINE_PX * scale))
    for number in numbers:
        x, y, w, h = (int(v) for v in number["box"])
        frame = (x - line * 2, y - line * 2, x + w + line * 2, y + h + line * 2)
        cv2.rectangle(image, frame[:2], frame[2:], NUMBER_BGR, line)
        texts = [f"{number['value']} {number['confidence']:.0%}", str(number["value"])]
        place_label(image, texts, frame, NUMBER_BGR, scale, taken, boxes)


def draw_crops(image: np.ndarray, detections: Detections, scale: float) -> None:
    """The 28x28 model inputs along the bottom edge, each with the reading under it."""
    size = round(CROP_PX * scale)
    per_row = max(1, image.shape[1] // (size + 4))
    for i, (crop, digit) in enumerate(zip(detections.crops, detections.digit, strict=True)):
        row, col = divmod(i, per_row)
        x, y = 4 + col * (size + 4), image.shape[0] - (row + 1) * (size + 4)
        if y < 0:
            break
        tile = cv2.resize(crop, (size, size), interpolation=cv2.INTER_NEAREST)
        image[y : y + size, x : x + size] = cv2.cvtColor(tile, cv2.COLOR_GRAY2BGR)
        cv2.rectangle(image, (x, y), (x + size - 1, y + size - 1), (128, 128, 128), 1)
        cv2.putText(image, str(digit), (x + 2, y + size - 4), FONT, 0.4 * scale, HIGH, 1)


def draw_status(image: np.ndarray, text: str, scale: float) -> None:
    label(image, text, 4, round(28 * scale), PANEL_BGR, scale)


def annotate(
    bgr: np.ndarray,
    detections: Detections,
    numbers: list | None = None,
    status: str | None = None,
    show_crops: bool = False,
) -> np.ndarray:
    """A copy of the frame with boxes, labels, numbers, a status line and (optionally) crops."""
    image = bgr.copy()
    scale = scale_of(image)
    in_numbers = {i for number in numbers or () for i in number["digits"]}
    taken: list = []  # the labels drawn so far: numbers' first, then their digits'
    if numbers:
        draw_numbers(image, numbers, scale, taken, detections.xyxy.astype(int))
    draw_boxes(image, detections, scale, quiet=in_numbers, taken=taken)
    if show_crops and len(detections):
        draw_crops(image, detections, scale)
    if status:
        draw_status(image, status, scale)
    return image
