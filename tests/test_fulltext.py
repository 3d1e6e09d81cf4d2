"""Full text for summary-only feeds, through the user's path on loopback servers.

A feed gives a title, one sentence and a link; the linked page wraps the
article in navigation, teasers and a comment footer. ``Newsdesk.poll_once``
(what ``newsdesk poll`` and the bot's scheduler run) must store the page's
text as the body with the feed's sentence as the summary, fetch each page
once, and keep every item whose page fails.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from bot.config import ConfigError, load_settings
from bot.ingest.fetch import Fetcher
from bot.ingest.fulltext import SHORT_WORDS, FullText
from bot.models import Entry, FeedRow
from bot.services import Newsdesk
from bot.store import feeds as fs
from bot.store import pages as page_store
from tests.httpserver import LoopbackServer

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

if TYPE_CHECKING:
    from tests.botharness import Newsroom

pytest_plugins = ["tests.httpserver", "tests.botharness"]

REPO = Path(__file__).resolve().parents[1]
RSS_TYPE = "application/rss+xml"
USER_AGENT = "Newsdesk-test/0.1 (+https://newsdesk.example/bot)"
MAX_BYTES = 20_000
T0 = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
LOG = logging.getLogger("test.fulltext")

TOPICS = {
    "bridge": ("Harbour bridge closes for repairs", "cracked girders", "ferry"),
    "comet": ("Astronomers spot a bright comet", "telescope images", "observatory"),
    "tram": ("Council approves the new tram line", "depot contract", "timetable"),
    "flood": ("River floods force evacuations", "sandbag walls", "rescue boats"),
    "vote": ("Parliament passes the budget vote", "coalition talks", "treasury"),
}
NAV_AND_FOOTER_WORDS = ("reader42", "Markets rally", "All rights reserved", "Post comment")


def sentence(key: str) -> str:
    """The one sentence a summary-only feed gives for ``key``."""
    title, thing, _ = TOPICS[key]
    return f"{title} after weeks of warnings about {thing}."


def paragraphs(key: str, count: int = 6) -> list[str]:
    """The article itself: the feed's sentence, then ~200 more words."""
    title, thing, place = TOPICS[key]
    body = [sentence(key)]
    for n in range(1, count):
        body.append(
            f"Paragraph {n} of the {key} report: officials at the {place} described the "
            f"{thing} in detail, and residents said the {key} news changed their plans for "
            f"the week. Engineers, witnesses and a spokesperson gave interviews; the "
            f"{place} published figures that reporters checked line by line."
        )
    return body


