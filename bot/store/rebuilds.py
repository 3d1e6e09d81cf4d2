"""A story rebuild in progress (see MIGRATION_9): resumable, history kept throughout.

The clearing transaction records the rebuild and which articles each channel
was already sent (``rebuild_sent``, durably); each regrouped batch commits with
its cursor and hands its articles' new stories that history; the end restores
the whole history once more and forgets the rebuild.
"""

from __future__ import annotations

import aiosqlite

from ..models import RebuildCursor
from .dialect import in_values, values_param


async def pending_rebuild(db: aiosqlite.Connection) -> RebuildCursor | None:
    """Where a rebuild that did not finish had got to."""
    rows = list(
        await db.execute_fetchall(
            "SELECT start, after_published, after_id, clearing FROM rebuild_state WHERE id = 1"
        )
    )
    if not rows:
        return None
    row = rows[0]
    return RebuildCursor(
        start=row[0], after_published=row[1], after_id=row[2], clearing=bool(row[3])
    )


async def begin_rebuild(
    db: aiosqlite.Connection, start: int, *, now: int, clearing: bool = False
) -> None:
    """Record a rebuild of articles published since ``start`` and which of them
    each channel was already sent, before any of them leaves its story.
    ``clearing``: every story is to be cleared first (a full rebuild)."""
    await db.execute("DELETE FROM rebuild_sent")
    await db.execute(
        "INSERT INTO rebuild_sent (channel_id, digest_date, source_count, article_id)"
        " SELECT d.channel_id, d.digest_date, d.source_count, a.id FROM digest_items AS d"
        " JOIN articles AS a ON a.story_id = d.story_id WHERE a.published_at >= ?"
        " ON CONFLICT DO NOTHING",
        (start,),
    )
    await db.execute(
        "INSERT INTO rebuild_state (id, start, after_published, after_id, started_at, clearing)"
        " VALUES (1, ?, ?, -1, ?, ?) ON CONFLICT (id) DO UPDATE SET start = excluded.start,"
        " after_published = excluded.after_published, after_id = excluded.after_id,"
        " started_at = excluded.started_at, clearing = excluded.clearing",
        (start, start, now, int(clearing)),
    )


async def advance_rebuild(
    db: aiosqlite.Connection, after: RebuildCursor, article_ids: list[int]
) -> None:
    """A batch is regrouped: give its new stories the channels' history, move the cursor."""
    if article_ids:
        await db.execute(
            f"{_RESTORE_SENT} AND s.article_id IN ({in_values(db)}) {_RESTORE_GROUP}",  # noqa: S608
            (values_param(db, article_ids),),
        )
    await db.execute(
        "UPDATE rebuild_state SET after_published = ?, after_id = ? WHERE id = 1",
        (after.after_published, after.after_id),
    )


async def finish_rebuild(db: aiosqlite.Connection) -> None:
    """Every article regrouped: restore the whole history once more and forget the rebuild."""
    await db.execute(_RESTORE_SENT + " " + _RESTORE_GROUP)
    await db.execute("DELETE FROM rebuild_sent")
    await db.execute("DELETE FROM rebuild_state")


_RESTORE_SENT = (
    "INSERT INTO digest_items (channel_id, story_id, digest_date, source_count)"
    " SELECT s.channel_id, a.story_id, s.digest_date, MAX(s.source_count)"
    " FROM rebuild_sent AS s JOIN articles AS a ON a.id = s.article_id"
    " WHERE a.story_id IS NOT NULL"
)
_RESTORE_GROUP = "GROUP BY s.channel_id, a.story_id, s.digest_date ON CONFLICT DO NOTHING"


async def cleared(db: aiosqlite.Connection) -> None:
    """The old stories are all gone: regrouping may begin."""
    await db.execute("UPDATE rebuild_state SET clearing = 0 WHERE id = 1")
