"""In-memory state of the fake Discord: users, guilds, channels, messages, commands, interactions.

Everything here is plain data plus the JSON shapes Discord sends for it. The server
(:mod:`tests.fakediscord.server`) owns one :class:`DiscordState` and mutates it.
"""

# The wait helpers take ``timeout`` on purpose: tests read better with it than with asyncio.timeout.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

# Permission bits (https://discord.com/developers/docs/topics/permissions)
CREATE_INSTANT_INVITE = 1 << 0
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
MANAGE_GUILD = 1 << 5
ADD_REACTIONS = 1 << 6
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
MANAGE_MESSAGES = 1 << 13
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
USE_EXTERNAL_EMOJIS = 1 << 18
CONNECT = 1 << 20
SPEAK = 1 << 21
CHANGE_NICKNAME = 1 << 26
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

#: What @everyone may do in a freshly created server (no admin rights).
DEFAULT_EVERYONE = (
    CREATE_INSTANT_INVITE
    | ADD_REACTIONS
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | USE_EXTERNAL_EMOJIS
    | CONNECT
    | SPEAK
    | CHANGE_NICKNAME
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)

EPHEMERAL = 1 << 6
LOADING = 1 << 7
ATTACHMENT_SIZE_LIMIT = 10 * 1024 * 1024


def iso_now() -> str:
    """Current time as Discord's ISO 8601 timestamp."""
    return datetime.now(UTC).isoformat()


class Snowflakes:
    """Generates increasing, time-based snowflake ids (so ``created_at`` is sane)."""

    def __init__(self) -> None:
        self._counter = itertools.count()

    def __call__(self) -> int:
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)

    def on_shard(self, shard: int, shard_count: int) -> int:
        """A fresh id whose guild is on ``shard``: ``(id >> 22) % shard_count == shard``
        (the timestamp part moved forward by under ``shard_count`` milliseconds)."""
        fresh = self()
        ms = fresh >> 22
        ms += (shard - ms) % shard_count
        return (ms << 22) | (fresh & 0x3FFFFF)


@dataclass
class FakeUser:
    """A Discord user (a person or the bot)."""

    id: int
    username: str
    bot: bool = False
    global_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        """User object as Discord sends it."""
        data: dict[str, Any] = {
            "id": str(self.id),
            "username": self.username,
            "discriminator": "0",
            "global_name": self.global_name,
            "avatar": None,
            "public_flags": 0,
        }
        if self.bot:
            data["bot"] = True
        return data


@dataclass
class FakeRole:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    name: str
    permissions: int
    position: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "name": self.name,
            "permissions": str(self.permissions),
            "position": self.position,
            "color": 0,
            "colors": {"primary_color": 0, "secondary_color": None, "tertiary_color": None},
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
        }


@dataclass
class FakeMember:
    """A user's membership in one guild."""

    user: FakeUser
    roles: list[int] = field(default_factory=list)
    joined_at: str = field(default_factory=iso_now)

    @property
    def id(self) -> int:
        return self.user.id

    def to_json(self, permissions: int | None = None) -> dict[str, Any]:
        """Member object; ``permissions`` is added for interaction payloads."""
        data: dict[str, Any] = {
            "user": self.user.to_json(),
            "roles": [str(r) for r in self.roles],
            "nick": None,
            "avatar": None,
            "banner": None,
            "joined_at": self.joined_at,
            "premium_since": None,
            "deaf": False,
            "mute": False,
            "pending": False,
            "flags": 0,
            "communication_disabled_until": None,
        }
        if permissions is not None:
            data["permissions"] = str(permissions)
        return data


@dataclass
class FakeChannel:
    """A guild channel (type 0 = text, 5 = announcement, 4 = category, ...)."""

    id: int
    guild_id: int
    name: str
    type: int = 0
    position: int = 0
    topic: str | None = None
    overwrites: list[dict[str, Any]] = field(default_factory=list)

    @property
    def mention(self) -> str:
        return f"<#{self.id}>"

    def to_json(self) -> dict[str, Any]:
        """Channel object as in GUILD_CREATE and GET /channels/{id}."""
        return {
            "id": str(self.id),
            "guild_id": str(self.guild_id),
            "type": self.type,
            "name": self.name,
            "position": self.position,
            "topic": self.topic,
            "nsfw": False,
            "parent_id": None,
            "last_message_id": None,
            "rate_limit_per_user": 0,
            "flags": 0,
            "permission_overwrites": list(self.overwrites),
        }


