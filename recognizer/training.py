"""Train the digit CNN on MNIST, in reading order: setup, data, model, train, evaluate, export.

- Data: MNIST (see `data.py`), the last 5,000 training images held out for validation.
- Every epoch sees freshly augmented digits (`augment.py`: rotation, scale, shift, stroke width,
  blur, noise, contrast) plus 10% generated non-digits (`negatives.py`), class 10; the last quarter
  of the epochs augments half as often, to settle on clean digits.
- Model: a small CNN (about 4.6 M multiply-adds a crop, so a frame's crops classify in about a
  millisecond), pixel scaling inside the model so training and inference cannot disagree.
- Adam with a cosine learning-rate decay; a checkpoint after every epoch (`--resume` continues it).
- The files in the output folder are replaced only at the end of a successful run, each written to
  a temporary file first and then renamed: the Keras model, its ONNX export (what `recognizer run`
  loads), a metadata JSON and a training-curve PNG.

Defaults reach about 99.6% on the MNIST test set; see models/README.md for the measured run.
TensorFlow is imported only inside the functions here, never by the recognizer's run path.
"""

import datetime
import json
import math
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from recognizer.augment import TRAIN_P, augment, camera_views, perturb
from recognizer.data import Mnist, load_mnist
from recognizer.errors import Interrupted, ModelError, OutputError
from recognizer.modelfiles import CLASSES, MODEL_NAME, MODELS_DIR, NOT_DIGIT, ModelFiles
from recognizer.native import import_keras
from recognizer.negatives import make_negatives
from recognizer.preprocessing import INPUT_SCALE, MNIST_BOX, MNIST_SIZE

VALIDATION_SIZE = 5000
NEGATIVE_FRACTION = 0.1
CAMERA_SHARE = 0.3  # digits seen as `recognizer run` sees them (augment.camera_view)
LIGHT_AUGMENTATION_FROM = 0.75  # of the epochs


@dataclass(frozen=True)
class TrainConfig:
    data: Path | None = None
    output: Path = MODELS_DIR
    epochs: int = 28
    batch_size: int = 128
    seed: int = 0
    learning_rate: float = 2e-3
    resume: bool = False
    limit: int | None = None  # train on the first N training images only (tests, quick runs)


@dataclass
class TrainResult:
    files: ModelFiles
    test_accuracy: float
    perturbed_accuracy: float
    seconds: float
    epochs: int
    history: dict = field(default_factory=dict)


class Reporter(Protocol):
    """What the CLI's progress display implements; every method is optional in spirit."""

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None: ...
    def batch_end(self, step: int, logs: dict) -> None: ...
    def epoch_end(self, epoch: int, logs: dict) -> None: ...


class SilentReporter:
    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        pass

    def batch_end(self, step: int, logs: dict) -> None:
        pass

    def epoch_end(self, epoch: int, logs: dict) -> None:
        pass


# --- setup -------------------------------------------------------------------------------------


