"""recognizer: real-time handwritten digit recognition in video."""

__version__ = "0.1.0"
