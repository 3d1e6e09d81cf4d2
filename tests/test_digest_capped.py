"""Issue 14: when the per-outlet cap leaves stories out, the digest says "+N more from Outlet"."""

from __future__ import annotations

import datetime as dt
import io

from rich.console import Console

from bot.config import DigestChannel, load_settings
from bot.digest.rank import Candidate, capped_out, rank
from bot.models import Entry
from bot.render.discord_embeds import capped_text, render_digest_messages
from bot.render.jsonout import digest_to_json
from bot.render.terminal import print_digest
from bot.services import Newsdesk

pytest_plugins = ["tests.botharness"]

UTC = dt.UTC
DAY = dt.date(2024, 6, 1)
START = dt.datetime(2024, 5, 31, 8, tzinfo=UTC)
END = START + dt.timedelta(days=1)

TOPICS = [
    "Volcano erupts on remote island, flights grounded across the region",
    "Chess prodigy wins world title after marathon tiebreak match",
    "Bakery chain recalls bread over undeclared sesame allergen",
    "Museum returns looted bronze statues to their country of origin",
    "Satellite launch delayed by strong winds at the coastal spaceport",
    "Marathon runners battle record heat on the city course",
]


def entry(title: str, outlet: str, n: int) -> Entry:
    return Entry(
        title=title,
        url=f"https://{outlet.split()[0].lower()}.example/{n}",
        published_at=START + dt.timedelta(hours=1 + n),
        summary=f"{title}. Full report from {outlet} with details of what happened today.",
        source=outlet,
    )


def test_capped_out_counts_only_stories_no_outlet_had_room_for() -> None:
    t = int(START.timestamp()) + 3600
    cands = [
        Candidate(1, 1, t + 50, "a"),
        Candidate(2, 1, t + 40, "a"),
        Candidate(3, 1, t + 30, "a"),  # a is full: left out, counted under a
        Candidate(4, 1, t + 25, "b"),
        Candidate(5, 1, t + 20, "a", alternates=("b",)),  # a is full, b has room: led by b
        Candidate(6, 1, t + 10, "b", alternates=("a",)),  # both full: counted under b
    ]
    chosen = rank(cands, window_start=START, window_end=END, max_stories=10, per_source_max=2)
    assert sorted((c.story_id, c.lead_source) for c in chosen) == [
        (1, "a"),
        (2, "a"),
        (4, "b"),
        (5, "b"),
    ]
    assert capped_out(cands, chosen, per_source_max=2) == {"a": 1, "b": 1}
    # Left out by max_stories, not by the cap: nothing to say.
    few = rank(cands, window_start=START, window_end=END, max_stories=1, per_source_max=2)
    assert capped_out(cands, few, per_source_max=2) == {}


def test_capped_text() -> None:
    assert capped_text([]) == ""
    assert capped_text([("Daily Planet", 2)]) == "+2 more from Daily Planet"
    many = [("A", 3), ("B", 2), ("C", 1), ("D", 1), ("E", 1)]
    assert (
        capped_text(many)
        == "+3 more from A, +2 more from B, +1 more from C, +2 more from other outlets"
    )
    long = capped_text([("The Extraordinarily Long Name of a Newspaper", 1)])
    assert long.endswith("…") and len(long) < 45


async def test_digest_says_how_many_more_stories_an_outlet_had(tmp_path) -> None:
    settings = load_settings(
        env_file=None, database=tmp_path / "n.db", digest_per_source_max=3, timezone="UTC"
    )
    nd = await Newsdesk.open(settings, clock=lambda: END + dt.timedelta(hours=1))
    try:
        entries = [entry(title, "Mega Outlet", n) for n, title in enumerate(TOPICS[:5])]
        entries.append(entry(TOPICS[5], "Small Paper", 9))
        await nd.ingest_entries(entries)
        channel = DigestChannel(channel_id=1, time=dt.time(8), timezone="UTC", max_stories=10)
        digest = await nd.build_digest(channel, DAY)
    finally:
        await nd.close()
    assert len(digest.items) == 4
    assert digest.capped == [("Mega Outlet", 2)]

    (message,) = render_digest_messages(digest)
    footer = message["embeds"][-1]["footer"]["text"]
    assert "· +2 more from Mega Outlet ·" in footer
    assert digest_to_json(digest)["more_from"] == [{"source": "Mega Outlet", "stories": 2}]
    out = io.StringIO()
    print_digest(digest, Console(file=out, width=80, color_system=None))
    assert "4 stories · +2 more from Mega Outlet" in out.getvalue()


async def test_the_posted_digest_says_it_over_the_loopback_discord(newsroom) -> None:
    newsroom.settings = newsroom.settings.model_copy(update={"digest_per_source_max": 1})
    newsroom.nd.settings = newsroom.settings
    slot = dt.datetime(2024, 6, 1, 8, 0, tzinfo=UTC)
    async with newsroom.running() as bot:
        result = await bot.scheduler.digest_job(newsroom.news.id, now=slot)
        digest = await newsroom.nd.build_digest(
            bot.resolve_channel(newsroom.settings.channels[0]), DAY, now=slot
        )
    assert result.result == "sent"
    assert digest.capped  # five stories, three outlets, one story each
    posts = newsroom.channel_posts(newsroom.news)
    footer = posts[-1]["embeds"][-1]["footer"]["text"]
    name, count = digest.capped[0]
    assert f"+{count} more from {name}" in footer
