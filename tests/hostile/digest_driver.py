"""Deliver one digest through :class:`bot.delivery.Delivery` to a stub endpoint.

Run as a separate process by ``tests/test_crash_recovery.py`` so it can be
killed with SIGKILL in the middle of a send::

    python -m tests.hostile.digest_driver --db X --endpoint URL --messages 5

Each message is POSTed as JSON ``{"content", "nonce", "enforce_nonce"}`` to
``URL``, which answers ``{"id": ...}`` like Discord's create-message route.
Prints ``RESULT <result> <ids>`` on success.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from typing import Any

import aiohttp

from bot.config import DigestChannel
from bot.delivery import Delivery, PreparedDigest
from bot.store import open_db

CHANNEL = DigestChannel(channel_id=123456789012345678, time=dt.time(8, 0), timezone="UTC")
DAY = dt.date(2025, 7, 1)


async def deliver(db_path: str, endpoint: str, messages: int, resend_window: float) -> str:
    db = await open_db(db_path)
    try:
        async with aiohttp.ClientSession() as session:

            async def send(payload: dict[str, Any], nonce: str) -> int:
                body = {**payload, "nonce": nonce, "enforce_nonce": True}
                async with session.post(endpoint, json=body) as resp:
                    resp.raise_for_status()
                    return int((await resp.json())["id"])

            async def prepare() -> PreparedDigest:
                payloads = [
                    {"content": f"part {i + 1} of {messages}", "allowed_mentions": {"parse": []}}
                    for i in range(messages)
                ]
                return PreparedDigest(payloads=payloads, items=())

            result = await Delivery(db, resend_window=resend_window).deliver(
                CHANNEL, DAY, prepare=prepare, send=send
            )
    finally:
        await db.close()
    return f"RESULT {result.result} {','.join(map(str, result.message_ids))}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--resend-window", type=float, default=300)
    args = parser.parse_args(argv)
    print(asyncio.run(deliver(args.db, args.endpoint, args.messages, args.resend_window)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
