"""Feed subscriptions and their health, in the ``feeds`` table.

``guild_id`` 0 is a shared feed (from ``.env`` or the CLI) that every
server sees; any other value is a feed one Discord server added, visible
and removable only there. Timestamps are unix seconds in the database and
aware UTC datetimes in Python.

``first_failure_at`` records when the current failure streak began; a
success or a resume clears it (see :attr:`bot.models.FeedRow.failing_since`).

Pollers in several processes share the feeds through :func:`claim_feed`: a
lease on ``next_poll_at`` taken by one conditional ``UPDATE``, ended by
recording the poll's outcome or by time.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import aiosqlite

from ..models import FeedHealth, FeedRow

_FEED_BY_ID = (
    "SELECT id, url, title, guild_id, last_success_at, last_error, last_error_at, "
    "consecutive_failures, next_poll_at, paused, fulltext, tags FROM feeds WHERE id = ?"
)
_ALL_FEEDS = (
    "SELECT id, url, title, guild_id, last_success_at, last_error, last_error_at, "
    "consecutive_failures, next_poll_at, paused, fulltext, tags FROM feeds ORDER BY guild_id, id"
)
_GUILD_FEEDS = (
    "SELECT id, url, title, guild_id, last_success_at, last_error, last_error_at, "
    "consecutive_failures, next_poll_at, paused, fulltext, tags FROM feeds WHERE guild_id IN (0, ?) "
    "ORDER BY guild_id, id"
)
_FEED_ROW = (
    "id, url, guild_id, etag, last_modified, consecutive_failures, "
    "last_success_at, added_at, first_failure_at, fulltext"
)
_DUE = (
    f"SELECT {_FEED_ROW} FROM feeds "  # noqa: S608 -- a constant column list
    "WHERE paused = 0 AND (? = 1 OR next_poll_at <= ?) "
    "AND (CAST(? AS BIGINT) IS NULL OR guild_id IN (0, ?)) "
    "ORDER BY next_poll_at, id"
)
_ERROR_MAX_CHARS = 500


def to_ts(value: datetime) -> int:
    """Aware datetime -> unix seconds (naive datetimes are a bug: refused)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("datetimes given to the feed store must be timezone-aware")
    return int(value.timestamp())


def from_ts(value: int | None) -> datetime | None:
    """Unix seconds -> aware UTC datetime; None and 0 stay None."""
    if not value:
        return None
    return datetime.fromtimestamp(value, UTC)


def _health(row: aiosqlite.Row) -> FeedHealth:
    return FeedHealth(
        id=row["id"],
        url=row["url"],
        title=row["title"],
        guild_id=row["guild_id"],
        last_success_at=from_ts(row["last_success_at"]),
        last_error=row["last_error"],
        last_error_at=from_ts(row["last_error_at"]),
        consecutive_failures=row["consecutive_failures"],
        next_poll_at=from_ts(row["next_poll_at"]),
        paused=bool(row["paused"]),
        fulltext=row["fulltext"],
        tags=split_tags(row["tags"]),
    )


def split_tags(text: str | None) -> tuple[str, ...]:
    """``"world,tech"`` -> ``("world", "tech")``."""
    return tuple(t for t in (text or "").split(",") if t)


def join_tags(tags: tuple[str, ...] | list[str]) -> str:
    """Tags as stored: lower case, without blanks or duplicates, comma-separated."""
    seen: dict[str, None] = {}
    for tag in tags:
        tag = " ".join(tag.split()).casefold().replace(",", "")
        if tag:
            seen.setdefault(tag, None)
    return ",".join(seen)


async def add_feed(
    db: aiosqlite.Connection,
    url: str,
    *,
    guild_id: int = 0,
    title: str | None = None,
    added_by: int | None = None,
    now: datetime,
    fulltext: str | None = None,
    resume: bool = False,
) -> int:
    """Subscribe ``guild_id`` to ``url``; returns the feed id (existing one if any).

    A new feed is due at once. Re-adding keeps the existing row (and fills
    in the title if it had none); a ``fulltext`` mode given replaces the
    feed's, None leaves it as it was (see :func:`set_fulltext`). With
    ``resume`` (someone added it by hand), a paused feed is resumed as by
    :func:`resume_feed`; the feeds of the settings, synced at every start,
    pass False so a feed the operator paused stays paused.
    """
    url = url.strip()
    if not url:
        raise ValueError("feed URL must not be empty")
    if _CONTROLS.search(url):
        raise ValueError("feed URL holds control characters")
    title = _plain(title, _TITLE_MAX_CHARS)
    await db.execute(
        "INSERT INTO feeds (url, guild_id, title, added_at, added_by, next_poll_at, fulltext) "
        "VALUES (?, ?, ?, ?, ?, 0, ?) "
        "ON CONFLICT (url, guild_id) DO UPDATE SET title = COALESCE(feeds.title, excluded.title),"
        " fulltext = COALESCE(excluded.fulltext, feeds.fulltext)",
        (url, guild_id, title, to_ts(now), added_by, fulltext),
    )
    if resume:
        await db.execute(
            "UPDATE feeds SET paused = 0, consecutive_failures = 0, first_failure_at = NULL, "
            "next_poll_at = 0 WHERE url = ? AND guild_id = ? AND paused = 1",
            (url, guild_id),
        )
    async with db.execute(
        "SELECT id FROM feeds WHERE url = ? AND guild_id = ?", (url, guild_id)
    ) as cur:
        row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def set_tags(db: aiosqlite.Connection, feed_id: int, tags: tuple[str, ...]) -> None:
    """Replace feed ``feed_id``'s routing tags."""
    await db.execute("UPDATE feeds SET tags = ? WHERE id = ?", (join_tags(tags), feed_id))


