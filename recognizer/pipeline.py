"""The frame loop: capture -> detect -> crop, split and classify -> track -> group -> draw -> write.

`run()` reads top to bottom, one line per stage, and yields a `FrameResult` per frame with the
time each stage took, which `recognizer bench` reports as medians. Outputs are context managers
opened here, so leaving the loop for any reason (the end, an error, Ctrl-C, `stop` being set)
finalizes the video and leaves the JSONL complete up to the last frame processed.

Which way round a picture is read is decided from its readings (`read_best`): light ink on a
dark ground (chalk) or dark on light (`Polarity`), and as it is, mirrored or upside down
(`Orientation`); a video checks now and then and detects the frames after a change that way
round (`reoriented`).

Three threads share the work, each stage in order: the source decodes frames ahead (`Source`),
`detect` finds candidate boxes DETECT_AHEAD frames ahead on a helper thread (`Ahead`), and this
loop classifies (cutting and normalizing the crops too, for frames up to 640 px: see `detect`),
tracks, draws and writes. OpenCV and ONNX Runtime release the GIL, so on two cores the stages
overlap; OpenCV's own worker pool is turned off (`cv2.setNumThreads(1)`), as it would compete
with these threads for the same cores (measured: a quarter more CPU time per frame for the same
frame rate), and `native.keep_freed_memory` keeps the C allocator from unmapping and
page-faulting frame-sized buffers again at every call. In `FrameResult.times`, "capture" is the
time this loop waited for the next detected frame, and "detect" the time detection took on its
thread.
"""

import contextlib
import functools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from recognizer import deskew, detection, splitting
from recognizer.ahead import Ahead
from recognizer.classifier import Classifier, is_digit
from recognizer.core import Detections, Frame
from recognizer.drawing import annotate
from recognizer.grouping import group_numbers, punctuation
from recognizer.native import keep_freed_memory
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
# A picture may be mirrored (a selfie camera, a webcam app that saves what its preview shows)
# or upside down (a webcam on a monitor looking down at a page on the desk). Each flip
# (FLIPS: (left to right, top to bottom)) of its crops is read too, in one batched call each,
# and the frame is read so when that flip turns at least FLIP_MIN_DIGITS of the marks not read
# as digits, and FLIP_SHARE of them, into digits, loses at most FLIP_LOST of that many digits,
# reads FLIP_MIN_READ digits in all and FLIP_MARGIN times the evidence (upside down, 0, 1, 8
# and a 6 or 9 read as digits either way, so the margin is small). Measured: the flips of
# mirrored scenes turned 0.89-1.00 of those marks into digits, those of upside-down ones up
# to 1.00 (but often only 1 or 2 marks), and neither lost any; on the 15 digit-free videos of
# marks, at most 3 marks a frame, 0.18 of them; on blank pages of smudges, 2 of 3 (hence
# FLIP_MIN_READ). A still is checked so, a video every FLIP_EVERY frames.
AS_IT_IS = (False, False)
FLIPS = ((True, False), (True, True))  # mirrored; upside down (turned half round)
# What `RunOptions.orientation` may say: "auto" (checked as above), or a way to read every frame.
ORIENTATIONS = {"as-is": AS_IT_IS, "mirrored": FLIPS[0], "upside-down": FLIPS[1]}
FLIP_MARGIN = 1.2
FLIP_MIN_DIGITS = 2
FLIP_MIN_READ = 4
FLIP_SHARE = 0.5
FLIP_LOST = 0.5
FLIP_EVERY = 30
FINE_EVERY = 60  # video frames between fine searches for digits too small for the first pass


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
    orientation: str = "auto"  # or a key of ORIENTATIONS: every frame read so, never checked


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
    seconds: float = 0.0
    other: "Found | None" = None  # on a dark ground: the frame read with its ink the other way
    light: bool = False  # read as light ink on a dark ground
    dark: bool = False  # the frame is on a dark ground (`detection.dark_ground`)
    flip: tuple[bool, bool] = AS_IT_IS  # read flipped (x, y); its boxes too, until `unflip`
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
    """How a video's frames are flipped to be read (as they are, mirrored, upside down): from
    the next frame detected on, once a check (`flip_check`, on the classification thread) finds
    they read better so. Checked every `every` frames; never when 0 (an orientation given)."""

    def __init__(self, flip: tuple[bool, bool] = AS_IT_IS, every: int = FLIP_EVERY) -> None:
        self.flip = flip
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
    """The candidate boxes of one frame (on the detection thread), in the frame flipped as the
    video's orientation says.

    Which thread cuts and normalizes the crops balances the two: a frame no larger than the
    detection copy leaves them to the classification thread (detection is the slower stage
    there), a larger one gets them cut here (there its crops are large and many, and detection
    works on a small copy). Measured end to end, interleaved runs: at 640x480, 224-237 fps with
    the crops cut on the classification thread against 188-206 with them cut here (measured
    again after to_mnist got faster, on 900 frames: 283-304 against 223-257); at 1280x720,
    cutting them on the classification thread was no faster (103-119 fps against 106-121), nor
    was cutting half of them here (152-180 against 165-181).
    """
    start = time.perf_counter()
    flip = orientation.flip if orientation is not None else AS_IT_IS
    gray = oriented_gray(frame, flip)
    # A frame on a dark ground may be light ink on it (chalk, MNIST's own images): a still is
    # read both ways, a video now and then, and the reading with more evidence wins. A light
    # ground (the camera turned from the board to a sheet) is read as dark ink.
    dark = detection.dark_ground(gray)
    light = dark and polarity is not None and polarity.light
    large = max(gray.shape) > detection.DETECT_MAX_SIDE
    finely, check = fine.due() if fine is not None and large else (still, False)
    found = find(frame, gray, still, search, light, finely, flip)
    found.dark, found.check_fine = dark, check
    if dark and (polarity is None or polarity.due()):
        found.other = find(frame, gray, still, search, not light, finely, flip)
    found.seconds = time.perf_counter() - start
    return found


