"""The one exception every parser raises for input it cannot use."""

from __future__ import annotations


class ParseError(Exception):
    """The input is not what the parser expects (not a feed, bad JSON line, ...).

    The message says what was wrong in plain words, e.g.
    ``"not a feed: the document is HTML"`` or ``"line 12: invalid JSON"``.
    """


class NotAnArticle(ParseError):
    """The input was read, but it is not an article: a redirect stub, an error
    page, a site page with no article body, an image, a log file...

    The message names what it is, e.g. ``"not an article: a redirect stub
    ('Object Moved')"``. Callers that only care whether a page is usable
    catch :class:`ParseError`; the ingest summary lists these as *skipped*
    rather than *failed*.
    """
