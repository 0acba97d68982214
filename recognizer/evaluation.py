"""Evaluate a model on the MNIST test set: accuracy, per-class precision and recall, and pictures.

The model is the exported ONNX file that `recognizer run` uses (so what is measured is what runs),
or a Keras `.keras` file. `perturbed=True` evaluates on the fixed-seed perturbed test set
(`augment.perturb`: rotation, shift, scale, thinner and thicker strokes). Writes a confusion-matrix
PNG and a PNG grid of the worst misclassified digits (true and predicted labels on each).

`accuracy` is the plain argmax over all classes (a digit called "not a digit" is wrong, however
slightly). `run_accuracy` reads the same probabilities the way `recognizer run` does
(`classifier.read`: "not a digit" only at NOT_DIGIT_THRESHOLD or more), which is what a user gets.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognizer.augment import perturb
from recognizer.classifier import read
from recognizer.data import load_mnist
from recognizer.errors import ModelError, OutputError
from recognizer.modelfiles import CLASSES, DEFAULT_MODEL

WORST_SHOWN = 64


@dataclass
class Evaluation:
    model: str
    n: int
    accuracy: float
    run_accuracy: float
    precision: list[float]  # per class 0-9
    recall: list[float]
    confusion: np.ndarray  # (10, K) true x predicted
    perturbed: bool
    confusion_png: Path | None = None
    mistakes_png: Path | None = None

    def as_dict(self) -> dict:
        return {
            "model": self.model,
            "n": self.n,
            "accuracy": self.accuracy,
            "run_accuracy": self.run_accuracy,
            "perturbed": self.perturbed,
            "precision": self.precision,
            "recall": self.recall,
            "confusion_png": str(self.confusion_png) if self.confusion_png else None,
            "mistakes_png": str(self.mistakes_png) if self.mistakes_png else None,
        }


def predict(model_path: Path, images: np.ndarray) -> np.ndarray:
    """Class probabilities (N, K) from an .onnx (ONNX Runtime) or .keras (Keras) model."""
    if model_path.suffix == ".keras":
        if not model_path.is_file():
            raise ModelError(f"model not found: {model_path}")
        from recognizer.native import import_keras

        keras = import_keras()

        model = keras.models.load_model(model_path)
        return model.predict(images[..., None], batch_size=1024, verbose=0)
    from recognizer.classifier import Classifier

    classifier = Classifier(model_path, threads=2)
    return np.concatenate(
        [classifier.probabilities(images[i : i + 1000]) for i in range(0, len(images), 1000)]
    )


def evaluate(
    model: Path | None = None,
    data: Path | None = None,
    perturbed: bool = False,
    report_folder: Path | None = None,
) -> Evaluation:
    model_path = Path(model) if model else DEFAULT_MODEL
    mnist = load_mnist(data)
    images = perturb(mnist.x_test) if perturbed else mnist.x_test
    labels = mnist.y_test.astype(np.int64)
    probabilities = predict(model_path, images)
    predicted = probabilities.argmax(axis=1)
    k = probabilities.shape[1]
    confusion = np.zeros((10, k), np.int64)
    np.add.at(confusion, (labels, predicted), 1)
    true_positive = confusion[np.arange(10), np.arange(10)]
    predicted_as = confusion.sum(axis=0)[:10]
    result = Evaluation(
        model=str(model_path),
        n=len(labels),
        accuracy=float(np.mean(predicted == labels)),
        run_accuracy=float(np.mean(read(probabilities)[0] == labels)),
        precision=[float(v) for v in true_positive / np.maximum(predicted_as, 1)],
        recall=[float(v) for v in true_positive / np.maximum(confusion.sum(axis=1), 1)],
        confusion=confusion,
        perturbed=perturbed,
    )
    folder = Path(report_folder) if report_folder else model_path.parent
    suffix = "-perturbed" if perturbed else ""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        result.confusion_png = folder / f"{model_path.stem}-confusion{suffix}.png"
        result.mistakes_png = folder / f"{model_path.stem}-mistakes{suffix}.png"
        plot_confusion(confusion, result.confusion_png, result.accuracy)
        plot_mistakes(images, labels, probabilities, result.mistakes_png)
    except OSError as exc:
        raise OutputError(
            f"cannot write evaluation pictures to {folder} ({exc.strerror})"
        ) from None
    return result


def plot_confusion(confusion: np.ndarray, path: Path, accuracy: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 6))
    shown = np.log1p(confusion)
    ax.imshow(shown, cmap="Blues")
    for (i, j), value in np.ndenumerate(confusion):
        if value:
            color = "white" if shown[i, j] > shown.max() * 0.6 else "black"
            ax.text(j, i, str(value), ha="center", va="center", fontsize=7, color=color)
    ax.set_xticks(range(confusion.shape[1]), CLASSES[: confusion.shape[1]], rotation=45)
    ax.set_yticks(range(10), CLASSES[:10])
    ax.set(xlabel="predicted", ylabel="true", title=f"confusion matrix, accuracy {accuracy:.2%}")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def plot_mistakes(images, labels, probabilities, path: Path) -> None:
    """The most confidently wrong test digits, each titled true -> predicted (confidence)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    predicted = probabilities.argmax(axis=1)
    wrong = np.nonzero(predicted != labels)[0]
    wrong = wrong[np.argsort(-probabilities[wrong, predicted[wrong]])][:WORST_SHOWN]
    cols = 8
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.3, rows * 1.5))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, i in zip(np.ravel(axes), wrong, strict=False):
        ax.imshow(images[i], cmap="gray", vmin=0, vmax=255)
        name = CLASSES[predicted[i]] if predicted[i] < len(CLASSES) else str(predicted[i])
        ax.set_title(f"{labels[i]}→{name} {probabilities[i, predicted[i]]:.0%}", fontsize=8)
    fig.suptitle(f"{len(wrong)} most confident mistakes" if len(wrong) else "no mistakes")
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
