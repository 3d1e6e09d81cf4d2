"""Story queries: a story with its articles, stories of a period, the latest stories.

Guild visibility (:mod:`bot.store.visibility`): with ``guild_id=g`` only the
articles ``g`` may see are shown, and a story with none of them is not
returned at all; its counts are then those of the visible articles.
``guild_id=None`` applies no filter.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import aiosqlite

from ..models import StoredArticle, StoryDetail
from ..outlets import outlet_key
from .rows import one_of
from .visibility import visible_params, visible_sql

DEFAULT_LIMIT = 200


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def _ts(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("datetimes passed to story queries must be timezone-aware")
    return int(value.timestamp())


_ARTICLE_COLUMNS = (
    "a.id, a.title, a.body, a.url, a.source, a.author, a.category, a.published_at,"
    " a.story_id, a.summary, a.dated, a.image_url"
)
_STORY_COLUMNS = (
    "s.id, s.headline, s.first_published_at, s.last_published_at, s.article_count,"
    " s.source_count, s.category"
)


def _article(row: aiosqlite.Row) -> StoredArticle:
    return StoredArticle(
        id=row[0],
        title=row[1],
        body=row[2],
        url=row[3],
        source=row[4],
        author=row[5],
        category=row[6],
        published_at=_dt(row[7]),
        story_id=row[8],
        summary=row[9],
        dated=bool(row[10]),
        image_url=row[11],
    )


async def _articles_of(
    db: aiosqlite.Connection, story_ids: list[int], guild_id: int | None
) -> dict[int, list[StoredArticle]]:
    """Visible articles of ``story_ids``, newest first, grouped by story."""
    out: dict[int, list[StoredArticle]] = {sid: [] for sid in story_ids}
    for where, ids in one_of(db, "a.story_id", story_ids, size=500):
        sql = f"SELECT {_ARTICLE_COLUMNS} FROM articles AS a WHERE {where}"  # noqa: S608
        params: list[object] = ids
        if guild_id is not None:
            sql += f" AND {visible_sql('a', '?')}"
            params += visible_params(guild_id)
        sql += " ORDER BY a.published_at DESC, a.id DESC"
        async with db.execute(sql, params) as cur:
            for row in await cur.fetchall():
                out[row[8]].append(_article(row))
    return out


def story_image(articles: list[StoredArticle]) -> str | None:
    """The image of a story's lead (its newest article with a URL, the one the
    faces link) if it has one, else of its newest article that has one.
    ``articles`` run newest first."""
    lead = next((a for a in articles if a.url), None)
    if lead is not None and lead.image_url:
        return lead.image_url
    return next((a.image_url for a in articles if a.image_url), None)


def _details(
    rows: Iterable[aiosqlite.Row],
    articles: dict[int, list[StoredArticle]],
    guild_id: int | None,
) -> list[StoryDetail]:
    out = []
    for row in rows:
        members = articles.get(row[0], [])
        if guild_id is not None and not members:
            continue
        detail = StoryDetail(
            id=row[0],
            headline=row[1],
            first_published_at=_dt(row[2]),
            last_published_at=_dt(row[3]),
            article_count=row[4],
            source_count=row[5],
            category=row[6],
            articles=members,
            image_url=story_image(members),
        )
        if guild_id is not None:
            detail.article_count = len(members)
            detail.source_count = len({outlet_key(a.source, a.id) for a in members})
            detail.first_published_at = min(a.published_at for a in members)
            detail.last_published_at = max(a.published_at for a in members)
        out.append(detail)
    return out


async def get_story(
    db: aiosqlite.Connection, story_id: int, *, guild_id: int | None = None
) -> StoryDetail | None:
    """One story with its visible articles (newest first), or None."""
    sql = f"SELECT {_STORY_COLUMNS} FROM stories AS s WHERE s.id = ?"  # noqa: S608
    async with db.execute(sql, (story_id,)) as cur:
        row = await cur.fetchone()
    if row is None:
        return None
    found = _details([row], await _articles_of(db, [story_id], guild_id), guild_id)
    return found[0] if found else None


async def stories_between(
    db: aiosqlite.Connection,
    start: datetime,
    end: datetime,
    *,
    guild_id: int | None = None,
    limit: int = DEFAULT_LIMIT,
) -> list[StoryDetail]:
    """Stories with a visible article published in ``[start, end)``, latest first.

    Each story comes with all its visible articles, including those
    published outside the period (the digest decides what is new).
    """
    sql = (
        f"SELECT {_STORY_COLUMNS} FROM stories AS s WHERE s.id IN ("  # noqa: S608
        " SELECT a.story_id FROM articles AS a"
        " WHERE a.published_at >= ? AND a.published_at < ? AND a.story_id IS NOT NULL"
    )
    params: list[object] = [_ts(start), _ts(end)]
    if guild_id is not None:
        sql += f" AND {visible_sql('a', '?')}"
        params += visible_params(guild_id)
    sql += ") ORDER BY s.last_published_at DESC, s.id DESC LIMIT ?"
    params.append(limit)
    async with db.execute(sql, params) as cur:
        rows = await cur.fetchall()
    articles = await _articles_of(db, [r[0] for r in rows], guild_id)
    return _details(rows, articles, guild_id)


async def latest_stories(
    db: aiosqlite.Connection, count: int, *, guild_id: int | None = None
) -> list[StoryDetail]:
    """The ``count`` stories most recently added to, with their visible articles."""
    sql = f"SELECT {_STORY_COLUMNS} FROM stories AS s"  # noqa: S608
    params: list[object] = []
    if guild_id is not None:
        sql += (
            " WHERE EXISTS (SELECT 1 FROM articles AS a WHERE a.story_id = s.id"  # noqa: S608
            f" AND {visible_sql('a', '?')})"
        )
        params += visible_params(guild_id)
    sql += " ORDER BY s.last_published_at DESC, s.id DESC LIMIT ?"
    params.append(max(count, 0))
    async with db.execute(sql, params) as cur:
        rows = await cur.fetchall()
    articles = await _articles_of(db, [r[0] for r in rows], guild_id)
    return _details(rows, articles, guild_id)
