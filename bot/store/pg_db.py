"""Opening a PostgreSQL store: connect, migrate, and the one-writer transaction.

Writes are serialised across every process on the database by a
transaction-scoped advisory lock, taken first thing in each write
transaction. That gives PostgreSQL the same one-writer-at-a-time rule as
SQLite's ``BEGIN IMMEDIATE``, which the store's writers are built on (the
clustering planner's generation check, batch inserts taking ascending ids);
readers never wait (MVCC). Claims that must hold across processes (a digest,
an alert, a feed to poll) also rely on primary keys and
``INSERT ... ON CONFLICT``, not on the lock alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, cast

import asyncpg

from ..database_url import redact
from .pg_migrations import MIGRATIONS
from .postgres import PostgresConnection, connect

if TYPE_CHECKING:
    from .db import Connection

log = logging.getLogger(__name__)

# pg_advisory_xact_lock keys (any 64-bit numbers; these spell "nwsd" and "migr").
WRITER_LOCK = 0x6E777364
MIGRATION_LOCK = 0x6D696772
CONNECT_TIMEOUT_S = 10.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version BIGINT PRIMARY KEY,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""


async def open_postgres(url: str, *, create: bool = True) -> Connection:
    """Connect to ``url`` and bring its schema up to date.

    Connection problems raise :class:`~bot.store.db.StoreError` with one line
    that names the server without its password. ``create=False`` refuses a
    database that holds no Newsdesk store yet (``NoDatabaseError``).
    """
    from .db import SCHEMA_VERSION, NoDatabaseError, StoreError

    try:
        raw = await asyncio.wait_for(connect(url), CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise StoreError(
            f"cannot connect to the PostgreSQL database {redact(url)}: {detail}"
        ) from None
    db = PostgresConnection(raw, url)
    try:
        version = await _version(db)
        if version == 0 and not create:
            raise NoDatabaseError(redact(url))
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"database schema version {version} is newer than this Newsdesk "
                f"understands ({SCHEMA_VERSION}); upgrade Newsdesk"
            )
        if version < SCHEMA_VERSION:
            await _migrate(db)
    except BaseException:
        await db.close()
        raise
    return cast("Connection", db)


async def _version(db: PostgresConnection) -> int:
    rows = await db.execute_fetchall(
        "SELECT to_regclass('schema_migrations') IS NOT NULL AS present"
    )
    if not rows[0]["present"]:
        return 0
    rows = await db.execute_fetchall("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
    return int(rows[0][0])


async def _migrate(db: PostgresConnection) -> None:
    """Apply the missing versions, each in one transaction, one process at a time."""
    from .db import SCHEMA_VERSION

    started = time.monotonic()
    await db.executescript(
        f"BEGIN; SELECT pg_advisory_xact_lock({MIGRATION_LOCK}); {SCHEMA}; COMMIT"
    )
    for number in range(1, SCHEMA_VERSION + 1):
        script = MIGRATIONS.get(number)
        if script is None:
            continue
        await db.executescript("BEGIN")
        try:
            await db.executescript(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            if await _version(db) < number:  # another process may have applied it meanwhile
                log.debug("applying PostgreSQL migration %d", number)
                await db.executescript(script)
                await db.execute("INSERT INTO schema_migrations (version) VALUES (?)", (number,))
            await db.executescript("COMMIT")
        except BaseException:
            if db.in_transaction:
                await db.executescript("ROLLBACK")
            raise
    log.debug("PostgreSQL schema ready in %.2f s", time.monotonic() - started)


async def begin_serialised(db: Connection) -> None:
    """``BEGIN`` and the store-wide writer lock (waits for another process's writer)."""
    await db.execute("BEGIN")
    try:
        await db.execute(f"SELECT pg_advisory_xact_lock({WRITER_LOCK})")
    except BaseException:
        await db.execute("ROLLBACK")
        raise


async def integrity_problems(db: Connection) -> list[str]:
    """What PostgreSQL-side checks find wrong: every article must be in the
    search index (the ``search`` column is generated, so this checks the
    generation ran), and the schema must be the one this Newsdesk knows."""
    problems: list[str] = []
    ((missing,),) = await db.execute_fetchall("SELECT COUNT(*) FROM articles WHERE search IS NULL")
    if missing:
        problems.append(f"search index: {missing} articles not indexed (run `newsdesk db repair`)")
    return problems


async def rebuild_search_index(db: Connection) -> None:
    """Rebuild the search index (``REINDEX``; the vectors themselves are generated)."""
    await db.execute("REINDEX INDEX articles_search")
