"""Full-text search over the articles (SQLite FTS5): ranked pages, listings and counts.

Ranking is ``bm25(articles_fts, 5.0, 1.0)`` (a title match weighs five times
a body match), ties broken by recency. A search with no words lists
articles newest first without touching the full-text index.

Snippets: each hit carries ``snippet`` (plain text, whitespace collapsed, no
markup) and ``highlights``, the ``(start, end)`` character spans of matched
words in it (see bot/store/snippets.py).

Visibility is the one rule of bot/store/visibility.py. Source filters match
articles whose source *starts with* the given text, ignoring ASCII case
(``LIKE``, its wildcards escaped).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..models import SearchFilters, SearchHit, SearchWords
from .db import Connection
from .fts import has_prefix, to_fts
from .snippets import (
    PLAIN_SNIPPET_CHARS,
    SNIPPET_END,
    SNIPPET_START,
    parse_snippet,
    plain_snippet,
)
from .visibility import visible_sql

__all__ = ["RANK_WINDOW", "ArticleSearch", "article_search"]

BOUND_MAX_SPAN = 8 * 86400  # date ranges up to this long bound FTS5 by article ids
RANK_WINDOW = 2000  # matches ranked when no date or source filter narrows the search
TITLE_WEIGHT, BODY_WEIGHT = 5.0, 1.0
SNIPPET_TOKENS = 24
# Covering index (id, published_at, guild_id, source) used, when the schema has
# it, to filter full-text matches without reading whole article rows (bodies
# spill into overflow pages, which makes the plain rowid join 3x slower).
SEARCH_INDEX = "articles_search"
_has_index: weakref.WeakKeyDictionary[Connection, bool] = weakref.WeakKeyDictionary()

_HIT_COLUMNS = (
    "a.id, a.story_id, a.title, a.url, a.source, a.published_at, a.category, a.dated, a.image_url"
)
_MARKERS = f"char({ord(SNIPPET_START)}), char({ord(SNIPPET_END)})"
_SNIPPET = f"snippet(articles_fts, 1, {_MARKERS}, '…', {SNIPPET_TOKENS})"
_PLAIN_SNIPPET = f"substr(coalesce(nullif(a.summary, ''), a.body), 1, {PLAIN_SNIPPET_CHARS + 50})"

Param = int | float | str | None  # a bound value or a column read back


def _timestamp(moment: datetime) -> int:
    """Unix seconds for a bound: integer published_at < x  <=>  < ceil(x)."""
    return math.ceil(moment.timestamp())


def _like(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


async def _fetchall(db: Connection, sql: str, params: dict[str, Param]) -> list[tuple[Param, ...]]:
    async with db.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


@dataclass(slots=True)
class _Where:
    """SQL conditions on ``articles a`` with named parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Param] = field(default_factory=dict)
    dated: bool = False  # a date filter
    sourced: bool = False  # a source filter (FTS5 cannot bound it)
    fts_bound: str = ""  # extra condition on articles_fts.rowid (a date range's ids)

    def add(self, clause: str, *, dated: bool = False, **params: Param) -> None:
        self.clauses.append(clause)
        self.params.update(params)
        self.dated = self.dated or dated

    @property
    def capped(self) -> bool:
        """Whether ranking may stop at the newest matches FTS5 yields (see _ranked_ids)."""
        return not self.sourced and (not self.dated or bool(self.fts_bound))

    def sources(self, names: Sequence[str], *, negate: bool = False) -> None:
        if not names:
            return
        base = len(self.params)
        likes = []
        for i, name in enumerate(names):
            key = f"src{base}_{i}"
            likes.append(f"a.source LIKE :{key} ESCAPE '\\'")
            self.params[key] = _like(name)
        joined = " OR ".join(likes)
        self.clauses.append(f"NOT ({joined})" if negate else f"({joined})")
        self.sourced = True

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1"

    def fts_sql(self) -> str:
        """The conditions for a query joined with ``articles_fts``."""
        return f"{self.sql()}{self.fts_bound}"

    async def bound_ids(self, db: Connection, start: datetime | None, end: datetime | None) -> None:
        """Bound FTS5's walk to the ids of the articles published in the date range.

        Ids follow storage order, not publication order, so this is a superset
        of the range (the date clauses still apply); it lets FTS5 skip every
        match stored before or after the range instead of scoring it.
        """
        if start is None or end is None:
            return
        lo, hi = _timestamp(start), _timestamp(end)
        if hi - lo > BOUND_MAX_SPAN:
            return  # finding the ids of a long range costs more than it saves
        rows = await _fetchall(
            db,
            "SELECT MIN(id), MAX(id) FROM articles WHERE published_at >= :lo AND published_at < :hi",
            {"lo": lo, "hi": hi},
        )
        low, high = rows[0]
        if low is None:
            low, high = 1, 0  # nothing was published in the range
        self.fts_bound = " AND articles_fts.rowid BETWEEN :id_lo AND :id_hi"
        self.params.update(id_lo=low, id_hi=high)


