"""The `recognizer` command: parse, call one library function, render.

Heavy imports (OpenCV, ONNX Runtime, TensorFlow) happen inside the commands, so `--help` is fast.
Library errors (`RecognizerError`) become one stderr line and exit code 2; Ctrl-C exits 130.
"""

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from recognizer.errors import Interrupted, RecognizerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Recognize handwritten digits in webcam video, video files and images.",
)
out = Console()
err = Console(stderr=True)

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


class OrientationChoice(StrEnum):
    """`--orientation`: orientation.ORIENTATIONS, or auto (not imported: it imports OpenCV)."""

    auto = "auto"
    as_is = "as-is"
    mirrored = "mirrored"
    upside_down = "upside-down"
    turned_left = "turned-left"
    turned_right = "turned-right"


DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="MNIST .npz in Keras's layout; default: $RECOGNIZER_MNIST, else download via Keras.",
        dir_okay=False,
    ),
]


@app.callback()
def main_options() -> None:
    """Recognize handwritten digits in webcam video, video files and images."""


def fail(exc: RecognizerError) -> typer.Exit:
    code = EXIT_INTERRUPTED if isinstance(exc, Interrupted) else EXIT_BAD_INPUT
    text = escape(str(exc))  # a path or a format may hold [brackets]
    message = f"[bold red]error:[/] {text}" if code == EXIT_BAD_INPUT else text
    err.print(message, highlight=False, soft_wrap=True, markup=True)
    return typer.Exit(code=code)


class TrainProgress:
    """Rich progress bar per epoch for `training.train`."""

    def __init__(self, progress) -> None:
        self.progress = progress
        self.task = None

    def epoch_start(self, epoch: int, epochs: int, steps: int) -> None:
        self.task = self.progress.add_task(f"epoch {epoch + 1}/{epochs}", total=steps, stats="")

    def batch_end(self, step: int, logs: dict) -> None:
        stats = f"loss {logs.get('loss', 0):.4f} acc {logs.get('accuracy', 0):.4f}"
        self.progress.update(self.task, completed=step, stats=stats)

    def epoch_end(self, epoch: int, logs: dict) -> None:
        stats = (
            f"loss {logs['loss']:.4f} acc {logs['accuracy']:.4f} "
            f"val_acc {logs['val_accuracy']:.4f} lr {logs['learning_rate']:.1e}"
        )
        self.progress.update(self.task, stats=stats)


