"""Copying a whole store between backends (``newsdesk db copy``).

Both stores have the same schema version, so every table is copied column by
column in foreign-key order. The source is read inside one read transaction
(a consistent snapshot, also while the bot writes to it); the target is
written inside one transaction, so a copy that fails or is interrupted leaves
the target as empty as it was. Afterwards the row counts of every table are
compared, and PostgreSQL's id sequences are moved past the copied ids.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

from ..models import CopiedTable
from .articles import EXPORT_COLUMNS, export_record
from .db import Connection, StoreError, transaction
from .dialect import is_postgres

CHUNK = 2000

# (table, primary key columns, every column), parents before children.
TABLES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "feeds",
        ("id",),
        (
            "id", "url", "guild_id", "title", "added_at", "added_by", "etag", "last_modified",
            "last_fetch_at", "last_success_at", "last_error", "last_error_at",
            "consecutive_failures", "next_poll_at", "paused", "first_failure_at", "fulltext",
            "tags",
        ),
    ),
    (
        "stories",
        ("id",),
        (
            "id", "first_published_at", "last_published_at", "article_count", "source_count",
            "headline", "category", "dated",
        ),
    ),
    (
        "articles",
        ("id",),
        (
            "id", "url", "guid", "content_hash", "title", "body", "summary", "source", "author",
            "category", "published_at", "updated_at", "fetched_at", "guild_id", "story_id",
            "dated", "image_url",
        ),
    ),
    ("article_feeds", ("article_id", "feed_id"), ("article_id", "feed_id")),
    (
        "digests",
        ("channel_id", "digest_date"),
        (
            "channel_id", "digest_date", "guild_id", "status", "nonce", "claimed_at",
            "finished_at", "story_count", "message_ids", "error",
        ),
    ),
    (
        "digest_items",
        ("channel_id", "story_id", "digest_date"),
        ("channel_id", "story_id", "digest_date", "source_count"),
    ),
    (
        "channel_state",
        ("channel_id",),
        ("channel_id", "guild_id", "forbidden", "last_error", "last_error_at"),
    ),
    ("term_df", ("term",), ("term", "df")),
    (
        "story_index",
        ("story_id",),
        ("story_id", "centroid", "sources", "members", "grams", "short"),
    ),
    ("story_postings", ("story_id", "term"), ("term", "story_id", "at", "weight")),
    (
        "pages",
        ("url",),
        ("url", "state", "fetched_at", "etag", "last_modified", "failures", "retry_at", "error"),
    ),
    (
        "heartbeats",
        ("process",),
        (
            "process", "shard_ids", "shard_count", "updated_at", "started_at", "pid", "gateway",
            "gateway_since", "poll_interval_s", "last_poll_at", "last_poll_ok_at",
        ),
    ),
    (
        "rebuild_state",
        ("id",),
        ("id", "start", "after_published", "after_id", "started_at", "clearing"),
    ),
    (
        "rebuild_sent",
        ("channel_id", "digest_date", "article_id"),
        ("channel_id", "digest_date", "source_count", "article_id"),
    ),
    (
        "alerts",
        ("channel_id", "story_id"),
        (
            "channel_id", "story_id", "alert_date", "guild_id", "status", "nonce", "headline",
            "url", "source_count", "claimed_at", "finished_at", "message_id", "error",
        ),
    ),
)  # fmt: skip

# Float columns: SQLite may hand back an int there (0 for 0.0), PostgreSQL wants a float.
_FLOATS = {("story_index", "short"), ("story_postings", "weight")}
_SEQUENCES = ("feeds", "stories", "articles")

CopyProgress = Callable[[str, int], None]  # (table, rows copied since the last call)


async def _count(db: Connection, table: str) -> int:
    ((n,),) = await db.execute_fetchall(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
    return int(n)


async def row_counts(db: Connection) -> dict[str, int]:
    """Rows per copied table."""
    return {table: await _count(db, table) for table, _, _ in TABLES}


async def non_empty_tables(db: Connection) -> list[str]:
    """The tables of ``db`` that already hold rows (a copy target must hold none)."""
    found = []
    for table, _, _ in TABLES:
        rows = await db.execute_fetchall(f"SELECT 1 FROM {table} LIMIT 1")  # noqa: S608
        if list(rows):
            found.append(table)
    return found


async def _begin_snapshot(db: Connection) -> None:
    if is_postgres(db):
        await db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
    else:
        await db.execute("BEGIN")  # deferred: a WAL read snapshot from the first read


async def copy_store(
    source: Connection, target: Connection, *, progress: CopyProgress | None = None
) -> list[CopiedTable]:
    """Copy every row of ``source`` into the empty store ``target``; the counts per table.

    Raises :class:`StoreError` when the target already holds data, or when a
    count differs after the copy (the target's transaction is then rolled back).
    """
    occupied = await non_empty_tables(target)
    if occupied:
        raise StoreError(
            "the target store is not empty (it has " + ", ".join(occupied) + "); "
            "copy into a new database"
        )
    await _begin_snapshot(source)
    try:
        expected = await row_counts(source)
        ((generation,),) = await source.execute_fetchall(
            "SELECT generation FROM store_generation WHERE id = 1"
        )
        async with transaction(target):
            for table, key, columns in TABLES:
                await _copy_table(source, target, table, key, columns, progress)
            await target.execute(
                "UPDATE store_generation SET generation = ? WHERE id = 1", (int(generation),)
            )
            copied = await row_counts(target)
            report = [CopiedTable(t, expected[t], copied[t]) for t, _, _ in TABLES]
            wrong = [c for c in report if c.source_rows != c.target_rows]
            if wrong:
                raise StoreError(
                    "the copy does not match the source ("
                    + ", ".join(f"{c.table}: {c.source_rows} vs {c.target_rows}" for c in wrong)
                    + "); nothing was kept"
                )
            if is_postgres(target):
                for table in _SEQUENCES:
                    await target.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"  # noqa: S608
                        f" COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
                    )
    finally:
        await source.execute("ROLLBACK")
    if is_postgres(target):
        # A bulk load leaves the planner without statistics (date-filtered
        # searches then pick bad plans: 0.4 s instead of milliseconds), the
        # search index's pending list full and no page marked all-visible:
        # autovacuum's work, done now (outside any transaction).
        await target.execute("VACUUM ANALYZE")
    return report


async def _copy_table(
    source: Connection,
    target: Connection,
    table: str,
    key: tuple[str, ...],
    columns: tuple[str, ...],
    progress: CopyProgress | None,
) -> None:
    listed = ", ".join(columns)
    order = ", ".join(key)
    marks = ", ".join("?" for _ in columns)
    after = f"({order}) > ({', '.join('?' for _ in key)})"
    insert = f"INSERT INTO {table} ({listed}) VALUES ({marks})"  # noqa: S608
    positions = [columns.index(k) for k in key]
    floats = [i for i, c in enumerate(columns) if (table, c) in _FLOATS]
    last: tuple[object, ...] | None = None
    while True:
        where = f" WHERE {after}" if last is not None else ""
        rows = list(
            await source.execute_fetchall(
                f"SELECT {listed} FROM {table}{where} ORDER BY {order} LIMIT {CHUNK}",  # noqa: S608
                last or (),
            )
        )
        if not rows:
            return
        values = [list(row) for row in rows]
        for i in floats:
            for value in values:
                if value[i] is not None:
                    value[i] = float(value[i])
        await target.executemany(insert, values)
        last = tuple(rows[-1][i] for i in positions)
        if progress is not None:
            progress(table, len(rows))


_EXPORT_PAGE = f"SELECT {EXPORT_COLUMNS} FROM articles WHERE id > ? ORDER BY id LIMIT 1000"  # noqa: S608


def iter_export_postgres(url: str) -> Iterator[dict[str, Any]]:
    """Every article of the PostgreSQL store at ``url`` as a JSON Lines record,
    like :func:`bot.store.articles.iter_export` for a file: synchronous, for a
    worker thread, on a connection (and event loop) of its own, a page at a time."""
    from .pg_db import open_postgres

    loop = asyncio.new_event_loop()
    try:
        db = loop.run_until_complete(open_postgres(url, create=False))
        try:
            after = 0
            while True:
                rows = list(loop.run_until_complete(db.execute_fetchall(_EXPORT_PAGE, (after,))))
                if not rows:
                    return
                for row in rows:
                    yield export_record(tuple(row))
                after = int(rows[-1][0])
        finally:
            loop.run_until_complete(db.close())
    finally:
        loop.close()