class FakeGuild:
    """A server with channels, roles and members; build it before the bot connects."""

    def __init__(self, state: DiscordState, guild_id: int, name: str, owner: FakeUser) -> None:
        self._state = state
        self.id = guild_id
        self.name = name
        self.owner = owner
        self.channels: dict[int, FakeChannel] = {}
        self.members: dict[int, FakeMember] = {}
        self.everyone = FakeRole(guild_id, "@everyone", DEFAULT_EVERYONE, 0)
        self.admin_role = FakeRole(state.snowflake(), "Admin", ADMINISTRATOR, 1)
        self.roles: dict[int, FakeRole] = {r.id: r for r in (self.everyone, self.admin_role)}
        self.members[owner.id] = FakeMember(owner, roles=[self.admin_role.id])

    def add_channel(
        self,
        name: str,
        *,
        type: int = 0,
        bot_can_view: bool = True,
        bot_can_send: bool = True,
        topic: str | None = None,
    ) -> FakeChannel:
        """Create a channel; ``bot_can_send=False`` denies the bot SEND_MESSAGES there."""
        channel = FakeChannel(
            self._state.snowflake(), self.id, name, type, len(self.channels), topic
        )
        deny = (0 if bot_can_view else VIEW_CHANNEL) | (0 if bot_can_send else SEND_MESSAGES)
        if deny:
            bot_id = self._state.bot.id
            channel.overwrites.append(
                {"id": str(bot_id), "type": 1, "allow": "0", "deny": str(deny)}
            )
        self.channels[channel.id] = channel
        self._state.channels[channel.id] = channel
        return channel

    def add_member(
        self, username: str, *, admin: bool = False, permissions: int | None = None
    ) -> FakeMember:
        """Add a person. ``admin`` grants the Admin role; ``permissions`` a custom role."""
        user = FakeUser(self._state.snowflake(), username, global_name=username.title())
        roles: list[int] = []
        if admin:
            roles.append(self.admin_role.id)
        if permissions is not None:
            role = FakeRole(
                self._state.snowflake(), f"{username}-role", permissions, len(self.roles)
            )
            self.roles[role.id] = role
            roles.append(role.id)
        member = FakeMember(user, roles=roles)
        self.members[user.id] = member
        return member

    def channel(self, name: str) -> FakeChannel:
        """The channel called ``name`` (KeyError with the known names otherwise)."""
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        raise KeyError(f"no channel {name!r} in guild {self.name!r}: {self.channel_names()}")

    def channel_names(self) -> list[str]:
        return [c.name for c in self.channels.values()]

    def member(self, username: str) -> FakeMember:
        """The member whose username is ``username``."""
        for member in self.members.values():
            if member.user.username == username:
                return member
        raise KeyError(f"no member {username!r} in guild {self.name!r}")

    @property
    def bot_member(self) -> FakeMember:
        return self.members[self._state.bot.id]

    def base_permissions(self, member: FakeMember) -> int:
        """Guild-wide permissions of a member (everyone + roles; admin/owner = all)."""
        if member.id == self.owner.id:
            return ALL_PERMISSIONS
        perms = self.everyone.permissions
        for role_id in member.roles:
            perms |= self.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def permissions_in(self, member: FakeMember, channel: FakeChannel | None) -> int:
        """Permissions after channel overwrites, as Discord computes them."""
        perms = self.base_permissions(member)
        if perms & ADMINISTRATOR or channel is None:
            return perms
        overwrites = {ow["id"]: ow for ow in channel.overwrites}

        def apply(perms: int, allow: int, deny: int) -> int:
            return (perms & ~deny) | allow

        everyone = overwrites.get(str(self.id))
        if everyone:
            perms = apply(perms, int(everyone["allow"]), int(everyone["deny"]))
        role_allow = role_deny = 0
        for role_id in member.roles:
            ow = overwrites.get(str(role_id))
            if ow and int(ow["type"]) == 0:
                role_allow |= int(ow["allow"])
                role_deny |= int(ow["deny"])
        perms = apply(perms, role_allow, role_deny)
        own = overwrites.get(str(member.id))
        if own and int(own["type"]) == 1:
            perms = apply(perms, int(own["allow"]), int(own["deny"]))
        return perms

    def to_json(self) -> dict[str, Any]:
        """The GUILD_CREATE payload (channels, roles, members incl. the bot)."""
        return {
            "id": str(self.id),
            "name": self.name,
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": str(self.owner.id),
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "features": [],
            "mfa_level": 0,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "public_updates_channel_id": None,
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "large": False,
            "unavailable": False,
            "member_count": len(self.members),
            "joined_at": self.bot_member.joined_at,
            "roles": [r.to_json() for r in self.roles.values()],
            "emojis": [],
            "stickers": [],
            "channels": [c.to_json() for c in self.channels.values()],
            "threads": [],
            "members": [self.bot_member.to_json()],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
        }


