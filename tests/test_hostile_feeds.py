"""Hostile feeds through the real poll cycle: bad input costs a log line, nothing more.

Every test serves a hostile document from the loopback server *beside a good
feed*, runs :meth:`Newsdesk.poll_once` and checks that the hostile feed ends
as a recorded feed error (``last_error``, ``consecutive_failures``) or as
sanitised articles, that the good feed was still ingested and that nothing
was half-written. Generators for the documents live in ``tests/hostile``.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import ssl
import subprocess
import tracemalloc
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from bot.config import Settings, load_settings
from bot.ingest.fetch import Fetcher
from bot.ingest.netguard import is_public_address
from bot.ingest.parse import parse_feed
from bot.ingest.parse.feeds import DEFAULT_MAX_ENTRIES
from bot.ingest.poll import PollReport
from bot.models import FeedHealth
from bot.services import Newsdesk
from bot.store import feeds as fs
from tests.conftest import shared_path
from tests.hostile import documents as doc
from tests.hostile.net import MapResolver, install_connect_spy

if TYPE_CHECKING:
    from tests.httpserver import LoopbackServer

pytest_plugins = ["tests.httpserver"]  # the http_server fixture

RSS_TYPE = "application/rss+xml"
GOOD_COUNT = 3


def settings(**overrides: Any) -> Settings:
    """Loopback-friendly settings with short time limits."""
    values: dict[str, Any] = {
        "allow_private_addresses": True,
        "fetch_timeout_seconds": 1.5,
        "fetch_max_bytes": 1_000_000,
    }
    values.update(overrides)
    return load_settings(None, **values)


async def open_desk(tmp_path: Path, **overrides: Any) -> Newsdesk:
    return await Newsdesk.open(settings(**overrides), database=tmp_path / "hostile.db")


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Newsdesk]:
    nd = await open_desk(tmp_path)
    try:
        yield nd
    finally:
        await nd.close()


@pytest.fixture
async def connect_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Addresses connected to; anything but loopback is refused (a safety net)."""
    return await install_connect_spy(monkeypatch)


@dataclass
class Outcome:
    """What one poll cycle did to the hostile feeds and to the good one."""

    report: PollReport
    good: FeedHealth
    feeds: dict[str, FeedHealth]
    articles: dict[str, list[dict[str, Any]]]

    def error(self, name: str) -> str:
        return self.feeds[name].last_error or ""


def past() -> datetime:
    return datetime.now(UTC) - timedelta(seconds=5)


async def feed_articles(nd: Newsdesk, feed_id: int) -> list[dict[str, Any]]:
    async with nd.db.execute(
        "SELECT a.* FROM articles a JOIN article_feeds f ON f.article_id = a.id"
        " WHERE f.feed_id = ? ORDER BY a.id",
        (feed_id,),
    ) as cur:
        return [dict(row) for row in await cur.fetchall()]


async def all_text(nd: Newsdesk) -> str:
    """Every stored article, story and feed text, joined (for leak checks)."""
    parts: list[str] = []
    for sql in (
        "SELECT title, body, COALESCE(summary, ''), COALESCE(url, ''), source FROM articles",
        "SELECT COALESCE(headline, '') FROM stories",
        "SELECT url, COALESCE(title, ''), COALESCE(last_error, '') FROM feeds",
    ):
        async with nd.db.execute(sql) as cur:
            parts.extend(str(v) for row in await cur.fetchall() for v in row)
    return "\n".join(parts)


async def poll_beside_good_feed(
    nd: Newsdesk, server: LoopbackServer, paths: dict[str, str]
) -> Outcome:
    """Subscribe ``paths`` (name -> path or absolute URL) and a good feed; poll once."""
    server.route("/good.xml", body=doc.good_feed("good", GOOD_COUNT), content_type=RSS_TYPE)
    good_id = await fs.add_feed(nd.db, server.url("/good.xml"), now=past())
    ids = {}
    for name, path in paths.items():
        url = path if "://" in path else server.url(path)
        ids[name] = await fs.add_feed(nd.db, url, now=past())
    report = await nd.poll_once()
    good = await fs.get_feed(nd.db, good_id)
    assert good is not None
    assert good.consecutive_failures == 0 and good.last_success_at is not None, good
    assert len(await feed_articles(nd, good_id)) == GOOD_COUNT
    assert report.due == len(paths) + 1
    assert report.due == report.fetched + report.not_modified + report.failed
    feeds = {name: await fs.get_feed(nd.db, fid) for name, fid in ids.items()}
    articles = {name: await feed_articles(nd, fid) for name, fid in ids.items()}
    assert not any("internal error" in msg for _id, _url, msg in report.errors), report.errors
    return Outcome(report, good, feeds, articles)  # type: ignore[arg-type]


