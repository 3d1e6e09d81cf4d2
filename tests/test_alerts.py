"""Breaking-story alerts (``alert=N`` on a digest channel): config, rules, the running bot.

The end-to-end tests run the unmodified bot against the loopback Discord
(tests/fakediscord) with three outlets' feeds on the loopback HTTP server;
the bot's poll job (``NewsdeskBot.poll_cycle``) polls, then posts alerts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import TYPE_CHECKING, Any

import pytest

from bot.alerts import alert_nonce, crossings, local_day
from bot.config import ConfigError, DigestChannel, load_settings
from bot.models import AlertRecord, DigestArticle, Entry, WindowStory
from bot.render.alerts import render_alert
from bot.services import Newsdesk
from bot.store import alerts as alert_store

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

if TYPE_CHECKING:
    from tests.botharness import Newsroom

pytest_plugins = ["tests.botharness", "tests.httpserver"]

UTC = dt.UTC
CH = "123456789012345678"
DAY = dt.date(2024, 6, 1)
SLOT = dt.datetime(2024, 6, 1, 8, 0, tzinfo=UTC)  # the harness's digest slot (08:00 UTC)

OUTLETS = ("River Post", "Valley Times", "County Wire")
EVENTS = {
    "bridge": "Old railway bridge collapses into the Dane river after night of storms",
    "museum": "Natural history museum reopens its dinosaur hall after five year renovation",
}


# -- configuration ---------------------------------------------------------------


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("NEWSDESK_") or key == "DISCORD_TOKEN":
            monkeypatch.delenv(key)


def channels(spec: str) -> tuple[DigestChannel, ...]:
    return load_settings(None, digest_channels=spec).channels


def test_alert_options_parse_with_a_default_cap(clean_env: None) -> None:
    (plain,) = channels(CH)
    assert plain.alert is None and plain.alerts_per_day == 5
    (alerting,) = channels(f"{CH} 07:30 Europe/Paris alert=3")
    assert alerting.alert == 3 and alerting.alerts_per_day == 5
    (capped,) = channels(f"{CH} alerts_per_day=2 alert=4 tags=world")
    assert (capped.alert, capped.alerts_per_day, capped.tags) == (4, 2, ("world",))
    shown = load_settings(None, digest_channels=f"{CH} alert=4").masked()["channels"][0]
    assert shown["alert"] == 4 and shown["alerts_per_day"] == 5


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("alert=0", "alert='0' for channel 123456789012345678: use a number of outlets from 2"),
        ("alert=x", "alert='x' for channel 123456789012345678: use a number of outlets from 2"),
        ("alert=", "alert='' for channel"),
        ("alert=1", "from 2 to 100"),
        ("alert=3 alerts_per_day=-1", "alerts_per_day='-1' for channel 123456789012345678: use"),
        ("alert=3 alerts_per_day=0", "a number of alerts from 1 to 50"),
        ("alerts_per_day=2", "alerts_per_day= for channel 123456789012345678 needs alert=N"),
        ("alerts=3", "use max=, include=, exclude=, guild=, feeds=, tags=, alert= or"),
    ],
)
def test_bad_alert_options_are_one_clear_line(clean_env: None, option: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, digest_channels=f"{CH} {option}")
    message = str(info.value)
    assert message.startswith("NEWSDESK_DIGEST_CHANNELS=")
    assert expected in message and "\n" not in message
    assert "Fix:" in message


# -- the rules, without Discord ---------------------------------------------------


def _article(aid: int, source: str, at: dt.datetime, title: str = "Bridge falls") -> DigestArticle:
    url = f"https://{(source.strip() or 'anon').lower()}.example/{aid}"
    return DigestArticle(aid, source, int(at.timestamp()), title, None, url, None)


def test_a_story_qualifies_on_the_day_its_nth_outlet_arrived() -> None:
    midnight = dt.datetime(2024, 6, 1, tzinfo=UTC)
    early = midnight - dt.timedelta(hours=3)
    stories = {
        # crossed 3 today: qualifies
        1: WindowStory(1, None, [_article(1, "A", early), _article(2, "B", early),
                                 _article(3, "C", midnight + dt.timedelta(hours=1))], 0),
        # crossed 3 yesterday and grew today: an old story, no alert
        2: WindowStory(2, None, [_article(4, "A", early), _article(5, "B", early),
                                 _article(6, "C", early), _article(7, "D", midnight)], 0),
        # three articles from two outlets: not 3 outlets
        3: WindowStory(3, None, [_article(8, "A", midnight), _article(9, "a ", midnight),
                                 _article(10, "B", midnight)], 0),
        # unknown outlets each count as their own
        4: WindowStory(4, None, [_article(11, "", midnight), _article(12, "unknown", midnight),
                                 _article(13, "", midnight)], 0),
    }  # fmt: skip
    found = crossings(stories, threshold=3, since_ts=int(midnight.timestamp()))
    assert [b.story_id for b in found] == [4, 1]  # earliest crossing first
    assert (
        found[1].source_count == 3 and found[1].url == "https://a.example/1"
    )  # tie: the oldest title
    assert found[1].crossed_at == midnight + dt.timedelta(hours=1)


def test_local_day_follows_the_channel_timezone() -> None:
    paris = DigestChannel(1, dt.time(8), "Europe/Paris", alert=3)
    day, start = local_day(paris, dt.datetime(2024, 5, 31, 22, 30, tzinfo=UTC))
    assert day == DAY and start == dt.datetime(2024, 5, 31, 22, 0, tzinfo=UTC)


def test_the_alert_is_escaped_and_pings_nobody() -> None:
    record = AlertRecord(
        channel_id=1,
        story_id=123,
        alert_date=DAY,
        guild_id=0,
        status="claimed",
        nonce=alert_nonce(1, 123),
        headline="@everyone **Bridge** falls [live] <@&1>",
        url="https://news.example/bridge (1)",
        source_count=4,
        claimed_at=0,
        finished_at=None,
        message_id=None,
        error=None,
    )
    payload = render_alert(record)
    assert payload["allowed_mentions"] == {"parse": []}
    text = payload["content"]
    assert text.startswith("**Breaking:** [")
    assert text.endswith(" — covered by 4 outlets · `#123`")
    assert "@everyone" not in text and "<@&" not in text  # broken by a zero-width space
    assert "\\*\\*Bridge\\*\\*" in text and "\\(live\\)" in text
    assert "(https://news.example/bridge%20%281%29)" in text
    assert len(alert_nonce(1, 123)) == 25 and alert_nonce(1, 123) != alert_nonce(2, 123)


# -- services: visibility, routing, the daily cap -------------------------------


def _entries(event: str, at: dt.datetime, outlets: tuple[str, ...] = OUTLETS) -> list[Entry]:
    title = EVENTS[event]
    return [
        Entry(
            title=title if i == 0 else f"{title} ({outlet})",
            url=f"https://{outlet.split()[0].lower()}.example/{event}",
            published_at=at + dt.timedelta(minutes=5 * i),
            summary=f"{title}. Reporters from {outlet} describe the scene, with comments "
            f"from officials and residents about the {event}.",
            source=outlet,
        )
        for i, outlet in enumerate(outlets)
    ]


@pytest.fixture
async def desk(store_url: str, clean_env: None) -> Any:
    settings = load_settings(None, allow_private_addresses=True)
    nd = await Newsdesk.open(
        settings, database=store_url, clock=lambda: dt.datetime(2024, 6, 1, 9, 0, tzinfo=UTC)
    )
    try:
        yield nd
    finally:
        await nd.close()


async def test_alerts_follow_guild_visibility_and_routing(desk: Newsdesk) -> None:
    guild, other = 111111111111111111, 222222222222222222
    world = await desk.add_feed("http://127.0.0.1:9/world.xml", check=False, tags=["world"])
    await desk.ingest_entries(
        _entries("bridge", dt.datetime(2024, 6, 1, 6, 0, tzinfo=UTC)),
        feed_id=world.id,
        guild_id=guild,
    )
    mine = DigestChannel(1, dt.time(8), "UTC", guild_id=guild, alert=3)
    (breaking,) = await desk.due_alerts(mine)
    assert breaking.source_count == 3 and breaking.headline == EVENTS["bridge"]
    assert await desk.due_alerts(DigestChannel(2, dt.time(8), "UTC", guild_id=other, alert=3)) == []
    sport = DigestChannel(3, dt.time(8), "UTC", guild_id=guild, alert=3, tags=("sport",))
    assert await desk.due_alerts(sport) == []
    routed = DigestChannel(4, dt.time(8), "UTC", guild_id=guild, alert=3, tags=("world",))
    assert [b.story_id for b in await desk.due_alerts(routed)] == [breaking.story_id]
    assert await desk.due_alerts(DigestChannel(5, dt.time(8), "UTC", guild_id=guild)) == []
    assert await desk.due_alerts(DigestChannel(6, dt.time(8), "UTC", guild_id=guild, alert=4)) == []
    # Tokyo's day began at 15:00 UTC yesterday: 06:00 UTC is still "today" there;
    # Los Angeles' 1 June began at 07:00 UTC, after the third outlet came in.
    tokyo = DigestChannel(7, dt.time(8), "Asia/Tokyo", guild_id=guild, alert=3)
    assert len(await desk.due_alerts(tokyo)) == 1
    la = DigestChannel(8, dt.time(8), "America/Los_Angeles", guild_id=guild, alert=3)
    assert await desk.due_alerts(la) == []


async def test_claims_are_once_per_story_and_capped_per_day(desk: Newsdesk) -> None:
    at = dt.datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    await desk.ingest_entries(_entries("bridge", at) + _entries("museum", at))
    channel = DigestChannel(1, dt.time(8), "UTC", alert=3, alerts_per_day=1)
    first, second = await desk.due_alerts(DigestChannel(1, dt.time(8), "UTC", alert=3))
    assert (await desk.due_alerts(channel)) == [first]  # the cap trims the list
    claimed = await desk.claim_alert(channel, first)
    assert claimed is not None and claimed.status == "claimed"
    assert await desk.claim_alert(channel, first) is None  # once per story
    assert await desk.claim_alert(channel, second) is None  # today's cap is taken
    assert await desk.due_alerts(channel) == []
    await desk.mark_alert_sent(1, first.story_id, 42)
    record = await alert_store.get_alert(desk.db, 1, first.story_id)
    assert record is not None and record.status == "sent" and record.message_id == 42


async def test_two_processes_claim_each_alert_once_and_share_the_cap(
    desk: Newsdesk, store_url: str
) -> None:
    """Claims from two connections to one store (two bot processes) at once:
    one claim per story, and the day's cap holds across them."""
    from bot.store import open_db, transaction

    at = dt.datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    await desk.ingest_entries(_entries("bridge", at) + _entries("museum", at))
    first, second = await desk.due_alerts(DigestChannel(1, dt.time(8), "UTC", alert=3))
    other = await open_db(store_url)

    async def claim(db: Any, channel_id: int, story: Any, per_day: int) -> bool:
        async with transaction(db):
            return await alert_store.claim_alert(
                db,
                channel_id,
                story.story_id,
                day=DAY,
                guild_id=0,
                nonce=alert_nonce(channel_id, story.story_id),
                headline=story.headline,
                url=story.url,
                source_count=story.source_count,
                now=1_717_225_200,
                per_day=per_day,
            )

    try:
        once = await asyncio.gather(
            *(claim(db, 1, story, 5) for story in (first, second) for db in (desk.db, other))
        )
        capped = await asyncio.gather(
            *(claim(db, 2, story, 1) for story in (first, second) for db in (other, desk.db))
        )
    finally:
        await other.close()
    assert once.count(True) == 2 and once[0] != once[1] and once[2] != once[3]
    assert capped.count(True) == 1
    assert len(await alert_store.alerts_on(desk.db, 1, DAY)) == 2
    assert len(await alert_store.alerts_on(desk.db, 2, DAY)) == 1
    pending = await alert_store.pending_alerts(desk.db, 1)
    assert sorted(r.story_id for r in pending) == sorted([first.story_id, second.story_id])
    await alert_store.finish_alert(desk.db, 1, first.story_id, "failed", now=1, error="HTTP 500")
    [left] = await alert_store.pending_alerts(desk.db, 1)
    assert left.story_id == second.story_id
    failed = await alert_store.get_alert(desk.db, 1, first.story_id)
    assert failed is not None and (failed.status, failed.error) == ("failed", "HTTP 500")
    assert await alert_store.alerted_stories(desk.db, 1, [first.story_id, 999]) == {first.story_id}


