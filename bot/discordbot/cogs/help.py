"""/help."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.render.discord_embeds import COLOR

from ..convert import message_kwargs

HELP = {
    "Read the news": (
        "`/news search query [from] [to] [source]`: search the articles; words, "
        '"exact phrases", OR, -exclude, source:name and date:… work in the query.\n'
        "`/news date when`: the stories of `today`, `yesterday`, `2023-09-17` or "
        "`2023-09-10..2023-09-17`.\n"
        "`/news latest [count]`: the newest stories.\n"
        "`/news story id`: one story with every outlet that covered it."
    ),
    "Daily digest": (
        "`/digest preview [date]`: privately see the digest this channel would get.\n"
        "Each channel gets at most one digest a day."
    ),
    "Feeds": (
        "`/feeds list` and `/feeds status`: what this server reads and whether it works.\n"
        "`/feeds export`: the feeds as an OPML file for any feed reader."
    ),
    "Server managers (Manage Server)": (
        "`/newsadmin feeds add url`, `remove`, `pause`, `resume`: this server's own feeds. "
        "Shared feeds come from the bot's operator.\n"
        "`/newsadmin feeds refresh`: fetch this server's feeds now.\n"
        "`/newsadmin digest now`: post today's digest here now."
    ),
}


class Help(commands.Cog):
    """The /help command."""

    def __init__(self, bot: commands.Bot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What Newsdesk can do and how to ask it")
    async def help(self, interaction: discord.Interaction) -> None:
        embed = {
            "type": "rich",
            "color": COLOR,
            "title": "Newsdesk",
            "description": "The news as a daily briefing: one line per story, however many "
            "outlets covered it.",
            "fields": [{"name": name, "value": value} for name, value in HELP.items()],
        }
        await interaction.response.send_message(
            ephemeral=True, **message_kwargs({"embeds": [embed]})
        )


async def setup(bot: commands.Bot) -> None:
    await bot.add_cog(Help(bot))
