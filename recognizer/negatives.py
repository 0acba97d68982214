"""Generated "not a digit" examples: what a camera sees on paper that is not a digit.

Each kind is drawn dark on light at camera scale and then goes through `to_mnist`, exactly like a
real crop, so the model learns what letters, jagged and smooth scribbles, spirals, stars, check
marks, blobs, boxes, arrows, ruled lines, texture and pieces of larger marks look like after
normalization. Letters and shapes that are easily read as digits (O, I, l,
S, Z, B, g, b, q, A, U, Y, N, L-shapes, circles, lines steeper than 30 degrees) are left out on
purpose: the first trained model called MNIST's slanted 1s, triangular 4s and Z-like 2s "not a
digit" when they were in.
"""

import cv2
import numpy as np

from recognizer.preprocessing import to_mnist

CANVAS = 96
LETTERS = "CEFHKMPRTVWXacfkmprtvwx#+=%*@"
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
)


def _point(rng: np.random.Generator, margin: int = 8) -> tuple[int, int]:
    return int(rng.integers(margin, CANVAS - margin)), int(rng.integers(margin, CANVAS - margin))


def letter(canvas, rng, ink, width):
    text = str(rng.choice(list(LETTERS)))
    font = int(rng.choice(FONTS))
    cv2.putText(canvas, text, (18, 76), font, rng.uniform(1.8, 2.6), ink, width, cv2.LINE_AA)


def scribble(canvas, rng, ink, width):
    points = np.array([_point(rng) for _ in range(int(rng.integers(4, 10)))], np.int32)
    cv2.polylines(canvas, [points], False, ink, width, cv2.LINE_AA)


def curve(canvas, rng, ink, width):
    """A smooth doodle: a walk whose heading turns a little at every step."""
    heading = rng.uniform(0, 2 * np.pi)
    turn = rng.normal(0, 0.5)
    point = np.array(_point(rng, 20), np.float64)
    points = [point.copy()]
    for _ in range(int(rng.integers(12, 40))):
        turn = 0.8 * turn + rng.normal(0, 0.35)
        heading += turn
        point = np.clip(point + 4.0 * np.array([np.cos(heading), np.sin(heading)]), 4, CANVAS - 4)
        points.append(point.copy())
    cv2.polylines(canvas, [np.int32(points)], False, ink, width, cv2.LINE_AA)


def spiral(canvas, rng, ink, width):
    turns = rng.uniform(1.5, 3.5)
    t = np.linspace(0, 2 * np.pi * turns, 80)
    radius = rng.uniform(10, 40) * t / t[-1]
    sign = rng.choice([-1, 1])
    phase = rng.uniform(0, 2 * np.pi)
    centre = np.array(_point(rng, 40), np.float64)
    points = centre + radius[:, None] * np.stack([np.cos(sign * t + phase), np.sin(t + phase)], 1)
    cv2.polylines(canvas, [np.int32(points)], False, ink, width, cv2.LINE_AA)


def star_or_check(canvas, rng, ink, width):
    centre = np.array(_point(rng, 35), np.float64)
    size = rng.uniform(20, 40)
    if rng.random() < 0.5:  # a five-pointed star drawn in one stroke
        angles = np.linspace(0, 4 * np.pi, 6) + rng.uniform(0, 2 * np.pi)
        points = centre + size * np.stack([np.sin(angles), -np.cos(angles)], axis=1)
    else:  # a check mark
        points = centre + size * np.array(
            [[-0.8, rng.uniform(-0.2, 0.2)], [rng.uniform(-0.4, 0), 0.7], [0.9, -0.9]]
        )
    cv2.polylines(canvas, [np.int32(points)], False, ink, width, cv2.LINE_AA)


