"""The one exception every parser raises for input it cannot use."""

from __future__ import annotations


class ParseError(Exception):
    """The input is not what the parser expects (not a feed, bad JSON line, ...).

    The message says what was wrong in plain words, e.g.
    ``"not a feed: the document is HTML"`` or ``"line 12: invalid JSON"``.
    """
