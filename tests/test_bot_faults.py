"""Discord faults at bot level, end to end over the loopback Discord (tests/fakediscord).

The unmodified discord.py client runs the whole bot against the fake; faults are
injected with ``fake.fail_next`` (the next matching REST requests get an error
status) and ``fake.disconnect_gateway``. Each test then checks what Discord
would show (every digest message once, by nonce), what the store recorded (the
day's claim) and that the bot still answers a command afterwards.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import fnmatch
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import discord.http
import pytest

from bot.delivery import message_nonce
from bot.models import Entry
from bot.store import digests as digest_store

BACKENDS = ("sqlite", "postgresql")  # the loopback Discord suite on both stores

if TYPE_CHECKING:
    from bot.discordbot.app import NewsdeskBot
    from tests.botharness import Newsroom

# The newsroom fixture (tests/botharness.py): a fake Discord, a seeded store, a bot factory.
pytest_plugins = ["tests.botharness"]

DIGEST_DAY = dt.date(2024, 6, 1)  # the harness's digest day: 08:00 UTC
SLOT = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.UTC)
CHANNEL_MESSAGES = "/channels/*/messages"
EXTRA_STORIES = 30  # with the harness's 6 stories: 36 stories, 3 digest messages
MAX_STORIES = 40

SendFn = Callable[[dict[str, Any], str], Awaitable[int]]


# -- helpers -----------------------------------------------------------------


def pseudo_word(rng: random.Random) -> str:
    return "".join(rng.choice("bcdfgklmnprstvz") + rng.choice("aeiou") for _ in range(4))


def unrelated_entries(count: int) -> list[Entry]:
    """``count`` one-outlet stories sharing no words, so none cluster together."""
    rng = random.Random(7)
    base = dt.datetime(2024, 5, 31, 14, 0, tzinfo=dt.UTC)
    entries = []
    for i in range(count):
        vocab = [pseudo_word(rng) for _ in range(40)]
        sentences = (" ".join(rng.choice(vocab) for _ in range(12)) for _ in range(10))
        entries.append(
            Entry(
                title=" ".join(vocab[:7]).capitalize(),
                url=f"https://outlet{i}.example/story-{i}",
                published_at=base + dt.timedelta(minutes=i),
                summary=". ".join(s.capitalize() for s in sentences) + ".",
                source=f"Outlet {i}",
            )
        )
    return entries


async def long_digest(newsroom: Newsroom) -> None:
    """Seed enough stories, and allow enough per digest, that it spans 3 messages."""
    from tests.botharness import make_settings  # imported late: pytest rewrites it first

    await newsroom.nd.ingest_entries(unrelated_entries(EXTRA_STORIES))
    newsroom.settings = make_settings(
        newsroom.tmp,
        newsroom.guild,
        [newsroom.news, newsroom.locked],
        allow_private_addresses=True,
        digest_max_stories=MAX_STORIES,
    )


def after_first_message(bot: NewsdeskBot, action: Callable[[], Awaitable[Any]]) -> None:
    """Run ``action`` once, right after the first digest message is confirmed.

    Wraps the bot's own sender (the real discord.py ``channel.send``), so the
    fault lands in the middle of the delivery, between two messages.
    """
    real = bot.channel_sender
    fired: list[bool] = []

    def sender(channel_id: int) -> SendFn:
        send = real(channel_id)

        async def send_then_act(payload: dict[str, Any], nonce: str) -> int:
            message_id = await send(payload, nonce)
            if not fired:
                fired.append(True)
                await action()
            return message_id

        return send_then_act

    bot.channel_sender = sender  # type: ignore[method-assign]


def assert_each_message_once(newsroom: Newsroom, message_ids: list[int], count: int) -> None:
    """The channel holds exactly the digest's ``count`` messages, in order, once each."""
    posts = newsroom.channel_posts(newsroom.news)
    nonces = [message_nonce(newsroom.news.id, DIGEST_DAY, i) for i in range(count)]
    assert [p["nonce"] for p in posts] == nonces
    assert [int(p["id"]) for p in posts] == message_ids
    parts = [p["content"].rsplit(" · ", 1)[-1] for p in posts]
    assert parts == [f"part {i} of {count}" for i in range(1, count + 1)]


