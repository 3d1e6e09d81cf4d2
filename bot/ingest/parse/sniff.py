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


# -- what is not a document at all ------------------------------------------------

# (magic bytes at offset 0, what the file is). Checked in order; first match wins.
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"\x37\x7f\x06\x82", "an SQLite write-ahead log (-wal)"),
    (b"\x37\x7f\x06\x83", "an SQLite write-ahead log (-wal)"),
    (b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7", "an SQLite rollback journal (-journal)"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x00\x00\x01\x00", "an icon image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive (or an Office/EPUB document)"),
    (b"PK\x05\x06", "a ZIP archive (empty)"),
    (b"PK\x07\x08", "a ZIP archive"),
    (b"\x1f\x8b", "gzip-compressed data"),
    (b"BZh", "bzip2-compressed data"),
    (b"\xfd7zXZ\x00", "xz-compressed data"),
    (b"\x28\xb5\x2f\xfd", "zstd-compressed data"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!\x1a\x07", "a RAR archive"),
    (b"\x7fELF", "an executable (ELF)"),
    (b"\xfe\xed\xfa\xce", "an executable (Mach-O)"),
    (b"\xfe\xed\xfa\xcf", "an executable (Mach-O)"),
    (b"\xce\xfa\xed\xfe", "an executable (Mach-O)"),
    (b"\xcf\xfa\xed\xfe", "an executable (Mach-O)"),
    (b"\xca\xfe\xba\xbe", "an executable (Mach-O universal or Java class)"),
    (b"ID3", "an MP3 audio file"),
    (b"OggS", "an Ogg media file"),
    (b"fLaC", "a FLAC audio file"),
    (b"\x1a\x45\xdf\xa3", "a Matroska/WebM video"),
    (b"wOFF", "a web font"),
    (b"wOF2", "a web font"),
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SAMPLE_BYTES = 8192
# C0 control bytes that text never has (tab, LF, FF, CR and ESC are allowed).
_CONTROL = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"
MAX_CONTROL_SHARE = 0.02


def binary_kind(data: bytes) -> str | None:
    """What ``data`` is when it is not text at all ("a JPEG image", "an SQLite
    database", "binary data", ...), from its content alone; None for text.

    Magic bytes name images, PDFs, archives and compressed data, SQLite files
    (database, -wal, -journal), executables and media; otherwise NUL bytes or
    more than 2% other control bytes in the first 8 KiB mean binary data.
    Undecodable high bytes alone do not: legacy 8-bit encodings have them.
    """
    head = bytes(data[:_SAMPLE_BYTES])
    if not head:
        return None
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return what
    if head[4:8] == b"ftyp":
        return "an ISO media file (MP4/MOV/HEIC)"
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return "a RIFF media file (WebP/WAV/AVI)"
    if head[257:262] == b"ustar":
        return "a tar archive"
    if head.startswith(b"MZ") and b"\x00" in head[:64]:
        return "an executable (Windows)"
    if head.startswith(_UTF16_BOMS):
        return None  # UTF-16 text: its NULs are half of its characters
    if b"\x00" in head:
        return "binary data (NUL bytes)"
    controls = sum(head.count(byte) for byte in _CONTROL)
    if controls > MAX_CONTROL_SHARE * len(head):
        return f"binary data ({controls * 100 // len(head)}% control bytes)"
    return None


# -- whole pages where a fragment was expected --------------------------------------

_DOCUMENT_START = re.compile(
    r"^(?:\s|<!--.*?-->|<\?xml[^>]*>)*(?:<!doctype\s+html|<html[\s>]|<head[\s>])", re.I | re.S
)
_DOCUMENT_TAG = re.compile(r"<(?:html|head|body)[\s>]", re.I)
_NAV_TAG = re.compile(r"<nav[\s>]", re.I)
_CHROME_TAG = re.compile(
    r"<(?:header|footer|aside)[\s>]|<[a-z][^>]*\b(?:class|id|role)\s*=\s*[\"']?[^\"'>]*"
    r"\b(?:menu|navbar|navigation|nav|sidebar|site-header|site-footer|footer|breadcrumbs?)\b",
    re.I,
)
_MIN_CHROME = 3


def is_whole_document(html: str) -> bool:
    """True when an HTML string is a whole web page rather than a fragment.

    A page starts with a doctype, ``<html>`` or ``<head>``, or has an
    ``<html>``, ``<head>`` or ``<body>`` tag anywhere; or it carries site
    chrome: a ``<nav>``, or at least three headers, footers, asides and
    menu/navigation/sidebar/footer classes. A feed's ``content:encoded`` or
    an archive's article fragment has none of these.
    """
    if not isinstance(html, str) or "<" not in html:
        return False
    if _DOCUMENT_START.match(html) or _DOCUMENT_TAG.search(html):
        return True
    if _NAV_TAG.search(html):
        return True
    return len(_CHROME_TAG.findall(html, 0, 200_000)) >= _MIN_CHROME