def assert_failed(out: Outcome, name: str, message: str) -> None:
    """The feed recorded exactly one failure with ``message`` and stored nothing."""
    feed = out.feeds[name]
    assert feed.consecutive_failures == 1, feed
    assert re.search(message, feed.last_error or "", re.IGNORECASE), feed.last_error
    assert feed.next_poll_at is not None and feed.next_poll_at > datetime.now(UTC)
    assert out.articles[name] == []


def assert_healthy(out: Outcome, name: str) -> list[dict[str, Any]]:
    feed = out.feeds[name]
    assert feed.consecutive_failures == 0 and feed.last_error is None, feed
    return out.articles[name]


# --- documents that are not feeds -------------------------------------------

REJECTED = {
    "empty-body": (b"", RSS_TYPE, "empty"),
    "bom-and-blanks-only": (b"\xef\xbb\xbf \r\n\t", RSS_TYPE, "empty"),
    "html-as-html": (b"<!doctype html><html><body><p>Hi</p></body></html>", "text/html", "HTML"),
    "html-claiming-rss": (
        b"<html><head><title>t</title></head><body>x</body></html>",
        RSS_TYPE,
        "HTML",
    ),
    "binary-garbage": (bytes(range(256)) * 40, RSS_TYPE, "no RSS, Atom or JSON Feed"),
    "truncated-json-feed": (doc.truncated_json_feed(), "application/feed+json", "invalid JSON"),
    "json-not-a-feed": (b'{"hello": "world"}', "application/json", "not a JSON Feed"),
    "gzip-file-bomb": (  # a .xml.gz body (no Content-Encoding) inflating to 100 MiB
        doc.gzip_stream(100 << 20, prefix=b"<?xml version='1.0'?><rss><channel><title>"),
        RSS_TYPE,
        "too large",
    ),
}


@pytest.mark.parametrize("name", list(REJECTED))
async def test_documents_that_are_not_feeds_are_recorded_errors(
    desk: Newsdesk, http_server: LoopbackServer, name: str
):
    body, content_type, message = REJECTED[name]
    http_server.route("/bad", body=body, content_type=content_type)
    out = await poll_beside_good_feed(desk, http_server, {name: "/bad"})
    assert_failed(out, name, "not a readable feed: .*" + message)
    assert out.report.failed == 1 and out.report.fetched == 1


# --- documents that are broken but readable: sanitised --------------------------

MALFORMED = (
    b"<?xml version='1.0'?><rss version='2.0'><channel><title>Broken & bad</title>"
    b"<item><title>Unescaped & ampersand < here</title><link>https://m.example/1</link></item>"
    b"<item><title>Unclosed <b>bold</title><link>https://m.example/2</link>"
)
LATIN1_BODY = (
    "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>C</title>"
    "<item><title>Caf\xe9 cr\xe8me br\xfbl\xe9e</title><link>https://c.example/1</link></item>"
    "</channel></rss>"
).encode("latin-1")
CAFE = "Café crème brûlée"


