"""OPML subscription lists -> feeds (URL, title, tags).

A feed's tags are its ``category`` attribute (comma-separated; of a
slash-delimited OPML 2.0 category such as ``/News/World``, the last part)
and the titles of the folders (outlines without a feed URL) it sits in, as
feed readers export them. ``newsdesk feeds export`` writes tags as
``category``, so export then import keeps them.
"""

from __future__ import annotations

from lxml import etree

from bot.ingest.parse.errors import ParseError
from bot.models import OpmlFeed

# No entity expansion, no DTD, no network; recover from sloppy files.
MAX_TAGS = 10  # tags kept per feed
MAX_TAG_CHARS = 40

_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, recover=True
)


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """Every outline with an ``xmlUrl``, nested ones included, in document order,
    each URL once (the first wins). ParseError when the data is not OPML."""
    if not isinstance(data, bytes | bytearray):
        raise ParseError(f"not OPML: expected bytes, got {type(data).__name__}")
    if b"<!ENTITY" in bytes(data).replace(b"\x00", b""):
        raise ParseError("refused: the OPML document declares XML entities")
    try:
        root = etree.fromstring(bytes(data), parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"not OPML: {exc}"[:300]) from exc
    if root is None or not isinstance(root.tag, str) or _name(root) != "opml":
        raise ParseError("not OPML: the root element is not <opml>")
    feeds: dict[str, OpmlFeed] = {}
    for outline in root.iter():
        if not isinstance(outline.tag, str) or _name(outline) != "outline":
            continue
        attributes = _attributes(outline)
        url = (attributes.get("xmlurl") or "").strip()
        if url and url not in feeds:
            title = (attributes.get("title") or attributes.get("text") or "").strip()
            feeds[url] = OpmlFeed(url, title or None, _tags(outline))
    return list(feeds.values())


def _name(element: etree._Element) -> str:
    return str(element.tag).rsplit("}", 1)[-1]


def _attributes(element: etree._Element) -> dict[str, str]:
    return {str(key).lower(): str(value) for key, value in element.attrib.items()}


def _tags(outline: etree._Element) -> tuple[str, ...]:
    """The outline's categories, then the titles of the folders around it."""
    found: dict[str, None] = {}
    for category in _attributes(outline).get("category", "").split(","):
        parts = [p.strip() for p in category.split("/") if p.strip()]
        if parts:
            found.setdefault(parts[-1], None)
    folders = []
    parent = outline.getparent()
    while parent is not None and isinstance(parent.tag, str) and _name(parent) == "outline":
        attributes = _attributes(parent)
        title = (attributes.get("title") or attributes.get("text") or "").strip()
        if title and not attributes.get("xmlurl"):
            folders.append(title)
        parent = parent.getparent()
    for title in reversed(folders):
        found.setdefault(title, None)
    return tuple(" ".join(tag.split())[:MAX_TAG_CHARS] for tag in found)[:MAX_TAGS]