def article_page(key: str, *, date: str | None = None, extra: int = 0, empty: bool = False) -> str:
    """A news page: the article inside navigation, teasers, share bar and comments."""
    title = TOPICS[key][0]
    meta = f'<meta property="article:published_time" content="{date}">' if date else ""
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs(key, 6 + extra))
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>{html.escape(title)} | Loopback Times</title>{meta}
<meta property="og:site_name" content="Loopback Times"></head><body>
<header><div class="logo">Loopback Times</div><nav><ul><li><a href="/world">World</a></li>
<li><a href="/politics">Politics</a></li><li><a href="/sport">Sport</a></li>
<li><a href="/culture">Culture</a></li></ul></nav></header>
<main><article><h1>{html.escape(title)}</h1><div class="byline">By Staff Reporter</div>
<div class="article-body">{body}</div>
<div class="share">Share on Facebook · Share on Twitter · Email</div></article>
<aside class="related"><h2>More from Loopback Times</h2><ul>
<li><a href="/t/1"><h3>Markets rally as central bank holds rates</h3></a></li>
<li><a href="/t/2"><h3>Ten recipes for a summer picnic</h3></a></li></ul></aside>
<section class="comments"><h2>Comments (2)</h2>
<div class="comment"><b>reader42</b><p>Who let this happen? Someone should resign.</p></div>
<div class="comment"><b>jdoe</b><p>Thanks for covering this story so quickly.</p></div>
<form><textarea></textarea><button>Post comment</button></form></section></main>
<footer><p>© 2025 Loopback Times. All rights reserved.</p></footer></body></html>"""


def rss(items: list[dict[str, Any]], title: str = "Loopback Wire") -> bytes:
    """A feed; each item: title, link, description and optionally pubDate."""
    parts = []
    for item in items:
        date = f"<pubDate>{item['date']}</pubDate>" if item.get("date") else ""
        parts.append(
            f"<item><title>{html.escape(item['title'])}</title>"
            f"<link>{html.escape(item['link'])}</link><guid>{html.escape(item['link'])}</guid>"
            f"{date}<description>{html.escape(item['description'])}</description></item>"
        )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>{title}</title><link>http://127.0.0.1/</link>{''.join(parts)}</channel></rss>"
    ).encode()


def summary_item(server: LoopbackServer, key: str, path: str | None = None, **kw: Any) -> dict:
    date = kw.pop("date", "Tue, 01 Jul 2025 10:00:00 GMT")
    return {
        "title": TOPICS[key][0],
        "link": server.url(path or f"/news/{key}"),
        "description": sentence(key),
        "date": date,
        **kw,
    }


def settings(**overrides: Any):
    values: dict[str, Any] = {
        "allow_private_addresses": True,
        "fetch_timeout_seconds": 1.5,
        "fetch_max_bytes": MAX_BYTES,
        "user_agent": USER_AGENT,
    }
    values.update(overrides)
    return load_settings(None, **values)


async def open_desk(store_url: str, **overrides: Any) -> Newsdesk:
    return await Newsdesk.open(settings(**overrides), database=store_url)


@pytest.fixture
async def desk(store_url: str):
    nd = await open_desk(store_url)
    try:
        yield nd
    finally:
        await nd.close()


async def articles(nd: Newsdesk) -> dict[str, dict[str, Any]]:
    """Stored articles by title."""
    async with nd.db.execute("SELECT * FROM articles ORDER BY id") as cur:
        return {row["title"]: dict(row) for row in await cur.fetchall()}


def hang_handler(server: LoopbackServer):
    async def hang(_request: web.Request) -> web.Response:
        await asyncio.wait_for(server.stopping.wait(), timeout=30)
        return web.Response(text="too late", content_type="text/html")

    return hang


def assert_full_text(article: dict[str, Any], key: str) -> None:
    """Body is the page's article text, summary the feed's sentence, no page chrome."""
    assert article["summary"] == sentence(key)
    for paragraph in paragraphs(key)[1:]:
        assert paragraph in article["body"]
    for junk in NAV_AND_FOOTER_WORDS:
        assert junk not in article["body"], junk
    assert len(article["body"].split()) > 3 * len(sentence(key).split())


def assert_summary_only(article: dict[str, Any], key: str) -> None:
    assert article["body"] == sentence(key)
    assert article["summary"] == sentence(key)


# -- the poll path -------------------------------------------------------------


async def test_summary_only_feed_gets_each_page_once_and_keeps_its_summary(
    desk: Newsdesk, http_server: LoopbackServer
):
    keys = ["bridge", "comet", "tram"]
    items = [summary_item(http_server, k) for k in keys]
    del items[2]["date"]  # no date in the feed: the page's date is taken
    http_server.route("/feed.xml", body=rss(items), content_type=RSS_TYPE)
    for key in keys:
        date = "2025-06-30T08:15:00+00:00" if key == "tram" else None
        http_server.route(
            f"/news/{key}", body=article_page(key, date=date), content_type="text/html"
        )
    feed = await desk.add_feed(http_server.url("/feed.xml"))

    first = await desk.poll_once()
    assert (first.fetched, first.failed, first.new_articles) == (1, 0, 3)
    assert (first.pages_fetched, first.pages_failed, first.pages_deferred) == (3, 0, 0)
    stored = await articles(desk)
    for key in keys:
        assert_full_text(stored[TOPICS[key][0]], key)
        headers = http_server.last_headers(f"/news/{key}")
        assert headers["User-Agent"] == USER_AGENT
        assert headers["Accept"].startswith("text/html")
    assert stored[TOPICS["tram"][0]]["published_at"] == int(
        datetime(2025, 6, 30, 8, 15, tzinfo=UTC).timestamp()
    )

    await fs.resume_feed(desk.db, feed.id)  # due again; the feed has no validators
    second = await desk.poll_once()
    assert (second.fetched, second.new_articles, second.updated) == (1, 0, 0)
    assert (second.pages_fetched, second.pages_failed, second.pages_reused) == (0, 0, 3)
    assert http_server.count("/feed.xml") == 3  # add's check, then two polls
    assert [http_server.count(f"/news/{k}") for k in keys] == [1, 1, 1]
    assert await articles(desk) == stored  # not "updated" back to the summary


async def test_pages_that_404_hang_are_too_large_or_empty_keep_their_items(
    desk: Newsdesk, http_server: LoopbackServer, caplog
):
    paths = {
        "bridge": "/gone",
        "comet": "/hang",
        "tram": "/huge",
        "flood": "/empty",
        "vote": "/news/vote",
    }
    http_server.route(
        "/feed.xml", body=rss([summary_item(http_server, k, p) for k, p in paths.items()])
    )
    http_server.route("/gone", status=404, body="no such story")
    http_server.handler("/hang", hang_handler(http_server))
    http_server.route("/huge", body=article_page("tram", extra=200), content_type="text/html")
    http_server.route(
        "/empty", body="<html><body><div></div></body></html>", content_type="text/html"
    )
    http_server.route("/news/vote", body=article_page("vote"), content_type="text/html")
    assert len(article_page("tram", extra=200).encode()) > MAX_BYTES
    feed = await desk.add_feed(http_server.url("/feed.xml"))
    caplog.set_level(logging.DEBUG, logger="bot")

    report = await desk.poll_once()

    assert (report.fetched, report.failed, report.new_articles) == (1, 0, 5)
    assert (report.pages_fetched, report.pages_failed) == (1, 4)
    why = {url.rsplit("/", 1)[1]: message for _feed, url, message in report.page_errors}
    assert "HTTP 404" in why["gone"]
    assert "timed out" in why["hang"]
    assert "limit" in why["huge"]
    assert "no main text" in why["empty"]
    stored = await articles(desk)
    for key in ("bridge", "comet", "tram", "flood"):
        assert_summary_only(stored[TOPICS[key][0]], key)
    assert_full_text(stored[TOPICS["vote"][0]], "vote")
    health = await fs.get_feed(desk.db, feed.id)
    assert health.consecutive_failures == 0 and health.last_error is None
    page_lines = [r.getMessage() for r in caplog.records if "fulltext:" in r.getMessage()]
    assert len([m for m in page_lines if "failed" in m]) == 4
    assert all(r.levelno == logging.DEBUG for r in caplog.records if "fulltext:" in r.getMessage())
    [info] = [r.getMessage() for r in caplog.records if r.getMessage().startswith("poll: due=")]
    assert info.endswith("pages=1 pages_failed=4 pages_deferred=0")

    # Next cycle: failed pages wait for their retry time (15 min, a day); nothing refetched.
    hits = {p: http_server.count(p) for p in paths.values()}
    await fs.resume_feed(desk.db, feed.id)
    again = await desk.poll_once()
    assert (again.pages_fetched, again.pages_failed, again.pages_reused) == (0, 0, 1)
    assert {p: http_server.count(p) for p in paths.values()} == hits
    assert again.new_articles == 0 and again.updated == 0


async def test_a_hanging_page_host_does_not_delay_a_healthy_feed(
    desk: Newsdesk, http_server: LoopbackServer
):
    slow = LoopbackServer(host="127.0.0.2")  # another host: its own per-host limit
    await slow.start()
    try:
        for n in range(3):  # more than the per-host limit (2) of hanging pages
            slow.handler(f"/hang{n}", hang_handler(slow))
        stuck = [
            summary_item(
                http_server, key, title=f"{TOPICS[key][0]} {n}", link=slow.url(f"/hang{n}")
            )
            for n, key in enumerate(["bridge", "comet", "tram"])
        ]
        http_server.route("/stuck.xml", body=rss(stuck, "Stuck"), content_type=RSS_TYPE)
        http_server.route("/good.xml", body=rss([summary_item(http_server, "vote")], "Good"))
        http_server.route("/news/vote", body=article_page("vote"), content_type="text/html")
        stuck_id = (await desk.add_feed(http_server.url("/stuck.xml"), check=False)).id
        good_id = (await desk.add_feed(http_server.url("/good.xml"), check=False)).id

        seen_at_good_ingest: list[int] = []
        real_ingest = desk._ingest_feed

        async def watching(feed_id, guild_id, parsed, **kw):
            if feed_id == good_id:
                pages = await page_store.lookup_pages(
                    desk.db, [slow.url(f"/hang{n}") for n in range(3)]
                )
                seen_at_good_ingest.append(len(pages))
            return await real_ingest(feed_id, guild_id, parsed, **kw)

        desk._ingest_feed = watching  # type: ignore[method-assign]
        report = await desk.poll_once()
    finally:
        await slow.stop()

    # The good feed was stored while the stuck feed's pages were still pending.
    assert seen_at_good_ingest == [0]
    assert (report.fetched, report.failed) == (2, 0)
    assert (report.pages_fetched, report.pages_failed) == (1, 3)
    assert {fid for fid, _url, _why in report.page_errors} == {stuck_id}
    stored = await articles(desk)
    assert_full_text(stored[TOPICS["vote"][0]], "vote")
    assert stored[f"{TOPICS['bridge'][0]} 0"]["body"] == sentence("bridge")


@pytest.mark.parametrize(
    ("global_mode", "feed_option", "short_hits", "long_hits"),
    [
        ("auto", None, 1, 0),
        ("always", None, 1, 1),
        ("never", None, 0, 0),
        ("never", "auto", 1, 0),
        ("never", "always", 1, 1),
        ("always", "never", 0, 0),
    ],
)
async def test_modes_and_the_per_feed_option_from_the_settings(
    store_url: str,
    http_server: LoopbackServer,
    global_mode: str,
    feed_option: str | None,
    short_hits: int,
    long_hits: int,
):
    long_text = " ".join(paragraphs("comet"))  # the feed gives the whole article
    assert len(long_text.split()) >= SHORT_WORDS
    items = [
        summary_item(http_server, "bridge", "/short"),
        summary_item(http_server, "comet", "/long", description=long_text),
    ]
    http_server.route("/feed.xml", body=rss(items), content_type=RSS_TYPE)
    http_server.route("/short", body=article_page("bridge"), content_type="text/html")
    http_server.route("/long", body=article_page("comet", extra=2), content_type="text/html")
    spec = http_server.url("/feed.xml") + (f" fulltext={feed_option}" if feed_option else "")
    nd = await open_desk(store_url, fulltext=global_mode, feeds=spec)
    try:
        assert await nd.sync_configured_feeds() == 1
        [feed] = await nd.list_feeds()
        assert feed.fulltext == feed_option
        report = await nd.poll_once()
        stored = await articles(nd)
    finally:
        await nd.close()
    assert (http_server.count("/short"), http_server.count("/long")) == (short_hits, long_hits)
    assert report.pages_fetched == short_hits + long_hits and report.new_articles == 2
    short = stored[TOPICS["bridge"][0]]
    if short_hits:
        assert_full_text(short, "bridge")
    else:
        assert_summary_only(short, "bridge")
    long_body = stored[TOPICS["comet"][0]]["body"]
    assert ("Paragraph 7 of the comet report" in long_body) == bool(long_hits)


async def test_settings_are_the_truth_for_the_feeds_they_list(store_url: str):
    url = "https://wire.example/feed.xml"
    nd = await open_desk(store_url, feeds=f"{url} fulltext=never")
    try:
        await nd.sync_configured_feeds()
        assert [f.fulltext for f in await nd.list_feeds()] == ["never"]
        nd.settings = settings(feeds=url)
        await nd.sync_configured_feeds()
        assert [f.fulltext for f in await nd.list_feeds()] == [None]
        # A mode given when adding replaces the feed's; adding without one keeps it.
        await nd.add_feed(url, check=False, fulltext="always")
        await nd.add_feed(url, check=False)
        assert [f.fulltext for f in await nd.list_feeds()] == ["always"]
    finally:
        await nd.close()


async def test_pages_over_the_per_feed_bound_wait_for_the_next_cycle(
    desk: Newsdesk, http_server: LoopbackServer
):
    keys = ["bridge", "comet", "tram"]

    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        body = rss([summary_item(http_server, k) for k in keys])
        return web.Response(body=body, headers={"ETag": '"v1"'}, content_type=RSS_TYPE)

    http_server.handler("/feed.xml", feed)
    for key in keys:
        http_server.route(f"/news/{key}", body=article_page(key), content_type="text/html")
    feed_id = (await desk.add_feed(http_server.url("/feed.xml"), check=False)).id
    make = desk.fulltext
    desk.fulltext = lambda fetcher: _bounded(make(fetcher), 2)  # type: ignore[method-assign]

    first = await desk.poll_once()
    assert (first.pages_fetched, first.pages_deferred) == (2, 1)
    assert (await _feed_row(desk, feed_id)).etag is None  # the feed is read again next time
    await fs.resume_feed(desk.db, feed_id)
    second = await desk.poll_once()
    assert (second.pages_fetched, second.pages_deferred, second.pages_reused) == (1, 0, 2)
    assert "If-None-Match" not in http_server.last_headers("/feed.xml")
    stored = await articles(desk)
    for key in keys:
        assert_full_text(stored[TOPICS[key][0]], key)
        assert http_server.count(f"/news/{key}") == 1
    await fs.resume_feed(desk.db, feed_id)
    third = await desk.poll_once()  # nothing left over: the feed's ETag was kept
    assert (third.not_modified, third.pages_fetched) == (1, 0)
    assert http_server.last_headers("/feed.xml")["If-None-Match"] == '"v1"'


def _bounded(fulltext: FullText, max_pages: int) -> FullText:
    fulltext.max_pages = max_pages
    return fulltext


async def _feed_row(nd: Newsdesk, feed_id: int) -> FeedRow:
    [row] = [
        r
        for r in await fs.due_feeds(nd.db, datetime.now(UTC) + timedelta(days=1))
        if r.id == feed_id
    ]
    return row


async def test_a_bug_while_fetching_pages_fails_no_feed(
    desk: Newsdesk, http_server: LoopbackServer, monkeypatch, caplog
):
    http_server.route("/feed.xml", body=rss([summary_item(http_server, "bridge")]))
    http_server.route("/news/bridge", body=article_page("bridge"), content_type="text/html")
    await desk.add_feed(http_server.url("/feed.xml"), check=False)

    async def broken(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("page cache exploded")

    monkeypatch.setattr(page_store, "lookup_pages", broken)
    report = await desk.poll_once()
    assert (report.fetched, report.failed, report.new_articles) == (1, 0, 1)
    assert_summary_only((await articles(desk))[TOPICS["bridge"][0]], "bridge")
    assert any("could not fetch the pages of feed" in r.getMessage() for r in caplog.records)


# -- retries, with a clock -------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def entry(server: LoopbackServer, path: str, key: str = "bridge") -> Entry:
    return Entry(title=TOPICS[key][0], url=server.url(path), summary=sentence(key))


async def test_failed_and_thin_pages_are_retried_later_a_few_times(db, http_server: LoopbackServer):
    answers = {"/flaky": [503, 503, 200]}

    async def flaky(request: web.Request) -> web.Response:
        status = answers["/flaky"].pop(0) if answers["/flaky"] else 200
        if status != 200:
            return web.Response(status=status)
        return web.Response(text=article_page("comet"), content_type="text/html")

    async def thin(request: web.Request) -> web.Response:  # the page says no more than the feed
        if request.headers.get("If-None-Match") == '"t1"':
            return web.Response(status=304, headers={"ETag": '"t1"'})
        page = f"<html><body><article><p>{sentence('tram')}</p></article></body></html>"
        return web.Response(text=page, headers={"ETag": '"t1"'}, content_type="text/html")

    http_server.handler("/flaky", flaky)
    http_server.route("/gone", status=404)
    http_server.handler("/thin", thin)
    clock = Clock()
    async with Fetcher(user_agent=USER_AGENT, allow_private=True, total_timeout=2) as fetcher:
        pages = FullText(db, fetcher, now_fn=clock, logger=LOG)

        async def cycle(after: timedelta) -> dict[str, Entry]:
            clock.now += after
            batch = {
                "/flaky": entry(http_server, "/flaky", "comet"),
                "/gone": entry(http_server, "/gone"),
                "/thin": entry(http_server, "/thin", "tram"),
            }
            await pages.fill(list(batch.values()))
            return batch

        def hits() -> tuple[int, int, int]:
            return tuple(http_server.count(p) for p in ("/flaky", "/gone", "/thin"))  # type: ignore[return-value]

        await cycle(timedelta(0))
        assert hits() == (1, 1, 1)
        await cycle(timedelta(minutes=10))  # nothing is due yet
        assert hits() == (1, 1, 1)
        await cycle(timedelta(minutes=6))  # 16 min: the 503 is tried again
        assert hits() == (2, 1, 1)
        await cycle(timedelta(hours=6))  # the 503 (1 h) and the thin page (6 h)
        assert hits() == (3, 1, 2)
        assert http_server.last_headers("/thin")["If-None-Match"] == '"t1"'  # conditional
        flaky = await cycle(timedelta(0))  # the 503 page worked on its third try
        assert (
            flaky["/flaky"].content and "Paragraph 3 of the comet report" in flaky["/flaky"].content
        )
        await cycle(timedelta(hours=19))  # 25 h: the 404 once more
        assert hits()[1:] == (2, 2)
        await cycle(timedelta(hours=6))  # 31 h: the thin page a last time (6 h + 1 day)
        assert hits()[1:] == (2, 3)
        for _ in range(5):  # then the 404 and the thin page are given up
            await cycle(timedelta(days=2))
        assert hits()[1:] == (2, 3)
    rows = await page_store.lookup_pages(db, [http_server.url(p) for p in ("/gone", "/thin")])
    assert [(r.state, r.retry_at) for r in rows.values()] == [("failed", None), ("thin", None)]


async def test_pages_still_pending_at_the_time_budget_are_left_for_later(
    db, http_server: LoopbackServer
):
    http_server.handler("/hang", hang_handler(http_server))
    http_server.route("/news/comet", body=article_page("comet"), content_type="text/html")
    waiting, ready = entry(http_server, "/hang"), entry(http_server, "/news/comet", "comet")
    async with Fetcher(user_agent=USER_AGENT, allow_private=True, total_timeout=60) as fetcher:
        pages = FullText(db, fetcher, now_fn=Clock(), logger=LOG, budget_s=0.5)
        out = await pages.fill([waiting, ready])
    assert (out.fetched, out.failed, out.deferred) == (1, 0, 1)
    assert waiting.content is None and "Paragraph 2 of the comet report" in (ready.content or "")
    rows = await page_store.lookup_pages(db, [waiting.url or "", ready.url or ""])
    assert list(rows) == [ready.url]  # the pending page is not remembered: tried next cycle


async def test_a_page_with_only_a_byline_brings_nothing(db, http_server: LoopbackServer):
    """A title-only item whose page holds no article: the extractor's fallback is no body."""
    title = "Parliament passes the budget vote after a long night of coalition talks"
    stub = (
        f"<html><head><title>{title}</title></head><body><article><h1>{title}</h1>"
        "<div class='byline'>By Staff Reporter</div><div class='body'></div></article></body></html>"
    )
    http_server.route("/news/vote", body=stub, content_type="text/html")
    title_only = Entry(title=title, url=http_server.url("/news/vote"))
    async with Fetcher(user_agent=USER_AGENT, allow_private=True) as fetcher:
        out = await FullText(db, fetcher, now_fn=Clock(), logger=LOG).fill([title_only])
    assert (out.fetched, out.fulltext, out.failed) == (1, 0, 0)
    assert title_only.content is None and title_only.summary is None
    [row] = (await page_store.lookup_pages(db, [title_only.url or ""])).values()
    assert row.state == "thin" and row.retry_at == T0 + timedelta(hours=6)


