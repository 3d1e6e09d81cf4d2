"""What each channel has already been shown, in the ``digest_items`` table.

One row per channel, story and digest day, with the number of outlets the
story had then: the digest leaves out a story sent on an earlier day unless
it has gained enough outlets since (see :func:`bot.digest.build.build_digest`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import aiosqlite

from .dialect import in_values, values_param

_RECORD = (
    "INSERT INTO digest_items (channel_id, story_id, digest_date, source_count)"
    " VALUES (?, ?, ?, ?) ON CONFLICT (channel_id, story_id, digest_date)"
    " DO UPDATE SET source_count = excluded.source_count"
)
_SENT_BEFORE = (
    "SELECT story_id, MAX(source_count) AS n FROM digest_items"
    " WHERE channel_id = ? AND digest_date < ?"
    " AND story_id IN ({ids}) GROUP BY story_id"
)


async def record_sent(
    db: aiosqlite.Connection, channel_id: int, day: dt.date, coverage: Mapping[int, int]
) -> int:
    """Record that the stories of ``coverage`` (``{story_id: source_count}``) went
    to ``channel_id`` in the digest of ``day``; returns the number of rows written.

    Opens no transaction of its own: delivery calls it inside the one that
    marks the digest sent. Re-recording the same day overwrites the coverage.
    """
    rows = [(channel_id, story_id, day.isoformat(), n) for story_id, n in coverage.items()]
    if rows:
        await db.executemany(_RECORD, rows)
    return len(rows)


async def already_sent(
    db: aiosqlite.Connection, channel_id: int, before_day: dt.date, story_ids: Iterable[int]
) -> dict[int, int]:
    """``{story_id: source_count}`` for the given stories sent before ``before_day``.

    The count is the largest coverage the channel was shown for that story.
    One query whatever the number of ids (they travel as one list parameter).
    """
    ids = sorted({int(s) for s in story_ids})
    if not ids:
        return {}
    args = (channel_id, before_day.isoformat(), values_param(db, ids))
    async with db.execute(_SENT_BEFORE.format(ids=in_values(db)), args) as cur:
        return {int(row[0]): int(row[1]) for row in await cur.fetchall()}


async def sent_on(db: aiosqlite.Connection, channel_id: int, day: dt.date) -> set[int]:
    """The stories ``channel_id`` was sent in its digest of ``day``."""
    async with db.execute(
        "SELECT story_id FROM digest_items WHERE channel_id = ? AND digest_date = ?",
        (channel_id, day.isoformat()),
    ) as cur:
        return {int(row[0]) for row in await cur.fetchall()}
