"""Opening the store: SQLite (a file, pragmas) or PostgreSQL (a URL); migrations, transactions.

The SQLite side is here; the PostgreSQL side is :mod:`bot.store.pg_db`,
loaded only when a ``postgresql://`` URL is opened.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import sqlite3
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from ..database_url import is_postgres_url
from .dialect import PostgresDriverError, is_postgres
from .migrations import MIGRATIONS

log = logging.getLogger(__name__)

SCHEMA_VERSION = len(MIGRATIONS)

# The handle every store function takes. Code outside ``bot/store`` names it
# only as this alias (under TYPE_CHECKING), never by importing the driver. A
# PostgreSQL store hands out ``bot.store.postgres.PostgresConnection``, which
# has the part of this interface the store uses.
Connection = aiosqlite.Connection


# Every error a driver raises (``sqlite3.Error`` and its subclasses, and the
# PostgreSQL adapter's one error). Code outside the store catches them under
# this name, never by importing a driver.
DriverError = (sqlite3.Error, PostgresDriverError)


class StoreError(Exception):
    """The database cannot be used (newer schema, unreadable file, ...)."""


class NoDatabaseError(StoreError):
    """``open_db(..., create=False)`` found no database file at the path (or
    no Newsdesk store in the PostgreSQL database: ``path`` is then its URL,
    without the password)."""

    def __init__(self, path: Path | str) -> None:
        super().__init__(f"no database at {path}")
        self.path = path


async def _user_version(db: aiosqlite.Connection) -> int:
    """The schema version the file says it has (0: a new file)."""
    async with db.execute("PRAGMA user_version") as cur:
        row = await cur.fetchone()
    return int(row[0]) if row is not None else 0


async def _apply_migrations(db: aiosqlite.Connection) -> int:
    version = await _user_version(db)
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database schema version {version} is newer than this Newsdesk "
            f"understands ({SCHEMA_VERSION}); upgrade Newsdesk"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        script = MIGRATIONS[number - 1]
        log.debug("applying database migration %d", number)
        started = time.monotonic()
        failures = 0
        while True:
            if await _user_version(db) >= number:  # another process applied it while we waited
                break
            try:
                # executescript() commits first; wrap the script so it is all-or-nothing.
                await db.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
                )
            except sqlite3.OperationalError as exc:
                if db.in_transaction:  # the script failed half-way: undo it
                    await db.execute("ROLLBACK")
                if not is_busy(exc):
                    # Another process may have applied this migration between our
                    # version check and our lock ("table ... already exists"): the
                    # loop's check finds it done. A script that keeps failing is ours.
                    failures += 1
                    if failures > 3:
                        raise
                    await asyncio.sleep(0.05 * failures)
                    continue
                _log_wait(started)
                await asyncio.sleep(0.05)
                continue
            break
    return SCHEMA_VERSION


async def _switch_to_wal(db: aiosqlite.Connection) -> None:
    """``PRAGMA journal_mode = WAL``: a new file's first switch answers "locked"
    at once (no busy timeout) while another process is creating the file too."""
    started = time.monotonic()
    while True:
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if not is_busy(exc) or time.monotonic() - started > BUSY_TIMEOUT_MS / 1000:
                raise
            await asyncio.sleep(0.02)


class DamagedDatabaseError(StoreError):
    """``PRAGMA quick_check`` (or SQLite itself) found the file damaged."""


# How long one attempt to take the write lock waits inside SQLite; a writer
# that does not get it logs a wait and tries again, as long as it takes.
BUSY_TIMEOUT_MS = 5000
HOLD_LOG_SECONDS = 0.5  # longer write transactions are logged at DEBUG (measuring)


def is_busy(exc: BaseException) -> bool:
    """Another connection holds the lock (``SQLITE_BUSY``/``SQLITE_LOCKED``)."""
    return isinstance(exc, sqlite3.OperationalError) and (
        "database is locked" in str(exc) or "database table is locked" in str(exc)
    )


# PostgreSQL's SQLSTATE codes for the same faults (disk_full, out of memory,
# read-only transaction, lock not available, data corrupted, index corrupted).
_SQLSTATES = {
    "53100": "disk full",
    "25006": "read-only",
    "55P03": "locked",
    "XX001": "damaged",
    "XX002": "damaged",
}


def describe_storage_error(exc: BaseException) -> str | None:
    """A plain name for the storage faults a user can act on, or ``None``:
    ``"disk full"`` (also an ``OSError`` with ``ENOSPC``), ``"damaged"``,
    ``"read-only"`` or ``"locked"``."""
    kind = _SQLSTATES.get((getattr(exc, "sqlstate", None) or "")[:5])
    if kind is not None:
        return kind
    text = str(exc).lower()
    if "database or disk is full" in text or getattr(exc, "errno", None) == errno.ENOSPC:
        return "disk full"
    if "malformed" in text or "damaged" in text:
        return "damaged"
    if "readonly database" in text or "read-only" in text:
        return "read-only"
    if "database is locked" in text:
        return "locked"
    return None


def _connect_target(path: str | Path, *, create: bool) -> str:
    """What to hand ``sqlite3.connect``: the path, or a ``mode=rw`` URI that never creates."""
    if str(path) == ":memory:":
        return ":memory:"
    if Path(path).is_dir():
        raise StoreError(f"{path} is a folder, not a database file")
    if create:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return str(path)
    if not Path(path).is_file():
        raise NoDatabaseError(Path(path))
    return f"{Path(path).absolute().as_uri()}?mode=rw"


async def _connect(target: str, *, uri: bool) -> aiosqlite.Connection:
    connecting = aiosqlite.connect(target, isolation_level=None, uri=uri)
    try:
        return await connecting
    except BaseException:
        # aiosqlite stops its worker thread after a failed connect but reports
        # that to this loop later; let it finish before anyone closes the loop.
        thread = getattr(connecting, "_thread", None)
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, 5)
        raise


async def _open_read_only(path: Path) -> aiosqlite.Connection | None:
    """``path`` opened read-only (no WAL switch, no migration, no write), or
    ``None`` when its schema is older than ours and needs a writer's migration.

    A WAL database on a read-only disk without its ``-shm`` file can only be
    read as ``immutable`` (nobody can be writing to it there)."""
    uri = _read_only_uri(path)
    last: BaseException | None = None
    for query in ("?mode=ro", "?mode=ro&immutable=1"):
        db = await _connect(uri + query, uri=True)
        try:
            db.row_factory = aiosqlite.Row
            await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            version = await _user_version(db)
        except sqlite3.OperationalError as exc:
            await db.close()
            if "unable to open" not in str(exc):
                raise
            last = exc
            continue
        except BaseException:
            await db.close()
            raise
        if version > SCHEMA_VERSION:
            await db.close()
            raise StoreError(
                f"database schema version {version} is newer than this Newsdesk "
                f"understands ({SCHEMA_VERSION}); upgrade Newsdesk"
            )
        if version < SCHEMA_VERSION:
            await db.close()
            return None
        return db
    assert last is not None
    raise last


def _read_only_uri(path: Path) -> str:
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a database file")
    if not path.is_file():
        raise NoDatabaseError(path)
    return path.absolute().as_uri()


async def quick_check(db: aiosqlite.Connection) -> None:
    """Raise :class:`DamagedDatabaseError` unless ``PRAGMA quick_check`` says ok."""
    try:
        rows = await db.execute_fetchall("PRAGMA quick_check(3)")
    except sqlite3.DatabaseError as exc:
        if describe_storage_error(exc) != "damaged":
            raise
        raise DamagedDatabaseError(_damaged(str(exc))) from None
    problems = [row[0] for row in rows if row[0] != "ok"]
    if problems:
        raise DamagedDatabaseError(_damaged("; ".join(problems)))


def _damaged(detail: str) -> str:
    detail = " ".join(detail.split())[:200]
    return f"the database file is damaged ({detail}); restore it from a backup"


async def open_db(
    path: str | Path, *, create: bool = True, read_only: bool = False, check: bool | None = None
) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the database at ``path``.

    ``":memory:"`` gives a private in-memory database (tests). With
    ``create=False`` a missing file raises :class:`NoDatabaseError` and
    nothing is created (commands that only read must not leave an empty
    database behind a mistyped path).

    ``read_only=True`` (commands that only read) opens the file read-only:
    nothing is switched or written, so a read-only file or disk works; a
    schema that still needs a migration is opened as a writer instead.
    Writers (``check``, default: a file opened for writing) run
    ``PRAGMA quick_check`` first and refuse a damaged file with
    :class:`DamagedDatabaseError`.
    """
    if is_postgres_url(path):
        from .pg_db import open_postgres

        return await open_postgres(str(path), create=create)
    if read_only and str(path) != ":memory:":
        try:
            db = await _open_read_only(Path(path))
        except sqlite3.DatabaseError as exc:
            if describe_storage_error(exc) == "damaged":
                raise DamagedDatabaseError(_damaged(str(exc))) from None
            raise
        if db is not None:
            return db
    target = _connect_target(path, create=create)
    db = await _connect(target, uri=target != str(path))
    try:
        db.row_factory = aiosqlite.Row
        await db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if check if check is not None else str(path) != ":memory:":
            await quick_check(db)
        await _switch_to_wal(db)
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await _apply_migrations(db)
    except sqlite3.DatabaseError as exc:
        await db.close()
        if describe_storage_error(exc) == "damaged":
            raise DamagedDatabaseError(_damaged(str(exc))) from None
        raise
    except BaseException:
        await db.close()
        raise
    return db


