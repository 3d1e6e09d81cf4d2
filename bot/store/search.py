"""Full-text search over the articles: ranked pages, listings and counts.

SQLite: FTS5 (``articles_fts``), ranked by ``bm25(articles_fts, 5.0, 1.0)``.
PostgreSQL: the ``articles.search`` tsvector (title weight A, body weight B,
GIN index) matched by the ``to_tsquery`` of bot/store/fts.py, ranked by
``ts_rank_cd`` with weights A = 1.0, B = 0.2. On both a title match weighs
five times a body match, ties are broken by recency, and only the
``RANK_WINDOW`` newest matches passing the date and source filters are
ranked (the count covers every match).
A search with no words lists articles newest first without touching the
full-text index.

Snippets: each hit carries ``snippet`` (plain text, whitespace collapsed, no
markup) and ``highlights``, the ``(start, end)`` character spans of matched
words in it (see bot/store/snippets.py): FTS5's ``snippet()`` or
PostgreSQL's ``ts_headline`` mark them with the same two characters.

Visibility is the one rule of bot/store/visibility.py. Source filters match
articles whose source *starts with* the given text, ignoring ASCII case
(``LIKE``, its wildcards escaped; on PostgreSQL ``lower(source) LIKE
lower(x)``, which folds the case of every letter).
"""

from __future__ import annotations

import math
import re
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from ..models import SearchFilters, SearchHit, SearchWords
from .db import Connection
from .dialect import is_postgres
from .fts import has_prefix, to_fts, to_tsquery_text
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
BOUND_WALK_MAX = 4000  # matches whose dates may be tested one by one instead (see bound_ids)
WALK_COST = 6  # a match's date test costs about this many publication index entries read
RANK_WINDOW = 2000  # the newest matches (passing the date and source filters) ranked
OUTLET_SET_MAX = 20_000  # largest set of an outlet's article ids a search tests matches against
# A page's hits whose ids span more articles than this get their snippets by
# id lookups, not by a scan of the matches between the ids (see _fts_hits).
SCAN_SPAN_MAX = 100_000
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

# PostgreSQL: the tsquery (normalized by to_tsquery once per search, bound as
# text), the rank (weights D, C, B = body, A = title) and ts_headline's options.
_PG_TSQUERY = "CAST(CAST(:match AS TEXT) AS tsquery)"
_PG_WEIGHTS = f"CAST('{{0, 0, {BODY_WEIGHT / TITLE_WEIGHT}, 1}}' AS REAL[])"
_PG_HEADLINE = (
    f"StartSel={SNIPPET_START}, StopSel={SNIPPET_END}, MaxWords={SNIPPET_TOKENS},"
    f" MinWords={SNIPPET_TOKENS // 2}, MaxFragments=1"
)
INDEXED_BODY_CHARS = 200_000  # the body prefix the tsvector indexes (bot/store/pg_migrations.py)
# ts_headline parses all the text it is given (~40 ms for 150 kB): a long body's
# snippet comes from its start when a matched word is there, else from all of it.
HEADLINE_FIRST_CHARS = 20_000

Param = int | float | str | None  # a bound value or a column read back
_ARTICLE_ALIAS = re.compile(r"\ba\.")  # ``a.`` in a condition on ``articles a``


def _timestamp(moment: datetime) -> int:
    """Unix seconds for a bound: integer published_at < x  <=>  < ceil(x)."""
    return math.ceil(moment.timestamp())


def _pg_score(alias: str) -> str:
    """ts_rank_cd divided by 1 + log(length) (normalization 1): like bm25, a
    match in a short article weighs more than the same match in a long one."""
    return f"ts_rank_cd({_PG_WEIGHTS}, {alias}.search, {_PG_TSQUERY}, 1)"


def _like(prefix: str) -> str:
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


async def _fetchall(db: Connection, sql: str, params: dict[str, Param]) -> list[tuple[Param, ...]]:
    async with db.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


