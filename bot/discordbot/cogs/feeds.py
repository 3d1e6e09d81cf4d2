"""/feeds list | status | add | remove | pause | resume | refresh | export.

Feeds from the operator's settings are shared (guild 0); a feed added here
belongs to this server only: its searches and digests see it, other servers
neither see nor can remove it.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import FeedHealth
from bot.render.discord_embeds import COLOR, discord_timestamp
from bot.render.markdown import clean_text, escape_fit, utf16_len

from ..common import bot_of, guild_scope
from ..convert import no_mentions, to_embed
from ..views import PageLoader, send_paginated

PAGE_SIZE = 8
OPML_FILENAME = "newsdesk-feeds.opml"
REFRESH_COOLDOWN_S = 60.0  # /newsadmin feeds refresh: once a minute per server
AUTOCOMPLETE_MAX = 25
FULLTEXT_CHOICES = [
    app_commands.Choice(name="auto: when the feed gives only a summary", value="auto"),
    app_commands.Choice(name="always", value="always"),
    app_commands.Choice(name="never: use the feed's text as it is", value="never"),
]


def _name(feed: FeedHealth) -> str:
    return clean_text(feed.title or feed.url) or feed.url


def _owner(feed: FeedHealth) -> str:
    return "shared" if feed.guild_id == 0 else "this server"


def _stamp(when: dt.datetime | None, never: str = "never") -> str:
    return discord_timestamp(when) if when else never


def feed_list_line(feed: FeedHealth) -> str:
    state = " · paused" if feed.paused else ""
    if feed.tags:
        state += f" · tags: {escape_fit(', '.join(feed.tags), 100)}"
    return (
        f"`#{feed.id}` **{escape_fit(_name(feed), 120)}** ({_owner(feed)}{state})\n"
        f"{escape_fit(feed.url, 300)}"
    )


def feed_status_line(feed: FeedHealth) -> str:
    parts = [f"`#{feed.id}` **{escape_fit(_name(feed), 100)}** ({_owner(feed)})"]
    parts.append(f"last success {_stamp(feed.last_success_at)}")
    if feed.paused:
        parts.append("**paused**")
    else:
        parts.append(f"next poll {_stamp(feed.next_poll_at, 'soon')}")
    if feed.last_error:
        fails = f" ({feed.consecutive_failures} in a row)" if feed.consecutive_failures else ""
        parts.append(
            f"last error {_stamp(feed.last_error_at, '')}{fails}: {escape_fit(feed.last_error, 200)}"
        )
    return "\n".join([parts[0], " · ".join(parts[1:])])


def pages_loader(lines: Sequence[str], title: str, extra: str = "") -> PageLoader:
    pages = max(1, math.ceil(len(lines) / PAGE_SIZE))

    async def load(page: int) -> tuple[discord.Embed, bool]:
        page = min(page, pages - 1)
        chunk = list(lines[page * PAGE_SIZE : (page + 1) * PAGE_SIZE])
        body = "\n\n".join(chunk) or "No feeds yet. An admin can add one with /newsadmin feeds add."
        if extra and page == 0:
            body = f"{extra}\n\n{body}"
        if utf16_len(body) > 4096:
            body = escape_fit(body, 4096)
        embed: dict[str, Any] = {
            "type": "rich",
            "color": COLOR,
            "title": title,
            "description": body,
            "footer": {"text": f"page {page + 1} of {pages} · {len(lines)} feed(s)"},
        }
        return to_embed(embed), page + 1 < pages

    return load


@app_commands.guild_only()
class Feeds(
    commands.GroupCog, group_name="feeds", group_description="The news feeds this server reads"
):
    """Feed subscriptions and their health."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="list", description="The feeds this server reads")
    async def list_(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        feeds = await bot_of(interaction).services.list_feeds(guild_id=guild_scope(interaction))
        lines = [feed_list_line(f) for f in feeds]
        await send_paginated(interaction, pages_loader(lines, "Feeds"))

    @app_commands.command(name="status", description="Feed health and digest delivery problems")
    async def status(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        bot = bot_of(interaction)
        guild_id = guild_scope(interaction)
        feeds = await bot.services.list_feeds(guild_id=guild_id)
        blocked = await bot.services.forbidden_channels(guild_id=guild_id)
        notes = [
            f"⚠ I may not post in <#{c.channel_id}> (403 since {_stamp_unix(c.last_error_at)}); "
            "digests there are paused until I can. Give me View Channel, Send Messages and "
            "Embed Links there, then run /newsadmin digest now in it."
            for c in blocked
        ]
        notes.extend(bot.digest_schedule_lines(guild_id))
        lines = [feed_status_line(f) for f in feeds]
        loader = pages_loader(lines, "Feed status", extra="\n".join(notes))
        await send_paginated(interaction, loader)

    @app_commands.command(
        name="export", description="The feeds this server reads as an OPML file, for any reader"
    )
    async def export(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True, ephemeral=True)
        data, count = await bot_of(interaction).services.feeds_opml(
            guild_id=guild_scope(interaction)
        )
        await interaction.edit_original_response(
            content=f"{count} feed(s), as OPML: import the file into any feed reader.",
            attachments=[discord.File(io.BytesIO(data), filename=OPML_FILENAME)],
            allowed_mentions=no_mentions(),
        )


def _stamp_unix(when: int | None) -> str:
    return discord_timestamp(when) if when else "a while"


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Feeds(bot))