async def test_a_refused_address_keeps_the_entry_and_sends_nothing(db, http_server: LoopbackServer):
    http_server.route("/news/bridge", body=article_page("bridge"), content_type="text/html")
    feed_entry = entry(http_server, "/news/bridge")
    async with Fetcher(user_agent=USER_AGENT, allow_private=False) as fetcher:
        out = await FullText(db, fetcher, now_fn=Clock(), logger=LOG).fill([feed_entry])
    assert (out.fetched, out.failed) == (0, 1) and "blocked" in out.failures[0][1]
    assert http_server.count("/news/bridge") == 0
    assert feed_entry.content is None and feed_entry.summary == sentence("bridge")


# -- faces: CLI, newsdesk ingest, Discord, settings ------------------------------


async def test_newsdesk_poll_prints_pages_fetched_and_failed(tmp_path: Path, http_server):
    items = [summary_item(http_server, "bridge"), summary_item(http_server, "comet", "/gone")]
    http_server.route("/feed.xml", body=rss(items), content_type=RSS_TYPE)
    http_server.route("/news/bridge", body=article_page("bridge"), content_type="text/html")
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "NEWSDESK_FEEDS": http_server.url("/feed.xml") + " fulltext=always",
        "NEWSDESK_FULLTEXT": "never",
        "NEWSDESK_ALLOW_PRIVATE_ADDRESSES": "true",
    }
    db = tmp_path / "cli.db"
    (tmp_path / "none").write_text("", encoding="utf-8")  # an empty settings file
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--env-file",
        str(tmp_path / "none"),
        "--db",
        str(db),
        "poll",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    text = out.decode()
    assert proc.returncode == 0, err.decode()
    assert "2 new article(s)" in text
    assert "article pages: 1 fetched, 1 failed" in text
    assert "page failed" in text and "/gone" in text and "404" in text
    nd = await Newsdesk.open(settings(), database=db)
    try:
        assert_full_text((await articles(nd))[TOPICS["bridge"][0]], "bridge")
    finally:
        await nd.close()


