"""Search: parse the query, resolve its filters, ask the store, build the page.

What matches and in what order is the store's (bot/store/search.py: FTS5 or
PostgreSQL's tsvector, titles weighed above bodies, newest first without
words); this module is the part any backend shares: the query language,
dates read in the caller's time zone, limits, and the page with its (capped)
count.

Snippets: each hit carries ``snippet`` (plain text, whitespace collapsed, no
markup) and ``highlights``, the ``(start, end)`` character spans of matched
words in it. Renderers escape the text for their medium and wrap the spans
(see :func:`mark_snippet`), so publisher text can never inject markup.

Visibility: ``guild_id=None`` sees everything (CLI); otherwise only what
that server may see (bot/store/visibility.py).

Source filters (``source=`` and ``source:`` in the query) match articles whose
source *starts with* the given text, ignoring ASCII case: ``source:bbc``
matches "BBC" and "BBC News". Several ``source:`` in a query are OR-ed; the
``source=`` argument is AND-ed with them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from ..models import SearchFilters, SearchHit
from ..store.search import article_search
from .query import Query, QueryError, parse_query

if TYPE_CHECKING:
    from ..store import Connection

__all__ = ["QueryError", "SearchHit", "SearchPage", "mark_snippet", "search"]

MAX_LIMIT = 50
MAX_OFFSET = 1000
TOTAL_CAP = 1000  # counting stops here; the page then says "1000+"


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
        """True when a next page exists and can be asked for (offset <= MAX_OFFSET)."""
        following = self.offset + len(self.hits)
        if following > MAX_OFFSET:
            return False
        return following < self.total or (self.total_capped and len(self.hits) == self.limit)


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


def _filters(
    query: Query,
    *,
    guild_id: int | None,
    source: str | None,
    date_range: tuple[datetime | None, datetime | None],
) -> SearchFilters:
    """The query's written filters AND-ed with the caller's, resolved for the store."""
    groups = [tuple(names) for names in (query.sources, [source] if source else []) if names]
    return SearchFilters(
        guild_id=guild_id,
        start=date_range[0],
        end=date_range[1],
        sources=tuple(groups),
        excluded_sources=tuple(query.excluded_sources),
    )


# ------------------------------------------------------------------- public


async def search(
    db: Connection,
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
    filters = _filters(query, guild_id=guild_id, source=source, date_range=date_range)
    matches = await article_search(db, query.words, filters)
    page.hits = await matches.page(limit=limit, offset=offset)
    if len(page.hits) < limit and (page.hits or offset == 0):
        page.total = offset + len(page.hits)  # the last page: no need to count
    else:
        page.total = await matches.count(cap=TOTAL_CAP)
    page.total_capped = page.total > TOTAL_CAP
    page.total = min(page.total, TOTAL_CAP)
    return page
