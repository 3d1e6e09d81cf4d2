"""Plain-text article files: title line, body paragraphs, date and trailer lines."""

from __future__ import annotations

import re

from bot.clean.rules import GLUED_TRAILER
from bot.clean.text import is_boilerplate, normalise_chars, split_paragraphs
from bot.ingest.parse.dates import parse_date
from bot.ingest.parse.errors import ParseError
from bot.models import Entry

MAX_TITLE_CHARS = 300
_MAX_DATE_LINE_CHARS = 120
# "Original Story at – 2023-09-17 08:32:58", "Originally published: 3 May 2024",
# "Published on March 3, 2024 10:00 GMT", "Posted: 2024-01-02", "Updated on ...".
DATE_LINE = re.compile(
    r"^(?:original(?:ly)?\s+(?:story|article|published|posted)|first\s+published|"
    r"published|posted|updated|last\s+updated|date)"
    r"(?:\s+(?:at|on|in))?\s*(?:[:\-–—|]\s*)?(?P<date>.*\d.*?)\s*\.?$",
    re.IGNORECASE,
)


def parse_text_article(text: str, *, source: str | None = None) -> Entry:
    """A plain-text article -> Entry (body not yet cleaned of boilerplate).

    The first line that is not boilerplate (navigation bars and the like) is the
    title, boilerplate above it is dropped (the rest is cleaned later, by
    bot.clean.to_article); date lines ("Published on ...") give ``published_at``; a glued
    metadata trailer ("103257593Articlegeneral newsmediaWorld News") gives the
    category. Both are removed from the body.
    """
    if not isinstance(text, str):
        raise ParseError(f"not a text article: expected str, got {type(text).__name__}")
    lines = [" ".join(line.split()) for line in normalise_chars(text).split("\n")]
    published = None
    categories: list[str] = []
    body: list[str] = []
    title = ""
    for line in lines:
        if not line:
            if body and body[-1]:
                body.append("")
            continue
        if len(line) <= _MAX_DATE_LINE_CHARS and (match := DATE_LINE.match(line)):
            when = parse_date(match["date"])
            if when is not None:
                published = published or when
                continue
        if trailer := GLUED_TRAILER.match(line):
            categories.append(trailer["category"].strip())
            continue
        if not title and not body:
            if is_boilerplate(line):  # site navigation above the title
                continue
            if len(line) <= MAX_TITLE_CHARS:
                title = line
                continue
        body.append(line)
    content = "\n".join(body).strip()
    if not title and not content:
        raise ParseError("not a text article: the text is empty")
    return Entry(
        title=title,
        categories=categories,
        published_at=published,
        content=content or None,
        content_is_html=False,
        source=source,
    )


# -- is it prose at all? ------------------------------------------------------------
#
# A text file is an article when it reads like prose: mostly words (not
# symbols or numbers), and most of those words in sentences. Configuration,
# code, CSV, logs and /etc/passwd fail one of these; the test is on the shape
# of the text, never on a file's name.

