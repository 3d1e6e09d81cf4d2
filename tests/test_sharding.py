"""Sharding (NEWSDESK_SHARD_COUNT, NEWSDESK_SHARD_IDS) against the loopback Discord.

Two bots on shards 0 and 1 of 2 share one store and one fake Discord, whose
servers sit on both shards; the fake sends each server's events only to the
connection of its shard (Discord's rule, ``(guild_id >> 22) % count``). Each
bot must post only its own servers' digests, exactly once, and answer slash
commands on its shard. The last test runs two real ``newsdesk run`` processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import discord
import pytest
from discord.ext import commands

from bot.cli.main import main
from bot.config import ConfigError, Settings, load_settings, shard_of
from bot.discordbot.app import NewsdeskBot, ShardedNewsdeskBot, create_bot
from bot.services import Newsdesk
from bot.store import digests as digest_store
from bot.store import open_db
from tests.botharness import seed_entries, wait_started
from tests.fakediscord import FakeChannel, FakeDiscord, FakeGuild

BACKENDS = ("sqlite", "postgresql")

UTC = dt.UTC
DAY = dt.date(2024, 6, 1)
SLOT = dt.datetime(2024, 6, 1, 8, 0, tzinfo=UTC)  # every channel's digest: 08:00 UTC
REPO = Path(__file__).resolve().parents[1]


def sharded_settings(
    store_url: str, guilds: list[FakeGuild], channels: list[FakeChannel], **extra: Any
) -> Settings:
    values: dict[str, Any] = {
        "database": store_url,
        "guild_ids": [g.id for g in guilds],
        "digest_channels": ";".join(f"{c.id} 08:00 UTC" for c in channels),
        "timezone": "UTC",
        "digest_grace_hours": 3,
        "shard_count": 2,
        **extra,
    }
    return load_settings(env_file=None, **values)


class Fleet:
    """Servers on both shards of a fake Discord, and one bot (own services) per shard."""

    def __init__(self, fake: FakeDiscord, store_url: str) -> None:
        fake.shards = 2
        self.fake = fake
        self.store_url = store_url
        self.alpha = fake.add_guild("Alpha", channels=["news"], shard=0)
        self.gamma = fake.add_guild("Gamma", channels=["news"], shard=0)
        self.beta = fake.add_guild("Beta", channels=["news"], shard=1)
        self.guilds = [self.alpha, self.gamma, self.beta]
        self.channels = [g.channel("news") for g in self.guilds]
        self.clock_now = SLOT + dt.timedelta(minutes=10)  # due, within the grace period
        self.services: list[Newsdesk] = []
        self.bots: list[NewsdeskBot] = []

    def clock(self) -> dt.datetime:
        return self.clock_now

    def on_shard(self, shard: int) -> list[FakeChannel]:
        return [c for c in self.channels if shard_of(c.guild_id, 2) == shard]

    async def bot(self, shard: int) -> NewsdeskBot:
        settings = sharded_settings(
            self.store_url, self.guilds, self.channels, shard_ids=str(shard)
        )
        nd = await Newsdesk.open(settings, database=self.store_url)
        self.services.append(nd)
        bot = create_bot(settings, nd, poll_feeds=False, clock=self.clock, guild_ready_timeout=0.05)
        self.bots.append(bot)
        return bot

    async def close(self) -> None:
        for nd in self.services:
            await nd.close()

    def posts(self, channel: FakeChannel) -> list[dict[str, Any]]:
        return [m for m in self.fake.messages[channel.id] if "webhook_id" not in m]


@pytest.fixture
async def fleet(fake_discord: FakeDiscord, store_url: str) -> AsyncIterator[Fleet]:
    fleet = Fleet(fake_discord, store_url)
    try:
        yield fleet
    finally:
        await fleet.close()


@contextlib.asynccontextmanager
async def running_both(fleet: Fleet) -> AsyncIterator[tuple[NewsdeskBot, NewsdeskBot]]:
    first, second = await fleet.bot(0), await fleet.bot(1)
    await fleet.services[0].ingest_entries(seed_entries())
    async with fleet.fake.running(first), fleet.fake.running(second):
        await asyncio.gather(wait_started(first), wait_started(second))
        yield first, second


async def test_two_shards_each_post_only_their_own_servers_digests_once(fleet: Fleet) -> None:
    async with running_both(fleet) as (first, second):
        assert isinstance(first, commands.AutoShardedBot)
        assert (first.shard_count, first.shard_ids) == (2, [0])
        assert (second.shard_count, second.shard_ids) == (2, [1])
        # Discord (the fake) sent each server only to its shard's connection.
        assert {g.id for g in first.guilds} == {fleet.alpha.id, fleet.gamma.id}
        assert {g.id for g in second.guilds} == {fleet.beta.id}
        assert [p["shard"] for p in fleet.fake.identify_payloads] == [[0, 2], [1, 2]]
        # The start-up catch-up (due 10 minutes ago) posted every digest, each by its shard.
        for channel in fleet.channels:
            assert len(fleet.posts(channel)) == 1, channel
        # Both processes fire every channel's digest job at the same moment: nothing more.
        jobs = [
            bot.scheduler.digest_job(c.id, now=SLOT)
            for bot in (first, second)
            for c in fleet.channels
            if bot.scheduler is not None
        ]
        results = await asyncio.gather(*jobs)
        mine = {(b, c.id) for b, s in ((0, 0), (1, 1)) for c in fleet.on_shard(s)}
        for (bot_index, channel), result in zip(
            [(b, c.id) for b in (0, 1) for c in fleet.channels], results, strict=True
        ):
            if (bot_index, channel) in mine:
                assert result is not None and result.result == "already"
            else:
                assert result is None  # not this process's server: not even looked at
    for channel in fleet.channels:
        posts = fleet.posts(channel)
        assert len(posts) == 1, f"{channel.name} in guild {channel.guild_id}: {len(posts)} posts"
        assert posts[0]["embeds"], posts[0]
        record = await digest_store.get_digest(fleet.services[0].db, channel.id, DAY)
        assert record is not None and record.status == digest_store.SENT
        assert record.guild_id == channel.guild_id


async def test_missed_digests_are_recorded_by_their_own_shard_only(fleet: Fleet) -> None:
    """Started past the grace period, each bot records only its own channels missed;
    a channel of the other shard is left to it (so it could still post in time)."""
    fleet.clock_now = SLOT + dt.timedelta(hours=5)
    first = await fleet.bot(0)
    async with fleet.fake.running(first):
        await wait_started(first)
        assert first._catch_up is not None
        outcome = first._catch_up.result()
    for channel in fleet.on_shard(0):
        assert outcome[channel.id] == "missed"
        record = await digest_store.get_digest(fleet.services[0].db, channel.id, DAY)
        assert record is not None and record.status == digest_store.MISSED
    for channel in fleet.on_shard(1):
        assert outcome[channel.id] == "elsewhere"
        assert await digest_store.get_digest(fleet.services[0].db, channel.id, DAY) is None
    assert all(not fleet.posts(c) for c in fleet.channels)


async def test_slash_commands_answer_on_every_shard(fleet: Fleet) -> None:
    fleet.clock_now = SLOT - dt.timedelta(hours=1)  # before the digest: nothing posted
    async with running_both(fleet):
        for guild in fleet.guilds:
            session = fleet.fake.session_for(guild)
            assert session is not None and session.shard == (shard_of(guild.id, 2), 2)
            handle = await fleet.fake.send_command("help", guild=guild, channel="news")
            response = await handle.wait_response()
            assert response["type"] in (4, 5), response
        # /newsadmin digest now on shard 1 posts there, through that shard's bot.
        channel = fleet.beta.channel("news")
        handle = await fleet.fake.send_command(
            "newsadmin digest now", guild=fleet.beta, channel=channel
        )
        await handle.wait_response()
        await fleet.fake.wait_messages(channel, 1)
    assert len(fleet.posts(fleet.beta.channel("news"))) == 1
    assert not fleet.posts(fleet.alpha.channel("news"))


async def test_alerts_and_digests_skip_channels_of_other_shards(fleet: Fleet) -> None:
    """The ownership rule itself: a channel is this process's only when the gateway
    showed it in a server on this process's shards."""
    fleet.clock_now = SLOT - dt.timedelta(hours=1)
    first = await fleet.bot(0)
    async with fleet.fake.running(first):
        await wait_started(first)
        for channel in first.settings.channels:
            expected = shard_of(fleet.fake.state.channels[channel.channel_id].guild_id, 2) == 0
            assert first.owns_channel(channel) is expected
        unknown = first.settings.channels[0].__class__(
            channel_id=123456789012345678, time=SLOT.time(), timezone="UTC"
        )
        assert not first.owns_channel(unknown)  # never seen: left to whoever sees it


