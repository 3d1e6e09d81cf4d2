"""Plain text out of publisher text or HTML: paragraphs, no junk, no boilerplate."""

from __future__ import annotations

import html as htmllib
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from lxml import etree
from lxml import html as lxml_html

from bot.clean.rules import (
    BOILERPLATE,
    GLUED_TRAILER,
    MAX_BOILERPLATE_CHARS,
    NAV_MAX_CHARS,
    NAV_MAX_WORDS_PER_ITEM,
    NAV_MIN_ITEMS,
    NAV_SEPARATORS,
    SENTENCE_END,
    SOCIAL_WORDS,
)

# Every line-break spelling becomes "\n".
_LINE_BREAKS = re.compile("\r\n?|[\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Control characters (but tab and newline), C1 controls, soft hyphen, zero-width
# space, word joiner and invisible operators, BOM, bidi embeddings/overrides/
# isolates, interlinear annotations and lone surrogates. ZWJ/ZWNJ (U+200C/D) are
# kept: Persian, Indic scripts and emoji sequences need them.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\u00ad\u200b\u2060-\u2064\ufeff"
    "\u202a-\u202e\u2066-\u2069\ufff9-\ufffb\ud800-\udfff]"
)
# The same but C1 controls, for HTML before it is parsed: mojibake read as latin-1 holds
# them, and they go only after it is repaired (in normalise_chars).
_INVISIBLE_BUT_C1 = re.compile(_INVISIBLE.pattern.replace("\x7f-\x9f", "\x7f"))
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
_WRAP_END = re.compile(r"[.!?:;\"”’)\]…]$")
_MAX_UNESCAPE_ROUNDS = 8

_BLOCK_TAGS = frozenset(
    "p div br hr li ul ol dl dt dd h1 h2 h3 h4 h5 h6 blockquote pre table tr thead tbody "
    "tfoot caption section article header footer main figure figcaption address details "
    "summary center".split()
)
_SKIP_TAGS = frozenset(
    "script style noscript template iframe object embed svg math head title nav form "
    "button select textarea input canvas audio video source picture img".split()
)
_HTML_PARSER = lxml_html.HTMLParser(
    encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True
)
_TAG = re.compile(r"<[^<>]*>")


# Mojibake: UTF-8 read as windows-1252 or latin-1 ("donâ€™t", "cafÃ©"). A UTF-8 lead
# byte read that way is one of Â-ô; its continuation bytes (0x80-0xBF) become these.
_CONTINUATION = "".join(
    sorted(
        {chr(b) for b in range(0x80, 0xC0)}
        | {
            bytes([b]).decode("cp1252")
            for b in range(0x80, 0xC0)
            if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
        }
    )
)
_MOJIBAKE_RUN = re.compile(f"([\u00c2-\u00f4])[{re.escape(_CONTINUATION)}]+")
_ftfy_config: Any = None


def _may_be_mojibake(text: str) -> bool:
    """A cheap screen for :func:`fix_mojibake`: a lead character followed by as many
    continuation characters as its UTF-8 sequence needs. Correct text rarely has one."""
    if text.isascii():
        return False
    for match in _MOJIBAKE_RUN.finditer(text):
        lead = match.group(1)
        if match.end() - match.start() - 1 >= (
            1 if lead < "\u00e0" else 2 if lead < "\u00f0" else 3
        ):
            return True
    return False


def fix_mojibake(text: str) -> str:
    """``text`` with mojibake repaired by ftfy ("donâ€™t" -> "don’t", "cafÃ©" -> "café").

    Only ftfy's encoding repair runs: quotes, ligatures, full-width characters, line
    breaks and control characters are left as they are (the rest of cleaning sees to
    those), so correct text never changes. ftfy (which works line by line) sees only
    the lines that pass the cheap screen above: it costs about 1 us a character."""
    if not _may_be_mojibake(text):
        return text
    lines = text.split("\n")
    return "\n".join(_fix_line(line) if _may_be_mojibake(line) else line for line in lines)


