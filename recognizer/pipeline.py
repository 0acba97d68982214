"""The frame loop: capture -> detect -> crop, split and classify -> track -> group -> draw -> write.

`run()` reads top to bottom, one line per stage, and yields a `FrameResult` per frame with the
time each stage took, which `recognizer bench` reports as medians. Outputs are context managers
opened here, so leaving the loop for any reason (the end, an error, Ctrl-C, `stop` being set)
finalizes the video and leaves the JSONL complete up to the last frame processed.

Which way round a picture is read is decided from its readings (`read_best`): light ink on a
dark ground (chalk) or dark on light (`Polarity`), and as it is, mirrored, upside down or
turned a quarter (`Orientation`, with the turns in `orientation.py`); a video checks now and
then and detects the frames after a change that way round (`reoriented`).

The work is shared so that both cores of a small machine work: the source decodes frames
ahead on a helper thread (`Source`); `detect` finds candidate boxes a few frames ahead, on a
helper process for a video file (`offload`: two threads of one process pass the interpreter
lock back and forth at every short OpenCV or NumPy call) and on a helper thread for a live
source or elsewhere (`Ahead`; see `detector`); and this loop classifies (cutting and
normalizing the crops too, for frames up to 640 px: see `detect`), tracks, draws and writes.
OpenCV's own worker pool is turned off (`cv2.setNumThreads(1)`), as it would compete with these
for the same cores (measured: a quarter more CPU time per frame for the same frame rate), and
`native.keep_freed_memory` keeps the C allocator from unmapping and page-faulting frame-sized
buffers again at every call. In `FrameResult.times`, "capture" is the time this loop waited for
the next detected frame, and "detect" the time detection took on its own process or thread.
"""

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from recognizer import deskew, detection, joining, offload, splitting
from recognizer.ahead import Ahead
from recognizer.classifier import Classifier, h_read_as_4, is_digit
from recognizer.core import Detections, Frame
from recognizer.drawing import annotate
from recognizer.grouping import brackets, group_numbers, punctuation, spelled
from recognizer.native import keep_freed_memory
from recognizer.offload import Offloaded
from recognizer.orientation import (
    AS_IT_IS,
    NAMES,
    ORIENTATIONS,
    Turn,
    boxes_back,
    numbers_back,
    turned,
    turned_crops,
)
from recognizer.sinks import JsonlSink, frame_record, open_output
from recognizer.sources import Source, open_source
from recognizer.tracking import Tracker

DEFAULT_MIN_CONFIDENCE = 0.6
FPS_SMOOTHING = 0.9
STAGES = ("capture", "detect", "classify", "track", "draw", "write")
DETECT_AHEAD = 2  # frames detected ahead of classification, on a helper thread
# A frame on a dark ground is also read the other way round (light ink on it); that reading
# wins when the sum of its confidences is this many times the other's (a sheet on a dark desk
# stays dark ink). A still is read both ways; a video every POLARITY_EVERY frames (`Polarity`).
INVERTED_MARGIN = 1.5
POLARITY_EVERY = 30
# A picture may be mirrored (a selfie camera, a webcam app that saves what its preview shows),
# upside down (a webcam on a monitor looking down at a page on the desk) or on its side (a scan,
# a photo whose orientation tag was stripped). Its crops are read each other way round too
# (`orientation.ORIENTATIONS`), in one batched call each, and the frame is read so when that
# turns at least TURN_MIN_DIGITS of the marks not read as digits, and TURN_SHARE of them, into
# digits, loses at most TURN_LOST of that many digits, reads TURN_MIN_READ digits in all and
# TURN_MARGIN times the evidence (upside down, 0, 1, 8 and a 6 or 9 read as digits either way,
# so the margin is small). Measured: mirrored scenes turned 0.89-1.00 of those marks into
# digits, upside-down ones up to 1.00 (but often only 1 or 2 marks), a still on its side 0.95-1.00,
# and none lost any; on the 15 digit-free videos of marks, at most 4 marks a frame, 0.21 of
# them; on blank pages of smudges, 2 of 3 (hence TURN_MIN_READ) and, turned a quarter, 4 of 7
# (hence a TURN_SHARE of 0.75). A still is checked so, a video every TURN_EVERY frames.
TURN_MARGIN = 1.2
TURN_MIN_DIGITS = 2
TURN_MIN_READ = 4
TURN_SHARE = 0.75
TURN_LOST = 0.5
TURN_EVERY = 30
# A video frame due a check whose digits are fewer than TURN_WEAK of its candidates is also
# detected turned a quarter each way (`on_its_side`): 3 times its detection, once a second. So
# is such a still if TURN_COLUMNS of its candidates are columns (TURN_COLUMN times as tall as
# wide, read as no digit): a still pays for every check, and most weak stills are not on their
# side. A page of numbers on its side had 3 columns in 8 candidates; 109 stills of marks had
# none (they ran at 11 fps with every weak still so checked, 34 with the columns).
TURN_WEAK = 0.5
TURN_COLUMN = 1.8
TURN_COLUMNS = 3
FINE_EVERY = 60  # video frames between fine searches for digits too small for the first pass
# Frames up to this size are detected on a helper process (`detector`); larger ones on a thread.
# Measured per frame, process against thread: 640x480 2.9-3.0 against 4.3-5.3 ms, 1280x720
# 4.6-5.8 against 6.0-7.0, 1920x1080 (240 frames) 11.5-11.9 against 12.5-13.6; 3840x2160 (100
# frames) 24.6-24.9 against 18.3-20.2, as the main process then page-faults about 900 times a
# frame (200 with the thread).
PROCESS_MAX_PIXELS = 1920 * 1080


