"""Errors the library raises; only `cli.py` turns them into exit codes.

Every message is one line that says what is wrong and what to do about it.
"""


class RecognizerError(Exception):
    """Base class: a problem the user can fix, reported without a traceback."""


class SourceError(RecognizerError):
    """A camera, video, image, folder or URL that cannot be opened or read."""


class ModelError(RecognizerError):
    """A model file that is missing, corrupt or of the wrong shape."""


class DataError(RecognizerError):
    """Training or evaluation data that is missing or malformed."""


class OutputError(RecognizerError):
    """An output path that cannot be written."""


class Interrupted(RecognizerError):
    """Work stopped by Ctrl-C after saving what could be saved."""