# -- the running bot --------------------------------------------------------------


def rss(outlet: str, items: list[tuple[str, dt.datetime]]) -> bytes:
    """One outlet's feed holding ``items`` (event key, publication time)."""
    slug = outlet.split()[0].lower()
    body = "".join(
        f"<item><title>{EVENTS[event]}{'' if slug == 'river' else f' ({outlet})'}</title>"
        f"<link>https://{slug}.example/{event}</link>"
        f"<description>{EVENTS[event]}. Reporters from {outlet} describe the scene, with "
        f"comments from officials and residents about the {event}.</description>"
        f"<pubDate>{at.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item>"
        for event, at in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title>'
        f"<link>https://{slug}.example/</link><description>d</description>{body}"
        "</channel></rss>"
    ).encode()


def serve(http_server: Any, outlet: str, items: list[tuple[str, dt.datetime]]) -> None:
    path = f"/{outlet.split()[0].lower()}.xml"
    http_server.route(path, body=rss(outlet, items), content_type="application/rss+xml")


async def alerting_newsroom(
    newsroom: Newsroom, http_server: Any, options: str = "alert=3", locked: str = ""
) -> None:
    """The newsroom with ``options`` on its news channel (``locked`` on the channel
    where the bot may not post) and the three outlets' feeds."""
    spec = f"{newsroom.news.id} 08:00 UTC {options};{newsroom.locked.id} 08:00 UTC {locked}"
    newsroom.reconfigure(digest_channels=spec)
    for outlet in OUTLETS:
        serve(http_server, outlet, [])
        await newsroom.nd.add_feed(
            http_server.url(f"/{outlet.split()[0].lower()}.xml"), check=False
        )