def oriented_gray(frame: Frame, flip: tuple[bool, bool]) -> np.ndarray:
    """The frame's grayscale, flipped left to right and/or top to bottom as `flip` says."""
    gray = cv2.cvtColor(frame.bgr, cv2.COLOR_BGR2GRAY)
    codes = {(True, False): 1, (False, True): 0, (True, True): -1}  # cv2.flip's
    return cv2.flip(gray, codes[flip]) if flip in codes else gray


def flipped_crops(crops: np.ndarray, flip: tuple[bool, bool]) -> np.ndarray:
    """(N, 28, 28) crops flipped left to right and/or top to bottom as `flip` says."""
    x, y = flip
    return np.ascontiguousarray(crops[:, :: -1 if y else 1, :: -1 if x else 1])


def find(
    frame: Frame,
    gray: np.ndarray,
    still: bool,
    search: detection.Search = detection.EVERY_FRAME,
    light: bool = False,
    fine: bool | None = None,
    flip: tuple[bool, bool] = AS_IT_IS,
) -> Found:
    """The frame's candidates, read in its grayscale `gray`, or in its negative when `light`;
    `fine` as in `detection.find_boxes`; `flip` says how `gray` is flipped."""
    if light:
        gray = cv2.bitwise_not(gray)
    boxes, gray = detection.find_boxes(gray, still, search, fine)  # grid and margin lines erased
    large = max(gray.shape) > detection.DETECT_MAX_SIDE
    candidates = detection.candidates_at(gray, boxes) if large else None
    return Found(frame, gray, boxes, candidates, light=light, flip=flip)


def reoriented(found: Found, polarity: Polarity | None, orientation: Orientation | None) -> Found:
    """A frame detected ahead before the video's polarity turned or its orientation changed,
    detected again the way they now say; any other frame as it is."""
    light = found.dark and polarity is not None and polarity.light
    flip = orientation.flip if orientation is not None else AS_IT_IS
    if found.light == light and found.flip == flip:
        return found
    again = find(found.frame, oriented_gray(found.frame, flip), False, light=light, flip=flip)
    again.dark = found.dark
    return again


def flip_check(
    found: Found, classifier: Classifier, min_confidence: float, still: bool
) -> Found | None:
    """The frame detected flipped another way (mirrored, upside down, or back as it is), if its
    candidates (cut by `recognize`) read better so (see FLIP_MARGIN); else None.

    Detection finds the same marks either way: only their crops need reading flipped, in one
    batched call a way, to decide whether the whole frame is to be read again so."""
    candidates = found.candidates
    if candidates is None or len(candidates) < FLIP_MIN_DIGITS:
        return None
    as_is = classifier.classify(candidates)
    digits = is_digit(as_is, min_confidence)
    floor = FLIP_MARGIN * float(as_is.confidence[digits].sum())
    best, best_evidence = None, floor
    for flip in (AS_IT_IS, *FLIPS):
        turn = (flip[0] != found.flip[0], flip[1] != found.flip[1])  # from the way read
        if turn == AS_IT_IS:
            continue
        other = classifier.classify(candidates.replace(crops=flipped_crops(candidates.crops, turn)))
        flipped_digits = is_digit(other, min_confidence)
        gained = int((flipped_digits & ~digits).sum())  # marks read as digits only so
        lost = int((digits & ~flipped_digits).sum())
        evidence = float(other.confidence[flipped_digits].sum())
        if (
            gained >= FLIP_MIN_DIGITS
            and flipped_digits.sum() >= FLIP_MIN_READ
            and gained >= FLIP_SHARE * int((~digits).sum())
            and lost <= FLIP_LOST * gained
            and evidence > best_evidence
        ):
            best, best_evidence = flip, evidence
    if best is None:
        return None
    return find(found.frame, oriented_gray(found.frame, best), still, light=found.light, flip=best)


