"""Fetcher behaviour against the loopback server (never any other address)."""

from __future__ import annotations

import asyncio
import gzip
import ipaddress
import socket
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from bot.ingest.fetch import Fetcher, FetchError, parse_retry_after
from bot.ingest.netguard import is_public_address
from tests.hostile.net import MapResolver

if TYPE_CHECKING:
    from tests.httpserver import LoopbackServer

pytest_plugins = ["tests.httpserver"]  # the http_server fixture

UA = "Newsdesk-test/0.1 (+https://github.com/newsdesk; tests)"
RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title></channel></rss>"


def fetcher(**kw) -> Fetcher:
    kw.setdefault("allow_private", True)
    kw.setdefault("user_agent", UA)
    return Fetcher(**kw)


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped, built without holding them all."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    parts = [comp.compress(block) for _ in range(size >> 20)]
    parts.append(comp.flush())
    return b"".join(parts)


@pytest.fixture
async def connect_spy(monkeypatch):
    """Record every address the event loop connects to; refuse non-loopback.

    A safety net for the SSRF tests: even if the guard were broken, no
    packet would leave this machine, and the test would see the attempt.
    """
    loop = asyncio.get_running_loop()
    real = loop.sock_connect
    seen: list[str] = []

    async def spy(sock: socket.socket, address):  # type: ignore[no-untyped-def]
        host = address[0]
        seen.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            raise OSError("test safety net: refused non-loopback connect")
        return await real(sock, address)

    monkeypatch.setattr(loop, "sock_connect", spy)
    return seen


# --- basics and politeness ------------------------------------------------


async def test_plain_get_sends_polite_headers(http_server: LoopbackServer):
    http_server.route(
        "/feed.xml",
        body=RSS,
        headers={"ETag": '"v1"', "Last-Modified": "Tue, 01 Jul 2025 10:00:00 GMT"},
        content_type="application/rss+xml",
    )
    async with fetcher() as f:
        res = await f.fetch(http_server.url("/feed.xml"))
    assert res.status == 200 and res.body == RSS and not res.not_modified
    assert res.etag == '"v1"' and res.last_modified == "Tue, 01 Jul 2025 10:00:00 GMT"
    assert res.content_type.startswith("application/rss+xml")
    assert res.url == http_server.url("/feed.xml")
    sent = http_server.last_headers("/feed.xml")
    assert sent["User-Agent"] == UA
    assert "application/rss+xml" in sent["Accept"]
    assert sent["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in sent and "If-Modified-Since" not in sent


async def test_conditional_get_with_etag(http_server: LoopbackServer):
    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"abc"':
            return web.Response(status=304, headers={"ETag": '"abc"'})
        return web.Response(body=RSS, headers={"ETag": '"abc"'})

    http_server.handler("/f", handler)
    async with fetcher() as f:
        first = await f.fetch(http_server.url("/f"))
        second = await f.fetch(http_server.url("/f"), etag=first.etag)
    assert first.body == RSS and first.etag == '"abc"'
    assert second.not_modified and second.status == 304 and second.body is None
    assert http_server.last_headers("/f")["If-None-Match"] == '"abc"'
    assert http_server.count("/f") == 2


async def test_conditional_get_with_last_modified(http_server: LoopbackServer):
    stamp = "Wed, 02 Jul 2025 08:00:00 GMT"

    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-Modified-Since") == stamp:
            return web.Response(status=304)
        return web.Response(body=RSS, headers={"Last-Modified": stamp})

    http_server.handler("/f", handler)
    async with fetcher() as f:
        first = await f.fetch(http_server.url("/f"))
        second = await f.fetch(http_server.url("/f"), last_modified=first.last_modified)
    assert not first.not_modified and first.last_modified == stamp
    assert second.not_modified and second.body is None


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # RFC 9110 deflate: zlib wrapper
        ("deflate", lambda b: zlib.compress(b, wbits=-15)),  # raw deflate, seen in the wild
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw"],
)
async def test_compressed_bodies_are_decoded(http_server: LoopbackServer, encoding, encode):
    payload = RSS * 200
    http_server.route("/c", body=encode(payload), headers={"Content-Encoding": encoding})
    async with fetcher() as f:
        res = await f.fetch(http_server.url("/c"))
    assert res.body == payload