def serve_two_events(http_server: Any) -> None:
    """Every outlet covers two events (a bridge, a museum) on 1 June, ten minutes apart."""
    six = dt.datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    for n, outlet in enumerate(OUTLETS):
        at = six + dt.timedelta(minutes=10 * n)
        serve(http_server, outlet, [("bridge", at), ("museum", at + dt.timedelta(minutes=1))])


def alerts_in(newsroom: Newsroom) -> list[dict[str, Any]]:
    return [m for m in newsroom.channel_posts(newsroom.news) if "Breaking" in m["content"]]


async def next_cycle(newsroom: Newsroom, bot: Any, minutes: int = 20) -> None:
    newsroom.clock_now += dt.timedelta(minutes=minutes)  # the feeds are due again
    await bot.poll_cycle()


async def test_one_alert_when_the_third_outlet_arrives_and_none_after_a_restart(
    newsroom: Newsroom, http_server: Any
) -> None:
    await alerting_newsroom(newsroom, http_server)
    six = dt.datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    serve(http_server, OUTLETS[0], [("bridge", six)])
    serve(http_server, OUTLETS[1], [("bridge", six + dt.timedelta(minutes=10))])
    async with newsroom.running() as bot:
        await bot.poll_cycle()  # 07:00: two outlets
        assert alerts_in(newsroom) == []
        serve(http_server, OUTLETS[2], [("bridge", dt.datetime(2024, 6, 1, 7, 5, tzinfo=UTC))])
        await next_cycle(newsroom, bot)  # 07:20: the third outlet
        (alert,) = alerts_in(newsroom)
        await next_cycle(newsroom, bot)  # 07:40: nothing new
        assert len(alerts_in(newsroom)) == 1
    # The seeded stories reached 3 outlets yesterday: they never alert.
    assert newsroom.channel_posts(newsroom.news) == [alert]
    assert newsroom.channel_posts(newsroom.locked) == []  # no alert= there
    (story,) = await newsroom.nd.latest_stories(1)
    assert story.source_count == 3
    assert alert["content"].startswith(f"**Breaking:** [{EVENTS['bridge']}](https://")
    assert alert["content"].endswith(f"— covered by 3 outlets · `#{story.id}`")
    (request,) = newsroom.posts_to(newsroom.news)
    assert request.body["allowed_mentions"] == {"parse": []}
    assert request.body["nonce"] == alert_nonce(newsroom.news.id, story.id)
    assert request.body["enforce_nonce"] is True
    record = await alert_store.get_alert(newsroom.nd.db, newsroom.news.id, story.id)
    assert record is not None and record.status == "sent"
    assert record.message_id == int(alert["id"]) and record.guild_id == newsroom.guild.id

    # A restart: new services and a new bot on the same database, another poll.
    first = newsroom.nd
    newsroom.nd = await Newsdesk.open(newsroom.settings)
    try:
        newsroom.clock_now += dt.timedelta(minutes=5)
        async with newsroom.running() as bot:
            await next_cycle(newsroom, bot)
            assert (
                await newsroom.nd.due_alerts(bot.resolve_channel(newsroom.settings.channels[0]))
                == []
            )
    finally:
        await newsroom.nd.close()
        newsroom.nd = first
    assert len(newsroom.posts_to(newsroom.news)) == 1


