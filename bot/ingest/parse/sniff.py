"""Guessing what kind of document some bytes are."""

from __future__ import annotations

import re

KINDS = ("feed", "json_feed", "opml", "html", "jsonl", "text")

_EXTENSIONS = {
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
    ".rdf": "feed",
    ".feed": "feed",
    ".json": "json_feed",
    ".opml": "opml",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".txt": "text",
    ".text": "text",
    ".md": "text",
}
_CONTENT_TYPES = (  # first match wins
    (re.compile(r"opml"), "opml"),
    (re.compile(r"text/html|xhtml"), "html"),
    (re.compile(r"ndjson|jsonl|json-seq|jsonlines"), "jsonl"),
    (re.compile(r"(rss|atom|rdf)\+xml|/xml\b|\+xml\b"), "feed"),
    (re.compile(r"feed\+json|/json\b"), "json_feed"),
    (re.compile(r"text/plain"), "text"),
)
_BOM_AND_SPACE = b"\xef\xbb\xbf \t\r\n"
_XML_ROOT = re.compile(rb"<(?!\?|!)([A-Za-z_][\w.:-]*)")
_FEED_ROOTS = {b"rss", b"feed", b"rdf:rdf", b"rdf", b"channel"}
_HTML_START = re.compile(rb"^(?:<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>])", re.I)


def sniff(data: bytes, *, content_type: str | None = None, filename: str | None = None) -> str:
    """One of "feed", "json_feed", "opml", "html", "jsonl", "text".

    The first bytes decide when they are unambiguous (an XML root element, an
    HTML start, JSON); otherwise the file extension, then the content type.
    """
    head = bytes(data[:8192]).lstrip(_BOM_AND_SPACE)
    by_content = _from_bytes(head)
    if by_content:
        return by_content
    by_name = _from_filename(filename)
    if by_name:
        return by_name
    by_type = _from_content_type(content_type)
    return by_type or "text"


def _from_bytes(head: bytes) -> str | None:
    """Kind from the document start, when it is clear."""
    if head.startswith(b"<"):
        if _HTML_START.match(head):
            return "html"
        root = _XML_ROOT.search(head)
        if root:
            name = root.group(1).lower()
            if name == b"opml":
                return "opml"
            if name in _FEED_ROOTS or name.endswith((b":rdf", b":feed")):
                return "feed"
            if name == b"html":
                return "html"
        return None
    if head.startswith(b"{"):
        return _json_kind(head)
    return None


def _json_kind(head: bytes) -> str:
    """JSON Feed (declares jsonfeed.org or has "items"), else JSON Lines."""
    if b"jsonfeed.org" in head[:2048]:
        return "json_feed"
    first_line, _newline, rest = head.partition(b"\n")
    if rest.lstrip().startswith(b"{") or first_line.rstrip().endswith(b"}"):
        return "jsonl"
    return "json_feed"


def _from_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    name = filename.lower().rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return _EXTENSIONS.get(name[dot:]) if dot >= 0 else None


def _from_content_type(content_type: str | None) -> str | None:
    if not content_type:
        return None
    value = content_type.lower().split(";", 1)[0].strip()
    for pattern, kind in _CONTENT_TYPES:
        if pattern.search(value):
            return kind
    return None
