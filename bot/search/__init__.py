"""Search: the query language, date expressions and the FTS5 search engine."""

from .dates import DateParseError, parse_date_range, parse_day
from .engine import SearchHit, SearchPage, mark_snippet, search
from .query import Query, QueryError, parse_query, to_fts

__all__ = [
    "DateParseError",
    "Query",
    "QueryError",
    "SearchHit",
    "SearchPage",
    "mark_snippet",
    "parse_date_range",
    "parse_day",
    "parse_query",
    "search",
    "to_fts",
]
