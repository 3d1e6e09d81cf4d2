"""RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 (via feedparser) and JSON Feed into entries.

Safety notes (checked against feedparser 6.0 and expat 2.5):

* feedparser's strict (expat) pass never reads external entities, and expat
  stops billion-laughs expansion; but when the strict pass fails, its loose
  parser re-parses with the document's "safe" entities (plain strings) and
  expands them without any limit, so a 35 KB feed can become a 100 MB title.
  We therefore drop every DOCTYPE that declares entities before feedparser
  sees the document (undeclared ``&name;`` references are then left as text),
  and refuse such documents when they are not in an ASCII-compatible encoding.
* ``feedparser.parse`` opens URLs and local files when given a string that
  looks like one, so the bytes are always handed over as a stream.
"""

from __future__ import annotations

import dataclasses
import io
import re
from typing import Any

from bot.ingest.parse.dates import from_struct_time
from bot.ingest.parse.errors import NotAnArticle, ParseError
from bot.ingest.parse.gunzip import GzipError, gunzip, is_gzip
from bot.ingest.parse.jsonfeed import parse_json_feed
from bot.ingest.parse.links import resolve_image, resolve_link
from bot.ingest.parse.page import with_page_text
from bot.models import Entry, ParsedFeed

MAX_TITLE_CHARS = 1000
DEFAULT_MAX_ENTRIES = 1000
MAX_GUNZIPPED_BYTES = 32 * 1024 * 1024  # gzip bombs stop here

_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"
_ENTITY_DECL = b"<!ENTITY"
# A DOCTYPE with an optional internal subset; quoted strings may hold ">" or "]".
_DOCTYPE = re.compile(
    rb"""<!DOCTYPE[^\[>]*(?:\[(?:"[^"]*"|'[^']*'|<!--.*?-->|[^\]"'<]|<(?!!--))*\])?\s*>""",
    re.IGNORECASE | re.DOTALL,
)
_HTML_START = re.compile(rb"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)
_HTML_CONTENT_TYPE = re.compile(r"^\s*(text/html|application/xhtml)", re.IGNORECASE)
_TAGS = re.compile(r"<[^<>]{0,2000}>")
# An RSS <item> or Atom <entry> start tag, with or without a namespace prefix.
_ENTRY_START = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:item|entry)[\s/>]")
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml", "html", "xhtml"})


