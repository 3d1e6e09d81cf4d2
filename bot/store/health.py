"""The running bot's heartbeat row and online backups of the store.

Each bot process rewrites its ``heartbeats`` row (one per process: "bot",
or "shards 0,1 of 4" for a sharded one) every minute, when its gateway
connection changes and after each poll cycle; ``newsdesk health``, in
another process, reads it, and sharded processes read each other's to take
over the digests of shards whose process died. :func:`backup_database` copies a live database
with SQLite's online backup API (consistent even while the bot writes).
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from ..models import Heartbeat
from .feeds import from_ts, to_ts

GATEWAY_STATES = ("connecting", "connected", "disconnected")


async def start_heartbeat(
    db: aiosqlite.Connection,
    *,
    now: datetime,
    poll_interval_s: int,
    pid: int | None = None,
    process: str = "bot",
    shard_ids: tuple[int, ...] = (),
    shard_count: int = 0,
) -> None:
    """A bot process starts: a fresh row for ``process`` (gateway connecting; poll times kept)."""
    ts = to_ts(now)
    await db.execute(
        "INSERT INTO heartbeats (process, shard_ids, shard_count, updated_at, started_at, pid, "
        "gateway, gateway_since, poll_interval_s) VALUES (?, ?, ?, ?, ?, ?, 'connecting', ?, ?) "
        "ON CONFLICT (process) DO UPDATE SET shard_ids = excluded.shard_ids, "
        "shard_count = excluded.shard_count, updated_at = excluded.updated_at, "
        "started_at = excluded.started_at, pid = excluded.pid, gateway = 'connecting', "
        "gateway_since = excluded.gateway_since, poll_interval_s = excluded.poll_interval_s",
        (
            process,
            ",".join(str(i) for i in shard_ids),
            shard_count,
            ts,
            ts,
            pid,
            ts,
            poll_interval_s,
        ),
    )


async def beat(
    db: aiosqlite.Connection,
    *,
    now: datetime,
    gateway: str | None = None,
    poll_ok: bool | None = None,
    process: str = "bot",
) -> None:
    """Say "still alive"; with ``gateway``, its new state (since now if it changed);
    with ``poll_ok``, a poll cycle just ended (and whether it fetched anything)."""
    if gateway is not None and gateway not in GATEWAY_STATES:
        raise ValueError(f"unknown gateway state {gateway!r}")
    ts = to_ts(now)
    await db.execute(
        "UPDATE heartbeats SET updated_at = ?, "
        "gateway_since = CASE WHEN CAST(? AS TEXT) IS NOT NULL AND ? != gateway "
        "THEN ? ELSE gateway_since END, "
        "gateway = COALESCE(?, gateway), "
        "last_poll_at = CASE WHEN CAST(? AS BIGINT) IS NULL THEN last_poll_at ELSE ? END, "
        "last_poll_ok_at = CASE WHEN ? = 1 THEN ? ELSE last_poll_ok_at END WHERE process = ?",
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
            process,
        ),
    )


_COLUMNS = (
    "updated_at, started_at, pid, gateway, gateway_since, poll_interval_s, "
    "last_poll_at, last_poll_ok_at, process, shard_ids, shard_count"
)


async def read_heartbeat(db: aiosqlite.Connection, process: str = "bot") -> Heartbeat | None:
    """The heartbeat of ``process``, or ``None`` when it never ran on this store."""
    async with db.execute(
        f"SELECT {_COLUMNS} FROM heartbeats WHERE process = ?",  # noqa: S608
        (process,),
    ) as cur:
        row = await cur.fetchone()
    return None if row is None else _heartbeat(row)


async def read_heartbeats(db: aiosqlite.Connection) -> list[Heartbeat]:
    """Every process's heartbeat, by process name."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM heartbeats ORDER BY process"  # noqa: S608
    )
    return [_heartbeat(row) for row in rows]


def _heartbeat(row: Any) -> Heartbeat:
    return Heartbeat(
        updated_at=datetime.fromtimestamp(row[0], UTC),
        started_at=datetime.fromtimestamp(row[1], UTC),
        pid=row[2],
        gateway=row[3],
        gateway_since=datetime.fromtimestamp(row[4], UTC),
        poll_interval_s=int(row[5]),
        last_poll_at=from_ts(row[6]),
        last_poll_ok_at=from_ts(row[7]),
        process=row[8],
        shard_ids=tuple(int(i) for i in row[9].split(",") if i),
        shard_count=int(row[10]),
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