@pytest.mark.parametrize(
    ("name", "body", "content_type", "titles"),
    [
        ("malformed-xml", MALFORMED, RSS_TYPE, {"Unescaped & ampersand < here", "Unclosed bold"}),
        ("latin1-declared-utf8", LATIN1_BODY, RSS_TYPE + "; charset=utf-8", {CAFE}),
        ("latin1-no-charset", LATIN1_BODY.replace(b" encoding='utf-8'", b""), RSS_TYPE, {CAFE}),
        (
            "wrong-charset-header",
            doc.rss([doc.item(CAFE, "https://c.example/1")]),
            "text/xml; charset=us-ascii",
            {CAFE},
        ),
        (
            "utf8-bom",
            b"\xef\xbb\xbf" + doc.rss([doc.item(CAFE, "https://c.example/1")]),
            RSS_TYPE,
            {CAFE},
        ),
        (
            "utf16-bom",
            doc.rss([doc.item(CAFE, "https://c.example/1")], encoding="utf-16"),
            RSS_TYPE,
            {CAFE},
        ),
        (
            "utf16-no-header-charset",
            doc.rss([doc.item(CAFE, "https://c.example/1")], encoding="utf-16"),
            None,
            {CAFE},
        ),
    ],
)
async def test_broken_but_readable_feeds_are_stored_sanitised(
    desk: Newsdesk, http_server: LoopbackServer, name, body, content_type, titles
):
    http_server.route("/f", body=body, content_type=content_type)
    out = await poll_beside_good_feed(desk, http_server, {name: "/f"})
    stored = assert_healthy(out, name)
    got = {a["title"] for a in stored}
    for title in titles:
        assert any(title in g or g in title for g in got), (title, got)
    assert not any("\ufffd" in a["title"] for a in stored)


async def test_control_characters_never_reach_the_store(desk: Newsdesk, http_server):
    nasty = "Bell\x07 Null\x00 Esc\x1b[31m red\x0b tab\x0c form\x7f del\x85nel"
    body = doc.rss(
        [doc.item(nasty, "https://ctl.example/1", description=f"Body {nasty} \u202e reversed")]
    )
    http_server.route("/ctl", body=body, content_type=RSS_TYPE)
    out = await poll_beside_good_feed(desk, http_server, {"ctl": "/ctl"})
    [article] = assert_healthy(out, "ctl")
    controls = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]")
    for field in ("title", "body", "summary"):
        assert not controls.search(article[field] or ""), (field, article[field])
    assert article["title"].startswith("Bell") and "red" in article["title"]


# --- feedparser's own ill-formed and encoding test documents ------------------


def _feedparser_cases() -> list[tuple[str, bytes, str | None]]:
    root = shared_path("feeds", "feedparser", "tests")
    cases = []
    for sub in ("illformed", "encoding"):
        for path in sorted((root / sub).rglob("*.xml")):
            data = path.read_bytes()
            header = re.search(rb"Header:\s*Content-type:\s*([^\r\n]*)", data, re.IGNORECASE)
            ctype = header.group(1).decode("latin-1").strip() if header else None
            cases.append((f"{sub}/{path.relative_to(root / sub)}", data, ctype))
    return cases


async def test_feedparser_illformed_and_encoding_cases_in_one_cycle(
    desk: Newsdesk, http_server: LoopbackServer
):
    cases = _feedparser_cases()
    assert len(cases) > 50
    paths = {}
    for number, (name, data, ctype) in enumerate(cases):
        path = f"/fp/{number}.xml"
        # Serve the raw header value: aiohttp's content_type setter would rewrite it.
        headers = {"Content-Type": ctype} if ctype else {}
        http_server.route(path, body=data, headers=headers)
        paths[name] = path
    out = await poll_beside_good_feed(desk, http_server, paths)
    for name, feed in out.feeds.items():
        if feed.consecutive_failures:
            assert feed.last_error and feed.last_error.startswith("not a readable feed"), (
                name,
                feed.last_error,
            )
        else:
            assert feed.last_success_at is not None, name
    readable = sum(1 for f in out.feeds.values() if not f.consecutive_failures)
    assert readable > len(cases) // 2  # most of them are merely unusual, not unusable
    assert "\x00" not in await all_text(desk)


# --- entity expansion and external entities ------------------------------------


