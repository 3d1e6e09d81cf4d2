"""Fetching feeds over HTTP, politely and safely.

One :class:`Fetcher` owns one ``aiohttp.ClientSession`` for the life of the
bot. Every fetch:

* sends an honest User-Agent, an Accept header for feeds,
  ``Accept-Encoding: gzip, deflate`` and, when we have them, the
  conditional headers (``If-None-Match`` / ``If-Modified-Since``);
* follows redirects itself (at most ``max_redirects``), re-checking the
  scheme and, through :mod:`bot.ingest.netguard`, the addresses of every
  hop, so a redirect to a private address is refused before connecting;
* stops reading as soon as the *decompressed* body passes ``max_bytes``
  (a gzip bomb costs at most that much memory) and refuses up front when
  Content-Length is already too big;
* gives up after ``connect_timeout`` / ``read_timeout`` / ``total_timeout``;
* opens at most ``per_host_limit`` connections to one host at a time.

Every failure is a :class:`FetchError` with a short message fit for users
and flags the poller uses for back-off (``permanent``, ``retry_after``).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp.abc import AbstractResolver
from yarl import URL

from .netguard import (
    BlockedAddressError,
    GuardedResolver,
    UnsafeUrlError,
    check_url_target,
    host_for_display,
    is_public_address,
    strip_userinfo,
)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
TRANSIENT_4XX = frozenset({408, 425, 429})
RETRY_AFTER_STATUSES = frozenset({429, 503})
_CHUNK = 64 * 1024

_ConnectTimeout: tuple[type[BaseException], ...] = tuple(
    t for t in (getattr(aiohttp, "ConnectionTimeoutError", None),) if t is not None
)
_ReadTimeout: tuple[type[BaseException], ...] = tuple(
    t for t in (getattr(aiohttp, "SocketTimeoutError", None),) if t is not None
)


@dataclass(slots=True)
class FetchResult:
    """What a successful fetch (2xx or 304) returned."""

    url: str  # final URL, after redirects
    status: int
    body: bytes | None  # None for 304 Not Modified
    etag: str | None
    last_modified: str | None
    content_type: str | None
    not_modified: bool
    retry_after: float | None = None


class FetchError(Exception):
    """A fetch failed; ``str(err)`` is a short message safe to show users.

    ``permanent`` means retrying unchanged will most likely fail the same
    way (404, 410, 401, 403, blocked address, bad URL, too large);
    ``retry_after`` is the server's Retry-After in seconds, if it sent one.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        permanent: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.permanent = permanent


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def _status_error(
    status: int, reason: str | None, host: str, retry_after: float | None
) -> FetchError:
    """The FetchError for a non-success HTTP status."""
    label = f"HTTP {status}" + (f" {reason}" if reason else "")
    if status == 429:
        message = f"{host} says we are polling too often ({label})"
    elif status >= 500:
        message = f"{host} has a server problem ({label})"
    elif status in (401, 403):
        message = f"{host} refused access ({label})"
    elif status in (404, 410):
        message = f"the feed is not at this address any more ({label})"
    else:
        message = f"{host} answered {label}"
    permanent = 400 <= status < 500 and status not in TRANSIENT_4XX
    if status < 400:  # 1xx, or a 3xx we cannot follow
        permanent = True
    return FetchError(message, status=status, retry_after=retry_after, permanent=permanent)


def _translate(exc: BaseException, url: str, total_timeout: float) -> FetchError:
    """Turn a low-level exception into a user-facing FetchError."""
    host = host_for_display(url)
    if isinstance(exc, UnsafeUrlError):
        return FetchError(f"blocked: {exc}", permanent=True)
    if isinstance(exc, aiohttp.ClientConnectorError) and isinstance(
        exc.os_error, BlockedAddressError
    ):
        return FetchError(f"blocked: {exc.os_error}", permanent=True)
    if isinstance(exc, _ConnectTimeout):
        return FetchError(f"timed out connecting to {host}")
    if isinstance(exc, _ReadTimeout):
        return FetchError(f"timed out waiting for data from {host}")
    if isinstance(exc, TimeoutError):
        return FetchError(f"timed out after {total_timeout:g}s fetching {host}")
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return FetchError(
            f"TLS certificate of {host} is not valid ({_short(exc.certificate_error)})"
        )
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return FetchError(f"TLS handshake with {host} failed")
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, socket.gaierror):
            return FetchError(f"could not resolve host {host} ({_short(exc.os_error.strerror)})")
        return FetchError(f"could not connect to {host} ({_short(exc.os_error.strerror)})")
    if isinstance(exc, aiohttp.InvalidURL | ValueError):
        return FetchError(f"invalid URL: {strip_userinfo(url)}", permanent=True)
    if isinstance(exc, aiohttp.ClientPayloadError):
        return FetchError(f"{host} sent a broken or badly compressed response")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return FetchError(f"{host} closed the connection early")
    if isinstance(exc, aiohttp.ClientResponseError):
        return FetchError(f"{host} sent an invalid HTTP response", status=exc.status or None)
    return FetchError(f"network error talking to {host} ({type(exc).__name__})")


