"""Issue 14: /news search and /news date read days in the channel's timezone."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.test_bot_e2e import run_command

BACKENDS = ("sqlite", "postgresql")  # the loopback Discord suite on both stores

if TYPE_CHECKING:
    from tests.botharness import Newsroom

pytest_plugins = ["tests.botharness", "tests.httpserver"]


def use_channel_timezones(newsroom: Newsroom) -> None:
    """news keeps UTC; general is a digest channel in Kiritimati (UTC+14)."""
    newsroom.reconfigure(
        digest_channels=f"{newsroom.news.id} 08:00 UTC; {newsroom.general.id} 08:00 Pacific/Kiritimati",
    )


async def test_news_date_reads_the_day_in_the_channels_timezone(newsroom: Newsroom) -> None:
    # The seeded stories were published on 31 May 2024, 12:00-18:00 UTC: that is
    # 1 June in Kiritimati.
    use_channel_timezones(newsroom)
    async with newsroom.running():
        _, _, utc_day = await run_command(
            newsroom, "news date", {"when": "2024-05-31"}, channel="news"
        )
        _, _, kiri_may = await run_command(
            newsroom, "news date", {"when": "2024-05-31"}, channel="general"
        )
        _, _, kiri_june = await run_command(
            newsroom, "news date", {"when": "2024-06-01"}, channel="general"
        )
    assert "Central bank raises" in utc_day["embeds"][0]["description"]
    assert utc_day["embeds"][0]["title"] == "Stories: 2024-05-31 · UTC time"
    assert "Central bank raises" not in kiri_may["embeds"][0]["description"]
    assert "Central bank raises" in kiri_june["embeds"][0]["description"]
    assert kiri_june["embeds"][0]["title"] == "Stories: 2024-06-01 · Pacific/Kiritimati time"


async def test_news_search_dates_are_the_channels_days(newsroom: Newsroom) -> None:
    use_channel_timezones(newsroom)
    async with newsroom.running():
        _, _, utc = await run_command(
            newsroom, "news search", {"query": "comet", "from": "2024-06-01"}, channel="news"
        )
        _, _, kiri = await run_command(
            newsroom, "news search", {"query": "comet", "from": "2024-06-01"}, channel="general"
        )
        _, _, kiri_query = await run_command(
            newsroom, "news search", {"query": "comet date:2024-06-01"}, channel="general"
        )
    assert "comet" not in utc["embeds"][0]["description"].casefold()
    assert "Astronomers spot comet" in kiri["embeds"][0]["description"]
    assert "Astronomers spot comet" in kiri_query["embeds"][0]["description"]
