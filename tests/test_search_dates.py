"""Date expressions: local days in two timezones, DST days, ranges and errors."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.search.dates import DateParseError, parse_date_range, parse_day

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
# Wednesday 20 September 2023, 10:00 UTC (12:00 in Paris, 06:00 in New York).
NOW = datetime(2023, 9, 20, 10, 0, tzinfo=UTC)


def local(tz: ZoneInfo, *args: int) -> datetime:
    """A local wall-clock time as aware UTC."""
    return datetime(*args, tzinfo=tz).astimezone(UTC)


def rng(text: str, tz: ZoneInfo = PARIS, now: datetime = NOW) -> tuple[datetime, datetime]:
    return parse_date_range(text, tz=tz, now=now)


@pytest.mark.parametrize("tz", [PARIS, NEW_YORK], ids=["paris", "new_york"])
def test_today_and_yesterday_are_local_days(tz):
    assert rng("today", tz) == (local(tz, 2023, 9, 20), local(tz, 2023, 9, 21))
    assert rng("yesterday", tz) == (local(tz, 2023, 9, 19), local(tz, 2023, 9, 20))


def test_results_are_aware_utc():
    start, end = rng("today")
    assert start.tzinfo == UTC and end.tzinfo == UTC
    assert start == datetime(2023, 9, 19, 22, 0, tzinfo=UTC)  # Paris is UTC+2 in September


def test_today_depends_on_the_timezone_near_midnight():
    late = datetime(2023, 9, 20, 23, 30, tzinfo=UTC)  # already the 21st in Paris
    assert rng("today", PARIS, late)[0] == local(PARIS, 2023, 9, 21)
    assert rng("today", NEW_YORK, late)[0] == local(NEW_YORK, 2023, 9, 20)


def test_naive_now_is_read_as_utc():
    assert rng("today", PARIS, NOW.replace(tzinfo=None)) == rng("today", PARIS, NOW)


def test_dst_spring_forward_day_is_23_hours_in_paris():
    start, end = rng("2023-03-26", PARIS)
    assert start == datetime(2023, 3, 25, 23, 0, tzinfo=UTC)
    assert end == datetime(2023, 3, 26, 22, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=23)


def test_dst_fall_back_day_is_25_hours_in_new_york():
    now = datetime(2023, 11, 5, 18, 0, tzinfo=UTC)
    start, end = rng("today", NEW_YORK, now)
    assert start == datetime(2023, 11, 5, 4, 0, tzinfo=UTC)
    assert end == datetime(2023, 11, 6, 5, 0, tzinfo=UTC)
    assert end - start == timedelta(hours=25)


def test_relative_periods():
    assert rng("last week") == (local(PARIS, 2023, 9, 13), local(PARIS, 2023, 9, 20))
    # 2023-09-20 is a Wednesday: the week started on Monday the 18th.
    assert rng("this week") == (local(PARIS, 2023, 9, 18), local(PARIS, 2023, 9, 25))
    assert rng("this month") == (local(PARIS, 2023, 9, 1), local(PARIS, 2023, 10, 1))
    assert rng("last month") == (local(PARIS, 2023, 8, 21), local(PARIS, 2023, 9, 20))
    assert rng("last 3 days") == (local(PARIS, 2023, 9, 18), local(PARIS, 2023, 9, 21))
    assert rng("past 2 weeks") == (local(PARIS, 2023, 9, 7), local(PARIS, 2023, 9, 21))
    assert rng("2 days ago") == (local(PARIS, 2023, 9, 18), local(PARIS, 2023, 9, 19))


@pytest.mark.parametrize(
    "text",
    [
        "2023-09-17",
        "2023-9-17",
        "2023/09/17",
        "Sep 17 2023",
        "Sep 17, 2023",
        "Sept. 17 2023",
        "17 September 2023",
        "17th September 2023",
        "September 17, 2023",
        "  SEPTEMBER   17,   2023 ",
        '"2023-09-17"',
    ],
)
def test_absolute_day_spellings(text):
    assert rng(text) == (local(PARIS, 2023, 9, 17), local(PARIS, 2023, 9, 18))


def test_day_without_year_is_the_most_recent_one():
    assert rng("Sep 17")[0] == local(PARIS, 2023, 9, 17)
    assert rng("Dec 31")[0] == local(PARIS, 2022, 12, 31)  # not a future date


def test_months_and_years():
    assert rng("2023-09") == (local(PARIS, 2023, 9, 1), local(PARIS, 2023, 10, 1))
    assert rng("December 2023") == (local(PARIS, 2023, 12, 1), local(PARIS, 2024, 1, 1))
    assert rng("2023") == (local(PARIS, 2023, 1, 1), local(PARIS, 2024, 1, 1))


def test_ranges_include_their_last_day():
    expected = (local(PARIS, 2023, 9, 10), local(PARIS, 2023, 9, 18))
    assert rng("2023-09-10..2023-09-17") == expected
    assert rng("2023-09-10 .. 2023-09-17") == expected
    assert rng("Sep 10 2023 to Sep 17 2023") == expected
    assert rng("2023-09 .. 2023-10") == (local(PARIS, 2023, 9, 1), local(PARIS, 2023, 11, 1))
    assert rng("yesterday..today") == (local(PARIS, 2023, 9, 19), local(PARIS, 2023, 9, 21))


@pytest.mark.parametrize(
    "text",
    [
        "blorp",
        "",
        "2023-02-30",
        "2023-13-01",
        "0001-01-01",
        "9999-12-31",
        "last 0 days",
        "last 99999 days",
        "Smarch 3 2023",
        "..",
        "2023-09-10..",
        "a..b..c",
        "today\x00",
    ],
)
def test_unknown_dates_raise_a_clear_error(text):
    with pytest.raises(DateParseError) as info:
        rng(text)
    assert "date" in str(info.value)
    assert "\x00" not in str(info.value)


def test_error_message_names_the_input_and_examples():
    with pytest.raises(DateParseError, match="I don't understand the date 'blorp'. Try today"):
        rng("blorp")


def test_reversed_range_is_an_error():
    with pytest.raises(DateParseError, match="ends before it starts"):
        rng("2023-09-17..2023-09-10")


def test_long_input_is_shortened_in_the_message():
    with pytest.raises(DateParseError) as info:
        rng("x" * 10_000)
    assert len(str(info.value)) < 200


def test_parse_day():
    assert parse_day("yesterday", tz=PARIS, now=NOW) == date(2023, 9, 19)
    assert parse_day("17 September 2023", tz=NEW_YORK, now=NOW) == date(2023, 9, 17)
    with pytest.raises(DateParseError, match="more than one day"):
        parse_day("last week", tz=PARIS, now=NOW)
    with pytest.raises(DateParseError):
        parse_day("whenever", tz=PARIS, now=NOW)


def test_date_parse_error_is_a_value_error():
    assert issubclass(DateParseError, ValueError)