def _fix_line(line: str) -> str:
    global _ftfy_config
    import ftfy  # imported on first use: most text never needs it

    if _ftfy_config is None:
        _ftfy_config = ftfy.TextFixerConfig(
            unescape_html=False,
            remove_terminal_escapes=False,
            fix_c1_controls=False,
            fix_latin_ligatures=False,
            fix_character_width=False,
            uncurl_quotes=False,
            fix_line_breaks=False,
            fix_surrogates=False,
            remove_control_chars=False,
            normalization=None,
            explain=False,
        )
    return ftfy.fix_text(line, _ftfy_config)


def normalise_chars(text: str) -> str:
    """Decode entities (repeatedly: double-encoded too), repair mojibake, unify line
    breaks, drop invisible characters and NFC-normalise, until nothing changes."""
    for _ in range(_MAX_UNESCAPE_ROUNDS):
        new = htmllib.unescape(text) if "&" in text else text
        # Before invisible characters go: mojibake read as latin-1 holds C1 controls.
        new = _INVISIBLE.sub("", _LINE_BREAKS.sub("\n", fix_mojibake(new)))
        if not unicodedata.is_normalized("NFC", new):
            new = unicodedata.normalize("NFC", new)
        if new == text:
            break
        text = new
    return text


def clean_line(text: str | None) -> str:
    """One line of clean text (titles, names): entities decoded, whitespace collapsed."""
    if not text:
        return ""
    return _settled(text, lambda value: " ".join(normalise_chars(value).split()))


def split_paragraphs(text: str) -> list[str]:
    """Clean paragraphs of ``text``: blank lines separate paragraphs, single
    line breaks too, except hard-wrapped lines (no sentence end before, lowercase
    after), which are joined."""
    paragraphs: list[str] = []
    for block in _BLANK_LINE.split(normalise_chars(text)):
        current = ""
        for raw_line in block.split("\n"):
            line = " ".join(raw_line.split())
            if not line:
                continue
            if current and not _WRAP_END.search(current) and line[0].islower():
                current = f"{current} {line}"
                continue
            if current:
                paragraphs.append(current)
            current = line
        if current:
            paragraphs.append(current)
    return paragraphs


def is_boilerplate(paragraph: str) -> bool:
    """True for navigation bars, teasers, prompts, notices (see bot.clean.rules)."""
    if len(paragraph) > MAX_BOILERPLATE_CHARS:
        return False
    return bool(
        BOILERPLATE.fullmatch(paragraph)
        or GLUED_TRAILER.match(paragraph)
        or _is_nav_bar(paragraph)
        or _is_social_bar(paragraph)
        or _is_byline(paragraph)
    )


_BYLINE_JOINERS = frozenset({"and", "&", "de", "del", "der", "da", "di", "la", "le", "van", "von"})


def _is_byline(paragraph: str) -> bool:
    """A byline on its own line: "By Staff Reporter ·", "By JANE DOE, Reuters".

    "By" and then at most eight names (capitalised words and the joiners of
    names), with no sentence ending: "By Tuesday the river had fallen." is text.
    """
    text = paragraph.strip().rstrip("·|•,–—- ").strip()
    if not text.startswith(("By ", "BY ")) or text[-1] in ".!?;:":
        return False
    words = text[3:].replace(",", " ").split()
    return 0 < len(words) <= 8 and all(
        w[0].isupper() or w.lower() in _BYLINE_JOINERS for w in words
    )


def _is_nav_bar(paragraph: str) -> bool:
    """A short list of short capitalised section names, no sentence ending."""
    if len(paragraph) > NAV_MAX_CHARS or SENTENCE_END.search(paragraph):
        return False
    items = [item for item in NAV_SEPARATORS.split(paragraph) if item]
    if len(items) < NAV_MIN_ITEMS:
        return False
    return all(_is_nav_item(item) for item in items)


def _is_nav_item(item: str) -> bool:
    """A section name: at most a few words, the first capitalised ("iPlayer" too)."""
    words = item.split()
    return 0 < len(words) <= NAV_MAX_WORDS_PER_ITEM and any(
        char.isupper() or char.isdigit() for char in words[0]
    )


