"""JSON Lines: one article object per line."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import IO, Any

from bot.ingest.parse.dates import parse_date
from bot.ingest.parse.errors import ParseError
from bot.ingest.parse.jsonfeed import load_json
from bot.ingest.parse.links import resolve_image, resolve_link
from bot.ingest.parse.page import with_page_text
from bot.models import Entry

MAX_TITLE_CHARS = 1000
# A line longer than this is refused with its number (a whole web page in
# ``html`` fits: the fetch limit is 5 MB by default). Decoding a 100 MB line
# would take gigabytes.
MAX_LINE_BYTES = 8 * 1024 * 1024
_SKIP_CHUNK = 1 << 20


class LineTooLong:
    """Stands for a line over :data:`MAX_LINE_BYTES` that was skipped unread."""

    def __init__(self, size: int) -> None:
        self.size = size


def bounded_lines(fh: IO[bytes], limit: int = MAX_LINE_BYTES) -> Iterator[bytes | LineTooLong]:
    """The lines of a binary file, none held in memory beyond ``limit`` bytes:
    a longer line is read past in chunks and given as :class:`LineTooLong`."""
    while True:
        line = fh.readline(limit + 1)
        if not line:
            return
        if len(line) <= limit or line.endswith(b"\n"):
            yield line
            continue
        size = len(line)
        while True:  # skip the rest of the line without keeping it
            chunk = fh.readline(_SKIP_CHUNK)
            size += len(chunk)
            if not chunk or chunk.endswith(b"\n"):
                break
        yield LineTooLong(size)


def iter_jsonl(lines: Iterable[str | bytes | LineTooLong]) -> Iterator[Entry | ParseError]:
    """Yield an Entry per line ``{title, text | html, url, source, published_at,
    category?, image?}`` (other keys ignored), or a ParseError naming the line number for
    a bad line, and go on. Blank lines are skipped.

    An ``html`` that is a whole web page goes through the same main-text
    extraction as a page file (:func:`bot.ingest.parse.page.with_page_text`);
    a page that is not an article gives a :class:`NotAnArticle`."""
    for number, line in enumerate(lines, start=1):
        if isinstance(line, LineTooLong) or (
            isinstance(line, str | bytes | bytearray) and len(line) > MAX_LINE_BYTES
        ):
            size = line.size if isinstance(line, LineTooLong) else len(line)
            yield ParseError(
                f"line {number}: {size:,} bytes, over the {MAX_LINE_BYTES:,}-byte limit "
                "for one line; skipped"
            )
            continue
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
    url = resolve_link(record.get("url"))
    entry = Entry(
        title=(title or "")[:MAX_TITLE_CHARS],
        url=url,
        guid=_str(record.get("guid")),
        author=_str(record.get("author")),
        categories=[category] if category else [],
        published_at=parse_date(record.get("published_at")),
        updated_at=parse_date(record.get("updated_at")),  # as `newsdesk export` writes it
        content=text or html,
        content_is_html=not text and html is not None,
        source=_str(record.get("source")),
        # ``image`` as `newsdesk export` writes it; ``image_url`` as others may.
        image_url=resolve_image(record.get("image"), url)
        or resolve_image(record.get("image_url"), url),
    )
    return with_page_text(entry)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
