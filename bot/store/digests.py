"""Digest claims (the ``digests`` table) and per-channel send state (``channel_state``).

A row in ``digests`` is the durable claim that makes a channel's digest for
one local day go out at most once: it is inserted *before* the first message
is sent and moves ``claimed -> sent | failed | missed | empty``. Message ids
are saved as each message goes out, so a resend after a crash can skip the
ones already confirmed. What each channel was shown is kept apart, in
:mod:`bot.store.digest_history`.
"""

from __future__ import annotations

import datetime as dt
import json

import aiosqlite

from ..models import ChannelState, DigestRecord

CLAIMED = "claimed"
SENT = "sent"
FAILED = "failed"
MISSED = "missed"
EMPTY = "empty"
FINAL_STATUSES = frozenset({SENT, FAILED, MISSED, EMPTY})

__all__ = [
    "CLAIMED",
    "EMPTY",
    "FAILED",
    "FINAL_STATUSES",
    "MISSED",
    "SENT",
    "ChannelState",
    "DigestRecord",
    "channel_state",
    "claim_digest",
    "clear_forbidden",
    "finish_digest",
    "forbidden_channels",
    "get_digest",
    "is_forbidden",
    "mark_forbidden",
    "recent_digests",
    "reclaim_digest",
    "record_channel_error",
    "save_progress",
]


def _record(row: aiosqlite.Row) -> DigestRecord:
    return DigestRecord(
        channel_id=row["channel_id"],
        digest_date=dt.date.fromisoformat(row["digest_date"]),
        guild_id=row["guild_id"],
        status=row["status"],
        nonce=row["nonce"],
        claimed_at=row["claimed_at"],
        finished_at=row["finished_at"],
        story_count=row["story_count"],
        message_ids=[int(i) for i in json.loads(row["message_ids"] or "[]")],
        error=row["error"],
    )


async def get_digest(
    db: aiosqlite.Connection, channel_id: int, day: dt.date
) -> DigestRecord | None:
    """The claim for ``channel_id`` on ``day``, or ``None``."""
    async with db.execute(
        "SELECT * FROM digests WHERE channel_id = ? AND digest_date = ?",
        (channel_id, day.isoformat()),
    ) as cur:
        row = await cur.fetchone()
    return _record(row) if row else None


async def recent_digests(
    db: aiosqlite.Connection, channel_id: int, limit: int = 7
) -> list[DigestRecord]:
    """The channel's latest claims, newest day first."""
    async with db.execute(
        "SELECT * FROM digests WHERE channel_id = ? ORDER BY digest_date DESC LIMIT ?",
        (channel_id, limit),
    ) as cur:
        return [_record(row) for row in await cur.fetchall()]


async def claim_digest(
    db: aiosqlite.Connection,
    channel_id: int,
    day: dt.date,
    *,
    guild_id: int,
    nonce: str,
    now: int,
    status: str = CLAIMED,
) -> bool:
    """Insert the claim row; ``False`` when one already exists for that day.

    The primary key (channel, day) makes the claim exactly-once across every
    process on the store: the losing ``INSERT`` changes no row."""
    cur = await db.execute(
        "INSERT INTO digests (channel_id, digest_date, guild_id, status, nonce,"
        " claimed_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (channel_id, digest_date) DO NOTHING",
        (
            channel_id,
            day.isoformat(),
            guild_id,
            status,
            nonce,
            now,
            None if status == CLAIMED else now,
        ),
    )
    return cur.rowcount == 1


async def reclaim_digest(
    db: aiosqlite.Connection, channel_id: int, day: dt.date, *, now: int
) -> bool:
    """Turn a finished, unsent claim (failed/missed/empty) back into ``claimed``.

    Used only when an admin explicitly asks for the digest again. Message ids
    already recorded are kept. ``False`` if the row is not in such a state.
    """
    cur = await db.execute(
        "UPDATE digests SET status = ?, claimed_at = ?, finished_at = NULL, error = NULL"
        " WHERE channel_id = ? AND digest_date = ? AND status IN (?, ?, ?)",
        (CLAIMED, now, channel_id, day.isoformat(), FAILED, MISSED, EMPTY),
    )
    return cur.rowcount == 1


