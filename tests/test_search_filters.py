"""Date and source filters find exactly the articles they should, whichever
way the store narrows the matches.

On SQLite a short date range may bound the full-text matches by article ids
(the ids of the articles published in the range: ids follow storage order,
not publication order), or test each match's date; a source filter may test
each match against the outlets' id set; and only the newest ``RANK_WINDOW``
matches passing the filters are ranked. Each way is forced in turn (by the
store's thresholds) and must give the same answer, computed here from the
records themselves. Articles are stored by ``newsdesk ingest`` in an order
that is not their publication order, at the edges of the range, undated,
and in outlets whose names share a prefix; searches go through
``Newsdesk.search``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.services import Newsdesk
from bot.store import search as search_store

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

START = datetime(2023, 9, 14, tzinfo=UTC)
END = datetime(2023, 9, 21, tzinfo=UTC)  # the range is [START, END)
NOW = datetime(2023, 9, 22, tzinfo=UTC)
SECOND = timedelta(seconds=1)

# (title, source, published; None: undated), in storage (id) order.
RECORDS: list[tuple[str, str, datetime | None]] = [
    ("Harbour crane inside the week", "Coast Gazette", datetime(2023, 9, 19, 12, tzinfo=UTC)),
    ("Harbour crane a month before", "Coast Gazette", datetime(2023, 8, 10, tzinfo=UTC)),
    ("Harbour crane, the range's last second", "Coast Gazette Weekly", END - SECOND),
    ("Harbour crane at the range's end", "Coast Gazette", END),
    ("Harbour crane before the range", "Inland Times", START - SECOND),
    ("Harbour crane after the range", "Inland Times", datetime(2023, 9, 25, tzinfo=UTC)),
    ("Harbour crane, no date given", "Coast Gazette", None),
    ("Harbour crane stored late, published early", "Coast Gazette", START),
    ("Harbour crane mid-week inland", "Inland Times", datetime(2023, 9, 17, tzinfo=UTC)),
    ("Harbour crane in another outlet", "Harbour Herald", datetime(2023, 9, 16, tzinfo=UTC)),
    ("Harbour crane ferry notes", "Coast Gazette", datetime(2023, 9, 1, tzinfo=UTC)),
    ("Harbour crane stored last, in the range", "Inland Times", datetime(2023, 9, 15, tzinfo=UTC)),
]
TITLES = [title for title, _source, _published in RECORDS]

# How the SQLite store narrows: (BOUND_WALK_MAX, WALK_COST, OUTLET_SET_MAX).
WAYS = {
    "id bound, row tests": (-1, 8, -1),  # the bound is always looked up, no outlet set
    "date tests, outlet set": (10**6, 0, 10**6),  # each match's date tested, outlet set
    "as configured": (
        search_store.BOUND_WALK_MAX,
        search_store.WALK_COST,
        search_store.OUTLET_SET_MAX,
    ),
}


def _write(path: Path, records: list[tuple[str, str, datetime | None]]) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i, (title, source, published) in enumerate(records):
            record: dict[str, Any] = {
                "url": f"https://news.example/{i}",
                "title": title,
                "text": f"{title}. Dock workers report on item {i * 37} of the port log.",
                "source": source,
            }
            if published is not None:
                record["published_at"] = published.strftime("%Y-%m-%dT%H:%M:%SZ")
            out.write(json.dumps(record) + "\n")


@pytest.fixture
def ingested(store_url: str, tmp_path: Path, cli_isolated: None) -> Iterator[str]:
    """The store, with RECORDS stored by ``newsdesk ingest`` in their order."""
    path = tmp_path / "records.jsonl"
    _write(path, RECORDS)
    assert main(["--db", store_url, "ingest", str(path)]) == 0
    yield store_url


@pytest.fixture(params=list(WAYS))
def way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    walk_max, walk_cost, set_max = WAYS[request.param]
    monkeypatch.setattr(search_store, "BOUND_WALK_MAX", walk_max)
    monkeypatch.setattr(search_store, "WALK_COST", walk_cost)
    monkeypatch.setattr(search_store, "OUTLET_SET_MAX", set_max)
    return str(request.param)


def _expected(
    start: datetime | None, end: datetime | None, source: str | None, undated_at: datetime
) -> set[str]:
    found = set()
    for title, outlet, published in RECORDS:
        when = undated_at if published is None else published
        if start is not None and when < start:
            continue
        if end is not None and when >= end:
            continue
        if source is not None and not outlet.lower().startswith(source.lower()):
            continue
        found.add(title)
    return found


async def _titles(desk: Newsdesk, text: str, **filters: Any) -> tuple[set[str], int]:
    page = await desk.search(text, limit=50, now=NOW, tz=UTC, **filters)
    titles = [hit.title for hit in page.hits]
    assert len(titles) == len(set(titles))
    return set(titles), page.total


async def test_filters_find_exactly_the_articles_in_range_and_outlet(ingested: str, way: str):
    desk = await Newsdesk.open(load_settings(None), database=ingested)
    try:
        everything = await desk.search("crane", limit=50, now=NOW, tz=UTC)
        assert {hit.title for hit in everything.hits} == set(TITLES)
        undated = [hit for hit in everything.hits if not hit.dated]
        assert [hit.title for hit in undated] == ["Harbour crane, no date given"]
        undated_at = undated[0].published_at  # when it was first seen
        cases: list[tuple[datetime | None, datetime | None, str | None]] = [
            (START, END, None),
            (START, END, "coast gazette"),  # also "Coast Gazette Weekly"
            (START, END, "Inland"),
            (START, START + SECOND, None),  # the first second only
            (END - SECOND, END, None),  # the last second only
            (datetime(2023, 8, 1, tzinfo=UTC), datetime(2023, 9, 2, tzinfo=UTC), None),
            (START, None, None),  # open-ended: up to the undated article's day
            (None, END, "Coast"),
            (None, None, "Coast Gazette W"),
            (None, None, "Harbour"),
            (undated_at - timedelta(days=1), undated_at + timedelta(days=1), None),
            (datetime(2023, 9, 26, tzinfo=UTC), datetime(2023, 9, 30, tzinfo=UTC), None),
        ]
        for start, end, source in cases:
            expected = _expected(start, end, source, undated_at)
            found, total = await _titles(desk, "crane", date_from=start, date_to=end, source=source)
            assert found == expected, (way, start, end, source)
            assert total == len(expected)
            # Counted when the page is not the last, also for a server (visibility).
            for guild in (None, 5):
                page = await desk.search(
                    "crane",
                    limit=2,
                    now=NOW,
                    tz=UTC,
                    guild_id=guild,
                    date_from=start,
                    date_to=end,
                    source=source,
                )
                assert (page.total, page.total_capped) == (len(expected), False)
            # Two words (an AND) and a word found in a few articles only.
            found, _total = await _titles(
                desk, "harbour crane", date_from=start, date_to=end, source=source
            )
            assert found == expected, (way, start, end, source)
            late = {title for title in expected if "late" in title}
            found, _total = await _titles(desk, "late", date_from=start, date_to=end, source=source)
            assert found == late, (way, start, end, source)
        # A source filter written in the query, and an excluded one.
        found, _total = await _titles(desk, "crane source:inland -source:coast")
        assert found == _expected(None, None, "inland", undated_at)
        found, _total = await _titles(desk, "crane -source:coast", date_from=START, date_to=END)
        assert found == _expected(START, END, None, undated_at) - _expected(
            START, END, "coast", undated_at
        )
    finally:
        await desk.close()


async def test_the_rank_window_is_taken_among_the_filtered_matches(
    ingested: str, way: str, monkeypatch: pytest.MonkeyPatch
):
    """With a window of two, the two articles in range are both found although
    newer matches outside the range were stored between and after them."""
    monkeypatch.setattr(search_store, "RANK_WINDOW", 2)
    desk = await Newsdesk.open(load_settings(None), database=ingested)
    try:
        week = {"date_from": START, "date_to": START + timedelta(days=2)}
        found, _total = await _titles(desk, "crane", **week)
        assert found == {
            "Harbour crane stored late, published early",
            "Harbour crane stored last, in the range",
        }
        found, _total = await _titles(desk, "crane", source="Coast Gazette W")
        assert found == {"Harbour crane, the range's last second"}
        found, _total = await _titles(desk, "crane", source="Inland", **week)
        assert found == {"Harbour crane stored last, in the range"}
    finally:
        await desk.close()