async def test_broken_gzip_is_a_transient_error(http_server: LoopbackServer):
    http_server.route("/c", body=b"not gzip at all" * 10, headers={"Content-Encoding": "gzip"})
    async with fetcher() as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(http_server.url("/c"))
    assert not info.value.permanent


# --- size caps ------------------------------------------------------------


async def test_gzip_bomb_is_stopped_with_bounded_memory(http_server: LoopbackServer):
    bomb = gzip_bomb(64 << 20)  # 64 MiB of zeros -> ~65 KB on the wire
    assert len(bomb) < 100_000
    http_server.route("/bomb", body=bomb, headers={"Content-Encoding": "gzip"})
    cap = 1_000_000
    async with fetcher(max_bytes=cap) as f:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError, match="limit") as info:
                await f.fetch(http_server.url("/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert info.value.permanent
    # Everything the client and the in-process server allocated stayed a
    # small multiple of the cap, far below the 64 MiB the bomb expands to.
    assert peak < 6 * cap, f"peak {peak:,} bytes"


async def test_body_over_cap_with_content_length(http_server: LoopbackServer):
    http_server.route("/big", body=b"x" * 5000)
    async with fetcher(max_bytes=4000) as f:
        with pytest.raises(FetchError, match="5,000 bytes, over the 4,000-byte limit"):
            await f.fetch(http_server.url("/big"))


async def test_body_over_cap_without_content_length(http_server: LoopbackServer):
    async def chunked(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        for _ in range(50):
            await resp.write(b"y" * 1000)
        await resp.write_eof()
        return resp

    http_server.handler("/stream", chunked)
    async with fetcher(max_bytes=4000) as f:
        with pytest.raises(FetchError, match="over the 4,000-byte limit"):
            await f.fetch(http_server.url("/stream"))
    async with fetcher(max_bytes=50_000) as f:  # exactly at the cap is fine
        assert len((await f.fetch(http_server.url("/stream"))).body) == 50_000


# --- time limits ------------------------------------------------------------


async def test_endless_slow_stream_hits_total_timeout(http_server: LoopbackServer):
    async def trickle(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        await resp.prepare(request)
        for _ in range(100):  # bounded: 10 s at most, far beyond the client's limit
            if http_server.stopping.is_set():
                break
            await resp.write(b"<")
            await asyncio.sleep(0.1)
        return resp

    http_server.handler("/slow", trickle)
    async with fetcher(total_timeout=1, read_timeout=0.5, connect_timeout=0.5) as f:
        with pytest.raises(FetchError, match="timed out") as info:
            await f.fetch(http_server.url("/slow"))
    assert not info.value.permanent


@pytest.mark.parametrize(("read", "expected"), [(0.3, "waiting for data"), (5, "after 1s")])
async def test_server_that_never_answers(http_server: LoopbackServer, read, expected):
    async def hang(_request: web.Request) -> web.Response:
        await asyncio.wait_for(http_server.stopping.wait(), timeout=10)
        return web.Response(text="too late")

    http_server.handler("/hang", hang)
    async with fetcher(total_timeout=1, read_timeout=read, connect_timeout=0.5) as f:
        with pytest.raises(FetchError, match=f"timed out.*{expected}"):
            await f.fetch(http_server.url("/hang"))


async def test_tcp_server_that_accepts_and_stays_silent():
    """A raw socket that never speaks HTTP at all."""
    held: list[asyncio.StreamWriter] = []

    async def silent(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        held.append(w)

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with fetcher(total_timeout=0.8, read_timeout=5) as f:
            with pytest.raises(FetchError, match="timed out"):
                await f.fetch(f"http://127.0.0.1:{port}/")
    finally:
        for w in held:
            w.close()
        server.close()
        await server.wait_closed()


# --- redirects ------------------------------------------------------------


async def test_redirects_are_followed_to_the_final_url(http_server: LoopbackServer):
    http_server.redirect("/old", "/mid", status=301)
    http_server.redirect("/mid", http_server.url("/new"), status=307)
    http_server.route("/new", body=RSS)
    async with fetcher() as f:
        res = await f.fetch(http_server.url("/old"))
    assert res.url == http_server.url("/new") and res.body == RSS
    assert http_server.last_headers("/new")["User-Agent"] == UA


async def test_redirect_loop_is_refused(http_server: LoopbackServer):
    http_server.redirect("/a", "/b")
    http_server.redirect("/b", "/a")
    async with fetcher() as f:
        with pytest.raises(FetchError, match="redirect loop") as info:
            await f.fetch(http_server.url("/a"))
    assert info.value.permanent
    assert http_server.count("/a") == 1 and http_server.count("/b") == 1


async def test_too_many_redirects(http_server: LoopbackServer):
    for i in range(10):
        http_server.redirect(f"/r{i}", f"/r{i + 1}")
    async with fetcher(max_redirects=3) as f:
        with pytest.raises(FetchError, match="too many redirects"):
            await f.fetch(http_server.url("/r0"))
    assert [http_server.count(f"/r{i}") for i in range(5)] == [1, 1, 1, 1, 0]


async def test_redirect_without_location(http_server: LoopbackServer):
    http_server.route("/r", status=302)
    async with fetcher() as f:
        with pytest.raises(FetchError, match="without a Location"):
            await f.fetch(http_server.url("/r"))


# --- the address guard ------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:10.0.0.1]/",
        "http://[fd00::1]/",
        "http://100.64.0.1/",
        "http://localhost/",
        "file:///etc/passwd",
    ],
)
async def test_redirect_to_private_address_is_refused_before_connecting(
    http_server: LoopbackServer, connect_spy, target
):
    # Treat the loopback test server as if it were a public host.
    def policy(ip: str) -> bool:
        return ip == "127.0.0.1" or is_public_address(ip)

    http_server.redirect("/go", target)
    async with fetcher(allow_private=False, ip_allowed=policy) as f:
        with pytest.raises(FetchError, match="blocked") as info:
            await f.fetch(http_server.url("/go"))
    assert info.value.permanent
    assert http_server.count("/go") == 1
    assert connect_spy and set(connect_spy) == {"127.0.0.1"}


async def test_redirect_to_name_resolving_privately_is_refused(
    http_server: LoopbackServer, connect_spy
):
    resolver = MapResolver({"rebind.test": ["10.0.0.1", "192.168.1.1"]})

    def policy(ip: str) -> bool:
        return ip == "127.0.0.1" or is_public_address(ip)

    http_server.redirect("/go", f"http://rebind.test:{http_server.port}/x")
    async with fetcher(allow_private=False, ip_allowed=policy, inner_resolver=resolver) as f:
        with pytest.raises(FetchError, match="blocked: rebind.test resolves only to private"):
            await f.fetch(http_server.url("/go"))
    assert resolver.asked == ["rebind.test"]
    assert set(connect_spy) == {"127.0.0.1"}


async def test_private_addresses_of_a_name_are_filtered_out(
    http_server: LoopbackServer, connect_spy
):
    """A name with one allowed and one private address connects only to the former."""
    resolver = MapResolver({"mixed.test": ["10.0.0.1", "127.0.0.1"]})

    def policy(ip: str) -> bool:
        return ip == "127.0.0.1" or is_public_address(ip)

    http_server.route("/ok", body=RSS)
    async with fetcher(allow_private=False, ip_allowed=policy, inner_resolver=resolver) as f:
        res = await f.fetch(f"http://mixed.test:{http_server.port}/ok")
    assert res.body == RSS
    assert connect_spy == ["127.0.0.1"]


async def test_loopback_refused_when_private_not_allowed(http_server: LoopbackServer, connect_spy):
    http_server.route("/feed", body=RSS)
    resolver = MapResolver({"feeds.example.test": ["127.0.0.1"]})
    async with fetcher(allow_private=False, inner_resolver=resolver) as f:
        for url in (
            http_server.url("/feed"),
            f"http://localhost:{http_server.port}/feed",
            f"http://[::ffff:127.0.0.1]:{http_server.port}/feed",
            f"http://feeds.example.test:{http_server.port}/feed",  # via the resolver
        ):
            with pytest.raises(FetchError, match="blocked") as info:
                await f.fetch(url)
            assert info.value.permanent
    assert http_server.count("/feed") == 0
    assert connect_spy == []


async def test_credentials_never_appear_in_messages(http_server: LoopbackServer):
    http_server.route("/gone", status=404)
    async with fetcher() as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(f"http://alice:s3cret@127.0.0.1:{http_server.port}/gone")
    assert "s3cret" not in str(info.value) and "alice" not in str(info.value)
    async with fetcher(allow_private=False) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(f"http://alice:s3cret@127.0.0.1:{http_server.port}/x")
    assert "s3cret" not in str(info.value)


# --- status codes and network failures --------------------------------------


@pytest.mark.parametrize(
    ("status", "permanent"),
    [
        (400, True),
        (401, True),
        (403, True),
        (404, True),
        (410, True),
        (451, True),
        (408, False),
        (429, False),
        (500, False),
        (502, False),
        (503, False),
        (504, False),
    ],
)
async def test_http_errors_are_classified(http_server: LoopbackServer, status, permanent):
    http_server.route("/s", body=b"nope", status=status)
    async with fetcher() as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(http_server.url("/s"))
    assert info.value.status == status
    assert info.value.permanent is permanent
    assert str(info.value)  # a message for the user


async def test_429_with_retry_after_seconds(http_server: LoopbackServer):
    http_server.route("/s", status=429, headers={"Retry-After": "120"})
    async with fetcher() as f:
        with pytest.raises(FetchError, match="too often") as info:
            await f.fetch(http_server.url("/s"))
    assert info.value.retry_after == 120 and not info.value.permanent


async def test_503_with_retry_after_http_date(http_server: LoopbackServer):
    when = datetime.now(UTC) + timedelta(minutes=10)
    http_server.route("/s", status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    async with fetcher() as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(http_server.url("/s"))
    assert 500 < info.value.retry_after <= 600


def test_parse_retry_after_forms():
    now = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now=now) == 30
    assert parse_retry_after("Tue, 01 Jul 2025 12:05:00 GMT", now=now) == 300
    assert parse_retry_after("Tue, 01 Jul 2025 11:00:00 GMT", now=now) == 0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after(None) is None


async def test_dns_failure_is_transient_and_clear():
    async with fetcher(allow_private=False) as f:
        with pytest.raises(FetchError, match="could not resolve host no-such-feed.invalid") as i:
            await f.fetch("http://no-such-feed.invalid/rss")
    assert not i.value.permanent


async def test_unknown_name_from_the_resolver_is_a_dns_error():
    resolver = MapResolver({})
    async with fetcher(allow_private=False, inner_resolver=resolver) as f:
        with pytest.raises(FetchError, match="could not resolve host gone.test") as info:
            await f.fetch("https://gone.test/feed")
    assert resolver.asked == ["gone.test"] and not info.value.permanent


async def test_connection_refused_is_transient():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))  # bound but not listening: connect is refused
    port = sock.getsockname()[1]
    try:
        async with fetcher() as f:
            with pytest.raises(FetchError, match="could not connect") as info:
                await f.fetch(f"http://127.0.0.1:{port}/")
    finally:
        sock.close()
    assert not info.value.permanent


async def test_tls_failure_has_a_clear_message(http_server: LoopbackServer):
    # An https URL to a plain-HTTP server: the TLS handshake cannot succeed.
    async with fetcher(connect_timeout=2, total_timeout=3) as f:
        with pytest.raises(FetchError) as info:
            await f.fetch(f"https://127.0.0.1:{http_server.port}/")
    assert "TLS" in str(info.value) or "closed the connection" in str(info.value)
    assert not info.value.permanent


async def test_bad_scheme_and_bad_url():
    async with fetcher() as f:
        with pytest.raises(FetchError, match="only http and https"):
            await f.fetch("ftp://example.com/feed")
        with pytest.raises(FetchError, match="no host"):
            await f.fetch("http:///feed")


# --- per-host limit ---------------------------------------------------------


async def test_per_host_concurrency_is_limited(http_server: LoopbackServer):
    active = 0
    peak = 0

    async def slowish(_request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.05)
        active -= 1
        return web.Response(body=RSS)

    http_server.handler("/p", slowish)
    async with fetcher(per_host_limit=2) as f:
        results = await asyncio.gather(*(f.fetch(http_server.url("/p")) for _ in range(6)))
    assert all(r.body == RSS for r in results)
    assert http_server.count("/p") == 6
    assert peak == 2


async def test_fetch_requires_an_open_fetcher():
    f = fetcher()
    with pytest.raises(RuntimeError, match="not open"):
        await f.fetch("http://127.0.0.1/")


def test_user_agent_is_required():
    with pytest.raises(ValueError):
        Fetcher(user_agent=" ")