async def answers_a_command(newsroom: Newsroom) -> None:
    """``/news latest`` gets its deferral and then its two stories."""
    handle = await newsroom.fake.send_command("news latest", {"count": 2})
    assert (await handle.wait_response())["type"] == 5
    final = await handle.wait_edit(1)
    assert final["embeds"][0]["description"].count("`#") == 2


@pytest.fixture
def server_error_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """discord.py's waits before retrying a 5xx (1 s, 3 s, 5 s ...): recorded, not slept.

    Only ``discord.http``'s reference to :mod:`asyncio` is replaced; everything
    but ``sleep`` is the real module.
    """
    waits: list[float] = []
    real_sleep = asyncio.sleep

    class NoWaitAsyncio:
        def __getattr__(self, name: str) -> Any:
            return getattr(asyncio, name)

        async def sleep(self, delay: float, result: Any = None) -> Any:
            if delay > 0:  # sleep(0) is only a yield to the loop
                waits.append(delay)
            await real_sleep(0)
            return result

    monkeypatch.setattr(discord.http, "asyncio", NoWaitAsyncio())
    return waits


# -- expired interaction tokens ------------------------------------------------

EXPIRED = [
    pytest.param(
        "POST",
        "/interactions/*/callback",
        404,
        10062,
        "Unknown interaction",
        id="callback-404-unknown-interaction",
    ),
    pytest.param(
        "PATCH",
        "/webhooks/*/messages/@original",
        401,
        50027,
        "Invalid Webhook Token",
        id="followup-401-invalid-webhook-token",
    ),
]


@pytest.mark.parametrize(("method", "pattern", "status", "code", "message"), EXPIRED)
async def test_expired_interaction_token_is_logged_and_the_next_command_answered(
    newsroom: Newsroom,
    caplog: pytest.LogCaptureFixture,
    method: str,
    pattern: str,
    status: int,
    code: int,
    message: str,
) -> None:
    """Discord refuses the interaction's token: logged, no crash, no retry loop."""
    fake = newsroom.fake
    caplog.set_level(logging.WARNING)
    async with newsroom.running() as bot:
        handled: list[BaseException | None] = []
        finished = asyncio.Event()
        global_handler = bot.tree.on_error  # the bot's: report_error in discordbot/common.py

        async def spy(interaction: Any, error: Any) -> None:
            try:
                await global_handler(interaction, error)
            except BaseException as exc:  # recorded, then raised on as before
                handled.append(exc)
                raise
            else:
                handled.append(None)
            finally:
                finished.set()

        bot.tree.on_error = spy  # type: ignore[method-assign]
        # Discord refuses this token on every try; a bot that retried forever would use all 10.
        fault = fake.fail_next(method, pattern, status, code=code, message=message, times=10)
        expired = await fake.send_command("news latest", {"count": 2})
        await asyncio.wait_for(finished.wait(), 5)  # the command's error handler is done
        hits = fault.hits
        fault.times = hits  # the next interaction has a fresh token
        await answers_a_command(newsroom)
        assert not bot.is_closed()

    assert handled == [None]  # the global error handler returned; nothing raised past it
    assert hits == 1  # the failed answer only: a dead token is never tried again
    tried = [
        r
        for r in fake.requests
        if expired.token in r.path and r.method == method and fnmatch.fnmatchcase(r.path, pattern)
    ]
    assert len(tried) == hits and {r.status for r in tried} == {status}
    logged = [r for r in caplog.records if r.name.startswith("bot.")]
    assert any(f"error code: {code}" in logging.Formatter().format(r) for r in logged)
    assert expired.token not in caplog.text  # the interaction token is a credential
    if not expired.responses:  # the callback itself was refused: Discord shows "failed"
        del fake.state.interactions[expired.token]  # so the fixture does not flag it


# -- a gateway disconnect in the middle of a digest ------------------------------


