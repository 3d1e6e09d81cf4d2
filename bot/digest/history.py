"""What each channel has already been sent (the ``digest_items`` table)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import aiosqlite

from .models import DigestItem


async def record_sent(
    db: aiosqlite.Connection, channel_id: int, day: dt.date, items: Iterable[DigestItem]
) -> int:
    """Record that ``items`` went to ``channel_id`` in the digest of ``day``.

    Opens no transaction of its own: the bot calls it inside the one that
    marks the digest sent. Re-recording the same day overwrites the coverage.
    Returns the number of rows written.
    """
    rows = [(channel_id, item.story_id, day.isoformat(), item.source_count) for item in items]
    if rows:
        await db.executemany(
            "INSERT OR REPLACE INTO digest_items (channel_id, story_id, digest_date, source_count)"
            " VALUES (?, ?, ?, ?)",
            rows,
        )
    return len(rows)


async def already_sent(
    db: aiosqlite.Connection, channel_id: int, before_day: dt.date, story_ids: Iterable[int]
) -> dict[int, int]:
    """``{story_id: source_count}`` for the given stories sent before ``before_day``.

    The count is the largest coverage the channel was shown for that story.
    One query whatever the number of ids (they travel as one JSON array).
    """
    ids = sorted({int(s) for s in story_ids})
    if not ids:
        return {}
    sql = (
        "SELECT story_id, MAX(source_count) AS n FROM digest_items"
        " WHERE channel_id = ? AND digest_date < ?"
        " AND story_id IN (SELECT value FROM json_each(?)) GROUP BY story_id"
    )
    async with db.execute(sql, (channel_id, before_day.isoformat(), json.dumps(ids))) as cur:
        return {row[0]: row[1] for row in await cur.fetchall()}
