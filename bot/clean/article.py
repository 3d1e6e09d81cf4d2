"""An Entry as a source produced it -> a clean, identified Article."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from bot.clean.text import clean_line, clean_text, dedupe_key, html_to_text
from bot.identity import canonical_url, content_hash, image_url, is_trustworthy_guid
from bot.models import Article, Entry

MAX_TITLE_CHARS = 500
MAX_BODY_CHARS = 100_000
MAX_SUMMARY_CHARS = 5_000
MAX_NAME_CHARS = 200
MAX_GUID_CHARS = 1_000
DERIVED_TITLE_CHARS = 150
# Raw text is cut before cleaning, so a giant field never goes through the
# cleaning passes whole: plain text to twice what is stored (cleaning drops
# blanks and repeated lines), HTML to twenty times (markup is most of it).
RAW_TEXT_CHARS = 2 * MAX_BODY_CHARS
RAW_HTML_CHARS = 20 * MAX_BODY_CHARS
RAW_LINE_CHARS = 10_000  # title, author, source, category, GUID before cleaning
# Control characters a stored URL or GUID may not hold (they would reach logs,
# terminals and Discord): refused in a URL, removed from a GUID.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")
_SENTENCE = re.compile(r"(?<=[.!?])\s")


def to_article(
    entry: Entry, *, fetched_at: datetime, fallback_source: str | None = None
) -> Article | None:
    """Clean and identify ``entry``; None when it has neither a title nor body text."""
    summary = _as_text(entry.summary, entry.content_is_html)
    body = _cap_body(_body(entry, summary))
    title = _cut(clean_line(_raw(entry.title)), MAX_TITLE_CHARS)
    if not title and not body:
        return None
    if not title:
        title = _derive_title(body)
    elif body:
        body = _drop_leading_title(title, body)
    given = entry.published_at or entry.updated_at
    return Article(
        title=title,
        body=body,
        url=_url(entry.url),
        guid=_guid(entry),
        source=_source(entry, fallback_source),
        author=_cut(clean_line(_raw(entry.author)), MAX_NAME_CHARS) or None,
        category=_category(entry.categories),
        # An undated article is placed at the time it was first seen (for
        # ordering and digest windows) and marked undated: no date is invented.
        published_at=_utc(given or fetched_at),
        updated_at=_utc(entry.updated_at) if entry.updated_at else None,
        summary=_cap_body(summary, MAX_SUMMARY_CHARS) or None,
        content_hash=content_hash(title, body),
        dated=given is not None,
        # checked again here: an Entry may come from anywhere
        image_url=image_url(entry.image_url),
    )


def _raw(value: str | None) -> str | None:
    """A one-line field cut before cleaning."""
    return value[:RAW_LINE_CHARS] if isinstance(value, str) else value


def _url(url: str | None) -> str | None:
    """The canonical URL; none for a URL holding control characters (NUL...)."""
    if isinstance(url, str) and _CONTROL.search(url.strip()):
        return None
    return canonical_url(url)


def _as_text(value: str | None, is_html: bool) -> str:
    """Clean text of a content or summary field."""
    if not value:
        return ""
    if is_html:
        return html_to_text(value[:RAW_HTML_CHARS])
    return clean_text(value[:RAW_TEXT_CHARS])


def _body(entry: Entry, summary: str) -> str:
    """Full content when present, else the summary (``summary``: the entry's
    summary as clean text, cleaned once for both), as clean text."""
    if entry.content_is_page_text and entry.content and not entry.content_is_html:
        # the page's own paragraphs
        return clean_text(entry.content[:RAW_TEXT_CHARS], dedupe=False)
    return _as_text(entry.content, entry.content_is_html) or summary


def _cap_body(body: str, limit: int = MAX_BODY_CHARS) -> str:
    """At most ``limit`` characters, cut at a paragraph (else word) boundary."""
    if len(body) <= limit:
        return body
    cut = body.rfind("\n\n", 0, limit + 1)
    if cut <= 0:
        cut = body.rfind(" ", 0, limit + 1)
    return body[: cut if cut > 0 else limit].rstrip()


def _cut(text: str, limit: int) -> str:
    """At most ``limit`` characters, at a word boundary when there is one."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit + 1)
    return text[: cut if cut > limit // 2 else limit].rstrip()


def _derive_title(body: str) -> str:
    """A title for an untitled entry: the body's first sentence, shortened."""
    first = body.split("\n\n", 1)[0]
    sentence = _SENTENCE.split(first, 1)[0]
    return _cut(sentence, DERIVED_TITLE_CHARS)


def _drop_leading_title(title: str, body: str) -> str:
    """Remove the title when the body repeats it as its first paragraph."""
    first, _sep, rest = body.partition("\n\n")
    return rest if dedupe_key(first) == dedupe_key(title) else body


def _guid(entry: Entry) -> str | None:
    """The GUID when it identifies the article on its own (see is_trustworthy_guid)."""
    if not is_trustworthy_guid(entry.guid, entry.url):
        return None
    return _CONTROL.sub("", (entry.guid or "")[:RAW_LINE_CHARS]).strip()[:MAX_GUID_CHARS] or None


def _source(entry: Entry, fallback: str | None) -> str:
    """Outlet name: the entry's, the caller's, the URL's host, or "unknown"."""
    for candidate in (entry.source, fallback):
        name = _cut(clean_line(_raw(candidate)), MAX_NAME_CHARS)
        if name:
            return name
    return _host(_url(entry.url)) or "unknown"


def _host(url: str | None) -> str | None:
    """Host of ``url`` without "www."."""
    if not url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    return host.removeprefix("www.") if host else None


def _category(categories: list[str]) -> str | None:
    """The first non-blank category, cleaned."""
    for category in categories or []:
        name = _cut(clean_line(_raw(category)), MAX_NAME_CHARS) if isinstance(category, str) else ""
        if name:
            return name
    return None


def _utc(value: datetime) -> datetime:
    """Aware UTC (naive values are taken to be UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
