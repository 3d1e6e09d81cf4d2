"""Human date expressions -> half-open UTC ranges, read in a given timezone.

A "day" is the user's local day: in Europe/Paris ``today`` starts at local
midnight, whatever the UTC offset (DST days are 23 or 25 hours long).

Understood (case-insensitive)::

    today, yesterday, N days ago
    this week      Monday of the current week .. next Monday
    last week      the 7 days before today (today excluded)
    this month     the current calendar month
    last month     the 30 days before today (today excluded)
    last N days    N days ending with today (today included); also "past N days"
    last N weeks   7*N days ending with today
    2023-09-17, 2023-9-7, 2023/09/17
    Sep 17 2023, Sep 17, 2023, September 17, 2023, 17 September 2023, 17 Sep 2023
    Sep 17         (no year: the most recent Sep 17 not after today)
    2023-09, September 2023, Sep 2023    (a whole month)
    2023           (a whole year)
    A..B, A to B   from the start of A to the end of B (B included)

Everything returned is a pair of aware UTC datetimes ``[start, end)``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

__all__ = ["DateParseError", "parse_date_range", "parse_day", "parse_days"]

_MAX_N = 3660  # "last N days" bound: ten years
_SHOWN = 40  # characters of bad input quoted back in an error
_MIN_YEAR, _MAX_YEAR = 1900, 2999  # keeps timezone arithmetic far from datetime's limits

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}
_MONTH = r"(?P<month>[a-z]+)\.?"

_ISO_DAY = re.compile(r"(?P<y>\d{4})[-/](?P<m>\d{1,2})[-/](?P<d>\d{1,2})")
_ISO_MONTH = re.compile(r"(?P<y>\d{4})[-/](?P<m>\d{1,2})")
_YEAR = re.compile(r"(?P<y>\d{4})")
_MONTH_DAY_YEAR = re.compile(_MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{4}))?")
_DAY_MONTH_YEAR = re.compile(
    r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r"(?:,?\s+(?P<y>\d{4}))?"
)
_MONTH_YEAR = re.compile(_MONTH + r",?\s+(?P<y>\d{4})")
_LAST_N = re.compile(r"(?:last|past)\s+(?P<n>\d{1,5})\s+(?P<unit>days?|weeks?)")
_DAYS_AGO = re.compile(r"(?P<n>\d{1,5})\s+days?\s+ago")
_RANGE = re.compile(r"\s*(?:\.\.|\bto\b)\s*")


class DateParseError(ValueError):
    """A date expression we cannot read; the message is meant for the user."""


def _error(text: str) -> DateParseError:
    shown = "".join(ch if ch.isprintable() else " " for ch in text.strip())
    if len(shown) > _SHOWN:
        shown = shown[: _SHOWN - 1] + "…"
    return DateParseError(
        f"I don't understand the date '{shown}'. "
        "Try today, yesterday, 2023-09-17 or 2023-09-10..2023-09-17."
    )


def _normalise(text: str) -> str:
    return " ".join(text.strip().strip('"').lower().split())


def _today(tz: tzinfo, now: datetime) -> date:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(tz).date()


def _midnight(day: date, tz: tzinfo) -> datetime:
    """The first instant of ``day`` in ``tz``, as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def _days(first: date, after_last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    return _midnight(first, tz), _midnight(after_last, tz)


def _make_date(year: int, month: int, day: int, text: str) -> date:
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        raise _error(text)
    try:
        return date(year, month, day)
    except ValueError:
        raise _error(text) from None


def _month_number(name: str, text: str) -> int:
    number = _MONTHS.get(name)
    if number is None:
        raise _error(text)
    return number


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _relative(spec: str, today: date) -> tuple[date, date] | None:
    """Ranges relative to today, as ``(first day, day after the last)``."""
    tomorrow = today + timedelta(days=1)
    fixed = {
        "today": (today, tomorrow),
        "yesterday": (today - timedelta(days=1), today),
        "this week": (today - timedelta(days=today.weekday()), None),
        "last week": (today - timedelta(days=7), today),
        "this month": (today.replace(day=1), _next_month(today)),
        "last month": (today - timedelta(days=30), today),
    }
    if spec in fixed:
        first, end = fixed[spec]
        return first, end or first + timedelta(days=7)
    if match := _LAST_N.fullmatch(spec):
        n = int(match["n"]) * (7 if match["unit"].startswith("week") else 1)
        if not 1 <= n <= _MAX_N:
            return None
        return tomorrow - timedelta(days=n), tomorrow
    if match := _DAYS_AGO.fullmatch(spec):
        n = int(match["n"])
        if n > _MAX_N:
            return None
        day = today - timedelta(days=n)
        return day, day + timedelta(days=1)
    return None


def _absolute(spec: str, today: date, text: str) -> tuple[date, date] | None:
    """Calendar dates, months and years as ``(first day, day after the last)``."""
    if match := _ISO_DAY.fullmatch(spec):
        day = _make_date(int(match["y"]), int(match["m"]), int(match["d"]), text)
        return day, day + timedelta(days=1)
    if match := _ISO_MONTH.fullmatch(spec):
        first = _make_date(int(match["y"]), int(match["m"]), 1, text)
        return first, _next_month(first)
    if match := _YEAR.fullmatch(spec):
        year = int(match["y"])
        return _make_date(year, 1, 1, text), _make_date(year + 1, 1, 1, text)
    for pattern in (_MONTH_DAY_YEAR, _DAY_MONTH_YEAR):
        if match := pattern.fullmatch(spec):
            month = _month_number(match["month"], text)
            if match["y"]:
                day = _make_date(int(match["y"]), month, int(match["d"]), text)
            else:
                day = _make_date(today.year, month, int(match["d"]), text)
                if day > today:  # "Dec 31" read in January means last year's
                    day = _make_date(today.year - 1, month, int(match["d"]), text)
            return day, day + timedelta(days=1)
    if match := _MONTH_YEAR.fullmatch(spec):
        first = _make_date(int(match["y"]), _month_number(match["month"], text), 1, text)
        return first, _next_month(first)
    return None


def _single(spec: str, today: date, text: str) -> tuple[date, date]:
    found = _relative(spec, today) or _absolute(spec, today, text)
    if found is None:
        raise _error(text)
    return found


def _local_range(text: str, today: date) -> tuple[date, date]:
    spec = _normalise(text)
    if not spec:
        raise _error(text)
    parts = _RANGE.split(spec)
    if len(parts) == 1:
        return _single(spec, today, text)
    if len(parts) != 2 or not all(parts):
        raise _error(text)
    first, _ = _single(parts[0], today, text)
    _, end = _single(parts[1], today, text)
    if end <= first:
        raise DateParseError(f"The date range '{_normalise(text)[:_SHOWN]}' ends before it starts.")
    return first, end


def parse_date_range(text: str, *, tz: tzinfo, now: datetime) -> tuple[datetime, datetime]:
    """Read ``text`` as a half-open ``[start, end)`` range of aware UTC datetimes.

    Days are local days in ``tz``; ``now`` (aware; naive means UTC) fixes
    what "today" is. Raises :class:`DateParseError` with a user-facing message.
    """
    first, end = _local_range(text, _today(tz, now))
    return _days(first, end, tz)


def parse_days(text: str, *, tz: tzinfo, now: datetime) -> tuple[date, date]:
    """Read ``text`` as local calendar days: ``(first day, last day)``, both included."""
    first, end = _local_range(text, _today(tz, now))
    return first, end - timedelta(days=1)


def parse_day(text: str, *, tz: tzinfo, now: datetime) -> date:
    """Read ``text`` as one local calendar day (``today``, ``2023-09-17``, ...)."""
    first, end = _local_range(text, _today(tz, now))
    if end - first != timedelta(days=1):
        raise DateParseError(
            f"'{_normalise(text)[:_SHOWN]}' is more than one day; give a single date like 2023-09-17."
        )
    return first