@dataclass(frozen=True)
class RunOptions:
    model: Path | None = None
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    output: Path | None = None
    jsonl: Path | None = None
    show_crops: bool = False
    draw: bool = False  # annotate even without --output (for a live window)
    track: bool = True
    threads: int = 1
    orientation: str = "auto"  # or a key of orientation.ORIENTATIONS: every frame read so
    detect_process: bool = True  # a video file's frames detected on a helper process (`detector`)


@dataclass
class FrameResult:
    frame: Frame
    detections: Detections
    numbers: list
    annotated: np.ndarray | None
    times: dict = field(default_factory=dict)  # stage -> seconds
    fps: float = 0.0


class Stopwatch:
    """Times consecutive stages: `lap("classify")` records the time since the previous lap."""

    def __init__(self) -> None:
        self.times: dict[str, float] = {}
        self.start = self.last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.times[stage] = self.times.get(stage, 0.0) + now - self.last
        self.last = now


@dataclass
class Found:
    """What detection hands to classification: a frame, its grayscale and its candidates."""

    frame: Frame
    gray: np.ndarray
    boxes: np.ndarray  # (N, 4) xyxy, frame pixels
    candidates: Detections | None = None  # the boxes with their crops, if already cut
    readings: Detections | None = None  # the candidates classified, once `recognize` has
    seconds: float = 0.0
    other: "Found | None" = None  # on a dark ground: the frame read with its ink the other way
    light: bool = False  # read as light ink on a dark ground
    dark: bool = False  # the frame is on a dark ground (`detection.dark_ground`)
    turn: Turn = AS_IT_IS  # read turned so (`orientation.turned`); its boxes too, until put back
    check_fine: bool = False  # searched finely to decide whether to go on (`Fine`)


class Polarity:
    """Which way a video's ink runs: dark on light (paper), or light on dark (chalk on a board).

    Frames on a dark ground (`detection.dark_ground`) are detected with the ink as last
    decided; the first of them and every POLARITY_EVERY-th after it are also read the other
    way, and the classification thread turns the polarity round when that reading has more
    evidence (`more_evidence`); frames already detected ahead the old way are detected again
    (`reoriented`). The second reading doubles that frame's work, once a second at 30 fps. Other
    frames (a sheet of paper filling most of the view) are read as dark ink, and never twice.
    """

    def __init__(self, every: int = POLARITY_EVERY) -> None:
        self.light = False
        self.every = every
        self.frames = 0

    def due(self) -> bool:
        """Whether this frame (on the detection thread, in order) is to be read both ways."""
        self.frames += 1
        return (self.frames - 1) % self.every == 0


