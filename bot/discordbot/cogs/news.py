"""/news search | date | latest | story."""

from __future__ import annotations

import math
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.discord_embeds import render_search_page
from bot.search.query import parse_query

from ..common import bot_of, guild_scope, reply
from ..convert import no_mentions, to_embed
from ..storyfmt import stories_page, story_detail
from ..views import PageLoader, send_paginated

PAGE_SIZE = 5
MAX_STORIES = 100
# /news search and /news date: each member may run each this often (turning pages is free).
COOLDOWN_RATE = 5
COOLDOWN_SECONDS = 60.0


def _per_user(interaction: discord.Interaction) -> tuple[int | None, int]:
    """One cooldown bucket per member and server."""
    return (interaction.guild_id, interaction.user.id)


def list_loader(stories: Sequence[Any], title: str) -> PageLoader:
    """Pages of ``PAGE_SIZE`` over an already loaded list of stories."""
    pages = max(1, math.ceil(len(stories) / PAGE_SIZE))

    async def load(page: int) -> tuple[discord.Embed, bool]:
        page = min(page, pages - 1)
        chunk = stories[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]
        embed = stories_page(chunk, title=title, page=page + 1, pages=pages, total=len(stories))
        return to_embed(embed), page + 1 < pages

    return load


@app_commands.guild_only()
class News(commands.GroupCog, group_name="news", group_description="Search and browse the news"):
    """Read-only news commands, open to everyone in the server."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name="search", description='Search the articles (words, "phrases", OR, -not)'
    )
    @app_commands.rename(date_from="from", date_to="to")
    @app_commands.describe(
        query='What to look for, e.g. climate summit or "interest rates" -mortgage',
        date_from="Only from this day on: today, yesterday, 2023-09-17, last week…",
        date_to="Only up to this day (included)",
        source="Only this outlet, e.g. Reuters",
    )
    @app_commands.checks.cooldown(COOLDOWN_RATE, COOLDOWN_SECONDS, key=_per_user)
    async def search(
        self,
        interaction: discord.Interaction,
        query: app_commands.Range[str, 1, 300],
        date_from: app_commands.Range[str, 1, 50] | None = None,
        date_to: app_commands.Range[str, 1, 50] | None = None,
        source: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        bot = bot_of(interaction)
        nd = bot.services
        tz = bot.digest_channel_for(interaction).tz  # days are this channel's days
        # Validate everything before deferring, so a typo gets a private answer.
        start = nd.parse_dates(date_from, tz=tz)[0] if date_from else None
        end = nd.parse_dates(date_to, tz=tz)[1] if date_to else None
        parse_query(query, allow_empty=bool(source or start or end))
        await interaction.response.defer(thinking=True)
        guild_id = guild_scope(interaction)

        async def load(page: int) -> tuple[discord.Embed, bool]:
            result = await nd.search(
                query,
                guild_id=guild_id,
                date_from=start,
                date_to=end,
                source=source,
                limit=PAGE_SIZE,
                offset=page * PAGE_SIZE,
                tz=tz,
            )
            shown = SimpleNamespace(
                hits=result.hits,
                total=result.total,
                total_capped=result.total_capped,
                page=page + 1,
                pages=max(1, math.ceil(result.total / PAGE_SIZE)),
            )
            return to_embed(render_search_page(shown, query=query)), result.has_more

        await send_paginated(interaction, load)

    @app_commands.command(name="date", description="The stories of a day or a range of days")
    @app_commands.describe(when="today, yesterday, 2023-09-17 or 2023-09-10..2023-09-17")
    @app_commands.checks.cooldown(COOLDOWN_RATE, COOLDOWN_SECONDS, key=_per_user)
    async def date(
        self, interaction: discord.Interaction, when: app_commands.Range[str, 1, 50]
    ) -> None:
        bot = bot_of(interaction)
        channel = bot.digest_channel_for(interaction)  # days are this channel's days
        start, end = bot.services.parse_dates(when, tz=channel.tz)
        await interaction.response.defer(thinking=True)
        stories = await bot.services.stories_between(
            start, end, guild_id=guild_scope(interaction), limit=MAX_STORIES
        )
        title = f"Stories: {when} · {channel.timezone} time"
        await send_paginated(interaction, list_loader(stories, title))

    @app_commands.command(name="latest", description="The most recent stories")
    @app_commands.describe(count="How many stories (1 to 25, default 10)")
    async def latest(
        self, interaction: discord.Interaction, count: app_commands.Range[int, 1, 25] = 10
    ) -> None:
        await interaction.response.defer(thinking=True)
        nd = bot_of(interaction).services
        stories = await nd.latest_stories(count, guild_id=guild_scope(interaction))
        await send_paginated(interaction, list_loader(stories, "Latest stories"))

    @app_commands.command(name="story", description="One story with every outlet that covered it")
    @app_commands.describe(id="The story number shown as #id in lists and digests")
    async def story(
        self,
        interaction: discord.Interaction,
        id: app_commands.Range[int, 1],  # noqa: A002
    ) -> None:
        await interaction.response.defer(thinking=True)
        nd = bot_of(interaction).services
        found = await nd.story(id, guild_id=guild_scope(interaction))
        if found is None:
            await reply(interaction, f"There is no story #{id} here.")
            return
        await interaction.edit_original_response(
            embed=to_embed(story_detail(found)), allowed_mentions=no_mentions()
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(News(bot))