async def test_no_alert_for_a_story_in_todays_digest(newsroom: Newsroom, http_server: Any) -> None:
    await alerting_newsroom(newsroom, http_server)
    six = dt.datetime(2024, 6, 1, 6, 0, tzinfo=UTC)
    serve(http_server, OUTLETS[0], [("bridge", six)])
    serve(http_server, OUTLETS[1], [("bridge", six + dt.timedelta(minutes=10))])
    async with newsroom.running() as bot:
        await bot.poll_cycle()  # 07:00: two outlets
        result = await bot.scheduler.digest_job(newsroom.news.id, now=SLOT)
        assert result.result == "sent"
        digest = newsroom.channel_posts(newsroom.news)
        assert EVENTS["bridge"] in str(digest)
        serve(http_server, OUTLETS[2], [("bridge", SLOT + dt.timedelta(minutes=20))])
        newsroom.clock_now = SLOT + dt.timedelta(minutes=30)
        await bot.poll_cycle()  # 08:30: the third outlet, after the digest showed it
        await next_cycle(newsroom, bot)
    (story,) = await newsroom.nd.latest_stories(1)
    assert story.source_count == 3 and story.headline
    assert alerts_in(newsroom) == []
    assert newsroom.channel_posts(newsroom.news) == digest


async def test_alerts_per_day_caps_the_channel(newsroom: Newsroom, http_server: Any) -> None:
    await alerting_newsroom(newsroom, http_server, "alert=3 alerts_per_day=1")
    serve_two_events(http_server)
    async with newsroom.running() as bot:
        await bot.poll_cycle()
        await next_cycle(newsroom, bot)
        await next_cycle(newsroom, bot)
        channel = bot.resolve_channel(newsroom.settings.channels[0])
        uncapped = await newsroom.nd.due_alerts(
            DigestChannel(channel.channel_id, channel.time, "UTC", channel.guild_id, alert=3)
        )
    (alert,) = alerts_in(newsroom)
    assert EVENTS["bridge"] in alert["content"]  # the first to reach 3 outlets
    assert [EVENTS["museum"] in str(b) for b in uncapped] == [True]  # left out by the cap


