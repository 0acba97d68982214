"""The two types that flow through the pipeline: a `Frame` in, `Detections` out of every stage.

`Detections` is one frame's results as parallel arrays (one row per digit), frozen and read-only:
stages return a new batch (`dataclasses.replace`, or a boolean mask: `detections[keep]`).
"""

from dataclasses import dataclass, field, fields, replace

import numpy as np

from recognizer.preprocessing import MNIST_SIZE

NO_TRACK = -1
NO_DIGIT = -1


@dataclass(frozen=True)
class Frame:
    index: int  # 0-based position in the source
    time_s: float  # seconds since the start of the source
    bgr: np.ndarray  # (H, W, 3) uint8
    file: str | None = None  # the image's file name, for the frames of a folder


# Field -> (dtype, shape after N, fill value when omitted); probabilities is (N, K), K = 0 at first.
_FIELDS = {
    "xyxy": (np.float32, (4,), 0),
    "crops": (np.uint8, (MNIST_SIZE, MNIST_SIZE), 0),
    "digit": (np.int64, (), NO_DIGIT),
    "confidence": (np.float32, (), 0),
    "probabilities": (np.float32, (0,), 0),
    "track_id": (np.int64, (), NO_TRACK),
}


@dataclass(frozen=True)
class Detections:
    """One frame's digits. Boxes are in input-frame pixels, x0 y0 x1 y1 (exclusive right/bottom)."""

    xyxy: np.ndarray  # (N, 4) float32
    crops: np.ndarray  # (N, 28, 28) uint8, the model's inputs
    digit: np.ndarray = field(default=None)  # (N,) int64, NO_DIGIT before classification
    confidence: np.ndarray = field(default=None)  # (N,) float32
    probabilities: np.ndarray = field(default=None)  # (N, K) float32, K = 0 before classification
    track_id: np.ndarray = field(default=None)  # (N,) int64, NO_TRACK when untracked

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        for name, (dtype, tail, default) in _FIELDS.items():
            value = getattr(self, name)
            if value is None:
                value = np.full((n, *tail), default, dtype)
            elif not (
                isinstance(value, np.ndarray) and value.dtype == dtype and not value.flags.writeable
            ):
                # Read-only arrays of the right type come from another batch and are shared as they
                # are; anything else is copied so that no caller can change a batch afterwards.
                value = np.array(value, dtype=dtype, copy=True)
            value.setflags(write=False)
            object.__setattr__(self, name, value)
            expected = (n, *tail) if name != "probabilities" else (n, value.shape[-1])
            if value.ndim != len(expected) or value.shape != expected:
                raise ValueError(f"Detections.{name} has shape {value.shape}, not {expected}")

    @classmethod
    def empty(cls) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros((0, MNIST_SIZE, MNIST_SIZE), np.uint8))

    def __len__(self) -> int:
        return len(self.xyxy)

    def __getitem__(self, index) -> "Detections":
        """A sub-batch: a boolean mask, an index array or a slice."""
        if isinstance(index, int | np.integer):
            index = [index]
        return Detections(**{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def replace(self, **changes) -> "Detections":
        return replace(self, **changes)

    @property
    def xywh(self) -> np.ndarray:
        """Top-left corner, width, height."""
        x0, y0, x1, y1 = self.xyxy.T
        return np.stack([x0, y0, x1 - x0, y1 - y0], axis=1)

    @staticmethod
    def concatenate(batches: list["Detections"]) -> "Detections":
        batches = [b for b in batches if len(b)]
        if not batches:
            return Detections.empty()
        return Detections(
            **{
                f.name: np.concatenate([getattr(b, f.name) for b in batches])
                for f in fields(Detections)
            }
        )


def _intersection(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairwise intersection areas of (N,4) and (M,4) xyxy boxes, and each side's areas."""
    a, b = a.astype(np.float32)[:, None, :], b.astype(np.float32)[None, :, :]
    w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return w * h, area_a, area_b


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of (N,4) and (M,4) xyxy boxes: (N, M)."""
    inter, area_a, area_b = _intersection(a, b)
    return inter / np.maximum(area_a + area_b - inter, 1e-6)


def box_containment(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise fraction of each box of `a` that lies inside each box of `b`: (N, M)."""
    inter, area_a, _ = _intersection(a, b)
    return inter / np.maximum(area_a, 1e-6)


def greedy_match(score: np.ndarray, minimum: float) -> list[tuple[int, int]]:
    """One-to-one (row, column) pairs by descending score, each pair's score above `minimum`."""
    pairs: list[tuple[int, int]] = []
    if score.size == 0:
        return pairs
    rows, cols = score.shape
    most = min(rows, cols)
    used_rows, used_cols = set(), set()
    flat_score = score.ravel()
    for flat in np.argsort(-flat_score, kind="stable"):
        if flat_score[flat] <= minimum or len(pairs) == most:
            break
        row, col = divmod(int(flat), cols)
        if row not in used_rows and col not in used_cols:
            pairs.append((row, col))
            used_rows.add(row)
            used_cols.add(col)
    return pairs
