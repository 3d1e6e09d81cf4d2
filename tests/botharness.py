"""The Newsdesk bot against the loopback Discord, over a real temporary store.

Use from a test module (import this module's names only under TYPE_CHECKING,
or pytest cannot rewrite its asserts)::

    pytest_plugins = ["tests.botharness"]

    async def test_x(newsroom):
        async with newsroom.running() as bot:
            handle = await newsroom.fake.send_command("help")

``newsroom`` is a fake Discord with one server ("Newsroom": channels news,
general and locked, where the bot may not post; members alice and bob, no
admin rights; the owner is an admin), settings whose digest channels are
news and locked (08:00 UTC), and a :class:`~bot.services.Newsdesk` seeded
through the real ingest pipeline. The bot's clock is fixed at
:data:`CLOCK_START` (before the day's digest) so start-up catch-up only
records the day before as missed; tests fire the digest job themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings, load_settings
from bot.discordbot.app import NewsdeskBot
from bot.models import Entry
from bot.services import Newsdesk
from tests.conftest import shared_path
from tests.fakediscord import FakeChannel, FakeDiscord, FakeGuild, FakeMember
from tests.fakediscord.fixtures import fake_discord  # noqa: F401  (fixture)

UTC = dt.UTC
DIGEST_DAY = dt.date(2024, 6, 1)
SLOT = dt.datetime(2024, 6, 1, 8, 0, tzinfo=UTC)  # 08:00 UTC digest on DIGEST_DAY
CLOCK_START = dt.datetime(2024, 6, 1, 7, 0, tzinfo=UTC)
FLOOD_ARTICLES = 12  # -> 3 pages of 5 in /news search

OUTLETS = ("Daily Planet", "Gotham Gazette", "Metro Herald")
TOPICS = (
    ("Floods force thousands from homes in river valley", "flood"),
    ("Central bank raises interest rates to curb inflation", "rates"),
    ("Astronomers spot comet visible to the naked eye", "comet"),
    ("City council approves new tram line after long debate", "tram"),
    ("Heatwave breaks temperature records across the south", "heat"),
)


def seed_entries() -> list[Entry]:
    """Five stories covered by three outlets each, plus extra flood articles for paging."""
    entries: list[Entry] = []
    base = dt.datetime(2024, 5, 31, 12, 0, tzinfo=UTC)
    for t, (title, slug) in enumerate(TOPICS):
        for o, outlet in enumerate(OUTLETS):
            entries.append(
                Entry(
                    title=title if o == 0 else f"{title} ({outlet})",
                    url=f"https://{outlet.split()[0].lower()}.example/{slug}-{t}",
                    published_at=base + dt.timedelta(hours=t, minutes=10 * o),
                    summary=f"{title}. Reporters from {outlet} describe the events of the day "
                    f"in detail, with comments from officials and residents about the {slug}.",
                    content=None,
                    source=outlet,
                )
            )
    for n in range(FLOOD_ARTICLES - len(OUTLETS)):
        entries.append(
            Entry(
                title=f"Flood update {n}: river level bulletin number {n} for district {n}",
                url=f"https://bulletins.example/flood-{n}",
                published_at=base + dt.timedelta(hours=6, minutes=n),
                summary=f"Bulletin {n} on the flood in district {n}: water levels and road closures.",
                source="River Authority",
            )
        )
    return entries


@dataclass
class Newsroom:
    """Everything an end-to-end test needs; see the module docstring."""

    fake: FakeDiscord
    guild: FakeGuild
    news: FakeChannel
    general: FakeChannel
    locked: FakeChannel
    alice: FakeMember
    bob: FakeMember
    settings: Settings
    nd: Newsdesk
    tmp: Path
    clock_now: dt.datetime = CLOCK_START
    bots: list[NewsdeskBot] = field(default_factory=list)

    def clock(self) -> dt.datetime:
        return self.clock_now

    def reconfigure(self, **changes: Any) -> Settings:
        """New settings as the operator would write them (this newsroom's database
        and guild, the defaults of :func:`make_settings`, private addresses allowed
        for the loopback feeds, then ``changes``); the services read them too."""
        values: dict[str, Any] = {
            "database": self.settings.database,
            "guild_ids": self.settings.guild_ids,
            "timezone": "UTC",
            "digest_grace_hours": 3,
            "allow_private_addresses": True,
            **changes,
        }
        self.settings = self.nd.settings = load_settings(env_file=None, **values)
        return self.settings

    def make_bot(self, **kwargs: Any) -> NewsdeskBot:
        bot = NewsdeskBot(
            self.settings,
            self.nd,
            poll_feeds=False,
            clock=self.clock,
            guild_ready_timeout=0.05,
            **kwargs,
        )
        self.bots.append(bot)
        return bot

    @contextlib.asynccontextmanager
    async def running(self, **kwargs: Any) -> AsyncIterator[NewsdeskBot]:
        """Start a bot on the fake, wait for ready and its start-up catch-up."""
        bot = self.make_bot(**kwargs)
        async with self.fake.running(bot):
            await wait_started(bot)
            yield bot

    def channel_posts(self, channel: FakeChannel) -> list[dict[str, Any]]:
        """Messages the bot posted itself (not interaction replies) in ``channel``."""
        return [m for m in self.fake.messages[channel.id] if "webhook_id" not in m]

    def posts_to(self, channel: FakeChannel) -> list[Any]:
        """Every POST the bot made to the channel's messages endpoint (any status)."""
        path = f"/channels/{channel.id}/messages"
        return [r for r in self.fake.requests if r.method == "POST" and r.path == path]


async def wait_started(bot: NewsdeskBot) -> None:
    """Until the scheduler is running and the start-up catch-up has finished."""
    await bot.wait_until_ready()
    for _ in range(500):
        if bot.scheduler is not None and bot._catch_up is not None:
            break
        await _tick()
    assert bot._catch_up is not None, "the scheduler did not start"
    await bot._catch_up


async def _tick() -> None:
    await asyncio.sleep(0.01)


def make_settings(
    tmp: Path, guild: FakeGuild, channels: list[FakeChannel], **extra: Any
) -> Settings:
    """Settings as the operator would write them, pointing at the fake's ids."""
    values: dict[str, Any] = {
        "database": tmp / "newsdesk.db",
        "guild_ids": [guild.id],
        "digest_channels": ";".join(f"{c.id} 08:00 UTC" for c in channels),
        "timezone": "UTC",
        "digest_grace_hours": 3,
    }
    values.update(extra)
    return load_settings(env_file=None, **values)


@pytest.fixture
async def newsroom(
    fake_discord: FakeDiscord,  # noqa: F811
    tmp_path: Path,
    store_url: str,
) -> AsyncIterator[Newsroom]:
    """A newsroom on the test's store (a file, or PostgreSQL in a module with BACKENDS)."""
    shared_path("discord-api-spec", "openapi.json")
    guild = fake_discord.add_guild("Newsroom", channels=["news", "general"])
    locked = guild.add_channel("locked", bot_can_send=False)
    alice = guild.add_member("alice")
    bob = guild.add_member("bob")
    news, general = guild.channel("news"), guild.channel("general")
    settings = make_settings(
        tmp_path, guild, [news, locked], allow_private_addresses=True, database=store_url
    )
    nd = await Newsdesk.open(settings)
    try:
        await nd.ingest_entries(seed_entries())
        yield Newsroom(
            fake=fake_discord,
            guild=guild,
            news=news,
            general=general,
            locked=locked,
            alice=alice,
            bob=bob,
            settings=settings,
            nd=nd,
            tmp=tmp_path,
        )
    finally:
        await nd.close()