@dataclass(slots=True)
class _Where:
    """SQL conditions on ``articles a`` with named parameters.

    The date and source conditions *narrow* the search: the ``RANK_WINDOW``
    newest matches are taken among the articles passing them (see
    _ranked_ids); the server's visibility applies to that window.
    """

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Param] = field(default_factory=dict)
    postgres: bool = False  # the SQL is PostgreSQL's
    narrowing: list[str] = field(default_factory=list)  # the date and source conditions
    later: list[str] = field(default_factory=list)  # the others (visibility)
    # The same date and positive source conditions on ``articles o``: the
    # articles of the outlets searched (see choose_outlet_set).
    outlets: list[str] = field(default_factory=list)
    has_outlets: bool = False  # a positive source filter
    id_bounded: bool = False  # a date range's ids bound the matches (see bound_ids)
    outlet_set: bool = False  # matches are tested against the outlets' ids first
    no_outlet: bool = False  # no article passes the date and source filters: nothing matches

    def add(self, clause: str, *, narrows: bool = False, **params: Param) -> None:
        self.clauses.append(clause)
        self.params.update(params)
        if narrows:
            self.narrowing.append(clause)
            self.outlets.append(_ARTICLE_ALIAS.sub("o.", clause))
        else:
            self.later.append(clause)

    def sources(self, names: Sequence[str], *, negate: bool = False) -> None:
        if not names:
            return
        base = len(self.params)
        likes = []
        for i, name in enumerate(names):
            key = f"src{base}_{i}"
            if not self.postgres:
                likes.append(f"a.source LIKE :{key} ESCAPE '\\'")
            elif "\x00" in name:  # PostgreSQL text has no NUL: no source starts so
                likes.append("1 = 0")
                continue
            else:
                likes.append(f"lower(a.source) LIKE lower(:{key}) ESCAPE '\\'")
            self.params[key] = _like(name)
        joined = " OR ".join(likes)
        clause = f"NOT ({joined})" if negate else f"({joined})"
        self.clauses.append(clause)
        self.narrowing.append(clause)
        if not negate:
            self.outlets.append(_ARTICLE_ALIAS.sub("o.", clause))
            self.has_outlets = True

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1 = 1"

    def window_sql(self) -> str:
        """The narrowing conditions, which the ranked window's matches pass."""
        return " AND ".join(self.narrowing)

    def after_window_sql(self) -> str:
        """The other conditions (visibility), applied to the ranked window."""
        return " AND ".join(self.later) if self.later else "1 = 1"

    def id_bound(self, column: str) -> str:
        """`` AND column BETWEEN`` the date range's ids, or nothing (see bound_ids)."""
        return f" AND {column} BETWEEN :id_lo AND :id_hi" if self.id_bounded else ""

    @property
    def fts_bound(self) -> str:
        """The id bound on ``articles_fts.rowid``, and the outlet set when chosen."""
        bound = self.id_bound("articles_fts.rowid")
        if self.outlet_set:
            # ``+``: tested on each match FTS5 yields, before the article is read.
            outlets = " AND ".join(self.outlets)
            outlet_ids = f"SELECT o.id FROM articles o WHERE {outlets}"  # noqa: S608
            bound += f" AND +articles_fts.rowid IN ({outlet_ids})"
        return bound

    def fts_sql(self) -> str:
        """The conditions for a query joined with ``articles_fts``."""
        return f"{self.sql()}{self.fts_bound}"

    async def bound_ids(
        self,
        db: Connection,
        start: datetime | None,
        end: datetime | None,
        *,
        match: str | None = None,
    ) -> None:
        """Bound the matches to the ids of the articles published in the date range.

        Ids follow storage order, not publication order, so this is a superset
        of the range (the date clauses still apply); it lets FTS5 skip every
        match stored before or after the range instead of testing it (on
        PostgreSQL the id bound narrows the matches the same way).

        Finding the ids reads the range's entries of the publication index
        (~6 ms for 35,000 articles in a week); testing a match's date costs
        about WALK_COST such entries. Given the FTS5 expression ``match`` (SQLite),
        a word with few matches (up to BOUND_WALK_MAX, counted first) in a
        range holding more than WALK_COST times as many articles is searched
        without the bound.
        """
        if start is None or end is None:
            return
        lo, hi = _timestamp(start), _timestamp(end)
        if hi - lo > BOUND_MAX_SPAN:
            return  # finding the ids of a long range costs more than it saves
        range_sql = "FROM articles WHERE published_at >= :lo AND published_at < :hi"
        if match is not None:
            most = BOUND_WALK_MAX + 1
            sql = (
                "SELECT count(*) FROM (SELECT 1 FROM articles_fts"  # noqa: S608
                f" WHERE articles_fts MATCH :match LIMIT {most})"
            )
            matches = int((await _fetchall(db, sql, {"match": match}))[0][0] or 0)
            if matches <= BOUND_WALK_MAX:
                most = WALK_COST * matches + 1
                sql = f"SELECT count(*) FROM (SELECT 1 {range_sql} LIMIT {most})"  # noqa: S608
                published = await _fetchall(db, sql, {"lo": lo, "hi": hi})
                if int(published[0][0] or 0) >= most:
                    return  # testing every match's date costs less than the bound
        rows = await _fetchall(db, f"SELECT MIN(id), MAX(id) {range_sql}", {"lo": lo, "hi": hi})  # noqa: S608
        low, high = rows[0]
        if low is None:
            low, high = 1, 0  # nothing was published in the range
        self.id_bounded = True
        self.params.update(id_lo=low, id_hi=high)

    async def choose_outlet_set(self, db: Connection, match: str) -> None:
        """SQLite: with a source filter, test each match against the set of
        the outlets' article ids (read once from ``articles_source``) rather
        than reading its row, when that set is small and smaller than the
        matches: a word found in 4,000 articles, searched in one outlet's
        1,500, costs a third. Both are counted up to OUTLET_SET_MAX."""
        if not self.has_outlets or self.postgres:
            return
        outlets = " AND ".join(self.outlets)
        most = OUTLET_SET_MAX + 1
        sql = (
            f"SELECT (SELECT count(*) FROM (SELECT 1 FROM articles o WHERE {outlets}"  # noqa: S608
            f" LIMIT {max(most, 1)})),"  # at least one: whether there is any (no_outlet)
            f" (SELECT count(*) FROM (SELECT 1 FROM articles_fts WHERE articles_fts MATCH :match"
            f"{self.id_bound('articles_fts.rowid')} LIMIT {most}))"
        )
        rows = await _fetchall(db, sql, {**self.params, "match": match})
        articles, matches = int(rows[0][0] or 0), int(rows[0][1] or 0)
        # A source no article comes from (a misspelt outlet) has no match to
        # look for: testing every match of a common word against it is 60 ms.
        self.no_outlet = articles == 0
        self.outlet_set = articles <= OUTLET_SET_MAX and matches > articles