@app.command()
def train(
    data: DataOption = None,
    epochs: Annotated[int, typer.Option(min=1, help="Training epochs.")] = 28,
    batch_size: Annotated[int, typer.Option(min=1, help="Images per training step.")] = 128,
    seed: Annotated[int, typer.Option(help="Random seed for weights, augmentation and order.")] = 0,
    output: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="Model folder; default: the shipped models/."),
    ] = None,
    resume: Annotated[
        bool, typer.Option(help="Continue from the checkpoint in the folder.")
    ] = False,
    limit: Annotated[
        int | None, typer.Option(min=100, help="Train on the first N images only (quick runs).")
    ] = None,
) -> None:
    """Train the digit model on MNIST and export it for `recognizer run`."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from recognizer import training

    config = training.TrainConfig(
        data=data,
        output=output or training.MODELS_DIR,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        resume=resume,
        limit=limit,
    )
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[stats]}"),
    )
    stop = stop_on_sigint()
    try:
        with Progress(*columns, console=err) as progress:
            result = training.train(config, TrainProgress(progress), stop)
    except RecognizerError as exc:
        raise fail(exc) from None
    table = Table(title="training summary")
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_row("MNIST test accuracy", f"{result.test_accuracy:.2%}")
    table.add_row("perturbed test accuracy", f"{result.perturbed_accuracy:.2%}")
    table.add_row("epochs", str(result.epochs))
    table.add_row("training time", f"{result.seconds / 60:.1f} min")
    table.add_row("model", str(result.files.onnx))
    out.print(table)


ModelOption = Annotated[
    Path | None,
    typer.Option(
        help="Exported model (.onnx); default: the shipped models/digits.onnx.", dir_okay=False
    ),
]
MinConfidenceOption = Annotated[
    float | None,
    typer.Option(min=0.0, max=1.0, help="Readings below this confidence are not reported."),
]


@app.command()
def evaluate(
    data: DataOption = None,
    model: Annotated[
        Path | None,
        typer.Option(
            help="Model (.onnx or .keras); default: the shipped models/digits.onnx.", dir_okay=False
        ),
    ] = None,
    perturbed: Annotated[
        bool, typer.Option(help="Rotated, shifted, scaled, thinned/thickened test set.")
    ] = False,
    report: Annotated[
        Path | None,
        typer.Option(file_okay=False, help="Folder for the PNGs; default: the model's."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Accuracy and per-class precision/recall on the MNIST test set, with confusion PNGs."""
    from rich.table import Table

    from recognizer.classifier import NOT_DIGIT_THRESHOLD
    from recognizer.evaluation import evaluate as run_evaluation

    try:
        result = run_evaluation(model, data, perturbed, report)
    except RecognizerError as exc:
        raise fail(exc) from None
    if as_json:
        out.print_json(json.dumps(result.as_dict()))
        return
    title = "perturbed MNIST test set" if perturbed else "MNIST test set"
    table = Table(title=f"{title}: accuracy {result.accuracy:.2%} on {result.n} digits")
    table.add_column("digit")
    table.add_column("precision", justify="right")
    table.add_column("recall", justify="right")
    for digit in range(10):
        table.add_row(str(digit), f"{result.precision[digit]:.2%}", f"{result.recall[digit]:.2%}")
    out.print(table)
    out.print(
        f"read as `recognizer run` reads it (not a digit only at p >= {NOT_DIGIT_THRESHOLD}): "
        f"accuracy {result.run_accuracy:.2%}",
        highlight=False,
    )
    out.print(f"confusion matrix: {result.confusion_png}", highlight=False)
    out.print(f"worst mistakes: {result.mistakes_png}", highlight=False)


def run_options(**values):
    from recognizer.pipeline import DEFAULT_MIN_CONFIDENCE, RunOptions

    if values.get("min_confidence") is None:
        values["min_confidence"] = DEFAULT_MIN_CONFIDENCE
    return RunOptions(**values)


def frame_size(value: str | None) -> tuple[int, int] | None:
    """A frame size written WxH ("1280x720"), as (width, height)."""
    if value is None:
        return None
    width, x, height = value.lower().partition("x")
    if not (x and width.isdigit() and height.isdigit() and int(width) > 0 and int(height) > 0):
        raise typer.BadParameter(f"{value!r} is not a size written WxH, such as 1280x720")
    return int(width), int(height)


def silence_stdout() -> None:
    """Point standard output at the null device: its reader has closed the pipe, and anything
    written there later (Python's own flush at exit too) would fail again."""
    import os
    import sys

    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, sys.stdout.fileno())
    os.close(null)