def unflip(
    detections: Detections, numbers: list, shape: tuple[int, int], flip: tuple[bool, bool]
) -> tuple[Detections, list]:
    """Boxes read in a frame of `shape` (h, w) flipped as `flip` says, put back where they are
    in the frame."""
    (height, width), (x, y) = shape, flip
    x0, y0, x1, y1 = detections.xyxy.T
    if x:
        x0, x1 = width - x1, width - x0
    if y:
        y0, y1 = height - y1, height - y0
    boxes = []
    for number in numbers:
        bx, by, bw, bh = number["box"]
        boxes.append([width - bx - bw if x else bx, height - by - bh if y else by, bw, bh])
    numbers = [{**n, "box": box} for n, box in zip(numbers, boxes, strict=True)]
    return detections.replace(xyxy=np.stack([x0, y0, x1, y1], axis=1)), numbers


def read_best(
    found: Found,
    classifier: Classifier,
    min_confidence: float,
    still: bool,
    polarity: Polarity | None = None,
    orientation: Orientation | None = None,
) -> tuple[Detections, Found]:
    """The frame's digits, and the reading they come from: the frame as detected, or (where it
    was also read so) with its ink the other way round, or flipped (`flip_check`: a still
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
        flipped = flip_check(read, classifier, min_confidence, still)
        if flipped is not None:
            other = recognize(flipped, classifier, min_confidence)
            if more_evidence(other, detections, FLIP_MARGIN):
                detections, read = other, flipped
                if orientation is not None:
                    orientation.flip = flipped.flip
    return detections, read


def more_evidence(a: Detections, b: Detections, margin: float = INVERTED_MARGIN) -> bool:
    """Whether readings `a` are better supported than `b` (`margin` times the sum)."""
    return float(a.confidence.sum()) > margin * float(b.confidence.sum())


def recognize(found: Found, classifier: Classifier, min_confidence: float) -> Detections:
    """One frame's digits, from its candidates: cut, split, classified, straightened.

    The model reads all candidates in one batched call; the pieces of wide candidates that may
    be touching digits (`splitting`) in a second one, only when there are such pieces, and the
    upright crops of tilted lines in a third (`deskew`). Splitting every wide candidate up
    front took 5 crops for each word of a page of text (12 fps on 720p video, 33-47 now).
    """
    if found.candidates is None:
        found.candidates = detection.candidates_at(found.gray, found.boxes)
    candidates = found.candidates
    readings = classifier.classify(candidates)
    pieces, origin = splitting.split_hypotheses(found.gray, readings)
    pieces = classifier.classify(pieces) if len(pieces) else pieces
    detections = splitting.resolve(readings, pieces, origin, min_confidence)
    detections = deskew.straighten(found.gray, detections, classifier)
    detections = detections[is_digit(detections, min_confidence)]
    detections = detections[~punctuation(detections.xyxy, detections.digit)]  # "1,000"
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
        detected = map(
            functools.partial(
                detect,
                still=still,
                search=search,
                polarity=polarity,
                fine=fine,
                orientation=orientation,
            ),
            source,
        )
        for found in outputs.enter_context(Ahead(detected, DETECT_AHEAD, "detect")):
            clock.lap("capture")
            clock.times["detect"] = found.seconds
            frame = found.frame
            found = reoriented(found, polarity, orientation)
            detections, read = read_best(
                found, classifier, options.min_confidence, still, polarity, orientation
            )
            if found.check_fine:
                fine.decide(detections, frame.bgr.shape[:2])
            clock.lap("classify")
            detections, numbers = track(detections, tracker, read.gray, frame.index - last_index)
            last_index = frame.index
            if read.flip != AS_IT_IS:  # the boxes go back where they are in the frame
                detections, numbers = unflip(detections, numbers, frame.bgr.shape[:2], read.flip)
            clock.lap("track")
            annotated = None
            if draw:
                status = f"{fps:.0f} fps | {len(detections)} digits" if fps else None
                if status and read.flip != AS_IT_IS:
                    status += " | read " + ("upside down" if read.flip[1] else "mirrored")
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
