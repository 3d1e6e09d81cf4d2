"""Full-text search over the article store (SQLite FTS5).

Ranking is ``bm25(articles_fts, 5.0, 1.0)`` (a title match weighs five times
a body match), ties broken by recency. Queries with only filters (no words)
list articles newest first without touching the full-text index.

Snippets: each hit carries ``snippet`` (plain text, whitespace collapsed, no
markup) and ``highlights``, the ``(start, end)`` character spans of matched
words in it. Renderers escape the text for their medium and wrap the spans
(see :func:`mark_snippet`), so publisher text can never inject markup.

Visibility: ``guild_id=None`` sees everything (CLI); otherwise an article is
visible if ``articles.guild_id`` is 0 (shared) or that guild, or it is linked
through ``article_feeds`` to a feed of that guild.

Source filters (``source=`` and ``source:`` in the query) match articles whose
source *starts with* the given text, ignoring ASCII case: ``source:bbc``
matches "BBC" and "BBC News". Several ``source:`` in a query are OR-ed; the
``source=`` argument is AND-ed with them.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

import aiosqlite

from .query import Node, Query, QueryError, Term, parse_query, to_fts

__all__ = ["QueryError", "SearchHit", "SearchPage", "mark_snippet", "search"]

MAX_LIMIT = 50
BOUND_MAX_SPAN = 8 * 86400  # date ranges up to this long bound FTS5 by article ids
RANK_WINDOW = 2000  # matches ranked when no date or source filter narrows the search
MAX_OFFSET = 1000
TOTAL_CAP = 1000  # counting stops here; the page then says "1000+"
TITLE_WEIGHT, BODY_WEIGHT = 5.0, 1.0
SNIPPET_TOKENS = 24
PLAIN_SNIPPET_CHARS = 200
_START, _END = "\x02", "\x03"  # snippet() markers, removed before returning
# Covering index (id, published_at, guild_id, source) used, when the schema has
# it, to filter full-text matches without reading whole article rows (bodies
# spill into overflow pages, which makes the plain rowid join 3x slower).
SEARCH_INDEX = "articles_search"
_has_index: weakref.WeakKeyDictionary[aiosqlite.Connection, bool] = weakref.WeakKeyDictionary()

_HIT_COLUMNS = "a.id, a.story_id, a.title, a.url, a.source, a.published_at, a.category, a.dated"
_SNIPPET = f"snippet(articles_fts, 1, char(2), char(3), '…', {SNIPPET_TOKENS})"
_PLAIN_SNIPPET = f"substr(coalesce(nullif(a.summary, ''), a.body), 1, {PLAIN_SNIPPET_CHARS + 50})"
_VISIBLE = (
    "(a.guild_id IN (0, :guild) OR EXISTS (SELECT 1 FROM article_feeds af"
    " JOIN feeds f ON f.id = af.feed_id WHERE af.article_id = a.id AND f.guild_id = :guild))"
)


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching article."""

    article_id: int
    story_id: int | None
    title: str
    url: str | None
    source: str
    published_at: datetime  # aware UTC
    snippet: str  # plain text
    category: str | None
    highlights: tuple[tuple[int, int], ...] = ()  # spans of matched words in snippet
    dated: bool = True  # False: the source gave no date (published_at is a stand-in)


@dataclass(slots=True)
class SearchPage:
    """One page of results and what was searched."""

    hits: list[SearchHit]
    total: int  # matches counted, at most TOTAL_CAP (see total_capped)
    limit: int
    offset: int
    query: Query
    total_capped: bool = False
    date_from: datetime | None = None  # effective range searched, UTC
    date_to: datetime | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def total_label(self) -> str:
        """``"42"`` or ``"1000+"``."""
        return f"{self.total}+" if self.total_capped else str(self.total)

    @property
    def has_more(self) -> bool:
        """True when a next page exists."""
        return self.offset + len(self.hits) < self.total or (
            self.total_capped and len(self.hits) == self.limit
        )


