"""The helper process that detects a video file's frames ahead of the loop (`offload`)."""

import dataclasses
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from recognizer.core import Frame
from recognizer.offload import DEPTH, Offloaded, RemoteTraceback, available
from recognizer.pipeline import RunOptions, run
from tests.test_run_cli import board_then_paper, write_filmed

pytestmark = pytest.mark.skipif(not available(), reason="a helper process is forked on Linux only")

SHAPE = (48, 64, 3)
FRAME_BYTES = 48 * 64 * 3


def frames(count: int, shape=SHAPE):
    rng = np.random.default_rng(0)
    for index in range(count):
        yield Frame(index, index / 30, rng.integers(0, 256, shape, np.uint8))


def summary(frame: Frame) -> dict:
    green = frame.bgr[..., 1].copy()
    return {"pid": os.getpid(), "index": frame.index, "green": green, "frame": frame}


def test_results_come_back_in_order_from_another_process():
    sent = list(frames(20))
    with Offloaded(iter(sent), summary, FRAME_BYTES) as offloaded:
        got = list(offloaded)
    assert [result["index"] for result in got] == list(range(20))
    assert all(result["pid"] != os.getpid() for result in got)
    for result, frame in zip(got, sent, strict=True):
        np.testing.assert_array_equal(result["green"], frame.bgr[..., 1])
        assert result["frame"] is frame  # not sent back: the loop's own frame


def big_result(frame: Frame) -> np.ndarray:
    return np.full((1100, 1000), frame.index, np.uint8)  # more than a slot's way back


def test_frames_and_results_larger_than_a_slot_go_whole_through_the_pipe():
    sent = list(frames(6, shape=(100, 120, 3)))
    with Offloaded(iter(sent), big_result, frame_bytes=100) as offloaded:
        got = list(offloaded)
    assert [int(result[0, 0]) for result in got] == list(range(6))
    assert all(result.shape == (1100, 1000) and (result == result[0, 0]).all() for result in got)


def fails_at_3(frame: Frame) -> int:
    if frame.index == 3:
        raise ValueError("bad frame 3")
    return frame.index


def test_an_error_in_the_helper_is_raised_in_the_loop_after_the_results_before_it():
    got = []
    with (
        pytest.raises(ValueError, match="bad frame 3") as raised,
        Offloaded(frames(10), fails_at_3, FRAME_BYTES) as offloaded,
    ):
        for result in offloaded:
            got.append(result)
    assert got == [0, 1, 2]
    assert isinstance(raised.value.__cause__, RemoteTraceback)
    assert "fails_at_3" in str(raised.value.__cause__)


def dies_at_2(frame: Frame) -> int:
    if frame.index == 2:
        os._exit(3)
    return frame.index


def test_a_helper_that_dies_is_reported_with_its_exit_code():
    with (
        pytest.raises(RuntimeError, match="detection process stopped .exit code 3"),
        Offloaded(frames(10), dies_at_2, FRAME_BYTES) as offloaded,
    ):
        list(offloaded)


def stuck_at_1(frame: Frame) -> int:
    if frame.index == 1:
        threading.Event().wait()  # as on a lock that nobody will release
    return os.getpid()


def test_a_stuck_helper_is_reported_and_ended():
    offloaded = Offloaded(frames(10), stuck_at_1, FRAME_BYTES, answer_s=0.5)
    got = []
    with pytest.raises(RuntimeError, match="did not answer in 0.5 s"), offloaded:
        for result in offloaded:
            got.append(result)
    assert len(got) == 1
    with pytest.raises(ProcessLookupError):
        os.kill(got[0], 0)  # killed and reaped


@dataclasses.dataclass
class Decision:
    value: int = -1


def test_the_loops_decisions_reach_the_helper_with_each_frame():
    decision = Decision()

    def seen(frame: Frame) -> int:
        return decision.value  # the helper's copy, set from the loop's with each frame

    with Offloaded(frames(30), seen, FRAME_BYTES, follow=[(decision, "value")]) as offloaded:
        for index, value in enumerate(offloaded):
            # Frame `index` was sent before the loop had read result index - DEPTH - 1.
            assert value == max(-1, index - DEPTH - 1)
            decision.value = index