async def test_ingest_of_a_feed_url_fetches_its_pages(desk: Newsdesk, http_server):
    http_server.route("/feed.xml", body=rss([summary_item(http_server, "flood")]))
    http_server.route("/news/flood", body=article_page("flood"), content_type="text/html")
    outcome = await desk.ingest_sources([http_server.url("/feed.xml")])
    assert (outcome.report.new, outcome.pages_fetched, outcome.pages_failed) == (1, 1, 0)
    assert_full_text((await articles(desk))[TOPICS["flood"][0]], "flood")


def test_cli_feeds_add_sets_the_mode_and_list_shows_it(tmp_path: Path, monkeypatch, capsys):
    from bot.cli import main

    for key in [k for k in os.environ if k.startswith("NEWSDESK_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "true")
    db = str(tmp_path / "cli.db")
    url = "http://127.0.0.1:9/feed.xml"  # --no-check: never fetched
    none = str(tmp_path / "none.env")
    (tmp_path / "none.env").write_text("", encoding="utf-8")  # an empty settings file
    args = ["--env-file", none, "--db", db, "feeds"]
    assert main([*args, "add", url, "--no-check", "--fulltext", "never"]) == 0
    assert "full text: never" in capsys.readouterr().out
    assert main([*args, "list", "--json"]) == 0
    assert '"fulltext": "never"' in capsys.readouterr().out
    assert main([*args, "add", url, "--fulltext", "sometimes"]) == 2
    assert "invalid choice: 'sometimes'" in capsys.readouterr().err


async def test_discord_feeds_add_takes_a_full_text_choice(newsroom: Newsroom, http_server) -> None:
    http_server.route("/wire.xml", body=rss([], "Wire"), content_type=RSS_TYPE)
    async with newsroom.running():
        handle = await newsroom.fake.send_command(
            "newsadmin feeds add", {"url": http_server.url("/wire.xml"), "fulltext": "never"}
        )
        assert (await handle.wait_response())["type"] == 5
        added = await handle.wait_edit(1)
    assert "Added feed" in added["content"] and "Full text: never" in added["content"]
    feeds = await fs.list_feeds(newsroom.nd.db, guild_id=newsroom.guild.id)
    assert [f.fulltext for f in feeds if f.guild_id == newsroom.guild.id] == ["never"]


def test_feed_options_in_the_settings_and_the_feeds_file(tmp_path: Path, monkeypatch):
    for key in [k for k in os.environ if k.startswith("NEWSDESK_")]:
        monkeypatch.delenv(key)
    listing = tmp_path / "feeds.txt"
    listing.write_text(
        "# wire services\nhttps://b.example/rss fulltext=Always\n\nhttps://c.example/rss\n"
    )
    s = load_settings(
        None,
        feeds="https://a.example/rss fulltext=never, https://c.example/rss",
        feeds_file=listing,
    )
    assert [(f.url, f.fulltext) for f in s.feed_specs()] == [
        ("https://a.example/rss", "never"),
        ("https://c.example/rss", None),
        ("https://b.example/rss", "always"),
    ]
    assert s.feed_urls() == [
        "https://a.example/rss",
        "https://c.example/rss",
        "https://b.example/rss",
    ]
    assert s.fulltext == "auto"

    listing.write_text("https://b.example/rss\nhttps://c.example/rss fulltext=maybe\n")
    with pytest.raises(ConfigError) as info:
        load_settings(None, feeds_file=listing).feed_specs()
    message = str(info.value)
    assert message.startswith("NEWSDESK_FEEDS_FILE=") and "line 2" in message
    assert "'maybe' is not a full-text mode" in message and "Fix:" in message