async def set_title(db: aiosqlite.Connection, feed_id: int, title: str) -> None:
    """Name feed ``feed_id`` (a name from the settings wins over the feed's own title)."""
    await db.execute("UPDATE feeds SET title = ? WHERE id = ?", (title, feed_id))


async def set_fulltext(db: aiosqlite.Connection, feed_id: int, mode: str | None) -> None:
    """Set feed ``feed_id``'s full-text mode; None: follow the global setting."""
    await db.execute("UPDATE feeds SET fulltext = ? WHERE id = ?", (mode, feed_id))


async def remove_feed(db: aiosqlite.Connection, feed_id: int, *, guild_id: int) -> bool:
    """Delete feed ``feed_id`` if it belongs to ``guild_id``; True when removed.

    Its ``article_feeds`` links go with it (ON DELETE CASCADE); articles stay.
    """
    cur = await db.execute("DELETE FROM feeds WHERE id = ? AND guild_id = ?", (feed_id, guild_id))
    return cur.rowcount > 0


async def get_feed(db: aiosqlite.Connection, feed_id: int) -> FeedHealth | None:
    """One feed's health, or None."""
    async with db.execute(_FEED_BY_ID, (feed_id,)) as cur:
        row = await cur.fetchone()
    return None if row is None else _health(row)


async def list_feeds(db: aiosqlite.Connection, *, guild_id: int | None) -> list[FeedHealth]:
    """All feeds (``guild_id=None``), or the shared ones plus that guild's own."""
    sql, args = (_ALL_FEEDS, ()) if guild_id is None else (_GUILD_FEEDS, (guild_id,))
    async with db.execute(sql, args) as cur:
        return [_health(row) for row in await cur.fetchall()]


async def due_feeds(
    db: aiosqlite.Connection,
    now: datetime,
    *,
    everything: bool = False,
    guild_id: int | None = None,
) -> list[FeedRow]:
    """Feeds that are not paused and whose next poll time has come, oldest first.

    ``everything``: every feed that is not paused, due or not (a poll on
    demand). ``guild_id``: only the feeds that guild reads (its own and the
    shared ones).
    """
    async with db.execute(_DUE, (int(everything), to_ts(now), guild_id, guild_id)) as cur:
        rows = await cur.fetchall()
    return [_feed_row(r) for r in rows]


# No poll in flight: a claim sets ``last_fetch_at``, and each outcome sets
# ``last_success_at`` or ``last_error_at`` to the same time as it; a later
# ``last_fetch_at`` than both means a claim whose outcome is not recorded yet.
_IDLE = (
    "(last_fetch_at IS NULL OR last_fetch_at <= last_success_at OR last_fetch_at <= last_error_at)"
)
_CLAIM = (
    "UPDATE feeds SET next_poll_at = ?, last_fetch_at = ? "  # noqa: S608 -- constant fragments
    f"WHERE id = ? AND paused = 0 AND (next_poll_at <= ? OR (? = 1 AND {_IDLE})) "
    f"RETURNING {_FEED_ROW}"
)


async def claim_feed(
    db: aiosqlite.Connection,
    feed_id: int,
    *,
    now: datetime,
    lease_until: datetime,
    everything: bool = False,
) -> FeedRow | None:
    """Take feed ``feed_id`` for one poll, or ``None`` when it is not this
    caller's to poll: paused, gone, not due (``everything``: being polled)
    or taken by another poller first.

    The claim is one conditional ``UPDATE`` (atomic on both backends: on
    PostgreSQL a concurrent claim waits for this one's row lock, then finds
    the row no longer due) that moves ``next_poll_at`` to ``lease_until``
    and sets ``last_fetch_at`` to ``now``. Recording the poll's outcome
    (:func:`record_success`, :func:`record_not_modified`,
    :func:`record_failure`) replaces the lease with the real next poll time;
    a poller that dies first leaves the feed due again at ``lease_until``.
    ``everything`` (a poll on demand) takes a feed that is not due, but not
    one another poller holds an unexpired lease on.
    """
    ts = to_ts(now)
    async with db.execute(_CLAIM, (to_ts(lease_until), ts, feed_id, ts, int(everything))) as cur:
        row = await cur.fetchone()
    return None if row is None else _feed_row(row)


