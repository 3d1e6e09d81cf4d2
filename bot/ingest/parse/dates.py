"""Turning the many date spellings publishers use into sane aware UTC datetimes."""

from __future__ import annotations

import re
import time
import warnings
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from dateutil import parser as dateutil_parser
from feedparser.datetimes import _parse_date as feedparser_parse_date

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(days=2)
_MAX_DATE_CHARS = 100
_HAS_DIGIT = re.compile(r"\d")


def sane_datetime(value: datetime | None, *, now: datetime | None = None) -> datetime | None:
    """``value`` as aware UTC, or None when missing, before 1990 or > 2 days ahead.

    Naive datetimes are taken to be UTC.
    """
    if value is None:
        return None
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    now = now or datetime.now(UTC)
    if value < EARLIEST or value > now + MAX_FUTURE:
        return None
    return value.replace(microsecond=0)


def from_struct_time(value: time.struct_time | None) -> datetime | None:
    """feedparser's ``*_parsed`` struct_time (UTC) -> sane datetime or None."""
    if not value:
        return None
    try:
        return sane_datetime(datetime(*value[:6], tzinfo=UTC))
    except (TypeError, ValueError, OverflowError):
        return None


def parse_date(value: object) -> datetime | None:
    """Parse a date given as text (ISO 8601, RFC 822, "September 17, 2023", ...)
    or unix seconds; None when absent, unparseable or not sane."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return sane_datetime(datetime.fromtimestamp(value, UTC))
        except (ValueError, OverflowError, OSError):
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > _MAX_DATE_CHARS or not _HAS_DIGIT.search(text):
        return None
    return sane_datetime(_parse_text_date(text))


def _parse_text_date(text: str) -> datetime | None:
    """Try the strict parsers first, then the forgiving ones."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        pass
    try:
        parsed = feedparser_parse_date(text)
    except Exception:  # feedparser's date handlers are many and loosely written
        parsed = None
    if parsed:
        try:
            year, month, day, hour, minute, second = parsed[:6]
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except (TypeError, ValueError, OverflowError):
            pass
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unknown zone names: UTC is assumed
            return dateutil_parser.parse(text)
    except (ValueError, OverflowError, TypeError, dateutil_parser.ParserError):
        return None
