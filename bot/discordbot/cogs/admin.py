"""/newsadmin: the commands that change what this server reads and gets (Manage Server).

``/newsadmin feeds add | remove | pause | resume | refresh`` and
``/newsadmin digest now``. The group carries
``default_permissions(manage_guild=True)``: Discord applies
``default_member_permissions`` to top-level commands only, so the admin
commands live in a group of their own and members without Manage Server do
not even see them (a server can change that in its integration settings).
Every handler still checks Manage Server itself (:mod:`..checks`): a
handler never trusts that the client enforced anything.
"""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.models import FeedHealth
from bot.render.markdown import escape_fit

from ..checks import can_manage, ensure_can_manage, manage_guild_only
from ..common import bot_of, guild_scope, reply
from .digest import RESULT_TEXT
from .feeds import AUTOCOMPLETE_MAX, FULLTEXT_CHOICES, REFRESH_COOLDOWN_S, _name

GROUP_NAME = "newsadmin"


@app_commands.guild_only()
@app_commands.default_permissions(manage_guild=True)
class Admin(
    commands.GroupCog,
    group_name=GROUP_NAME,
    group_description="Manage this server's news feeds and digest (Manage Server)",
):
    """Feed subscriptions and digests, for the server's managers."""

    feeds = app_commands.Group(name="feeds", description="Manage the feeds this server reads")
    digest = app_commands.Group(name="digest", description="The daily digest, by hand")

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @feeds.command(
        name="add", description="Subscribe this server to a feed (RSS, Atom or JSON Feed)"
    )
    @app_commands.describe(
        url="The feed's address, https://…",
        fulltext="Fetch each article's page for its full text (default: auto)",
        tags="Tags for routing, separated by commas (digest channels with tags= get its stories)",
    )
    @app_commands.choices(fulltext=FULLTEXT_CHOICES)
    @manage_guild_only()
    async def add(
        self,
        interaction: discord.Interaction,
        url: app_commands.Range[str, 8, 2000],
        fulltext: app_commands.Choice[str] | None = None,
        tags: app_commands.Range[str, 1, 200] | None = None,
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
                tags=tags.split(",") if tags else None,
            )
        except OSError as exc:  # DNS failure or a blocked address
            raise ValueError(f"I cannot reach {url}: {exc}") from None
        text = f"Added feed `#{feed.id}` **{escape_fit(_name(feed), 150)}** for this server."
        if feed.fulltext:
            text += f" Full text: {feed.fulltext}."
        if feed.tags:
            text += f" Tags: {escape_fit(', '.join(feed.tags), 200)}."
        await reply(interaction, text)

    @feeds.command(name="remove", description="Unsubscribe this server from one of its feeds")
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
        # Shared feeds cannot be removed from Discord: only the server's own are offered.
        found = await self._own_matches(interaction, current)
        return [app_commands.Choice(name=label, value=feed_id) for label, feed_id in found]

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

    @feeds.command(name="pause", description="Stop reading one of this server's feeds")
    @app_commands.describe(feed="The feed to pause: its number or address (start typing)")
    @manage_guild_only()
    async def pause(
        self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, 2000]
    ) -> None:
        await self._set_paused(interaction, feed, paused=True)

    @feeds.command(
        name="resume", description="Read a paused feed again (also one paused after failures)"
    )
    @app_commands.describe(feed="The feed to resume: its number or address (start typing)")
    @manage_guild_only()
    async def resume(
        self, interaction: discord.Interaction, feed: app_commands.Range[str, 1, 2000]
    ) -> None:
        await self._set_paused(interaction, feed, paused=False)

    async def _set_paused(
        self, interaction: discord.Interaction, feed: str, *, paused: bool
    ) -> None:
        """Pause or resume one of this server's feeds, saying what was done."""
        ensure_can_manage(interaction)
        await interaction.response.defer(thinking=True, ephemeral=True)
        found = await self._own_feed(interaction, feed)
        if found is None:
            return
        name = escape_fit(_name(found), 150)
        if found.paused == paused:
            state = "already paused" if paused else "not paused"
            await reply(interaction, f"Feed `#{found.id}` **{name}** is {state}.")
            return
        services = bot_of(interaction).services
        if paused:
            await services.pause_feed(found.id)
            said = "Paused feed `#{id}` **{name}**. Resume it with /newsadmin feeds resume."
        else:
            await services.resume_feed(found.id)
            said = "Resumed feed `#{id}` **{name}**: it is read at the next poll."
        await reply(interaction, said.format(id=found.id, name=name))

    @feeds.command(
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

    async def _own_matches(
        self, interaction: discord.Interaction, current: str, *, paused: bool | None = None
    ) -> list[tuple[str, int]]:
        """``(label, feed id)`` of this server's own feeds whose label holds ``current``
        (only paused or only active ones when ``paused`` says so), for autocomplete."""
        if not can_manage(interaction):
            return []
        guild_id = guild_scope(interaction)
        feeds = await bot_of(interaction).services.list_feeds(guild_id=guild_id)
        needle = current.strip().casefold()
        found: list[tuple[str, int]] = []
        for f in feeds:
            if f.guild_id != guild_id or (paused is not None and f.paused != paused):
                continue
            label = f"#{f.id} {_name(f)} — {f.url}"
            if needle and needle not in label.casefold():
                continue
            found.append((label[:100], f.id))
            if len(found) == AUTOCOMPLETE_MAX:
                break
        return found

    async def _own_choices(
        self, interaction: discord.Interaction, current: str, *, paused: bool
    ) -> list[app_commands.Choice[str]]:
        found = await self._own_matches(interaction, current, paused=paused)
        return [app_commands.Choice(name=label, value=str(feed_id)) for label, feed_id in found]

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

    @digest.command(name="now", description="Post today's digest in this channel now")
    @manage_guild_only()
    async def digest_now(self, interaction: discord.Interaction) -> None:
        ensure_can_manage(interaction)
        bot = bot_of(interaction)
        channel = bot.digest_channel_for(interaction)
        await interaction.response.defer(thinking=True, ephemeral=True)
        day = bot.clock().astimezone(channel.tz).date()
        result = await bot.run_digest(channel, day, force=True)
        text = RESULT_TEXT.get(result.result, "Done: {status}.").format(
            messages=len(result.message_ids),
            stories=result.story_count,
            status=result.result,
            error=result.error or "unknown error",
        )
        await reply(interaction, text)


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Admin(bot))