def _build_where(filters: SearchFilters) -> _Where:
    where = _Where()
    if filters.guild_id is not None:
        where.add(visible_sql("a", ":guild"), guild=filters.guild_id)
    if filters.start is not None:
        where.add("a.published_at >= :start", dated=True, start=_timestamp(filters.start))
    if filters.end is not None:
        where.add("a.published_at < :end", dated=True, end=_timestamp(filters.end))
    for group in filters.sources:
        where.sources(group)
    where.sources(filters.excluded_sources, negate=True)
    return where


def _hit(row: tuple[Param, ...], *, marked: bool) -> SearchHit:
    """A hit from ``_HIT_COLUMNS`` followed by a snippet column."""
    text = str(row[9] or "")
    snippet, spans = parse_snippet(text) if marked else (plain_snippet(text), ())
    story_id, url, category = row[1], row[3], row[6]
    return SearchHit(
        article_id=int(row[0] or 0),
        story_id=None if story_id is None else int(story_id),
        title=str(row[2]),
        url=None if url is None else str(url),
        source=str(row[4]),
        published_at=datetime.fromtimestamp(int(row[5] or 0), UTC),
        category=None if category is None else str(category),
        snippet=snippet,
        highlights=spans,
        dated=bool(row[7]),
        image_url=None if row[8] is None else str(row[8]),
    )


async def _articles_join(db: Connection) -> str:
    """``articles a``, forced onto the covering search index when it exists."""
    known = _has_index.get(db)
    if known is None:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name"
        known = bool(await _fetchall(db, sql, {"name": SEARCH_INDEX}))
        _has_index[db] = known
    return f"articles a INDEXED BY {SEARCH_INDEX}" if known else "articles a"