def stop_on_sigint():
    """First Ctrl-C: finish the current frame (or training batch) and stop cleanly; a second one
    stops at once."""
    import signal
    import threading

    stop = threading.Event()

    def handler(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    signal.signal(signal.SIGINT, handler)
    return stop


@app.command()
def run(
    sources: Annotated[
        list[str],
        typer.Argument(
            metavar="SOURCE",
            help="Camera index (0), video, image, folder or URL; or several images.",
        ),
    ],
    model: ModelOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Annotated video, image or image folder.")
    ] = None,
    jsonl: Annotated[
        Path | None,
        typer.Option(help="One JSON line of readings per frame; - for standard output."),
    ] = None,
    min_confidence: MinConfidenceOption = None,
    show_crops: Annotated[bool, typer.Option(help="Show the 28x28 model inputs.")] = False,
    display: Annotated[bool, typer.Option(help="Live window (when a display exists).")] = True,
    track: Annotated[bool, typer.Option(help="Track digits and fuse readings over time.")] = True,
    snapshots: Annotated[
        Path, typer.Option(file_okay=False, help="Folder for snapshots (key s).")
    ] = Path("."),
    orientation: Annotated[
        OrientationChoice,
        typer.Option(
            help="How frames are read: checked (auto), or all as they are, mirrored (a selfie "
            "camera), upside down (a webcam looking down at the desk) or turned a quarter left "
            "or right (a page on its side).",
        ),
    ] = "auto",
    camera_size: Annotated[
        str | None,
        typer.Option(
            callback=frame_size,
            metavar="WxH",
            help="Frame size to ask a camera for, e.g. 1280x720 (it gives the nearest it has).",
        ),
    ] = None,
) -> None:
    """Box and label every digit of a camera, video, image, folder or stream."""
    import contextlib

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from recognizer import display as live
    from recognizer.classifier import Classifier
    from recognizer.pipeline import run as run_pipeline
    from recognizer.sources import is_camera, open_source

    options = run_options(
        model=model,
        output=output,
        jsonl=jsonl,
        min_confidence=min_confidence,
        show_crops=show_crops,
        draw=display and live.has_display(),
        track=track,
        orientation=OrientationChoice(orientation).value,
    )
    stop = stop_on_sigint()
    frames = digits = 0
    opened = None
    fps = 0.0
    window = None
    quit_by_key = closed = False
    try:
        if camera_size is not None and not (len(sources) == 1 and is_camera(sources[0])):
            raise RecognizerError("--camera-size is for a camera (an index such as 0)")
        classifier = Classifier(options.model, threads=options.threads)  # fail before any output
        opened = open_source(sources, camera_size)
        info = opened.info
        if camera_size is not None and info.resolution_wh != camera_size:
            width, height = info.resolution_wh
            err.print(f"camera {info.name} gives {width}x{height}", highlight=False)
        if not (options.draw or output or jsonl):
            err.print("no display, --output or --jsonl: readings are only counted", highlight=False)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[fps]:.0f} fps"),
            TimeRemainingColumn(),
        )
        show_progress = not info.is_live and info.kind != "image"
        pace = live.Pace() if info.kind in ("video", "folder") else None  # shown at its speed
        with (
            Progress(*columns, console=err, disable=not show_progress, transient=False) as progress,
            contextlib.closing(run_pipeline(opened, options, stop, classifier)) as results,
        ):
            task = progress.add_task(Path(info.name).name, total=info.total_frames, fps=0.0)
            for result in results:
                frames += 1
                digits += len(result.detections)
                fps = result.fps
                progress.update(task, advance=1, fps=fps)
                if options.draw:
                    window = window or live.Window(stop=stop)
                    hold = info.kind == "image"  # an image stays on screen until quit
                    wait_ms = 0 if hold else pace.wait_ms(result.frame.time_s) if pace else 1
                    action = window.show(result.annotated, wait_ms)
                    while action == "snapshot":
                        save_snapshot(snapshots, result, info.name)
                        action = window.show(result.annotated, wait_ms=0) if hold else None
                    if action == "quit":
                        quit_by_key = True
                        break
    except RecognizerError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:
        stop.set()
    except BrokenPipeError:  # the program reading `--jsonl -` stopped reading (`| head`)
        silence_stdout()
        closed = True
    finally:
        if window is not None:
            window.close()
    summary = f"{frames} frames, {digits} digits, {fps:.0f} fps"
    if opened is not None and opened.skipped:
        summary += f", {opened.skipped} unreadable frames skipped"
    if closed:
        summary += ", stopped when standard output was closed"
    elif opened is not None and opened.info.is_live and not (stop.is_set() or quit_by_key):
        summary += f", stopped when the {opened.info.kind} stopped sending frames"  # unplugged
    err.print(summary, highlight=False)
    if stop.is_set() and not quit_by_key:
        err.print("interrupted: outputs are complete up to the last frame", highlight=False)
        raise typer.Exit(code=EXIT_INTERRUPTED)


