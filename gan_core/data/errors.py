"""The error every user-fixable data problem raises, and the printable form of file names used in its messages.

``DataError`` (a ``ValueError``) carries a message that says what to do; ``display_name`` turns any file or
zip-member name (bytes, a path, text with lone surrogates) into text that can always be printed and sent to
a browser. Re-exported by ``images.py``, where callers import them from.
"""
from __future__ import annotations

import os


class DataError(ValueError):
    """A user-fixable data problem; the message says what to do."""


def display_name(name) -> str:
    """A file name as text that can always be printed and sent to a browser: undecodable bytes (which the OS
    hands over as lone surrogates) and lone surrogates become U+FFFD."""
    name = os.fsdecode(name) if isinstance(name, (bytes, os.PathLike)) else str(name)
    try:
        raw = name.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raw = name.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", "replace")
