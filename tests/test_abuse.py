"""Abuse: text that tries to ping or spoof, feed URLs that aim inside, leaked tokens,
search input that tries to reach SQL.

Digests here are built from a store filled through the real ingest pipeline
(feed files parsed, cleaned, clustered and stored), then rendered to the
Discord payloads the bot would post.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import ipaddress
import logging
import re
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import discord
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import cli
from bot.config import DigestChannel, load_settings
from bot.discordbot.app import run_bot
from bot.ingest.fetch import Fetcher
from bot.ingest.netguard import UnsafeUrlError, is_public_address
from bot.render.discord_embeds import (
    check_limits,
    render_digest_messages,
    render_search_page,
)
from bot.render.markdown import safe_url
from bot.search.dates import DateParseError
from bot.search.query import QueryError
from bot.services import FeedError, Newsdesk
from bot.store import DriverError
from tests.conftest import cli_env, run_newsdesk
from tests.hostile import documents as doc
from tests.hostile.net import MapResolver, install_connect_spy

if TYPE_CHECKING:
    from tests.fakediscord import FakeDiscord
    from tests.httpserver import LoopbackServer

pytest_plugins = ["tests.httpserver", "tests.fakediscord.fixtures"]

# The search tests (their stores come from ``store_url``) run on both backends (conftest).
BACKENDS = ("sqlite", "postgresql")

UTC = dt.UTC
DAY = dt.date(2025, 7, 1)
NOW = dt.datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
CHANNEL = DigestChannel(channel_id=123456789012345678, time=dt.time(12, 0), timezone="UTC")

MENTION = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>|<#\d+>")
OUR_TIMESTAMP = re.compile(r"<t:\d{9,}:R>")  # the renderer's own; "<t:0:R>" comes from an article
MASKED_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\[\]\\])*)\]\(([^)]*)\)")
UNESCAPED = re.compile(r"(?m)(?<!\\)(?:`|\|\||~~|__)|^\s*(?:#|>|-\s)")


def offline_settings(**overrides: Any):
    return load_settings(None, **overrides)


# --- hostile text through the real pipeline, rendered for Discord ----------------


def _hostile_outlet_feed() -> bytes:
    """A second outlet covering the same stories, itself named to ping."""
    items = [
        doc.item(
            "Storm hits coast &lt;@123456789012345678&gt; as winds rise",
            "https://second.example/storm",
            guid="second-storm",
            date="Tue, 01 Jul 2025 09:30:00 +0000",
            description="The storm hit the coast with winds. @here read [this](https://evil.example/2)",
        ),
        doc.item(
            "Markets rally [click](https://evil.example/3) @everyone",
            "https://second.example/markets",
            guid="second-markets",
            date="Tue, 01 Jul 2025 09:40:00 +0000",
            description="Markets rallied. ```\n@everyone\n``` ||spoiler|| > quote",
        ),
    ]
    return doc.rss(
        items,
        title="@everyone Daily &lt;@&amp;987654321098765432&gt; [News](https://evil.example/n)",
    )


async def _open_hostile_desk(tmp_path: Path, database: str | Path) -> Newsdesk:
    (tmp_path / "feeds").mkdir()
    (tmp_path / "feeds" / "hostile.xml").write_bytes(doc.hostile_text_feed())
    (tmp_path / "feeds" / "second.xml").write_bytes(_hostile_outlet_feed())
    return await Newsdesk.open(offline_settings(), database=database)


@pytest.fixture
async def hostile_desk(tmp_path: Path) -> AsyncIterator[Newsdesk]:
    nd = await _open_hostile_desk(tmp_path, tmp_path / "abuse.db")
    try:
        outcome = await nd.ingest_sources([str(tmp_path / "feeds")])
        assert outcome.report.failed == 0 and outcome.report.new == 5, outcome.report
        yield nd
    finally:
        await nd.close()


@pytest.fixture
async def hostile_search_desk(tmp_path: Path, store_url: str) -> AsyncIterator[Newsdesk]:
    """``hostile_desk`` on either backend."""
    nd = await _open_hostile_desk(tmp_path, store_url)
    try:
        outcome = await nd.ingest_sources([str(tmp_path / "feeds")])
        assert outcome.report.failed == 0 and outcome.report.new == 5, outcome.report
        yield nd
    finally:
        await nd.close()


def texts(message: dict[str, Any]) -> Iterator[str]:
    yield message.get("content") or ""
    for embed in message.get("embeds", []):
        yield embed.get("title", "")
        yield embed.get("description", "")
        yield embed.get("footer", {}).get("text", "")
        yield embed.get("author", {}).get("name", "")
        for f in embed.get("fields", []):
            yield f.get("name", "")
            yield f.get("value", "")


async def stored_urls(nd: Newsdesk) -> set[str]:
    async with nd.db.execute("SELECT url FROM articles WHERE url IS NOT NULL") as cur:
        return {safe_url(row[0]) or "" for row in await cur.fetchall()}


def assert_harmless(message: dict[str, Any], allowed_targets: set[str]) -> None:
    assert message.get("allowed_mentions", {"parse": []}) == {"parse": []}
    for text in texts(message):
        assert not MENTION.search(text), text
        assert "<t:" not in OUR_TIMESTAMP.sub("", text), text
        assert not UNESCAPED.search(text), text
        for _label, target in MASKED_LINK.findall(text):
            assert target in allowed_targets, (target, text)
        assert "](https://evil.example" not in text


async def test_digest_from_hostile_articles_cannot_ping_spoof_or_format(hostile_desk: Newsdesk):
    digest = await hostile_desk.build_digest(CHANNEL, DAY, now=NOW)
    assert len(digest.items) >= 2
    assert any(item.source_count == 2 for item in digest.items)  # "also covered" links too
    messages = render_digest_messages(digest)
    targets = await stored_urls(hostile_desk)
    assert messages
    for message in messages:
        assert message["allowed_mentions"] == {"parse": []}
        assert check_limits(message) == []
        assert_harmless(message, targets)
    joined = "\n".join(t for m in messages for t in texts(m))
    assert "evil.example" in joined  # the text is shown (escaped), just never as a link
    assert "@\u200beveryone" in joined and "Storm hits coast" in joined


async def test_search_page_of_hostile_articles_cannot_ping_or_spoof(
    hostile_search_desk: Newsdesk,
):
    hostile_desk = hostile_search_desk
    targets = await stored_urls(hostile_desk)
    shown = []
    for query in ("storm", "markets", "election", "everyone", "evil", "trusted bank"):
        page = await hostile_desk.search(query, now=NOW)
        assert page.hits, query
        embed = render_search_page(page, query=f"{query} @everyone <@1> [x](https://evil.example)")
        assert_harmless({"embeds": [embed]}, targets)
        shown.append(embed["description"])
    joined = "\n".join(shown)
    for words in ("trusted bank", "evil.example/phish", "result", "quoted", "<\u200bt:0:R"):
        assert words in joined  # every hostile title was rendered (and defused)


# --- feed URLs aiming at private, loopback and link-local addresses -----------------

PRIVATE_URLS = [
    "http://127.0.0.1/feed",
    "http://127.1/feed",
    "http://0.0.0.0/",
    "http://10.0.0.1/feed",
    "http://172.16.5.4/",
    "http://192.168.1.1/rss",
    "http://169.254.169.254/latest/meta-data/",
    "http://100.64.0.1/",
    "http://[::1]/",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[64:ff9b::a00:1]/",
    "http://localhost/",
    "http://LOCALHOST./",
    "http://feeds.localhost/",
    "http://2130706433/",  # 127.0.0.1 as one decimal number
    "http://0x7f000001/",  # ... in hex
    "http://017700000001/",  # ... in octal
    "http://intranet.test/feed.xml",  # a name that resolves privately
    "http://metadata.test/",  # a name that resolves link-local
    "http://user:s3cr3tpw@news.test/feed.xml",
    "file:///etc/passwd",
    "gopher://news.test/",
    "ftp://news.test/feed.xml",
    "javascript:alert(1)",
]

FAKE_DNS = {
    "intranet.test": ["10.1.2.3"],
    "metadata.test": ["169.254.169.254"],
    "news.test": ["93.184.216.34"],  # a public address: the name itself is fine
}


def fake_getaddrinfo(table: dict[str, list[str] | list[list[str]]]) -> Any:
    """``loop.getaddrinfo`` from a table (a list of answers is served in turn);
    numeric host forms are decoded like libc does. Never touches the network."""
    calls: dict[str, int] = {}

    async def getaddrinfo(host: str, port: Any = 0, *args: Any, **kwargs: Any) -> list[Any]:
        answers = table.get(host)
        if answers and isinstance(answers[0], list):
            n = calls[host] = calls.get(host, -1) + 1
            answers = answers[min(n, len(answers) - 1)]
        if answers is None:
            try:
                answers = [socket.inet_ntoa(socket.inet_aton(host))]
            except OSError:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known") from None
        out = []
        for ip in answers:
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            addr = (ip, port or 0, 0, 0) if family == socket.AF_INET6 else (ip, port or 0)
            out.append((family, socket.SOCK_STREAM, 6, "", addr))
        return out

    return getaddrinfo


@pytest.fixture
async def connect_spy(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    return await install_connect_spy(monkeypatch)


@pytest.fixture
async def guarded_desk(tmp_path: Path, monkeypatch, connect_spy) -> AsyncIterator[Newsdesk]:
    """A Newsdesk with the address guard on and a fake DNS."""
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(loop, "getaddrinfo", fake_getaddrinfo(FAKE_DNS))
    nd = await Newsdesk.open(offline_settings(fetch_timeout_seconds=2), database=tmp_path / "g.db")
    try:
        yield nd
    finally:
        await nd.close()


@pytest.mark.parametrize("url", PRIVATE_URLS)
async def test_add_feed_refuses_private_targets(guarded_desk: Newsdesk, connect_spy, url: str):
    with pytest.raises((UnsafeUrlError, FeedError)) as info:
        await guarded_desk.add_feed(url)
    assert str(info.value)
    assert "s3cr3tpw" not in str(info.value)  # credentials are never echoed
    assert await guarded_desk.list_feeds() == []
    assert connect_spy == []  # refused before any connection


async def test_add_feed_refuses_dns_rebinding(guarded_desk: Newsdesk, monkeypatch, connect_spy):
    """Public when checked, private when connecting: the connect-time guard refuses it."""
    loop = asyncio.get_running_loop()
    monkeypatch.setattr(
        loop, "getaddrinfo", fake_getaddrinfo({"rebind.test": [["93.184.216.34"], ["10.0.0.8"]]})
    )
    with pytest.raises(FeedError, match="blocked: rebind.test resolves only to private"):
        await guarded_desk.add_feed("http://rebind.test/feed.xml")
    assert await guarded_desk.list_feeds() == []
    assert connect_spy == []


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://127.0.0.1:9/admin",
        "http://[::1]/",
        "http://intranet.test/feed.xml",
        "http://localhost/",
    ],
)
async def test_add_feed_refuses_a_redirect_to_a_private_target(
    guarded_desk: Newsdesk, http_server: LoopbackServer, monkeypatch, connect_spy, target: str
):
    """news.test (public in DNS, served by the loopback server) redirects inside."""

    def fetcher() -> Fetcher:  # the loopback test server plays the public host
        return Fetcher(
            user_agent="Newsdesk-test",
            total_timeout=2,
            allow_private=False,
            ip_allowed=lambda ip: ip == "127.0.0.1" or is_public_address(ip),
            inner_resolver=MapResolver({"news.test": ["127.0.0.1"], "intranet.test": ["10.1.2.3"]}),
        )

    monkeypatch.setattr(guarded_desk, "fetcher", fetcher)
    if target.startswith("http://127.0.0.1"):
        target = target.replace(":9", f":{http_server.port}")
        # 127.0.0.1 plays a public host here; use another loopback address as "this machine"
        target = target.replace("127.0.0.1", "127.0.0.2")
    http_server.redirect("/feed.xml", target)
    with pytest.raises(FeedError, match="blocked"):
        await guarded_desk.add_feed(f"http://news.test:{http_server.port}/feed.xml")
    assert http_server.count("/feed.xml") == 1
    assert set(connect_spy) == {"127.0.0.1"}
    assert all(ipaddress.ip_address(ip).is_loopback for ip in connect_spy)
    assert await guarded_desk.list_feeds() == []


# --- the token never leaves in logs, errors or config check --------------------------

ODD_TOKEN = "odd-shaped-secret-" + "k3y" * 8  # not Discord-shaped: the regex cannot catch it


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_config_check_never_prints_the_token(tmp_path: Path, fmt: str):
    env = cli_env(DISCORD_TOKEN=ODD_TOKEN, NEWSDESK_LOG_LEVEL="DEBUG", NEWSDESK_LOG_FORMAT=fmt)
    done = run_newsdesk("config", "check", cwd=tmp_path, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert ODD_TOKEN not in done.stdout + done.stderr
    assert "********" in done.stdout


def test_bad_config_error_never_prints_the_token(tmp_path: Path):
    env = cli_env(DISCORD_TOKEN=ODD_TOKEN, NEWSDESK_POLL_INTERVAL_MINUTES="1")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "NEWSDESK_POLL_INTERVAL_MINUTES" in done.stderr
    assert ODD_TOKEN not in done.stdout + done.stderr


async def test_failed_run_logs_nothing_secret(
    fake_discord: FakeDiscord, tmp_path: Path, monkeypatch, restore_logging
):
    """`newsdesk run` with a token Discord refuses, logging at DEBUG: the token appears in
    no log line, traceback or error, even where a library would print it."""
    monkeypatch.setenv("DISCORD_TOKEN", ODD_TOKEN)
    stderr = io.StringIO()  # the log handler writes to sys.stderr; this one is never closed
    monkeypatch.setattr(sys, "stderr", stderr)
    settings = offline_settings(log_level="DEBUG")
    cli.setup_logging(settings)
    nd = await Newsdesk.open(settings, database=tmp_path / "run.db")
    try:
        with pytest.raises(discord.LoginFailure) as info:
            await run_bot(settings, nd)
        log = logging.getLogger("abuse.test")
        log.debug("headers: {'Authorization': 'Bot %s'}", ODD_TOKEN)  # as a library might
        try:
            raise RuntimeError(f"login failed for {ODD_TOKEN}")
        except RuntimeError:
            log.exception("run failed")
    finally:
        await nd.close()
    err = stderr.getvalue()
    assert str(info.value) and ODD_TOKEN not in str(info.value)
    assert "discord.client: logging in" in err  # discord.py logged the failed login
    assert "[redacted]" in err and "run failed" in err
    assert ODD_TOKEN not in err


# --- search input never reaches SQL or FTS5 syntax --------------------------------------

SQLISH = [
    "'; DROP TABLE articles; --",
    '"; DROP TABLE articles; --',
    "storm'); DELETE FROM articles; --",
    'x" OR 1=1 --',
    "title:storm) OR (1=1",
    "NEAR(storm markets, 0)",
    "storm* OR *",
    "{title body}: storm",
    "^storm",
    "articles_fts MATCH 'x'",
    "\x00storm",
    "source:%' OR '1'='1",
    "date:'; DROP TABLE feeds; --",
]


@pytest.fixture
def loop_and_desk(
    tmp_path: Path, store_url: str
) -> Iterator[tuple[asyncio.AbstractEventLoop, Newsdesk]]:
    """A Newsdesk (either backend) on its own event loop, for synchronous hypothesis tests."""
    loop = asyncio.new_event_loop()
    path = tmp_path / "feeds.xml"
    path.write_bytes(doc.hostile_text_feed())
    nd = loop.run_until_complete(Newsdesk.open(offline_settings(), database=store_url))
    loop.run_until_complete(nd.ingest_sources([str(path)]))
    try:
        yield loop, nd
    finally:
        loop.run_until_complete(nd.close())
        loop.close()


def _count(loop: asyncio.AbstractEventLoop, nd: Newsdesk, table: str) -> int:
    async def count() -> int:
        async with nd.db.execute(f"SELECT COUNT(*) FROM {table}") as cur:
            return (await cur.fetchone())[0]

    return loop.run_until_complete(count())


def _search(loop, nd: Newsdesk, text: str, source: str | None, dates: str | None) -> None:
    """One search as the bot or the CLI runs it: a page, or a user-facing error."""
    try:
        date_from = date_to = None
        if dates is not None:
            date_from, date_to = nd.parse_dates(dates, now=NOW)
        page = loop.run_until_complete(
            nd.search(text, source=source, date_from=date_from, date_to=date_to, now=NOW)
        )
    except (QueryError, DateParseError) as exc:
        assert str(exc)
        return
    assert page.total >= len(page.hits)


@pytest.mark.parametrize("text", SQLISH)
def test_sql_and_fts_syntax_in_search_is_only_text(loop_and_desk, backend: str, text: str):
    loop, nd = loop_and_desk
    tables = ["articles", "feeds", "stories"]
    if backend == "sqlite":
        tables.append("articles_fts")  # PostgreSQL's index is a column of articles
    before = {t: _count(loop, nd, t) for t in tables}
    for source, dates in ((None, None), (text, None), (None, text), (text, text)):
        _search(loop, nd, text, source, dates)
    after = {t: _count(loop, nd, t) for t in before}
    assert after == before and before["articles"] == 3


QUERY = st.one_of(
    st.text(max_size=200),
    st.lists(
        st.sampled_from(SQLISH + ["storm", "OR", "NOT", "-", '"', "*", "(", ")", ":"]), max_size=12
    ).map(" ".join),
)


def test_any_search_input_gives_a_page_or_a_clear_error(loop_and_desk):
    loop, nd = loop_and_desk

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(text=QUERY, source=st.none() | QUERY, dates=st.none() | QUERY)
    def check(text: str, source: str | None, dates: str | None) -> None:
        try:
            _search(loop, nd, text, source, dates)
        except DriverError as exc:  # the property: never a database error
            raise AssertionError(
                f"database error for {text!r}/{source!r}/{dates!r}: {exc}"
            ) from exc

    check()
    assert _count(loop, nd, "articles") == 3
