"""Which database a store location or handle is, without loading a driver.

SQLite (a file path, the default) and PostgreSQL (a ``postgresql://`` URL).
The PostgreSQL driver is imported only when such a URL is opened, so
commands on an SQLite store never pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from ..database_url import is_postgres_url, redact


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


__all__ = [
    "PostgresDriverError",
    "in_values",
    "is_postgres",
    "is_postgres_url",
    "redact",
    "values_param",
]
