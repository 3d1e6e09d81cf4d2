"""Terminal (rich) and JSON output of a digest."""

from __future__ import annotations

import datetime as dt
import json

from rich.console import Console

from bot.digest.build import make_sections
from bot.digest.models import Digest, DigestItem
from bot.render.jsonout import digest_to_json
from bot.render.terminal import print_digest, print_search_page
from bot.search.engine import SearchHit, SearchPage
from bot.search.query import Query

UTC = dt.UTC
DAY = dt.date(2024, 6, 3)
WINDOW = (dt.datetime(2024, 6, 2, 6, tzinfo=UTC), dt.datetime(2024, 6, 3, 6, tzinfo=UTC))


def item(story_id=1, **kw) -> DigestItem:
    base = {
        "story_id": story_id,
        "headline": "Storm hits coast",
        "summary": "A storm hit the coast.",
        "source_count": 4,
        "article_count": 6,
        "links": [("AP", "https://ap.example/1"), ("BBC", "https://bbc.example/2")],
        "more_links": 1,
        "published_at": dt.datetime(2024, 6, 3, 5, 30, tzinfo=UTC),
        "category": "World",
        "lead_source": "Lead News",
        "lead_url": "https://lead.example/a",
    }
    base.update(kw)
    return DigestItem(**base)


def digest_of(*items: DigestItem) -> Digest:
    stories = list(items)
    return Digest(
        111,
        DAY,
        *WINDOW,
        items=stories,
        sections=make_sections(stories),
        quiet=not stories,
        timezone="Europe/Paris",
    )


def render(digest: Digest) -> str:
    console = Console(record=True, width=120, color_system=None)
    print_digest(digest, console)
    return console.export_text()


def test_print_digest_shows_sections_story_lines_and_local_time():
    text = render(
        digest_of(
            item(1, headline="[bold]Storm[/bold] hits coast"),
            item(2, headline="Cup final", category="Sport", source_count=1, links=[], more_links=0),
        )
    )
    assert "Daily briefing · Monday 3 June 2024" in text
    assert "World" in text and "Sport" in text
    assert text.index("World") < text.index("Storm") < text.index("Sport") < text.index("Cup final")
    assert "1. [bold]Storm[/bold] hits coast" in text  # article text is never rich markup
    assert "Lead News · Mon 03 Jun 07:30 · also covered by 3 sources" in text  # Paris time
    assert "A storm hit the coast." in text
    assert "- AP https://ap.example/1" in text
    assert "+1 more" in text
    assert "2. Cup final" in text
    assert "also covered by 0" not in text
    assert "2 stories" in text


def test_print_digest_single_list_has_no_section_heading_and_marks_developing():
    text = render(digest_of(item(1, developing=True), item(2, headline="Other", category="World")))
    assert "World" not in text
    assert "developing" in text


def test_print_quiet_digest():
    text = render(digest_of())
    assert "No new stories since the last briefing." in text


def test_digest_to_json_round_trips_through_json():
    digest = digest_of(item(1), item(2, category="Sport", developing=True))
    data = json.loads(json.dumps(digest_to_json(digest)))
    assert data["day"] == "2024-06-03"
    assert data["window_start"] == "2024-06-02T06:00:00+00:00"
    assert [s["story_id"] for s in data["stories"]] == [1, 2]
    assert data["stories"][0]["links"][0] == {"source": "AP", "url": "https://ap.example/1"}
    assert data["stories"][0]["also_covered_by"] == 3
    assert data["stories"][1]["developing"] is True
    assert data["stories"][0]["published_unix"] == int(item().published_at.timestamp())
    assert data["sections"] == [
        {"category": "World", "story_ids": [1]},
        {"category": "Sport", "story_ids": [2]},
    ]
    assert digest_to_json(digest_of())["quiet"] is True


def test_print_search_page():
    hit = SearchHit(
        article_id=1,
        story_id=None,
        title="Storm [red]hits[/red]",
        url="https://h.example/1",
        source="AP",
        published_at=dt.datetime(2024, 6, 1, 12, tzinfo=UTC),
        snippet="a snip",
        category=None,
    )
    page = SearchPage(hits=[hit], total=1, limit=10, offset=0, query=Query("storm"))
    console = Console(record=True, width=100, color_system=None)
    print_search_page(page, console)
    text = console.export_text()
    assert "Search: storm" in text
    assert "Storm [red]hits[/red]" in text
    assert "AP · 2024-06-01 12:00 UTC" in text
    assert "a snip" in text and "https://h.example/1" in text and "showing 1-1 of 1" in text
    console = Console(record=True, width=100, color_system=None)
    print_search_page(SearchPage(hits=[], total=0, limit=10, offset=0, query=Query("")), console)
    assert "No results." in console.export_text()
