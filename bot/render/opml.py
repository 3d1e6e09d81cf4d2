"""Feed subscriptions as an OPML 2.0 subscription list (``feeds export``).

Every feed reader imports this: one ``<outline type="rss">`` per feed, with
its title as ``text`` and ``title`` (the URL when the feed has none) and,
when a feed has tags, the tags as ``category`` (comma-separated, as OPML
2.0 defines it). ``newsdesk ingest FILE.opml`` reads it back.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime

from lxml import etree

from bot.models import FeedHealth


def _clean(text: str) -> str:
    """Text XML 1.0 can hold: control characters dropped."""
    return "".join(ch for ch in text if ch in "\t\n\r" or ord(ch) >= 0x20)


def feeds_opml(feeds: Sequence[FeedHealth], *, title: str, created: datetime) -> bytes:
    """``feeds`` as an OPML 2.0 document (UTF-8 bytes, with XML declaration)."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _clean(title)
    etree.SubElement(head, "dateCreated").text = format_datetime(created)
    etree.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = etree.SubElement(root, "body")
    for feed in feeds:
        name = _clean(feed.title or "").strip() or feed.url
        outline = etree.SubElement(body, "outline", type="rss", text=name, title=name)
        outline.set("xmlUrl", _clean(feed.url))
        tags = [t for t in feed.tags if t]
        if tags:
            outline.set("category", ",".join(_clean(t) for t in tags))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