def save_snapshot(folder: Path, result, source_name: str) -> None:
    """The annotated frame as PNG and its readings as JSON, side by side."""
    import cv2

    from recognizer.sinks import frame_record

    folder.mkdir(parents=True, exist_ok=True)
    stem = folder / f"snapshot-{result.frame.index:06d}"
    cv2.imwrite(str(stem.with_suffix(".png")), result.annotated)
    record = frame_record(result.frame, source_name, result.detections, result.numbers)
    stem.with_suffix(".json").write_text(json.dumps(record, indent=2) + "\n")
    err.print(f"snapshot: {stem}.png", highlight=False)


@app.command()
def bench(
    source: Annotated[str, typer.Argument(help="Video, image or folder to measure on.")],
    truth: Annotated[
        Path | None,
        typer.Option(help="Ground-truth JSONL; default: <source>.truth.jsonl when it exists."),
    ] = None,
    model: ModelOption = None,
    min_confidence: MinConfidenceOption = None,
    track: Annotated[bool, typer.Option(help="Track digits and fuse readings over time.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Per-stage median times, end-to-end fps and accuracy against ground truth."""
    from rich.table import Table

    from recognizer.bench import bench as run_bench

    if truth is None:
        guess = Path(source).with_name(Path(source).stem + ".truth.jsonl")
        truth = guess if guess.is_file() else None
    options = run_options(model=model, min_confidence=min_confidence, track=track)
    try:
        report = run_bench(source, options, truth)
    except RecognizerError as exc:
        raise fail(exc) from None
    acc = report.accuracy
    summary = {
        "source": report.source,
        "frames": report.frames,
        "resolution": list(report.resolution_wh),
        "stage_ms": {k: round(v, 3) for k, v in report.stage_ms.items()},
        "fps": round(report.fps, 1),
        "first_frame_ms": round(report.first_frame_ms, 1),
        "digits_per_frame": round(report.digits_per_frame, 2),
        "flicker": None if report.flicker is None else round(report.flicker, 5),
    }
    if acc is not None:
        summary.update(
            precision=round(acc.precision, 4),
            recall=round(acc.recall, 4),
            f1=round(acc.f1, 4),
            false_per_frame=round(acc.false_per_frame, 4),
            number_accuracy=acc.number_accuracy,
        )
    if as_json:
        out.print_json(json.dumps(summary))
        return
    table = Table(
        title=f"{Path(report.source).name}: {report.frames} frames at "
        f"{report.resolution_wh[0]}x{report.resolution_wh[1]}"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for stage, ms in report.stage_ms.items():
        where = " (ahead, in parallel)" if stage == "detect" else ""
        table.add_row(f"{stage}{where} (median)", f"{ms:.2f} ms")
    table.add_row("end-to-end, headless + JSONL", f"{report.fps:.0f} fps")
    table.add_row("first result after", f"{report.first_frame_ms:.0f} ms")
    table.add_row("digits per frame", f"{report.digits_per_frame:.1f}")
    if report.flicker is not None:
        table.add_row("label flicker", f"{report.flicker:.2%}")
    if acc is not None:
        table.add_row("precision", f"{acc.precision:.3f}")
        table.add_row("recall", f"{acc.recall:.3f}")
        table.add_row("F1", f"{acc.f1:.3f}")
        table.add_row("false digits per frame", f"{acc.false_per_frame:.3f}")
        if acc.number_accuracy is not None:
            table.add_row("numbers read whole", f"{acc.number_accuracy:.1%}")
    out.print(table)


@app.command("make-samples")
def make_samples(
    data: DataOption = None,
    folder: Annotated[Path, typer.Option(file_okay=False, help="Where to write.")] = Path(
        "samples"
    ),
) -> None:
    """Write the synthetic sample videos and stills, with ground truth, from MNIST test digits."""
    from recognizer.data import load_mnist
    from recognizer.samples import write_default_samples

    try:
        mnist = load_mnist(data)
        written = write_default_samples(mnist.x_test, mnist.y_test, folder)
    except RecognizerError as exc:
        raise fail(exc) from None
    for path in written:
        out.print(str(path), highlight=False)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
