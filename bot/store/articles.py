"""The ``articles`` table: writing articles, identity lookups, export, counts.

Writes run inside the caller's transaction (:mod:`bot.ingest.pipeline` opens
it); the search index follows the table by itself (SQLite: the schema's
triggers on its FTS5 table; PostgreSQL: a generated ``tsvector`` column).
``iter_export`` reads an SQLite file only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from ..models import Article, ArticleKey
from .db import connect_read_only
from .dialect import in_values, insert_rows, values_param

# The columns export_record reads, in its order (the file export and the
# PostgreSQL export in bot.store.transfer both select them).
EXPORT_COLUMNS = (
    "id, url, guid, source, title, body, published_at, updated_at, category,"
    " story_id, author, dated, image_url"
)
_EXPORT = f"SELECT {EXPORT_COLUMNS} FROM articles ORDER BY id"  # noqa: S608


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
            yield export_record(row)
    finally:
        conn.close()


def export_record(row: Sequence[Any]) -> dict[str, Any]:
    """One exported article from its row (the columns of the export query, in order)."""
    return {
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
        "image": row[12],
    }


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


# -- identity and writes ---------------------------------------------------------------


async def identity_keys(db: aiosqlite.Connection, articles: Sequence[Article]) -> list[ArticleKey]:
    """Stored articles sharing a URL, GUID or content hash with ``articles`` (one query)."""
    columns = "id, url, guid, content_hash, guild_id, COALESCE(updated_at, published_at), source"
    sql = " UNION ".join(
        f"SELECT {columns} FROM articles WHERE {key} IN ({in_values(db, 'TEXT')})"  # noqa: S608
        for key in ("url", "guid", "content_hash")
    )
    params = (
        values_param(db, [a.url for a in articles if a.url]),
        values_param(db, [a.guid for a in articles if a.guid]),
        values_param(db, [a.content_hash for a in articles]),
    )
    return [
        ArticleKey(
            id=int(r[0]),
            url=r[1],
            guid=r[2],
            content_hash=r[3],
            guild_id=int(r[4]),
            version=int(r[5]),
            source=r[6],
        )
        for r in await db.execute_fetchall(sql, params)
    ]


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


_INTO = (
    "articles (url, guid, content_hash, title, body, summary, source, author,"
    " category, published_at, updated_at, fetched_at, guild_id, dated, image_url)"
)
_INSERT = f"INSERT INTO {_INTO} VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"  # noqa: S608


def _row(a: Article, fetched_at: datetime, guild_id: int) -> tuple[object, ...]:
    return (
        a.url,
        a.guid,
        a.content_hash,
        a.title,
        a.body,
        a.summary,
        a.source,
        a.author,
        a.category,
        _ts(a.published_at),
        _ts(a.updated_at),
        _ts(fetched_at),
        guild_id,
        int(a.dated),
        a.image_url,
    )


async def insert_articles(
    db: aiosqlite.Connection, articles: Sequence[Article], *, fetched_at: datetime, guild_id: int
) -> list[int]:
    """Insert ``articles`` in one statement; their ids, in order.

    Inside the write transaction nobody else inserts (PostgreSQL: the writer
    lock), and each new row takes an id above every stored one, in order
    (SQLite: the largest plus one; PostgreSQL: the identity sequence), so the
    new ids are the ones above the largest before the insert.
    """
    if not articles:
        return []
    if len(articles) == 1:
        rows = await db.execute_fetchall(
            f"{_INSERT} RETURNING id", _row(articles[0], fetched_at, guild_id)
        )
        return [int(r[0]) for r in rows]
    ((before,),) = await db.execute_fetchall("SELECT COALESCE(MAX(id), 0) FROM articles")
    await insert_rows(db, _INTO, [_row(a, fetched_at, guild_id) for a in articles])
    rows = await db.execute_fetchall("SELECT id FROM articles WHERE id > ? ORDER BY id", (before,))
    ids = [int(r[0]) for r in rows]
    if len(ids) != len(articles):  # would mean a concurrent writer: never commit that
        raise RuntimeError("article ids did not come out in order; batch rolled back")
    return ids


async def update_articles(db: aiosqlite.Connection, updates: Mapping[int, Article]) -> None:
    """Store new versions of stored articles (their story is the clusterer's).

    A version without an image keeps the stored one."""
    await db.executemany(
        "UPDATE articles SET title = ?, body = ?, summary = ?, content_hash = ?, author = ?,"
        " category = COALESCE(?, category), updated_at = ?, image_url = COALESCE(?, image_url)"
        " WHERE id = ?",
        [
            (
                a.title,
                a.body,
                a.summary,
                a.content_hash,
                a.author,
                a.category,
                _ts(a.updated_at),
                a.image_url,
                i,
            )
            for i, a in updates.items()
        ],
    )


async def share(db: aiosqlite.Connection, article_ids: Iterable[int]) -> None:
    """Make articles visible to every server (a shared feed now brings them)."""
    await db.executemany(
        "UPDATE articles SET guild_id = 0 WHERE id = ?", [(i,) for i in article_ids]
    )


async def link_feed(db: aiosqlite.Connection, feed_id: int, article_ids: Iterable[int]) -> None:
    """Record that feed ``feed_id`` carries these articles."""
    await db.executemany(
        "INSERT INTO article_feeds (article_id, feed_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
        [(i, feed_id) for i in article_ids],
    )