def mark_snippet(
    hit: SearchHit,
    *,
    start: str = "**",
    end: str = "**",
    escape: Callable[[str], str] = lambda text: text,
) -> str:
    """The snippet with ``escape`` applied to its text and highlights wrapped."""
    out: list[str] = []
    pos = 0
    for lo, hi in hit.highlights:
        out += [escape(hit.snippet[pos:lo]), start, escape(hit.snippet[lo:hi]), end]
        pos = hi
    out.append(escape(hit.snippet[pos:]))
    return "".join(out)


# ------------------------------------------------------------------ helpers


def _parse_snippet(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Strip markers and control characters, collapse whitespace, keep spans."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    length = 0
    for ch in marked:
        if ch == _START:
            open_at = length if open_at is None else open_at
        elif ch == _END:
            if open_at is not None and length > open_at:
                spans.append((open_at, length))
            open_at = None
        elif ch.isspace() or ch < " ":
            if length and out[-1] != " ":
                out.append(" ")
                length += 1
        else:
            out.append(ch)
            length += 1
    if open_at is not None and length > open_at:
        spans.append((open_at, length))
    text = "".join(out).rstrip()
    return text, tuple((lo, min(hi, len(text))) for lo, hi in spans if lo < len(text))


def _plain_snippet(text: str | None) -> str:
    snippet, _ = _parse_snippet(text or "")
    if len(snippet) <= PLAIN_SNIPPET_CHARS:
        return snippet
    cut = snippet[:PLAIN_SNIPPET_CHARS]
    if " " in cut[PLAIN_SNIPPET_CHARS // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"


def _timestamp(moment: datetime) -> int:
    """Unix seconds for a bound: integer published_at < x  <=>  < ceil(x)."""
    return math.ceil(moment.timestamp())


def _local(moment: datetime | None, tz: tzinfo) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=tz)


def _narrow(
    current: tuple[datetime | None, datetime | None],
    extra: tuple[datetime | None, datetime | None],
) -> tuple[datetime | None, datetime | None]:
    starts = [d for d in (current[0], extra[0]) if d is not None]
    ends = [d for d in (current[1], extra[1]) if d is not None]
    return (max(starts) if starts else None, min(ends) if ends else None)


def _like(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


@dataclass(slots=True)
class _Where:
    """SQL conditions on ``articles a`` with named parameters."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    dated: bool = False  # a date filter
    sourced: bool = False  # a source filter (FTS5 cannot bound it)
    fts_bound: str = ""  # extra condition on articles_fts.rowid (a date range's ids)

    def add(self, clause: str, *, dated: bool = False, **params: Any) -> None:
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

    async def bound_ids(self, db: aiosqlite.Connection, start: int | None, end: int | None) -> None:
        """Bound FTS5's walk to the ids of the articles published in the date range.

        Ids follow storage order, not publication order, so this is a superset
        of the range (the date clauses still apply); it lets FTS5 skip every
        match stored before or after the range instead of scoring it.
        """
        if start is None or end is None or end - start > BOUND_MAX_SPAN:
            return  # finding the ids of a long range costs more than it saves
        rows = await _fetchall(
            db,
            "SELECT MIN(id), MAX(id) FROM articles WHERE published_at >= :lo AND published_at < :hi",
            {"lo": start, "hi": end},
        )
        low, high = rows[0]
        if low is None:
            low, high = 1, 0  # nothing was published in the range
        self.fts_bound = " AND articles_fts.rowid BETWEEN :id_lo AND :id_hi"
        self.params.update(id_lo=low, id_hi=high)


def _build_where(
    query: Query,
    *,
    guild_id: int | None,
    source: str | None,
    date_range: tuple[datetime | None, datetime | None],
) -> _Where:
    where = _Where()
    if guild_id is not None:
        where.add(_VISIBLE, guild=guild_id)
    start, end = date_range
    if start is not None:
        where.add("a.published_at >= :start", dated=True, start=_timestamp(start))
    if end is not None:
        where.add("a.published_at < :end", dated=True, end=_timestamp(end))
    where.sources(query.sources)
    where.sources(query.excluded_sources, negate=True)
    if source:
        where.sources([source])
    return where


def _hit(row: Sequence[Any], snippet_text: str | None, *, marked: bool) -> SearchHit:
    if marked:
        snippet, spans = _parse_snippet(snippet_text or "")
    else:
        snippet, spans = _plain_snippet(snippet_text), ()
    return SearchHit(
        article_id=row[0],
        story_id=row[1],
        title=row[2],
        url=row[3],
        source=row[4],
        published_at=datetime.fromtimestamp(row[5], UTC),
        category=row[6],
        snippet=snippet,
        highlights=spans,
        dated=bool(row[7]),
    )


async def _articles_join(db: aiosqlite.Connection) -> str:
    """``articles a``, forced onto the covering search index when it exists."""
    known = _has_index.get(db)
    if known is None:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = :name"
        known = bool(await _fetchall(db, sql, {"name": SEARCH_INDEX}))
        _has_index[db] = known
    return f"articles a INDEXED BY {SEARCH_INDEX}" if known else "articles a"


async def _fetchall(db: aiosqlite.Connection, sql: str, params: dict[str, Any]) -> list[Any]:
    async with db.execute(sql, params) as cursor:
        return list(await cursor.fetchall())


# ------------------------------------------------------------------ queries


async def _ranked_ids(
    db: aiosqlite.Connection, match: str, where: _Where, page: tuple[int, int], articles: str
) -> list[int]:
    """Ids of the page's hits: bm25 (title weighted), then newest first.

    Without a source filter, only the ``RANK_WINDOW`` most recently stored
    matches are ranked: FTS5 walks its index newest first and stops there, so
    a word found in half the archive costs the same as a rare one. A short
    date range bounds that walk by article ids; a long one, or a source
    filter, ranks every match that passes the filters.
    """
    if not where.capped:
        source = "articles_fts"
        score = f"bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT})"
        join = f"{source} CROSS JOIN {articles} ON a.id = articles_fts.rowid"
        condition = f"articles_fts MATCH :match AND {where.fts_sql()}"
    else:
        newest = (
            f"SELECT rowid, bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT}) AS score"  # noqa: S608
            f" FROM articles_fts WHERE articles_fts MATCH :match{where.fts_bound}"
            f" ORDER BY rowid DESC LIMIT {RANK_WINDOW}"
        )
        join = f"({newest}) AS m CROSS JOIN {articles} ON a.id = m.rowid"
        score = "m.score"
        condition = where.sql()
    sql = f"""
        SELECT a.id, {score} AS score
        FROM {join}
        WHERE {condition}
        ORDER BY score, a.published_at DESC, a.id DESC
        LIMIT :limit OFFSET :offset
    """  # noqa: S608 -- only our own SQL fragments are interpolated; values are bound
    limit, offset = page
    params = {**where.params, "match": match, "limit": limit, "offset": offset}
    return [row[0] for row in await _fetchall(db, sql, params)]


def _has_prefix(query: Query) -> bool:
    nodes: list[Node] = [n for n in (query.root, *query.excluded) if n is not None]
    while nodes:
        node = nodes.pop()
        if isinstance(node, Term):
            if node.prefix:
                return True
        else:
            nodes.extend(node.children)
    return False


async def _fts_hits(
    db: aiosqlite.Connection,
    query: Query,
    where: _Where,
    page: tuple[int, int],
    articles: str,
) -> list[SearchHit]:
    """The page's hits, with snippets computed for those rows only."""
    match = to_fts(query) or ""
    ids = await _ranked_ids(db, match, where, page, articles)
    if not ids:
        return []
    params: dict[str, Any] = {f"id{i}": rowid for i, rowid in enumerate(ids)}
    listed = ", ".join(f":{key}" for key in params)
    if _has_prefix(query):
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
    rows = {row[0]: row for row in await _fetchall(db, sql, {**params, "match": match})}
    return [_hit(rows[i], rows[i][8], marked=True) for i in ids if i in rows]


async def _recent_hits(
    db: aiosqlite.Connection, where: _Where, limit: int, offset: int
) -> list[SearchHit]:
    """Filter-only search: newest first, snippet from the summary or body."""
    sql = f"""
        SELECT {_HIT_COLUMNS}, {_PLAIN_SNIPPET}
        FROM articles a
        WHERE {where.sql()}
        ORDER BY a.published_at DESC, a.id DESC
        LIMIT :limit OFFSET :offset
    """  # noqa: S608 -- only our own SQL fragments are interpolated; values are bound
    rows = await _fetchall(db, sql, {**where.params, "limit": limit, "offset": offset})
    return [_hit(row, row[8], marked=False) for row in rows]


async def _count(db: aiosqlite.Connection, match: str | None, where: _Where, articles: str) -> int:
    """Number of matches, counting at most TOTAL_CAP + 1 rows."""
    if match is None:
        source = f"SELECT 1 FROM articles a WHERE {where.sql()}"  # noqa: S608
    else:
        join = f"articles_fts CROSS JOIN {articles} ON a.id = articles_fts.rowid"
        source = f"SELECT 1 FROM {join} WHERE articles_fts MATCH :match AND {where.fts_sql()}"  # noqa: S608
    sql = f"SELECT count(*) FROM ({source} LIMIT {TOTAL_CAP + 1})"  # noqa: S608
    rows = await _fetchall(db, sql, {**where.params, "match": match})
    return int(rows[0][0])


# ------------------------------------------------------------------- public


async def search(
    db: aiosqlite.Connection,
    text: str,
    *,
    tz: tzinfo,
    now: datetime,
    guild_id: int | None = None,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    source: str | None = None,
    limit: int = 10,
    offset: int = 0,
) -> SearchPage:
    """Search the store; raises :class:`QueryError` for unusable queries.

    Keyword filters are AND-ed with the filters written in ``text``.
    ``date_from``/``date_to`` bound ``[date_from, date_to)``; naive values
    are read in ``tz``. ``limit`` is clamped to 1..50, ``offset`` to 0..1000.
    """
    source = (source or "").strip() or None
    explicit = source is not None or date_from is not None or date_to is not None
    query = parse_query(text, allow_empty=explicit)
    limit = max(1, min(int(limit), MAX_LIMIT))
    offset = max(0, min(int(offset), MAX_OFFSET))
    date_range = _narrow(
        query.date_range(tz=tz, now=now), (_local(date_from, tz), _local(date_to, tz))
    )
    page = SearchPage(
        hits=[],
        total=0,
        limit=limit,
        offset=offset,
        query=query,
        date_from=date_range[0],
        date_to=date_range[1],
        notes=list(query.notes),
    )
    if date_range[0] and date_range[1] and date_range[0] >= date_range[1]:
        page.notes.append("The date filters leave no time to search in.")
        return page
    where = _build_where(query, guild_id=guild_id, source=source, date_range=date_range)
    match = to_fts(query)
    if match is not None:
        await where.bound_ids(
            db,
            _timestamp(date_range[0]) if date_range[0] else None,
            _timestamp(date_range[1]) if date_range[1] else None,
        )
    if match is None:
        page.hits = await _recent_hits(db, where, limit, offset)
    else:
        articles = await _articles_join(db)
        page.hits = await _fts_hits(db, query, where, (limit, offset), articles)
    if len(page.hits) < limit and (page.hits or offset == 0):
        page.total = offset + len(page.hits)  # the last page: no need to count
    else:
        articles = await _articles_join(db) if match is not None else "articles a"
        page.total = await _count(db, match, where, articles)
    page.total_capped = page.total > TOTAL_CAP
    page.total = min(page.total, TOTAL_CAP)
    return page
