"""/news story shows the story's summary; the bot runs on the services' one clock.

Through the loopback Discord (tests/fakediscord), as tests/test_bot_e2e.py.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from bot.store import digests as digest_store

BACKENDS = ("sqlite", "postgresql")  # the loopback Discord suite on both stores

if TYPE_CHECKING:
    from tests.botharness import Newsroom

pytest_plugins = ["tests.botharness"]

UTC = dt.UTC


async def run_command(newsroom: Newsroom, path: str, options: dict | None = None, **kw: Any):
    """Send a command; return the first response and the final original message (or None)."""
    handle = await newsroom.fake.send_command(path, options or {}, **kw)
    first = await handle.wait_response()
    final = await handle.wait_edit(1) if first["type"] == 5 else None
    return first, final


async def test_news_story_shows_the_story_summary(newsroom: Newsroom) -> None:
    latest = await newsroom.nd.latest_stories(25)
    (bank,) = [s for s in latest if (s.headline or "").startswith("Central bank")]
    async with newsroom.running():
        _, story = await run_command(newsroom, "news story", {"id": bank.id})
    embed = story["embeds"][0]
    assert embed["title"] == "Central bank raises interest rates to curb inflation"
    # The digest's short summary of the headline's article (the lead): its first
    # sentences that do not repeat the headline.
    assert embed["description"] == (
        "Reporters from Daily Planet describe the events of the day in detail, "
        "with comments from officials and residents about the rates."
    )


async def test_the_bot_and_the_services_share_one_clock(newsroom: Newsroom) -> None:
    async with newsroom.running() as bot:
        assert newsroom.nd.clock == newsroom.clock  # the bot's clock= reached the services
        assert bot.scheduler is not None and bot.scheduler.clock() == newsroom.clock_now
        newsroom.clock_now = dt.datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
        assert bot.clock() == newsroom.nd.clock() == bot.scheduler.clock() == newsroom.clock_now
        assert newsroom.nd.ingestor.now() == newsroom.clock_now  # built once, still follows


async def test_digest_preview_and_digest_now_are_of_the_clocks_day(newsroom: Newsroom) -> None:
    async with newsroom.running():
        first, preview = await run_command(newsroom, "digest preview", channel="news")
        shown = str(preview)
        assert "Saturday 1 June 2024" in shown  # the fixed clock's day, not the wall clock's
        assert "Floods force thousands" in shown

        newsroom.clock_now = dt.datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
        _, later = await run_command(newsroom, "digest preview", channel="news")
        assert "Monday 3 June 2024" in str(later)

        newsroom.clock_now = dt.datetime(2024, 6, 1, 7, 30, tzinfo=UTC)
        _, done = await run_command(newsroom, "newsadmin digest now", channel="news")
        assert done["content"].startswith("Posted today's digest")
    record = await digest_store.get_digest(newsroom.nd.db, newsroom.news.id, dt.date(2024, 6, 1))
    assert record is not None and record.status == "sent"
