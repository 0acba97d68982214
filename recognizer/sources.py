"""Where frames come from: a camera index, a video file, an image, a folder of images, or a URL.

`open_source(spec)` returns a `Source`: a context manager with a `VideoInfo` that yields `Frame`s.
The capture is always released (`close`, the `with` block, or the end of iteration), also on
Ctrl-C. Frames a video cannot decode mid-stream are skipped and counted in `Source.skipped`.
A frame keeps its number in the source, so skipped (and, live, dropped) frames leave gaps, and
its time: a video's own timestamp (right for variable frame rates too), the time since the first
frame for a camera or stream.
Reading happens on a background thread a few frames ahead (`READ_AHEAD`), so decoding overlaps
with detection and classification on the other core.
"""

import os
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from recognizer.ahead import Ahead
from recognizer.core import Frame
from recognizer.errors import SourceError
from recognizer.native import native_stderr_silenced, quiet_ffmpeg

HEIF_SUFFIXES = {".heic", ".heif"}  # phones' photos (an iPhone's default), read by pillow-heif
# What OpenCV reads as images (by their content; a browser saves JPEGs as .jfif, newer phones
# and browsers AVIF), and HEIF. Anything else is opened as a video.
IMAGE_SUFFIXES = {
    *(".png", ".jpg", ".jpeg", ".jpe", ".jfif", ".bmp", ".tif", ".tiff", ".webp", ".avif"),
    *(".jp2", ".pbm", ".pgm", ".ppm", ".pnm"),
    *HEIF_SUFFIXES,
}
ALPHA_SUFFIXES = {".png", ".tif", ".tiff", ".webp", ".avif"}  # formats that may be transparent
FOLDER_FPS = 1.0  # nominal rate of a folder of images, for timestamps and output video
READ_AHEAD = 4
URL_TIMEOUT_S = 30  # fetching an image URL
# A video that fails this many reads in a row before its announced end is treated as ended.
MAX_CONSECUTIVE_FAILURES = 25


@dataclass(frozen=True)
class VideoInfo:
    kind: str  # "camera", "video", "stream", "image" or "folder"
    name: str  # what the user passed, for logs
    resolution_wh: tuple[int, int]
    fps: float
    total_frames: int | None  # None when unknown (camera, stream)

    @property
    def is_live(self) -> bool:
        return self.kind in ("camera", "stream")


def decode_image(path: Path) -> np.ndarray | None:
    """An image file as BGR, upright by its EXIF orientation; None if it cannot be read.
    A transparent one is laid on a ground its ink stands out from (`flatten_alpha`)."""
    suffix = path.suffix.lower()
    if suffix in HEIF_SUFFIXES:
        return decode_heif(path)
    if suffix in ALPHA_SUFFIXES and may_be_transparent(path):
        # IMREAD_COLOR drops the alpha channel: the transparent pixels of a drawing app's
        # export are black, under black strokes. IMREAD_UNCHANGED keeps it (but applies no
        # EXIF orientation, so an opaque image is read again as usual; a PNG's or WebP's
        # header says whether it can be transparent, which saves that second decoding: 150 ms
        # for a 12 MP PNG).
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is not None and image.ndim == 3 and image.shape[2] == 4:
            return flatten_alpha(image)
    return cv2.imread(str(path), cv2.IMREAD_COLOR)


def may_be_transparent(path: Path) -> bool:
    """Whether an image may have transparent pixels, by its header for PNG and WebP (True for
    the others, and when it cannot tell)."""
    suffix = path.suffix.lower()
    if suffix == ".png":
        return png_may_be_transparent(path)
    if suffix == ".webp":
        return webp_may_be_transparent(path)
    return True


def webp_may_be_transparent(path: Path) -> bool:
    """Whether a WebP has alpha, by its first chunk: plain lossy (VP8) has none, lossless
    (VP8L) says so in a bit of its header, extended (VP8X) in its flags; True if it cannot tell."""
    try:
        with open(path, "rb") as file:
            head = file.read(25)
    except OSError:
        return True
    if len(head) < 25 or head[:4] != b"RIFF" or head[8:12] != b"WEBP":
        return True
    kind = head[12:16]
    if kind == b"VP8 ":
        return False
    if kind == b"VP8L":  # after its signature byte: 14 bits width, 14 height, 1 alpha
        return bool(head[24] & 0x10)
    if kind == b"VP8X":
        return bool(head[20] & 0x10)  # the alpha flag
    return True