def test_unsharded_settings_make_the_plain_bot(tmp_path: Path) -> None:
    settings = load_settings(env_file=None, database=tmp_path / "x.db")
    assert not settings.sharded and settings.shards == ()
    assert settings.owns_guild(1 << 22)
    bot = create_bot(settings, SimpleNamespace(delivery=None))  # type: ignore[arg-type]
    assert type(bot) is NewsdeskBot
    assert not isinstance(bot, discord.AutoShardedClient)


def test_shard_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSDESK_SHARD_COUNT", "4")
    monkeypatch.setenv("NEWSDESK_SHARD_IDS", "3, 1")
    settings = load_settings(None)
    assert settings.shards == (3, 1)
    assert settings.owns_guild((7 << 22) | 5)  # shard 3
    assert not settings.owns_guild(6 << 22)  # shard 2
    monkeypatch.delenv("NEWSDESK_SHARD_IDS")
    assert load_settings(None).shards == (0, 1, 2, 3)
    bot = create_bot(load_settings(None), SimpleNamespace(delivery=None))  # type: ignore[arg-type]
    assert isinstance(bot, ShardedNewsdeskBot)
    assert (bot.shard_count, bot.shard_ids) == (4, [0, 1, 2, 3])


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NEWSDESK_SHARD_COUNT": "2", "NEWSDESK_SHARD_IDS": "0,2"}, "shard 2 does not exist"),
        ({"NEWSDESK_SHARD_COUNT": "2", "NEWSDESK_SHARD_IDS": "one"}, "is not a shard id"),
        ({"NEWSDESK_SHARD_COUNT": "2", "NEWSDESK_SHARD_IDS": "1,1"}, "listed twice"),
        ({"NEWSDESK_SHARD_IDS": "1"}, "need NEWSDESK_SHARD_COUNT"),
        ({"NEWSDESK_SHARD_COUNT": "0"}, "greater than or equal to 1"),
        ({"NEWSDESK_SHARD_COUNT": "two"}, "valid integer"),
    ],
)
def test_bad_shard_settings_give_one_clear_line(
    cli_isolated: None, monkeypatch: pytest.MonkeyPatch, capsys: Any, env: dict, expected: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    var = "NEWSDESK_SHARD_IDS" if "NEWSDESK_SHARD_IDS" in env else "NEWSDESK_SHARD_COUNT"
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    assert str(info.value).startswith(f"{var}={env[var]!r}: ")
    assert expected in str(info.value) and "Fix:" in str(info.value)
    assert main(["config", "check"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and var in err and expected in err, err


# -- two real processes ----------------------------------------------------------


def _process_env(fake: FakeDiscord, database: str, shard: int, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEWSDESK_") and k not in {"DISCORD_TOKEN", "COLUMNS"}
    }
    env.update(
        PYTHONPATH=str(REPO),
        DISCORD_TOKEN=fake.token,
        FAKEDISCORD_HTTP=fake.http_url,
        FAKEDISCORD_GATEWAY=fake.gateway_url,
        NEWSDESK_DATABASE=database,
        NEWSDESK_SHARD_COUNT="2",
        NEWSDESK_SHARD_IDS=str(shard),
        NEWSDESK_LOG_FORMAT="json",
        **extra,
    )
    return env


class BotProcess:
    """One ``newsdesk run`` process (through tests/fakediscord/run.py) and its log lines."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env, self.cwd = env, cwd
        self.lines: list[str] = []
        self.proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakediscord.run",
            "run",
            cwd=self.cwd,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        async for line in self.proc.stdout:
            self.lines.append(line.decode("utf-8", "replace"))

    async def wait_log(self, needle: str, count: int = 1, timeout: float = 60.0) -> None:  # noqa: ASYNC109
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while sum(needle in line for line in self.lines) < count:
            ended = self.proc is not None and self.proc.returncode is not None
            if ended or loop.time() > deadline:
                state = "process ended" if ended else f"no {needle!r} within {timeout}s"
                raise AssertionError(f"{state}; its output:\n{''.join(self.lines)[-4000:]}")
            await asyncio.sleep(0.05)

    async def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(sig)
        code = await asyncio.wait_for(self.proc.wait(), 60)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)
        return code


async def test_two_processes_post_their_own_digests_once_and_survive_kill_9(
    fake_discord: FakeDiscord, store_url: str, tmp_path: Path
) -> None:
    fake = fake_discord
    fake.shards = 2
    guilds = [
        fake.add_guild("Alpha", channels=["news"], shard=0),
        fake.add_guild("Beta", channels=["news"], shard=1),
        fake.add_guild("Delta", channels=["news"], shard=1),
    ]
    channels = [g.channel("news") for g in guilds]
    now = dt.datetime.now(UTC) - dt.timedelta(minutes=2)  # every digest due 2 minutes ago
    extra = {
        "NEWSDESK_DIGEST_CHANNELS": ";".join(f"{c.id} {now:%H:%M} UTC" for c in channels),
        "NEWSDESK_GUILD_IDS": ",".join(str(g.id) for g in guilds),
    }
    # The store exists before the processes start (two first starts on a fresh file
    # would race to create its tables).
    await (await open_db(store_url)).close()
    procs = [
        BotProcess(_process_env(fake, store_url, shard, **extra), tmp_path) for shard in (0, 1)
    ]
    for proc in procs:
        await proc.start()
    try:
        for channel in channels:
            try:
                await fake.wait_messages(channel, 1, timeout=60)
            except TimeoutError:
                logs = "".join(line for proc in procs for line in proc.lines)
                raise AssertionError(f"no digest in {channel.id}; logs:\n{logs[-6000:]}") from None
        # Shard 1's process is killed with kill -9 (perhaps between a post and its
        # record) and started again: its catch-up finds each digest sent, or resumes
        # it with the same nonces (Discord drops the copy); nothing is posted twice.
        assert await procs[1].stop(signal.SIGKILL) == -signal.SIGKILL
        again = BotProcess(procs[1].env, tmp_path)
        procs.append(again)
        await again.start()
        for channel in channels[1:]:
            await again.wait_log(f"digest channel={channel.id} ")
        for proc in (procs[0], again):
            assert await proc.stop() == 0, "".join(proc.lines)[-3000:]
    finally:
        for proc in procs:
            if proc.proc is not None and proc.proc.returncode is None:
                proc.proc.kill()
                await proc.proc.wait()
    for channel in channels:
        posts = [m for m in fake.messages[channel.id] if "webhook_id" not in m]
        assert len(posts) == 1, (channel.guild_id, posts)
    sent = [line for proc in procs for line in proc.lines if "result=sent" in line]
    assert sum(str(channels[0].id) in line for line in sent) == 1
    assert all(str(channels[0].id) not in line for line in procs[1].lines + procs[2].lines)


async def test_a_server_back_from_an_outage_gets_its_due_digest(fleet: Fleet) -> None:
    """A server that becomes available again after its digest time gets the
    start-up catch-up: its digest, if still within the grace period, once."""
    fleet.clock_now = SLOT - dt.timedelta(hours=1)
    async with running_both(fleet):
        fleet.clock_now = SLOT + dt.timedelta(minutes=5)
        await fleet.fake.dispatch("GUILD_CREATE", fleet.alpha.to_json())  # unavailable: false
        await fleet.fake.wait_messages(fleet.alpha.channel("news"), 1)
        await fleet.fake.dispatch("GUILD_CREATE", fleet.alpha.to_json())
        await asyncio.sleep(0.3)
    assert len(fleet.posts(fleet.alpha.channel("news"))) == 1
    assert not fleet.posts(fleet.gamma.channel("news"))  # same shard, not back from anything
    assert not fleet.posts(fleet.beta.channel("news"))


async def test_a_dead_shards_digests_are_taken_over_by_a_live_process_once(
    fleet: Fleet,
) -> None:
    """Shard 1's process dies and stays down. On its heartbeat after the dead
    one's went stale, shard 0's process (the heir) posts shard 1's next digest
    over REST, once, for the right server; when shard 1 runs again it posts
    nothing twice and takes its digests back."""
    first, second = await fleet.bot(0), await fleet.bot(1)
    await fleet.services[0].ingest_entries(seed_entries())
    beta = fleet.beta.channel("news")
    async with fleet.fake.running(first):
        async with fleet.fake.running(second):
            await asyncio.gather(wait_started(first), wait_started(second))
            assert all(len(fleet.posts(c)) == 1 for c in fleet.channels)  # day 1, each its own
        # Shard 1's process is gone. A day later its heartbeat is long stale.
        fleet.clock_now = SLOT + dt.timedelta(days=1, minutes=10)
        await first.beat()  # the scheduler's heartbeat job
        assert first._orphans == {1}
        await fleet.fake.wait_messages(beta, 2)
        await first.beat()
        await asyncio.sleep(0.2)
        assert len(fleet.posts(beta)) == 2  # day 2 posted once, by shard 0's process
        record = await digest_store.get_digest(
            fleet.services[0].db, beta.id, DAY + dt.timedelta(days=1)
        )
        assert record is not None and record.status == digest_store.SENT
        assert record.guild_id == fleet.beta.id  # the server it was posted for before
        # Shard 0's own servers got their day-2 digests from it too, once each.
        for channel in fleet.on_shard(0):
            await first.scheduler.digest_job(channel.id, now=fleet.clock_now)
            assert len(fleet.posts(channel)) == 2

        # Shard 1 comes back: its catch-up finds day 2 done, and shard 0 hands it back.
        third = await fleet.bot(1)
        async with fleet.fake.running(third):
            await wait_started(third)
            await first.beat()
            assert first._orphans == frozenset()
            assert not first.owns_channel(
                next(c for c in first.settings.channels if c.channel_id == beta.id)
            )
    assert len(fleet.posts(beta)) == 2


# -- the loopback Discord's sharding ---------------------------------------------


class _QuickShards(commands.AutoShardedBot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # Discord's 5 s between IDENTIFYs is not needed on the loopback


async def test_fake_recommends_shards_and_routes_guilds_by_shard(
    fake_discord: FakeDiscord,
) -> None:
    fake_discord.shards = 3
    guilds = [fake_discord.add_guild(f"G{n}", shard=n % 3) for n in range(6)]
    client = _QuickShards(
        command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05
    )
    async with fake_discord.running(client):
        assert client.shard_count == 3  # from GET /gateway/bot
        assert sorted(fake_discord.sessions) == [0, 1, 2]
        for n, guild in enumerate(guilds):
            got = client.get_guild(guild.id)
            assert got is not None and got.shard_id == fake_discord.shard_of(guild) == n % 3
            session = fake_discord.session_for(guild)
            assert session is not None and session.shard == (fake_discord.shard_of(guild), 3)
    assert any(r.path == "/gateway/bot" for r in fake_discord.requests)


async def test_fake_refuses_an_invalid_shard(fake_discord: FakeDiscord) -> None:
    fake_discord.shards = 2
    fake_discord.add_guild("G", shard=0)
    for shard in ([2, 2], [0, 0], [-1, 2], "0,2"):
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(fake_discord.gateway_url) as ws,
        ):
            assert (await ws.receive_json())["op"] == 10
            identify = {"token": fake_discord.token, "intents": 0, "properties": {}, "shard": shard}
            await ws.send_json({"op": 2, "d": identify})
            closed = await ws.receive()
            assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 4010, shard
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(fake_discord.gateway_url) as ws,
    ):
        assert (await ws.receive_json())["op"] == 10
        identify = {"token": fake_discord.token, "intents": 0, "properties": {}, "shard": [1, 2]}
        await ws.send_json({"op": 2, "d": identify})
        ready = await ws.receive_json()
        assert ready["t"] == "READY" and ready["d"]["shard"] == [1, 2]
        assert ready["d"]["guilds"] == []  # the only guild is on shard 0
    assert not fake_discord.sessions[1].connected


async def test_each_process_has_its_own_heartbeat_and_health(store_url: str) -> None:
    """``newsdesk health`` in each container reads the heartbeat of its own
    process (its shard settings), not whichever process wrote last."""
    now = SLOT
    services = []
    try:
        for ids in ("0", "1"):
            settings = load_settings(
                env_file=None, database=store_url, shard_count=2, shard_ids=ids
            )
            services.append(await Newsdesk.open(settings, database=store_url, clock=lambda: now))
        zero, one = services
        assert zero.settings.process_name == "shards 0 of 2"
        await zero.start_heartbeat()
        await zero.heartbeat(gateway="connected", poll_ok=True)
        assert (await zero.health()).ok
        report = await one.health()
        assert not report.ok
        assert report.problems == [
            "the bot process of shards 1 of 2 has never run on this database"
        ]
        await one.start_heartbeat()
        await one.heartbeat(gateway="connected", poll_ok=True)
        assert (await one.health()).ok and (await zero.health()).ok
        assert await one.orphaned_shards() == (frozenset(), False)
        now = SLOT + dt.timedelta(minutes=10)  # shard 0's process stopped beating
        await one.heartbeat()
        assert not (await zero.health()).ok and (await one.health()).ok
        assert await one.orphaned_shards() == (frozenset({0}), True)
    finally:
        for nd in services:
            await nd.close()