def _is_social_bar(paragraph: str) -> bool:
    """Two or more share-button names and nothing else ("Facebook Twitter Email")."""
    tokens = paragraph.split()
    if not 2 <= len(tokens) <= 16:
        return False
    words = [word for token in tokens if (word := token.strip(",|•·:").casefold())]
    return len(words) >= 2 and all(word in SOCIAL_WORDS for word in words)


def dedupe_key(paragraph: str) -> str:
    """Case- and whitespace-insensitive key for spotting repeated paragraphs."""
    return " ".join(paragraph.casefold().split())


def remove_boilerplate(paragraphs: list[str], *, dedupe: bool = True) -> list[str]:
    """Drop boilerplate paragraphs and (with ``dedupe``) repeats: the first
    occurrence stays. Repeats in flat text (files, feeds, archives) are a
    scraper's or a template's; a page's extracted paragraphs are the page's own."""
    kept: list[str] = []
    seen: set[str] = set()
    for paragraph in paragraphs:
        if not paragraph or is_boilerplate(paragraph):
            continue
        key = dedupe_key(paragraph)
        if dedupe and key in seen:
            continue
        seen.add(key)
        kept.append(paragraph)
    return kept


def clean_text(text: str, *, dedupe: bool = True) -> str:
    """Article body as plain text: paragraphs separated by one blank line,
    entities decoded, whitespace normalised, invisible characters and
    boilerplate removed, and repeated paragraphs unless ``dedupe`` is off.
    Idempotent."""
    if not text:
        return ""
    return _settled(
        text, lambda value: "\n\n".join(remove_boilerplate(split_paragraphs(value), dedupe=dedupe))
    )


def _settled(text: str, clean: Callable[[str], str]) -> str:
    """``clean(text)``, cleaned again while that changes it, so cleaning stays idempotent.

    Only mojibake repair needs it: ftfy judges a line with what surrounds it, which
    cleaning then changes (no-break spaces, joined lines). Without a repair left to make
    (the screen finds none) cleaning the result again changes nothing, so text that
    needed none is cleaned once."""
    out = clean(text)
    for _ in range(_MAX_UNESCAPE_ROUNDS):
        if not _may_be_mojibake(out):
            break
        again = clean(out)
        if again == out:
            break
        out = again
    return out


def html_to_text(html: str) -> str:
    """HTML (a fragment or a whole page) -> :func:`clean_text` output.

    Block elements and ``<br>`` separate paragraphs; scripts, styles, forms and
    navigation are dropped.
    """
    if not html:
        return ""
    if "<" not in html:
        return clean_text(html)
    return clean_text(_html_text(_INVISIBLE_BUT_C1.sub("", html)))


def _html_text(html: str) -> str:
    """Text of an HTML document with blank lines between blocks."""
    try:
        root = lxml_html.document_fromstring(html.encode("utf-8"), parser=_HTML_PARSER)
    except (etree.ParserError, etree.XMLSyntaxError, ValueError):
        return _TAG.sub(" ", html)
    if root is None:
        return _TAG.sub(" ", html)
    pieces: list[str] = []
    skipping: etree._Element | None = None
    pre_depth = 0
    for event, element in etree.iterwalk(root, events=("start", "end")):
        tag = element.tag if isinstance(element.tag, str) else ""
        tag = tag.lower()
        if skipping is not None:
            if event == "end" and element is skipping:
                skipping = None
                _add(pieces, element.tail, pre_depth)
            continue
        if event == "start":
            if tag in _SKIP_TAGS:
                skipping = element
                continue
            if tag == "pre":
                pre_depth += 1
            if tag in _BLOCK_TAGS:  # <br> too: in feeds it separates paragraphs
                pieces.append("\n\n")
            _add(pieces, element.text, pre_depth)
        else:
            if tag == "pre":
                pre_depth -= 1
            if tag in _BLOCK_TAGS and tag != "br":
                pieces.append("\n\n")
            _add(pieces, element.tail, pre_depth)
    return "".join(pieces)


def _add(pieces: list[str], text: str | None, pre_depth: int) -> None:
    """Append a text node; outside <pre>, its line breaks are just spaces."""
    if text:
        pieces.append(text if pre_depth else text.replace("\n", " "))
