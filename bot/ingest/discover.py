"""Feed discovery: the feeds a web page announces in its ``<head>``.

A site's home page usually names its feeds with
``<link rel="alternate" type="application/rss+xml" href="...">`` (also Atom
and JSON Feed). :func:`discover_feeds` reads those links, in page order,
resolved against the page's URL, http(s) only, each once.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
    "application/xml",
    "text/xml",
)
MAX_FEEDS = 10  # a page announcing more is not a news site's head


def discover_feeds(html: bytes, *, base_url: str) -> list[str]:
    """The feed URLs ``html`` links to as alternates (may be empty; never raises)."""
    from lxml import etree
    from lxml import html as lxml_html

    if not html or not html.strip():
        return []
    try:
        root = lxml_html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    base = base_url
    for element in root.iter("base"):
        href = (element.get("href") or "").strip()
        if href:
            base = urljoin(base_url, href)
            break
    found: dict[str, None] = {}
    for link in root.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        href = (link.get("href") or "").strip()
        if "alternate" not in rel or kind not in FEED_TYPES or not href:
            continue
        url = urljoin(base, href)
        if urlsplit(url).scheme in ("http", "https"):
            found.setdefault(url, None)
        if len(found) == MAX_FEEDS:
            break
    return list(found)