class Orientation:
    """How a video's frames are turned to be read (as they are, mirrored, upside down, a
    quarter): from the next frame detected on, once a check (`turn_check`, on the
    classification thread) finds they read better so. Checked every `every` frames; never when
    0 (an orientation given)."""

    def __init__(self, turn: Turn = AS_IT_IS, every: int = TURN_EVERY) -> None:
        self.turn = turn
        self.every = every
        self.frames = 0

    def due(self) -> bool:
        """Whether this frame (on the classification thread, in order) is checked."""
        self.frames += 1
        return self.every > 0 and (self.frames - 1) % self.every == 0


class Fine:
    """Whether a video's frames larger than the detection copy also get the fine pass, for
    digits too small for the first (`detection.small_boxes`): a page filmed whole at 1080p or
    4K, its digits under 2% of the frame's height (22 px at 1080p, 43 at 4K) but legible.

    The fine pass costs about as much as the first (15 ms on a 1080p frame), and most videos
    need none. So every FINE_EVERY-th frame gets it (on the detection thread), and the
    classification thread decides from each of them (`decide`) whether all frames get it until
    the next: while it reads digits that only it can find. The frames detected ahead before the
    first decision get it too, or a video of small digits would start with frames of none.
    """

    def __init__(self, every: int = FINE_EVERY) -> None:
        self.on = True  # until the first decision
        self.every = every
        self.frames = 0

    def due(self) -> tuple[bool, bool]:
        """(whether this frame gets the fine pass, whether it is one to decide from)."""
        check = self.frames % self.every == 0
        self.frames += 1
        return self.on or check, check

    def decide(self, detections: Detections, shape: tuple[int, int]) -> None:
        """Go on with the fine pass while a checked frame has digits of the sizes it keeps."""
        heights = detections.xyxy[:, 3] - detections.xyxy[:, 1]
        self.on = bool((heights < detection.fine_pass_max_height(shape)).any())


def detect(
    frame: Frame,
    still: bool = False,
    search: detection.Search = detection.EVERY_FRAME,
    polarity: Polarity | None = None,
    fine: Fine | None = None,
    orientation: Orientation | None = None,
) -> Found:
    """The candidate boxes of one frame (on the detection thread), in the frame turned as the
    video's orientation says.

    Which thread cuts and normalizes the crops balances the two: a frame no larger than the
    detection copy leaves them to the classification thread (detection is the slower stage
    there), a larger one gets them cut here (there its crops are large and many, and detection
    works on a small copy). Measured end to end, interleaved runs: at 640x480, 224-237 fps with
    the crops cut on the classification thread against 188-206 with them cut here (measured
    again after to_mnist got faster, on 900 frames: 283-304 against 223-257); at 1280x720,
    cutting them on the classification thread was no faster (103-119 fps against 106-121), nor
    was cutting half of them here (152-180 against 165-181). With detection on its own process
    the same held: at 640x480, 245-286 fps against 214-234 with the crops cut here; at
    1280x720 (both samples), 131-177 against 97-135 with them cut on the classification side.
    """
    start = time.perf_counter()
    turn = orientation.turn if orientation is not None else AS_IT_IS
    gray = turned_gray(frame, turn)
    # A frame on a dark ground may be light ink on it (chalk, MNIST's own images): a still is
    # read both ways, a video now and then, and the reading with more evidence wins. A light
    # ground (the camera turned from the board to a sheet) is read as dark ink.
    dark = detection.dark_ground(gray)
    light = dark and polarity is not None and polarity.light
    large = max(gray.shape) > detection.DETECT_MAX_SIDE
    finely, check = fine.due() if fine is not None and large else (still, False)
    found = find(frame, gray, still, search, light, finely, turn)
    found.dark, found.check_fine = dark, check
    if dark and (polarity is None or polarity.due()):
        found.other = find(frame, gray, still, search, not light, finely, turn)
    found.seconds = time.perf_counter() - start
    return found


def turned_gray(frame: Frame, turn: Turn) -> np.ndarray:
    """The frame's grayscale, turned as `turn` says."""
    return turned(cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2GRAY), turn)


def find(
    frame: Frame,
    gray: np.ndarray,
    still: bool,
    search: detection.Search = detection.EVERY_FRAME,
    light: bool = False,
    fine: bool | None = None,
    turn: Turn = AS_IT_IS,
) -> Found:
    """The frame's candidates, read in its grayscale `gray`, or in its negative when `light`;
    `fine` as in `detection.find_boxes`; `turn` says how `gray` is turned."""
    if light:
        gray = cv2.bitwise_not(gray)
    boxes, gray = detection.find_boxes(gray, still, search, fine)  # grid and margin lines erased
    large = max(gray.shape) > detection.DETECT_MAX_SIDE
    candidates = detection.candidates_at(gray, boxes) if large else None
    return Found(frame, gray, boxes, candidates, light=light, turn=turn)


