"""Search snippets as plain text with the spans of the matched words.

FTS5's ``snippet()`` (and PostgreSQL's ``ts_headline``, given them as
``StartSel``/``StopSel``) wraps matched words in the two control characters
below; :func:`parse_snippet` takes them out (with every other control
character, collapsing whitespace) and keeps where they were as
``(start, end)`` spans, so renderers escape publisher text for their medium
and add their own markup (see ``bot.search.engine.mark_snippet``).
"""

from __future__ import annotations

__all__ = ["PLAIN_SNIPPET_CHARS", "SNIPPET_END", "SNIPPET_START", "parse_snippet", "plain_snippet"]

SNIPPET_START, SNIPPET_END = "\x02", "\x03"  # around matched words, removed from the text
PLAIN_SNIPPET_CHARS = 200


def parse_snippet(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Strip markers and control characters, collapse whitespace, keep spans."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    open_at: int | None = None
    length = 0
    for ch in marked:
        if ch == SNIPPET_START:
            open_at = length if open_at is None else open_at
        elif ch == SNIPPET_END:
            if open_at is not None and length > open_at:
                spans.append((open_at, length))
            open_at = None
        elif ch.isspace() or ch < " ":
            if length and out[-1] != " ":
                out.append(" ")
                length += 1
        else:
            out.append(ch)
            length += 1
    if open_at is not None and length > open_at:
        spans.append((open_at, length))
    text = "".join(out).rstrip()
    return text, tuple((lo, min(hi, len(text))) for lo, hi in spans if lo < len(text))


def plain_snippet(text: str) -> str:
    """The start of ``text`` as a snippet: cut at a word near PLAIN_SNIPPET_CHARS."""
    snippet, _ = parse_snippet(text)
    if len(snippet) <= PLAIN_SNIPPET_CHARS:
        return snippet
    cut = snippet[:PLAIN_SNIPPET_CHARS]
    if " " in cut[PLAIN_SNIPPET_CHARS // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,.;:") + "…"
