"""The live window under a virtual X display (Xvfb): it shows the boxes, and its keys work."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognizer.drawing import HIGH
from tests.conftest import ROOT

TOOLS = ("Xvfb", "xdotool", "import")


@pytest.fixture
def virtual_display():
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        pytest.fail(f"install {', '.join(missing)} (apt-get install xvfb xdotool imagemagick)")
    # -displayfd: Xvfb picks a free display number and writes it to our pipe once it is ready.
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", "1", "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        stdout=subprocess.PIPE,
        text=True,
    )
    number = server.stdout.readline().strip()
    assert server.poll() is None and number.isdigit(), "Xvfb did not start"
    yield {**os.environ, "DISPLAY": f":{number}"}
    server.terminate()
    server.wait(timeout=10)


def wait_for_window(env: dict, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = subprocess.run(
            ["xdotool", "search", "--name", "recognizer"], env=env, capture_output=True, text=True
        )
        if found.stdout.strip():
            return found.stdout.split()[0]
        time.sleep(0.2)
    raise AssertionError("the live window never appeared")


STILL = ROOT / "samples" / "still-1280x720.png"


def start_run(env: dict, *args: str, source: Path = STILL) -> subprocess.Popen:
    """`recognizer run SOURCE ARGS...` on the virtual display, as a real process."""
    return subprocess.Popen(
        [sys.executable, "-m", "recognizer.cli", "run", str(source), *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_live_window_shows_boxes_and_keys_work(virtual_display, tmp_path):
    process = start_run(virtual_display, "--snapshots", str(tmp_path))
    try:
        window = wait_for_window(virtual_display)
        time.sleep(1.0)  # let it paint
        shot = tmp_path / "screen.png"
        subprocess.run(["import", "-window", "root", str(shot)], env=virtual_display, check=True)
        screen = cv2.imread(str(shot))
        box_pixels = np.all(np.abs(screen.astype(int) - HIGH) <= 10, axis=2).sum()
        assert box_pixels > 2000, f"no drawn boxes on screen ({box_pixels} box-colour pixels)"
        subprocess.run(["xdotool", "windowactivate", "--sync", window], env=virtual_display)
        subprocess.run(["xdotool", "key", "--window", window, "s"], env=virtual_display, check=True)
        deadline = time.monotonic() + 10
        while not list(tmp_path.glob("snapshot-*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        subprocess.run(["xdotool", "key", "--window", window, "q"], env=virtual_display, check=True)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert list(tmp_path.glob("snapshot-*.png")), "key s saved no snapshot"
    assert Path(str(shot)).stat().st_size > 0


@pytest.mark.parametrize("keys", [[], ["space"]], ids=["image held", "image paused"])
def test_ctrl_c_closes_a_window_that_waits_for_a_key(virtual_display, keys):
    process = start_run(virtual_display)
    try:
        window = wait_for_window(virtual_display)
        time.sleep(0.5)
        for key in keys:
            subprocess.run(["xdotool", "key", "--window", window, key], env=virtual_display)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr


def test_a_video_plays_in_the_window_at_its_own_speed(virtual_display):
    # Processed as fast as it can be, the 3 s sample would flash by in under a second. Each
    # JSONL line goes out as its frame is processed, before the frame is shown.
    video = ROOT / "samples" / "digits-640x480.mp4"
    process = start_run(virtual_display, "--jsonl", "-", source=video)
    arrived, times = [], []
    try:
        for line in process.stdout:
            arrived.append(time.monotonic())
            times.append(json.loads(line)["time"])
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert len(times) == 90
    played, filmed = arrived[-1] - arrived[0], times[-1] - times[0]
    assert played == pytest.approx(filmed, rel=0.2), (played, filmed)
