"""The Discord face of Newsdesk: builds the bot, loads the cogs, syncs the
commands, wires the scheduler and runs until SIGINT/SIGTERM.

Entry point: :func:`run_bot` (``newsdesk run``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.config import DigestChannel, Settings, parse_time, shard_of
from bot.delivery import DeliveryResult, PreparedDigest, SendFn, SendForbidden
from bot.render.alerts import render_alert
from bot.render.discord_embeds import discord_timestamp, render_digest_messages
from bot.schedule import NewsScheduler
from bot.services import HEARTBEAT_SECONDS

from .common import report_error
from .convert import message_kwargs, no_mentions

if TYPE_CHECKING:
    from bot.alerts import AlertReport
    from bot.services import Newsdesk

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discordbot.cogs.news",
    "bot.discordbot.cogs.digest",
    "bot.discordbot.cogs.feeds",
    "bot.discordbot.cogs.admin",
    "bot.discordbot.cogs.help",
)

#: Everything the bot needs in a channel, nothing more.
REQUIRED_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, embed_links=True, read_message_history=True
)


def invite_url(application_id: int) -> str:
    """The OAuth2 URL that adds the bot with its commands and only the permissions it needs."""
    return discord.utils.oauth_url(
        application_id,
        permissions=REQUIRED_PERMISSIONS,
        scopes=("bot", "applications.commands"),
    )


class NewsdeskBot(commands.Bot):
    """``commands.Bot`` holding the shared services, the delivery and the scheduler."""

    def __init__(
        self,
        settings: Settings,
        services: Newsdesk,
        *,
        poll_feeds: bool = True,
        schedule: bool = True,
        clock: Callable[[], dt.datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            allowed_mentions=no_mentions(),
            help_command=None,
            **kwargs,
        )
        self.settings = settings
        self.services = services
        if clock is not None:
            services.clock = clock  # one clock, owned by the services
        self.delivery = services.delivery
        self.poll_feeds = poll_feeds
        self.schedule_enabled = schedule
        self.scheduler: NewsScheduler | None = None
        self.synced: dict[int | None, list[app_commands.AppCommand]] = {}
        self._catch_up: asyncio.Task[Any] | None = None
        self._closing = False
        # Sharded: shards no live process runs, whose digests this process has
        # taken over (it is their heir), and the servers their channels are in.
        self._orphans: frozenset[int] = frozenset()
        self._known_guilds: dict[int, int] = {}
        self.tree.error(self.on_app_command_error)

    def clock(self) -> dt.datetime:
        """Now, by the services' clock (the scheduler's and the digest commands' too)."""
        return self.services.clock()

    # -- start-up ---------------------------------------------------------

    async def setup_hook(self) -> None:
        await self.beat(start=True)
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands()
        if self.application_id:
            log.info("invite the bot with: %s", invite_url(self.application_id))

    async def sync_commands(self) -> None:
        """Sync to each configured guild (instant), else globally (may take an hour)."""
        if self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                self.synced[guild_id] = await self.tree.sync(guild=guild)
            log.info("synced slash commands to %d server(s)", len(self.settings.guild_ids))
        else:
            self.synced[None] = await self.tree.sync()
            log.info("synced slash commands globally")

    async def on_ready(self) -> None:
        log.info("connected to Discord as %s in %d server(s)", self.user, len(self.guilds))
        await self.beat(gateway="connected")
        if self.scheduler is None and self.schedule_enabled:
            await self.start_schedule()

    async def on_resumed(self) -> None:
        await self.beat(gateway="connected")

    async def on_disconnect(self) -> None:
        await self.beat(gateway="disconnected")

    async def beat(self, *, start: bool = False, gateway: str | None = None) -> None:
        """The heartbeat ``newsdesk health`` reads; a failure here is logged, never raised.

        Once the bot is closing, the last beat (written by :meth:`close`) stands:
        a late gateway event must not write to a store its owner is closing.
        """
        if self._closing:
            return
        try:
            if start:
                await self.services.start_heartbeat()
            else:
                await self.services.heartbeat(gateway=gateway)
                if gateway is None:
                    await self.watch_shards()
        except Exception:
            log.exception("could not write the heartbeat")

    async def start_schedule(self) -> None:
        """Start polling and digests, then post (or record missed) digests due while down."""
        await self.clear_fixed_forbidden()
        self.scheduler = NewsScheduler(
            self.settings.channels,
            poll_interval_minutes=self.settings.poll_interval_minutes,
            grace_hours=self.settings.digest_grace_hours,
            poll=self.poll_cycle if self.poll_feeds else None,
            run_digest=self.run_digest,
            record_missed=self.record_missed,
            clock=self.clock,
            heartbeat=self.beat,
            heartbeat_seconds=HEARTBEAT_SECONDS,
            owns=self.owns_channel,
        )
        self.scheduler.start()
        self._catch_up = asyncio.create_task(self.scheduler.catch_up(), name="digest catch-up")

    async def clear_fixed_forbidden(self) -> None:
        """Forget a recorded 403 where the bot now visibly has the permissions it needs."""
        for state in await self.services.forbidden_channels():
            channel = self.get_channel(state.channel_id)
            guild = getattr(channel, "guild", None)
            if channel is None or guild is None or guild.me is None:
                continue
            perms = channel.permissions_for(guild.me)  # type: ignore[union-attr]
            if perms.view_channel and perms.send_messages and perms.embed_links:
                log.info("channel %s: permissions look fixed; digests resume", state.channel_id)
                await self.services.clear_forbidden(state.channel_id)

    # -- polling and breaking-story alerts ----------------------------------

    async def poll_cycle(self) -> None:
        """The scheduler's poll job: one poll cycle, then the breaking-story alerts."""
        await self.services.poll_and_beat()
        await self.run_alerts()

    async def run_alerts(self) -> list[AlertReport]:
        """Post the due breaking-story alerts of every channel with ``alert=``
        (exactly once each: see :mod:`bot.alerts`); a failing channel is logged."""
        reports: list[AlertReport] = []
        for configured in self.settings.channels:
            if configured.alert is None or self._closing or not self.owns_channel(configured):
                continue
            channel = self.resolve_channel(configured)
            try:
                reports.append(
                    await self.services.post_alerts(
                        channel,
                        render=render_alert,
                        send=self.channel_sender(channel.channel_id),
                    )
                )
            except Exception:
                log.exception("breaking-story alerts for channel %s failed", channel.channel_id)
        return reports

    # -- sharding -----------------------------------------------------------

    def owns_channel(self, channel: DigestChannel) -> bool:
        """Whether this process posts ``channel``'s digests and alerts.

        Unsharded: always (a channel the gateway has not shown is still tried
        over REST). Sharded: only a channel the gateway showed in a server on
        this process's shards (:meth:`Settings.owns_guild`, Discord's rule):
        Discord sends a server's events to its shard's connection only, so each
        channel has exactly one owning process, and an unseen one is left to it,
        unless that shard's process has died (:meth:`watch_shards`).
        """
        if not self.settings.sharded:
            return True
        guild = getattr(self.get_channel(channel.channel_id), "guild", None)
        if guild is not None:
            return self.settings.owns_guild(guild.id)
        return self._orphaned(channel)  # a dead shard's channel, taken over (watch_shards)

    async def watch_shards(self) -> None:
        """Sharded, with every heartbeat: take over the digests and alerts of
        shards whose process has died (no heartbeat for 3 minutes), or give
        them back once it runs again.

        Only the live process with the lowest shard id takes them (the heir), so
        one process, not every one, posts for a dead shard; it sends over REST,
        as Discord sends those servers' events to nobody while their shard is
        down. A digest the dead process had claimed but not finished is resumed
        with the same nonces (within the resend window Discord de-duplicates),
        one due meanwhile is posted (within the grace period), and the claims
        keep every digest to one post when the owner comes back.
        """
        if not self.settings.sharded:
            return
        orphans, heir = await self.services.orphaned_shards()
        before, self._orphans = self._orphans, orphans if heir else frozenset()
        if self._orphans:
            self._known_guilds = await self.services.channel_guilds()
        if before - self._orphans:
            log.info(
                "shard(s) %s run again: their digests are theirs", sorted(before - self._orphans)
            )
        taken = self._orphans - before
        if not taken:
            return
        log.warning(
            "no process runs shard(s) %s: this process posts their digests until one does",
            sorted(taken),
        )
        await self._catch_up_channels(
            [c.channel_id for c in self.settings.channels if self._orphaned(c)]
        )

    def _orphaned(self, channel: DigestChannel) -> bool:
        """Whether ``channel``'s server is on a shard this process has taken over."""
        count = self.settings.shard_count
        if not self._orphans or count is None:
            return False
        guild = channel.guild_id or self._known_guilds.get(channel.channel_id)
        return guild is not None and shard_of(guild, count) in self._orphans

    async def on_guild_available(self, guild: discord.Guild) -> None:
        """A server that comes back (after an outage or a new session) gets the
        start-up catch-up for its channels: a digest due meanwhile is posted
        within the grace period, else recorded missed (never twice: claims)."""
        await self._catch_up_channels([c.id for c in guild.channels])

    async def _catch_up_channels(self, channel_ids: list[int]) -> None:
        """The start-up catch-up for these channels (the configured ones among
        them), once the schedule runs and its own start-up catch-up is done."""
        scheduler, catch_up = self.scheduler, self._catch_up
        if scheduler is None or catch_up is None or not catch_up.done() or self._closing:
            return
        ids = [i for i in channel_ids if i in scheduler.channels]
        if ids:
            await scheduler.catch_up(channel_ids=ids)

    # -- digests ----------------------------------------------------------

    def resolve_channel(self, channel: DigestChannel) -> DigestChannel:
        """Fill in the channel's guild as Discord reports it."""
        found = self.get_channel(channel.channel_id)
        guild = getattr(found, "guild", None)
        if guild is not None and guild.id != channel.guild_id:
            return dataclasses.replace(channel, guild_id=guild.id)
        known = self._known_guilds.get(channel.channel_id)
        if guild is None and channel.guild_id is None and known is not None:
            return dataclasses.replace(channel, guild_id=known)  # a dead shard's, taken over
        return channel

    def digest_channel_for(self, interaction: discord.Interaction) -> DigestChannel:
        """The configured digest settings of the interaction's channel, or the defaults."""
        for channel in self.settings.channels:
            if channel.channel_id == interaction.channel_id:
                return dataclasses.replace(channel, guild_id=interaction.guild_id)
        return DigestChannel(
            channel_id=interaction.channel_id or 0,
            time=parse_time(self.settings.digest_time),
            timezone=self.settings.timezone,
            max_stories=self.settings.digest_max_stories,
            guild_id=interaction.guild_id,
        )

    async def prepare_digest(self, channel: DigestChannel, day: dt.date) -> PreparedDigest:
        digest = await self.services.build_digest(channel, day)
        payloads = render_digest_messages(digest, quiet_day=self.settings.digest_quiet_day)
        return PreparedDigest(payloads=payloads, items=list(digest.items))

    def channel_sender(self, channel_id: int) -> SendFn:
        """``send(payload, nonce) -> message id`` for one channel (403 -> SendForbidden)."""

        async def send(payload: dict[str, Any], nonce: str) -> int:
            try:
                target = self.get_channel(channel_id) or await self.fetch_channel(channel_id)
                message = await target.send(**message_kwargs(payload), nonce=nonce)  # type: ignore[union-attr]
            except discord.Forbidden as exc:
                raise SendForbidden(exc.text or "Missing Permissions") from exc
            return message.id

        return send

    async def run_digest(
        self, channel: DigestChannel, day: dt.date, *, force: bool = False
    ) -> DeliveryResult:
        """Deliver ``channel``'s digest for local ``day`` (exactly once)."""
        channel = self.resolve_channel(channel)
        return await self.delivery.deliver(
            channel,
            day,
            prepare=lambda: self.prepare_digest(channel, day),
            send=self.channel_sender(channel.channel_id),
            quiet_day=self.settings.digest_quiet_day,
            force=force,
        )

    async def record_missed(self, channel: DigestChannel, day: dt.date, reason: str) -> bool:
        return await self.delivery.record_missed(self.resolve_channel(channel), day, reason=reason)

    def digest_schedule_lines(self, guild_id: int) -> list[str]:
        """``#channel: next digest <t:…>`` for this guild's configured channels."""
        if self.scheduler is None:
            return []
        lines = []
        for channel_id, when in self.scheduler.next_digest_times().items():
            found = self.get_channel(channel_id)
            if getattr(getattr(found, "guild", None), "id", None) != guild_id:
                continue
            lines.append(
                f"Digest in <#{channel_id}>: next {discord_timestamp(when) if when else 'not scheduled'}"
            )
        return lines

    # -- errors and shutdown ------------------------------------------------

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)

    async def close(self) -> None:
        """Stop the scheduler, let running jobs finish their writes, then disconnect."""
        if self._catch_up is not None and not self._catch_up.done():
            await asyncio.wait([self._catch_up], timeout=30)
        if self.scheduler is not None:
            await self.scheduler.shutdown()
        if not self._closing:
            await self.beat(gateway="disconnected")  # the last beat: going away
            self._closing = True
        await super().close()


