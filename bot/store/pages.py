"""The page cache of full-text fetching (:mod:`bot.ingest.fulltext`), in ``pages``.

One row per article page a feed linked to, keyed by the page's canonical URL:
whether fetching it worked, its validators for conditional requests, and when
to try again after a failure. The page's text is not kept here: it is the body
of the stored article with the same URL, read back by :func:`lookup_pages`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import aiosqlite

from ..models import PageRecord
from .dialect import is_postgres, values_param
from .feeds import from_ts, to_ts

_ERROR_MAX_CHARS = 300

# Every URL asked about, with its page row and its stored article, if any.
_LOOKUP = (
    "SELECT u.value AS url, p.state, p.fetched_at, p.etag, p.last_modified, p.failures,"
    " p.retry_at, p.error, a.body"
    " FROM ({urls}) AS u"
    " LEFT JOIN pages AS p ON p.url = u.value"
    " LEFT JOIN articles AS a ON a.url = u.value"
    " WHERE p.url IS NOT NULL OR a.id IS NOT NULL"
)
# The distinct URLs of the one list parameter, as a column ``value``.
_URLS_SQLITE = _LOOKUP.format(urls="SELECT DISTINCT value FROM json_each(?)")
_URLS_POSTGRES = _LOOKUP.format(urls="SELECT DISTINCT unnest(CAST(? AS TEXT[])) AS value")
_SAVE = (
    "INSERT INTO pages (url, state, fetched_at, etag, last_modified, failures, retry_at, error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (url) DO UPDATE SET state = excluded.state, fetched_at = excluded.fetched_at,"
    " etag = excluded.etag, last_modified = excluded.last_modified,"
    " failures = excluded.failures, retry_at = excluded.retry_at, error = excluded.error"
)


async def lookup_pages(db: aiosqlite.Connection, urls: Iterable[str]) -> dict[str, PageRecord]:
    """What is known of each canonical URL in ``urls`` (one query); unknown ones are absent."""
    wanted = list(dict.fromkeys(urls))
    if not wanted:
        return {}
    found: dict[str, PageRecord] = {}
    sql = _URLS_POSTGRES if is_postgres(db) else _URLS_SQLITE
    async with db.execute(sql, (values_param(db, wanted),)) as cur:
        for row in await cur.fetchall():
            found[row[0]] = PageRecord(
                url=row[0],
                state=row[1],
                fetched_at=from_ts(row[2]),
                etag=row[3],
                last_modified=row[4],
                failures=row[5] or 0,
                retry_at=from_ts(row[6]),
                error=row[7],
                article_body=row[8],
            )
    return found


async def save_pages(db: aiosqlite.Connection, records: Iterable[PageRecord]) -> None:
    """Insert or replace the page rows of ``records`` (run it inside a transaction)."""
    rows = []
    for r in records:
        if r.state not in {"ok", "thin", "failed"} or r.fetched_at is None:
            raise ValueError(f"page record for {r.url!r} needs a state and fetched_at")
        rows.append(
            (
                r.url,
                r.state,
                to_ts(r.fetched_at),
                r.etag,
                r.last_modified,
                r.failures,
                None if r.retry_at is None else to_ts(r.retry_at),
                (r.error or "")[:_ERROR_MAX_CHARS] or None,
            )
        )
    if rows:
        await db.executemany(_SAVE, rows)


async def prune_pages(db: aiosqlite.Connection, *, before: datetime) -> int:
    """Forget pages last tried before ``before``; returns how many.

    Their articles keep their text (and are still found by URL); only the
    validators and failure history of pages long gone from feeds are dropped.
    """
    cur = await db.execute("DELETE FROM pages WHERE fetched_at < ?", (to_ts(before),))
    return cur.rowcount
