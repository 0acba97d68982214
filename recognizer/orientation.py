"""Which way round a picture is read: as it is, mirrored, upside down, or turned a quarter.

A selfie camera, or a webcam app that saves what its preview shows, mirrors the page; a webcam
on a monitor looking down at a desk sees it upside down; a scan or a photo whose orientation tag
was stripped may lie on its side. An orientation (`Turn`) is a number of quarter turns clockwise
and whether to flip left to right after them: the frame turned so reads upright. Detection and
reading happen in the turned frame (`turned`); the boxes found there are put back where they
are in the frame (`boxes_back`, `numbers_back`). `turned_crops` turns crops cut in one
orientation into another, which is how the pipeline checks which way reads best without
detecting the frame again.
"""

import cv2
import numpy as np

Turn = tuple[int, bool]  # (quarter turns clockwise, then flipped left to right)
AS_IT_IS: Turn = (0, False)
# How a picture may lie, and the turn that reads it upright (`--orientation`).
ORIENTATIONS: dict[str, Turn] = {
    "as-is": AS_IT_IS,
    "mirrored": (0, True),
    "upside-down": (2, False),
    "turned-left": (1, False),  # the page turned a quarter left: turned right to read
    "turned-right": (3, False),
}
NAMES = {turn: name for name, turn in ORIENTATIONS.items()}
ROTATIONS = {1: cv2.ROTATE_90_CLOCKWISE, 2: cv2.ROTATE_180, 3: cv2.ROTATE_90_COUNTERCLOCKWISE}


def turned(image: np.ndarray, turn: Turn) -> np.ndarray:
    """An image turned as `turn` says (a new array; `image` itself when it says nothing)."""
    quarters, mirrored = turn
    if quarters % 4:
        image = cv2.rotate(image, ROTATIONS[quarters % 4])
    return cv2.flip(image, 1) if mirrored else image


def turned_crops(crops: np.ndarray, start: Turn, end: Turn) -> np.ndarray:
    """(N, H, W) crops cut from a frame turned as `start` says, as cut from it turned as `end`
    says (a crop's box fits and centres it alike either way round)."""
    (k0, m0), (k1, m1) = start, end
    if m0:
        crops = crops[:, :, ::-1]
    crops = np.rot90(crops, k0 - k1, axes=(1, 2))  # counterclockwise: undo k0, then do k1
    if m1:
        crops = crops[:, :, ::-1]
    return np.ascontiguousarray(crops)


def matrix(shape_hw: tuple[int, int], turn: Turn) -> np.ndarray:
    """3x3: a point of a frame of `shape_hw` to the same point of the frame turned (pixel edges
    as coordinates, so a box's right and bottom edges map like its left and top)."""
    height, width = shape_hw
    m = np.eye(3)
    quarters, mirrored = turn
    for _ in range(quarters % 4):  # a quarter clockwise: (x, y) -> (height - y, x)
        m = np.array([[0, -1, height], [1, 0, 0], [0, 0, 1]]) @ m
        height, width = width, height
    if mirrored:
        m = np.array([[-1, 0, width], [0, 1, 0], [0, 0, 1]]) @ m
    return m


def boxes_back(xyxy: np.ndarray, shape_hw: tuple[int, int], turn: Turn) -> np.ndarray:
    """(N, 4) boxes found in the frame of `shape_hw` turned as `turn` says, in the frame."""
    if turn == AS_IT_IS or not len(xyxy):
        return xyxy
    back = np.linalg.inv(matrix(shape_hw, turn))
    x0, y0, x1, y1 = np.asarray(xyxy, np.float64).T
    corners = np.stack([np.stack([x, y, np.ones_like(x)]) for x, y in ((x0, y0), (x1, y1))])
    xs, ys, _ = np.einsum("ij,cjn->icn", back, corners)  # both corners of every box
    return np.stack([xs.min(0), ys.min(0), xs.max(0), ys.max(0)], axis=1).astype(np.float32)


def numbers_back(numbers: list[dict], shape_hw: tuple[int, int], turn: Turn) -> list[dict]:
    """Numbers (boxes [x, y, w, h]) found in the turned frame, with their boxes in the frame."""
    if turn == AS_IT_IS or not numbers:
        return numbers
    xywh = np.array([number["box"] for number in numbers], np.float64)
    xyxy = boxes_back(np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], 1), shape_hw, turn)
    boxes = [[round(float(v)) for v in (x0, y0, x1 - x0, y1 - y0)] for x0, y0, x1, y1 in xyxy]
    return [{**number, "box": box} for number, box in zip(numbers, boxes, strict=True)]
