"""A loopback Discord (Gateway websocket + REST API) for an unmodified discord.py client.

Typical use (see ``tests/test_fakediscord.py`` and the package docstring)::

    async with FakeDiscord() as fake:          # starts on 127.0.0.1 and points discord.py at it
        guild = fake.add_guild("Test", channels=["news"])
        async with fake.running(bot):          # bot.start(fake.token) ... bot.close()
            handle = await fake.send_command("news latest", {"count": 3})
            body = await handle.wait_response()
        fake.assert_no_violations()

Every REST body is validated (see :mod:`tests.fakediscord.validate`); problems are
collected in :attr:`FakeDiscord.violations`. Bodies Discord itself would refuse get
Discord's 400 (code 50035); a missing ``allowed_mentions`` is accepted but recorded.
"""

# The wait helpers take ``timeout`` on purpose: tests read better with it than with asyncio.timeout.
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import json
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

from .state import (
    ADMINISTRATOR,
    ATTACHMENT_SIZE_LIMIT,
    EMBED_LINKS,
    EPHEMERAL,
    LOADING,
    SEND_MESSAGES,
    VIEW_CHANNEL,
    DiscordState,
    FakeChannel,
    FakeGuild,
    FakeMember,
    InteractionHandle,
    edit_message,
)
from .validate import SchemaValidator, check_limits, is_soft, schema_validator

API_PREFIX = "/api/v10"
JSON = "application/json"
PRIVILEGED_INTENTS = (1 << 1) | (1 << 8) | (1 << 15)  # members, presences, message_content

Handler = Callable[..., Awaitable[web.StreamResponse]]


# ---------------------------------------------------------------------------
# Records kept for tests
# ---------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One REST request the client made, and the status it got."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    def __str__(self) -> str:
        return f"{self.method} {self.path} -> {self.status}"


@dataclass
class Violation:
    """Something the bot did that real Discord would refuse or that breaks a project rule."""

    where: str
    problem: str

    def __str__(self) -> str:
        return f"{self.where}: {self.problem}"


@dataclass
class Fault:
    """An injected failure: the next ``times`` matching requests get ``status``."""

    method: str
    path_pattern: str
    status: int
    retry_after: float
    times: int
    code: int | None
    message: str | None
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.hits < self.times
            and self.method in ("*", method)
            and fnmatch.fnmatchcase(path, self.path_pattern)
        )

    def response(self) -> web.Response:
        """Discord's error response for this status."""
        if self.status == 429:
            body = {
                "message": self.message or "You are being rate limited.",
                "retry_after": self.retry_after,
                "global": False,
                "code": self.code or 0,
            }
            headers = {
                "Via": "1.1 google",
                "Retry-After": str(max(1, round(self.retry_after))),
                "X-RateLimit-Scope": "user",
            }
            return json_response(body, status=429, headers=headers)
        if self.status == 403:
            return error_response(403, self.code or 50013, self.message or "Missing Permissions")
        default = f"{self.status}: {HTTPStatus(self.status).phrase}"
        return error_response(self.status, self.code or 0, self.message or default)


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A response whose Content-Type is exactly ``application/json`` (discord.py needs that)."""
    all_headers = {"Content-Type": JSON, **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


def error_response(status: int, code: int, message: str, errors: Any = None) -> web.Response:
    """Discord's JSON error shape ``{"code", "message"[, "errors"]}``."""
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status=status)


# ---------------------------------------------------------------------------
# Gateway session
# ---------------------------------------------------------------------------


def shard_of(guild_id: int, shard_count: int) -> int:
    """Discord's rule: the shard whose connection carries a guild's events."""
    return (guild_id >> 22) % shard_count


class GatewaySession:
    """One identified Gateway session; events are kept so a RESUME can replay them.

    ``shard`` is ``(shard_id, shard_count)`` from IDENTIFY, or None for an
    unsharded connection (which carries every guild).
    """

    HISTORY = 1000

    def __init__(self, intents: int, shard: tuple[int, int] | None = None) -> None:
        self.session_id = uuid.uuid4().hex
        self.intents = intents
        self.shard = shard
        self.seq = 0
        self.history: deque[dict[str, Any]] = deque(maxlen=self.HISTORY)
        self.ws: web.WebSocketResponse | None = None
        self.lock = asyncio.Lock()
        self.on_sent: dict[int, Callable[[], None]] = {}

    @property
    def connected(self) -> bool:
        return self.ws is not None and not self.ws.closed

    @property
    def shard_id(self) -> int:
        return self.shard[0] if self.shard else 0

    def carries(self, guild_id: int) -> bool:
        """Whether this connection gets the guild's events (its shard, or unsharded)."""
        return self.shard is None or shard_of(guild_id, self.shard[1]) == self.shard[0]

    async def dispatch(
        self, event: str, data: Any, on_sent: Callable[[], None] | None = None
    ) -> None:
        """Send (or queue, while disconnected) one op 0 event with the next sequence number."""
        async with self.lock:
            self.seq += 1
            frame = {"op": 0, "t": event, "s": self.seq, "d": data}
            self.history.append(frame)
            if on_sent is not None:
                self.on_sent[self.seq] = on_sent
            if self.connected:
                await self._send(frame)

    async def _send(self, frame: dict[str, Any]) -> None:
        """Send one frame; if the socket is going away the frame stays queued for RESUME."""
        assert self.ws is not None
        callback = self.on_sent.pop(frame["s"], None)
        if callback is not None:
            callback()  # before the await, so the bot cannot answer before it runs
        try:
            await self.ws.send_str(json.dumps(frame))
        except (ConnectionResetError, RuntimeError):
            if callback is not None:
                self.on_sent[frame["s"]] = callback

    async def resume(self, ws: web.WebSocketResponse, seq: int | None) -> None:
        """Attach a new socket, replay missed events, then send RESUMED."""
        async with self.lock:
            self.ws = ws
            for frame in list(self.history):
                if frame["s"] > (seq or 0):
                    await self._send(frame)
            self.seq += 1
            await self._send({"op": 0, "t": "RESUMED", "s": self.seq, "d": {}})


# ---------------------------------------------------------------------------
# The server
# ---------------------------------------------------------------------------


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    template: str
    handler: Handler
    auth: bool = True


def _route(method: str, template: str, handler: Handler, auth: bool = True) -> _Route:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return _Route(method, re.compile(f"^{regex}$"), template, handler, auth)


