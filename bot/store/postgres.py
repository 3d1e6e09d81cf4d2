"""The PostgreSQL connection (asyncpg), shaped like the SQLite one.

Every store module takes one ``Connection`` and runs its SQL through
``execute``/``execute_fetchall``/``executemany``; this class gives an asyncpg
connection that surface, so the modules are written once:

* the SQL is written with SQLite's placeholders (``?``, ``?NNN``, ``:name``)
  and rewritten here to PostgreSQL's ``$n`` (once per statement text, cached);
* rows are asyncpg ``Record`` objects, which read by index and by column name
  as ``sqlite3.Row`` does;
* ``execute`` gives a cursor with ``fetchone``/``fetchall`` and ``rowcount``;
* statements run one at a time on the one connection (asyncpg refuses a second
  query while one is in flight; aiosqlite queues them the same way).

Where the two dialects really differ (full-text search, upserts with scalar
``max``, ``json_each``), the store module asks :func:`is_postgres` and writes
each; everything else is the SQL both accept.

asyncpg rather than psycopg 3: it is asyncio-native, binary protocol with
server-side prepared statements (kept here per statement text), and its
``Record`` reads like ``sqlite3.Row``, so no store function changes how it
reads a row.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from collections.abc import Generator, Iterable, Mapping, Sequence
from typing import Any

import asyncpg

from ..database_url import redact
from .dialect import PostgresDriverError

log = logging.getLogger(__name__)

STATEMENT_CACHE = 512  # prepared statements kept per connection

Params = Sequence[Any] | Mapping[str, Any]


# A placeholder outside string literals, quoted names and comments: ``?``,
# ``?NNN`` or ``:name`` (not ``::type``, a cast).
_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|::|\?(\d*)|:([A-Za-z_]\w*)""",
    re.S,
)


class Translated:
    """A statement in PostgreSQL's placeholders, and how to order its arguments."""

    __slots__ = ("sql", "names", "positions")

    def __init__(self, sql: str) -> None:
        names: list[str] = []
        positions: list[int] = []
        seen: dict[str | int, int] = {}
        counter = 0

        def replace(match: re.Match[str]) -> str:
            nonlocal counter
            text = match.group(0)
            if text[0] not in "?:" or text == "::":
                return text
            key: str | int
            if text[0] == "?":
                if match.group(1):
                    key = int(match.group(1)) - 1
                else:
                    key = counter
                    counter += 1
            else:
                key = match.group(2)
            if key not in seen:
                seen[key] = len(seen) + 1
                if isinstance(key, int):
                    positions.append(key)
                else:
                    names.append(key)
            return f"${seen[key]}"

        self.sql = _TOKEN.sub(replace, sql)
        self.names = names
        self.positions = positions

    def arguments(self, params: Params | None) -> list[Any]:
        if params is None:
            return []
        if isinstance(params, Mapping):
            return [params[name] for name in self.names]
        return [params[i] for i in self.positions]


_translations: dict[str, Translated] = {}


def translate(sql: str) -> Translated:
    found = _translations.get(sql)
    if found is None:
        if len(_translations) > 4096:
            _translations.clear()
        found = _translations[sql] = Translated(sql)
    return found


def _rowcount(status: str | None) -> int:
    """The row count in a command tag (``UPDATE 3``, ``INSERT 0 1``), else -1."""
    if not status:
        return -1
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else -1


