"""Numbers and words written in handwriting fonts, read through detection and recognition:
handwriting that is not MNIST's (Debian's fonts-dkg-handwriting and fonts-breip, which README's
test command installs), on a 1280x720 page photographed as in `test_stages`."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from recognizer.classifier import Classifier
from recognizer.core import Frame, box_iou
from recognizer.pipeline import DEFAULT_MIN_CONFIDENCE, detect, recognize
from tests.test_stages import photographed, read_right_mask

FONTS = Path("/usr/share/fonts/truetype")
HANDS = {
    "dkg": FONTS / "fifthhorseman" / "dkg.ttf",
    "dkg bold": FONTS / "fifthhorseman" / "dkgBd.ttf",
    "breip": FONTS / "breip" / "Breip.ttf",
}
WORDS = ["apple", "yellow", "milk", "pick", "notes", "invoice", "street", "todo", "week", "here"]


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    path = HANDS[name]
    if not path.is_file():
        pytest.fail(f"{path} is missing: apt-get install fonts-dkg-handwriting fonts-breip")
    return ImageFont.truetype(str(path), size)


def handwritten_page(name: str, seed: int, numbers: bool) -> tuple[np.ndarray, np.ndarray, list]:
    """A page of numbers of 1-5 digits (or of words) in font `name`, 28-80 px tall, letters
    spaced by an eighth of their height, photographed: (BGR frame, digit boxes xyxy, digits)."""
    rng = np.random.default_rng(seed)
    ink = Image.new("L", (1280, 720), 0)
    draw = ImageDraw.Draw(ink)
    boxes, digits, y = [], [], 60
    while y < 580:
        height = int(rng.integers(28, 80))
        face, x = font(name, int(height * 1.35)), int(rng.integers(40, 120))
        while x < 980:
            count = int(rng.integers(1, 6))
            text = "".join(map(str, rng.integers(0, 10, count))) if numbers else rng.choice(WORDS)
            for char in str(text):
                left, top, right, bottom = draw.textbbox((x, y), char, font=face)
                draw.text((x, y), char, font=face, fill=255)
                if char.isdigit():
                    boxes.append([left, top, right, bottom])
                    digits.append(int(char))
                x = right + int(height * 0.12)
            x += int(rng.integers(20, 120))
        y += int(height * 2.4) + int(rng.integers(0, 30))
    alpha = np.asarray(ink, np.float32)[..., None] / 255
    paper = rng.uniform(200, 240) + np.linspace(-20, 20, 1280, dtype=np.float32)[None, :, None]
    page = np.repeat(paper * (1 - alpha) + rng.uniform(25, 80) * alpha, 3, axis=2)
    frame = cv2.cvtColor(photographed(page, rng), cv2.COLOR_GRAY2BGR)
    return frame, np.float32(boxes).reshape(-1, 4), digits


def read_page(frame: np.ndarray, boxes: np.ndarray, digits: list, model: Path) -> tuple[int, int]:
    """(digits read right, readings over no digit)."""
    read = recognize(detect(Frame(0, 0.0, frame)), Classifier(model), DEFAULT_MIN_CONFIDENCE)
    right = int(read_right_mask(boxes, np.array(digits), read).sum())
    return right, int((box_iou(read.xyxy, boxes).max(axis=1, initial=0) < 0.3).sum())


@pytest.mark.parametrize("name", sorted(HANDS))
def test_numbers_in_handwriting_fonts_are_read(name, shipped_model):
    # Measured: 75, 74 and 75 of 76 digits (breip, dkg, dkg bold), no false digit.
    frame, boxes, digits = handwritten_page(name, 0, numbers=True)
    right, false = read_page(frame, boxes, digits, shipped_model)
    assert right >= len(digits) - 3, (right, len(digits))
    assert false <= 1, false


def test_words_in_handwriting_fonts_give_no_more_false_digits_than_measured(shipped_model):
    # A known limit (README): a handwritten word's o, l, e, s... read as digits on their own,
    # are taken for letters only beside or between letters read surely. Measured on these 3
    # pages of words: 58, 18 and 41 false digits (dkg, dkg bold, breip; 60, 20 and 43
    # before a digit reading between a word's letters was taken for a letter without there being
    # 1.5 times as many letters as digits).
    false = sum(
        read_page(*handwritten_page(name, 1, numbers=False), shipped_model)[1] for name in HANDS
    )
    assert false <= 128, false