class FakeDiscord:
    """Discord on 127.0.0.1: a Gateway at ``/gateway`` and the REST API under ``/api/v10``.

    Parameters: ``token`` the bot token the client must present; ``reject_invalid``
    answer invalid bodies with 400 like Discord (otherwise only record them);
    ``ack_deadline`` seconds within which an interaction must be answered;
    ``global_rate_limit`` requests per second before a global 429 (None: off);
    ``allowed_intents`` privileged intents enabled for the app (IDENTIFY with others -> 4014);
    ``shards`` the shard count ``GET /gateway/bot`` recommends (and :meth:`add_guild`'s
    ``shard=`` places guilds by).

    Sharding: a client that IDENTIFYs with ``shard: [id, count]`` gets, on that
    connection, only the guilds (READY, GUILD_CREATE, interactions, events) with
    ``(guild_id >> 22) % count == id``; one process may hold several shard
    connections, and several processes may each hold some (:attr:`sessions`).
    """

    def __init__(
        self,
        *,
        token: str | None = None,
        reject_invalid: bool = True,
        strict_keys: bool = True,
        ack_deadline: float = 3.0,
        global_rate_limit: int | None = 50,
        allowed_intents: int = 0,
        heartbeat_interval_ms: int = 41250,
        patch_discord: bool = True,
        shards: int = 1,
    ) -> None:
        self.token = token or f"fake.{secrets.token_urlsafe(16)}"
        self.state = DiscordState(self.token)
        self.reject_invalid = reject_invalid
        self.ack_deadline = ack_deadline
        self.global_rate_limit = global_rate_limit
        self.allowed_intents = allowed_intents
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.shards = shards
        self.validator: SchemaValidator = schema_validator(strict_keys=strict_keys)
        self.requests: list[RecordedRequest] = []
        self.unexpected: list[RecordedRequest] = []
        self.violations: list[Violation] = []
        self.faults: list[Fault] = []
        self.gateway_log: list[dict[str, Any]] = []  # frames received from the client
        self.identify_payload: dict[str, Any] | None = None  # the latest IDENTIFY
        self.identify_payloads: list[dict[str, Any]] = []
        self.gateway_connects: list[str] = []  # paths of websocket connections, in order
        self.resumes = 0
        self.sessions: dict[int, GatewaySession] = {}  # by shard id (0 when unsharded)
        self._patch = patch_discord
        self._patcher: contextlib.ExitStack | None = None
        self._runner: web.AppRunner | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._recent: deque[float] = deque()
        self._changed: asyncio.Condition | None = None
        self.port = 0
        self._routes = self._build_routes()

    # ----- lifecycle -------------------------------------------------------

    async def start(self) -> FakeDiscord:
        """Listen on 127.0.0.1 (random port) and, by default, point discord.py here."""
        self._changed = asyncio.Condition()
        app = web.Application(client_max_size=32 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/gateway/resume", self._gateway)
        app.router.add_route("*", "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        if self._patch:
            self._patcher = contextlib.ExitStack()
            self._patcher.enter_context(point_discord_at(self.http_url, self.gateway_url))
        return self

    async def close(self) -> None:
        """Close every websocket and stop the server; restore discord.py's URLs."""
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        for ws in list(self._sockets):
            await ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._patcher is not None:
            self._patcher.close()
            self._patcher = None

    async def __aenter__(self) -> FakeDiscord:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def http_url(self) -> str:
        """Value for ``discord.http.Route.BASE``."""
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        """Value for ``DiscordWebSocket.DEFAULT_GATEWAY``."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    @contextlib.asynccontextmanager
    async def running(self, client: Any, *, timeout: float = 10.0) -> AsyncIterator[Any]:
        """Log ``client`` in with :attr:`token`, connect, wait for ready; close it on exit.

        Errors before ready (``LoginFailure``, ``PrivilegedIntentsRequired``...) propagate.
        """
        await client.login(self.token)
        task = asyncio.create_task(client.connect(), name="fakediscord-client")
        ready = asyncio.create_task(client.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {task, ready}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                task.result()  # re-raise the client's error
                raise RuntimeError("client stopped before it was ready")
            if not done:
                raise TimeoutError(f"client not ready within {timeout}s")
            yield client
        finally:
            ready.cancel()
            await client.close()
            if not task.done():
                await asyncio.wait_for(task, timeout)
            elif not task.cancelled():
                task.exception()  # already raised above; mark it retrieved

    # ----- guilds, messages, commands -------------------------------------

    @property
    def session(self) -> GatewaySession | None:
        """The Gateway session of shard 0 (the only one of an unsharded client), else any."""
        if 0 in self.sessions:
            return self.sessions[0]
        return next(iter(self.sessions.values()), None)

    def session_for(self, guild: int | FakeGuild) -> GatewaySession | None:
        """The session that carries ``guild``'s events (by Discord's shard rule), if any."""
        guild_id = _guild_id(guild)
        assert guild_id is not None
        for session in self.sessions.values():
            if session.carries(guild_id):
                return session
        return None

    def shard_of(self, guild: int | FakeGuild, shard_count: int | None = None) -> int:
        """The shard of ``guild`` with ``shard_count`` shards (default: :attr:`shards`)."""
        guild_id = _guild_id(guild)
        assert guild_id is not None
        return shard_of(guild_id, shard_count or self.shards)

    @property
    def bot_user(self) -> Any:
        return self.state.bot

    @property
    def guilds(self) -> dict[int, FakeGuild]:
        return self.state.guilds

    def add_guild(
        self,
        name: str = "Test Guild",
        channels: tuple[str, ...] | list[str] = ("general",),
        *,
        shard: int | None = None,
    ) -> FakeGuild:
        """Create a guild with the bot as a member (after connecting: the bot "joins" it).

        ``shard``: give the guild an id on that shard of :attr:`shards`.
        """
        guild_id = None
        if shard is not None:
            if not 0 <= shard < self.shards:
                raise ValueError(f"shard {shard} with FakeDiscord(shards={self.shards})")
            guild_id = self.state.snowflake.on_shard(shard, self.shards)
        guild = self.state.add_guild(name, channels, guild_id=guild_id)
        session = self.session_for(guild)
        if session is not None:
            payload = guild.to_json()
            del payload["unavailable"]  # a new join, not an outage ending: on_guild_join
            self._spawn(session.dispatch("GUILD_CREATE", payload))
        return guild

    @property
    def messages(self) -> Mapping[int, list[dict[str, Any]]]:
        """Visible messages per channel id (channel posts, public interaction replies)."""
        return self.state.messages.by_channel

    def message(self, message_id: int | str) -> dict[str, Any]:
        """Any stored message (including ephemeral ones) by id."""
        return self.state.messages.by_id[int(message_id)]

    async def wait_messages(
        self, channel: int | FakeChannel, n: int = 1, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """The first ``n`` visible messages in a channel, waiting for them to arrive."""
        channel_id = channel.id if isinstance(channel, FakeChannel) else int(channel)
        got = self.state.messages.by_channel[channel_id]
        await self._wait(
            lambda: len(got) >= n,
            timeout,
            f"{n} message(s) in channel {channel_id} (have {len(got)})",
        )
        return got[:n]

    def commands(self, guild: int | FakeGuild | None = None) -> list[dict[str, Any]]:
        """Registered commands (global when ``guild`` is None), as echoed to the bot."""
        return self.state.commands.listing(_guild_id(guild))

    async def wait_commands(
        self, guild: int | FakeGuild | None = None, timeout: float = 5.0
    ) -> list[dict[str, Any]]:
        """Wait until the bot has registered at least one command in a scope."""
        await self._wait(lambda: bool(self.commands(guild)), timeout, "registered commands")
        return self.commands(guild)

    # ----- faults ----------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        status: int = 500,
        *,
        retry_after: float = 0.05,
        times: int = 1,
        code: int | None = None,
        message: str | None = None,
    ) -> Fault:
        """Answer the next ``times`` ``method`` requests whose path (after /api/v10) matches
        the glob ``path_pattern`` (``"/channels/*/messages"``) with ``status``.

        429 carries ``Via`` and ``retry_after`` (discord.py retries); 403 is Missing
        Permissions (50013); 5xx are retried by discord.py after 1 s, 3 s, ...
        """
        fault = Fault(method.upper(), path_pattern, status, retry_after, times, code, message)
        self.faults.append(fault)
        return fault

    async def disconnect_gateway(self, code: int = 4000, *, shard: int | None = None) -> None:
        """Close the bot's Gateway socket with ``code`` (4000: it reconnects and RESUMEs);
        ``shard``: that shard's connection (default: :attr:`session`)."""
        session = self.session if shard is None else self.sessions.get(shard)
        if session is None or session.ws is None:
            raise RuntimeError("no Gateway connection to close")
        await session.ws.close(code=code, message=b"closed by the test")

    async def wait_resumed(self, n: int = 1, timeout: float = 5.0) -> None:
        """Wait until the client has resumed its session ``n`` times."""
        await self._wait(lambda: self.resumes >= n, timeout, f"{n} RESUME(s)")

    async def dispatch(self, event: str, data: Any, *, shard: int | None = None) -> None:
        """Send any Gateway event to the connected bot: to ``shard``'s connection, else
        to the connection carrying ``data["guild_id"]``, else to :attr:`session`."""
        if shard is not None:
            session = self.sessions.get(shard)
        elif isinstance(data, Mapping) and data.get("guild_id"):
            session = self.session_for(int(data["guild_id"]))
        else:
            session = self.session
        if session is None:
            raise RuntimeError(f"no Gateway connection for {event} (shard {shard})")
        await session.dispatch(event, data)

    # ----- interactions ----------------------------------------------------

    async def send_command(
        self,
        path: str,
        options: Mapping[str, Any] | None = None,
        *,
        guild: FakeGuild | None = None,
        channel: FakeChannel | str | None = None,
        member: FakeMember | str | None = None,
        locale: str = "en-US",
        check_permissions: bool = True,
    ) -> InteractionHandle:
        """Invoke a registered slash command: ``path`` is ``"name [group] [subcommand]"``.

        ``options`` maps option names to values (FakeChannel/FakeMember for channel/user
        options); types come from the registered definition. The default member is the
        guild owner (an admin); pass a member from ``guild.add_member`` to test others.
        Like Discord, a member lacking the command's ``default_member_permissions``
        cannot use it (PermissionError); ``check_permissions=False`` models a server
        admin who overrode that in the server settings.
        """
        guild, channel, member = self._context(guild, channel, member)
        data = self._command_data(path, options or {}, guild, channel, focused=None)
        if check_permissions:
            _check_member_may_use(
                self.state.commands.find(data["name"], guild.id), guild, channel, member
            )
        return await self._send_interaction(2, data, guild, channel, member, locale, f"/{path}")

    async def send_autocomplete(
        self,
        path: str,
        options: Mapping[str, Any],
        focused: str,
        *,
        guild: FakeGuild | None = None,
        channel: FakeChannel | str | None = None,
        member: FakeMember | str | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Autocomplete for option ``focused`` of a command (its value is the typed text)."""
        guild, channel, member = self._context(guild, channel, member)
        data = self._command_data(path, options, guild, channel, focused=focused)
        return await self._send_interaction(
            4, data, guild, channel, member, locale, f"autocomplete /{path} {focused}"
        )

    async def send_component(
        self,
        message: Mapping[str, Any] | int | str,
        custom_id: str,
        *,
        component_type: int = 2,
        values: list[str] | None = None,
        member: FakeMember | str | None = None,
        locale: str = "en-US",
    ) -> InteractionHandle:
        """Press a button (or pick ``values`` in a select) on a message the bot sent."""
        stored = self.message(message["id"] if isinstance(message, Mapping) else message)
        component = _find_component(stored.get("components") or [], custom_id)
        if component is None or component.get("disabled"):
            state = "is disabled" if component else "is not there"
            raise ValueError(f"component {custom_id!r} {state} on message {stored['id']}")
        channel_obj = self.state.channels[int(stored["channel_id"])]
        guild = self.state.guilds[channel_obj.guild_id]
        guild, channel_obj, member_obj = self._context(guild, channel_obj, member)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component_type}
        if values is not None:
            data["values"] = values
        return await self._send_interaction(
            3,
            data,
            guild,
            channel_obj,
            member_obj,
            locale,
            f"component {custom_id}",
            message=stored,
        )

    def interaction(self, interaction_id: int) -> InteractionHandle:
        """The handle of an interaction sent earlier."""
        for handle in self.state.interactions.values():
            if handle.id == interaction_id:
                return handle
        raise KeyError(interaction_id)

    # ----- violations ------------------------------------------------------

    def latencies(self) -> list[float]:
        """Seconds from INTERACTION_CREATE to first response, for every answered interaction."""
        return [h.latency for h in self.state.interactions.values() if h.latency is not None]

    def unanswered_interactions(self) -> list[InteractionHandle]:
        return [h for h in self.state.interactions.values() if not h.responses]

    def problems(self) -> list[str]:
        """All violations, unexpected requests and never-answered interactions."""
        found = [str(v) for v in self.violations]
        found += [f"unexpected request {r.method} {_masked(r.path)}" for r in self.unexpected]
        found += [f"{h.label}: interaction never answered" for h in self.unanswered_interactions()]
        return found

    def assert_no_violations(self) -> None:
        """Raise AssertionError listing every problem, if there is any."""
        found = self.problems()
        if found:
            raise AssertionError("fake Discord saw problems:\n  - " + "\n  - ".join(found))

    def violation(self, where: str, problem: str) -> None:
        self.violations.append(Violation(where, problem))

    # ----- internals: waiting ----------------------------------------------

    async def _wait(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        changed = self._cond()
        async with changed:
            try:
                await asyncio.wait_for(changed.wait_for(predicate), timeout)
            except TimeoutError:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}") from None

    def _cond(self) -> asyncio.Condition:
        if self._changed is None:
            raise RuntimeError("FakeDiscord is not started")
        return self._changed

    async def _notify(self) -> None:
        changed = self._cond()
        async with changed:
            changed.notify_all()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine in the background, keeping a reference until it is done."""
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _require_session(self, guild: FakeGuild | None = None) -> GatewaySession:
        session = self.session if guild is None else self.session_for(guild)
        if session is None:
            if guild is not None and self.sessions:
                raise RuntimeError(f"no Gateway connection carries guild {guild.name!r}")
            raise RuntimeError("the bot has not identified on the Gateway yet")
        return session

    # ----- internals: interaction payloads ----------------------------------

    def _context(
        self,
        guild: FakeGuild | None,
        channel: FakeChannel | str | None,
        member: FakeMember | str | None,
    ) -> tuple[FakeGuild, FakeChannel, FakeMember]:
        if guild is None:
            if not self.state.guilds:
                raise ValueError("no guild: call fake.add_guild() first")
            guild = next(iter(self.state.guilds.values()))
        if channel is None:
            channel = next(iter(guild.channels.values()))
        elif isinstance(channel, str):
            channel = guild.channel(channel)
        if member is None:
            member = guild.members[guild.owner.id]
        elif isinstance(member, str):
            member = guild.member(member)
        return guild, channel, member

    def _command_data(
        self,
        path: str,
        options: Mapping[str, Any],
        guild: FakeGuild,
        channel: FakeChannel,
        focused: str | None,
    ) -> dict[str, Any]:
        names = path.split()
        command = self.state.commands.find(names[0], guild.id)
        if command is None:
            known = [c["name"] for c in self.commands(guild) + self.commands()]
            raise ValueError(f"command {names[0]!r} is not registered (registered: {known})")
        resolved: dict[str, dict[str, Any]] = {}
        leaf = _leaf_options(command, options, names[1:], guild, channel, resolved, focused)
        data: dict[str, Any] = {
            "id": command["id"],
            "name": command["name"],
            "type": command["type"],
            "options": leaf,
        }
        if resolved:
            data["resolved"] = resolved
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return data

    async def _send_interaction(
        self,
        kind: int,
        data: dict[str, Any],
        guild: FakeGuild,
        channel: FakeChannel,
        member: FakeMember,
        locale: str,
        label: str,
        message: dict[str, Any] | None = None,
    ) -> InteractionHandle:
        session = self._require_session(guild)
        token = f"aW50ZXJhY3Rpb24.{secrets.token_urlsafe(24)}"
        bot_perms = guild.permissions_in(guild.bot_member, channel)
        payload: dict[str, Any] = {
            "id": str(self.state.snowflake()),
            "application_id": str(self.state.application_id),
            "type": kind,
            "data": data,
            "guild_id": str(guild.id),
            "guild": {"id": str(guild.id), "locale": "en-US", "features": []},
            "channel_id": str(channel.id),
            "channel": {
                **channel.to_json(),
                "permissions": str(guild.permissions_in(member, channel)),
            },
            "member": member.to_json(permissions=guild.permissions_in(member, channel)),
            "token": token,
            "version": 1,
            "app_permissions": str(bot_perms),
            "locale": locale,
            "guild_locale": "en-US",
            "entitlements": [],
            "entitlement_sku_ids": [],
            "authorizing_integration_owners": {"0": str(guild.id)},
            "context": 0,
            "attachment_size_limit": ATTACHMENT_SIZE_LIMIT,
        }
        if message is not None:
            payload["message"] = message
        handle = InteractionHandle(payload, label, self._cond())
        self.state.interactions[token] = handle

        def sent() -> None:
            handle.dispatched_at = time.monotonic()

        await session.dispatch("INTERACTION_CREATE", payload, on_sent=sent)
        return handle

    # ----- internals: gateway ----------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=4 * 1024 * 1024)
        await ws.prepare(request)
        self._sockets.add(ws)
        self.gateway_connects.append(request.path)
        await ws.send_str(
            json.dumps(
                {
                    "op": 10,
                    "d": {"heartbeat_interval": self.heartbeat_interval_ms},
                    "s": None,
                    "t": None,
                }
            )
        )
        session: GatewaySession | None = None
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                self.gateway_log.append(frame)
                session = await self._gateway_frame(ws, frame, session)
                if ws.closed:
                    break
        finally:
            self._sockets.discard(ws)
            if session is not None and session.ws is ws:
                session.ws = None
        return ws

    async def _gateway_frame(
        self, ws: web.WebSocketResponse, frame: dict[str, Any], session: GatewaySession | None
    ) -> GatewaySession | None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            await ws.send_str(json.dumps({"op": 11}))
        elif op == 2:
            return await self._identify(ws, data or {}, session)
        elif op == 6:
            return await self._resume(ws, data or {})
        elif session is None:
            await ws.close(code=4003, message=b"Not authenticated.")
        elif op == 8:
            await self._members_chunk(session, data or {})
        elif op not in (3, 4):
            self.violation("gateway", f"unknown opcode {op}")
        return session

    async def _identify(
        self, ws: web.WebSocketResponse, data: dict[str, Any], session: GatewaySession | None
    ) -> GatewaySession | None:
        if session is not None:
            await ws.close(code=4005, message=b"Already authenticated.")
            return session
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        intents = int(data.get("intents") or 0)
        if intents & PRIVILEGED_INTENTS & ~self.allowed_intents:
            await ws.close(code=4014, message=b"Disallowed intent(s).")
            return None
        shard = _identify_shard(data.get("shard"))
        if shard is False:
            await ws.close(code=4010, message=b"Invalid shard.")
            return None
        counts = {s.shard[1] for s in self.sessions.values() if s.shard and s.connected}
        if shard is not None and counts - {shard[1]}:
            self.violation("gateway", f"IDENTIFY with shard {shard} while others use {counts}")
        self.identify_payload = data
        self.identify_payloads.append(data)
        session = GatewaySession(intents, shard)
        session.ws = ws
        self.sessions[session.shard_id] = session
        ready = {
            "v": 10,
            "user": {
                **self.state.bot.to_json(),
                "verified": True,
                "mfa_enabled": False,
                "flags": 0,
            },
            "guilds": [
                {"id": str(g), "unavailable": True} for g in self.state.guilds if session.carries(g)
            ],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": f"ws://127.0.0.1:{self.port}/gateway/resume",
            "application": {"id": str(self.state.application_id), "flags": 0},
            "private_channels": [],
            "presences": [],
            "relationships": [],
            "user_settings": {},
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["us-east"],
            "_trace": ["fakediscord"],
        }
        if shard is not None:
            ready["shard"] = list(shard)
        await session.dispatch("READY", ready)
        for guild in self.state.guilds.values():
            if session.carries(guild.id):
                await session.dispatch("GUILD_CREATE", guild.to_json())
        await self._notify()
        return session

    async def _resume(
        self, ws: web.WebSocketResponse, data: dict[str, Any]
    ) -> GatewaySession | None:
        session = next(
            (s for s in self.sessions.values() if s.session_id == data.get("session_id")), None
        )
        if data.get("token") != self.token:
            await ws.close(code=4004, message=b"Authentication failed.")
            return None
        if session is None or data.get("session_id") != session.session_id:
            await ws.send_str(json.dumps({"op": 9, "d": False, "s": None, "t": None}))
            return None
        await session.resume(ws, data.get("seq"))
        self.resumes += 1
        await self._notify()
        return session

    async def _members_chunk(self, session: GatewaySession, data: dict[str, Any]) -> None:
        guild = self.state.guilds.get(int(data.get("guild_id") or 0))
        if guild is None:
            return
        chunk = {
            "guild_id": str(guild.id),
            "members": [m.to_json() for m in guild.members.values()],
            "chunk_index": 0,
            "chunk_count": 1,
            "not_found": [],
            "nonce": data.get("nonce"),
        }
        await session.dispatch("GUILD_MEMBERS_CHUNK", chunk)

    # ----- internals: REST ---------------------------------------------------

    def _build_routes(self) -> list[_Route]:
        app = "/applications/{application_id}"
        hook = "/webhooks/{webhook_id}/{webhook_token}"
        return [
            _route("GET", "/users/@me", self._get_me),
            _route("GET", "/oauth2/applications/@me", self._get_application),
            _route("GET", "/applications/@me", self._get_application),
            _route("GET", "/gateway", self._get_gateway, auth=False),
            _route("GET", "/gateway/bot", self._get_gateway),
            _route("GET", f"{app}/commands", self._get_commands),
            _route("PUT", f"{app}/commands", self._put_commands),
            _route("GET", f"{app}/guilds/{{guild_id}}/commands", self._get_commands),
            _route("PUT", f"{app}/guilds/{{guild_id}}/commands", self._put_commands),
            _route("GET", "/channels/{channel_id}", self._get_channel),
            _route("GET", "/channels/{channel_id}/messages", self._get_messages),
            _route("POST", "/channels/{channel_id}/messages", self._post_message),
            _route("GET", "/channels/{channel_id}/messages/{message_id}", self._get_message),
            _route("PATCH", "/channels/{channel_id}/messages/{message_id}", self._patch_message),
            _route("DELETE", "/channels/{channel_id}/messages/{message_id}", self._delete_message),
            _route("POST", "/channels/{channel_id}/typing", self._typing),
            _route(
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                self._callback,
                auth=False,
            ),
            _route("POST", hook, self._followup, auth=False),
            _route("GET", f"{hook}/messages/{{message_id}}", self._get_hook_message, auth=False),
            _route(
                "PATCH", f"{hook}/messages/{{message_id}}", self._patch_hook_message, auth=False
            ),
            _route(
                "DELETE", f"{hook}/messages/{{message_id}}", self._delete_hook_message, auth=False
            ),
        ]

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        body, files, bad = await _read_body(request)
        path = (
            request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else request.path
        )
        record = RecordedRequest(request.method, path, dict(request.query), body)
        self.requests.append(record)
        response = await self._answer(request, record, files, bad)
        record.status = response.status
        await self._notify()
        return response

    async def _answer(
        self,
        request: web.Request,
        record: RecordedRequest,
        files: list[dict[str, Any]],
        bad: str | None,
    ) -> web.StreamResponse:
        where = f"{record.method} {_masked(record.path)}"
        match = (
            self._match(record.method, record.path) if request.path.startswith(API_PREFIX) else None
        )
        if match is None:
            self.unexpected.append(record)
            return error_response(404, 0, "404: Not Found")
        route, params = match
        if route.auth and request.headers.get("Authorization") != f"Bot {self.token}":
            return error_response(401, 0, "401: Unauthorized")
        if bad is not None:
            self.violation(where, bad)
            return error_response(400, 50109, "The request body contains invalid JSON.")
        limited = self._global_limit(route)
        if limited is not None:
            return limited
        for fault in self.faults:
            if fault.matches(record.method, record.path):
                fault.hits += 1
                return fault.response()
        problems = self._validate(route, record, files)
        hard = [p for p in problems if not is_soft(p)]
        if hard and self.reject_invalid:
            errors = {"_errors": [{"code": "FAKEDISCORD_INVALID", "message": p} for p in hard]}
            return error_response(400, 50035, "Invalid Form Body", errors)
        return await route.handler(request, record, files=files, **params)

    def _match(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        for route in self._routes:
            if route.method == method:
                found = route.pattern.match(path)
                if found:
                    return route, found.groupdict()
        return None

    def _global_limit(self, route: _Route) -> web.Response | None:
        """Discord's global limit of N requests per second (interaction callbacks exempt)."""
        if self.global_rate_limit is None or route.template.endswith("/callback"):
            return None
        now = time.monotonic()
        while self._recent and now - self._recent[0] > 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.global_rate_limit:
            retry = max(0.01, 1.0 - (now - self._recent[0]))
            body = {
                "message": "You are being rate limited.",
                "retry_after": retry,
                "global": True,
                "code": 0,
            }
            return json_response(
                body,
                429,
                {"Via": "1.1 google", "X-RateLimit-Global": "true", "X-RateLimit-Scope": "global"},
            )
        self._recent.append(now)
        return None

    def _validate(
        self, route: _Route, record: RecordedRequest, files: list[dict[str, Any]]
    ) -> list[str]:
        template = self.validator.template_for(record.path) or route.template
        body = record.body
        problems = (
            self.validator.check_request(record.method, template, body) if body is not None else []
        )
        if body is not None:
            problems += check_limits(record.method, template, body, has_files=bool(files))
        for problem in problems:
            self.violation(f"{record.method} {_masked(record.path)}", problem)
        return problems

    # ----- REST handlers -----------------------------------------------------

    async def _get_me(
        self, request: web.Request, record: RecordedRequest, **_: Any
    ) -> web.Response:
        return json_response(
            {**self.state.bot.to_json(), "verified": True, "mfa_enabled": False, "flags": 0}
        )

    async def _get_application(
        self, request: web.Request, record: RecordedRequest, **_: Any
    ) -> web.Response:
        return json_response(self.state.application_json())

    async def _get_gateway(
        self, request: web.Request, record: RecordedRequest, **_: Any
    ) -> web.Response:
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return json_response(
            {"url": self.gateway_url, "shards": self.shards, "session_start_limit": limit}
        )

    def _check_app(self, application_id: str) -> web.Response | None:
        if application_id != str(self.state.application_id):
            return error_response(404, 10002, "Unknown Application")
        return None

    def _check_guild(self, guild_id: str | None) -> web.Response | None:
        if guild_id is not None and int(guild_id) not in self.state.guilds:
            return error_response(403, 50001, "Missing Access")
        return None

    async def _get_commands(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        application_id: str,
        guild_id: str | None = None,
        **_: Any,
    ) -> web.Response:
        error = self._check_app(application_id) or self._check_guild(guild_id)
        if error is not None:
            return error
        return json_response(self.state.commands.listing(int(guild_id) if guild_id else None))

    async def _put_commands(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        application_id: str,
        guild_id: str | None = None,
        **_: Any,
    ) -> web.Response:
        error = self._check_app(application_id) or self._check_guild(guild_id)
        if error is not None:
            return error
        if not isinstance(record.body, list):
            return error_response(400, 50035, "Invalid Form Body")
        stored = self.state.commands.overwrite(record.body, int(guild_id) if guild_id else None)
        return json_response(stored)

    def _channel(self, channel_id: str) -> FakeChannel | None:
        return self.state.channels.get(int(channel_id)) if channel_id.isdigit() else None

    async def _get_channel(
        self, request: web.Request, record: RecordedRequest, *, channel_id: str, **_: Any
    ) -> web.Response:
        channel = self._channel(channel_id)
        if channel is None:
            return error_response(404, 10003, "Unknown Channel")
        return json_response(channel.to_json())

    async def _get_messages(
        self, request: web.Request, record: RecordedRequest, *, channel_id: str, **_: Any
    ) -> web.Response:
        channel = self._channel(channel_id)
        if channel is None:
            return error_response(404, 10003, "Unknown Channel")
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            return error_response(400, 50035, "Invalid Form Body")
        if not 1 <= limit <= 100:
            self.violation(f"GET {_masked(record.path)}", f"limit={limit}, must be 1-100")
            return error_response(400, 50035, "Invalid Form Body")
        newest_first = list(reversed(self.state.messages.by_channel[channel.id]))
        if "before" in request.query:
            newest_first = [m for m in newest_first if int(m["id"]) < int(request.query["before"])]
        if "after" in request.query:
            newest_first = [m for m in newest_first if int(m["id"]) > int(request.query["after"])]
        return json_response(newest_first[:limit])

    def _bot_may_send(self, channel: FakeChannel, body: Mapping[str, Any]) -> web.Response | None:
        guild = self.state.guilds[channel.guild_id]
        perms = guild.permissions_in(guild.bot_member, channel)
        if not perms & ADMINISTRATOR:
            if not perms & VIEW_CHANNEL:
                return error_response(403, 50001, "Missing Access")
            if not perms & SEND_MESSAGES:
                return error_response(403, 50013, "Missing Permissions")
            if body.get("embeds") and not perms & EMBED_LINKS:
                self.violation(
                    f"POST /channels/{channel.id}/messages",
                    "embeds without EMBED_LINKS are suppressed",
                )
        return None

    async def _post_message(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        channel_id: str,
        files: list[dict[str, Any]],
        **_: Any,
    ) -> web.Response:
        channel = self._channel(channel_id)
        if channel is None:
            return error_response(404, 10003, "Unknown Channel")
        body = record.body or {}
        denied = self._bot_may_send(channel, body)
        if denied is not None:
            return denied
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            earlier = self.state.messages.by_nonce(channel.id, str(nonce))
            if earlier is not None:
                return json_response(earlier)
        message = self.state.make_message(
            channel.id, body, attachments=_attachments(files, self.state.snowflake)
        )
        self.state.messages.add(message)
        if nonce is not None:
            self.state.messages.remember_nonce(channel.id, str(nonce), message)
        return json_response(message)

    def _channel_message(self, channel_id: str, message_id: str) -> dict[str, Any] | None:
        message = self.state.messages.by_id.get(int(message_id)) if message_id.isdigit() else None
        if message is None or message["channel_id"] != channel_id:
            return None
        return message

    async def _get_message(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        channel_id: str,
        message_id: str,
        **_: Any,
    ) -> web.Response:
        message = self._channel_message(channel_id, message_id)
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        return json_response(message)

    async def _patch_message(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        channel_id: str,
        message_id: str,
        **_: Any,
    ) -> web.Response:
        message = self._channel_message(channel_id, message_id)
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        if message["author"]["id"] != str(self.state.bot.id):
            return error_response(403, 50005, "Cannot edit a message authored by another user")
        return json_response(edit_message(message, record.body or {}))

    async def _delete_message(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        channel_id: str,
        message_id: str,
        **_: Any,
    ) -> web.Response:
        message = self._channel_message(channel_id, message_id)
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        self.state.messages.remove(int(message_id))
        return web.Response(status=204)

    async def _typing(
        self, request: web.Request, record: RecordedRequest, *, channel_id: str, **_: Any
    ) -> web.Response:
        if self._channel(channel_id) is None:
            return error_response(404, 10003, "Unknown Channel")
        return web.Response(status=204)

    # ----- interactions: callback, followups, @original ----------------------

    async def _callback(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        interaction_id: str,
        interaction_token: str,
        **_: Any,
    ) -> web.Response:
        handle = self.state.interactions.get(interaction_token)
        where = f"POST {_masked(record.path)}"
        if handle is None or str(handle.id) != interaction_id:
            self.violation(where, "callback for an unknown interaction")
            return error_response(404, 10062, "Unknown interaction")
        now = time.monotonic()
        if handle.responses:
            self.violation(where, f"{handle.label}: interaction answered twice")
            return error_response(400, 40060, "Interaction has already been acknowledged.")
        body = record.body or {}
        handle.first_response_at = now
        handle.responses.append(body)
        if handle.dispatched_at is not None and now - handle.dispatched_at > self.ack_deadline:
            late = now - handle.dispatched_at
            self.violation(
                where,
                f"{handle.label}: first response after {late:.2f}s (limit {self.ack_deadline}s)",
            )
            return error_response(404, 10062, "Unknown interaction")
        result = self._apply_callback(handle, body)
        if request.query.get("with_response") not in ("1", "true", "True"):
            return web.Response(status=204)
        return json_response(result)

    def _apply_callback(self, handle: InteractionHandle, body: dict[str, Any]) -> dict[str, Any]:
        """Store what a callback creates; build the ``with_response`` answer."""
        kind = body.get("type")
        data = body.get("data") or {}
        channel_id = int(handle.payload["channel_id"])
        ephemeral = bool((data.get("flags") or 0) & EPHEMERAL)
        interaction: dict[str, Any] = {
            "id": str(handle.id),
            "type": handle.payload["type"],
            "response_message_loading": kind == 5,
            "response_message_ephemeral": ephemeral,
            "channel_id": str(channel_id),
            "guild_id": handle.payload["guild_id"],
        }
        result: dict[str, Any] = {"interaction": interaction}
        if kind in (4, 5):
            content = data if kind == 4 else {"flags": (data.get("flags") or 0) | LOADING}
            message = self.state.make_message(
                channel_id, content, webhook_id=self.state.application_id, interaction=handle
            )
            handle.original = self.state.messages.add(message, visible=kind == 4 and not ephemeral)
            interaction["response_message_id"] = message["id"]
            if kind == 4:
                result["resource"] = {"type": 4, "message": message}
        elif kind == 7 and "message" in handle.payload:
            message = self.state.messages.by_id.get(int(handle.payload["message"]["id"]))
            if message is not None:
                edit_message(message, data)
                interaction["response_message_id"] = message["id"]
                result["resource"] = {"type": 7, "message": message}
        return result

    def _hook(self, webhook_id: str, token: str) -> InteractionHandle | None:
        handle = self.state.interactions.get(token)
        if handle is None or webhook_id != str(self.state.application_id):
            return None
        return handle

    async def _followup(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        webhook_id: str,
        webhook_token: str,
        files: list[dict[str, Any]],
        **_: Any,
    ) -> web.Response:
        handle = self._hook(webhook_id, webhook_token)
        if handle is None:
            return error_response(404, 10015, "Unknown Webhook")
        if not handle.responses:
            self.violation(
                f"POST {_masked(record.path)}",
                f"{handle.label}: followup before the interaction was acknowledged",
            )
            return error_response(404, 10015, "Unknown Webhook")
        body = record.body or {}
        channel_id = int(handle.payload["channel_id"])
        message = self.state.make_message(
            channel_id,
            body,
            webhook_id=self.state.application_id,
            interaction=handle,
            attachments=_attachments(files, self.state.snowflake),
        )
        ephemeral = bool((body.get("flags") or 0) & EPHEMERAL)
        self.state.messages.add(message, visible=not ephemeral)
        handle.followups.append(message)
        if request.query.get("wait") not in ("1", "true", "True"):
            return web.Response(status=204)
        return json_response(message)

    def _hook_message(self, handle: InteractionHandle, message_id: str) -> dict[str, Any] | None:
        if message_id == "@original":
            return None if handle.deleted_original else handle.original
        for message in handle.followups:
            if message["id"] == message_id:
                return message
        return None

    async def _get_hook_message(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        webhook_id: str,
        webhook_token: str,
        message_id: str,
        **_: Any,
    ) -> web.Response:
        handle = self._hook(webhook_id, webhook_token)
        message = self._hook_message(handle, message_id) if handle else None
        if message is None:
            return error_response(404, 10008, "Unknown Message")
        return json_response(message)

    async def _patch_hook_message(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        webhook_id: str,
        webhook_token: str,
        message_id: str,
        files: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> web.Response:
        handle = self._hook(webhook_id, webhook_token)
        message = self._hook_message(handle, message_id) if handle else None
        if handle is None or message is None:
            return error_response(404, 10008, "Unknown Message")
        body = record.body or {}
        before = list(message.get("attachments") or [])
        edit_message(message, {k: v for k, v in body.items() if k != "attachments"})
        if body.get("attachments") is not None or files:
            # Like Discord: listed existing attachments stay, uploaded files are added.
            keep = {str(a.get("id")) for a in body.get("attachments") or []}
            message["attachments"] = [a for a in before if a["id"] in keep] + _attachments(
                files or [], self.state.snowflake
            )
        if message_id == "@original":
            handle.edits.append(body)
            channel = self.state.messages.by_channel[int(message["channel_id"])]
            if not message["flags"] & EPHEMERAL and message not in channel:
                channel.append(message)
        return json_response(message)

    async def _delete_hook_message(
        self,
        request: web.Request,
        record: RecordedRequest,
        *,
        webhook_id: str,
        webhook_token: str,
        message_id: str,
        **_: Any,
    ) -> web.Response:
        handle = self._hook(webhook_id, webhook_token)
        message = self._hook_message(handle, message_id) if handle else None
        if handle is None or message is None:
            return error_response(404, 10008, "Unknown Message")
        self.state.messages.remove(int(message["id"]))
        if message_id == "@original":
            handle.deleted_original = True
        return web.Response(status=204)


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------


async def _read_body(request: web.Request) -> tuple[Any, list[dict[str, Any]], str | None]:
    """(JSON body or None, uploaded files, problem with the body or None)."""
    ctype = request.content_type
    if not request.can_read_body:
        return None, [], None
    if ctype == "multipart/form-data":
        return await _read_multipart(request)
    raw = await request.read()
    if not raw:
        return None, [], None
    if ctype != JSON:
        return None, [], f"body sent as {ctype!r}, expected application/json"
    try:
        return json.loads(raw), [], None
    except ValueError as exc:
        return None, [], f"invalid JSON body: {exc}"


async def _read_multipart(request: web.Request) -> tuple[Any, list[dict[str, Any]], str | None]:
    reader = await request.multipart()
    body: Any = None
    files: list[dict[str, Any]] = []
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):  # nested multipart: not used by Discord
            continue
        data = await part.read()
        if part.name == "payload_json":
            try:
                body = json.loads(data)
            except ValueError as exc:
                return None, files, f"invalid payload_json: {exc}"
        else:
            files.append(
                {
                    "field": part.name,
                    "filename": part.filename,
                    "size": len(data),
                    "data": bytes(data),  # for tests: FakeDiscord.attachment_data(url)
                    "content_type": part.headers.get("Content-Type", "application/octet-stream"),
                }
            )
    return body, files, None


_UPLOADED: dict[str, bytes] = {}  # attachment URL -> the bytes uploaded


def attachment_data(url: str) -> bytes:
    """The bytes uploaded as the attachment at ``url`` (tests read files the bot sent)."""
    return _UPLOADED[url]


def _attachments(files: list[dict[str, Any]], snowflake: Callable[[], int]) -> list[dict[str, Any]]:
    out = []
    for f in files:
        attachment_id = snowflake()
        url = f"https://cdn.invalid/attachments/{attachment_id}/{f['filename']}"
        _UPLOADED[url] = f.get("data", b"")
        out.append(
            {
                "id": str(attachment_id),
                "filename": f["filename"],
                "size": f["size"],
                "url": url,
                "proxy_url": url,
                "content_type": f["content_type"],
            }
        )
    return out


def _check_member_may_use(
    command: dict[str, Any] | None, guild: FakeGuild, channel: FakeChannel, member: FakeMember
) -> None:
    """Discord hides a command from members without its ``default_member_permissions``."""
    required = int((command or {}).get("default_member_permissions") or 0)
    have = guild.permissions_in(member, channel)
    if required and not have & ADMINISTRATOR and have & required != required:
        raise PermissionError(
            f"Discord does not offer /{command and command['name']} to {member.user.username}: "
            f"needs permissions {required}, has {have}"
        )


_TOKEN = re.compile(r"/(interactions/\d+|webhooks/\d+)/[^/?]+")


def _masked(path: str) -> str:
    """A request path with the interaction token replaced by ``<token>`` (for messages)."""
    return _TOKEN.sub(r"/\1/<token>", path)


def _find_component(components: list[dict[str, Any]], custom_id: str) -> dict[str, Any] | None:
    """The component with ``custom_id`` anywhere in a message's component tree."""
    for component in components:
        if component.get("custom_id") == custom_id:
            return component
        found = _find_component(component.get("components") or [], custom_id)
        if found is None and isinstance(component.get("accessory"), dict):
            found = _find_component([component["accessory"]], custom_id)
        if found is not None:
            return found
    return None


def _identify_shard(value: Any) -> tuple[int, int] | None | bool:
    """IDENTIFY's ``shard``: ``(id, count)``, None when absent, False when invalid (4010)."""
    if value is None:
        return None
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and value[1] >= 1
        and 0 <= value[0] < value[1]
    ):
        return value[0], value[1]
    return False


def _guild_id(guild: int | FakeGuild | None) -> int | None:
    if guild is None:
        return None
    return guild.id if isinstance(guild, FakeGuild) else int(guild)


def _leaf_options(
    command: dict[str, Any],
    values: Mapping[str, Any],
    subpath: list[str],
    guild: FakeGuild,
    channel: FakeChannel,
    resolved: dict[str, dict[str, Any]],
    focused: str | None,
) -> list[dict[str, Any]]:
    """Build ``data.options`` for a (sub)command path, typed from its registered definition."""
    definitions = command.get("options") or []
    if subpath:
        name = subpath[0]
        for option in definitions:
            if option["name"] == name and option["type"] in (1, 2):
                inner = _leaf_options(
                    option, values, subpath[1:], guild, channel, resolved, focused
                )
                return [{"type": option["type"], "name": name, "options": inner}]
        raise ValueError(f"{command['name']!r} has no subcommand or group {name!r}")
    if any(o["type"] in (1, 2) for o in definitions):
        subs = [o["name"] for o in definitions if o["type"] in (1, 2)]
        raise ValueError(f"{command['name']!r} needs a subcommand: one of {subs}")
    by_name = {o["name"]: o for o in definitions}
    unknown = set(values) - set(by_name)
    if unknown:
        raise ValueError(
            f"{command['name']!r} has no option(s) {sorted(unknown)}; it has {sorted(by_name)}"
        )
    missing = [n for n, o in by_name.items() if o.get("required") and n not in values]
    if missing and focused is None:
        raise ValueError(f"{command['name']!r} needs option(s) {missing}")
    out = []
    for name, value in values.items():
        kind = by_name[name]["type"]
        option: dict[str, Any] = {
            "type": kind,
            "name": name,
            "value": _option_value(kind, value, guild, channel, resolved),
        }
        if name == focused:
            option["focused"] = True
            option["value"] = str(value)
        out.append(option)
    return out


def _option_value(
    kind: int,
    value: Any,
    guild: FakeGuild,
    channel: FakeChannel,
    resolved: dict[str, dict[str, Any]],
) -> Any:
    """The wire value of one option; users, channels and roles also go into ``resolved``."""
    if kind == 7:
        target = (
            value
            if isinstance(value, FakeChannel)
            else guild.channel(value)
            if isinstance(value, str) and not value.isdigit()
            else guild.channels[int(value)]
        )
        perms = guild.permissions_in(guild.bot_member, target)
        resolved.setdefault("channels", {})[str(target.id)] = {
            **target.to_json(),
            "permissions": str(perms),
        }
        return str(target.id)
    if kind == 6:
        member = value if isinstance(value, FakeMember) else guild.member(value)
        resolved.setdefault("users", {})[str(member.id)] = member.user.to_json()
        member_json = member.to_json(permissions=guild.permissions_in(member, channel))
        member_json.pop("user")
        resolved.setdefault("members", {})[str(member.id)] = member_json
        return str(member.id)
    if kind == 8:
        role = guild.roles[int(value)]
        resolved.setdefault("roles", {})[str(role.id)] = role.to_json()
        return str(role.id)
    return value


@contextlib.contextmanager
def point_discord_at(http_url: str, gateway_url: str) -> Iterator[None]:
    """Point discord.py's REST base and default Gateway at a fake server; restore on exit."""
    import discord.gateway
    import discord.http
    import yarl

    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = http_url
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway
