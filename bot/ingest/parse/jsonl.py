"""JSON Lines: one article object per line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bot.ingest.parse.dates import parse_date
from bot.ingest.parse.errors import ParseError
from bot.ingest.parse.jsonfeed import load_json
from bot.ingest.parse.links import resolve_link
from bot.ingest.parse.page import with_page_text
from bot.models import Entry

MAX_TITLE_CHARS = 1000


def iter_jsonl(lines: Iterable[str | bytes]) -> Iterator[Entry | ParseError]:
    """Yield an Entry per line ``{title, text | html, url, source, published_at,
    category?}`` (other keys ignored), or a ParseError naming the line number for
    a bad line, and go on. Blank lines are skipped.

    An ``html`` that is a whole web page goes through the same main-text
    extraction as a page file (:func:`bot.ingest.parse.page.with_page_text`);
    a page that is not an article gives a :class:`NotAnArticle`."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, bytes | bytearray):
            line = bytes(line).decode("utf-8", errors="replace")
        if not isinstance(line, str):
            yield ParseError(f"line {number}: expected text, got {type(line).__name__}")
            continue
        if not line.strip():
            continue
        try:
            yield _entry(load_json(line))
        except ParseError as exc:
            yield type(exc)(f"line {number}: {exc}")


def _entry(record: Any) -> Entry:
    """One decoded line -> Entry; ParseError when it is not a usable article."""
    if not isinstance(record, dict):
        raise ParseError("not a JSON object")
    title = _str(record.get("title"))
    html = _str(record.get("html"))
    text = _str(record.get("text")) or _str(record.get("body"))
    if not title and not html and not text:
        raise ParseError("no title and no text/html")
    category = _str(record.get("category"))
    entry = Entry(
        title=(title or "")[:MAX_TITLE_CHARS],
        url=resolve_link(record.get("url")),
        guid=_str(record.get("guid")),
        author=_str(record.get("author")),
        categories=[category] if category else [],
        published_at=parse_date(record.get("published_at")),
        updated_at=parse_date(record.get("updated_at")),  # as `newsdesk export` writes it
        content=text or html,
        content_is_html=not text and html is not None,
        source=_str(record.get("source")),
    )
    return with_page_text(entry)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
