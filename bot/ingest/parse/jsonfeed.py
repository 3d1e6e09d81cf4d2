"""JSON Feed 1.0 / 1.1 (https://jsonfeed.org) into entries."""

from __future__ import annotations

import json
from typing import Any

from bot.ingest.parse.dates import parse_date
from bot.ingest.parse.errors import ParseError
from bot.ingest.parse.links import resolve_image, resolve_link
from bot.models import Entry, ParsedFeed

MAX_TITLE_CHARS = 1000


def parse_json_feed(data: bytes, *, url: str | None = None, max_entries: int = 1000) -> ParsedFeed:
    """Parse a JSON Feed document; ParseError when it is not one."""
    document = load_json(data)
    if not isinstance(document, dict):
        raise ParseError("not a JSON Feed: the top level is not an object")
    version = document.get("version")
    items = document.get("items")
    if not isinstance(items, list) and not _is_jsonfeed_version(version):
        raise ParseError("not a JSON Feed: no 'version' and no 'items' list")
    base = _text(document.get("home_page_url")) or url
    entries = [
        _entry(item, base)
        for item in (items if isinstance(items, list) else [])[: max(0, max_entries)]
        if isinstance(item, dict)
    ]
    return ParsedFeed(
        title=_text(document.get("title")),
        link=resolve_link(document.get("home_page_url"), url),
        entries=entries,
        format=_format(version),
    )


def load_json(data: bytes | str) -> Any:
    """Decode JSON from bytes (UTF-8, BOM tolerated); ParseError when invalid."""
    if isinstance(data, bytes | bytearray):
        text = bytes(data).decode("utf-8-sig", errors="replace")
    else:
        text = data.removeprefix("\ufeff")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {exc}"[:300]) from exc


def _is_jsonfeed_version(version: Any) -> bool:
    return isinstance(version, str) and "jsonfeed.org" in version


def _format(version: Any) -> str:
    """'json10' / 'json11' from the version URL."""
    if isinstance(version, str) and version.rstrip("/").endswith("1.1"):
        return "json11"
    if _is_jsonfeed_version(version):
        return "json10"
    return "json"


def _text(value: Any) -> str | None:
    """A non-blank string (numbers become strings), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(value)
    return value if isinstance(value, str) and value.strip() else None


def _entry(item: dict[str, Any], base: str | None) -> Entry:
    """One JSON Feed item -> Entry."""
    html = _text(item.get("content_html"))
    plain = _text(item.get("content_text"))
    return Entry(
        title=(_text(item.get("title")) or "")[:MAX_TITLE_CHARS],
        url=resolve_link(item.get("url"), base) or resolve_link(item.get("external_url"), base),
        guid=_text(item.get("id")),
        author=_author(item),
        categories=[text.strip() for tag in _list(item.get("tags")) if (text := _text(tag))],
        published_at=parse_date(item.get("date_published")),
        updated_at=parse_date(item.get("date_modified")),
        summary=_text(item.get("summary")),
        content=html or plain,
        content_is_html=html is not None,
        image_url=resolve_image(item.get("image"), base)
        or resolve_image(item.get("banner_image"), base),
    )


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _author(item: dict[str, Any]) -> str | None:
    """Names from ``authors`` (1.1) or ``author`` (1.0), joined with commas."""
    candidates = _list(item.get("authors")) or [item.get("author")]
    names = [
        name
        for candidate in candidates
        if isinstance(candidate, dict) and (name := _text(candidate.get("name")))
    ]
    return ", ".join(names) if names else None
