"""Opening the SQLite store: pragmas, migrations, transactions."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from .migrations import MIGRATIONS

log = logging.getLogger(__name__)

SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """The database cannot be used (newer schema, unreadable file, ...)."""


class NoDatabaseError(StoreError):
    """``open_db(..., create=False)`` found no database file at the path."""

    def __init__(self, path: Path) -> None:
        super().__init__(f"no database at {path}")
        self.path = path


async def _apply_migrations(db: aiosqlite.Connection) -> int:
    async with db.execute("PRAGMA user_version") as cur:
        (version,) = await cur.fetchone()
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"database schema version {version} is newer than this Newsdesk "
            f"understands ({SCHEMA_VERSION}); upgrade Newsdesk"
        )
    for number in range(version + 1, SCHEMA_VERSION + 1):
        script = MIGRATIONS[number - 1]
        log.debug("applying database migration %d", number)
        # executescript() commits first; wrap the script so it is all-or-nothing.
        await db.executescript(
            f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
        )
    return SCHEMA_VERSION


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


async def open_db(path: str | Path, *, create: bool = True) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate the database at ``path``.

    ``":memory:"`` gives a private in-memory database (tests). With
    ``create=False`` a missing file raises :class:`NoDatabaseError` and
    nothing is created (commands that only read must not leave an empty
    database behind a mistyped path).
    """
    target = _connect_target(path, create=create)
    connecting = aiosqlite.connect(target, isolation_level=None, uri=target != str(path))
    try:
        db = await connecting
    except BaseException:
        # aiosqlite stops its worker thread after a failed connect but reports
        # that to this loop later; let it finish before anyone closes the loop.
        thread = getattr(connecting, "_thread", None)
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(thread.join, 5)
        raise
    try:
        db.row_factory = aiosqlite.Row
        await db.execute("PRAGMA journal_mode = WAL")
        await db.execute("PRAGMA synchronous = NORMAL")
        await db.execute("PRAGMA foreign_keys = ON")
        await db.execute("PRAGMA busy_timeout = 5000")
        await _apply_migrations(db)
    except BaseException:
        await db.close()
        raise
    return db


async def database_files(db: aiosqlite.Connection) -> list[Path]:
    """The files of the database behind ``db``: the main file and its ``-wal``,
    ``-shm`` and ``-journal`` companions (whether or not they exist now);
    empty for an in-memory database."""
    rows = await db.execute_fetchall("PRAGMA database_list")
    files: list[Path] = []
    for row in rows:
        if row[1] == "main" and row[2]:
            main = Path(row[2])
            files += [main, *(main.with_name(main.name + end) for end in _COMPANIONS)]
    return files


_COMPANIONS = ("-wal", "-shm", "-journal")


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
        await db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        else:
            await db.execute("COMMIT")
