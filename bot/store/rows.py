"""Statements over many ids: slices under SQLite's parameter limit, one array on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

from .dialect import is_postgres

T = TypeVar("T")

CHUNK = 900  # parameters per statement, under SQLite's default limit of 999


def chunks(values: Sequence[T], size: int = CHUNK) -> list[Sequence[T]]:
    """``values`` in slices of at most ``size``."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def marks(values: Sequence[object]) -> str:
    """``?,?,?`` for ``values``."""
    return ",".join("?" * len(values))


def one_of(
    db: object, column: str, values: Sequence[object], sql_type: str = "BIGINT", size: int = CHUNK
) -> Iterator[tuple[str, list[object]]]:
    """``(condition, parameters)`` pairs that together select the rows whose
    ``column`` is one of ``values``: on SQLite ``column IN (?,?,...)`` per slice
    of ``size`` (its parameter limit); on PostgreSQL one ``column = ANY(?)``
    with the whole list as an array of ``sql_type`` (one prepared statement
    whatever the count). Nothing for no values."""
    if not values:
        return
    if is_postgres(db):
        yield f"{column} = ANY(CAST(? AS {sql_type}[]))", [list(values)]
        return
    for chunk in chunks(values, size):
        yield f"{column} IN ({marks(chunk)})", list(chunk)
