"""Whole-archive reads of the ``articles`` table: export, outlet names, counts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from .db import connect_read_only

_EXPORT = (
    "SELECT id, url, guid, source, title, body, published_at, updated_at, category,"
    " story_id, author, dated FROM articles ORDER BY id"
)


def _iso(ts: int | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def iter_export(database: Path) -> Iterator[dict[str, Any]]:
    """Every article as a JSON Lines record (the shape ``newsdesk ingest`` reads back).

    Synchronous, on a read-only connection of its own: meant for a worker
    thread, so a large export neither holds the shared connection nor
    blocks the event loop.
    """
    conn = connect_read_only(database)
    try:
        for row in conn.execute(_EXPORT):
            yield {
                "id": row[0],
                "url": row[1],
                "guid": row[2],
                "source": row[3],
                "title": row[4],
                "text": row[5],
                # An undated article exports no date, so a re-import stays undated.
                "published_at": _iso(row[6]) if row[11] else None,
                "updated_at": _iso(row[7]),
                "category": row[8],
                "story_id": row[9],
                "author": row[10],
            }
    finally:
        conn.close()


async def count_articles(db: aiosqlite.Connection, *, since: datetime | None = None) -> int:
    """How many articles are stored (published at or after ``since``, when given)."""
    start = -(2**62) if since is None else int(since.timestamp())
    async with db.execute("SELECT COUNT(*) FROM articles WHERE published_at >= ?", (start,)) as cur:
        row = await cur.fetchone()
    return int(row[0]) if row else 0


async def source_names(db: aiosqlite.Connection) -> list[str]:
    """Every outlet name in the archive, sorted."""
    async with db.execute("SELECT DISTINCT source FROM articles WHERE source != ''") as cur:
        rows = await cur.fetchall()
    return sorted((str(r[0]) for r in rows), key=str.casefold)


async def newest_published(db: aiosqlite.Connection) -> datetime | None:
    async with db.execute("SELECT MAX(published_at) FROM articles") as cur:
        row = await cur.fetchone()
    return None if row is None or row[0] is None else datetime.fromtimestamp(row[0], UTC)
