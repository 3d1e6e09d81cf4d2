"""The whole bot, unmodified discord.py, against the loopback Discord (tests/fakediscord).

Every REST body the bot sends is validated by the fake against Discord's
OpenAPI spec and documented limits; the ``fake_discord`` fixture fails a test
at teardown on any violation, unknown endpoint or unanswered interaction.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from bot.discordbot.app import REQUIRED_PERMISSIONS, invite_url
from bot.discordbot.views import NOT_YOURS
from bot.store import digests as digest_store
from bot.store import feeds as feed_store
from tests.fakediscord import EPHEMERAL
from tests.fakediscord.validate import check_commands

BACKENDS = ("sqlite", "postgresql")  # the loopback Discord suite on both stores

if TYPE_CHECKING:
    from tests.botharness import Newsroom

# The newsroom fixture (tests/botharness.py) and the loopback HTTP server.
pytest_plugins = ["tests.botharness", "tests.httpserver"]

DIGEST_DAY = dt.date(2024, 6, 1)  # the harness's digest day: 08:00 UTC
SLOT = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.UTC)

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Loopback Local News</title>
<link>http://127.0.0.1/</link><description>d</description>
<item><title>Local fair opens</title><link>http://127.0.0.1/fair</link>
<pubDate>Sat, 01 Jun 2024 06:00:00 GMT</pubDate></item></channel></rss>"""


