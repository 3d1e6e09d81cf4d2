"""A web page -> its main text and metadata, via trafilatura."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import trafilatura

from bot.ingest.parse.dates import parse_date
from bot.ingest.parse.errors import ParseError
from bot.ingest.parse.links import resolve_link
from bot.models import Entry

MAX_TITLE_CHARS = 1000
# htmldate: prefer the original publication date over the last modification.
_DATE_PARAMS = {
    "extensive_search": True,
    "original_date": True,
    "outputformat": "%Y-%m-%dT%H:%M:%S",
}

logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)


def parse_page(html: bytes | str, *, url: str | None = None) -> Entry:
    """Main text (paragraphs separated by a blank line), title, date, author and
    site name (as ``source``) of a web page; ParseError when there is no main text."""
    if not isinstance(html, bytes | bytearray | str):
        raise ParseError(f"not a page: expected bytes or str, got {type(html).__name__}")
    if not html or not (html.strip() if isinstance(html, str) else bytes(html).strip()):
        raise ParseError("not a page: the document is empty")
    document = _extract(html, url)
    text = getattr(document, "text", None) if document is not None else None
    if not isinstance(text, str) or not text.strip():
        raise ParseError("no main text found in the page")
    paragraphs = [line.strip() for line in text.split("\n") if line.strip()]
    page_url = resolve_link(url) or resolve_link(getattr(document, "url", None))
    return Entry(
        title=(_str(document, "title") or "")[:MAX_TITLE_CHARS],
        url=page_url,
        author=_str(document, "author"),
        categories=[c for c in getattr(document, "categories", None) or [] if isinstance(c, str)],
        published_at=parse_date(_str(document, "date")),
        summary=_str(document, "description"),
        content="\n\n".join(paragraphs),
        content_is_html=False,
        source=_str(document, "sitename") or _host(page_url),
    )


def _extract(html: bytes | str, url: str | None) -> Any:
    """trafilatura.bare_extraction with metadata; its failures become ParseError."""
    try:
        return trafilatura.bare_extraction(
            bytes(html) if isinstance(html, bytearray) else html,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_images=False,
            include_links=False,
            date_extraction_params=_DATE_PARAMS,
        )
    except Exception as exc:  # trafilatura/lxml/htmldate can fail on odd pages
        raise ParseError(f"could not read the page: {type(exc).__name__}: {exc}"[:300]) from exc


def _str(document: Any, name: str) -> str | None:
    value = getattr(document, name, None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _host(url: str | None) -> str | None:
    if not url:
        return None
    host = urlsplit(url).hostname
    return host.removeprefix("www.") if host else None
