"""Which database a store handle is, and the SQL pieces that differ, without
loading a driver (a location's kind is ``bot.database_url``'s rule).

The PostgreSQL driver is imported only when a ``postgresql://`` URL is
opened, so commands on an SQLite store never pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable


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