async def database_files(db: aiosqlite.Connection) -> list[Path]:
    """The files of the database behind ``db``: the main file and its ``-wal``,
    ``-shm`` and ``-journal`` companions (whether or not they exist now);
    empty for an in-memory database or a PostgreSQL server."""
    if is_postgres(db):
        return []
    rows = await db.execute_fetchall("PRAGMA database_list")
    files: list[Path] = []
    for row in rows:
        if row[1] == "main" and row[2]:
            files += store_files(Path(row[2]))
    return files


def store_files(main: Path) -> list[Path]:
    """An SQLite database file and its ``-wal``, ``-shm`` and ``-journal`` companions."""
    return [main, *(main.with_name(main.name + end) for end in ("-wal", "-shm", "-journal"))]


_write_locks: weakref.WeakKeyDictionary[aiosqlite.Connection, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def write_lock(db: aiosqlite.Connection) -> asyncio.Lock:
    """The lock that serialises transactions on ``db`` within this process.

    Every task (the poller, a slash command, a digest) shares one connection;
    without it two tasks would nest ``BEGIN`` or commit each other's writes.
    """
    lock = _write_locks.get(db)
    if lock is None:
        lock = _write_locks[db] = asyncio.Lock()
    return lock


@asynccontextmanager
async def transaction(db: aiosqlite.Connection) -> AsyncIterator[aiosqlite.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back on any exception.

    The connection runs in autocommit mode (``isolation_level=None``), so
    everything outside such a block commits statement by statement. Writers
    that must not interleave with another task's transaction use this block;
    it holds :func:`write_lock` for its whole length (it is not re-entrant).
    """
    async with write_lock(db):
        if is_postgres(db):
            from .pg_db import begin_serialised

            await begin_serialised(db)
        else:
            await begin_immediate(db)
        began = time.monotonic()
        try:
            yield db
        except BaseException:
            # A failed statement (disk full, I/O error) may have ended the
            # transaction already; a second error would hide the first.
            if db.in_transaction:
                try:
                    await db.execute("ROLLBACK")
                except DriverError as exc:
                    log.warning("rollback failed: %s", exc)
            raise
        else:
            await db.execute("COMMIT")
        finally:
            held = time.monotonic() - began
            if held > HOLD_LOG_SECONDS:
                log.debug("a write transaction held the database lock for %.2f s", held)


async def begin_immediate(db: aiosqlite.Connection) -> None:
    """``BEGIN IMMEDIATE``, waiting as long as another process holds the write
    lock: each ``busy_timeout`` that passes logs one line, then it tries again."""
    started = time.monotonic()
    waits = 0
    while True:
        try:
            await db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            waits += 1
            _log_wait(started)
            await asyncio.sleep(0.05)
            continue
        if waits:
            log.info("got the database lock after %.1f s", time.monotonic() - started)
        return


async def integrity_problems(db: aiosqlite.Connection) -> list[str]:
    """What ``PRAGMA integrity_check`` and the full-text index's own check
    (``'integrity-check'`` with ``rank = 1``, which also compares the index
    with the articles) find wrong; empty when the store is sound."""
    if is_postgres(db):
        from .pg_db import integrity_problems as pg_problems

        return await pg_problems(db)
    problems: list[str] = []
    try:
        rows = await db.execute_fetchall("PRAGMA integrity_check(5)")
        problems += [f"file: {row[0]}" for row in rows if row[0] != "ok"]
    except sqlite3.DatabaseError as exc:
        problems.append(f"file: {exc}")
    if problems:
        return problems
    try:
        await db.execute(
            "INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)"
        )
    except sqlite3.DatabaseError as exc:
        problems.append(f"search index: {exc} (run `newsdesk db repair`)")
    return problems


async def rebuild_search_index(db: aiosqlite.Connection) -> None:
    """Rebuild the full-text index from the articles, in one transaction."""
    if is_postgres(db):
        from .pg_db import rebuild_search_index as pg_rebuild

        await pg_rebuild(db)
        return
    async with transaction(db):
        await db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")


def connect_read_only(path: Path) -> sqlite3.Connection:
    """A synchronous read-only connection (worker threads), with the same
    ``immutable`` fallback as :func:`open_db` for a read-only disk."""
    uri = path.absolute().as_uri()
    conn = sqlite3.connect(f"{uri}?mode=ro", uri=True)
    try:
        conn.execute("PRAGMA user_version").fetchone()
    except sqlite3.OperationalError as exc:
        conn.close()
        if "unable to open" not in str(exc):
            raise
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True)
    return conn


def _log_wait(started: float) -> None:
    log.warning(
        "waiting for the database: another process is writing (%.0f s so far)",
        time.monotonic() - started,
    )