def check_output_folder(folder: Path) -> None:
    """Fail before training, not after, when the output folder cannot be written."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"output path is not a folder: {folder}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".{MODEL_NAME}.write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise OutputError(f"cannot write to output folder {folder} ({exc.strerror})") from None


# --- data --------------------------------------------------------------------------------------


def split_data(mnist: Mnist, limit: int | None) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_val, y_val): the validation split comes off the training images."""
    x, y = mnist.x_train, mnist.y_train
    if limit is not None:
        x, y = x[:limit], y[:limit]
    n_val = min(VALIDATION_SIZE, len(x) // 10)
    return x[n_val:], y[n_val:], x[:n_val], y[:n_val]


def augmentation_for(epoch: int, epochs: int) -> dict:
    """Full augmentation, then half as often for the last epochs to settle on clean digits."""
    if epoch < LIGHT_AUGMENTATION_FROM * epochs:
        return TRAIN_P
    return {name: p / 2 for name, p in TRAIN_P.items()}


def epoch_data(
    x: np.ndarray, y: np.ndarray, rng: np.random.Generator, augmentation: dict = TRAIN_P
) -> tuple[np.ndarray, ...]:
    """One epoch: every digit freshly augmented, plus generated non-digits, shuffled."""
    negatives = make_negatives(max(1, int(len(x) * NEGATIVE_FRACTION)), rng)
    digits = camera_views(augment(x, rng, augmentation), rng, CAMERA_SHARE)
    images = np.concatenate([digits, negatives])
    labels = np.concatenate([y, np.full(len(negatives), NOT_DIGIT, y.dtype)])
    order = rng.permutation(len(images))
    return images[order][..., None], labels[order]


# --- model -------------------------------------------------------------------------------------


def make_model(num_classes: int = len(CLASSES), widths: tuple[int, int, int] = (24, 48, 96)):
    """A small, fast CNN: three conv-BN-ReLU-pool stages, then a 128-unit dense layer."""
    keras = import_keras()
    layers = keras.layers

    def conv_block(x, filters, kernel):
        x = layers.Conv2D(filters, kernel, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        return layers.MaxPooling2D()(x)

    inputs = keras.Input((MNIST_SIZE, MNIST_SIZE, 1), name="pixels")
    x = layers.Rescaling(INPUT_SCALE)(inputs)
    x = conv_block(x, widths[0], 5)
    x = conv_block(x, widths[1], 3)
    x = conv_block(x, widths[2], 3)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.4)(x)
    x = layers.Dense(128, use_bias=False)(x)
    x = layers.BatchNormalization()(x)
    x = layers.ReLU()(x)
    x = layers.Dropout(0.4)(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits")


def compile_model(model, learning_rate: float) -> None:
    keras = import_keras()

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def cosine_rate(base: float, epoch: int, epochs: int) -> float:
    return 1e-5 + (base - 1e-5) * 0.5 * (1 + math.cos(math.pi * epoch / max(epochs, 1)))


# --- train -------------------------------------------------------------------------------------


def keras_callback(reporter: Reporter, stop: threading.Event):
    """Reports each batch, and ends the epoch early once `stop` is set (Ctrl-C)."""
    keras = import_keras()

    class ReporterCallback(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            reporter.batch_end(batch + 1, dict(logs or {}))
            if stop.is_set():
                self.model.stop_training = True

    return ReporterCallback()


def temporary(path: Path) -> Path:
    """Where `path` is written before being renamed into place (same folder: atomic rename)."""
    return path.with_name(f".tmp-{path.name}")


def atomic_save_keras(model, path: Path) -> None:
    model.save(temporary(path))
    os.replace(temporary(path), path)


def load_checkpoint(files: ModelFiles):
    keras = import_keras()

    if not files.checkpoint.exists() or not files.checkpoint_state.exists():
        raise ModelError(f"--resume: no checkpoint at {files.checkpoint}; train without --resume")
    state = json.loads(files.checkpoint_state.read_text())
    return keras.models.load_model(files.checkpoint), state


def train(
    config: TrainConfig, reporter: Reporter | None = None, stop: threading.Event | None = None
) -> TrainResult:
    """Train, evaluate and export; the output folder changes only at the very end.

    Setting `stop` (the CLI sets it on Ctrl-C) ends training after the current batch, keeping
    the checkpoint of the last whole epoch; a KeyboardInterrupt does the same at once. A flag
    is checked rather than the interrupt relied on alone: raised inside TensorFlow's or Keras's
    own code (a `__del__`), a KeyboardInterrupt can be swallowed, and training ran on to the end.
    """
    reporter = reporter or SilentReporter()
    stop = stop or threading.Event()
    files = ModelFiles(Path(config.output))
    check_output_folder(files.folder)
    mnist = load_mnist(config.data)  # every data check happens here, before any training
    keras = import_keras()

    keras.utils.set_random_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    x_train, y_train, x_val, y_val = split_data(mnist, config.limit)

    if config.resume:
        model, state = load_checkpoint(files)
        rng = np.random.default_rng([config.seed, state["epoch"]])
    else:
        model = make_model()
        compile_model(model, config.learning_rate)
        state = {"epoch": 0, "history": {}, "seconds": 0.0}
    history: dict[str, list] = state["history"]
    started = time.monotonic() - state["seconds"]

    callback = keras_callback(reporter, stop)
    steps = math.ceil(len(x_train) * (1 + NEGATIVE_FRACTION) / config.batch_size)
    epoch = state["epoch"]
    try:
        for epoch in range(state["epoch"], config.epochs):
            if stop.is_set():  # before the epoch's augmentation, which takes seconds
                raise KeyboardInterrupt
            rate = cosine_rate(config.learning_rate, epoch, config.epochs)
            model.optimizer.learning_rate.assign(rate)
            augmentation = augmentation_for(epoch, config.epochs)
            images, labels = epoch_data(x_train, y_train, rng, augmentation)
            reporter.epoch_start(epoch, config.epochs, steps)
            fit = model.fit(
                images,
                labels,
                batch_size=config.batch_size,
                epochs=1,
                verbose=0,
                callbacks=[callback],
            )
            if stop.is_set():  # the epoch was cut short: it is not checkpointed
                raise KeyboardInterrupt
            val_loss, val_acc = model.evaluate(x_val[..., None], y_val, verbose=0, batch_size=512)
            logs = {
                "loss": fit.history["loss"][-1],
                "accuracy": fit.history["accuracy"][-1],
                "val_loss": float(val_loss),
                "val_accuracy": float(val_acc),
                "learning_rate": rate,
            }
            for key, value in logs.items():
                history.setdefault(key, []).append(float(value))
            atomic_save_keras(model, files.checkpoint)
            state = {
                "epoch": epoch + 1,
                "history": history,
                "seconds": time.monotonic() - started,
            }
            temporary(files.checkpoint_state).write_text(json.dumps(state))
            os.replace(temporary(files.checkpoint_state), files.checkpoint_state)
            reporter.epoch_end(epoch, logs)
    except KeyboardInterrupt:
        done = state["epoch"]
        where = f"checkpoint of epoch {done} at {files.checkpoint}" if done else "no checkpoint yet"
        raise Interrupted(
            f"training interrupted in epoch {epoch + 1}; {where}; the model in {files.folder} is "
            "unchanged; continue with --resume"
        ) from None
    seconds = time.monotonic() - started

    # --- evaluate ------------------------------------------------------------------------------
    test_acc = accuracy(model, mnist.x_test, mnist.y_test)
    perturbed_acc = accuracy(model, perturb(mnist.x_test), mnist.y_test)

    # --- export --------------------------------------------------------------------------------
    metadata = {
        "name": MODEL_NAME,
        "classes": CLASSES,
        "not_digit_class": NOT_DIGIT,
        "input": {
            "shape": [MNIST_SIZE, MNIST_SIZE, 1],
            "layout": "NHWC",
            "dtype": "float32",
            "range": "0-255, scaled by 1/255 inside the model",
            "ink": "white on black",
            "box": f"longest side fitted into {MNIST_BOX}x{MNIST_BOX}, aspect kept",
            "centering": f"centre of mass at the centre of {MNIST_SIZE}x{MNIST_SIZE}",
        },
        "test_accuracy": test_acc,
        "perturbed_accuracy": perturbed_acc,
        "validation_accuracy": history["val_accuracy"][-1],
        "training_seconds": round(seconds, 1),
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "seed": config.seed,
        "train_images": int(len(x_train)),
        "negative_fraction": NEGATIVE_FRACTION,
        "camera_share": CAMERA_SHARE,
        "parameters": int(model.count_params()),
        "data_source": mnist.source,
        "data_sha256": mnist.sha256,
        "keras_version": keras.__version__,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "history": history,
    }
    write_outputs(model, files, metadata)
    for leftover in (files.checkpoint, files.checkpoint_state):
        leftover.unlink(missing_ok=True)
    return TrainResult(files, test_acc, perturbed_acc, seconds, config.epochs, history)


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """Argmax over all 11 classes: a digit called "not a digit" counts as wrong."""
    probabilities = model.predict(x[..., None], batch_size=1024, verbose=0)
    return float(np.mean(probabilities.argmax(axis=1) == y))


def write_outputs(model, files: ModelFiles, metadata: dict) -> None:
    """Write everything to temporary files first, then rename each into place."""
    tmp = {key: temporary(getattr(files, key)) for key in ("keras", "onnx", "metadata", "curve")}
    model.save(tmp["keras"])
    export_onnx(model, tmp["onnx"])
    tmp["metadata"].write_text(json.dumps(metadata, indent=2) + "\n")
    plot_curve(metadata["history"], tmp["curve"])
    for key, path in tmp.items():
        os.replace(path, getattr(files, key))


def export_onnx(model, path: Path) -> None:
    """The ONNX file `recognizer run` loads with ONNX Runtime (no TensorFlow at run time)."""
    import contextlib
    import io
    import warnings

    import onnx

    # The exporter prints "Saved artifact at ..." and tf2onnx warns about numpy's np.object.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model.export(str(path), format="onnx", verbose=False)
    graph = onnx.load(str(path))
    if fold_input_scale(graph):
        onnx.save(graph, str(path))


def fold_input_scale(model) -> bool:
    """Fold the model's input scaling (`Rescaling`: x * s + 0) into the first convolution.

    The exporter writes the scaling as a Mul and an Add over the whole input batch ahead of the
    first Conv; ONNX Runtime runs them as two passes of their own (measured: 7% of a 10-crop
    call). With no offset, conv(s * x) is conv(x) with its weights times s (zero padding stays
    zero), so the same probabilities come out (to float rounding, below 1e-6 on MNIST's test
    set). Returns whether the graph had that shape and was changed; any other graph is left as
    it is.
    """
    from onnx import numpy_helper

    nodes = list(model.graph.node)
    constants = {i.name: i for i in model.graph.initializer}
    if len(nodes) < 4 or [n.op_type for n in nodes[:2]] != ["Mul", "Add"]:
        return False
    mul, add, reshape = nodes[:3]
    conv = next((n for n in nodes[3:] if n.op_type == "Conv"), None)
    scale, offset = constants.get(mul.input[1]), constants.get(add.input[1])
    if (
        mul.input[0] != model.graph.input[0].name
        or scale is None
        or offset is None
        or numpy_helper.to_array(scale).size != 1
        or numpy_helper.to_array(offset).any()
        or add.input[0] != mul.output[0]
        or reshape.op_type not in ("Reshape", "Transpose")
        or reshape.input[0] != add.output[0]
        or conv is None
        or conv.input[0] != reshape.output[0]
        or conv.input[1] not in constants
    ):
        return False
    weights = constants[conv.input[1]]
    factor = numpy_helper.to_array(scale).astype(np.float32).item()
    scaled = numpy_helper.to_array(weights) * np.float32(factor)
    weights.CopyFrom(numpy_helper.from_array(scaled.astype(np.float32), weights.name))
    reshape.input[0] = mul.input[0]
    model.graph.node.remove(mul)
    model.graph.node.remove(add)
    for name in (mul.input[1], add.input[1]):
        if not any(name in n.input for n in model.graph.node):
            model.graph.initializer.remove(constants[name])
    return True


def plot_curve(history: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, history["loss"], label="train (augmented)")
    left.plot(epochs, history["val_loss"], label="validation")
    left.set(title="loss", xlabel="epoch")
    left.legend()
    right.plot(epochs, history["accuracy"], label="train (augmented)")
    right.plot(epochs, history["val_accuracy"], label="validation")
    right.set(title="accuracy", xlabel="epoch")
    right.legend()
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
