"""/digest preview (posting it now is /newsadmin digest now, in cogs/admin.py)."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.discord_embeds import render_digest_messages
from bot.search.dates import parse_day

from ..common import bot_of
from ..convert import message_kwargs

RESULT_TEXT = {
    "sent": "Posted today's digest here ({messages} message(s), {stories} stories).",
    "empty": "No new stories today, and this server is set to skip quiet days: nothing posted.",
    "already": "Today's digest was already posted here; not posting it twice.",
    "uncertain": "A digest send was interrupted a while ago and may have reached Discord; "
    "run the command again to post it anyway.",
    "forbidden": "I may not post in this channel (403). Give me View Channel, Send Messages "
    "and Embed Links here, then try again.",
    "failed": "Posting failed: {error}",
    "skipped": "Skipped: {error}",
}


@app_commands.guild_only()
class DigestCog(commands.GroupCog, group_name="digest", group_description="The daily digest"):
    """Preview the digest privately."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(
        name="preview", description="Privately show the digest this channel would get"
    )
    @app_commands.describe(date="Which day (default today): today, yesterday, 2023-09-17")
    async def preview(
        self, interaction: discord.Interaction, date: app_commands.Range[str, 1, 50] | None = None
    ) -> None:
        bot = bot_of(interaction)
        channel = bot.digest_channel_for(interaction)
        now = bot.clock()
        day = parse_day(date, tz=channel.tz, now=now) if date else now.astimezone(channel.tz).date()
        await interaction.response.defer(thinking=True, ephemeral=True)
        digest = await bot.services.build_digest(channel, day)
        payloads = render_digest_messages(digest, quiet_day="post")
        first, *rest = payloads or [{"content": "Nothing to show."}]
        await interaction.edit_original_response(**message_kwargs(first))
        for payload in rest:
            await interaction.followup.send(ephemeral=True, **message_kwargs(payload))


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(DigestCog(bot))