def png_may_be_transparent(path: Path) -> bool:
    """Whether a PNG has an alpha channel (color type 4 or 6) or a transparent color (a tRNS
    chunk before its image data), by its chunks' headers; True if it cannot tell."""
    try:
        with open(path, "rb") as file:
            head = file.read(33)  # signature, then the IHDR chunk
            if len(head) < 33 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
                return True
            if head[25] in (4, 6):
                return True
            while len(chunk := file.read(8)) == 8:
                length, kind = int.from_bytes(chunk[:4], "big"), chunk[4:]
                if kind in (b"tRNS", b"IDAT"):
                    return kind == b"tRNS"
                file.seek(length + 4, 1)  # the chunk's data and CRC
    except OSError:
        pass
    return True


def flatten_alpha(bgra: np.ndarray) -> np.ndarray:
    """A BGRA image (8 or 16 bit) laid on white, or on black if what is opaque in it is mostly
    light (white strokes drawn for a dark page): BGR uint8."""
    if bgra.dtype != np.uint8:
        bgra = cv2.convertScaleAbs(bgra, alpha=255.0 / np.iinfo(bgra.dtype).max)
    alpha = bgra[..., 3:].astype(np.float32) / 255
    bgr = bgra[..., :3].astype(np.float32)
    opaque = alpha[..., 0] > 0.5
    gray = cv2.cvtColor(bgra[..., :3], cv2.COLOR_BGR2GRAY)
    ground = 0.0 if opaque.any() and float(gray[opaque].mean()) >= 128 else 255.0
    return np.clip(bgr * alpha + ground * (1 - alpha), 0, 255).astype(np.uint8)


def decode_heif(path: Path) -> np.ndarray | None:
    """A HEIC/HEIF photo as BGR. OpenCV reads no HEIF; pillow-heif (libheif) does, and applies
    the file's rotation; `exif_transpose` applies an EXIF orientation it left (none, usually)."""
    import pillow_heif  # imported here: it loads libheif, which only these files need
    from PIL import Image, ImageOps

    pillow_heif.register_heif_opener()
    try:
        with Image.open(path) as image:
            rgb = np.asarray(ImageOps.exif_transpose(image).convert("RGB"))
    except (OSError, ValueError):  # PIL.UnidentifiedImageError is an OSError
        return None
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


def read_image(path: Path) -> np.ndarray:
    image = decode_image(path)
    if image is None:
        raise SourceError(f"cannot read image {path}: not an image file, or damaged")
    return image


