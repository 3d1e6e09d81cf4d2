"""Small helpers for building statements over many ids (SQLite's parameter limit)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

CHUNK = 900  # parameters per statement, under SQLite's default limit of 999


def chunks(values: Sequence[T], size: int = CHUNK) -> list[Sequence[T]]:
    """``values`` in slices of at most ``size``."""
    return [values[start : start + size] for start in range(0, len(values), size)]


def marks(values: Sequence[object]) -> str:
    """``?,?,?`` for ``values``."""
    return ",".join("?" * len(values))