def reoriented(found: Found, polarity: Polarity | None, orientation: Orientation | None) -> Found:
    """A frame detected ahead before the video's polarity turned or its orientation changed,
    detected again the way they now say; any other frame as it is."""
    light = found.dark and polarity is not None and polarity.light
    turn = orientation.turn if orientation is not None else AS_IT_IS
    if found.light == light and found.turn == turn:
        return found
    again = find(found.frame, turned_gray(found.frame, turn), False, light=light, turn=turn)
    again.dark = found.dark
    return again


def turn_check(
    found: Found, classifier: Classifier, min_confidence: float, still: bool
) -> Found | None:
    """The frame detected turned another way (mirrored, upside down, a quarter, or back as it
    is), if its candidates (cut and read by `recognize`) read better so (see TURN_MARGIN);
    else None.

    Detection finds mostly the same marks either way: only their crops need reading turned, in
    one batched call a way, to decide whether the whole frame is to be read again so."""
    candidates = found.candidates
    if candidates is None or len(candidates) < TURN_MIN_DIGITS:
        return None
    as_is = found.readings
    digits = is_digit(as_is, min_confidence)
    floor = TURN_MARGIN * float(as_is.confidence[digits].sum())
    best, best_evidence = None, floor
    for turn in ORIENTATIONS.values():
        if turn == found.turn:
            continue
        crops = turned_crops(candidates.crops, found.turn, turn)
        other = classifier.classify(candidates.replace(crops=crops))
        turned_digits = is_digit(other, min_confidence)
        gained = int((turned_digits & ~digits).sum())  # marks read as digits only so
        lost = int((digits & ~turned_digits).sum())
        evidence = float(other.confidence[turned_digits].sum())
        if (
            gained >= TURN_MIN_DIGITS
            and turned_digits.sum() >= TURN_MIN_READ
            and gained >= TURN_SHARE * int((~digits).sum())
            and lost <= TURN_LOST * gained
            and evidence > best_evidence
        ):
            best, best_evidence = turn, evidence
    if best is None:
        return None
    return find(found.frame, turned_gray(found.frame, best), still, light=found.light, turn=best)


def read_best(
    found: Found,
    classifier: Classifier,
    min_confidence: float,
    still: bool,
    polarity: Polarity | None = None,
    orientation: Orientation | None = None,
) -> tuple[Detections, Found]:
    """The frame's digits, and the reading they come from: the frame as detected, or (where it
    was also read so) with its ink the other way round, or turned (`turn_check`: a still
    always, a video when its orientation is due), whichever has more evidence. A video's
    polarity and orientation follow the reading kept, for the frames detected from now on."""
    detections = recognize(found, classifier, min_confidence)
    read = found
    if found.other is not None:
        other = recognize(found.other, classifier, min_confidence)
        if more_evidence(other, detections):
            detections, read = other, found.other
            if polarity is not None:
                polarity.light = not polarity.light
    if orientation.due() if orientation is not None else still:
        again = turn_check(read, classifier, min_confidence, still)
        if again is not None:
            other = recognize(again, classifier, min_confidence)
            if more_evidence(other, detections, TURN_MARGIN):
                detections, read = other, again
                if orientation is not None:
                    orientation.turn = again.turn
        elif len(detections) < TURN_WEAK * len(read.candidates) and (
            not still or columns(read, min_confidence) >= TURN_COLUMNS
        ):
            detections, read = on_its_side(read, detections, classifier, min_confidence, still)
            if orientation is not None:
                orientation.turn = read.turn
    return detections, read


def columns(found: Found, min_confidence: float) -> int:
    """How many candidates (read by `recognize`) TURN_COLUMN times as tall as wide or more read
    as no digit: digits written in a row on a page on its side, merged into one mark each."""
    candidates = found.candidates
    x0, y0, x1, y1 = candidates.xyxy.T
    tall = (y1 - y0) >= TURN_COLUMN * (x1 - x0)
    return int((tall & ~is_digit(found.readings, min_confidence)).sum())


