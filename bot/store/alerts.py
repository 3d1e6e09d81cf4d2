"""Breaking-story alert claims (the ``alerts`` table).

A row is the durable claim that makes a channel's alert for one story go out
at most once: it is inserted *before* the message is sent and moves
``claimed -> sent | failed``. The insert also enforces the channel's daily cap
(``alerts_per_day``) in the same statement, so two claims cannot both take
the last slot: on PostgreSQL that holds because claims run inside
:func:`bot.store.transaction`, whose writer lock serialises them across
processes (the primary key alone makes one story's claim exactly-once).
Times are unix seconds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import aiosqlite

from ..models import AlertRecord
from .dialect import in_values, values_param

CLAIMED = "claimed"
SENT = "sent"
FAILED = "failed"
FINAL_STATUSES = frozenset({SENT, FAILED})

__all__ = [
    "CLAIMED",
    "FAILED",
    "FINAL_STATUSES",
    "SENT",
    "AlertRecord",
    "alerted_stories",
    "alerts_on",
    "claim_alert",
    "finish_alert",
    "get_alert",
    "pending_alerts",
]

_CLAIM = (
    "INSERT INTO alerts (channel_id, story_id, alert_date, guild_id, status, nonce,"
    " headline, url, source_count, claimed_at)"
    " SELECT CAST(? AS BIGINT), CAST(? AS BIGINT), CAST(? AS TEXT), CAST(? AS BIGINT),"
    " CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS BIGINT),"
    " CAST(? AS BIGINT)"
    " WHERE (SELECT count(*) FROM alerts WHERE channel_id = ? AND alert_date = ?) < ?"
    " ON CONFLICT (channel_id, story_id) DO NOTHING"
)
_ALERTED = "SELECT story_id FROM alerts WHERE channel_id = ? AND story_id IN ({ids})"


def _record(row: aiosqlite.Row) -> AlertRecord:
    return AlertRecord(
        channel_id=row["channel_id"],
        story_id=row["story_id"],
        alert_date=dt.date.fromisoformat(row["alert_date"]),
        guild_id=row["guild_id"],
        status=row["status"],
        nonce=row["nonce"],
        headline=row["headline"],
        url=row["url"],
        source_count=row["source_count"],
        claimed_at=row["claimed_at"],
        finished_at=row["finished_at"],
        message_id=row["message_id"],
        error=row["error"],
    )


async def claim_alert(
    db: aiosqlite.Connection,
    channel_id: int,
    story_id: int,
    *,
    day: dt.date,
    guild_id: int,
    nonce: str,
    headline: str,
    url: str | None,
    source_count: int,
    now: int,
    per_day: int,
) -> bool:
    """Insert the claim; ``False`` when the story was claimed in the channel before
    or the channel already has ``per_day`` alerts on ``day``."""
    cur = await db.execute(
        _CLAIM,
        (
            channel_id,
            story_id,
            day.isoformat(),
            guild_id,
            CLAIMED,
            nonce,
            headline,
            url,
            source_count,
            now,
            channel_id,
            day.isoformat(),
            per_day,
        ),
    )
    return cur.rowcount == 1


async def finish_alert(
    db: aiosqlite.Connection,
    channel_id: int,
    story_id: int,
    status: str,
    *,
    now: int,
    message_id: int | None = None,
    error: str | None = None,
) -> None:
    """Move a claim to a final status."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"{status!r} is not a final alert status")
    await db.execute(
        "UPDATE alerts SET status = ?, finished_at = ?, message_id = COALESCE(?, message_id),"
        " error = ? WHERE channel_id = ? AND story_id = ?",
        (status, now, message_id, error, channel_id, story_id),
    )


async def get_alert(db: aiosqlite.Connection, channel_id: int, story_id: int) -> AlertRecord | None:
    """The claim on ``story_id``'s alert in ``channel_id``, or ``None``."""
    async with db.execute(
        "SELECT * FROM alerts WHERE channel_id = ? AND story_id = ?", (channel_id, story_id)
    ) as cur:
        row = await cur.fetchone()
    return _record(row) if row else None


async def pending_alerts(db: aiosqlite.Connection, channel_id: int) -> list[AlertRecord]:
    """The channel's claims still ``claimed`` (a send was in flight), oldest first."""
    async with db.execute(
        "SELECT * FROM alerts WHERE channel_id = ? AND status = ? ORDER BY claimed_at, story_id",
        (channel_id, CLAIMED),
    ) as cur:
        return [_record(row) for row in await cur.fetchall()]


async def alerts_on(db: aiosqlite.Connection, channel_id: int, day: dt.date) -> list[AlertRecord]:
    """Every claim of the channel on local ``day`` (whatever its status)."""
    async with db.execute(
        "SELECT * FROM alerts WHERE channel_id = ? AND alert_date = ? ORDER BY claimed_at",
        (channel_id, day.isoformat()),
    ) as cur:
        return [_record(row) for row in await cur.fetchall()]


async def alerted_stories(
    db: aiosqlite.Connection, channel_id: int, story_ids: Iterable[int]
) -> set[int]:
    """Those of ``story_ids`` the channel has an alert claim for (any day, any status)."""
    ids = sorted({int(s) for s in story_ids})
    if not ids:
        return set()
    sql = _ALERTED.format(ids=in_values(db))
    async with db.execute(sql, (channel_id, values_param(db, ids))) as cur:
        return {int(row[0]) for row in await cur.fetchall()}