async def test_entity_bombs_and_xxe_expand_nothing_and_read_no_file(
    desk: Newsdesk, http_server: LoopbackServer, tmp_path: Path
):
    marker = "SECRET-MARKER-" + os.urandom(8).hex()
    secret = tmp_path / "secret.txt"
    secret.write_text(marker)
    bodies = {
        "billion-laughs": doc.billion_laughs(),
        "billion-laughs-utf16": doc.billion_laughs()
        .decode()
        .replace("version='1.0'", "version='1.0' encoding='utf-16'")
        .encode("utf-16"),
        "quadratic-blowup": doc.quadratic_blowup(),
        "xxe": doc.xxe(secret),
        "xxe-parameter-entity": doc.xxe(secret, parameter=True),
        "xxe-ill-formed": doc.xxe_unclosed(secret),
    }
    paths = {}
    for name, body in bodies.items():
        http_server.route(f"/{name}", body=body, content_type=RSS_TYPE)
        paths[name] = f"/{name}"
    tracemalloc.start()
    try:
        out = await poll_beside_good_feed(desk, http_server, paths)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 10**10 "lol"s would be 30 GB; a quadratic blow-up 2.5 GB: both stayed tiny.
    assert peak < 50_000_000, f"peak {peak:,} bytes"
    text = await all_text(desk)
    assert marker not in text
    assert "lollollol" not in text and "A" * 10_000 not in text
    for name in bodies:
        feed = out.feeds[name]
        assert feed.consecutive_failures or feed.last_success_at, name
        for article in out.articles[name]:
            assert len(article["title"]) <= 500 and len(article["body"]) <= 100_000


# --- the network misbehaving ----------------------------------------------------