def on_its_side(
    found: Found,
    detections: Detections,
    classifier: Classifier,
    min_confidence: float,
    still: bool,
) -> tuple[Detections, Found]:
    """A frame that reads weakly, detected and read again turned a quarter each way: the better
    of those two (they are each other upside down) is kept if it has INVERTED_MARGIN times the
    evidence, with TURN_MIN_READ digits from at least TURN_SHARE of its candidates.

    On its side, digits written in a row stand in a column and are merged like the pieces of
    one broken digit, so the crops of a page of numbers do not show `turn_check` the turn."""
    readings = []
    for turn in (ORIENTATIONS["turned-left"], ORIENTATIONS["turned-right"]):
        gray = turned_gray(found.frame, turn)
        again = find(found.frame, gray, still, light=found.light, turn=turn)
        readings.append((recognize(again, classifier, min_confidence), again))
    other, again = max(readings, key=lambda reading: float(reading[0].confidence.sum()))
    if (
        len(other) >= TURN_MIN_READ
        and len(other) >= TURN_SHARE * len(again.candidates)
        and more_evidence(other, detections)
    ):
        return other, again
    return detections, found


def more_evidence(a: Detections, b: Detections, margin: float = INVERTED_MARGIN) -> bool:
    """Whether readings `a` are better supported than `b` (`margin` times the sum)."""
    return float(a.confidence.sum()) > margin * float(b.confidence.sum())


def recognize(found: Found, classifier: Classifier, min_confidence: float) -> Detections:
    """One frame's digits, from its candidates: cut, split, classified, straightened.

    The model reads all candidates in one batched call; pieces over each other that may be a
    broken digit's, joined (`joining`), in a second one, only when there are such pieces; marks
    as tall as rows of digits, cut into their rows (`joining.unstack`), likewise; the
    pieces of wide candidates that may be touching digits (`splitting`) in another, likewise,
    and the upright crops of tilted lines in a last one (`deskew`). Splitting every wide
    candidate up front took 5 crops for each word of a page of text (12 fps on 720p video,
    33-47 now).
    """
    if found.candidates is None:
        found.candidates = detection.candidates_at(found.gray, found.boxes)
    candidates = found.candidates
    readings = found.readings = classifier.classify(candidates)
    readings = joining.join_broken(found.gray, readings, classifier, min_confidence)
    readings = joining.unstack(found.gray, readings, classifier, min_confidence)
    pieces, origin = splitting.split_hypotheses(found.gray, readings)
    pieces = classifier.classify(pieces) if len(pieces) else pieces
    detections = splitting.resolve(readings, pieces, origin, min_confidence)
    detections = deskew.straighten(found.gray, detections, classifier, min_confidence)
    detections = detections[~deskew.too_wide(detections)]  # a notebook's coil read as a 0
    detections = detections[~h_read_as_4(detections)]  # an H
    digits = is_digit(detections, min_confidence)
    detections = detections[digits & ~spelled(detections, digits)]  # the l of "apple", o of "hello"
    detections = detections[~punctuation(detections.xyxy, detections.digit)]  # "1,000"
    detections = detections[~brackets(detections)]  # "(40)"
    detections = detections[~detection.edge_lines(found.gray, detections)]  # a sharpened edge
    detections = detections[~detection.line_dashes(found.gray, detections)]  # a crease's dash
    return detection.suppress_nested(detections)


def track(
    detections: Detections,
    tracker: Tracker | None,
    gray: np.ndarray | None = None,
    period: int = 1,
) -> tuple[Detections, list]:
    """The frame's digits with their track's fused readings, and its numbers (read in `gray`);
    `period` is the source's frames since the last (more than 1 after skipped or dropped ones)."""
    if tracker is not None:
        detections = tracker.update(detections, period)
        detections = detections[is_digit(detections, 0.0)]  # a fused reading may be "not a digit"
    return detections, group_numbers(detections, gray)


