"""Draw detections on a frame: boxes, digit and confidence labels, an FPS/count overlay, crops.

`annotate(bgr, detections, ...)` returns a new image; the input frame is never changed. Sizes scale
with the frame, and every label sits on a filled background, so it reads on any scene.
"""

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


def scale_of(image: np.ndarray) -> float:
    return max(0.5, image.shape[0] / REFERENCE_HEIGHT)


def color_for(confidence: float) -> tuple[int, int, int]:
    return HIGH if confidence >= 0.9 else MEDIUM if confidence >= 0.7 else LOW


def label(image: np.ndarray, text: str, x: int, y: int, color, scale: float) -> None:
    """Text with a filled background whose bottom-left corner is (x, y), kept inside the image."""
    font_scale = LABEL_SCALE * scale
    thickness = max(1, round(scale * 1.5))
    (tw, th), baseline = cv2.getTextSize(text, FONT, font_scale, thickness)
    pad = max(2, round(2 * scale))
    x = int(np.clip(x, 0, max(0, image.shape[1] - tw - 2 * pad)))
    y = int(np.clip(y, th + baseline + 2 * pad, image.shape[0]))
    cv2.rectangle(image, (x, y - th - baseline - 2 * pad), (x + tw + 2 * pad, y), color, -1)
    cv2.putText(image, text, (x + pad, y - baseline - pad), FONT, font_scale, TEXT_BGR, thickness)


def draw_boxes(image: np.ndarray, detections: Detections, scale: float, quiet=()) -> None:
    """Boxes with "digit confidence" labels; digits in `quiet` (part of a number) get no label."""
    line = max(1, round(LINE_PX * scale))
    for i, ((x0, y0, x1, y1), digit, conf) in enumerate(
        zip(detections.xyxy.astype(int), detections.digit, detections.confidence, strict=True)
    ):
        color = color_for(float(conf))
        cv2.rectangle(image, (x0, y0), (x1, y1), color, line)
        if i not in quiet:
            label(image, f"{digit} {conf:.0%}", x0, y0 - line, color, scale)


def draw_numbers(image: np.ndarray, numbers: list, scale: float) -> None:
    line = max(1, round(LINE_PX * scale))
    for number in numbers:
        x, y, w, h = (int(v) for v in number["box"])
        cv2.rectangle(
            image,
            (x - line * 2, y - line * 2),
            (x + w + line * 2, y + h + line * 2),
            NUMBER_BGR,
            line,
        )
        text = f"{number['value']} {number['confidence']:.0%}"
        label(image, text, x - line * 2, y - line * 3, NUMBER_BGR, scale)


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
    draw_boxes(image, detections, scale, quiet=in_numbers)
    if numbers:
        draw_numbers(image, numbers, scale)
    if show_crops and len(detections):
        draw_crops(image, detections, scale)
    if status:
        draw_status(image, status, scale)
    return image
