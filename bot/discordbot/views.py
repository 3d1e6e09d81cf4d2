"""Previous/Next pagination for command results."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import discord

from .convert import no_mentions

log = logging.getLogger(__name__)

PAGE_TIMEOUT_SECONDS = 180.0
NOT_YOURS = "Only the person who ran the command can turn these pages; run it yourself to browse."

#: Loads page ``index`` (0-based): the embed to show and whether a next page exists.
PageLoader = Callable[[int], Awaitable[tuple[discord.Embed, bool]]]


class Paginator(discord.ui.View):
    """Previous/Next buttons over pages produced by a loader.

    Only the invoker may press; after :data:`PAGE_TIMEOUT_SECONDS` without a
    press the buttons are disabled on the message.
    """

    def __init__(
        self,
        owner_id: int,
        loader: PageLoader,
        *,
        has_next: bool,
        page: int = 0,
        timeout: float = PAGE_TIMEOUT_SECONDS,
    ) -> None:
        super().__init__(timeout=timeout)
        self.owner_id = owner_id
        self.loader = loader
        self.page = page
        self.message: discord.Message | discord.WebhookMessage | None = None
        self._set_buttons(has_next)

    def _set_buttons(self, has_next: bool) -> None:
        self.previous.disabled = self.page <= 0
        self.next.disabled = not has_next

    @property
    def single_page(self) -> bool:
        return self.previous.disabled and self.next.disabled

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            NOT_YOURS, ephemeral=True, allowed_mentions=no_mentions()
        )
        return False

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._show(interaction, self.page - 1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary)
    async def next(self, interaction: discord.Interaction, _button: discord.ui.Button) -> None:
        await self._show(interaction, self.page + 1)

    async def _show(self, interaction: discord.Interaction, page: int) -> None:
        # One page is one indexed query (milliseconds), so answer with the edit itself.
        embed, has_next = await self.loader(max(0, page))
        self.page = max(0, page)
        self._set_buttons(has_next)
        await interaction.response.edit_message(
            embed=embed, view=self, allowed_mentions=no_mentions()
        )

    async def on_timeout(self) -> None:
        for item in self.children:
            if isinstance(item, discord.ui.Button):
                item.disabled = True
        if self.message is not None:
            try:
                await self.message.edit(view=self, allowed_mentions=no_mentions())
            except discord.HTTPException as exc:  # message deleted or token expired
                log.debug("could not disable pagination buttons: %s", exc)

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        log.exception("page change failed", exc_info=error)
        send = (
            interaction.followup.send
            if interaction.response.is_done()
            else interaction.response.send_message
        )
        try:
            await send(
                "Could not load that page; try the command again.",
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
        except discord.HTTPException:
            pass


async def send_paginated(interaction: discord.Interaction, loader: PageLoader) -> Paginator:
    """Show page 0 in the deferred response, with buttons when there is more than one page."""
    embed, has_next = await loader(0)
    view = Paginator(interaction.user.id, loader, has_next=has_next)
    kwargs: dict[str, Any] = {"embed": embed, "allowed_mentions": no_mentions()}
    if not view.single_page:
        kwargs["view"] = view
    view.message = await interaction.edit_original_response(**kwargs)
    if view.single_page:
        view.stop()
    return view
