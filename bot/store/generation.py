"""Plan away from the write lock, write only if nothing moved: optimistic writes.

Clustering a batch is CPU work (vectors, average-link grouping) that can take
seconds on a big one-topic batch; holding the write lock (SQLite's, or the
PostgreSQL store's advisory lock) that long makes every other writer (the
bot's poll, a digest's bookkeeping, a second ingest) wait. So a writer of articles or stories reads what it needs and plans with no
transaction open, then opens a short one that first advances the store's
generation counter from the value it read: if another writer advanced it in
between, nothing is written and the step is planned again. After a few lost
races it plans inside the transaction, so it always makes progress.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiosqlite

from .db import transaction

log = logging.getLogger(__name__)

T = TypeVar("T")
P = TypeVar("P")

OPTIMISTIC_TRIES = 3  # plans made outside the lock before one is made inside it


async def generation(db: aiosqlite.Connection) -> int:
    ((value,),) = await db.execute_fetchall("SELECT generation FROM store_generation")
    return int(value)


async def advance(db: aiosqlite.Connection, expected: int | None = None) -> bool:
    """Advance the counter (inside a transaction); False if it is not ``expected``."""
    if expected is None:
        await db.execute("UPDATE store_generation SET generation = generation + 1")
        return True
    cursor = await db.execute(
        "UPDATE store_generation SET generation = generation + 1 WHERE generation = ?",
        (expected,),
    )
    return cursor.rowcount == 1


async def write_planned(
    db: aiosqlite.Connection,
    plan: Callable[[], Awaitable[P | None]],
    write: Callable[[P], Awaitable[T]],
    *,
    tries: int = OPTIMISTIC_TRIES,
) -> T | None:
    """``write(await plan())`` in one short transaction, planned outside it.

    ``plan`` only reads, and returns None when there is nothing to write
    (then no transaction is opened and None is returned); ``write`` only
    writes what the plan says. Neither may open a transaction of its own.
    """
    for _ in range(tries):
        seen = await generation(db)
        planned = await plan()
        if planned is None:
            return None
        async with transaction(db):
            if await advance(db, seen):
                return await write(planned)
        log.debug("another writer went first; planning again")
    async with transaction(db):
        planned = await plan()
        if planned is None:
            return None
        await advance(db)
        return await write(planned)
