"""A small loopback HTTP server for tests.

Use the ``http_server`` fixture: declare ``pytest_plugins =
["tests.httpserver"]`` in the test module (import :class:`LoopbackServer`
only under ``TYPE_CHECKING``, or pytest warns it cannot rewrite asserts)::

    async def test_x(http_server):
        http_server.route("/feed.xml", body=b"<rss/>", headers={"ETag": '"v1"'})
        url = http_server.url("/feed.xml")
        ...
        assert http_server.count("/feed.xml") == 1
        assert http_server.last_headers("/feed.xml")["User-Agent"]

Routes may be registered before or after requests start; an unknown path
answers 404. Handlers that must hang should wait on ``server.stopping``
(set when the test ends) so teardown never blocks.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from multidict import CIMultiDict, CIMultiDictProxy

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(slots=True)
class RecordedRequest:
    """What the server saw of one request."""

    method: str
    path: str
    query: str
    headers: CIMultiDictProxy[str]


@dataclass
class LoopbackServer:
    """An aiohttp app on 127.0.0.1 with per-path canned responses."""

    host: str = "127.0.0.1"
    port: int = 0
    hits: Counter[str] = field(default_factory=Counter)
    requests: list[RecordedRequest] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _handlers: dict[str, Handler] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def url(self, path: str = "/") -> str:
        """Absolute URL for ``path`` on this server."""
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def route(
        self,
        path: str,
        body: bytes | str = b"",
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        content_type: str | None = None,
    ) -> None:
        """Answer ``path`` with a fixed response (Content-Length is set)."""
        data = body.encode() if isinstance(body, str) else body

        async def static(_request: web.Request) -> web.StreamResponse:
            resp = web.Response(body=data, status=status, headers=CIMultiDict(headers or {}))
            if content_type:
                resp.content_type = content_type
            return resp

        self._handlers[path] = static

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        """Answer ``path`` with a redirect to ``location``."""
        self.route(path, status=status, headers={"Location": location})

    def handler(self, path: str, fn: Handler) -> None:
        """Answer ``path`` with ``await fn(request)``."""
        self._handlers[path] = fn

    def count(self, path: str) -> int:
        """How many requests ``path`` received."""
        return self.hits[path]

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    def last_headers(self, path: str) -> CIMultiDictProxy[str]:
        """Headers of the latest request to ``path`` (KeyError if none)."""
        found = self.requests_for(path)
        if not found:
            raise KeyError(f"no request to {path}")
        return found[-1].headers

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        self.requests.append(
            RecordedRequest(request.method, request.path, request.query_string, request.headers)
        )
        fn = self._handlers.get(request.path)
        if fn is None:
            return web.Response(status=404, text="not found")
        return await fn(request)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self.stopping.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def http_server() -> AsyncIterator[LoopbackServer]:
    """A started :class:`LoopbackServer`, stopped after the test."""
    server = LoopbackServer()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
