"""Permission checks for slash commands.

Admin subcommands (``/newsadmin feeds add``, ``/newsadmin digest now``, ...)
live in their own top-level group, whose ``default_member_permissions``
(``@app_commands.default_permissions(manage_guild=True)``) hides them from
members: Discord applies it to top-level commands only, never to a
subcommand, so ``/feeds add`` could not have been hidden while ``/feeds list``
stayed visible. They also carry :func:`manage_guild_only` (checked by the bot
before the handler runs) *and* call :func:`ensure_can_manage` in the handler
itself: a server may show the group to other roles, and a handler must never
trust that the client enforced anything anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import discord
from discord import app_commands

T = TypeVar("T")

NEED_MANAGE_GUILD = "You need the **Manage Server** permission to do that."
NEED_GUILD = "This command works only inside a server."


class NotManager(app_commands.CheckFailure):
    """The user may not manage this server's Newsdesk settings."""

    def __init__(self, message: str = NEED_MANAGE_GUILD) -> None:
        super().__init__(message)


def can_manage(interaction: discord.Interaction) -> bool:
    """Whether the invoker has Manage Server here (resolved by Discord for this channel)."""
    return interaction.guild_id is not None and interaction.permissions.manage_guild


def ensure_can_manage(interaction: discord.Interaction) -> None:
    """Raise :class:`NotManager` unless :func:`can_manage`."""
    if interaction.guild_id is None:
        raise NotManager(NEED_GUILD)
    if not can_manage(interaction):
        raise NotManager()


def manage_guild_only() -> Callable[[T], T]:
    """Decorator: the command runs only for members with Manage Server."""

    def predicate(interaction: discord.Interaction) -> bool:
        ensure_can_manage(interaction)
        return True

    return app_commands.check(predicate)
