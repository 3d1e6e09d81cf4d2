"""The SSRF guard: address policy, resolver and URL validation (no network)."""

from __future__ import annotations

import asyncio
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.ingest.netguard import (
    BlockedAddressError,
    GuardedResolver,
    UnsafeUrlError,
    check_url_target,
    is_public_address,
    strip_userinfo,
    validate_feed_url,
)


@pytest.mark.parametrize(
    "ip",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.1.2.3",
        "172.16.0.1",
        "172.31.255.255",
        "192.168.0.1",
        "169.254.169.254",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.1",
        "239.255.255.250",
        "100.64.0.1",
        "100.127.255.254",
        "192.0.2.1",
        "198.18.0.1",
        "240.0.0.1",
        "::1",
        "::",
        "fe80::1",
        "fe80::1%eth0",
        "fc00::1",
        "fd12:3456::1",
        "fec0::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2001:db8::1",  # documentation
        "not an ip",
        "",
    ],
)
def test_non_public_addresses_are_refused(ip):
    assert not is_public_address(ip)


@pytest.mark.parametrize(
    "ip",
    [
        "8.8.8.8",
        "93.184.215.14",
        "1.1.1.1",
        "100.63.255.255",
        "100.128.0.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
    ],
)
def test_public_addresses_are_allowed(ip):
    assert is_public_address(ip)


class FakeResolver(AbstractResolver):
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []
        self.closed = False

    async def resolve(self, host, port=0, family=socket.AF_INET) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=family, proto=0, flags=0)
            for ip in self.table[host]
        ]

    async def close(self) -> None:
        self.closed = True


async def test_resolver_filters_private_addresses():
    inner = FakeResolver({"mixed.test": ["10.0.0.1", "8.8.8.8", "::1", "2606:4700::1"]})
    got = await GuardedResolver(inner).resolve("mixed.test", 443)
    assert [r["host"] for r in got] == ["8.8.8.8", "2606:4700::1"]


async def test_resolver_refuses_names_that_only_resolve_privately():
    inner = FakeResolver({"intranet.test": ["192.168.1.10", "fd00::5"]})
    with pytest.raises(BlockedAddressError, match="intranet.test resolves only to private"):
        await GuardedResolver(inner).resolve("intranet.test", 80)


async def test_resolver_allow_private_passes_everything_through():
    inner = FakeResolver({"intranet.test": ["192.168.1.10"]})
    got = await GuardedResolver(inner, allow_private=True).resolve("intranet.test", 80)
    assert [r["host"] for r in got] == ["192.168.1.10"]


@pytest.mark.parametrize("allow", [True, False])
async def test_resolver_never_asks_dns_about_invalid_names(allow):
    inner = FakeResolver({})
    with pytest.raises(socket.gaierror):
        await GuardedResolver(inner, allow_private=allow).resolve("feed.example.invalid", 80)
    assert inner.asked == []


async def test_resolver_checks_every_resolution():
    """DNS rebinding: a name that turns private later is refused then."""
    inner = FakeResolver({"rebind.test": ["8.8.8.8"]})
    guard = GuardedResolver(inner)
    assert (await guard.resolve("rebind.test"))[0]["host"] == "8.8.8.8"
    inner.table["rebind.test"] = ["127.0.0.1"]
    with pytest.raises(BlockedAddressError):
        await guard.resolve("rebind.test")


async def test_resolver_with_the_real_default_blocks_localhost():
    # localhost comes from /etc/hosts: no DNS traffic.
    guard = GuardedResolver()
    try:
        with pytest.raises(BlockedAddressError):
            await guard.resolve("localhost", 80)
    finally:
        await guard.close()


async def test_resolver_close_closes_inner():
    inner = FakeResolver({})
    await GuardedResolver(inner).close()
    assert inner.closed


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/feed", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("javascript:alert(1)", "http"),
        ("http:///feed", "no host"),
        ("example.com/feed", "must start with http"),
        ("", "must start with http"),
        ("http://user:pw@example.com/feed", "user name or password"),
        ("http://127.0.0.1/feed", "private or reserved"),
        ("http://[::1]:8080/feed", "private or reserved"),
        ("http://[::ffff:192.168.0.1]/", "private or reserved"),
        ("http://169.254.169.254/latest/meta-data/", "private or reserved"),
        ("http://localhost:8000/", "this machine"),
        ("http://app.localhost/", "this machine"),
        ("http://nothing-here.invalid/rss", "does not exist"),
        ("http://exa mple.com/", "not a valid host name"),
        ("http://-bad-.example/", "not a valid host name"),
        ("http://[::1/", "not a valid URL"),
    ],
)
async def test_validate_feed_url_rejects(url, message):
    with pytest.raises(UnsafeUrlError, match=message):
        await validate_feed_url(url, allow_private=False)


async def test_validate_feed_url_accepts_public_literal_without_dns(monkeypatch):
    async def no_dns(*_a, **_k):
        raise AssertionError("literal IPs must not be resolved")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", no_dns)
    got = await validate_feed_url("  http://93.184.215.14/feed.xml#top ", allow_private=False)
    assert got == "http://93.184.215.14/feed.xml"


async def test_validate_feed_url_resolves_names(monkeypatch):
    answers = {
        "news.example.com": [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", 0))],
        "intranet.example.com": [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 0))],
    }

    async def fake_getaddrinfo(host, port, **_kw):
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return answers[host]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", fake_getaddrinfo)
    assert await validate_feed_url("https://news.example.com/rss", allow_private=False) == (
        "https://news.example.com/rss"
    )
    with pytest.raises(UnsafeUrlError, match="points to a private"):
        await validate_feed_url("https://intranet.example.com/rss", allow_private=False)
    with pytest.raises(UnsafeUrlError, match="could not find the host"):
        await validate_feed_url("https://gone.example.com/rss", allow_private=False)


async def test_validate_feed_url_allow_private():
    assert await validate_feed_url("http://127.0.0.1:8080/f", allow_private=True) == (
        "http://127.0.0.1:8080/f"
    )
    with pytest.raises(UnsafeUrlError, match="user name or password"):
        await validate_feed_url("http://a:b@127.0.0.1/f", allow_private=True)


def test_check_url_target_uses_the_given_policy():
    url = URL("http://127.0.0.1/x")
    with pytest.raises(UnsafeUrlError):
        check_url_target(url, allow_private=False)
    check_url_target(url, allow_private=False, is_allowed=lambda ip: ip == "127.0.0.1")
    check_url_target(url, allow_private=True)


def test_strip_userinfo():
    assert strip_userinfo("https://bob:hunter2@example.com/f?x=1") == "https://example.com/f?x=1"
    assert strip_userinfo("https://example.com/f") == "https://example.com/f"
