"""Synthetic camera footage of handwritten digits on paper, with per-frame ground truth.

The digits come from the MNIST *test* set (the model never trains on them), drawn as pen ink on a
sheet of paper lying on a desk, and filmed by a virtual camera:

- perspective (the sheet is seen at an angle) and slow camera motion (drift and a little rotation);
- a lighting gradient and a soft shadow across the sheet; optional ruled lines;
- lens blur and sensor noise.

Ground truth is one JSON line per frame,
`{"frame": i, "digits": [{"box": [x, y, w, h], "digit": d}]}`, with boxes in frame pixels;
digits not wholly in view are left out. `scene_frames` yields
`(bgr, truth)` pairs; `write_sample` encodes them with OpenCV and writes the truth file beside.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from recognizer.errors import DataError

PAPER_MARGIN = 0.08  # desk visible around the sheet, relative to the frame
NUMBER_STEP = 0.72  # digit to digit within a number, relative to the 28x28 glyph size
INK_BGR = ((40, 30, 25), (120, 50, 20), (30, 30, 30), (90, 30, 40))  # black, blue, gray, purple


@dataclass(frozen=True)
class SceneSpec:
    resolution_wh: tuple[int, int] = (640, 480)
    frames: int = 90
    fps: float = 30.0
    digits: int = 10
    digit_height: tuple[float, float] = (0.07, 0.16)  # relative to frame height
    ruled: bool = False
    seed: int = 0
    motion_px: float = 12.0  # camera drift amplitude
    tilt: float = 0.06  # perspective strength
    shadow: bool = True
    rotation_deg: float = 0.0  # the sheet turned in the image plane (paper held at an angle)
    content: str = "digits"  # "digits", "numbers" (2-4 digit numbers) or "marks" (no digits)


def desk(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """A wood-like desk texture (BGR)."""
    h, w = shape
    grain = cv2.resize(rng.random((h // 8 + 1, 4)).astype(np.float32), (w, h))
    grain = grain + 0.3 * rng.random((h, w)).astype(np.float32)
    base = np.array([60, 95, 140], np.float32)  # brown, BGR
    return np.clip(base * (0.75 + 0.4 * grain[..., None]), 0, 255).astype(np.uint8)


def blank_paper(spec: SceneSpec, rng: np.random.Generator) -> np.ndarray:
    """A sheet of paper (float BGR) the size of the frame less the desk margin."""
    w, h = spec.resolution_wh
    sheet_w, sheet_h = int(w * (1 - 2 * PAPER_MARGIN)), int(h * (1 - 2 * PAPER_MARGIN))
    paper = np.full((sheet_h, sheet_w, 3), rng.uniform(215, 245), np.float32)
    paper += rng.normal(0, 3, (sheet_h, sheet_w, 1))  # paper grain
    paper[..., 0] += 4  # slightly cool white
    if spec.ruled:
        for y in range(int(sheet_h * 0.08), sheet_h, max(12, int(sheet_h * 0.09))):
            paper[y : y + 1, :] = (210, 170, 140)  # light blue rule
    return paper


def ink_on(paper: np.ndarray, alpha: np.ndarray, x: int, y: int, ink: np.ndarray) -> list[int]:
    """Blend ink through `alpha` (0..1) at (x, y); the inked box [x0, y0, x1, y1] in sheet px."""
    h, w = alpha.shape
    region = paper[y : y + h, x : x + w]
    region[:] = region * (1 - alpha[..., None]) + ink * alpha[..., None]
    ys, xs = np.nonzero(alpha > 0.3)
    return [x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1]


def glyph(image: np.ndarray, size: int) -> np.ndarray:
    resized = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
    return np.clip(resized.astype(np.float32) / 255.0, 0, 1)


# Marks for the digit-free sample, drawn in fonts and shapes that training never used (see
# negatives.py). Letters that people also read as digits (O, D, Q, I, l, i, j, S, Z, G, B) are out:
# a recognizer cannot be faulted for reading an "O" as 0.
UNSEEN_FONTS = (cv2.FONT_HERSHEY_SCRIPT_COMPLEX, cv2.FONT_HERSHEY_PLAIN | cv2.FONT_ITALIC)
UNSEEN_LETTERS = "EFHKLMRWXaehkmnrwx"


def mark(size: int, rng: np.random.Generator) -> np.ndarray:
    """One non-digit mark as an alpha image: a letter, a check mark, a star, a spiral, a wave."""
    canvas = np.zeros((size, size), np.uint8)
    width = max(1, size // 12)
    kind = int(rng.integers(6))
    if kind == 0:
        scale = size / 24
        font = int(rng.choice(UNSEEN_FONTS))
        text = str(rng.choice(list(UNSEEN_LETTERS)))
        cv2.putText(
            canvas, text, (size // 5, int(size * 0.8)), font, scale, 255, width, cv2.LINE_AA
        )
    elif kind == 1:  # check mark
        pts = np.float32([[0.15, 0.55], [0.4, 0.85], [0.9, 0.15]]) * size
        cv2.polylines(canvas, [np.int32(pts)], False, 255, width, cv2.LINE_AA)
    elif kind == 2:  # star
        angles = np.linspace(0, 4 * np.pi, 6)
        pts = size / 2 + size * 0.4 * np.stack([np.sin(angles), -np.cos(angles)], axis=1)
        cv2.polylines(canvas, [np.int32(pts)], False, 255, width, cv2.LINE_AA)
    elif kind == 3:  # spiral
        t = np.linspace(0, 5 * np.pi, 60)
        pts = size / 2 + (size * 0.045 * t)[:, None] * np.stack([np.cos(t), np.sin(t)], axis=1)
        cv2.polylines(canvas, [np.int32(pts)], False, 255, width, cv2.LINE_AA)
    elif kind == 4:  # a scribble: a smooth random walk
        steps = rng.normal(0, size * 0.12, (12, 2)).cumsum(axis=0)
        steps -= steps.min(axis=0)
        pts = steps / max(float(steps.max()), 1.0) * size * 0.9 + size * 0.05
        cv2.polylines(canvas, [np.int32(pts)], False, 255, width, cv2.LINE_AA)
    else:  # a wavy underline
        t = np.linspace(0.05, 0.95, 40)
        pts = np.stack([t * size, size * (0.5 + 0.12 * np.sin(t * 4 * np.pi))], axis=1)
        cv2.polylines(canvas, [np.int32(pts)], False, 255, width, cv2.LINE_AA)
    return canvas.astype(np.float32) / 255.0


def inked_sheet(spec: SceneSpec, images: np.ndarray, labels: np.ndarray, rng):
    """Paper with its content; (paper, digit boxes in sheet px, digits, numbers).

    `numbers` lists each multi-digit number as (indexes into the digits, value).
    """
    paper = blank_paper(spec, rng)
    sheet_h, sheet_w = paper.shape[:2]
    h = spec.resolution_wh[1]
    ink = np.array(INK_BGR[int(rng.integers(len(INK_BGR)))], np.float32)
    boxes, digits, numbers = [], [], []
    cells = spec.digits if spec.content != "numbers" else spec.digits // 3
    widest = 1 + NUMBER_STEP * 3 if spec.content == "numbers" else 1  # cell width in digit sizes
    cols = int(np.ceil(np.sqrt(cells * sheet_w / sheet_h / widest)))
    rows = int(np.ceil(cells / cols))
    cell_w, cell_h = sheet_w / cols, sheet_h / rows
    used = 0
    for k in range(cells):
        r, c = divmod(k, cols)
        size = int(rng.uniform(*spec.digit_height) * h)
        count = int(rng.integers(2, 5)) if spec.content == "numbers" else 1
        width_in_sizes = 1 + NUMBER_STEP * (count - 1)
        size = min(size, int(cell_h * 0.8), int(cell_w * 0.85 / width_in_sizes))
        step = int(size * NUMBER_STEP)
        free_x, free_y = cell_w - size - step * (count - 1), cell_h - size
        x = int(c * cell_w + rng.uniform(0.1, 0.9) * max(free_x, 0))
        y = int(r * cell_h + rng.uniform(0.1, 0.9) * free_y)
        if spec.content == "marks":
            ink_on(paper, mark(size, rng), x, y, ink)
            continue
        members = []
        for i in range(count):
            if used >= len(images):
                break
            boxes.append(ink_on(paper, glyph(images[used], size), x + i * step, y, ink))
            digits.append(int(labels[used]))
            members.append(len(digits) - 1)
            used += 1
        if len(members) > 1:
            numbers.append((members, "".join(str(digits[m]) for m in members)))
    return np.clip(paper, 0, 255), np.array(boxes, np.float32).reshape(-1, 4), digits, numbers


def camera(spec: SceneSpec, t: float, rng_phase: np.ndarray) -> np.ndarray:
    """Homography from sheet to frame at time t: perspective tilt plus slow drift and rotation."""
    w, h = spec.resolution_wh
    x0, y0 = w * PAPER_MARGIN, h * PAPER_MARGIN
    sw, sh = w * (1 - 2 * PAPER_MARGIN), h * (1 - 2 * PAPER_MARGIN)
    k = spec.tilt
    src = np.float32([[0, 0], [sw, 0], [sw, sh], [0, sh]])
    dst = np.float32([[x0 + k * sw, y0], [x0 + sw - k * sw, y0], [x0 + sw, y0 + sh], [x0, y0 + sh]])
    tilt = cv2.getPerspectiveTransform(src, dst)
    a = spec.motion_px
    dx = a * np.sin(2 * np.pi * 0.25 * t + rng_phase[0])
    dy = 0.6 * a * np.sin(2 * np.pi * 0.18 * t + rng_phase[1])
    angle = spec.rotation_deg + 2.0 * np.sin(2 * np.pi * 0.12 * t + rng_phase[2])
    motion = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
    motion[:2, 2] += (dx, dy)
    return motion @ tilt


def project_boxes(boxes: np.ndarray, homography: np.ndarray) -> np.ndarray:
    if not len(boxes):
        return np.zeros((0, 4), np.float32)
    corners = np.stack(
        [boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [2, 3]], boxes[:, [0, 3]]], axis=1
    )
    projected = cv2.perspectiveTransform(corners.reshape(-1, 1, 2), homography).reshape(-1, 4, 2)
    return np.concatenate([projected.min(axis=1), projected.max(axis=1)], axis=1)


def union_xywh(xyxy: np.ndarray) -> list[float]:
    x0, y0 = xyxy[:, :2].min(axis=0)
    x1, y1 = xyxy[:, 2:].max(axis=0)
    return [round(float(v), 1) for v in (x0, y0, x1 - x0, y1 - y0)]


def lighting(shape: tuple[int, int], rng: np.random.Generator, shadow: bool) -> np.ndarray:
    """A multiplicative light map: a gradient across the frame and a soft-edged shadow."""
    h, w = shape
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ramp = (np.cos(angle) * xx / w + np.sin(angle) * yy / h + 1) / 2
    light = 0.6 + 0.4 * ramp
    if shadow:
        poly = np.int32([[rng.uniform(0, w), 0], [w, 0], [w, rng.uniform(0, h)]])
        mask = np.zeros((h, w), np.float32)
        cv2.fillPoly(mask, [poly], 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), max(h, w) * 0.02)
        light *= 1 - 0.35 * mask
    return light[..., None]


def scene_frames(spec: SceneSpec, mnist_images: np.ndarray, mnist_labels: np.ndarray) -> Iterator:
    """Yield (bgr frame, truth dict) for every frame of the scene."""
    rng = np.random.default_rng(spec.seed)
    picks = rng.choice(len(mnist_images), spec.digits, replace=False)
    paper, boxes, digits, numbers = inked_sheet(spec, mnist_images[picks], mnist_labels[picks], rng)
    w, h = spec.resolution_wh
    background = desk((h, w), rng).astype(np.float32)
    light = lighting((h, w), rng, spec.shadow)
    phase = rng.uniform(0, 2 * np.pi, 3)
    blur = rng.uniform(0.6, 1.0)
    for index in range(spec.frames):
        homography = camera(spec, index / spec.fps, phase)
        sheet = cv2.warpPerspective(paper, homography, (w, h), flags=cv2.INTER_LINEAR)
        inside = cv2.warpPerspective(
            np.ones(paper.shape[:2], np.float32), homography, (w, h), flags=cv2.INTER_LINEAR
        )[..., None]
        frame = (sheet * inside + background * (1 - inside)) * light
        frame = cv2.GaussianBlur(frame, (0, 0), blur)
        frame += rng.normal(0, 4.0, frame.shape)
        frame = np.clip(frame, 0, 255).astype(np.uint8)
        projected = project_boxes(boxes, homography)
        visible = (
            (projected[:, :2] >= 0).all(axis=1) & (projected[:, 2] < w) & (projected[:, 3] < h)
        )
        truth = {
            "frame": index,
            "digits": [
                {"box": [round(float(v), 1) for v in (x0, y0, x1 - x0, y1 - y0)], "digit": d}
                for (x0, y0, x1, y1), d, v in zip(projected, digits, visible, strict=True)
                if v
            ],
        }
        if spec.content == "numbers":
            truth["numbers"] = [
                {"value": value, "box": union_xywh(projected[members])}
                for members, value in numbers
                if visible[members].all()
            ]
        yield frame, truth


def write_sample(spec: SceneSpec, images, labels, path: Path) -> Path:
    """Write the scene as a video (or, for one frame, an image) and `<path stem>.truth.jsonl`."""
    truth_path = path.with_name(path.stem + ".truth.jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = None
    with open(truth_path, "w") as truth_file:
        for frame, truth in scene_frames(spec, images, labels):
            if spec.frames == 1:
                cv2.imwrite(str(path), frame)
            else:
                if writer is None:
                    fourcc = cv2.VideoWriter_fourcc(*"mp4v")
                    writer = cv2.VideoWriter(str(path), fourcc, spec.fps, spec.resolution_wh)
                writer.write(frame)
            truth_file.write(json.dumps(truth) + "\n")
    if writer is not None:
        writer.release()
    return truth_path


def read_truth(path: Path) -> list[dict]:
    """Ground truth: one JSON object a frame, in frame order, with its "digits" (each with a
    "box" [x, y, w, h] and a "digit"), and optionally its "numbers"."""
    try:
        with open(path, encoding="utf-8") as f:
            frames = [json.loads(line) for line in f if line.strip()]
        for frame in frames:
            for item in frame["digits"]:
                if len([float(v) for v in item["box"]]) != 4 or not 0 <= int(item["digit"]) <= 9:
                    raise ValueError(item)
    except OSError as exc:
        raise DataError(f"cannot read ground truth {path} ({exc.strerror})") from None
    except (ValueError, TypeError, KeyError, IndexError):  # JSONDecodeError is a ValueError
        raise DataError(
            f"{path} is not ground truth: one JSON line a frame, "
            '{"digits": [{"box": [x, y, w, h], "digit": d}, ...]}'
        ) from None
    return frames


DEFAULT_SAMPLES = {
    "digits-640x480.mp4": SceneSpec((640, 480), frames=90, digits=10, seed=1),
    "digits-1280x720.mp4": SceneSpec(
        (1280, 720), frames=60, digits=20, digit_height=(0.05, 0.11), ruled=True, seed=2
    ),
    "numbers-1280x720.mp4": SceneSpec(
        (1280, 720), frames=60, digits=30, digit_height=(0.06, 0.1), content="numbers", seed=4
    ),
    "numbers-tilted-1280x720.mp4": SceneSpec(
        (1280, 720),
        frames=40,
        digits=30,
        digit_height=(0.06, 0.1),
        content="numbers",
        rotation_deg=-30,
        motion_px=4,
        seed=8,
    ),
    "no-digits-640x480.mp4": SceneSpec((640, 480), frames=60, digits=14, content="marks", seed=5),
    "still-1280x720.png": SceneSpec(
        (1280, 720), frames=1, digits=12, digit_height=(0.05, 0.14), ruled=True, seed=3
    ),
}


def write_default_samples(images: np.ndarray, labels: np.ndarray, folder: Path) -> list[Path]:
    """The samples the README and the benchmark run on, with their ground truth."""
    written = []
    for name, spec in DEFAULT_SAMPLES.items():
        path = Path(folder) / name
        written += [path, write_sample(spec, images, labels, path)]
    return written
