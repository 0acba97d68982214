"""The benchmark on the shipped samples: the targets of the issues, asserted loosely (regressions
fail CI; the exact figures are in models/README.md and the closing notes)."""

import json

import pytest
from typer.testing import CliRunner

from recognizer.bench import bench, throughput
from recognizer.cli import app
from recognizer.pipeline import STAGES, RunOptions
from tests.conftest import ROOT, recognizer_cli

SAMPLES = ROOT / "samples"


def truth_of(name: str):
    return SAMPLES / name.replace(".mp4", ".truth.jsonl").replace(".png", ".truth.jsonl")


@pytest.mark.parametrize(
    ("name", "min_f1"),
    [("digits-640x480.mp4", 0.95), ("digits-1280x720.mp4", 0.93), ("still-1280x720.png", 0.9)],
)
def test_readings_on_the_samples(name, min_f1):
    report = bench(str(SAMPLES / name), RunOptions(), truth_of(name))
    assert report.accuracy.f1 >= min_f1, report.accuracy
    assert set(report.stage_ms) == set(STAGES)
    assert report.fps > 0 and report.first_frame_ms > 0
    if name.endswith(".png"):  # a still is read untracked: no label history, so no flicker
        assert report.flicker is None


@pytest.mark.parametrize(
    ("frames", "started", "first", "last", "fps"),
    [
        (91, 0.0, 0.5, 1.5, 90.0),  # the start-up before the first result is not counted
        (1, 0.0, 0.25, 0.25, 4.0),  # one image: from the start
        (0, 0.0, 0.0, 0.0, 0.0),
    ],
)
def test_throughput_counts_frames_after_the_first(frames, started, first, last, fps):
    assert throughput(frames, started, first, last) == pytest.approx(fps)


def test_tracking_keeps_labels_steady_under_camera_motion():
    report = bench(
        str(SAMPLES / "digits-640x480.mp4"), RunOptions(), truth_of("digits-640x480.mp4")
    )
    untracked = bench(
        str(SAMPLES / "digits-640x480.mp4"), RunOptions(track=False), truth_of("digits-640x480.mp4")
    )
    assert report.flicker is not None and report.flicker <= 0.01
    assert report.accuracy.recall >= untracked.accuracy.recall - 0.01


# Measured with the shipped model: 0 false digits in 60 frames (issue 4's target: 0.05 a frame).
# Other generated marks scenes give more (README); the previous model made 1.8 a frame here, which
# this fails.
MAX_FALSE_DIGITS_PER_FRAME = 0.2


def test_marks_that_are_not_digits_are_rarely_read_as_digits():
    name = "no-digits-640x480.mp4"
    report = bench(str(SAMPLES / name), RunOptions(), truth_of(name))
    assert report.accuracy.truths == 0
    assert report.accuracy.false_per_frame <= MAX_FALSE_DIGITS_PER_FRAME


def test_multi_digit_numbers_are_read_whole():
    name = "numbers-1280x720.mp4"
    report = bench(str(SAMPLES / name), RunOptions(), truth_of(name))
    assert report.accuracy.number_accuracy >= 0.7


def test_numbers_on_paper_tilted_30_degrees_are_read_along_their_slope():
    # Measured: F1 1.000, numbers read whole 0.968 (0.973 and 0.867 before wide marks of tilted
    # lines were also cut upright: "0840" had its 8 and 4 touching, read as one 4).
    name = "numbers-tilted-1280x720.mp4"
    report = bench(str(SAMPLES / name), RunOptions(), truth_of(name))
    assert report.accuracy.precision >= 0.95
    assert report.accuracy.f1 >= 0.99
    assert report.accuracy.number_accuracy >= 0.93


def test_bench_cli_prints_json_with_every_stage():
    result = CliRunner().invoke(app, ["bench", str(SAMPLES / "digits-640x480.mp4"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert set(report["stage_ms"]) == set(STAGES)
    assert report["frames"] == 90 and report["fps"] > 0 and report["f1"] >= 0.95
    assert report["first_frame_ms"] > 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json\n", "is not ground truth"),
        ('{"frame": 0}\n', "is not ground truth"),
        ('{"digits": [{"box": [1, 2], "digit": 3}]}\n', "is not ground truth"),
        (None, "cannot read ground truth"),
    ],
)
def test_bad_ground_truth_is_one_line_before_any_work(tmp_path, content, message):
    truth = tmp_path / "[bad].jsonl"  # brackets, which the console must not take for markup
    if content is not None:
        truth.write_text(content)
    result = recognizer_cli("bench", str(SAMPLES / "digits-640x480.mp4"), "--truth", str(truth))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "[bad].jsonl" in lines[0], result.stderr
