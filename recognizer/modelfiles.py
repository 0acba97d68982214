"""Where a trained model and the files beside it live, and the classes it predicts."""

from dataclasses import dataclass
from pathlib import Path

NOT_DIGIT = 10  # the class of everything that is not a digit (generated negatives)
MODEL_NAME = "digits"
PACKAGE_DIR = Path(__file__).resolve().parent
# The shipped model: in models/ of a source checkout (and of an editable install), or inside the
# package where a wheel installs it (pyproject.toml's package-dir).
MODELS_DIR = next(
    (
        folder
        for folder in (PACKAGE_DIR.parent / "models", PACKAGE_DIR / "models")
        if (folder / f"{MODEL_NAME}.onnx").is_file()
    ),
    PACKAGE_DIR.parent / "models",
)
DEFAULT_MODEL = MODELS_DIR / f"{MODEL_NAME}.onnx"
CLASSES = [str(d) for d in range(NOT_DIGIT)] + ["not-digit"]


@dataclass(frozen=True)
class ModelFiles:
    """Where a trained model and everything written next to it lives."""

    folder: Path

    def path(self, suffix: str) -> Path:
        return self.folder / f"{MODEL_NAME}{suffix}"

    @property
    def keras(self) -> Path:
        return self.path(".keras")

    @property
    def onnx(self) -> Path:
        return self.path(".onnx")

    @property
    def metadata(self) -> Path:
        return self.path(".json")

    @property
    def curve(self) -> Path:
        return self.path("-curve.png")

    @property
    def checkpoint(self) -> Path:
        return self.path(".ckpt.keras")

    @property
    def checkpoint_state(self) -> Path:
        return self.path(".ckpt.json")
