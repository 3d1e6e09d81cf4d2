"""Search: the query language, date expressions and the search engine.

The names below are loaded on first use (PEP 562): the store compiles the
query AST (``bot.store.fts`` imports ``bot.search.query``), so importing
this package must not load the engine, which imports the store.
"""

from __future__ import annotations

from bot.lazy import lazy_exports

_EXPORTS = {
    "DateParseError": ".dates",
    "Query": ".query",
    "QueryError": ".query",
    "SearchHit": ".engine",
    "SearchPage": ".engine",
    "mark_snippet": ".engine",
    "parse_date_range": ".dates",
    "parse_day": ".dates",
    "parse_query": ".query",
    "search": ".engine",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
