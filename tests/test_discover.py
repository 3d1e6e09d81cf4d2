"""Issue 14: adding a web page subscribes to the feed it names in its <head>."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.config import load_settings
from bot.ingest.discover import discover_feeds
from bot.services import FeedError, Newsdesk
from tests.test_bot_e2e import is_ephemeral, run_command

if TYPE_CHECKING:
    from tests.botharness import Newsroom

pytest_plugins = ["tests.botharness", "tests.httpserver"]

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Harbour Gazette</title>
<link>http://127.0.0.1/</link><description>d</description>
<item><title>Ferry timetable changes for winter</title><link>http://127.0.0.1/ferry</link>
<pubDate>Sat, 01 Jun 2024 06:00:00 GMT</pubDate></item></channel></rss>"""

PAGE = b"""<!doctype html><html><head><title>Harbour Gazette</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Everything" href="/feeds/all.xml">
<link rel="alternate" type="application/atom+xml" href="https://other.example/atom">
<link rel="alternate" type="application/rss+xml" href="/feeds/all.xml">
<link rel="alternate" hreflang="fr" href="/fr/">
</head><body><h1>Harbour Gazette</h1><p>News of the harbour.</p></body></html>"""


def test_discover_feeds_reads_the_alternate_links() -> None:
    found = discover_feeds(PAGE, base_url="http://127.0.0.1:8000/news/")
    assert found == ["http://127.0.0.1:8000/feeds/all.xml", "https://other.example/atom"]
    based = PAGE.replace(b"<head>", b'<head><base href="https://cdn.example/site/">')
    assert discover_feeds(based, base_url="http://x/")[0] == "https://cdn.example/feeds/all.xml"
    assert discover_feeds(b"", base_url="http://x/") == []
    assert discover_feeds(b"\x00\xff not html", base_url="http://x/") == []
    assert (
        discover_feeds(
            b'<link rel="alternate" type="application/rss+xml" href="javascript:x">',
            base_url="http://x/",
        )
        == []
    )


async def test_adding_a_page_subscribes_to_its_feed(tmp_path, http_server) -> None:
    html = {"Content-Type": "text/html; charset=utf-8"}
    http_server.route("/", body=PAGE, headers=html)
    http_server.route("/feeds/all.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})
    http_server.route(
        "/plain.html", body=b"<html><head></head><body>hi</body></html>", headers=html
    )
    settings = load_settings(
        env_file=None, database=tmp_path / "n.db", allow_private_addresses=True
    )
    nd = await Newsdesk.open(settings)
    try:
        feed = await nd.add_feed(http_server.url("/"))
        assert feed.url == http_server.url("/feeds/all.xml")
        assert feed.title == "Harbour Gazette"
        try:
            await nd.add_feed(http_server.url("/plain.html"))
        except FeedError as exc:
            assert "is not a feed I can read" in str(exc)
        else:
            raise AssertionError("a page naming no feed was subscribed to")
        assert [f.url for f in await nd.list_feeds()] == [http_server.url("/feeds/all.xml")]
    finally:
        await nd.close()


async def test_a_page_whose_feeds_are_broken_says_so(tmp_path, http_server) -> None:
    http_server.route("/", body=PAGE, headers={"Content-Type": "text/html"})
    settings = load_settings(
        env_file=None, database=tmp_path / "n.db", allow_private_addresses=True
    )
    nd = await Newsdesk.open(settings)
    try:
        try:
            await nd.add_feed(http_server.url("/"))
        except FeedError as exc:
            assert "is a web page; the feeds it names do not work" in str(exc)
            assert "/feeds/all.xml" in str(exc)
        else:
            raise AssertionError("subscribed to a broken feed")
    finally:
        await nd.close()


async def test_newsadmin_feeds_add_discovers_from_a_page(newsroom: Newsroom, http_server) -> None:
    http_server.route("/", body=PAGE, headers={"Content-Type": "text/html"})
    http_server.route("/feeds/all.xml", body=RSS, headers={"Content-Type": "application/rss+xml"})
    async with newsroom.running():
        _, first, added = await run_command(
            newsroom, "newsadmin feeds add", {"url": http_server.url("/")}
        )
    assert is_ephemeral(first)
    assert "Added feed" in added["content"] and "Harbour Gazette" in added["content"]
    feeds = await newsroom.nd.list_feeds(guild_id=newsroom.guild.id)
    assert http_server.url("/feeds/all.xml") in [f.url for f in feeds]
