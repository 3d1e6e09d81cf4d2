"""Keeping outgoing requests away from private networks (SSRF guard).

Feed URLs come from Discord users, so a URL may point at the host itself,
the LAN or a cloud metadata service (``169.254.169.254``). Three layers:

* :func:`is_public_address` says whether one IP address may be contacted.
* :class:`GuardedResolver` wraps aiohttp's resolver and drops every
  non-public address a name resolves to; when nothing is left it raises
  :class:`BlockedAddressError`. aiohttp calls it at connect time, for every
  connection (so for every redirect hop), and connects only to what it
  returned, which closes DNS rebinding.
* aiohttp does not call the resolver for IP-literal hosts, so
  :func:`check_url_target` checks those; the fetcher calls it before each
  request and redirect hop.

:func:`validate_feed_url` is the friendly up-front check for a URL a user
typed (``/feed add``).
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Callable

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from yarl import URL

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_UNIQUE_LOCAL = ipaddress.ip_network("fc00::/7")
# RFC 6761 special-use names that must never reach a real DNS server.
_INVALID_SUFFIXES = (".invalid",)
_LOOPBACK_SUFFIXES = (".localhost",)
_HOSTNAME = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)(\.(?!-)[a-z0-9_-]{1,63}(?<!-))*\.?$", re.I)


class BlockedAddressError(OSError):
    """A host resolves only to addresses we refuse to contact."""


class UnsafeUrlError(ValueError):
    """A URL we will not fetch; the message is safe to show the user."""


def is_public_address(ip: str | IPAddress) -> bool:
    """True when ``ip`` is a globally routable unicast address.

    Refuses private, loopback, link-local, multicast, reserved, unspecified,
    CGNAT (100.64/10), site-local and unique-local (fc00::/7) addresses,
    and IPv6 forms that embed such an IPv4 address (IPv4-mapped, NAT64,
    6to4, Teredo). Unparseable input is not public.
    """
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0] if isinstance(ip, str) else ip)
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(addr)
        if embedded is not None:
            return is_public_address(embedded)
        if addr.is_site_local or addr in _UNIQUE_LOCAL:
            return False
    elif addr in _CGNAT:
        return False
    if (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    ):
        return False
    return addr.is_global


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address hidden inside an IPv6 one, if it is a known wrapper."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr in _NAT64:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr.sixtofour is not None:
        return addr.sixtofour
    if addr.teredo is not None:
        return addr.teredo[1]
    return None


def host_for_display(url: str | URL) -> str:
    """The host of ``url`` (never credentials), for messages."""
    try:
        return URL(str(url)).host or "?"
    except (ValueError, TypeError):
        return "?"


def strip_userinfo(url: str | URL) -> str:
    """``url`` without ``user:password@``, safe to log or show."""
    try:
        parsed = URL(str(url))
    except (ValueError, TypeError):
        return "<invalid URL>"
    if parsed.user is None and parsed.password is None:
        return str(parsed)
    return str(parsed.with_user(None))


def _literal_ip(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _is_special_name(host: str, suffixes: tuple[str, ...]) -> bool:
    name = host.rstrip(".").lower()
    return any(name == s[1:] or name.endswith(s) for s in suffixes)


def check_url_target(
    url: URL,
    *,
    allow_private: bool,
    is_allowed: Callable[[str], bool] = is_public_address,
) -> None:
    """Refuse a URL whose scheme or IP-literal host we must not contact.

    Hostnames are left to :class:`GuardedResolver` (checked at connect
    time). Raises :class:`UnsafeUrlError`.
    """
    if url.scheme not in ("http", "https"):
        raise UnsafeUrlError(f"only http and https URLs can be fetched (got {url.scheme!r})")
    host = url.host
    if not host:
        raise UnsafeUrlError("the URL has no host name")
    if allow_private:
        return
    ip = _literal_ip(host)
    if ip is not None and not is_allowed(str(ip)):
        raise UnsafeUrlError(f"{host} is a private or reserved address; refusing to fetch it")
    if _is_special_name(host, _LOOPBACK_SUFFIXES) or host.rstrip(".").lower() == "localhost":
        raise UnsafeUrlError(f"{host} is this machine; refusing to fetch it")


class GuardedResolver(AbstractResolver):
    """aiohttp resolver that only hands out public addresses.

    Wraps another resolver (aiohttp's default unless given). With
    ``allow_private=True`` it only adds the RFC 6761 handling of
    ``.invalid`` (never sent to DNS).
    """

    def __init__(
        self,
        inner: AbstractResolver | None = None,
        *,
        allow_private: bool = False,
        is_allowed: Callable[[str], bool] | None = None,
    ) -> None:
        self._inner = inner if inner is not None else DefaultResolver()
        self._allow_private = allow_private
        self._is_allowed = is_allowed or is_public_address

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """Resolve ``host``, keeping only addresses we may contact."""
        if _is_special_name(host, _INVALID_SUFFIXES):
            raise socket.gaierror(socket.EAI_NONAME, "name does not exist (.invalid)")
        results = await self._inner.resolve(host, port, family)
        if self._allow_private:
            return results
        kept = [r for r in results if self._is_allowed(r["host"])]
        if not kept:
            raise BlockedAddressError(
                f"{host} resolves only to private or reserved addresses; refusing to connect"
            )
        return kept

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()


async def validate_feed_url(url: str, *, allow_private: bool, resolve: bool = True) -> str:
    """Check a user-supplied feed URL and return it normalised.

    http/https only, a host, no credentials, and (unless ``allow_private``)
    at least one public address (``resolve=False``: the host name is not
    looked up; the fetcher refuses private addresses at connect time anyway). Raises :class:`UnsafeUrlError` with a
    message fit to show the user.
    """
    text = (url or "").strip()
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
        raise UnsafeUrlError("the URL holds control characters")
    try:
        parsed = URL(text)
    except (ValueError, TypeError) as exc:
        raise UnsafeUrlError("that is not a valid URL") from exc
    if not parsed.scheme:
        raise UnsafeUrlError("the URL must start with http:// or https://")
    if parsed.user is not None or parsed.password is not None:
        raise UnsafeUrlError("URLs with a user name or password are not accepted")
    check_url_target(parsed, allow_private=allow_private)
    host = parsed.host or ""
    if _literal_ip(host) is None and not _HOSTNAME.match(parsed.raw_host or ""):
        raise UnsafeUrlError(f"{host!r} is not a valid host name")
    if _is_special_name(host, _INVALID_SUFFIXES):
        raise UnsafeUrlError(f"{host} does not exist")
    if resolve and not allow_private and _literal_ip(host) is None:
        await _require_public_resolution(host, parsed.port or 0)
    return str(parsed.with_fragment(None))


async def _require_public_resolution(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeUrlError(f"could not find the host {host}") from exc
    if not any(is_public_address(str(info[4][0])) for info in infos):
        raise UnsafeUrlError(f"{host} points to a private or reserved address; refusing it")