def parse_feed(
    data: bytes,
    *,
    url: str | None = None,
    content_type: str | None = None,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> ParsedFeed:
    """Parse a feed document; raise :class:`ParseError` when it is not a feed.

    Relative entry links are resolved against ``url``. A feed that parsed with
    problems but still gave entries carries the problem in ``warning``.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ParseError(f"not a feed: expected bytes, got {type(data).__name__}")
    data = _gunzip(bytes(data))
    head = data[:4096].lstrip(_BOM_AND_SPACE)
    if not head:
        raise ParseError("not a feed: the document is empty")
    if head[:1] in (b"{", b"["):
        return parse_json_feed(data, url=url, max_entries=max_entries)
    utf8, notes = _prepare(data, content_type)
    utf8, capped = _cap_entries(utf8, max(0, max_entries))
    converted = bool(notes.get("encoding"))
    result = _run_parsers(
        utf8, None if converted else content_type, converted=converted, capped=capped
    )
    read = [_entry(raw, url) for raw in result.get("entries", [])[: max(0, max_entries)]]
    entries = [_main_text(entry) for entry in read if entry is not None]
    version = result.get("version") or ""
    if not version and not entries:
        raise ParseError(_not_a_feed_reason(head, content_type, result))
    feed = result.get("feed") or {}
    return ParsedFeed(
        title=_plain_title(feed.get("title"), feed.get("title_detail")),
        link=resolve_link(feed.get("link"), url),
        entries=entries,
        format=version or "unknown",
        warning=f"only the first {max_entries} entries were read"
        if capped
        else _warning(result, notes),
    )


def _cap_entries(data: bytes, max_entries: int) -> tuple[bytes, bool]:
    """Cut the document before entry ``max_entries + 1``.

    feedparser is pure Python and parses every entry before we keep the first
    ``max_entries``: 100,000 tiny entries cost seconds of CPU and 100+ MB. The
    cut leaves the document unclosed, which feedparser tolerates (bozo).
    """
    for count, match in enumerate(_ENTRY_START.finditer(data)):
        if count == max_entries:
            return data[: match.start()], True
    return data, False


def _gunzip(data: bytes) -> bytes:
    """Decompress a gzipped document (a saved ``.xml.gz``), capped in size."""
    if not is_gzip(data):
        return data
    try:
        return gunzip(data, MAX_GUNZIPPED_BYTES)
    except GzipError as exc:
        if exc.too_large:
            raise ParseError("refused: the gzipped document is too large") from exc
        raise ParseError(f"not a feed: broken gzip data ({exc})") from exc


def _prepare(data: bytes, content_type: str | None) -> tuple[bytes, dict[str, Any]]:
    """Convert to UTF-8 like feedparser would, then defuse entity declarations."""
    notes: dict[str, Any] = {}
    headers = {"content-type": content_type} if content_type else {}
    from feedparser.encodings import convert_to_utf8

    try:
        utf8 = convert_to_utf8(headers, data, notes)
    except Exception:  # feedparser internals: fall back to the raw bytes
        notes = {}
        utf8 = data
    return _defuse_entities(utf8, ascii_compatible=bool(notes.get("encoding"))), notes


def _defuse_entities(data: bytes, *, ascii_compatible: bool) -> bytes:
    """Remove DOCTYPEs that declare entities; refuse when that cannot be done safely."""
    if _ENTITY_DECL not in data.replace(b"\x00", b""):
        return data
    if not ascii_compatible or b"\x00" in data[:200]:
        raise ParseError("refused: the document declares XML entities in an unusual encoding")
    cleaned = _DOCTYPE.sub(b"", data)
    if _ENTITY_DECL in cleaned[: _first_element(cleaned)]:
        raise ParseError("refused: the document declares XML entities outside a DOCTYPE")
    return cleaned


def _first_element(data: bytes) -> int:
    """Offset of the first start tag (end of the prolog)."""
    match = re.search(rb"<[A-Za-z_]", data)
    return match.start() if match else len(data)


# The parsers tried in turn; the comparison benchmark (bench/parser_compare.py) pins one.
PARSERS: tuple[str, ...] = ("feedparser-rs", "feedparser")


def _run_parsers(
    data: bytes, content_type: str | None, *, converted: bool = False, capped: bool = False
) -> Any:
    """The first parser in :data:`PARSERS` that reads ``data`` cleanly; else the last one's result.

    ``converted``: ``data`` was re-encoded to UTF-8 (its XML declaration may still name
    the original encoding, which feedparser-rs would believe). ``capped``: the
    document was cut after the last entry kept (so it ends unclosed).
    """
    result: dict[str, Any] = {}
    for name in PARSERS:
        if name == "feedparser-rs":
            if (
                b"xml:base" in data
                or _MARKUP_IN_TEXT_ELEMENT.search(data)
                or _PRIVATE_HOST_LINK.search(data)
            ):
                # feedparser-rs would ignore xml:base (relative links lost), keep
                # only the text before the first tag of unescaped markup, or blank
                # links to loopback and private addresses.
                continue
            result = _run_feedparser_rs(
                _expand_empty_elements(_declare_utf8(data) if converted else data)
            )
            if _rs_accepted(result, capped=capped):
                return result
        else:
            return _run_feedparser(data, content_type)
    return result


def _run_feedparser_rs(data: bytes) -> dict[str, Any]:
    """feedparser-rs on the bytes (never a str: a str that looks like a URL is fetched).

    Its result is turned into the plain-dict shape of feedparser's, with only
    the fields :func:`_entry` reads. Errors give an empty result (the next
    parser then tries).
    """
    import feedparser_rs

    try:
        parsed = feedparser_rs.parse_with_limits(
            bytes(data),
            limits=_rs_limits(),
            sanitize_html=False,  # as with feedparser: we only ever keep plain text
            resolve_relative_uris=False,
        )
        feed = parsed.feed
        version = parsed.version or ""
        return {
            "version": parsed.version or "",
            "bozo": bool(parsed.bozo),
            "bozo_exception": parsed.bozo_exception,
            "feed": {
                "title": feed.title,
                "title_detail": _rs_detail(feed.title_detail),
                "link": feed.link,
            },
            "entries": [_rs_entry(entry, version) for entry in parsed.entries],
        }
    except Exception as exc:  # a Rust panic surfaces as an exception: let feedparser try
        return {"version": "", "bozo": True, "bozo_exception": exc, "entries": []}


_XML_DECL_ENCODING = re.compile(rb"""\A(<\?xml[^>]*?\bencoding\s*=\s*)(["'])[^"']*\2""")


def _declare_utf8(data: bytes) -> bytes:
    """``data`` (UTF-8) with its XML declaration saying so."""
    return _XML_DECL_ENCODING.sub(rb'\1"utf-8"', data.lstrip(_BOM_AND_SPACE), count=1)


# Unescaped markup (a start tag, not CDATA) inside an RSS text element:
# <description>What <em>is</em> it?</description>. Not valid RSS, but seen.
_MARKUP_IN_TEXT_ELEMENT = re.compile(
    rb"<(?:[A-Za-z_][\w.-]*:)?(?:description|title)(?:\s[^<>]*)?>[^<]*<[A-Za-z]"
)

# A URL whose host is loopback, private or link-local (or an IPv6 literal):
# feedparser-rs 0.7.1 blanks such links, feedparser keeps them.
_PRIVATE_HOST_LINK = re.compile(
    rb"://(?:localhost\b|127\.|10\.|192\.168\.|169\.254\.|172\.(?:1[6-9]|2\d|3[01])\.|0\.|\[)",
    re.IGNORECASE,
)

# An empty-element tag. Linear: the lazy run stops at the first "<" or ">".
_EMPTY_ELEMENT = re.compile(rb"<([A-Za-z_][\w:.-]*)(\s[^<>]*?)?/>")
# Where a section whose text must stay as it is begins, and the end of each.
_VERBATIM_START = re.compile(rb"<!\[CDATA\[|<!--")
_VERBATIM_END = {b"<![CDATA[": b"]]>", b"<!--": b"-->"}


def _expand_empty_elements(data: bytes) -> bytes:
    """``<tag/>`` written as ``<tag></tag>`` (the same XML), outside CDATA and comments.

    feedparser-rs 0.7.1 reads the element after an empty text element as its
    content: ``<link/><title>T</title>`` gave the link "T" and no title, and
    ``<category/>`` took the next element's text as a category. One pass, in
    linear time whatever the input (an unclosed CDATA section runs to the end).
    """
    if b"/>" not in data:
        return data
    out: list[bytes] = []
    pos = 0
    while True:
        opening = _VERBATIM_START.search(data, pos)
        if opening is None:
            out.append(_EMPTY_ELEMENT.sub(_expanded, data[pos:]))
            return b"".join(out)
        out.append(_EMPTY_ELEMENT.sub(_expanded, data[pos : opening.start()]))
        close = data.find(_VERBATIM_END[opening.group(0)], opening.end())
        if close < 0:
            out.append(data[opening.start() :])
            return b"".join(out)
        pos = close + len(_VERBATIM_END[opening.group(0)])
        out.append(data[opening.start() : pos])


def _expanded(match: re.Match[bytes]) -> bytes:
    name = match.group(1)
    return b"<" + name + (match.group(2) or b"") + b"></" + name + b">"


_RS_LIMITS: Any = None
_RS_UNCLOSED = "truncated or has unclosed XML elements"  # feedparser-rs 0.7's words


def _rs_limits() -> Any:
    """feedparser-rs's resource limits: its defaults, entries capped as ours are."""
    global _RS_LIMITS
    if _RS_LIMITS is None:
        import feedparser_rs

        # Entries are cut to max_entries before parsing (_cap_entries); this is a second bound.
        _RS_LIMITS = feedparser_rs.ParserLimits(
            max_entries=100_000, max_feed_size_bytes=MAX_GUNZIPPED_BYTES
        )
    return _RS_LIMITS


def _rs_accepted(result: dict[str, Any], *, capped: bool = False) -> bool:
    """Whether feedparser-rs read the document cleanly (else feedparser reads it).

    A document it found malformed (bozo) goes to feedparser, whose loose
    parser recovers more of a broken feed (entries after the error, HTML
    entities that XML does not define); so does one where it found no entry.
    A document cut at the entry cap is unclosed by design: that alone is fine.
    """
    if not result["entries"]:
        return False
    if not result["bozo"]:
        return True
    return capped and _RS_UNCLOSED in str(result["bozo_exception"])


def _rs_detail(detail: Any, *, guess: bool = True) -> dict[str, Any] | None:
    """A feedparser-rs text construct's type, as feedparser would give it.

    feedparser-rs calls every RSS title "text/html"; feedparser calls it plain
    text unless it looks like HTML (a closing tag or an entity, known HTML
    elements only), and ``guess`` applies that rule. (An Atom text without a
    ``type`` is HTML to feedparser-rs and plain text to feedparser: kept as
    given, since guessing would take real HTML content with unusual elements
    for text; an RSS description is HTML to both.)
    """
    if detail is None:
        return None
    kind = detail.type
    if guess and kind == "text/html" and not _looks_like_html(detail.value or ""):
        kind = "text/plain"
    return {"type": kind}


def _looks_like_html(text: str) -> bool:
    from feedparser.mixin import _FeedParserMixin

    return bool(_FeedParserMixin.looks_like_html(text))


def _rs_entry(entry: Any, version: str) -> dict[str, Any]:
    """One feedparser-rs entry -> the feedparser-shaped dict :func:`_entry` reads."""
    rss = version.startswith("rss")
    updated_parsed = entry.updated_parsed
    updated_text = entry.updated
    # RSS 1.0's dc:date is feedparser's update date; an RSS 0.9x/2.0 pubDate is not.
    if rss and version != "rss10" and updated_text == entry.published:
        # feedparser-rs copies an RSS 2.0 item's pubDate into ``updated``; feedparser
        # (and so the store) keeps an update date only when the item gives one.
        updated_parsed = updated_text = None
    return {
        "title": _c1(entry.title),
        "title_detail": _rs_detail(entry.title_detail, guess=rss),
        "link": entry.link,
        "links": [{"href": link.href, "rel": link.rel or "alternate"} for link in entry.links],
        "id": entry.id,
        "guidislink": entry.guidislink,
        "author": entry.author,
        "tags": [{"term": tag.term, "label": tag.label} for tag in entry.tags],
        "published_parsed": entry.published_parsed or _struct_time(entry.published),
        "updated_parsed": updated_parsed or _struct_time(updated_text),
        "summary": _c1(entry.summary),
        "summary_detail": _rs_detail(entry.summary_detail, guess=False),
        "content": [{"value": _c1(c.value), "type": c.type} for c in entry.content],
        "media_content": [
            {"url": m.url, "type": m.type, "medium": m.medium, "width": m.width}
            for m in entry.media_content
        ],
        "media_thumbnail": [{"url": m.url} for m in entry.media_thumbnail],
        "enclosures": [{"href": e.href, "type": e.type} for e in entry.enclosures],
    }


def _struct_time(text: Any) -> Any:
    """A date feedparser-rs left unparsed, read by feedparser's date parser (as before)."""
    if not isinstance(text, str) or not text.strip():
        return None
    from feedparser.datetimes import _parse_date

    try:
        return _parse_date(text)
    except Exception:  # feedparser's date handlers: any failure is "no date"
        return None


# C1 control characters (U+0080-U+009F) in feed text are almost always
# windows-1252 punctuation written as numeric references (&#146; for ’), which
# feedparser maps to the characters meant, as browsers do.
_C1_TO_CP1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_C1 = re.compile("[\x80-\x9f]")


def _c1(text: Any) -> Any:
    """``text`` with C1 controls read as windows-1252 (see :data:`_C1_TO_CP1252`)."""
    if isinstance(text, str) and not text.isascii() and _C1.search(text):
        return text.translate(_C1_TO_CP1252)
    return text


def _run_feedparser(data: bytes, content_type: str | None) -> Any:
    """feedparser.parse on a stream (never a path or URL); errors become ParseError."""
    import feedparser

    headers = {"content-type": content_type or "application/xml; charset=utf-8"}
    try:
        return feedparser.parse(
            io.BytesIO(data),
            response_headers=headers,
            sanitize_html=False,  # we only ever keep plain text
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser and sgmllib can fail in many ways
        raise ParseError(f"unreadable feed: {type(exc).__name__}: {exc}"[:300]) from exc


def _not_a_feed_reason(head: bytes, content_type: str | None, result: Any) -> str:
    """A plain-words explanation of why the document is not a feed."""
    if _HTML_START.search(head) or (content_type and _HTML_CONTENT_TYPE.match(content_type)):
        return "not a feed: the document is HTML"
    problem = result.get("bozo_exception")
    detail = f" ({problem})" if problem else ""
    return f"not a feed: no RSS, Atom or JSON Feed structure found{detail}"[:300]


def _warning(result: Any, notes: dict[str, Any]) -> str | None:
    """feedparser's non-fatal problem (bozo), if any, as a short string."""
    problem = result.get("bozo_exception") if result.get("bozo") else None
    problem = problem or notes.get("bozo_exception")
    return str(problem)[:300] if problem else None


def _entry(raw: Any, base: str | None) -> Entry | None:
    """One feedparser entry -> Entry (raw text, dates sane, link absolute)."""
    if not isinstance(raw, dict):
        return None
    content, content_type = _best_content(raw.get("content"))
    summary = _str(raw.get("summary"))
    summary_type = _detail_type(raw.get("summary_detail"))
    if summary and content and summary.strip() == content.strip():
        summary = None
    is_html = (content_type if content else summary_type) in _HTML_TYPES
    return Entry(
        title=_plain_title(raw.get("title"), raw.get("title_detail")) or "",
        url=_entry_link(raw, base),
        guid=_str(raw.get("id")),
        author=_str(raw.get("author")),
        categories=_categories(raw.get("tags")),
        # dict.get: FeedParserDict.get would map missing keys onto each other.
        published_at=from_struct_time(dict.get(raw, "published_parsed")),
        updated_at=from_struct_time(dict.get(raw, "updated_parsed")),
        summary=summary,
        content=content,
        content_is_html=is_html,
        image_url=_entry_image(raw, base),
    )


_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".avif")


def _entry_image(raw: Any, base: str | None) -> str | None:
    """The entry's lead image: a Media RSS ``media:content`` that is an image
    (``medium="image"``, an ``image/*`` type, or neither given and an image file
    name; the widest when several give a width), else its first
    ``media:thumbnail``, else an ``image/*`` enclosure. Each candidate is
    checked like a link (:func:`resolve_image`); the first that passes wins."""
    candidates: list[Any] = []
    contents = [m for m in _dicts(raw.get("media_content")) if _is_image(m)]
    contents.sort(key=lambda m: -_width(m.get("width")))  # stable: document order on ties
    candidates += [m.get("url") for m in contents]
    candidates += [m.get("url") for m in _dicts(raw.get("media_thumbnail"))]
    candidates += [
        e.get("href")
        for e in _dicts(raw.get("enclosures"))
        if _str(e.get("type")) and str(e.get("type")).strip().lower().startswith("image/")
    ]
    for candidate in candidates:
        url = resolve_image(candidate, base)
        if url:
            return url
    return None


def _dicts(value: Any) -> list[Any]:
    return [v for v in value if hasattr(v, "get")] if isinstance(value, list) else []


def _is_image(media: Any) -> bool:
    medium = (_str(media.get("medium")) or "").strip().lower()
    kind = (_str(media.get("type")) or "").strip().lower()
    if medium or kind:
        return medium == "image" or kind.startswith("image/")
    url = _str(media.get("url")) or ""
    return url.split("?", 1)[0].split("#", 1)[0].lower().endswith(_IMAGE_EXTENSIONS)


def _width(value: Any) -> int:
    try:
        return max(0, int(str(value).strip()))
    except (TypeError, ValueError):
        return 0


def _main_text(entry: Entry) -> Entry:
    """An entry whose content is a whole web page gets the page's main text.

    When that page is no article (a redirect stub, an error page), the entry
    stays, without that content: its title, link and summary still tell the news.
    """
    try:
        return with_page_text(entry)
    except NotAnArticle:
        return dataclasses.replace(entry, content=None)


def _str(value: Any) -> str | None:
    """A non-blank string or None."""
    return value if isinstance(value, str) and value.strip() else None


def _detail_type(detail: Any) -> str:
    """The media type of a feedparser ``*_detail`` dict."""
    value = detail.get("type") if hasattr(detail, "get") else None
    return value.lower() if isinstance(value, str) else "text/plain"


def _plain_title(title: Any, detail: Any) -> str | None:
    """Title text; markup removed when the feed says it is HTML (entities stay)."""
    text = _str(title)
    if text is None:
        return None
    if _detail_type(detail) in _HTML_TYPES:
        text = _TAGS.sub(" ", text)
    return text[:MAX_TITLE_CHARS]


def _best_content(contents: Any) -> tuple[str | None, str]:
    """The longest full-content block, preferring HTML, with its type."""
    best: tuple[str | None, str] = (None, "text/plain")
    if not isinstance(contents, list):
        return best
    for item in contents:
        value = _str(item.get("value")) if hasattr(item, "get") else None
        if value and (best[0] is None or len(value) > len(best[0])):
            best = (value, _detail_type(item))
    return best


def _entry_link(raw: Any, base: str | None) -> str | None:
    """The entry's alternate link (or permalink GUID), absolute and http(s)."""
    link = resolve_link(raw.get("link"), base)
    if link:
        return link
    for candidate in raw.get("links") or []:
        if hasattr(candidate, "get") and candidate.get("rel", "alternate") == "alternate":
            link = resolve_link(candidate.get("href"), base)
            if link:
                return link
    if raw.get("guidislink"):
        return resolve_link(raw.get("id"), base)
    return None


def _categories(tags: Any) -> list[str]:
    """Category terms (or labels), blanks dropped, order kept, no duplicates."""
    seen: dict[str, None] = {}
    for tag in tags if isinstance(tags, list) else []:
        if not hasattr(tag, "get"):
            continue
        term = _str(tag.get("term")) or _str(tag.get("label"))
        if term:
            seen.setdefault(term.strip()[:200], None)
    return list(seen)