async def test_a_claim_left_by_a_crash_is_resent_with_its_nonce_or_given_up(
    newsroom: Newsroom, http_server: Any
) -> None:
    await alerting_newsroom(newsroom, http_server)
    serve_two_events(http_server)
    nd = newsroom.nd
    async with newsroom.running() as bot:
        await nd.poll_once()
        channel = bot.resolve_channel(newsroom.settings.channels[0])
        bridge, museum = await nd.due_alerts(channel)
        # The bridge alert was claimed and posted, then the process died before
        # recording it; the museum's was claimed long ago and never confirmed.
        sent = await nd.claim_alert(channel, bridge)
        assert sent is not None
        await bot.channel_sender(channel.channel_id)(render_alert(sent), sent.nonce)
        stale = await nd.claim_alert(channel, museum)
        assert stale is not None
        async with nd.db.execute(
            "UPDATE alerts SET claimed_at = ? WHERE story_id = ?",
            (int(time.time()) - 3600, museum.story_id),
        ):
            pass  # the store's connection commits each statement outside a transaction
    newsroom.clock_now += dt.timedelta(minutes=1)
    async with newsroom.running() as bot:
        (report,) = await bot.run_alerts()
    assert report.sent == [bridge.story_id] and report.uncertain == [museum.story_id]
    assert len(newsroom.posts_to(newsroom.news)) == 2  # the resend, deduplicated by its nonce
    (alert,) = alerts_in(newsroom)
    assert EVENTS["bridge"] in alert["content"]
    done = await alert_store.get_alert(nd.db, channel.channel_id, bridge.story_id)
    given_up = await alert_store.get_alert(nd.db, channel.channel_id, museum.story_id)
    assert done is not None and done.status == "sent" and done.message_id == int(alert["id"])
    assert given_up is not None and given_up.status == "failed"
    assert "uncertain" in (given_up.error or "")


async def test_a_403_is_recorded_and_the_channel_not_tried_again(
    newsroom: Newsroom, http_server: Any
) -> None:
    await alerting_newsroom(newsroom, http_server, locked="alert=3")
    serve_two_events(http_server)
    async with newsroom.running() as bot:
        await bot.poll_cycle()
        await next_cycle(newsroom, bot)
    assert len(alerts_in(newsroom)) == 2  # news: both stories
    assert [r.status for r in newsroom.posts_to(newsroom.locked)] == [403]  # once, not retried
    state = await newsroom.nd.forbidden_channels()
    assert [s.channel_id for s in state] == [newsroom.locked.id]
    records = await alert_store.alerts_on(newsroom.nd.db, newsroom.locked.id, DAY)
    assert [r.status for r in records] == ["failed"] and "403" in (records[0].error or "")
