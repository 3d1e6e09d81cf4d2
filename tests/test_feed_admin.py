"""Issue 14: pausing and resuming feeds (CLI and store), removing by URL, poll --all."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.ingest.poll import poll_due_feeds
from bot.services import Newsdesk

pytest_plugins = ["tests.httpserver"]

UTC = dt.UTC
NOW = dt.datetime(2024, 6, 1, 7, 0, tzinfo=UTC)
RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Loopback News</title>
<link>http://127.0.0.1/</link><description>d</description>
<item><title>Harbour bridge reopens</title><link>http://127.0.0.1/bridge</link>
<pubDate>Sat, 01 Jun 2024 06:00:00 GMT</pubDate></item></channel></rss>"""


pytestmark = pytest.mark.usefixtures("cli_isolated")


async def open_nd(tmp_path: Path, **extra) -> Newsdesk:
    settings = load_settings(
        env_file=None, database=tmp_path / "n.db", allow_private_addresses=True, **extra
    )
    return await Newsdesk.open(settings, clock=lambda: NOW)


async def auto_pause(nd: Newsdesk, url: str) -> None:
    """Poll ``url`` (which fails) with a one-failure, no-age limit: the poller pauses it itself."""

    async def ingest(*_a):  # pragma: no cover - the feed never parses
        raise AssertionError

    async with nd.fetcher() as fetcher:
        report = await poll_due_feeds(
            nd.db,
            fetcher,
            ingest,
            now_fn=nd.clock,
            interval_s=600,
            logger=logging.getLogger("test"),
            max_failures=1,
            max_age_s=0,
        )
    assert report.paused, report


async def test_an_auto_paused_feed_is_resumed_and_polled_again(tmp_path, http_server) -> None:
    http_server.route("/feed.xml", status=500, body=b"down")
    url = http_server.url("/feed.xml")
    nd = await open_nd(tmp_path)
    try:
        feed = await nd.add_feed(url, check=False)
        await auto_pause(nd, url)
        paused = await nd.find_feed(url, guild_id=None)
        assert paused.paused and paused.consecutive_failures == 1
        assert await nd.due_feed_count() == 0

        http_server.route("/feed.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})
        resumed = await nd.resume_feed(feed.id)
        assert not resumed.paused and resumed.consecutive_failures == 0
        report = await nd.poll_once()
        assert report.fetched == 1 and report.new_articles == 1
    finally:
        await nd.close()


async def test_adding_a_paused_feed_again_resumes_it_but_the_settings_sync_does_not(
    tmp_path,
) -> None:
    url = "http://127.0.0.1:9/feed.xml"
    nd = await open_nd(tmp_path, feeds=url)
    try:
        await nd.sync_configured_feeds()
        feed = await nd.find_feed(url)
        assert (await nd.pause_feed(feed.id)).paused
        await nd.sync_configured_feeds()  # every start: the operator's pause stays
        assert (await nd.find_feed(url)).paused
        again = await nd.add_feed(url, check=False)  # someone adds it by hand
        assert again.id == feed.id and not again.paused
        assert await nd.due_feed_count() == 1
    finally:
        await nd.close()


async def test_find_feed_by_id_or_url_within_a_server(tmp_path) -> None:
    nd = await open_nd(tmp_path)
    try:
        shared = await nd.add_feed("https://a.example/feed", check=False)
        own = await nd.add_feed("https://a.example/feed", guild_id=7, check=False)
        other = await nd.add_feed("https://b.example/feed", guild_id=8, check=False)
        assert (await nd.find_feed("https://a.example/feed", guild_id=7)).id == own.id
        assert (await nd.find_feed("https://a.example/feed", guild_id=0)).id == shared.id
        assert (await nd.find_feed(f"#{shared.id}", guild_id=7)).id == shared.id
        assert await nd.find_feed(str(other.id), guild_id=7) is None
        assert (await nd.find_feed(str(other.id), guild_id=None)).id == other.id
        assert await nd.find_feed("https://nowhere.example/", guild_id=None) is None
    finally:
        await nd.close()


def test_cli_pause_resume_and_remove_by_url(capsys, monkeypatch) -> None:
    url = "http://127.0.0.1:9/feed.xml"
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "true")
    assert main(["--db", "x.db", "feeds", "add", "--no-check", url]) == 0
    assert main(["--db", "x.db", "feeds", "pause", url]) == 0
    assert "paused feed #1" in capsys.readouterr().out
    assert main(["--db", "x.db", "feeds", "list", "--json"]) == 0
    assert '"paused": true' in capsys.readouterr().out
    assert main(["--db", "x.db", "poll"]) == 0
    assert "polled 0 due feed(s)" in capsys.readouterr().out
    assert main(["--db", "x.db", "feeds", "add", "--no-check", url]) == 0
    assert "resumed" in capsys.readouterr().out
    assert main(["--db", "x.db", "feeds", "pause", "1"]) == 0
    assert main(["--db", "x.db", "feeds", "resume", "#1"]) == 0
    assert "resumed feed #1" in capsys.readouterr().out
    assert main(["--db", "x.db", "feeds", "resume", "https://nowhere.example/"]) == 2
    assert "no feed https://nowhere.example/" in capsys.readouterr().err
    assert main(["--db", "x.db", "feeds", "remove", url]) == 0
    assert "removed feed #1" in capsys.readouterr().out
    assert main(["--db", "x.db", "feeds", "remove", url]) == 2


