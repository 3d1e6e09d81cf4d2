"""Which database a store handle is, and the SQL pieces that differ, without
loading a driver (a location's kind is ``bot.database_url``'s rule).

The PostgreSQL driver is imported only when a ``postgresql://`` URL is
opened, so commands on an SQLite store never pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any


def is_postgres(db: object) -> bool:
    """Whether the store handle ``db`` is a PostgreSQL connection."""
    return getattr(db, "dialect", "sqlite") == "postgresql"


class PostgresDriverError(Exception):
    """An error the PostgreSQL server or driver reported, as one line."""

    def __init__(self, message: str, *, sqlstate: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate


def in_values(db: object, sql_type: str = "BIGINT") -> str:
    """A subquery of the values of one list parameter, for ``x IN (...)``:
    pass the list through :func:`values_param`. SQLite reads a JSON array
    (``json_each``), PostgreSQL an array of ``sql_type``."""
    if is_postgres(db):
        return f"SELECT unnest(CAST(? AS {sql_type}[]))"
    return "SELECT value FROM json_each(?)"


def values_param(db: object, values: Iterable[object]) -> object:
    """The parameter :func:`in_values` reads: a JSON array, or a list."""
    if is_postgres(db):
        return list(values)
    return json.dumps(list(values))


async def insert_rows(
    db: Any, into: str, rows: Sequence[Sequence[object]], *, conflict: str = ""
) -> None:
    """``INSERT INTO {into} VALUES (...) {conflict}`` for each of ``rows``.

    On SQLite the rows go in as one JSON array read by ``json_each``: one
    statement, which SQLite runs to the end without coming back to Python for
    each row (``executemany`` takes Python's lock around every row, and waits
    for it whenever another thread is busy). Text holding a NUL character
    (JSON would cut it there) and PostgreSQL (asyncpg pipelines the rows) take
    ``executemany``. ``into`` (table and columns) and ``conflict`` are the
    store's own SQL, never input.
    """
    if not rows:
        return
    width = len(rows[0])
    if not is_postgres(db):
        payload = json.dumps(rows, ensure_ascii=False, allow_nan=False)
        if "\\u0000" not in payload:
            columns = ", ".join(f"value ->> {k}" for k in range(width))
            await db.execute(
                f"INSERT INTO {into} SELECT {columns} FROM json_each(?)"  # noqa: S608
                f" WHERE true ORDER BY key {conflict}",  # in the rows' order: ids follow it
                (payload,),
            )
            return
    marks = ", ".join("?" * width)
    await db.executemany(f"INSERT INTO {into} VALUES ({marks}) {conflict}", rows)  # noqa: S608
