"""Augmentations that make clean MNIST digits look like crops cut from camera frames.

Pure batch transforms: each takes uint8 (N, 28, 28) white-on-black images and a numpy Generator and
returns a new batch. `augment` is what training sees; `perturb` is the fixed-seed test set that
`recognizer evaluate --perturbed` reports.

`camera_view` sends a share of the digits the way `recognizer run` sees them: drawn dark on paper
at camera scale, with light gradient, blur and noise, and normalized back by `to_mnist`. The
generated negatives go through `to_mnist` too; without digits that do, the model can learn
"went through to_mnist" as a sign of "not a digit" (a model trained so read 96.3% of MNIST digits
pasted large and normalized back correctly, against 99.6% of the originals, and called plainly
written 3s and 6s on paper "not a digit").
"""

import cv2
import numpy as np

from recognizer.preprocessing import MNIST_BOX, MNIST_SIZE, to_mnist

ROTATION_DEG = 15.0
SCALE_RANGE = 0.20
SHIFT_FRACTION = 0.15  # of the 20 px digit box
BLUR_SIGMA = (0.3, 1.0)
NOISE_STD = (3.0, 20.0)
CONTRAST_RANGE = (0.55, 1.0)
PERTURB_SEED = 20260601
CAMERA_HEIGHT_PX = (12, 90)  # digit heights as the detector hands them over
CAMERA_PAPER = (140.0, 250.0)
CAMERA_MIN_CONTRAST = 50.0  # paper minus ink, gray levels
CAMERA_GRADIENT = 40.0  # largest change of paper brightness across the crop
CAMERA_BLUR_SIGMA = (0.0, 1.5)  # in camera pixels
CAMERA_NOISE_STD = (0.0, 8.0)

# Probability of each augmentation in training; clean digits keep the MNIST accuracy up.
TRAIN_P = {"affine": 0.85, "stroke": 0.35, "blur": 0.2, "noise": 0.2, "contrast": 0.25}

_DISK3 = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_SQUARE2 = np.ones((2, 2), np.uint8)


def affine(image: np.ndarray, angle: float, scale: float, dx: float, dy: float) -> np.ndarray:
    center = ((MNIST_SIZE - 1) / 2, (MNIST_SIZE - 1) / 2)
    matrix = cv2.getRotationMatrix2D(center, angle, scale)
    matrix[:, 2] += (dx, dy)
    return cv2.warpAffine(image, matrix, (MNIST_SIZE, MNIST_SIZE), flags=cv2.INTER_LINEAR)


def stroke(image: np.ndarray, change: int) -> np.ndarray:
    """Thicker (change > 0) or thinner (change < 0) strokes; a stroke never vanishes entirely."""
    if change > 0:
        return cv2.dilate(image, _SQUARE2 if change == 1 else _DISK3)
    thinner = cv2.erode(image, _SQUARE2)
    return thinner if thinner.sum() > 0.35 * image.sum() else image


def random_affine(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    shift = SHIFT_FRACTION * MNIST_BOX
    return affine(
        image,
        rng.uniform(-ROTATION_DEG, ROTATION_DEG),
        rng.uniform(1 - SCALE_RANGE, 1 + SCALE_RANGE),
        rng.uniform(-shift, shift),
        rng.uniform(-shift, shift),
    )


def augment(images: np.ndarray, rng: np.random.Generator, p: dict = TRAIN_P) -> np.ndarray:
    """Randomly rotate, scale, shift, thin/thicken, blur, add noise and lower contrast."""
    out = np.empty_like(images)
    draws = {name: rng.random(len(images)) < prob for name, prob in p.items()}
    for i, image in enumerate(images):
        if draws["affine"][i]:
            image = random_affine(image, rng)
        if draws["stroke"][i]:
            image = stroke(image, int(rng.choice([-1, 1, 2])))
        if draws["blur"][i]:
            image = cv2.GaussianBlur(image, (0, 0), rng.uniform(*BLUR_SIGMA))
        if draws["contrast"][i] or draws["noise"][i]:
            value = image.astype(np.float32)
            if draws["contrast"][i]:
                value *= rng.uniform(*CONTRAST_RANGE)
            if draws["noise"][i]:
                value += rng.normal(0.0, rng.uniform(*NOISE_STD), value.shape)
            image = np.clip(value, 0, 255).astype(np.uint8)
        out[i] = image
    return out


def camera_view(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One white-on-black digit drawn dark on paper at camera scale, then back through to_mnist."""
    x, y, w, h = cv2.boundingRect(image)
    if w == 0:
        return image
    height = int(rng.integers(*CAMERA_HEIGHT_PX))
    width = max(1, round(w * height / h))
    digit = cv2.resize(image[y : y + h, x : x + w], (width, height)).astype(np.float32) / 255
    pad = max(4, height // 4)
    paper = rng.uniform(*CAMERA_PAPER)
    ink = rng.uniform(0, paper - CAMERA_MIN_CONTRAST)
    shape = (height + 2 * pad, width + 2 * pad)
    ramp = np.linspace(-0.5, 0.5, shape[1], dtype=np.float32)[None, :]
    canvas = np.full(shape, paper, np.float32) + rng.uniform(-1, 1) * CAMERA_GRADIENT * ramp
    canvas[pad : pad + height, pad : pad + width] -= (paper - ink) * digit
    sigma = rng.uniform(*CAMERA_BLUR_SIGMA)
    if sigma > 0.3:
        canvas = cv2.GaussianBlur(canvas, (0, 0), sigma)
    canvas += rng.normal(0.0, rng.uniform(*CAMERA_NOISE_STD), shape).astype(np.float32)
    gray = np.clip(canvas, 0, 255).astype(np.uint8)
    return to_mnist(gray, (pad, pad, pad + width, pad + height))


def camera_views(images: np.ndarray, rng: np.random.Generator, share: float) -> np.ndarray:
    """A copy with `share` of the images (chosen at random) replaced by their `camera_view`."""
    out = images.copy()
    for i in np.flatnonzero(rng.random(len(images)) < share):
        out[i] = camera_view(images[i], rng)
    return out


def perturb(images: np.ndarray, seed: int = PERTURB_SEED) -> np.ndarray:
    """The fixed robustness test: every image rotated, shifted, scaled and thinned or thickened."""
    rng = np.random.default_rng(seed)
    out = np.empty_like(images)
    for i, image in enumerate(images):
        out[i] = stroke(random_affine(image, rng), int(rng.choice([-1, 1])))
    return out
