"""OPML subscription lists -> (feed URL, title) pairs."""

from __future__ import annotations

from lxml import etree

from bot.ingest.parse.errors import ParseError

# No entity expansion, no DTD, no network; recover from sloppy files.
_PARSER = etree.XMLParser(
    resolve_entities=False, load_dtd=False, no_network=True, huge_tree=False, recover=True
)


def parse_opml(data: bytes) -> list[tuple[str, str | None]]:
    """(feed url, title) for every outline with an ``xmlUrl``, nested ones included,
    in document order, each URL once. ParseError when the data is not OPML."""
    if not isinstance(data, bytes | bytearray):
        raise ParseError(f"not OPML: expected bytes, got {type(data).__name__}")
    if b"<!ENTITY" in bytes(data).replace(b"\x00", b""):
        raise ParseError("refused: the OPML document declares XML entities")
    try:
        root = etree.fromstring(bytes(data), parser=_PARSER)
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise ParseError(f"not OPML: {exc}"[:300]) from exc
    if root is None or not isinstance(root.tag, str) or root.tag.rsplit("}", 1)[-1] != "opml":
        raise ParseError("not OPML: the root element is not <opml>")
    feeds: dict[str, str | None] = {}
    for outline in root.iter():
        if not isinstance(outline.tag, str) or outline.tag.rsplit("}", 1)[-1] != "outline":
            continue
        attributes = {key.lower(): value for key, value in outline.attrib.items()}
        url = (attributes.get("xmlurl") or "").strip()
        if url and url not in feeds:
            title = (attributes.get("title") or attributes.get("text") or "").strip()
            feeds[url] = title or None
    return list(feeds.items())
