"""Plain-text article files: title line, body paragraphs, date and trailer lines."""

from __future__ import annotations

import re

from bot.clean.rules import GLUED_TRAILER
from bot.clean.text import is_boilerplate, normalise_chars
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
