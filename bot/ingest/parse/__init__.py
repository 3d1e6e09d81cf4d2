"""Parsers: bytes or text from a source -> :class:`bot.models.Entry` objects.

Everything here is pure and synchronous; fetching and storing happen elsewhere.
Every parser raises only :class:`ParseError` for input it cannot use.
"""

from bot.ingest.parse.errors import NotAnArticle, ParseError
from bot.ingest.parse.feeds import parse_feed
from bot.ingest.parse.jsonfeed import parse_json_feed
from bot.ingest.parse.jsonl import iter_jsonl
from bot.ingest.parse.opml import parse_opml
from bot.ingest.parse.page import parse_page
from bot.ingest.parse.sniff import sniff
from bot.ingest.parse.textfile import parse_text_article

__all__ = [
    "NotAnArticle",
    "ParseError",
    "iter_jsonl",
    "parse_feed",
    "parse_json_feed",
    "parse_opml",
    "parse_page",
    "parse_text_article",
    "sniff",
]
