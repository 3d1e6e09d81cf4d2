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
from bot.store import digests as digest_store

from ..checks import can_manage, ensure_can_manage, manage_guild_only
from ..common import bot_of, guild_scope, reply
from ..convert import no_mentions, to_embed
from ..views import PageLoader, send_paginated

PAGE_SIZE = 8
OPML_FILENAME = "newsdesk-feeds.opml"
REFRESH_COOLDOWN_S = 60.0  # /feeds refresh: once a minute per server
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
        body = "\n\n".join(chunk) or "No feeds yet. An admin can add one with /feeds add."
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
        blocked = await digest_store.forbidden_channels(bot.services.db, guild_id=guild_id)
        notes = [
            f"⚠ I may not post in <#{c.channel_id}> (403 since {_stamp_unix(c.last_error_at)}); "
            "digests there are paused until I can. Give me View Channel, Send Messages and "
            "Embed Links there, then run /digest now in it."
            for c in blocked
        ]
        notes.extend(bot.digest_schedule_lines(guild_id))
        lines = [feed_status_line(f) for f in feeds]
        loader = pages_loader(lines, "Feed status", extra="\n".join(notes))
        await send_paginated(interaction, loader)

    @app_commands.command(
        name="add", description="Subscribe this server to a feed (RSS, Atom or JSON Feed)"
    )
    @app_commands.describe(
        url="The feed's address, https://…",
        fulltext="Fetch each article's page for its full text (default: auto)",
    )
    @app_commands.choices(fulltext=FULLTEXT_CHOICES)
    @manage_guild_only()
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 8, 2000],
        fulltext: app_commands.Choice[str] | None = None,
    ) -> None:
        ensure_can_manage(interaction)
        await interaction.response.defer(thinking=True, ephemeral=True)
        nd = bot_of(interaction).services
        try:
            feed = await nd.add_feed(
                url,
                guild_id=guild_scope(interaction),
                added_by=interaction.user.id,
                fulltext=fulltext.value if fulltext else None,
            )
        except OSError as exc:  # DNS failure or a blocked address
            raise ValueError(f"I cannot reach {url}: {exc}") from None
        text = f"Added feed `#{feed.id}` **{escape_fit(_name(feed), 150)}** for this server."
        if feed.fulltext:
            text += f" Full text: {feed.fulltext}."
        await reply(interaction, text)

    @app_commands.command(
        name="remove", description="Unsubscribe this server from one of its feeds"
    )
    @app_commands.describe(feed="The feed to remove (start typing its name)")
    @manage_guild_only()
    async def remove(self, interaction: discord.Interaction, feed: int) -> None:
        ensure_can_manage(interaction)
        await interaction.response.defer(thinking=True, ephemeral=True)
        nd = bot_of(interaction).services
        removed = await nd.remove_feed(feed, guild_id=guild_scope(interaction))
        if removed:
            text = f"Removed feed `#{feed}`."
        else:
            text = (
                f"This server has no feed `#{feed}`. Shared feeds are set by the bot's operator "
                "and cannot be removed here; see /feeds list."
            )
        await reply(interaction, text)

    @remove.autocomplete("feed")
    async def remove_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        if not can_manage(interaction):
            return []
        guild_id = guild_scope(interaction)
        feeds = await bot_of(interaction).services.list_feeds(guild_id=guild_id)
        needle = current.strip().casefold()
        choices = []
        for f in feeds:
            if f.guild_id != guild_id:
                continue  # shared feeds cannot be removed from Discord
            label = f"#{f.id} {_name(f)} — {f.url}"
            if needle and needle not in label.casefold():
                continue
            choices.append(app_commands.Choice(name=label[:100], value=f.id))
            if len(choices) == AUTOCOMPLETE_MAX:
                break
        return choices

    async def _own_feed(self, interaction: discord.Interaction, ref: str) -> FeedHealth | None:
        """This server's own feed ``ref`` names (id or URL); None after telling the user."""
        guild_id = guild_scope(interaction)
        feed = await bot_of(interaction).services.find_feed(ref, guild_id=guild_id)
        if feed is not None and feed.guild_id == guild_id:
            return feed
        shown = escape_fit(ref.strip(), 200)
        if feed is not None:
            text = (
                f"`#{feed.id}` is a shared feed, set by the bot's operator; it cannot be paused "
                "or resumed here."
            )
        else:
            text = f"This server has no feed {shown}; see /feeds list."
        await reply(interaction, text)
        return None

    @app_commands.command(name="pause", description="Stop reading one of this server's feeds")
    @app_commands.describe(feed="The feed to pause: its number or address (start typing)")
    @manage_guild_only()
    async def pause(
        self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, 2000]
    ) -> None:
        ensure_can_manage(interaction)
        await interaction.response.defer(thinking=True, ephemeral=True)
        found = await self._own_feed(interaction, feed)
        if found is None:
            return
        name = escape_fit(_name(found), 150)
        if found.paused:
            await reply(interaction, f"Feed `#{found.id}` **{name}** is already paused.")
            return
        await bot_of(interaction).services.pause_feed(found.id)
        await reply(
            interaction,
            f"Paused feed `#{found.id}` **{name}**. Resume it with /feeds resume.",
        )

    @app_commands.command(
        name="resume", description="Read a paused feed again (also one paused after failures)"
    )
    @app_commands.describe(feed="The feed to resume: its number or address (start typing)")
    @manage_guild_only()
    async def resume(
        self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, 2000]
    ) -> None:
        ensure_can_manage(interaction)
        await interaction.response.defer(thinking=True, ephemeral=True)
        found = await self._own_feed(interaction, feed)
        if found is None:
            return
        name = escape_fit(_name(found), 150)
        if not found.paused:
            await reply(interaction, f"Feed `#{found.id}` **{name}** is not paused.")
            return
        await bot_of(interaction).services.resume_feed(found.id)
        await reply(
            interaction, f"Resumed feed `#{found.id}` **{name}**: it is read at the next poll."
        )

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

    @app_commands.command(
        name="refresh", description="Fetch this server's feeds now, without waiting for the poll"
    )
    @app_commands.checks.cooldown(1, REFRESH_COOLDOWN_S, key=lambda i: i.guild_id)
    @manage_guild_only()
    async def refresh(self, interaction: discord.Interaction) -> None:
        ensure_can_manage(interaction)
        await interaction.response.defer(thinking=True, ephemeral=True)
        report = await bot_of(interaction).services.poll_once(
            everything=True, guild_id=guild_scope(interaction)
        )
        if not report.due:
            await reply(interaction, "There is no active feed to fetch; see /feeds list.")
            return
        text = (
            f"Fetched {report.due} feed(s): {report.new_articles} new article(s), "
            f"{report.fetched + report.not_modified} read, {report.failed} failed."
        )
        if report.failed:
            text += " See /feeds status for the errors."
        await reply(interaction, text)

    async def _own_choices(
        self, interaction: discord.Interaction, current: str, *, paused: bool
    ) -> list[app_commands.Choice[str]]:
        if not can_manage(interaction):
            return []
        guild_id = guild_scope(interaction)
        feeds = await bot_of(interaction).services.list_feeds(guild_id=guild_id)
        needle = current.strip().casefold()
        choices = []
        for f in feeds:
            if f.guild_id != guild_id or f.paused != paused:
                continue
            label = f"#{f.id} {_name(f)} — {f.url}"
            if needle and needle not in label.casefold():
                continue
            choices.append(app_commands.Choice(name=label[:100], value=str(f.id)))
            if len(choices) == AUTOCOMPLETE_MAX:
                break
        return choices

    @pause.autocomplete("feed")
    async def pause_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._own_choices(interaction, current, paused=False)

    @resume.autocomplete("feed")
    async def resume_autocomplete(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return await self._own_choices(interaction, current, paused=True)


def _stamp_unix(when: int | None) -> str:
    return discord_timestamp(when) if when else "a while"


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Feeds(bot))
