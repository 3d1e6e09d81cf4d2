"""Render dicts (Discord API JSON) -> discord.py objects and send keyword arguments.

Every message the bot sends goes through :func:`message_kwargs`, which always
sets ``allowed_mentions=AllowedMentions.none()``: text from the internet must
never ping anyone, whatever the payload says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord


def no_mentions() -> discord.AllowedMentions:
    """Nothing in the message may ping anyone (users, roles, @everyone, replies)."""
    return discord.AllowedMentions.none()


def to_embed(data: Mapping[str, Any]) -> discord.Embed:
    """One embed dict (as rendered by :mod:`bot.render.discord_embeds`) -> Embed."""
    return discord.Embed.from_dict(dict(data))


def message_kwargs(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A message payload dict -> ``content``/``embeds``/``allowed_mentions`` kwargs."""
    content = payload.get("content") or None
    embeds = [to_embed(e) for e in payload.get("embeds") or []]
    kwargs: dict[str, Any] = {"allowed_mentions": no_mentions()}
    if content is not None:
        kwargs["content"] = content
    if embeds:
        kwargs["embeds"] = embeds
    return kwargs
