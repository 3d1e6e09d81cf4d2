"""Network helpers for hostile-input tests: a fake DNS and a connect guard."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult


class MapResolver(AbstractResolver):
    """A fake DNS: fixed name -> addresses, no network; records every question."""

    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [
            ResolveResult(hostname=host, host=ip, port=port, family=family, proto=0, flags=0)
            for ip in self.table[host]
        ]

    async def close(self) -> None:
        return None


def fake_getaddrinfo(table: dict[str, list[str]]) -> Any:
    """A replacement for ``loop.getaddrinfo`` answering from ``table`` only."""

    async def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        out = []
        for ip in table[host]:
            family = socket.AF_INET6 if ":" in ip else socket.AF_INET
            out.append((family, socket.SOCK_STREAM, 6, "", (ip, port or 0)))
        return out

    return getaddrinfo


async def install_connect_spy(monkeypatch: Any) -> list[str]:
    """Record every address the event loop connects to; refuse non-loopback ones.

    A safety net: even if a guard under test were broken, no packet would
    leave this machine, and the test would see the attempt.
    """
    loop = asyncio.get_running_loop()
    real = loop.sock_connect
    seen: list[str] = []

    async def spy(sock: socket.socket, address: Any) -> None:
        host = address[0]
        seen.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            raise OSError("test safety net: refused a non-loopback connect")
        await real(sock, address)

    monkeypatch.setattr(loop, "sock_connect", spy)
    return seen