async def _trickle(server: LoopbackServer, request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse(headers={"Content-Type": RSS_TYPE})
    await resp.prepare(request)
    await resp.write(b"<?xml version='1.0'?><rss version='2.0'><channel><title>")
    for _ in range(200):  # bounded (20 s), far past the client's 1.5 s limit
        if server.stopping.is_set():
            break
        await resp.write(b"a")
        await asyncio.sleep(0.1)
    return resp


async def _hang(server: LoopbackServer, _request: web.Request) -> web.Response:
    await asyncio.wait_for(server.stopping.wait(), timeout=20)
    return web.Response(text="too late")


def _network_routes(server: LoopbackServer) -> dict[str, str]:
    """Register one misbehaving route per case; name -> URL.

    Each case gets its own host name (all resolving to 127.0.0.1 through a
    fake DNS): the fetcher allows two connections per host, so cases sharing
    a host would queue behind the hanging ones and wait out their timeouts.
    """
    server.route(
        "/gzip-bomb",
        body=doc.gzip_stream(64 << 20),
        headers={"Content-Encoding": "gzip"},
        content_type=RSS_TYPE,
    )
    server.route("/too-big", body=b"<rss>" + b"x" * 1_200_000, content_type=RSS_TYPE)

    async def chunked_big(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(40):
            await resp.write(b"<item>" + b"y" * 50_000)
        await resp.write_eof()
        return resp

    server.handler("/too-big-chunked", chunked_big)
    server.handler("/slow-stream", lambda r: _trickle(server, r))
    server.handler("/never-answers", lambda r: _hang(server, r))
    server.redirect("/loop-a", "/loop-b")
    server.redirect("/loop-b", "/loop-a")
    server.redirect("/self", "/self")
    for status in (401, 403, 404, 410, 500, 502, 503):
        server.route(f"/status-{status}", status=status, body=b"nope")
    server.route("/429", status=429, headers={"Retry-After": "7200"})
    paths = {
        "gzip-bomb": "/gzip-bomb",
        "over-size-cap": "/too-big",
        "over-size-cap-chunked": "/too-big-chunked",
        "slow-stream": "/slow-stream",
        "never-answers": "/never-answers",
        "redirect-loop": "/loop-a",
        "redirect-to-itself": "/self",
        **{f"http-{s}": f"/status-{s}" for s in (401, 403, 404, 410, 500, 502, 503)},
        "429-retry-after": "/429",
    }
    urls = {name: f"http://{name}.test:{server.port}{path}" for name, path in paths.items()}
    urls["tls-to-plain-port"] = f"https://tls.test:{server.port}/good.xml"
    urls["dns-failure"] = "http://no-such-host.invalid/feed.xml"
    return urls


def _fake_dns_fetcher(nd: Newsdesk, names: list[str]) -> Callable[[], Fetcher]:
    """``nd.fetcher`` with a fake DNS mapping every ``<name>.test`` to 127.0.0.1."""
    table = {f"{name}.test": ["127.0.0.1"] for name in names} | {"tls.test": ["127.0.0.1"]}
    s = nd.settings

    def make() -> Fetcher:
        return Fetcher(
            user_agent=s.user_agent,
            total_timeout=s.fetch_timeout_seconds,
            max_bytes=s.fetch_max_bytes,
            allow_private=True,
            inner_resolver=MapResolver(table),
        )

    return make


NETWORK_ERRORS = {
    "gzip-bomb": "over the 1,000,000-byte limit",
    "over-size-cap": "over the 1,000,000-byte limit",
    "over-size-cap-chunked": "over the 1,000,000-byte limit",
    "slow-stream": "timed out",
    "never-answers": "timed out",
    "redirect-loop": "redirect loop",
    "redirect-to-itself": "redirect loop",
    "http-401": "refused access .*HTTP 401",
    "http-403": "refused access .*HTTP 403",
    "http-404": "not at this address any more .*HTTP 404",
    "http-410": "not at this address any more .*HTTP 410",
    "http-500": "server problem .*HTTP 500",
    "http-502": "server problem .*HTTP 502",
    "http-503": "server problem .*HTTP 503",
    "429-retry-after": "polling too often .*HTTP 429",
    "tls-to-plain-port": "TLS|SSL",
    "dns-failure": "could not resolve host no-such-host.invalid",
}


async def test_network_failures_are_recorded_and_the_good_feed_goes_on(
    desk: Newsdesk, http_server: LoopbackServer, monkeypatch
):
    """Every misbehaving server at once, in one cycle, beside a good feed."""
    paths = _network_routes(http_server)
    assert set(paths) == set(NETWORK_ERRORS)
    monkeypatch.setattr(desk, "fetcher", _fake_dns_fetcher(desk, list(paths)))
    out = await poll_beside_good_feed(desk, http_server, paths)
    for name, message in NETWORK_ERRORS.items():
        assert_failed(out, name, message)
    assert out.report.failed == len(NETWORK_ERRORS) and out.report.fetched == 1
    # Retry-After pushes the next poll at least that far; plain failures back off less.
    retry = out.feeds["429-retry-after"].next_poll_at
    assert retry is not None and retry >= datetime.now(UTC) + timedelta(seconds=7000)
    # The never-answering server was given up on: no request is still pending.
    assert http_server.count("/never-answers") == 1


async def test_feeds_sharing_a_host_with_hanging_feeds_still_get_fetched(
    desk: Newsdesk, http_server: LoopbackServer
):
    http_server.handler("/hang-1", lambda r: _hang(http_server, r))
    http_server.handler("/hang-2", lambda r: _hang(http_server, r))
    hang_ids = [
        await fs.add_feed(desk.db, http_server.url(p), now=past() - timedelta(hours=1))
        for p in ("/hang-1", "/hang-2")
    ]  # due first: they take both slots
    http_server.route("/same-host.xml", body=doc.good_feed("same"), content_type=RSS_TYPE)
    same = await fs.add_feed(desk.db, http_server.url("/same-host.xml"), now=past())
    await desk.poll_once()
    for feed_id in hang_ids:
        hung = await fs.get_feed(desk.db, feed_id)
        assert hung is not None and "timed out" in (hung.last_error or "")
    feed = await fs.get_feed(desk.db, same)
    assert feed is not None and feed.last_error is None, feed.last_error


async def test_second_cycle_counts_consecutive_failures(desk: Newsdesk, http_server):
    http_server.route("/500", status=500)
    out = await poll_beside_good_feed(desk, http_server, {"500": "/500"})
    feed_id = out.feeds["500"].id
    await desk.poll_once(everything=True)  # next cycle now, as `newsdesk poll --all`
    feed = await fs.get_feed(desk.db, feed_id)
    assert feed is not None and feed.consecutive_failures == 2 and not feed.paused


def _self_signed_cert(tmp_path: Path) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: cannot make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


async def test_self_signed_tls_server_is_a_recorded_error(
    desk: Newsdesk, http_server: LoopbackServer, tmp_path: Path
):
    cert, key = _self_signed_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def feed(_request: web.Request) -> web.Response:
        return web.Response(body=doc.good_feed("tls"))

    app = web.Application()
    app.router.add_get("/feed.xml", feed)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        out = await poll_beside_good_feed(
            desk, http_server, {"self-signed": f"https://127.0.0.1:{port}/feed.xml"}
        )
    finally:
        await runner.cleanup()
    assert_failed(out, "self-signed", "certificate .* is not valid")


async def test_redirect_to_private_addresses_is_refused_in_the_poll_cycle(
    desk: Newsdesk, http_server: LoopbackServer, connect_spy, monkeypatch
):
    """With the address guard on (127.0.0.1 playing a public host), no hop reaches a
    private address: literal IPs are refused before connecting, names through the resolver."""
    resolver = MapResolver({"rebind.test": ["10.0.0.7", "192.168.0.9"], "news.test": ["127.0.0.1"]})

    def guarded() -> Fetcher:
        return Fetcher(
            user_agent="Newsdesk-test",
            total_timeout=2,
            max_bytes=1_000_000,
            allow_private=False,
            ip_allowed=lambda ip: ip == "127.0.0.1" or is_public_address(ip),
            inner_resolver=resolver,
        )

    monkeypatch.setattr(desk, "fetcher", guarded)
    targets = {
        "to-metadata": "http://169.254.169.254/latest/meta-data/",
        "to-rfc1918": "http://10.0.0.1/feed.xml",
        "to-ipv6-mapped": "http://[::ffff:192.168.1.1]/",
        "to-localhost-name": "http://localhost/",
        "to-rebinding-name": f"http://rebind.test:{http_server.port}/feed.xml",
        "to-file": "file:///etc/passwd",
    }
    for name, target in targets.items():
        http_server.redirect(f"/{name}", target)
    base = f"http://news.test:{http_server.port}"
    paths = {name: f"{base}/{name}" for name in targets}
    http_server.route("/good.xml", body=doc.good_feed("good", GOOD_COUNT), content_type=RSS_TYPE)
    out = await poll_beside_good_feed(desk, http_server, paths)
    for name in targets:
        assert_failed(out, name, "blocked")
        assert out.feeds[name].next_poll_at is not None
    assert set(connect_spy) == {"127.0.0.1"}
    assert "rebind.test" in resolver.asked


# --- entries that are hostile in themselves -----------------------------------


async def test_ten_megabyte_title_is_cut(tmp_path: Path, http_server: LoopbackServer):
    nd = await open_desk(tmp_path, fetch_max_bytes=20_000_000, fetch_timeout_seconds=60)
    try:
        http_server.route("/huge", body=doc.huge_title_feed(), content_type=RSS_TYPE)
        out = await poll_beside_good_feed(nd, http_server, {"huge": "/huge"})
    finally:
        await nd.close()
    [article] = assert_healthy(out, "huge")
    assert 0 < len(article["title"]) <= 500


async def test_hundred_thousand_entries_are_capped(tmp_path: Path, http_server: LoopbackServer):
    body = doc.many_entries_feed(100_000)
    parsed = parse_feed(body, url="https://many.example/feed.xml")
    assert len(parsed.entries) == DEFAULT_MAX_ENTRIES
    assert [e.title for e in parsed.entries[:2]] == ["Entry 0", "Entry 1"]
    assert parsed.entries[-1].title == f"Entry {DEFAULT_MAX_ENTRIES - 1}"
    assert parsed.warning and "first 1000 entries" in parsed.warning

    nd = await open_desk(tmp_path, fetch_max_bytes=20_000_000, fetch_timeout_seconds=60)
    try:
        http_server.route("/many", body=body, content_type=RSS_TYPE)
        out = await poll_beside_good_feed(nd, http_server, {"many": "/many"})
    finally:
        await nd.close()
    assert len(assert_healthy(out, "many")) == DEFAULT_MAX_ENTRIES


async def test_dates_far_future_1900_and_unparseable_fall_back_to_fetch_time(
    desk: Newsdesk, http_server: LoopbackServer
):
    dates = {
        "future": "Sat, 01 Jan 2999 00:00:00 +0000",
        "y1900": "Mon, 01 Jan 1900 00:00:00 +0000",
        "epoch": "Thu, 01 Jan 1970 00:00:00 +0000",
        "garbage": "the day after tomorrow-ish",
        "impossible": "Mon, 31 Feb 2025 25:61:00 +0000",
        "huge-year": "99999-01-01T00:00:00Z",
    }
    items = [
        doc.item(
            f"Dated {k} article",
            f"https://dates.example/{k}",
            guid=f"d-{k}",
            date=v,
            description=f"About {k}.",
        )
        for k, v in dates.items()
    ]
    http_server.route("/dates", body=doc.rss(items), content_type=RSS_TYPE)
    before = int(datetime.now(UTC).timestamp())
    out = await poll_beside_good_feed(desk, http_server, {"dates": "/dates"})
    after = int(datetime.now(UTC).timestamp())
    stored = assert_healthy(out, "dates")
    assert len(stored) == len(dates)
    for article in stored:
        assert before <= article["published_at"] <= after, article["title"]


async def test_duplicate_guids_in_one_feed_store_one_article(
    desk: Newsdesk, http_server: LoopbackServer
):
    items = [
        doc.item(
            f"Same guid version {i}",
            f"https://dup.example/{i}",
            guid="dup-guid-0001",
            description=f"Text {i} differs.",
        )
        for i in range(3)
    ] + [doc.item("Same link twice", "https://dup.example/x", guid=f"g{i}") for i in range(2)]
    http_server.route("/dups", body=doc.rss(items), content_type=RSS_TYPE)
    out = await poll_beside_good_feed(desk, http_server, {"dups": "/dups"})
    stored = assert_healthy(out, "dups")
    guids = [a["guid"] for a in stored if a["guid"]]
    urls = [a["url"] for a in stored if a["url"]]
    assert len(guids) == len(set(guids)) and len(urls) == len(set(urls))
    assert len(stored) == 2  # one per GUID group, one per repeated link
    assert sum(1 for a in stored if a["guid"] == "dup-guid-0001") == 1
    assert sum(1 for a in stored if a["url"] == "https://dup.example/x") == 1


async def test_relative_and_script_links_are_resolved_or_dropped(
    desk: Newsdesk, http_server: LoopbackServer
):
    links = {
        "relative": "/news/relative-1",
        "dot-relative": "../news/dot-2",
        "javascript": "javascript:alert(document.cookie)",
        "JavaScript-mixed-case": " JaVaScRiPt:alert(1)",
        "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript": "vbscript:msgbox(1)",
        "file": "file:///etc/passwd",
    }
    items = [
        doc.item(
            f"Link case {k}", v.replace("&", "&amp;"), guid=f"l-{k}", description=f"Body for {k}."
        )
        for k, v in links.items()
    ]
    http_server.route("/feeds/links.xml", body=doc.rss(items), content_type=RSS_TYPE)
    out = await poll_beside_good_feed(desk, http_server, {"links": "/feeds/links.xml"})
    stored = {a["title"]: a["url"] for a in assert_healthy(out, "links")}
    assert len(stored) == len(links)
    assert stored["Link case relative"] == http_server.url("/news/relative-1")
    assert stored["Link case dot-relative"] == http_server.url("/news/dot-2")
    for title, url in stored.items():
        if "relative" not in title:
            assert url is None, (title, url)  # no scheme but http(s) is ever stored


# --- nothing half-written -------------------------------------------------------


def _poison_fault(where: str) -> tuple[Any, str, object, list[int], Callable[..., Any]]:
    """A fault for the poison feed's batch: (owner, attribute, original, calls, fake)."""
    from bot.store import articles as article_store
    from bot.store import clusters as cluster_store

    calls: list[int] = []
    if where == "after-the-article-rows":
        real_insert = article_store.insert_articles

        async def insert_articles(db: Any, articles: Any, **kw: Any) -> list[int]:
            ids = await real_insert(db, articles, **kw)  # the feed's rows are written...
            if any(a.url and "poison.example" in a.url for a in articles):
                calls.append(len(ids))
                raise RuntimeError("simulated failure after the article rows")  # ...then this
            return ids

        return article_store, "insert_articles", real_insert, calls, insert_articles
    real_apply = cluster_store.apply_plan

    async def apply_plan(db: Any, plan: Any, article_ids: Any = None) -> Any:
        result = await real_apply(db, plan, article_ids)  # stories and index rows are written...
        async with db.execute(
            "SELECT COUNT(*) FROM articles WHERE url LIKE 'https://poison.example/%'"
        ) as cur:
            if (await cur.fetchone())[0]:
                calls.append(len(result))
                raise RuntimeError("simulated failure after clustering")  # ...then the fault
        return result

    return cluster_store, "apply_plan", real_apply, calls, apply_plan


@pytest.mark.parametrize("where", ["after-the-article-rows", "clusterer-after-its-writes"])
async def test_failure_mid_batch_stores_none_of_that_feeds_articles(
    desk: Newsdesk, http_server: LoopbackServer, monkeypatch, where: str
):
    items = [
        doc.item(
            f"Poison batch article {i} about the {w}",
            f"https://poison.example/{i}",
            guid=f"poison-{i}",
            description=f"Words about the {w} number {i}.",
        )
        for i, w in enumerate(["dam", "tram", "port", "mill", "mine"])
    ]
    http_server.route("/poison", body=doc.rss(items), content_type=RSS_TYPE)
    owner, name, real, calls, fake = _poison_fault(where)
    monkeypatch.setattr(owner, name, fake)
    out = await poll_beside_good_feed(desk, http_server, {"poison": "/poison"})
    assert calls  # the fault did fire, mid-batch
    assert_failed(out, "poison", "could not store its articles")
    await assert_store_consistent(desk)
    async with desk.db.execute(
        "SELECT COUNT(*) FROM articles WHERE url LIKE 'https://poison.example/%'"
    ) as cur:
        assert (await cur.fetchone())[0] == 0

    # Once the fault is gone, the next cycle stores the whole batch.
    monkeypatch.setattr(owner, name, real)
    await desk.poll_once(everything=True)  # next cycle now, as `newsdesk poll --all`
    feed = await fs.get_feed(desk.db, out.feeds["poison"].id)
    assert feed is not None and feed.consecutive_failures == 0  # last_error stays as history
    assert feed.last_success_at is not None
    assert len(await feed_articles(desk, feed.id)) == len(items)
    await assert_store_consistent(desk)


async def assert_store_consistent(nd: Newsdesk) -> None:
    """No orphan story, no dangling story id, FTS index in step, SQLite happy."""
    checks: list[tuple[str, Callable[[Any], bool]]] = [
        ("PRAGMA integrity_check", lambda v: v == "ok"),
        ("PRAGMA foreign_key_check", lambda v: v is None),
        (
            "SELECT COUNT(*) FROM stories s WHERE NOT EXISTS"
            " (SELECT 1 FROM articles a WHERE a.story_id = s.id)",
            lambda v: v == 0,
        ),
        (
            "SELECT COUNT(*) FROM articles a WHERE a.story_id IS NOT NULL AND NOT EXISTS"
            " (SELECT 1 FROM stories s WHERE s.id = a.story_id)",
            lambda v: v == 0,
        ),
    ]
    for sql, ok in checks:
        async with nd.db.execute(sql) as cur:
            row = await cur.fetchone()
        value = None if row is None else row[0]
        assert ok(value), (sql, value)
    await nd.db.execute(
        "INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)"
    )


# --- a time-boxed fuzz run is part of the suite -----------------------------------


def test_time_boxed_fuzz_run_finds_nothing():
    """``NEWSDESK_FUZZ_SECONDS=300 pytest -k fuzz_run`` runs the same harness for longer."""
    from tests.hostile.fuzz import run

    seconds = float(os.environ.get("NEWSDESK_FUZZ_SECONDS", "4"))
    summary = run(seconds=seconds)
    assert summary.failures == [], summary.failures
    assert summary.examples > 0 and set(summary.per_target) == set(summary.targets)
