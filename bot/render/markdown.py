"""Making untrusted text safe for Discord markdown.

Text from the internet must never format, link or ping. :func:`escape`
backslash-escapes every markdown character (so ``[trusted](evil)`` can never
become a masked link) and puts a zero-width space after ``@`` and ``<``
(so ``@everyone``, ``<@id>``, ``<@&id>``, ``<#id>`` and ``<t:...>`` never
form). :func:`safe_url` keeps http(s) URLs only, percent-encoded so that
they cannot end a masked link early.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

UNDATED = "date unknown"  # shown, in every face, where the source gave no date

ZWSP = "\u200b"
ELLIPSIS = "…"
MAX_URL = 512

_MARKDOWN = frozenset("\\*_~`|>#[]()")
_LINE_START = re.compile(r"^(\s*)(-|\+|\d+\.)(?=\s|$)")
# Characters a URL may keep as they are inside a masked link's parentheses.
_URL_SAFE = "-._~:/?#@!$&'+,;=%"


def _escape_char(char: str) -> str:
    if char in _MARKDOWN:
        return "\\" + char
    if char in "@<":
        return char + ZWSP
    return char


_UNSAFE_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str, *, single_line: bool = True) -> str:
    """Drop control, surrogate and bidi-override characters; collapse whitespace."""
    out = _UNSAFE_CHARS.sub("", text)
    if single_line:
        return " ".join(out.split())
    return "\n".join(" ".join(line.split()) for line in out.split("\n")).strip()


def escape_pieces(text: str) -> list[str]:
    """``text`` escaped, as one piece per source character (for safe truncation)."""
    pieces = [_escape_char(c) for c in text]
    match = _LINE_START.match(text)
    if match:  # "- x" / "1. x" at the start of a line would become a list
        index = match.start(2) + len(match.group(2)) - 1
        if not pieces[index].startswith("\\"):
            pieces[index] = "\\" + pieces[index]
    return pieces


def escape(text: str) -> str:
    """Escape markdown and break mentions in single-line untrusted text."""
    return "".join(escape_pieces(clean_text(text)))


def escape_fit(text: str, limit: int) -> str:
    """Escaped ``text`` no longer than ``limit`` (UTF-16 units), cut at a word boundary + "…".

    Cutting happens on the raw text, so an escape sequence is never split.
    """
    if limit <= 0:
        return ""
    # Every kept character costs at least one unit, so a long text's tail can never show;
    # the margin leaves room for whitespace that cleaning collapses.
    text = clean_text(text[: limit * 4 + 64])
    pieces = escape_pieces(text)
    escaped = "".join(pieces)
    if utf16_len(escaped) <= limit:
        return escaped
    budget = limit - utf16_len(ELLIPSIS)
    used, cut = 0, 0
    for i, (piece, char) in enumerate(zip(pieces, text, strict=True)):
        used += len(piece) + (char > "\uffff")
        if used > budget:
            break
        cut = i + 1
    space = text.rfind(" ", 0, cut + 1)
    if space > 0 and space >= cut // 2:
        cut = space
    while True:
        while cut > 0 and text[cut - 1] in " ,;:-–—":
            cut -= 1
        result = "".join(escape_pieces(text[:cut])) + ELLIPSIS
        if utf16_len(result) <= limit or cut == 0:
            return result if utf16_len(result) <= limit else ""
        cut -= 1


def utf16_len(text: str) -> int:
    """Length as Discord counts it (UTF-16 code units; never less than code points)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def safe_url(url: str | None, *, limit: int = MAX_URL) -> str | None:
    """An http(s) URL safe inside ``[text](url)``, or None.

    Whitespace, parentheses, brackets, quotes, backslashes, angle brackets,
    markdown characters and non-ASCII are percent-encoded; anything that is
    not an absolute http(s) URL with a host, or is longer than
    ``limit`` (:data:`MAX_URL`) once encoded, is refused.
    """
    if not url or not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    encoded = quote(url, safe=_URL_SAFE)
    if len(encoded) > limit:
        return None
    return encoded


def link(text: str, url: str | None, *, limit: int = 256) -> str:
    """``[escaped text](safe url)``, or just the escaped text when the URL is unusable.

    Square brackets in a label become parentheses: Discord's link parser does
    not honour escaped brackets inside a label and would show the raw markup.
    """
    target = safe_url(url)
    if not target:
        return escape_fit(text, limit)
    label = escape_fit(text.replace("[", "(").replace("]", ")"), limit) or "link"
    return f"[{label}]({target})"
