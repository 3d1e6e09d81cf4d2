"""What the digest reads of articles and stories: a window's coverage, then bodies.

Two queries in the common case: :func:`window_stories` fetches every visible
article (no bodies) of the stories touched in the window, :func:`article_bodies`
the bodies of the few articles the digest will summarise. A routed channel
adds :func:`stories_from_feeds`. Times are unix seconds.
"""

from __future__ import annotations

from collections.abc import Collection

import aiosqlite

from ..models import DigestArticle, WindowStory
from .dialect import in_values, values_param
from .visibility import visible_sql

_WINDOW_ARTICLES = f"""
SELECT a.id, a.story_id, a.source, a.published_at, a.title, a.summary, a.url, a.category,
       s.category AS story_category, a.dated, a.image_url
FROM articles AS a JOIN stories AS s ON s.id = a.story_id
WHERE a.story_id IN (
        SELECT story_id FROM articles
        WHERE published_at >= :start AND published_at < :end AND story_id IS NOT NULL)
  AND a.published_at >= :since AND a.published_at < :end
  AND {visible_sql("a", ":guild")}
ORDER BY a.published_at, a.id
"""  # noqa: S608 -- only our own SQL fragment is interpolated; values are bound
_ROUTED_STORIES = (
    "SELECT DISTINCT a.story_id FROM article_feeds AS af JOIN articles AS a"
    " ON a.id = af.article_id WHERE af.feed_id IN ({ids})"
    " AND a.published_at >= ? AND a.published_at < ? AND a.story_id IS NOT NULL"
)
_BODIES = "SELECT id, body FROM articles WHERE id IN ({ids})"


async def window_stories(
    db: aiosqlite.Connection,
    *,
    start: int,
    end: int,
    since: int,
    guild_id: int,
    feed_ids: Collection[int] | None = None,
) -> dict[int, WindowStory]:
    """Stories with an article visible to ``guild_id`` published in ``[start, end)``;
    with ``feed_ids`` (a routed channel), only those with such an article from one of
    these feeds.

    Each comes with its visible articles published in ``[since, end)`` (``since``
    at or before ``start``: older coverage counts too, from any feed), oldest first.
    """
    params = {"start": start, "end": end, "guild": guild_id, "since": since}
    stories: dict[int, WindowStory] = {}
    async with db.execute(_WINDOW_ARTICLES, params) as cur:
        for r in await cur.fetchall():
            story = stories.get(r[1])
            if story is None:
                story = stories[r[1]] = WindowStory(r[1], r[8], [], -1)
            story.articles.append(
                DigestArticle(
                    r[0], r[2] or "", r[3], r[4] or "", r[5], r[6], r[7], bool(r[9]), r[10]
                )
            )
            if r[3] >= start:
                story.latest_in_window = r[3]  # rows come oldest first
    routed = (
        None if feed_ids is None else await stories_from_feeds(db, feed_ids, start=start, end=end)
    )
    return {
        sid: s
        for sid, s in stories.items()
        if s.latest_in_window >= 0 and (routed is None or sid in routed)
    }


async def stories_from_feeds(
    db: aiosqlite.Connection, feed_ids: Collection[int], *, start: int, end: int
) -> set[int]:
    """Stories with an article from one of ``feed_ids`` published in ``[start, end)``."""
    if not feed_ids:
        return set()
    sql = _ROUTED_STORIES.format(ids=in_values(db))
    async with db.execute(sql, (values_param(db, sorted(feed_ids)), start, end)) as cur:
        return {int(row[0]) for row in await cur.fetchall()}


async def article_bodies(db: aiosqlite.Connection, ids: Collection[int]) -> dict[int, str]:
    """``{article_id: body}`` for ``ids`` ("" when an article has none); one query."""
    if not ids:
        return {}
    sql = _BODIES.format(ids=in_values(db))
    async with db.execute(sql, (values_param(db, ids),)) as cur:
        return {int(row[0]): row[1] or "" for row in await cur.fetchall()}