def detector(
    source: Source,
    detect_frame: Callable[[Frame], Found],
    options: RunOptions,
    polarity: Polarity | None,
    fine: Fine | None,
    orientation: Orientation | None,
) -> Ahead | Offloaded:
    """Detection run ahead of the loop: on a helper process for a video file (on Linux) of up to
    PROCESS_MAX_PIXELS a frame, where the frames' pace is the loop's; else on a helper thread,
    which hands on each frame as soon as it is detected (a live source) and needs no fork, and
    where no process can be started. The loop's decisions that detection follows are handed to
    the process with each frame."""
    width, height = source.info.resolution_wh
    frame_bytes = 3 * width * height
    if (
        options.detect_process
        and source.info.kind == "video"
        and 0 < width * height <= PROCESS_MAX_PIXELS
        and offload.available()
    ):
        decisions = ((polarity, "light"), (fine, "on"), (orientation, "turn"))
        follow = [(owner, name) for owner, name in decisions if owner is not None]
        try:
            return Offloaded(source, detect_frame, frame_bytes, follow)
        except OSError:  # no fork or shared memory to be had (a process or memory limit)
            pass
    return Ahead(map(detect_frame, source), DETECT_AHEAD, "detect")


def run(
    source: str | Source,
    options: RunOptions,
    stop: threading.Event | None = None,
    classifier: Classifier | None = None,
) -> Iterator[FrameResult]:
    """Process a source frame by frame; see the module docstring."""
    classifier = classifier or Classifier(options.model, threads=options.threads)
    stop = stop or threading.Event()
    cv2.setNumThreads(1)
    keep_freed_memory()
    with contextlib.ExitStack() as outputs:
        source = source if isinstance(source, Source) else open_source(source)
        outputs.enter_context(source)
        info = source.info
        video = options.output and outputs.enter_context(
            open_output(options.output, info.fps or 1.0, info.kind == "image", live=info.is_live)
        )
        log = options.jsonl and outputs.enter_context(JsonlSink(options.jsonl))
        # Stills (an image, a folder of scans) are unrelated pictures: nothing to track or fuse.
        still = info.kind in ("image", "folder")
        tracker = Tracker(fps=info.fps or 1.0) if options.track and not still else None
        draw = bool(video) or options.draw
        fps = 0.0
        last_index = -1  # the number of the frame before, in the source
        clock = Stopwatch()
        # A video looks for a grid's lines, past shadows' borders and at its ink's polarity
        # only now and then.
        search = detection.EVERY_FRAME if still else detection.Search.video()
        polarity = None if still else Polarity()
        # Stills are unrelated pictures: each is checked as it is, unless an orientation is given.
        given = ORIENTATIONS.get(options.orientation)
        orientation = Orientation(given, every=0) if given else None if still else Orientation()
        fine = None if still else Fine()
        detect_frame = functools.partial(
            detect,
            still=still,
            search=search,
            polarity=polarity,
            fine=fine,
            orientation=orientation,
        )
        detected = detector(source, detect_frame, options, polarity, fine, orientation)
        for found in outputs.enter_context(detected):
            clock.lap("capture")
            clock.times["detect"] = found.seconds
            frame = found.frame
            found = reoriented(found, polarity, orientation)
            detections, read = read_best(
                found, classifier, options.min_confidence, still, polarity, orientation
            )
            if found.check_fine:
                fine.decide(detections, read.gray.shape)
            clock.lap("classify")
            detections, numbers = track(detections, tracker, read.gray, frame.index - last_index)
            last_index = frame.index
            if read.turn != AS_IT_IS:  # the boxes go back where they are in the frame
                shape = frame.bgr.shape[:2]
                detections = detections.replace(xyxy=boxes_back(detections.xyxy, shape, read.turn))
                numbers = numbers_back(numbers, shape, read.turn)
            clock.lap("track")
            annotated = None
            if draw:
                status = f"{fps:.0f} fps | {len(detections)} digits" if fps else None
                if status and read.turn != AS_IT_IS:
                    status += f" | read {NAMES[read.turn]}"
                annotated = annotate(frame.bgr, detections, numbers, status, options.show_crops)
            clock.lap("draw")
            if log:
                log.write(frame_record(frame, info.name, detections, numbers))
            if video:
                video.write(annotated, frame)
            clock.lap("write")
            total = time.perf_counter() - clock.start
            fps = 1 / total if not fps else FPS_SMOOTHING * fps + (1 - FPS_SMOOTHING) / total
            yield FrameResult(frame, detections, numbers, annotated, clock.times, fps)
            if stop.is_set():
                break
            clock = Stopwatch()