async def save_progress(
    db: aiosqlite.Connection, channel_id: int, day: dt.date, message_ids: list[int]
) -> None:
    """Record the ids of the messages confirmed so far."""
    await db.execute(
        "UPDATE digests SET message_ids = ? WHERE channel_id = ? AND digest_date = ?",
        (json.dumps(message_ids), channel_id, day.isoformat()),
    )


async def finish_digest(
    db: aiosqlite.Connection,
    channel_id: int,
    day: dt.date,
    status: str,
    *,
    now: int,
    story_count: int = 0,
    message_ids: list[int] | None = None,
    error: str | None = None,
) -> None:
    """Move a claim to a final status."""
    if status not in FINAL_STATUSES:
        raise ValueError(f"{status!r} is not a final digest status")
    await db.execute(
        "UPDATE digests SET status = ?, finished_at = ?, story_count = ?,"
        " message_ids = COALESCE(?, message_ids), error = ?"
        " WHERE channel_id = ? AND digest_date = ?",
        (
            status,
            now,
            story_count,
            None if message_ids is None else json.dumps(message_ids),
            error,
            channel_id,
            day.isoformat(),
        ),
    )


async def channel_state(db: aiosqlite.Connection, channel_id: int) -> ChannelState | None:
    """The recorded send state of a channel, if any."""
    async with db.execute("SELECT * FROM channel_state WHERE channel_id = ?", (channel_id,)) as cur:
        row = await cur.fetchone()
    return _state(row) if row else None


def _state(row: aiosqlite.Row) -> ChannelState:
    return ChannelState(
        channel_id=row["channel_id"],
        guild_id=row["guild_id"],
        forbidden=bool(row["forbidden"]),
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
    )


async def is_forbidden(db: aiosqlite.Connection, channel_id: int) -> bool:
    """Whether the last send to the channel was refused with 403."""
    state = await channel_state(db, channel_id)
    return bool(state and state.forbidden)


async def mark_forbidden(
    db: aiosqlite.Connection, channel_id: int, *, guild_id: int, error: str, now: int
) -> None:
    """Record a 403: scheduled digests skip the channel until a send succeeds."""
    await db.execute(
        "INSERT INTO channel_state (channel_id, guild_id, forbidden, last_error, last_error_at)"
        " VALUES (?, ?, 1, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET"
        " guild_id = excluded.guild_id, forbidden = 1, last_error = excluded.last_error,"
        " last_error_at = excluded.last_error_at",
        (channel_id, guild_id, error, now),
    )


async def record_channel_error(
    db: aiosqlite.Connection, channel_id: int, *, guild_id: int, error: str, now: int
) -> None:
    """Record a non-403 send error (keeps the forbidden flag as it was)."""
    await db.execute(
        "INSERT INTO channel_state (channel_id, guild_id, forbidden, last_error, last_error_at)"
        " VALUES (?, ?, 0, ?, ?) ON CONFLICT (channel_id) DO UPDATE SET"
        " last_error = excluded.last_error, last_error_at = excluded.last_error_at",
        (channel_id, guild_id, error, now),
    )


async def clear_forbidden(db: aiosqlite.Connection, channel_id: int) -> None:
    """Forget a recorded 403 (after a successful send or a fixed permission)."""
    await db.execute("UPDATE channel_state SET forbidden = 0 WHERE channel_id = ?", (channel_id,))


async def forbidden_channels(
    db: aiosqlite.Connection, *, guild_id: int | None = None
) -> list[ChannelState]:
    """Channels with a recorded 403, optionally only those of one guild."""
    sql = "SELECT * FROM channel_state WHERE forbidden = 1"
    args: tuple[int, ...] = ()
    if guild_id is not None:
        sql += " AND guild_id = ?"
        args = (guild_id,)
    async with db.execute(sql + " ORDER BY channel_id", args) as cur:
        return [_state(row) for row in await cur.fetchall()]


async def channel_guilds(db: aiosqlite.Connection) -> dict[int, int]:
    """The server each channel's digests were last posted for (channels with a known one)."""
    rows = await db.execute_fetchall(
        "SELECT channel_id, MAX(guild_id) FROM digests WHERE guild_id != 0 GROUP BY channel_id"
    )
    return {int(channel): int(guild) for channel, guild in rows}