_UNSPACED = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_OPEN = "\"'“‘«(\\[「『（"
_CLOSE = "\"'”’»)\\]」』）"
_PUNCT = ".,;:!?…。，、！？；："
# A word, maybe quoted or bracketed, maybe followed by punctuation ("Mr.", "(he", "said,").
_WORD = re.compile(
    rf"^[{_OPEN}]*[^\W\d_]+(?:['’\-.&·][^\W\d_]+)*[{_CLOSE}]*[{_PUNCT}]*[{_CLOSE}]*$"
)
# A number inside a sentence: "12", "$4.5bn", "3:30", "2024-01-02", "40%".
_NUMBER = re.compile(
    rf"^[{_OPEN}]*[$€£¥]?\d[\d,.:%/-]*[^\W\d_]{{0,3}}[{_CLOSE}]*[{_PUNCT}]*[{_CLOSE}]*$"
)
_SENTENCE_END = re.compile(rf"[.!?…。！？][{_CLOSE}]*$")
# Scripts written without spaces: each character counts as a word.
_SPLIT_UNSPACED = re.compile(rf"([{_UNSPACED}])(?![{_PUNCT}{_CLOSE}])")
_AFTER_WIDE_PUNCT = re.compile(r"([。，、！？；：」』）])(?=\S)")
# Comment lines of configuration files and code.
_COMMENT = re.compile(r"^\s*(?:#|//|;|--|/\*|\*|%|<!--|rem\s)", re.IGNORECASE)
# "key: value", "key = value", "- name: x" with a short value and no sentence.
_KEY_VALUE = re.compile(r"^\s*(?:-\s+)?[\w.\-\"'$@]+\s*[:=]\s*(?:\S+(?:\s+\S+){0,2})?\s*$")
# Lines of code: ending in a bracket, brace, semicolon or comma, or starting with a closer.
_CODE_LINE = re.compile(r"(?:[{};(\[,]|=>|->)\s*$|^\s*[})\]]|^\s*(?:<\??[\w/]+|[-*]\s*$)")
_MIN_SENTENCE_WORDS = 3
MIN_WORD_SHARE = 0.6  # of the tokens, words (the rest: symbols, numbers, markup)
MIN_SENTENCE_SHARE = 0.4  # of the tokens, in sentences
MAX_STRUCTURED_SHARE = 0.5  # of the lines, key/value or code lines
_MIN_LINES_FOR_STRUCTURE = 5


def prose_problem(text: str) -> str | None:
    """Why ``text`` is not an article (a sentence naming the reason), or None.

    The first line is the headline and is not measured (a headline and one
    sentence is an article). Below it, comment lines (``#``, ``//``, ``;``)
    are dropped; then at most half of the lines may be ``key: value`` or code
    lines, at least 60% of the tokens must be words and at least 40% of them
    must be in sentences (runs of three or more words and numbers ending in
    ``.``, ``!``, ``?``). Hard-wrapped lines are joined first (as the cleaner
    does), and in scripts written without spaces (Chinese, Japanese, Thai)
    each character counts as a word.
    """
    lines = [line for line in normalise_chars(text).split("\n") if line.strip()]
    if not lines:
        return "not an article: the text is empty"
    body = [line for line in lines[1:] if not _COMMENT.match(line)] if len(lines) > 1 else lines
    if len(body) >= _MIN_LINES_FOR_STRUCTURE:
        structured = sum(
            bool(
                (_KEY_VALUE.match(line) and not _SENTENCE_END.search(line.strip()))
                or _CODE_LINE.search(line)
            )
            for line in body
        )
        if structured > MAX_STRUCTURED_SHARE * len(body):
            share = structured * 100 // len(body)
            return f"not an article: {share}% of its lines are settings, data or code, not prose"
    tokens = words = in_sentences = 0
    for paragraph in split_paragraphs("\n".join(body)):
        paragraph = _AFTER_WIDE_PUNCT.sub(r"\1 ", _SPLIT_UNSPACED.sub(r"\1 ", paragraph))
        run = 0
        for token in paragraph.split():
            tokens += 1
            is_word = bool(_WORD.match(token))
            words += is_word
            if not (is_word or _NUMBER.match(token)):
                run = 0
                continue
            run += 1
            if _SENTENCE_END.search(token):
                if run >= _MIN_SENTENCE_WORDS:
                    in_sentences += run
                run = 0
    if not tokens:
        return "not an article: no text below the first line"
    if words < MIN_WORD_SHARE * tokens:
        return (
            f"not an article: only {words * 100 // tokens}% of it is words"
            " (the rest symbols and numbers), not prose"
        )
    if in_sentences < MIN_SENTENCE_SHARE * tokens:
        return (
            f"not an article: only {in_sentences * 100 // tokens}% of its words"
            " are in sentences, not prose"
        )
    return None