class ShardedNewsdeskBot(NewsdeskBot, commands.AutoShardedBot):  # type: ignore[misc]
    """The same bot as an ``AutoShardedBot`` on the shards of ``NEWSDESK_SHARD_COUNT``
    and ``NEWSDESK_SHARD_IDS``: one gateway connection per shard, slash commands
    on each; digests and alerts only for servers on these shards (:meth:`owns_channel`)."""

    def __init__(self, settings: Settings, services: Newsdesk, **kwargs: Any) -> None:
        if settings.shard_count is None:
            raise ValueError("ShardedNewsdeskBot needs NEWSDESK_SHARD_COUNT")
        kwargs.setdefault("shard_count", settings.shard_count)
        kwargs.setdefault("shard_ids", list(settings.shards))
        super().__init__(settings, services, **kwargs)


def create_bot(settings: Settings, services: Newsdesk, **kwargs: Any) -> NewsdeskBot:
    """The bot ``settings`` ask for: sharded when NEWSDESK_SHARD_COUNT is set, else plain."""
    if settings.sharded:
        return ShardedNewsdeskBot(settings, services, **kwargs)
    return NewsdeskBot(settings, services, **kwargs)


async def run_bot(settings: Settings, services: Newsdesk) -> None:
    """Run the bot until SIGINT/SIGTERM. The caller closes ``services`` afterwards."""
    if settings.discord_token is None:
        raise ValueError("DISCORD_TOKEN is not set")
    await services.sync_configured_feeds()
    bot = create_bot(settings, services)
    if settings.sharded:
        log.info(
            "sharded: shard(s) %s of %d", ",".join(map(str, settings.shards)), settings.shard_count
        )
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def stop() -> None:
        if not stopping:
            log.info("shutting down")
            stopping.append(loop.create_task(bot.close()))

    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - not on this platform
            pass
    try:
        async with bot:
            await bot.start(settings.discord_token.get_secret_value())
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if stopping:
            await stopping[0]