class CommandStore:
    """Application commands registered by bulk overwrite (global or per guild)."""

    def __init__(self, snowflake: Callable[[], int], application_id: int) -> None:
        self._snowflake = snowflake
        self._application_id = application_id
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self._ids: dict[tuple[int | None, int, str], int] = {}
        self.puts = 0

    def overwrite(
        self, commands: Iterable[dict[str, Any]], guild_id: int | None
    ) -> list[dict[str, Any]]:
        """Replace a scope's commands, keeping ids stable by (type, name) like Discord."""
        version = str(self._snowflake())
        stored = []
        for command in commands:
            kind = command.get("type") or 1
            key = (guild_id, kind, command["name"])
            command_id = self._ids.setdefault(key, self._snowflake())
            echo = {
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                **command,
                "type": kind,
                "id": str(command_id),
                "application_id": str(self._application_id),
                "version": version,
            }
            if echo.get("default_member_permissions") is not None:
                echo["default_member_permissions"] = str(echo["default_member_permissions"])
            if guild_id is not None:
                echo["guild_id"] = str(guild_id)
            stored.append(echo)
        if guild_id is None:
            self.global_commands = stored
        else:
            self.guild_commands[guild_id] = stored
        self.puts += 1
        return stored

    def listing(self, guild_id: int | None) -> list[dict[str, Any]]:
        if guild_id is None:
            return self.global_commands
        return self.guild_commands.get(guild_id, [])

    def find(self, name: str, guild_id: int | None, kind: int = 1) -> dict[str, Any] | None:
        """A guild command first (as Discord shows it), then a global one."""
        scopes = ([self.guild_commands.get(guild_id, [])] if guild_id else []) + [
            self.global_commands
        ]
        for scope in scopes:
            for command in scope:
                if command["name"] == name and command["type"] == kind:
                    return command
        return None


class MessageStore:
    """Messages per channel, in creation order, plus nonce de-duplication."""

    NONCE_TTL = 300.0

    def __init__(self) -> None:
        self.by_channel: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
        self.by_id: dict[int, dict[str, Any]] = {}
        self._nonces: dict[tuple[int, str], tuple[float, dict[str, Any]]] = {}

    def add(self, message: dict[str, Any], *, visible: bool = True) -> dict[str, Any]:
        """Store a message; ``visible=False`` (ephemeral) keeps it out of the channel list."""
        self.by_id[int(message["id"])] = message
        if visible:
            self.by_channel[int(message["channel_id"])].append(message)
        return message

    def remove(self, message_id: int) -> dict[str, Any] | None:
        message = self.by_id.pop(message_id, None)
        if message is not None:
            channel = self.by_channel.get(int(message["channel_id"]), [])
            if message in channel:
                channel.remove(message)
        return message

    def by_nonce(self, channel_id: int, nonce: str) -> dict[str, Any] | None:
        """The message created with ``nonce`` in this channel during the last few minutes."""
        found = self._nonces.get((channel_id, nonce))
        if found is None or time.monotonic() - found[0] > self.NONCE_TTL:
            return None
        return found[1]

    def remember_nonce(self, channel_id: int, nonce: str, message: dict[str, Any]) -> None:
        self._nonces[(channel_id, nonce)] = (time.monotonic(), message)