def fragment(canvas, rng, ink, width):
    """Part of a larger mark, as a detector sees when a shape breaks up: draw, then zoom in."""
    BASE_KINDS[int(rng.integers(len(BASE_KINDS)))](canvas, rng, ink, width)
    side = int(rng.integers(CANVAS // 2, CANVAS * 4 // 5))
    x, y = (int(v) for v in rng.integers(0, CANVAS - side, 2))
    canvas[:] = cv2.resize(canvas[y : y + side, x : x + side], (CANVAS, CANVAS))


def line(canvas, rng, ink, width):
    # Within 30 degrees of horizontal: MNIST has 1s slanted by 45 degrees.
    angle = np.deg2rad(rng.uniform(-30, 30) + rng.choice([0, 180]))
    length = rng.uniform(25, 45)
    cx, cy = _point(rng, 40)
    dx, dy = length * np.cos(angle), length * np.sin(angle)
    p, q = (int(cx - dx), int(cy - dy)), (int(cx + dx), int(cy + dy))
    cv2.line(canvas, p, q, ink, width, cv2.LINE_AA)


def ruled(canvas, rng, ink, width):
    gap = int(rng.integers(10, 24))
    tilt = rng.uniform(-6, 6)
    for y in range(int(rng.integers(4, 14)), CANVAS, gap):
        cv2.line(canvas, (0, y), (CANVAS, int(y + tilt)), ink, max(1, width // 2), cv2.LINE_AA)


def blob(canvas, rng, ink, width):
    center = _point(rng, 30)
    major = int(rng.integers(6, 30))
    axes = (major, int(major * rng.uniform(0.45, 1.0)))  # no thin ellipse: it would read as a 1
    cv2.ellipse(canvas, center, axes, rng.uniform(0, 180), 0, 360, ink, -1, cv2.LINE_AA)


def box(canvas, rng, ink, width):
    (x0, y0), (x1, y1) = _point(rng), _point(rng)
    if abs(x1 - x0) < 20 or abs(y1 - y0) < 20:
        x0, y0, x1, y1 = 15, 20, 80, 75
    cv2.rectangle(canvas, (x0, y0), (x1, y1), ink, width, cv2.LINE_AA)
    if rng.random() < 0.5:  # a tick or a cross inside, as on a form
        cv2.line(canvas, (x0, y0), (x1, y1), ink, width, cv2.LINE_AA)


def arrow(canvas, rng, ink, width):
    p, q = _point(rng), _point(rng)
    cv2.arrowedLine(canvas, p, q, ink, width, cv2.LINE_AA, tipLength=rng.uniform(0.2, 0.45))


def texture(canvas, rng, ink, width):
    noise = rng.random((CANVAS // 8, CANVAS // 8)).astype(np.float32)
    noise = cv2.resize(noise, (CANVAS, CANVAS), interpolation=cv2.INTER_CUBIC)
    canvas[noise > rng.uniform(0.6, 0.8)] = ink


def dots(canvas, rng, ink, width):
    for _ in range(int(rng.integers(1, 6))):
        cv2.circle(canvas, _point(rng), int(rng.integers(2, 7)), ink, -1, cv2.LINE_AA)


BASE_KINDS = (scribble, curve, spiral, star_or_check, box, arrow, letter)
KINDS = (
    letter,
    letter,
    letter,
    scribble,
    scribble,
    curve,
    curve,
    spiral,
    star_or_check,
    fragment,
    fragment,
    line,
    ruled,
    blob,
    box,
    arrow,
    texture,
    dots,
)


def make_negatives(count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` non-digit examples as uint8 (count, 28, 28), normalized like real crops."""
    out = np.zeros((count, 28, 28), np.uint8)
    for i in range(count):
        paper = int(rng.integers(150, 256))
        canvas = np.full((CANVAS, CANVAS), paper, np.uint8)
        ink = int(rng.integers(0, max(1, paper - 70)))
        width = int(rng.integers(1, 9))
        KINDS[int(rng.integers(len(KINDS)))](canvas, rng, ink, width)
        out[i] = to_mnist(canvas)
    return out
