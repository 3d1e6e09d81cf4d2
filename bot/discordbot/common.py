"""Small helpers shared by the cogs: guild scope, ephemeral replies, error text."""

from __future__ import annotations

import logging
import math
from typing import TYPE_CHECKING

import discord
from discord import app_commands

from .convert import no_mentions

if TYPE_CHECKING:
    from .app import NewsdeskBot

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 300
GENERIC_ERROR = "Something went wrong on my side (it has been logged). Please try again later."


def guild_scope(interaction: discord.Interaction) -> int:
    """The guild whose feeds a command may see: the server, or 0 (shared only) in DMs."""
    return interaction.guild_id or 0


def bot_of(interaction: discord.Interaction) -> NewsdeskBot:
    return interaction.client  # type: ignore[return-value]


async def reply(interaction: discord.Interaction, text: str) -> None:
    """Put ``text`` in the deferred response (which keeps the defer's visibility)."""
    await interaction.edit_original_response(
        content=text, embeds=[], view=None, allowed_mentions=no_mentions()
    )


async def send_error(interaction: discord.Interaction, text: str) -> None:
    """A short error: private when not answered yet, else in place of the "thinking" message.

    Commands validate their input before deferring, so what lands in a public
    deferred response is only "not found" or an internal failure.
    """
    if interaction.response.is_done():
        await reply(interaction, text)
    else:
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=no_mentions()
        )


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def user_message(error: BaseException) -> str | None:
    """The text to show the user for ``error``; ``None`` for a bug (log it)."""
    if isinstance(error, app_commands.CommandInvokeError):
        error = error.original
    if isinstance(error, app_commands.NoPrivateMessage):
        return "This command works only inside a server."
    if isinstance(error, app_commands.CommandOnCooldown):
        wait = max(1, math.ceil(error.retry_after))
        return f"Slow down a little: you can run this again in {wait} s."
    if isinstance(error, app_commands.CheckFailure):
        return _short(str(error)) or "You cannot use this command here."
    if isinstance(error, app_commands.TransformerError):
        return f"{_short(str(error.value))!r} is not a valid value for that option."
    if isinstance(error, ValueError):  # our core raises these with user-facing messages
        return _short(str(error)) or "That input is not valid."
    return None


# Unknown Interaction, Invalid Webhook Token: the interaction can no longer be answered.
EXPIRED_INTERACTION = {10062, 50027}


async def report_error(interaction: discord.Interaction, error: BaseException) -> None:
    """Answer a failed command with a short, helpful, ephemeral message."""
    original = getattr(error, "original", error)
    if isinstance(original, discord.HTTPException) and original.code in EXPIRED_INTERACTION:
        # The interaction's token is dead (took too long, or Discord forgot it):
        # nothing more can be sent through it, so do not try again.
        command = interaction.command.qualified_name if interaction.command else "?"
        log.warning("/%s: interaction expired before we answered (%s)", command, original)
        return
    message = user_message(error)
    if message is None:
        command = interaction.command.qualified_name if interaction.command else "?"
        log.error("/%s failed", command, exc_info=original)
        message = GENERIC_ERROR
    try:
        await send_error(interaction, message)
    except discord.HTTPException as exc:
        log.warning("could not report an error to the user: %s", exc)