def pid(frame: Frame) -> int:
    return os.getpid()


def test_leaving_early_ends_the_helper():
    offloaded = Offloaded(frames(1000), pid, FRAME_BYTES)
    helpers = []
    for helper in offloaded:
        helpers.append(helper)
        if len(helpers) == 5:
            break
    offloaded.close()
    assert helper not in [child.pid for child in multiprocessing.active_children()]
    with pytest.raises(ProcessLookupError):
        os.kill(helper, 0)


def test_the_helper_ignores_ctrl_c_and_the_loop_decides_when_to_stop():
    # Ctrl-C in a terminal reaches every process of the group; the loop stops cleanly itself.
    with Offloaded(frames(50), pid, FRAME_BYTES) as offloaded:
        results = iter(offloaded)
        helper = next(results)
        os.kill(helper, signal.SIGINT)
        assert len(list(results)) == 49


def test_a_video_reads_the_same_on_a_helper_process_as_on_a_thread(mnist, tmp_path):
    # A board then a sheet of paper: the polarity the loop decides is followed by detection.
    rng = np.random.default_rng(1)
    video = tmp_path / "board.mp4"
    write_filmed(video, board_then_paper(mnist, rng), rng, frames=40)
    logs = []
    for detect_process in (True, False):
        log = tmp_path / f"process-{detect_process}.jsonl"
        options = RunOptions(jsonl=log, detect_process=detect_process)
        assert sum(1 for _ in run(str(video), options)) == 80
        lines = [json.loads(line) for line in log.read_text().splitlines()]
        logs.append([(line["digits"], line["numbers"]) for line in lines])
    assert logs[0] == logs[1]
    assert sum(len(digits) for digits, _ in logs[0]) >= 0.8 * 80 * 8


HELPER_OF_A_KILLED_LOOP = """
import sys, time
sys.path.insert(0, {tests!r})
from test_offload import frames, pid, FRAME_BYTES
from recognizer.offload import Offloaded
results = iter(Offloaded(frames(1000), pid, FRAME_BYTES))
print(next(results), flush=True)
time.sleep(60)
"""


def test_the_helper_ends_when_the_loops_process_is_killed():
    # A loop killed outright (SIGKILL, the OOM killer) closes nothing; its end of the pipe goes
    # with it, and the helper, left waiting for frames, must not linger.
    script = HELPER_OF_A_KILLED_LOOP.format(tests=str(Path(__file__).parent))
    loop = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    helper = int(loop.stdout.readline())
    loop.kill()
    loop.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not running(helper):
            return
        time.sleep(0.05)
    os.kill(helper, signal.SIGKILL)
    pytest.fail("the helper outlived the loop's process")


def running(pid: int) -> bool:
    """Whether a process runs (an ended one not yet reaped by its new parent is a zombie, Z)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def test_a_video_is_read_on_a_thread_where_no_helper_can_be_started(
    scene_video, tmp_path, monkeypatch
):
    # A container's limit on processes makes fork fail (EAGAIN): the run goes on, detecting on
    # a thread, and reads what it reads either way.
    def no_fork(self):
        raise BlockingIOError(11, "Resource temporarily unavailable")

    video, _ = scene_video
    readings = []
    for refuse in (False, True):
        if refuse:
            monkeypatch.setattr(multiprocessing.context.ForkProcess, "start", no_fork)
        log = tmp_path / f"refused-{refuse}.jsonl"
        assert sum(1 for _ in run(str(video), RunOptions(jsonl=log))) == 30
        readings.append([json.loads(line)["digits"] for line in log.read_text().splitlines()])
    assert readings[0] == readings[1]
    assert sum(len(digits) for digits in readings[0]) >= 0.8 * 30 * 8