class Source:
    """Frames of one source; iterate once, inside `with`."""

    def __init__(self, info: VideoInfo, frames: Iterator[Frame], release=None) -> None:
        self.info = info
        self.skipped = 0
        # A live source never queues stale frames: the newest is what the user is looking at.
        self._reader = Ahead(frames, READ_AHEAD, name="recognizer-reader", newest=info.is_live)
        self._release = release

    def __enter__(self) -> "Source":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Stop the reader thread, then release the capture (never while a read is under way)."""
        self._reader.close()
        if self._release is not None:
            self._release()
            self._release = None

    def __iter__(self) -> Iterator[Frame]:
        """Decoded on a helper thread; OpenCV releases the GIL while it decodes."""
        yield from self._reader


def capture_frames(
    capture: cv2.VideoCapture, total: int | None, source: Source, position: int = 0
) -> Iterator[tuple[int, np.ndarray]]:
    """(number, frame) pairs of an open capture from frame `position` on; unreadable frames
    before the announced end are skipped."""
    failures = 0
    while True:
        ok, bgr = capture.read()
        if ok and bgr is not None:
            failures = 0
            position += 1
            yield position - 1, bgr
            continue
        if total is None or position >= total:
            return
        failures += 1
        position += 1
        source.skipped += 1
        if failures >= MAX_CONSECUTIVE_FAILURES:
            return


def ask_size(capture: cv2.VideoCapture, size_wh: tuple[int, int]) -> None:
    """Ask a camera for frames of `size_wh`; it gives the nearest size it has. Asked for as
    MJPG: a USB camera sends 720p and more uncompressed at a few frames a second only."""
    capture.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter_fourcc(*"MJPG"))
    capture.set(cv2.CAP_PROP_FRAME_WIDTH, size_wh[0])
    capture.set(cv2.CAP_PROP_FRAME_HEIGHT, size_wh[1])


def open_capture(spec: str, kind: str, target, size_wh: tuple[int, int] | None = None) -> Source:
    quiet_ffmpeg()
    with native_stderr_silenced():
        capture = cv2.VideoCapture(target)
        opened = capture.isOpened()
        # A phone stores a video filmed upright as the sensor saw it, with a rotation to show
        # it by. OpenCV 4.11 does not apply that by default, so ask for it.
        if opened:
            capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1)
            if size_wh is not None:
                ask_size(capture, size_wh)
    if not opened:
        capture.release()
        hints = {
            "camera": f"camera {spec} could not be opened: no such camera, or it is in use",
            "stream": f"stream {spec} could not be opened: unreachable, or not a video stream",
            "video": f"cannot open video {spec}: not a video file, or an unsupported codec",
        }
        raise SourceError(hints[kind])
    ok, first = capture.read()
    if not ok or first is None:
        fourcc = int(capture.get(cv2.CAP_PROP_FOURCC)) & 0xFFFFFFFF
        codec = fourcc.to_bytes(4, "little").decode("latin-1").strip("\x00 ")
        capture.release()
        if kind == "video" and codec.isprintable() and codec:  # such as AV01: no AV1 decoder
            raise SourceError(
                f"{spec}: opened, but no frame could be decoded (codec {codec}): damaged, or a"
                " codec this OpenCV cannot decode; convert it to H.264"
            )
        raise SourceError(f"{spec}: opened, but no frame could be read from it")
    count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    if kind == "stream" and count > 0:
        # A URL of a video file (a known length; a live stream has none): every frame is read,
        # none dropped to keep up, and timed by the file's stamps.
        kind = "video"
    total = count if kind == "video" and count > 0 else None
    stamp = capture_clock(capture, kind)
    origin = stamp()
    fps = capture.get(cv2.CAP_PROP_FPS)
    fps = float(fps) if fps and 0 < fps < 1000 else 30.0
    info = VideoInfo(kind, spec, (first.shape[1], first.shape[0]), fps, total)

    def frames() -> Iterator[Frame]:
        yield Frame(0, 0.0, first)
        last = 0.0
        for number, bgr in capture_frames(capture, total, source, position=1):
            seconds = stamp() - origin
            if not seconds > last:  # no stamps (some files), or a damaged one
                seconds = max(number / fps, last)
            last = seconds
            yield Frame(number, seconds, bgr)

    source = Source(info, frames(), release=capture.release)
    return source


def capture_clock(capture: cv2.VideoCapture, kind: str):
    """Seconds by which a capture's frames are timed: a video file's own timestamp of the frame
    last read, else (a camera, a stream: live) the time it was read."""
    if kind == "video":
        return lambda: capture.get(cv2.CAP_PROP_POS_MSEC) / 1000
    return time.monotonic


def image_source(image: np.ndarray, name: str) -> Source:
    """One image as a source of one frame."""
    info = VideoInfo("image", name, (image.shape[1], image.shape[0]), 0.0, 1)
    return Source(info, iter([Frame(0, 0.0, image)]))


def is_image_url(spec: str) -> bool:
    """Whether a URL names an image file (http(s), by its path's suffix)."""
    url = urllib.parse.urlparse(spec)
    return url.scheme in ("http", "https") and Path(url.path).suffix.lower() in IMAGE_SUFFIXES


def open_image_url(spec: str) -> Source:
    """An image on a web server, read as an image file is (a still: no tracking; EXIF
    orientation, transparency and HEIC as for a file). FFmpeg would open it as a stream of one
    frame, tracked and said to have stopped."""
    suffix = Path(urllib.parse.urlparse(spec).path).suffix.lower()
    try:
        with urllib.request.urlopen(spec, timeout=URL_TIMEOUT_S) as response:
            data = response.read()
    except urllib.error.HTTPError as exc:
        raise SourceError(f"cannot fetch image {spec} (HTTP {exc.code} {exc.reason})") from None
    except (OSError, ValueError) as exc:  # URLError (unreachable) is an OSError
        reason = getattr(exc, "reason", None) or exc.__class__.__name__
        raise SourceError(f"cannot fetch image {spec} ({reason})") from None
    with tempfile.TemporaryDirectory(prefix="recognizer-") as folder:
        path = Path(folder) / f"image{suffix}"
        path.write_bytes(data)
        image = decode_image(path)
    if image is None:
        raise SourceError(f"cannot read image {spec}: not an image file, or damaged")
    return image_source(image, spec)


def open_folder(folder: Path) -> Source:
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise SourceError(f"folder {folder} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return open_images(paths, str(folder), [path.name for path in paths])


def open_image_files(specs: list[str]) -> Source:
    """Several image files (a shell's `scans/*.jpg`), in the order given, read as a folder:
    named by the folder they share, each frame by its path from there."""
    paths = [Path(spec) for spec in specs]
    for path in paths:
        if not path.exists():
            raise SourceError(f"no such file or folder: {path}")
        if not path.is_file() or path.suffix.lower() not in IMAGE_SUFFIXES:
            raise SourceError(
                f"{path} is not an image: several sources are read as images, in the order given "
                "(a video, a folder or a camera is read on its own)"
            )
    try:
        common = os.path.commonpath([str(path.parent) for path in paths])
    except ValueError:  # relative and absolute paths mixed
        common = os.path.commonpath([str(path.absolute().parent) for path in paths])
    return open_images(paths, common, [os.path.relpath(path, common) for path in paths])


def open_images(paths: list[Path], name: str, files: list[str]) -> Source:
    """Image files as the frames of one source, one a second, each frame naming its file."""
    first = read_image(paths[0])
    info = VideoInfo("folder", name, (first.shape[1], first.shape[0]), FOLDER_FPS, len(paths))

    def frames() -> Iterator[Frame]:
        yield Frame(0, 0.0, first, files[0])
        for number, (path, file) in enumerate(zip(paths[1:], files[1:], strict=True), start=1):
            image = decode_image(path)
            if image is None:
                source.skipped += 1
                continue
            yield Frame(number, number / FOLDER_FPS, image, file)

    source = Source(info, frames())
    return source


def is_camera(spec: str) -> bool:
    """Whether a source names a camera: by its index ("0"), or by its device file."""
    return spec.isdigit() or Path(spec).is_char_device()


def open_source(spec: str | list[str], camera_size_wh: tuple[int, int] | None = None) -> Source:
    """Open a camera index ("0"), URL ("rtsp://..."), image, folder of images or video file,
    or a list of image files; a camera is asked for frames of `camera_size_wh` when given
    (`ask_size`)."""
    if not isinstance(spec, str):
        if len(spec) > 1:
            return open_image_files([str(one) for one in spec])
        spec = spec[0] if spec else ""
    spec = str(spec)
    if not spec.strip():  # an unset shell variable: not the current folder
        raise SourceError(
            "no source given: pass a camera index, a video, an image, a folder or a URL"
        )
    if is_camera(spec):  # an index, or a device file (Linux: /dev/video0)
        target = int(spec) if spec.isdigit() else spec
        return open_capture(spec, "camera", target, camera_size_wh)
    if "://" in spec:
        if is_image_url(spec):
            return open_image_url(spec)
        return open_capture(spec, "stream", spec)
    path = Path(spec)
    if not path.exists():
        raise SourceError(f"no such file or folder: {spec}")
    if path.is_dir():
        return open_folder(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return image_source(read_image(path), spec)
    return open_capture(spec, "video", spec)