def _short(value: object, limit: int = 120) -> str:
    text = str(value or "unknown error")
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Fetcher:
    """Polite, size- and time-bounded HTTP GETs; use as ``async with``."""

    def __init__(
        self,
        *,
        user_agent: str,
        connect_timeout: float = 10,
        read_timeout: float = 20,
        total_timeout: float = 60,
        max_bytes: int = 5_000_000,
        max_redirects: int = 5,
        per_host_limit: int = 2,
        allow_private: bool = False,
        ip_allowed: Callable[[str], bool] | None = None,
        inner_resolver: AbstractResolver | None = None,
    ) -> None:
        """``ip_allowed`` and ``inner_resolver`` replace the address policy
        and the DNS resolver; they exist for tests."""
        if not user_agent or not user_agent.strip():
            raise ValueError("user_agent must not be empty")
        if max_bytes <= 0 or max_redirects < 0 or per_host_limit <= 0:
            raise ValueError("max_bytes and per_host_limit must be positive, max_redirects >= 0")
        self._user_agent = user_agent
        self._timeout = aiohttp.ClientTimeout(
            total=total_timeout, connect=connect_timeout, sock_read=read_timeout
        )
        self._total_timeout = total_timeout
        self._max_bytes = max_bytes
        self._max_redirects = max_redirects
        self._per_host_limit = per_host_limit
        self._allow_private = allow_private
        self._ip_allowed = ip_allowed or is_public_address
        self._inner_resolver = inner_resolver
        self._host_locks: defaultdict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(per_host_limit)
        )
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        resolver = GuardedResolver(
            self._inner_resolver,
            allow_private=self._allow_private,
            is_allowed=self._ip_allowed,
        )
        connector = aiohttp.TCPConnector(
            resolver=resolver, limit=100, limit_per_host=self._per_host_limit, ttl_dns_cache=60
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            timeout=self._timeout,
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,
            auto_decompress=True,
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session and its connections."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = FEED_ACCEPT,
    ) -> FetchResult:
        """GET ``url``; a 2xx or 304 result, or :class:`FetchError`."""
        if self._session is None:
            raise RuntimeError("Fetcher is not open; use 'async with Fetcher(...)'")
        headers = {
            "User-Agent": self._user_agent,
            "Accept": accept,
            "Accept-Encoding": "gzip, deflate",
        }
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            # The time limit runs per hop from when the host's slot is free
            # (see _request): feeds queued behind slow ones on the same host
            # are not timed out by the wait.
            return await self._follow(URL(url), headers)
        except FetchError:
            raise
        except (TimeoutError, aiohttp.ClientError, UnsafeUrlError, ValueError, ssl.SSLError) as exc:
            raise _translate(exc, url, self._total_timeout) from exc

    async def _follow(self, url: URL, headers: dict[str, str]) -> FetchResult:
        """Request ``url``, following redirects by hand."""
        seen: set[str] = set()
        for _hop in range(self._max_redirects + 1):
            url = url.with_fragment(None)
            seen.add(str(url))
            check_url_target(url, allow_private=self._allow_private, is_allowed=self._ip_allowed)
            result = await self._request(url, headers)
            if isinstance(result, FetchResult):
                return result
            if str(result.with_fragment(None)) in seen:
                raise FetchError(f"redirect loop at {host_for_display(result)}", permanent=True)
            url = result
        raise FetchError(f"too many redirects (more than {self._max_redirects})", permanent=True)

    async def _request(self, url: URL, headers: dict[str, str]) -> FetchResult | URL:
        """One hop: a result, or the URL a redirect points to."""
        assert self._session is not None
        host = (url.host or "").lower()
        async with (
            self._host_locks[host],
            asyncio.timeout(self._total_timeout),
            self._session.get(url, headers=headers, allow_redirects=False) as resp,
        ):
            status = resp.status
            retry_after = parse_retry_after(resp.headers.get("Retry-After"))
            if status in REDIRECT_STATUSES:
                return self._redirect_target(url, resp)
            if status == 304:
                return self._result(url, resp, None, not_modified=True)
            if not 200 <= status < 300:
                if status not in RETRY_AFTER_STATUSES:
                    retry_after = None
                raise _status_error(status, resp.reason, host, retry_after)
            body = await self._read_capped(resp, host)
            return self._result(url, resp, body, not_modified=False)

    def _redirect_target(self, url: URL, resp: aiohttp.ClientResponse) -> URL:
        location = resp.headers.get("Location")
        if not location:
            raise FetchError(
                f"redirect ({resp.status}) without a Location header",
                status=resp.status,
                permanent=True,
            )
        try:
            return url.join(URL(location))
        except (ValueError, TypeError) as exc:
            raise FetchError("redirect to an invalid URL", permanent=True) from exc

    async def _read_capped(self, resp: aiohttp.ClientResponse, host: str) -> bytes:
        """The decompressed body, refusing anything over ``max_bytes``."""
        limit = self._max_bytes
        declared = resp.content_length
        if declared is not None and declared > limit:
            resp.close()
            raise FetchError(
                f"{host} sent {declared:,} bytes, over the {limit:,}-byte limit", permanent=True
            )
        buf = bytearray()
        async for chunk in resp.content.iter_chunked(_CHUNK):
            buf += chunk
            if len(buf) > limit:
                resp.close()
                raise FetchError(
                    f"response from {host} is over the {limit:,}-byte limit", permanent=True
                )
        return bytes(buf)

    @staticmethod
    def _result(
        url: URL, resp: aiohttp.ClientResponse, body: bytes | None, *, not_modified: bool
    ) -> FetchResult:
        return FetchResult(
            url=str(url),
            status=resp.status,
            body=body,
            etag=resp.headers.get("ETag"),
            last_modified=resp.headers.get("Last-Modified"),
            content_type=resp.headers.get("Content-Type"),
            not_modified=not_modified,
            retry_after=parse_retry_after(resp.headers.get("Retry-After")),
        )
