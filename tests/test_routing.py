"""Issue 14, feed routing: feeds= and tags= on digest channels; name= and tags= on feeds."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest

from bot.config import ConfigError, load_settings, parse_channels, parse_feed_specs
from bot.store import feeds as feed_store
from tests.test_bot_e2e import run_command

if TYPE_CHECKING:
    from tests.botharness import Newsroom

pytest_plugins = ["tests.botharness", "tests.httpserver"]

SLOT = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.UTC)


def rss(title: str, items: list[tuple[str, str]]) -> bytes:
    body = "".join(
        f"<item><title>{t}</title><link>http://127.0.0.1/{slug}</link>"
        f"<description>{t}. The full account of what happened, with reactions.</description>"
        f"<pubDate>Fri, 31 May 2024 {14 + n}:00:00 GMT</pubDate></item>"
        for n, (t, slug) in enumerate(items)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>http://127.0.0.1/</link><description>d</description>{body}</channel></rss>"
    ).encode()


WORLD = [
    ("Volcano erupts on remote island, flights grounded across the region", "volcano"),
    ("Museum returns looted bronze statues to their country of origin", "museum"),
]
TECH = [
    ("Satellite launch delayed by strong winds at the coastal spaceport", "satellite"),
    ("Chip maker unveils processor that sips power in standby mode", "chip"),
]


def test_feed_options_name_and_tags() -> None:
    (spec,) = parse_feed_specs('https://a.example/rss name="World desk" tags=World,politics')
    assert spec.name == "World desk" and spec.tags == ("world", "politics")
    assert str(spec) == 'https://a.example/rss name="World desk" tags=world,politics'
    a, b = parse_feed_specs("https://a.example/rss tags=x,y, https://b.example/feed fulltext=never")
    assert a.tags == ("x", "y") and b.fulltext == "never" and b.tags is None
    with pytest.raises(ValueError, match="use fulltext=, name= or tags="):
        parse_feed_specs("https://a.example/rss colour=red")
    with pytest.raises(ValueError, match="name= for https://a.example/rss is empty"):
        parse_feed_specs('https://a.example/rss name=""')


def test_channel_routing_options() -> None:
    (c,) = parse_channels(
        '123456789012345678 07:30 Europe/Paris tags=World feeds="Tech Daily",#4',
        default_time=dt.time(8),
        default_timezone="UTC",
        default_max=10,
    )
    assert c.tags == ("world",) and c.feeds == ("tech daily", "#4") and c.routed
    with pytest.raises(ValueError, match="tags= for channel 123456789012345678 is empty"):
        parse_channels(
            "123456789012345678 tags=",
            default_time=dt.time(8),
            default_timezone="UTC",
            default_max=10,
        )


def test_bad_routing_options_are_clear_configuration_errors(tmp_path) -> None:
    with pytest.raises(ConfigError, match="feeds="):
        load_settings(env_file=None, digest_channels="123456789012345678 feeds=")
    with pytest.raises(ConfigError, match="colour="):
        load_settings(env_file=None, feeds="https://a.example/rss colour=red")
    feeds_file = tmp_path / "feeds.txt"
    feeds_file.write_text('https://a.example/rss name="World desk" tags=world\n')
    settings = load_settings(env_file=None, feeds_file=feeds_file)
    (spec,) = settings.feed_specs()
    assert spec.name == "World desk" and spec.tags == ("world",)


async def test_two_channels_two_tags_each_digest_shows_only_its_feeds(
    newsroom: Newsroom, http_server
) -> None:
    headers = {"Content-Type": "application/rss+xml"}
    http_server.route("/world.xml", body=rss("World Wire", WORLD), headers=headers)
    http_server.route("/tech.xml", body=rss("Tech Wire", TECH), headers=headers)
    world, tech = http_server.url("/world.xml"), http_server.url("/tech.xml")
    newsroom.reconfigure(
        feeds=f'{world} name="World desk" tags=world, {tech} tags=tech',
        digest_channels=(
            f"{newsroom.news.id} 08:00 UTC tags=world; {newsroom.general.id} 08:00 UTC tags=tech"
        ),
    )
    await newsroom.nd.sync_configured_feeds()
    report = await newsroom.nd.poll_once()
    assert report.fetched == 2 and report.new_articles == 4
    listed = {f.url: f for f in await feed_store.list_feeds(newsroom.nd.db, guild_id=0)}
    assert listed[world].title == "World desk" and listed[world].tags == ("world",)
    assert listed[tech].title == "Tech Wire" and listed[tech].tags == ("tech",)

    async with newsroom.running() as bot:
        for channel in (newsroom.news, newsroom.general):
            result = await bot.scheduler.digest_job(channel.id, now=SLOT)
            assert result.result == "sent"
        _, _, listing = await run_command(newsroom, "feeds list")
    news = str(newsroom.channel_posts(newsroom.news))
    general = str(newsroom.channel_posts(newsroom.general))
    assert "Volcano erupts" in news and "Museum returns" in news
    assert "Satellite launch" not in news and "Chip maker" not in news
    assert "Floods force thousands" not in news  # seeded without a feed: no route leads there
    assert "Satellite launch" in general and "Chip maker" in general
    assert "Volcano erupts" not in general
    assert "tags: world" in listing["embeds"][0]["description"]


async def test_feeds_option_matches_a_name_url_or_id(tmp_path) -> None:
    from bot.config import DigestChannel
    from bot.services import Newsdesk

    settings = load_settings(
        env_file=None, database=tmp_path / "n.db", allow_private_addresses=True
    )
    nd = await Newsdesk.open(settings)
    try:
        a = await nd.add_feed("https://a.example/rss", check=False, tags=["World"])
        b = await nd.add_feed("https://b.example/rss", check=False)
        c = await nd.add_feed("https://c.example/rss", check=False)
        own = await nd.add_feed("https://d.example/rss", guild_id=5, check=False, tags=["world"])
        await feed_store.set_title(nd.db, b.id, "Tech  Daily")

        def channel(**kw) -> DigestChannel:
            return DigestChannel(channel_id=1, time=dt.time(8), timezone="UTC", **kw)

        assert await nd.routed_feed_ids(channel(tags=("world",))) == {a.id}
        assert await nd.routed_feed_ids(channel(tags=("world",), guild_id=5)) == {a.id, own.id}
        assert await nd.routed_feed_ids(channel(feeds=("tech daily",))) == {b.id}
        assert await nd.routed_feed_ids(channel(feeds=("https://c.example/rss", f"#{a.id}"))) == {
            a.id,
            c.id,
        }
    finally:
        await nd.close()


def test_cli_tags_show_in_the_list_and_the_opml_export(tmp_path, monkeypatch, capsys) -> None:
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "true")
    url = "http://127.0.0.1:9/world.xml"
    assert (
        main(["--db", "x.db", "feeds", "add", "--no-check", "--tags", "World, Politics", url]) == 0
    )
    assert "(tags: world,politics)" in capsys.readouterr().out
    assert main(["--db", "x.db", "feeds", "add", "--tags", "world,tech", url]) == 0
    assert "already subscribed, tags: world,tech: #1" in capsys.readouterr().out
    assert main(["--db", "x.db", "feeds", "add", "--tags", "", "--fulltext", "never", url]) == 0
    assert "already subscribed, full text: never: #1" in capsys.readouterr().out
    assert main(["--db", "x.db", "feeds", "add", "--tags", "world,politics", url]) == 0
    capsys.readouterr()
    assert main(["--db", "x.db", "feeds", "list", "--json"]) == 0
    assert '"world"' in capsys.readouterr().out
    assert main(["--db", "x.db", "feeds", "export"]) == 0
    assert 'category="world,politics"' in capsys.readouterr().out