class InteractionHandle:
    """An interaction the test sent to the bot, and everything the bot answered.

    ``responses`` holds the callback bodies, ``followups`` the followup messages,
    ``original`` the message created by the first response (updated by edits),
    ``edits`` the PATCH bodies for ``@original``.
    """

    def __init__(self, payload: dict[str, Any], label: str, changed: asyncio.Condition) -> None:
        self.payload = payload
        self.label = label
        self.id = int(payload["id"])
        self.token: str = payload["token"]
        self._changed = changed
        self.dispatched_at: float | None = None
        self.first_response_at: float | None = None
        self.responses: list[dict[str, Any]] = []
        self.followups: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []
        self.original: dict[str, Any] | None = None
        self.deleted_original = False

    def __repr__(self) -> str:
        return f"<InteractionHandle {self.label} id={self.id} responses={len(self.responses)}>"

    @property
    def latency(self) -> float | None:
        """Seconds from sending INTERACTION_CREATE to the first callback (None if none yet)."""
        if self.dispatched_at is None or self.first_response_at is None:
            return None
        return self.first_response_at - self.dispatched_at

    @property
    def response(self) -> dict[str, Any] | None:
        """The first callback body, if any."""
        return self.responses[0] if self.responses else None

    @property
    def ephemeral(self) -> bool:
        """True when the first response was ephemeral (flag 64)."""
        data = (self.response or {}).get("data") or {}
        return bool((data.get("flags") or 0) & EPHEMERAL)

    async def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise TimeoutError(
                    f"{self.label}: no {what} within {timeout}s ({self!r})"
                ) from None

    async def wait_response(self, timeout: float = 5.0) -> dict[str, Any]:
        """The first callback body (``{"type": 4, "data": {...}}``)."""
        await self._wait(lambda: bool(self.responses), timeout, "interaction response")
        return self.responses[0]

    async def wait_followups(self, n: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The first ``n`` followup messages (message objects, in order)."""
        await self._wait(lambda: len(self.followups) >= n, timeout, f"{n} followup(s)")
        return self.followups[:n]

    async def wait_edit(self, n: int = 1, timeout: float = 5.0) -> dict[str, Any]:
        """The original response message after ``n`` edits (e.g. after a defer)."""
        await self._wait(lambda: len(self.edits) >= n, timeout, f"{n} edit(s) of @original")
        assert self.original is not None
        return self.original


@dataclass
class DiscordState:
    """All the fake Discord knows; one instance per :class:`FakeDiscord`."""

    token: str
    snowflake: Snowflakes = field(default_factory=Snowflakes)
    bot: FakeUser = field(init=False)
    owner: FakeUser = field(init=False)
    guilds: dict[int, FakeGuild] = field(default_factory=dict)
    channels: dict[int, FakeChannel] = field(default_factory=dict)
    messages: MessageStore = field(default_factory=MessageStore)
    commands: CommandStore = field(init=False)
    interactions: dict[str, InteractionHandle] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.bot = FakeUser(self.snowflake(), "Newsdesk", bot=True)
        self.owner = FakeUser(self.snowflake(), "owner", global_name="Owner")
        self.commands = CommandStore(self.snowflake, self.bot.id)

    @property
    def application_id(self) -> int:
        return self.bot.id

    def add_guild(
        self, name: str, channels: Iterable[str] = ("general",), *, guild_id: int | None = None
    ) -> FakeGuild:
        """Create a guild owned by ``owner``, with the bot as a member and the given channels."""
        guild = FakeGuild(self, guild_id or self.snowflake(), name, self.owner)
        guild.members[self.bot.id] = FakeMember(self.bot)
        for channel in channels:
            guild.add_channel(channel)
        self.guilds[guild.id] = guild
        return guild

    def guild_of(self, channel_id: int) -> FakeGuild | None:
        channel = self.channels.get(channel_id)
        return self.guilds.get(channel.guild_id) if channel else None

    def application_json(self) -> dict[str, Any]:
        """GET /oauth2/applications/@me."""
        return {
            "id": str(self.application_id),
            "name": self.bot.username,
            "description": "",
            "icon": None,
            "rpc_origins": [],
            "bot_public": False,
            "bot_require_code_grant": False,
            "bot": self.bot.to_json(),
            "owner": self.owner.to_json(),
            "team": None,
            "summary": "",
            "verify_key": "0" * 64,
            "flags": 0,
            "tags": [],
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "approximate_guild_count": len(self.guilds),
        }

    def make_message(
        self,
        channel_id: int,
        body: dict[str, Any],
        *,
        author: FakeUser | None = None,
        webhook_id: int | None = None,
        interaction: InteractionHandle | None = None,
        attachments: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """The message object Discord returns for a create body."""
        guild = self.guild_of(channel_id)
        message: dict[str, Any] = {
            "id": str(self.snowflake()),
            "type": 0,
            "channel_id": str(channel_id),
            "author": (author or self.bot).to_json(),
            "content": body.get("content") or "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments or [],
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "components": list(body.get("components") or []),
            "pinned": False,
            "flags": body.get("flags") or 0,
        }
        if guild is not None:
            message["guild_id"] = str(guild.id)
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if webhook_id is not None:
            message["webhook_id"] = str(webhook_id)
            message["application_id"] = str(self.application_id)
        if interaction is not None:
            message["type"] = 20 if interaction.payload["type"] == 2 else 0
            message["interaction_metadata"] = {
                "id": str(interaction.id),
                "type": interaction.payload["type"],
                "user": _invoker(interaction.payload),
                "authorizing_integration_owners": {},
            }
        return message


def _invoker(payload: dict[str, Any]) -> dict[str, Any]:
    member = payload.get("member")
    return member["user"] if member else payload.get("user", {})


def edit_message(message: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """Apply an edit body to a stored message in place and return it."""
    for key in ("content", "embeds", "components", "flags", "attachments"):
        if key in body and body[key] is not None:
            value = body[key]
            if key == "embeds":
                value = [{"type": "rich", **e} for e in value]
            if key == "flags":
                value = (message.get("flags", 0) & EPHEMERAL) | value
            message[key] = value
    message["flags"] = message.get("flags", 0) & ~LOADING
    message["edited_timestamp"] = iso_now()
    return message
