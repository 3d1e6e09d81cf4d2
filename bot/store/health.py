"""The running bot's heartbeat row and online backups of the store.

The bot rewrites the one ``heartbeat`` row every minute, when its gateway
connection changes and after each poll cycle; ``newsdesk health``, in
another process, reads it. :func:`backup_database` copies a live database
with SQLite's online backup API (consistent even while the bot writes).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from ..models import Heartbeat
from .feeds import from_ts, to_ts

GATEWAY_STATES = ("connecting", "connected", "disconnected")


async def start_heartbeat(
    db: aiosqlite.Connection, *, now: datetime, poll_interval_s: int, pid: int | None = None
) -> None:
    """A bot process starts: a fresh row (gateway connecting; poll times kept)."""
    ts = to_ts(now)
    await db.execute(
        "INSERT INTO heartbeat (id, updated_at, started_at, pid, gateway, gateway_since, "
        "poll_interval_s) VALUES (1, ?, ?, ?, 'connecting', ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, "
        "started_at = excluded.started_at, pid = excluded.pid, gateway = 'connecting', "
        "gateway_since = excluded.gateway_since, poll_interval_s = excluded.poll_interval_s",
        (ts, ts, pid, ts, poll_interval_s),
    )


async def beat(
    db: aiosqlite.Connection,
    *,
    now: datetime,
    gateway: str | None = None,
    poll_ok: bool | None = None,
) -> None:
    """Say "still alive"; with ``gateway``, its new state (since now if it changed);
    with ``poll_ok``, a poll cycle just ended (and whether it fetched anything)."""
    if gateway is not None and gateway not in GATEWAY_STATES:
        raise ValueError(f"unknown gateway state {gateway!r}")
    ts = to_ts(now)
    await db.execute(
        "UPDATE heartbeat SET updated_at = ?, "
        "gateway_since = CASE WHEN CAST(? AS TEXT) IS NOT NULL AND ? != gateway "
        "THEN ? ELSE gateway_since END, "
        "gateway = COALESCE(?, gateway), "
        "last_poll_at = CASE WHEN CAST(? AS BIGINT) IS NULL THEN last_poll_at ELSE ? END, "
        "last_poll_ok_at = CASE WHEN ? = 1 THEN ? ELSE last_poll_ok_at END WHERE id = 1",
        (
            ts,
            gateway,
            gateway,
            ts,
            gateway,
            None if poll_ok is None else int(poll_ok),
            ts,
            int(bool(poll_ok)),
            ts,
        ),
    )


async def read_heartbeat(db: aiosqlite.Connection) -> Heartbeat | None:
    async with db.execute(
        "SELECT updated_at, started_at, pid, gateway, gateway_since, poll_interval_s, "
        "last_poll_at, last_poll_ok_at FROM heartbeat WHERE id = 1"
    ) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    return Heartbeat(
        updated_at=datetime.fromtimestamp(row[0], UTC),
        started_at=datetime.fromtimestamp(row[1], UTC),
        pid=row[2],
        gateway=row[3],
        gateway_since=datetime.fromtimestamp(row[4], UTC),
        poll_interval_s=int(row[5]),
        last_poll_at=from_ts(row[6]),
        last_poll_ok_at=from_ts(row[7]),
    )


def backup_database(source: Path, target: Path) -> int:
    """Copy the live database ``source`` to ``target`` (replaced whole); returns its size.

    SQLite's online backup API reads a consistent snapshot while other
    connections keep writing; the copy is written beside ``target`` and
    renamed over it only when complete, so ``target`` is never half a copy.
    """
    if source.resolve() == target.resolve():
        raise ValueError("the backup file must not be the database itself")
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    src = sqlite3.connect(f"{source.absolute().as_uri()}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst, pages=1024)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    os.replace(partial, target)
    return target.stat().st_size