async def test_poll_everything_fetches_feeds_not_due_but_never_paused_ones(
    tmp_path, http_server
) -> None:
    headers = {"Content-Type": "application/rss+xml"}
    for name in ("a", "b", "c"):
        http_server.route(
            f"/{name}.xml", body=RSS.replace(b"bridge", name.encode()), headers=headers
        )
    nd = await open_nd(tmp_path)
    try:
        a = await nd.add_feed(http_server.url("/a.xml"), check=False)
        b = await nd.add_feed(http_server.url("/b.xml"), guild_id=5, check=False)
        c = await nd.add_feed(http_server.url("/c.xml"), guild_id=6, check=False)
        assert (await nd.poll_once()).due == 3
        assert (await nd.poll_once()).due == 0  # nothing due for a while
        await nd.pause_feed(c.id)
        assert await nd.due_feed_count(everything=True) == 2
        report = await nd.poll_once(everything=True)
        assert report.due == 2 and report.failed == 0
        assert {http_server.count(f"/{n}.xml") for n in "ab"} == {2}
        assert http_server.count("/c.xml") == 1  # paused: left alone
        one_server = await nd.poll_once(everything=True, guild_id=5)
        assert one_server.due == 2  # its own feed and the shared one
        assert http_server.count("/b.xml") == 3 and http_server.count("/a.xml") == 3
        assert a.id != b.id
    finally:
        await nd.close()


def test_cli_poll_all(capsys, monkeypatch, feed_server) -> None:
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("NEWSDESK_FEEDS", f"{feed_server}/harbor-city-ledger.rss.xml")
    assert main(["--db", "x.db", "poll"]) == 0
    assert "polled 1 due feed(s): 1 fetched" in capsys.readouterr().out
    assert main(["--db", "x.db", "poll"]) == 0
    assert "polled 0 due feed(s)" in capsys.readouterr().out
    assert main(["--db", "x.db", "poll", "--all"]) == 0
    out = capsys.readouterr().out
    assert "polled 1 active feed(s)" in out and "0 new article(s)" in out


OPML_IN = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0"><head><title>My reader</title></head><body>
<outline text="World">
  <outline type="rss" text="Daily Planet &amp; Friends" xmlUrl="https://planet.example/rss"/>
  <outline type="rss" text="Gazette" title="Gotham Gazette" xmlUrl="https://gazette.example/atom.xml"/>
</outline>
<outline type="rss" text="" xmlUrl="https://untitled.example/feed.json"/>
</body></opml>"""


def test_opml_import_then_export_round_trips(tmp_path, capsys) -> None:
    from bot.ingest.parse.opml import parse_opml

    (tmp_path / "in.opml").write_bytes(OPML_IN)
    assert main(["--db", "x.db", "ingest", "in.opml"]) in (0, 3)
    assert main(["--db", "x.db", "feeds", "export", "-o", "out.opml"]) == 0
    assert "wrote 3 feed(s) to out.opml" in capsys.readouterr().err
    exported = (tmp_path / "out.opml").read_bytes()
    assert exported.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    assert [(f.url, f.title, f.tags) for f in parse_opml(exported)] == [
        ("https://planet.example/rss", "Daily Planet & Friends", ("world",)),  # its folder
        ("https://gazette.example/atom.xml", "Gotham Gazette", ("world",)),
        ("https://untitled.example/feed.json", "https://untitled.example/feed.json", ()),
    ]
    # And back: a fresh store fed our own export exports the same feeds.
    assert main(["--db", "y.db", "ingest", "out.opml"]) in (0, 3)
    capsys.readouterr()
    assert main(["--db", "y.db", "feeds", "export"]) == 0
    again = capsys.readouterr().out.encode()
    assert parse_opml(again) == parse_opml(exported)
    assert b"<dateCreated>" in again and b'version="2.0"' in again


async def test_opml_export_keeps_server_feeds_apart_and_writes_tags(tmp_path) -> None:
    from bot.ingest.parse.opml import parse_opml
    from bot.models import OpmlFeed
    from bot.render.opml import feeds_opml

    nd = await open_nd(tmp_path)
    try:
        await nd.add_feed("https://shared.example/feed", check=False)
        await nd.add_feed("https://own.example/feed", guild_id=5, check=False)
        await nd.add_feed("https://other.example/feed", guild_id=6, check=False)
        shared, n_shared = await nd.feeds_opml(guild_id=0)
        server, n_server = await nd.feeds_opml(guild_id=5)
    finally:
        await nd.close()
    assert n_shared == 1 and [f.url for f in parse_opml(shared)] == ["https://shared.example/feed"]
    assert n_server == 2
    assert [f.url for f in parse_opml(server)] == [
        "https://shared.example/feed",
        "https://own.example/feed",
    ]
    # Any feed-like object with ``tags`` gets categories, which an import reads back.
    feed = SimpleNamespace(
        url="https://x.example/?a=1&b=2", title="Odd \x07<name>", tags=("world", "tech")
    )
    doc = feeds_opml([feed], title="t", created=NOW)  # type: ignore[list-item]
    assert b'category="world,tech"' in doc
    assert parse_opml(doc) == [
        OpmlFeed("https://x.example/?a=1&b=2", "Odd <name>", ("world", "tech"))
    ]