def _build_where(filters: SearchFilters, *, postgres: bool) -> _Where:
    where = _Where(postgres=postgres)
    if filters.guild_id is not None:
        where.add(visible_sql("a", ":guild"), guild=filters.guild_id)
    if filters.start is not None:
        where.add("a.published_at >= :start", narrows=True, start=_timestamp(filters.start))
    if filters.end is not None:
        where.add("a.published_at < :end", narrows=True, end=_timestamp(filters.end))
    for group in filters.sources:
        where.sources(group)
    where.sources(filters.excluded_sources, negate=True)
    return where


def _hit(row: tuple[Param, ...], *, marked: bool, text: str | None = None) -> SearchHit:
    """A hit from ``_HIT_COLUMNS`` followed by a snippet column (or ``text``)."""
    text = str(row[9] or "") if text is None else text
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
    match: str | None  # the FTS5 expression or tsquery; None: no words, list newest first
    where: _Where
    articles: str  # the FROM clause for ``articles a`` joined with the index
    # Nothing matches: words the index cannot hold (PostgreSQL), or a source
    # filter no article passes (SQLite, see choose_outlet_set).
    matchless: bool = False
    # Read with a page of hits: the matches in the ranked window, and those of
    # them passing the visibility filter (see count).
    windowed: tuple[int, int] | None = None

    async def page(self, *, limit: int, offset: int) -> list[SearchHit]:
        """The hits from ``offset`` on: best first, or newest first without words."""
        if self.match is None:
            return await self._recent_hits(limit, offset)
        if self.matchless:
            return []
        if self.where.postgres:
            return await self._pg_hits(self.match, limit, offset)
        return await self._fts_hits(self.match, limit, offset)

    async def count(self, *, cap: int) -> int:
        """Number of matches, counting at most ``cap + 1`` rows.

        After a page of hits, usually known without another query: a window
        short of ``RANK_WINDOW`` holds every match passing the filters, and a
        full one (without a visibility filter) more than ``cap`` of them.
        """
        where = self.where
        if self.matchless:
            return 0
        if self.windowed is not None:
            window, shown = self.windowed
            if window < RANK_WINDOW:
                return min(shown, cap + 1)
            if not where.later and RANK_WINDOW > cap:
                return cap + 1
        if self.match is None:
            source = f"SELECT 1 FROM articles a WHERE {where.sql()}"  # noqa: S608
        elif not where.clauses:  # every match is an article: FTS5 alone counts them
            source = "SELECT 1 FROM articles_fts WHERE articles_fts MATCH :match"
        else:
            join = f"articles_fts CROSS JOIN {self.articles} ON a.id = articles_fts.rowid"
            source = f"SELECT 1 FROM {join} WHERE articles_fts MATCH :match AND {where.fts_sql()}"  # noqa: S608
        if self.match is not None and where.postgres:
            condition = f"a.search @@ {_PG_TSQUERY} AND {where.sql()}{where.id_bound('a.id')}"
            # ``a.id + 0``: see _pg_ranked_ids (matches come from the GIN index).
            source = f"SELECT 1 FROM articles a WHERE {condition} ORDER BY a.id + 0"  # noqa: S608
        sql = f"SELECT count(*) FROM ({source} LIMIT {int(cap) + 1}) AS matches"  # noqa: S608
        rows = await _fetchall(self.db, sql, {**where.params, "match": self.match})
        return int(rows[0][0] or 0)

    async def _ranked_ids(self, match: str, limit: int, offset: int) -> list[int]:
        """Ids of the page's hits: bm25 (title weighted), then newest first.

        Only the ``RANK_WINDOW`` most recently stored matches that pass the
        date and source filters are ranked: FTS5 walks its index newest first,
        each match is tested against the filters (its row in the covering
        index, or the outlets' id set) and the walk stops once the window is
        full, so a word found in half the archive costs the same as a rare
        one. A short date range also bounds the walk by article ids.
        Visibility applies to the window.
        """
        where = self.where
        score = f"bm25(articles_fts, {TITLE_WEIGHT}, {BODY_WEIGHT})"
        params = {**where.params, "match": match, "limit": limit, "offset": offset}
        if not where.narrowing:
            newest = (
                f"SELECT rowid AS id, {score} AS score"  # noqa: S608
                f" FROM articles_fts WHERE articles_fts MATCH :match{where.fts_bound}"
                f" ORDER BY rowid DESC LIMIT {RANK_WINDOW}"
            )
            # The window is counted here: ranking reads all of it anyway, and
            # a word with fewer matches than the window (a rare phrase's walk
            # is the slowest kind) needs no walk to count them (see count).
            sql = f"""
                WITH m AS MATERIALIZED ({newest})
                SELECT a.id, m.score AS score, count(*) OVER (), (SELECT count(*) FROM m)
                FROM m CROSS JOIN {self.articles} ON a.id = m.id
                WHERE {where.after_window_sql()}
                ORDER BY score, a.published_at DESC, a.id DESC
                LIMIT :limit OFFSET :offset
            """  # noqa: S608 -- only our own SQL fragments are interpolated; values are bound
            return self._window_ids(await _fetchall(self.db, sql, params))
        newest = (
            f"SELECT articles_fts.rowid AS id, {score} AS score, a.published_at AS published"  # noqa: S608
            f" FROM articles_fts CROSS JOIN {self.articles} ON a.id = articles_fts.rowid"
            f" WHERE articles_fts MATCH :match AND {where.window_sql()}{where.fts_bound}"
            f" ORDER BY articles_fts.rowid DESC LIMIT {RANK_WINDOW}"
        )
        # Without a visibility filter the window's rows need not be read again.
        join = f" CROSS JOIN {self.articles} ON a.id = m.id" if where.later else ""
        # The window is counted here: counting again would walk the matches
        # and test the filters again (see count).
        sql = f"""
            WITH m AS MATERIALIZED ({newest})
            SELECT m.id, m.score AS score, count(*) OVER (), (SELECT count(*) FROM m)
            FROM m{join}
            WHERE {where.after_window_sql()}
            ORDER BY score, m.published DESC, m.id DESC
            LIMIT :limit OFFSET :offset
        """  # noqa: S608 -- only our own SQL fragments are interpolated; values are bound
        return self._window_ids(await _fetchall(self.db, sql, params))

    def _window_ids(self, rows: list[tuple[Param, ...]]) -> list[int]:
        """The ids of ``rows`` (id, score, shown, window), noting the window's counts."""
        if rows:
            self.windowed = (int(rows[0][3] or 0), int(rows[0][2] or 0))
        return [int(row[0] or 0) for row in rows]

    async def _fts_hits(self, match: str, limit: int, offset: int) -> list[SearchHit]:
        """The page's hits, with snippets computed for those rows only."""
        ids = await self._ranked_ids(match, limit, offset)
        if not ids:
            return []
        params: dict[str, Param] = {f"id{i}": rowid for i, rowid in enumerate(ids)}
        listed = ", ".join(f":{key}" for key in params)
        narrow = max(ids) - min(ids) <= SCAN_SPAN_MAX
        if has_prefix(self.query) or (not self.where.narrowing and narrow):
            # Each rowid lookup would re-expand the prefix over the whole index,
            # and costs about as much as scanning a window's matches (0.1 ms
            # for a word's newest 2,000): scan the matches once, within the
            # ids' range, instead. A filtered window's ids may span most of
            # the word's matches (one outlet's over the whole archive), and so
            # may a rare phrase's: its words' matches over that span cost more
            # to scan than ten lookups (5.4 against 1.5 ms at 1M articles).
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

    async def _pg_ranked_ids(self, limit: int, offset: int) -> list[int]:
        """PostgreSQL's _ranked_ids: ts_rank_cd (title weighted), then newest first,
        over the ``RANK_WINDOW`` newest matches passing the date and source
        filters. The window is chosen by id alone, so only the rows in it are
        ranked."""
        where = self.where
        narrowing = f" AND {where.window_sql()}" if where.narrowing else ""
        # ``a.id + 0`` is the id without its index order: ordered by ``a.id``
        # the planner walks the primary key backwards and tests every row's
        # vector (read from TOAST) until it has the window, 150 ms for a
        # common word at 100,000 articles; this way the matches come from
        # the GIN index and only they are sorted (20 ms).
        newest = (
            f"SELECT a.id FROM articles a"  # noqa: S608
            f" WHERE a.search @@ {_PG_TSQUERY}{where.id_bound('a.id')}{narrowing}"
            f" ORDER BY a.id + 0 DESC LIMIT {RANK_WINDOW}"
        )
        sql = f"""
            WITH m AS MATERIALIZED ({newest})
            SELECT a.id, {_pg_score("a")} AS score, count(*) OVER (), (SELECT count(*) FROM m)
            FROM m JOIN articles a ON a.id = m.id
            WHERE {where.after_window_sql()}
            ORDER BY score DESC, a.published_at DESC, a.id DESC
            LIMIT :limit OFFSET :offset
        """  # noqa: S608 -- only our own SQL fragments are interpolated; values are bound
        params = {**where.params, "match": self.match, "limit": limit, "offset": offset}
        return self._window_ids(await _fetchall(self.db, sql, params))

    async def _pg_hits(self, match: str, limit: int, offset: int) -> list[SearchHit]:
        """The page's hits with ts_headline snippets of the body, marked as FTS5's
        are, with "…" where the snippet does not reach the body's start or end.

        ``OFFSET 0`` keeps each lateral subquery whole: flattened, the planner
        would copy the ts_headline call into every expression that reads it."""
        ids = await self._pg_ranked_ids(limit, offset)
        if not ids:
            return []
        sql = f"""
            SELECT {_HIT_COLUMNS}, h.headline,
                p.at > 1 AND left(b.body, p.at - 1) ~ '[[:alnum:]]' AS cut_before,
                p.at > 0 AND substr(b.body, p.at + p.length) ~ '[[:alnum:]]' AS cut_after
            FROM articles a
            CROSS JOIN LATERAL (SELECT left(a.body, {INDEXED_BODY_CHARS}) AS body) AS b
            CROSS JOIN LATERAL (
                SELECT ts_headline('newsdesk', left(b.body, {HEADLINE_FIRST_CHARS}),
                    {_PG_TSQUERY}, :options) AS headline
                OFFSET 0
            ) AS first
            CROSS JOIN LATERAL (
                SELECT CASE
                    WHEN length(b.body) <= {HEADLINE_FIRST_CHARS}
                        OR strpos(first.headline, chr({ord(SNIPPET_START)})) > 0
                    THEN first.headline
                    ELSE ts_headline('newsdesk', b.body, {_PG_TSQUERY}, :options)
                END AS headline
                OFFSET 0
            ) AS h
            CROSS JOIN LATERAL (
                SELECT strpos(b.body, u.plain) AS at, length(u.plain) AS length
                FROM (SELECT replace(replace(h.headline, chr({ord(SNIPPET_START)}), ''),
                    chr({ord(SNIPPET_END)}), '') AS plain) AS u
                OFFSET 0
            ) AS p
            WHERE a.id = ANY(CAST(:ids AS BIGINT[]))
        """  # noqa: S608 -- only our own SQL fragments are interpolated; values are bound
        params: dict[str, object] = {"match": match, "options": _PG_HEADLINE, "ids": ids}
        async with self.db.execute(sql, params) as cursor:
            rows = {int(row["id"]): row for row in await cursor.fetchall()}
        hits = []
        for article_id in ids:
            row = rows.get(article_id)
            if row is None:
                continue
            text = str(row["headline"] or "")
            text = ("…" if row["cut_before"] else "") + text + ("…" if row["cut_after"] else "")
            hits.append(_hit(tuple(row), marked=True, text=text))
        return hits

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
    postgres = is_postgres(db)
    where = _build_where(filters, postgres=postgres)
    if postgres:
        return await _pg_article_search(db, query, filters, where)
    match = to_fts(query)
    articles = "articles a"
    if match is not None:
        await where.bound_ids(db, filters.start, filters.end, match=match)
        await where.choose_outlet_set(db, match)
        articles = await _articles_join(db)
    return ArticleSearch(
        db=db, query=query, match=match, where=where, articles=articles, matchless=where.no_outlet
    )


async def _pg_article_search(
    db: Connection, query: SearchWords, filters: SearchFilters, where: _Where
) -> ArticleSearch:
    """PostgreSQL: the words' tsquery, normalized once by ``to_tsquery`` (the
    user's text only ever as quoted operands, see bot/store/fts.py)."""
    compiled = to_tsquery_text(query)
    if compiled is None:
        return ArticleSearch(db=db, query=query, match=None, where=where, articles="articles a")
    full, root = compiled
    if not root:
        return ArticleSearch(
            db=db, query=query, match="", where=where, articles="articles a", matchless=True
        )
    sql = (
        "SELECT CAST(to_tsquery('newsdesk', CAST(:full AS TEXT)) AS TEXT),"
        " numnode(to_tsquery('newsdesk', CAST(:root AS TEXT)))"
    )
    rows = await _fetchall(db, sql, {"full": full, "root": root})
    match, required = str(rows[0][0] or ""), int(rows[0][1] or 0)
    await where.bound_ids(db, filters.start, filters.end)
    return ArticleSearch(
        db=db,
        query=query,
        match=match,
        where=where,
        articles="articles a",
        matchless=required == 0 or not match,
    )