class Cursor:
    """The rows and row count of one statement (what the store reads of a cursor)."""

    __slots__ = ("_rows", "rowcount", "lastrowid")

    def __init__(self, rows: list[asyncpg.Record], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount
        self.lastrowid: int | None = None

    async def fetchone(self) -> asyncpg.Record | None:
        return self._rows[0] if self._rows else None

    async def fetchall(self) -> list[asyncpg.Record]:
        return self._rows

    async def fetchmany(self, size: int) -> list[asyncpg.Record]:
        taken, self._rows = self._rows[:size], self._rows[size:]
        return taken

    async def close(self) -> None:
        return None


class _Execution:
    """``await db.execute(...)`` and ``async with db.execute(...) as cur``."""

    __slots__ = ("_run",)

    def __init__(self, run: Any) -> None:
        self._run = run

    def __await__(self) -> Generator[Any, None, Cursor]:
        return self._run.__await__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> Cursor:
        return await self._run  # type: ignore[no-any-return]

    async def __aexit__(self, *exc: object) -> None:
        return None


# Planner settings for the bot's own session (the server's defaults elsewhere).
# Parallel workers off: a bot runs many short queries at once, and with them on
# the planner scans every row's search vector in parallel for a common word
# (550 ms at 100,000 articles) rather than read the GIN index's matches (60 ms).
# random_page_cost 1.1: the usual value for SSD-backed servers (default 4).
SESSION_SETTINGS = {"max_parallel_workers_per_gather": "0", "random_page_cost": "1.1"}


async def connect(url: str) -> asyncpg.Connection:
    """An asyncpg connection with this store's session settings (statements are
    prepared and cached by :class:`PostgresConnection` itself)."""
    return await asyncpg.connect(url, statement_cache_size=0, server_settings=SESSION_SETTINGS)


class PostgresConnection:
    """One asyncpg connection with the surface the store uses of aiosqlite's."""

    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection, url: str) -> None:
        self._conn = conn
        self.url = url
        self._busy = asyncio.Lock()
        self._statements: OrderedDict[str, asyncpg.prepared_stmt.PreparedStatement] = OrderedDict()

    @property
    def raw(self) -> asyncpg.Connection:
        """The asyncpg connection itself (for ``COPY`` and advisory locks)."""
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return bool(self._conn.is_in_transaction())

    @property
    def total_changes(self) -> int:  # pragma: no cover - SQLite-only diagnostics
        return 0

    async def _live(self) -> asyncpg.Connection:
        """The connection, opened again first if the server closed it (a restart,
        a failover, an idle timeout): the statement that met the closed
        connection failed, the next one reconnects."""
        if self._conn.is_closed():
            log.warning("reconnecting to the PostgreSQL database %s", redact(self.url))
            self._statements.clear()
            self._conn = await connect(self.url)
        return self._conn

    async def _prepared(self, sql: str) -> asyncpg.prepared_stmt.PreparedStatement:
        stmt = self._statements.get(sql)
        if stmt is None:
            stmt = await self._conn.prepare(sql)
            self._statements[sql] = stmt
            if len(self._statements) > STATEMENT_CACHE:
                self._statements.popitem(last=False)
        else:
            self._statements.move_to_end(sql)
        return stmt

    async def _run(self, sql: str, params: Params | None) -> Cursor:
        statement = translate(sql)
        args = statement.arguments(params)
        async with self._busy:
            try:
                await self._live()
                stmt = await self._prepared(statement.sql)
                rows = await stmt.fetch(*args)
            except _ERRORS as exc:
                raise self._driver_error(exc) from exc
            return Cursor(rows, _rowcount(stmt.get_statusmsg()))

    def execute(self, sql: str, params: Params | None = None) -> _Execution:
        return _Execution(self._run(sql, params))

    async def execute_fetchall(
        self, sql: str, params: Params | None = None
    ) -> list[asyncpg.Record]:
        cursor = await self._run(sql, params)
        return await cursor.fetchall()

    async def executemany(self, sql: str, seq_of_params: Iterable[Params]) -> Cursor:
        statement = translate(sql)
        rows = [statement.arguments(p) for p in seq_of_params]
        if rows:
            async with self._busy:
                try:
                    await (await self._live()).executemany(statement.sql, rows)
                except _ERRORS as exc:
                    raise self._driver_error(exc) from exc
        return Cursor([], -1)

    async def executescript(self, script: str) -> None:
        """Run several statements without parameters (migrations)."""
        async with self._busy:
            self._statements.clear()  # a schema change invalidates prepared plans
            try:
                await (await self._live()).execute(script)
            except _ERRORS as exc:
                raise self._driver_error(exc) from exc

    def _driver_error(self, exc: BaseException) -> PostgresDriverError:
        """The server's or the network's error as the store's driver error: one
        line, its SQLSTATE kept. A lost connection is closed here, so the next
        statement opens a new one."""
        if isinstance(exc, asyncpg.PostgresError) and not _is_disconnect(exc):
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return PostgresDriverError(message, sqlstate=getattr(exc, "sqlstate", None))
        self._conn.terminate()
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        return PostgresDriverError(
            f"lost the connection to the PostgreSQL database {redact(self.url)} ({detail}); "
            "the next request connects again",
            sqlstate=getattr(exc, "sqlstate", None),
        )

    async def close(self) -> None:
        self._statements.clear()
        await self._conn.close()


# What a statement can raise: the server's errors, and a connection that is gone.
_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError)


def _is_disconnect(exc: asyncpg.PostgresError) -> bool:
    """The server ended the session (an administrator, a shutdown, a crash)."""
    return (getattr(exc, "sqlstate", None) or "").startswith(("57P", "08"))