async def test_gateway_disconnect_during_a_digest_send_posts_it_once(newsroom: Newsroom) -> None:
    """Code 4000 after message 1 of 3: the rest go out over REST, the bot resumes."""
    fake = newsroom.fake
    await long_digest(newsroom)
    posted_at_disconnect: list[int] = []

    async def disconnect() -> None:
        await fake.disconnect_gateway(4000)
        posted_at_disconnect.append(len(newsroom.channel_posts(newsroom.news)))

    async with newsroom.running() as bot:
        after_first_message(bot, disconnect)
        result = await bot.scheduler.digest_job(newsroom.news.id, now=SLOT)
        await fake.wait_resumed(1)
        await answers_a_command(newsroom)
        again = await bot.scheduler.digest_job(newsroom.news.id, now=SLOT)
    assert posted_at_disconnect == [1]  # the socket closed between message 1 and 2
    assert fake.gateway_connects == ["/gateway", "/gateway/resume"]
    assert result.result == "sent" and len(result.message_ids) == 3
    assert again.result == "already"
    assert_each_message_once(newsroom, result.message_ids, 3)
    assert [r.status for r in newsroom.posts_to(newsroom.news)] == [200, 200, 200]
    record = await digest_store.get_digest(newsroom.nd.db, newsroom.news.id, DIGEST_DAY)
    assert record.status == "sent" and record.message_ids == result.message_ids


# -- REST 500s during a digest ---------------------------------------------------


async def test_two_500s_are_retried_and_the_digest_posted_once(
    newsroom: Newsroom, server_error_waits: list[float]
) -> None:
    await long_digest(newsroom)
    async with newsroom.running() as bot:
        fault = newsroom.fake.fail_next("POST", CHANNEL_MESSAGES, status=500, times=2)
        result = await bot.scheduler.digest_job(newsroom.news.id, now=SLOT)
        await answers_a_command(newsroom)
    assert fault.hits == 2
    assert server_error_waits[:2] == [1, 3]  # discord.py's own back-off, not ours
    assert [r.status for r in newsroom.posts_to(newsroom.news)] == [500, 500, 200, 200, 200]
    assert result.result == "sent"
    assert_each_message_once(newsroom, result.message_ids, 3)
    record = await digest_store.get_digest(newsroom.nd.db, newsroom.news.id, DIGEST_DAY)
    assert record.status == "sent" and record.error is None


async def test_persistent_500s_fail_the_day_once_and_only_force_resends(
    newsroom: Newsroom, server_error_waits: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    """Message 2 of 3 gets 500 five times (discord.py's limit): the day is failed."""
    fake, news, db = newsroom.fake, newsroom.news, newsroom.nd.db
    await long_digest(newsroom)
    async with newsroom.running() as bot:
        faults = []

        async def five_500s() -> None:
            faults.append(fake.fail_next("POST", CHANNEL_MESSAGES, 500, times=5))

        after_first_message(bot, five_500s)
        failed = await bot.scheduler.digest_job(news.id, now=SLOT)
        statuses_after_failure = [r.status for r in newsroom.posts_to(news)]
        record = await digest_store.get_digest(db, news.id, DIGEST_DAY)
        rerun = await bot.scheduler.digest_job(news.id, now=SLOT + dt.timedelta(minutes=30))
        after_rerun = len(newsroom.posts_to(news))
        forced = await bot.run_digest(bot.settings.channels[0], DIGEST_DAY, force=True)
        await answers_a_command(newsroom)
    (fault,) = faults
    assert fault.hits == 5
    assert statuses_after_failure == [200] + [500] * 5  # five tries, then discord.py gives up
    assert server_error_waits == [1, 3, 5, 7, 9]  # 25 s on Discord: it waits after the last too
    assert failed.result == "failed" and len(failed.message_ids) == 1
    assert "sending message 2 of 3 failed" in failed.error and "500" in failed.error
    assert record.status == "failed" and record.error == failed.error
    assert record.message_ids == failed.message_ids
    assert "sending digest message 1" in caplog.text  # logged with the reason
    assert rerun.result == "already" and after_rerun == len(statuses_after_failure)
    # Only the admin's forced run sends again, and only the messages still missing.
    assert forced.result == "sent"
    assert forced.message_ids[:1] == failed.message_ids
    assert_each_message_once(newsroom, forced.message_ids, 3)
    final = await digest_store.get_digest(db, news.id, DIGEST_DAY)
    assert final.status == "sent" and final.message_ids == forced.message_ids