@dataclass(slots=True)
class ArticleSearch:
    """The articles matching one search, to page through and count (see article_search)."""

    db: Connection
    query: SearchWords
    match: str | None  # the FTS5 expression; None: no words, list newest first
    where: _Where
    articles: str  # the FROM clause for ``articles a`` joined with the index

    async def page(self, *, limit: int, offset: int) -> list[SearchHit]:
        """The hits from ``offset`` on: best first, or newest first without words."""
        if self.match is None:
            return await self._recent_hits(limit, offset)
        return await self._fts_hits(self.match, limit, offset)

    async def count(self, *, cap: int) -> int:
        """Number of matches, counting at most ``cap + 1`` rows."""
        where = self.where
        if self.match is None:
            source = f"SELECT 1 FROM articles a WHERE {where.sql()}"  # noqa: S608
        else:
            join = f"articles_fts CROSS JOIN {self.articles} ON a.id = articles_fts.rowid"
            source = f"SELECT 1 FROM {join} WHERE articles_fts MATCH :match AND {where.fts_sql()}"  # noqa: S608
        sql = f"SELECT count(*) FROM ({source} LIMIT {int(cap) + 1})"  # noqa: S608
        rows = await _fetchall(self.db, sql, {**where.params, "match": self.match})
        return int(rows[0][0] or 0)

    async def _ranked_ids(self, match: str, limit: int, offset: int) -> list[int]:
        """Ids of the page's hits: bm25 (title weighted), then newest first.

        Without a source filter, only the ``RANK_WINDOW`` most recently stored
        matches are ranked: FTS5 walks its index newest first and stops there, so
        a word found in half the archive costs the same as a rare one. A short
        date range bounds that walk by article ids; a long one, or a source
        filter, ranks every match that passes the filters.
        """
        where = self.where
        if not where.capped:
            score = f"bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT})"
            join = f"articles_fts CROSS JOIN {self.articles} ON a.id = articles_fts.rowid"
            condition = f"articles_fts MATCH :match AND {where.fts_sql()}"
        else:
            newest = (
                f"SELECT rowid, bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS score"  # noqa: S608
                f" FROM articles_fts WHERE articles_fts MATCH :match{where.fts_bound}"
                f" ORDER BY rowid DESC LIMIT {RANK_WINDOW}"
            )
            join = f"({newest}) AS m CROSS JOIN {self.articles} ON a.id = m.rowid"
            score = "m.score"
            condition = where.sql()
        sql = f"""
            SELECT a.id, {score} AS score
            FROM {join}
            WHERE {condition}
            ORDER BY score, a.published_at DESC, a.id DESC
            LIMIT :limit OFFSET :offset
        """  # noqa: S608 -- only our own SQL fragments are interpolated; values are bound
        params = {**where.params, "match": match, "limit": limit, "offset": offset}
        return [int(row[0] or 0) for row in await _fetchall(self.db, sql, params)]

    async def _fts_hits(self, match: str, limit: int, offset: int) -> list[SearchHit]:
        """The page's hits, with snippets computed for those rows only."""
        ids = await self._ranked_ids(match, limit, offset)
        if not ids:
            return []
        params: dict[str, Param] = {f"id{i}": rowid for i, rowid in enumerate(ids)}
        listed = ", ".join(f":{key}" for key in params)
        if has_prefix(self.query):
            # Each rowid lookup would re-expand the prefix over the whole index:
            # scan the matches once, within the ids' range, instead.
            rows_filter = (
                f"articles_fts.rowid BETWEEN :lo AND :hi AND +articles_fts.rowid IN ({listed})"
            )
            params |= {"lo": min(ids), "hi": max(ids)}
        else:
            rows_filter = f"articles_fts.rowid IN ({listed})"
        sql = f"""
            SELECT {_HIT_COLUMNS}, {_SNIPPET}
            FROM articles_fts CROSS JOIN articles a ON a.id = articles_fts.rowid
            WHERE articles_fts MATCH :match AND {rows_filter}
        """  # noqa: S608 -- only our own SQL fragments are interpolated; values are bound
        rows = {row[0]: row for row in await _fetchall(self.db, sql, {**params, "match": match})}
        return [_hit(rows[i], marked=True) for i in ids if i in rows]

    async def _recent_hits(self, limit: int, offset: int) -> list[SearchHit]:
        """No words: newest first, snippet from the summary or body."""
        sql = f"""
            SELECT {_HIT_COLUMNS}, {_PLAIN_SNIPPET}
            FROM articles a
            WHERE {self.where.sql()}
            ORDER BY a.published_at DESC, a.id DESC
            LIMIT :limit OFFSET :offset
        """  # noqa: S608 -- only our own SQL fragments are interpolated; values are bound
        params = {**self.where.params, "limit": limit, "offset": offset}
        return [_hit(row, marked=False) for row in await _fetchall(self.db, sql, params)]


async def article_search(
    db: Connection, query: SearchWords, filters: SearchFilters
) -> ArticleSearch:
    """The articles matching the words ``query`` (the parsed AST) and ``filters``
    (the query's written filters, resolved)."""
    where = _build_where(filters)
    match = to_fts(query)
    articles = "articles a"
    if match is not None:
        await where.bound_ids(db, filters.start, filters.end)
        articles = await _articles_join(db)
    return ArticleSearch(db=db, query=query, match=match, where=where, articles=articles)