def _feed_row(r: aiosqlite.Row) -> FeedRow:
    return FeedRow(
        id=r["id"],
        url=r["url"],
        guild_id=r["guild_id"],
        etag=r["etag"],
        last_modified=r["last_modified"],
        consecutive_failures=r["consecutive_failures"],
        last_success_at=from_ts(r["last_success_at"]),
        added_at=from_ts(r["added_at"]) or datetime.fromtimestamp(0, UTC),
        first_failure_at=from_ts(r["first_failure_at"]),
        fulltext=r["fulltext"],
    )


async def record_success(
    db: aiosqlite.Connection,
    feed_id: int,
    *,
    now: datetime,
    etag: str | None,
    last_modified: str | None,
    next_poll_at: datetime,
    title: str | None = None,
) -> None:
    """A fetch with new content worked: store validators, reset the failure streak.

    ``title`` fills in the feed's title only when it has none yet.
    """
    ts = to_ts(now)
    await db.execute(
        "UPDATE feeds SET etag = ?, last_modified = ?, last_fetch_at = ?, last_success_at = ?, "
        "consecutive_failures = 0, first_failure_at = NULL, next_poll_at = ?, "
        "title = COALESCE(title, ?) WHERE id = ?",
        (
            etag,
            last_modified,
            ts,
            ts,
            to_ts(next_poll_at),
            _plain(title, _TITLE_MAX_CHARS),
            feed_id,
        ),
    )


async def record_not_modified(
    db: aiosqlite.Connection,
    feed_id: int,
    *,
    now: datetime,
    next_poll_at: datetime,
    etag: str | None = None,
    last_modified: str | None = None,
) -> None:
    """A 304: the feed is healthy; keep validators unless the server sent new ones."""
    ts = to_ts(now)
    await db.execute(
        "UPDATE feeds SET etag = COALESCE(?, etag), last_modified = COALESCE(?, last_modified), "
        "last_fetch_at = ?, last_success_at = ?, consecutive_failures = 0, "
        "first_failure_at = NULL, next_poll_at = ? WHERE id = ?",
        (etag, last_modified, ts, ts, to_ts(next_poll_at), feed_id),
    )


async def record_failure(
    db: aiosqlite.Connection,
    feed_id: int,
    *,
    now: datetime,
    error: str,
    next_poll_at: datetime,
    paused: bool,
) -> int:
    """A fetch or parse failed; returns the new consecutive failure count."""
    ts = to_ts(now)
    message = _plain(error, _ERROR_MAX_CHARS) or "unknown error"
    async with db.execute(
        "UPDATE feeds SET last_fetch_at = ?, last_error = ?, last_error_at = ?, "
        "consecutive_failures = consecutive_failures + 1, "
        "first_failure_at = COALESCE(first_failure_at, ?), next_poll_at = ?, "
        "paused = CASE WHEN ? = 1 THEN 1 ELSE paused END WHERE id = ? "
        "RETURNING consecutive_failures",
        (ts, message, ts, ts, to_ts(next_poll_at), int(paused), feed_id),
    ) as cur:
        row = await cur.fetchone()
    return 0 if row is None else int(row[0])


async def find_feed(
    db: aiosqlite.Connection, ref: str, *, guild_id: int | None
) -> FeedHealth | None:
    """The feed ``ref`` names: ``#12`` or ``12`` (its id), else its URL.

    ``guild_id`` None looks at every feed; a guild id only at that guild's
    own feeds and the shared ones (0 finds the shared ones only). A URL
    subscribed both shared and by the guild gives the guild's own row.
    """
    ref = ref.strip()
    number = ref.removeprefix("#")
    if number.isdigit():
        feed = await get_feed(db, int(number))
        if feed is None or (guild_id is not None and feed.guild_id not in (0, guild_id)):
            return None
        return feed
    matches = [f for f in await list_feeds(db, guild_id=guild_id) if f.url == ref]
    if guild_id == 0:
        matches = [f for f in matches if f.guild_id == 0]
    if not matches:
        return None
    # ORDER BY guild_id: shared first; the guild's own (or, for None, the shared) wins.
    return matches[-1] if guild_id else matches[0]


async def pause_feed(db: aiosqlite.Connection, feed_id: int) -> bool:
    """Stop polling a feed until it is resumed; True if it exists."""
    cur = await db.execute("UPDATE feeds SET paused = 1 WHERE id = ?", (feed_id,))
    return cur.rowcount > 0


async def resume_feed(db: aiosqlite.Connection, feed_id: int) -> bool:
    """Unpause a feed and make it due now (failure streak reset); True if it exists."""
    cur = await db.execute(
        "UPDATE feeds SET paused = 0, consecutive_failures = 0, first_failure_at = NULL, "
        "next_poll_at = 0 WHERE id = ?",
        (feed_id,),
    )
    return cur.rowcount > 0


# Outside text (feed titles, error messages quoting a server) is stored
# without control characters: NUL, escape sequences and the like would reach
# terminals and logs.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")
_TITLE_MAX_CHARS = 300


def _plain(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return " ".join(_CONTROLS.sub(" ", text[: limit * 2]).split())[:limit] or None