def buttons(message: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The message's buttons by label."""
    return {
        c["label"]: c
        for row in message.get("components") or []
        for c in row.get("components") or []
        if c.get("type") == 2
    }


def footer(message: dict[str, Any]) -> str:
    return message["embeds"][0].get("footer", {}).get("text", "")


def is_ephemeral(body: dict[str, Any]) -> bool:
    return bool(((body.get("data") or {}).get("flags") or 0) & EPHEMERAL)


async def run_command(newsroom: Newsroom, path: str, options: dict | None = None, **kw: Any):
    """Send a command; return (handle, first response, final original message or None)."""
    handle = await newsroom.fake.send_command(path, options or {}, **kw)
    first = await handle.wait_response()
    final = await handle.wait_edit(1) if first["type"] == 5 else None
    return handle, first, final


async def all_pages(newsroom: Newsroom, message: dict[str, Any]) -> str:
    """Press Next (as the owner, who invoked) until the last page; the pages' text joined."""
    texts = [message["embeds"][0]["description"]]
    for _ in range(50):
        nxt = buttons(message).get("Next")
        if nxt is None or nxt.get("disabled"):
            break
        press = await newsroom.fake.send_component(message, nxt["custom_id"])
        assert (await press.wait_response())["type"] == 7
        message = newsroom.fake.message(message["id"])
        texts.append(message["embeds"][0]["description"])
    return "\n\n".join(texts)


# -- start-up ------------------------------------------------------------------


async def test_startup_syncs_valid_guild_commands(newsroom: Newsroom) -> None:
    async with newsroom.running():
        commands = newsroom.fake.commands(newsroom.guild)
    assert newsroom.fake.commands() == []  # guild sync only, no global copy
    assert check_commands([{k: v for k, v in c.items() if k != "id"} for c in commands]) == []
    tree = {c["name"]: sorted(o["name"] for o in c.get("options", [])) for c in commands}
    assert tree == {
        "news": ["date", "latest", "search", "story"],
        "digest": ["preview"],
        "feeds": ["export", "list", "status"],
        "newsadmin": ["digest", "feeds"],
        "help": [],
    }
    (admin,) = [c for c in commands if c["name"] == "newsadmin"]
    groups = {g["name"]: sorted(o["name"] for o in g["options"]) for g in admin["options"]}
    assert groups == {
        "digest": ["now"],
        "feeds": ["add", "pause", "refresh", "remove", "resume"],
    }
    intents = newsroom.fake.identify_payload["intents"]
    assert intents & ((1 << 1) | (1 << 8) | (1 << 15)) == 0  # no privileged intents
    url = invite_url(newsroom.fake.bot_user.id)
    assert "scope=bot+applications.commands" in url
    assert f"permissions={REQUIRED_PERMISSIONS.value}" in url
    assert REQUIRED_PERMISSIONS.value == 1024 | 2048 | 16384 | 65536


async def test_help_is_private(newsroom: Newsroom) -> None:
    async with newsroom.running():
        _, first, _ = await run_command(newsroom, "help", member=newsroom.alice)
    assert first["type"] == 4 and is_ephemeral(first)
    assert first["data"]["allowed_mentions"] == {"parse": []}
    assert "/news search" in str(first["data"]["embeds"])


# -- /news ---------------------------------------------------------------------


async def test_search_paginates_and_only_the_invoker_turns_pages(newsroom: Newsroom) -> None:
    fake = newsroom.fake
    async with newsroom.running():
        handle, first, page1 = await run_command(
            newsroom, "news search", {"query": "flood"}, member=newsroom.alice, channel="general"
        )
        assert first["type"] == 5 and not is_ephemeral(first)
        assert footer(page1).startswith("page 1 of 3")
        first_page = page1["embeds"][0]["description"]
        assert buttons(page1)["Previous"].get("disabled") is True
        next_id = buttons(page1)["Next"]["custom_id"]

        refused = await fake.send_component(page1, next_id, member=newsroom.bob)
        answer = await refused.wait_response()
        assert answer["type"] == 4 and is_ephemeral(answer)
        assert answer["data"]["content"] == NOT_YOURS
        assert footer(fake.message(page1["id"])).startswith("page 1 of 3")

        press = await fake.send_component(page1, next_id, member=newsroom.alice)
        assert (await press.wait_response())["type"] == 7
        page2 = fake.message(page1["id"])
        assert footer(page2).startswith("page 2 of 3")
        assert page2["embeds"][0]["description"] != first_page
        assert buttons(page2)["Previous"].get("disabled") in (False, None)


async def test_search_with_filters_and_bad_date_is_private(newsroom: Newsroom) -> None:
    async with newsroom.running():
        _, first, final = await run_command(
            newsroom,
            "news search",
            {
                "query": "interest rates",
                "from": "2024-05-31",
                "to": "2024-06-01",
                "source": "Metro Herald",
            },
        )
        assert "Metro Herald" in final["embeds"][0]["description"]
        assert "Gotham" not in final["embeds"][0]["description"]

        _, bad, _ = await run_command(
            newsroom, "news search", {"query": "x", "from": "someday soon"}
        )
    assert bad["type"] == 4 and is_ephemeral(bad)
    assert "someday soon" in bad["data"]["content"]


async def test_news_date_latest_and_story(newsroom: Newsroom) -> None:
    async with newsroom.running():
        _, first, by_date = await run_command(
            newsroom, "news date", {"when": "2024-05-31..2024-06-01"}
        )
        assert first["type"] == 5
        text = await all_pages(newsroom, by_date)
        assert "Central bank raises interest rates" in text
        (bank,) = [line for line in text.split("\n\n") if "Central bank" in line]
        outlets = int(bank.split(" outlets")[0].rsplit("· ", 1)[1])
        assert outlets >= 2  # clustering joined the outlets' reports into one story
        bank_id = int(bank.split("`#")[1].split("`")[0])

        _, _, latest = await run_command(newsroom, "news latest", {"count": 3})
        assert latest["embeds"][0]["description"].count("`#") == 3

        _, _, story = await run_command(newsroom, "news story", {"id": bank_id})
        coverage = " ".join(f["value"] for f in story["embeds"][0]["fields"])
        named = [o for o in ("Daily Planet", "Gotham Gazette", "Metro Herald") if o in coverage]
        assert len(named) == outlets  # every outlet of the story is listed

        _, _, missing = await run_command(newsroom, "news story", {"id": 999999})
        assert missing["content"] == "There is no story #999999 here."


# -- /feeds --------------------------------------------------------------------


async def test_non_admin_cannot_add_or_remove_feeds(newsroom: Newsroom) -> None:
    db = newsroom.nd.db
    before = await feed_store.list_feeds(db, guild_id=None)
    own = await feed_store.add_feed(
        db, "https://own.example/feed", guild_id=newsroom.guild.id, now=dt.datetime.now(dt.UTC)
    )
    async with newsroom.running():
        _, add, _ = await run_command(
            newsroom,
            "newsadmin feeds add",
            {"url": "https://example.org/feed"},
            member=newsroom.alice,
            check_permissions=False,
        )
        _, remove, _ = await run_command(
            newsroom,
            "newsadmin feeds remove",
            {"feed": own},
            member=newsroom.alice,
            check_permissions=False,
        )
        auto = await newsroom.fake.send_autocomplete(
            "newsadmin feeds remove", {"feed": ""}, focused="feed", member=newsroom.alice
        )
        choices = (await auto.wait_response())["data"]["choices"]
    for body in (add, remove):
        assert body["type"] == 4 and is_ephemeral(body)
        assert "Manage Server" in body["data"]["content"]
    assert choices == []
    assert len(await feed_store.list_feeds(db, guild_id=None)) == len(before) + 1


async def test_admin_adds_lists_autocompletes_and_removes_a_feed(
    newsroom: Newsroom, http_server
) -> None:
    http_server.route("/local.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})
    other_guild = newsroom.fake.add_guild("Elsewhere", channels=["news"])
    foreign = await feed_store.add_feed(
        newsroom.nd.db,
        "https://foreign.example/feed",
        guild_id=other_guild.id,
        now=dt.datetime.now(dt.UTC),
    )
    async with newsroom.running():
        _, first, added = await run_command(
            newsroom, "newsadmin feeds add", {"url": http_server.url("/local.xml")}
        )
        assert first["type"] == 5 and is_ephemeral(first)
        assert "Added feed" in added["content"] and "Loopback Local News" in added["content"]

        _, _, listing = await run_command(newsroom, "feeds list")
        assert "Loopback Local News" in listing["embeds"][0]["description"]
        assert "foreign.example" not in listing["embeds"][0]["description"]

        auto = await newsroom.fake.send_autocomplete(
            "newsadmin feeds remove", {"feed": "loop"}, focused="feed"
        )
        choices = (await auto.wait_response())["data"]["choices"]
        assert len(choices) == 1 and "Loopback Local News" in choices[0]["name"]

        _, _, refused = await run_command(newsroom, "newsadmin feeds remove", {"feed": foreign})
        assert "has no feed" in refused["content"]
        _, _, removed = await run_command(
            newsroom, "newsadmin feeds remove", {"feed": choices[0]["value"]}
        )
        assert removed["content"] == f"Removed feed `#{choices[0]['value']}`."
    remaining = {f.url for f in await feed_store.list_feeds(newsroom.nd.db, guild_id=None)}
    assert "https://foreign.example/feed" in remaining
    assert http_server.url("/local.xml") not in remaining


async def test_feeds_add_refuses_a_bad_url_with_a_private_message(newsroom: Newsroom) -> None:
    async with newsroom.running():
        _, first, final = await run_command(
            newsroom, "newsadmin feeds add", {"url": "ftp://example.org/feed"}
        )
    assert is_ephemeral(first)
    assert "http" in final["content"]


# -- digests -------------------------------------------------------------------


async def test_scheduled_digest_posts_once_with_nonces(newsroom: Newsroom) -> None:
    async with newsroom.running() as bot:
        result = await bot.scheduler.digest_job(
            newsroom.news.id, now=SLOT + dt.timedelta(seconds=2)
        )
        again = await bot.scheduler.digest_job(newsroom.news.id, now=SLOT + dt.timedelta(minutes=5))
    assert result.result == "sent" and result.story_count >= 3
    assert again.result == "already"
    posts = newsroom.channel_posts(newsroom.news)
    assert len(posts) == len(result.message_ids) >= 1
    bodies = [r.body for r in newsroom.posts_to(newsroom.news)]
    assert all(b["enforce_nonce"] is True and len(b["nonce"]) == 25 for b in bodies)
    assert all(b["allowed_mentions"] == {"parse": []} for b in bodies)
    assert "Floods force thousands" in str(posts)
    record = await digest_store.get_digest(newsroom.nd.db, newsroom.news.id, DIGEST_DAY)
    assert record.status == "sent" and record.guild_id == newsroom.guild.id
    async with newsroom.nd.db.execute("SELECT count(*) FROM digest_items") as cur:
        assert (await cur.fetchone())[0] == result.story_count


async def test_restart_at_digest_time_does_not_duplicate(newsroom: Newsroom) -> None:
    async with newsroom.running() as bot:
        await bot.scheduler.digest_job(newsroom.news.id, now=SLOT)
    posted = len(newsroom.channel_posts(newsroom.news))
    newsroom.clock_now = SLOT + dt.timedelta(minutes=10)  # restart within the grace period
    async with newsroom.running():
        pass
    assert len(newsroom.channel_posts(newsroom.news)) == posted


async def test_restart_after_a_crash_mid_send_resends_with_the_same_nonce(
    newsroom: Newsroom,
) -> None:
    """A claim whose first message reached Discord before the crash: no duplicate."""
    db, channel = newsroom.nd.db, newsroom.news
    async with newsroom.running() as bot:
        prepared = await bot.prepare_digest(
            bot.resolve_channel(newsroom.settings.channels[0]), DIGEST_DAY
        )
        from bot.delivery import message_nonce

        nonce = message_nonce(channel.id, DIGEST_DAY, 0)
        await bot.channel_sender(channel.id)(prepared.payloads[0], nonce)  # sent, then "crash"
        now = int(dt.datetime.now(dt.UTC).timestamp())
        await digest_store.claim_digest(
            db, channel.id, DIGEST_DAY, guild_id=newsroom.guild.id, nonce=nonce, now=now
        )
    newsroom.clock_now = SLOT + dt.timedelta(minutes=2)
    async with newsroom.running():
        pass
    posts = newsroom.channel_posts(channel)
    assert len(posts) == len(prepared.payloads)
    record = await digest_store.get_digest(db, channel.id, DIGEST_DAY)
    assert record.status == "sent"


async def test_rate_limited_digest_is_retried_and_posted(newsroom: Newsroom) -> None:
    async with newsroom.running() as bot:
        fault = newsroom.fake.fail_next(
            "POST", f"/channels/{newsroom.news.id}/messages", 429, retry_after=0.05
        )
        result = await bot.scheduler.digest_job(newsroom.news.id, now=SLOT)
    assert fault.hits == 1
    assert result.result == "sent"
    statuses = [r.status for r in newsroom.posts_to(newsroom.news)]
    assert statuses[:2] == [429, 200]
    assert len(newsroom.channel_posts(newsroom.news)) == len(result.message_ids)


async def test_forbidden_channel_is_recorded_and_not_retried(newsroom: Newsroom) -> None:
    locked = newsroom.locked
    async with newsroom.running() as bot:
        first = await bot.scheduler.digest_job(locked.id, now=SLOT)
        assert first.result == "forbidden"
        next_day = await bot.scheduler.digest_job(locked.id, now=SLOT + dt.timedelta(days=1))
        assert next_day.result == "skipped"
        _, _, status = await run_command(newsroom, "feeds status")
    assert len(newsroom.posts_to(locked)) == 1  # one 403, never retried
    state = await digest_store.channel_state(newsroom.nd.db, locked.id)
    assert state.forbidden and "403" in state.last_error
    record = await digest_store.get_digest(newsroom.nd.db, locked.id, DIGEST_DAY)
    assert record.status == "failed"
    assert f"<#{locked.id}>" in status["embeds"][0]["description"]


async def test_digest_preview_is_private_and_digest_now_is_admin_only(newsroom: Newsroom) -> None:
    async with newsroom.running():
        _, first, preview = await run_command(
            newsroom,
            "digest preview",
            {"date": "2024-06-01"},
            channel="news",
            member=newsroom.alice,
        )
        assert is_ephemeral(first)
        assert "Floods force thousands" in str(preview["embeds"])
        assert newsroom.channel_posts(newsroom.news) == []

        _, refused, _ = await run_command(
            newsroom,
            "newsadmin digest now",
            channel="news",
            member=newsroom.alice,
            check_permissions=False,
        )
        assert is_ephemeral(refused) and "Manage Server" in refused["data"]["content"]

        _, _, done = await run_command(newsroom, "newsadmin digest now", channel="news")
        assert done["content"].startswith("Posted today's digest")
        posted = len(newsroom.channel_posts(newsroom.news))
        assert posted >= 1
        _, _, again = await run_command(newsroom, "newsadmin digest now", channel="news")
        assert "already posted" in again["content"]
    assert len(newsroom.channel_posts(newsroom.news)) == posted


# -- gateway -------------------------------------------------------------------


async def test_gateway_disconnect_resumes_and_answers(newsroom: Newsroom) -> None:
    fake = newsroom.fake
    async with newsroom.running():
        await fake.disconnect_gateway(4000)
        handle = await fake.send_command("news latest", {"count": 2})
        await fake.wait_resumed(1)
        await handle.wait_response()
        final = await handle.wait_edit(1)
    assert final["embeds"][0]["description"].count("`#") == 2
    assert fake.gateway_connects == ["/gateway", "/gateway/resume"]


async def test_a_server_never_sees_another_servers_articles(newsroom: Newsroom) -> None:
    from bot.models import Entry

    other = newsroom.fake.add_guild("Elsewhere", channels=["news"])
    secret = Entry(
        title="Zeppelin festival returns to the lakeside",
        url="https://private.example/zeppelin",
        published_at=dt.datetime(2024, 5, 31, 15, tzinfo=dt.UTC),
        summary="The zeppelin festival is back for its tenth year.",
        source="Lakeside Weekly",
    )
    await newsroom.nd.ingest_entries([secret], guild_id=other.id)
    guilds = [newsroom.guild.id, other.id]
    newsroom.settings = newsroom.settings.model_copy(update={"guild_ids": guilds})
    async with newsroom.running():
        _, _, mine = await run_command(newsroom, "news search", {"query": "zeppelin"})
        _, _, theirs = await run_command(
            newsroom, "news search", {"query": "zeppelin"}, guild=other, channel="news"
        )
    assert "Zeppelin" not in mine["embeds"][0]["description"]
    assert "Zeppelin festival" in theirs["embeds"][0]["description"]


async def test_run_bot_stops_cleanly_on_sigterm(newsroom: Newsroom) -> None:
    import asyncio
    import os
    import signal

    from bot.config import SecretStr
    from bot.discordbot.app import run_bot

    token = SecretStr(newsroom.fake.token)
    settings = newsroom.settings.model_copy(update={"discord_token": token})
    task = asyncio.create_task(run_bot(settings, newsroom.nd))
    await newsroom.fake.wait_commands(newsroom.guild)
    for _ in range(300):
        if newsroom.fake.session is not None and newsroom.fake.session.connected:
            break
        await asyncio.sleep(0.01)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, timeout=10)
    assert task.exception() is None
    async with newsroom.nd.db.execute("SELECT 1") as cur:  # the caller still owns the store
        assert (await cur.fetchone())[0] == 1


async def test_startup_forgets_a_403_where_permissions_are_now_fine(newsroom: Newsroom) -> None:
    db = newsroom.nd.db
    for channel in (newsroom.news, newsroom.locked):
        await digest_store.mark_forbidden(
            db, channel.id, guild_id=newsroom.guild.id, error="403 Forbidden", now=0
        )
    async with newsroom.running():
        pass
    assert not await digest_store.is_forbidden(db, newsroom.news.id)  # bot may send there now
    assert await digest_store.is_forbidden(db, newsroom.locked.id)  # still denied
