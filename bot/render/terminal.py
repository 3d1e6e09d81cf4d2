"""Digests and search results printed with rich, as they would be posted.

Article text goes into :class:`rich.text.Text` objects, never through rich
markup, so brackets in a headline cannot restyle the terminal.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.rule import Rule
from rich.style import Style
from rich.text import Text

from bot.digest.models import Digest, DigestItem

from .markdown import UNDATED, safe_url


def _local(when: dt.datetime, tz: ZoneInfo) -> str:
    return when.astimezone(tz).strftime("%a %d %b %H:%M")


def _link_style(url: str | None, *, bold: bool = False, dim: bool = False) -> Style:
    """A style linking to ``url`` (http(s) only, percent-encoded) in terminals that support it."""
    return Style(bold=bold, dim=dim, link=safe_url(url))


def _plural(count: int, word: str) -> str:
    plural = word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
    return f"{count} {word}" if count == 1 else f"{count} {plural}"


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError):
        return ZoneInfo("UTC")


def item_text(item: DigestItem, tz: ZoneInfo, number: int | None = None) -> Text:
    """One story: headline, outlets line, summary and links."""
    text = Text()
    if number is not None:
        text.append(f"{number}. ", style="bold")
    text.append(item.headline or "(untitled)", style=_link_style(item.lead_url, bold=True))
    if item.developing:
        text.append("  developing", style="yellow")
    text.append("\n   ")
    meta = [item.lead_source] if item.lead_source else []
    meta.append(_local(item.published_at, tz) if item.dated else UNDATED)
    if item.other_sources:
        meta.append(f"also covered by {_plural(item.other_sources, 'source')}")
    text.append(" · ".join(meta), style="dim")
    if item.summary:
        text.append("\n   ")
        text.append(item.summary)
    for source, url in item.links:
        text.append("\n   - ")
        text.append(source, style="cyan")
        text.append(f" {url}", style=_link_style(url, dim=True))
    if item.more_links:
        text.append(f"\n   +{item.more_links} more", style="dim")
    return text


def print_digest(digest: Digest, console: Console, *, title_prefix: str = "Daily briefing") -> None:
    """Print ``digest`` as it would be posted (times in the channel's timezone)."""
    tz = _zone(digest.timezone)
    day = digest.day
    header = Text(f"{title_prefix} · {day:%A} {day.day} {day:%B %Y}", style="bold")
    console.print(Rule(header))
    window = f"news from {_local(digest.window_start, tz)} to {_local(digest.window_end, tz)}"
    console.print(Text(f"{window} ({digest.timezone})", style="dim"))
    if digest.quiet or not digest.items:
        console.print("No new stories since the last briefing.")
        return
    sections = digest.sections or [(None, digest.items)]
    number = 0
    for name, items in sections:
        if len(sections) > 1:
            console.print()
            console.print(Text(name or "Other news", style="bold underline"))
        for item in items:
            number += 1
            console.print()
            console.print(item_text(item, tz, number))
    console.print()
    console.print(Text(f"{_plural(len(digest.items), 'story')}", style="dim"))


def print_search_page(page: Any, console: Console) -> None:
    """Print a search page (duck-typed: ``hits`` with title, url, source, published_at, snippet)."""
    hits = list(getattr(page, "hits", []) or [])
    query = getattr(page, "query", None)
    console.print(Rule(Text(f"Search: {query}" if query else "Search results", style="bold")))
    if not hits:
        console.print("No results.")
        return
    for hit in hits:
        text = Text()
        url = getattr(hit, "url", None)
        text.append(
            str(getattr(hit, "title", "") or "(untitled)"), style=_link_style(url, bold=True)
        )
        meta = [str(getattr(hit, "source", "") or "")]
        published = getattr(hit, "published_at", None)
        if isinstance(published, int | float):
            published = dt.datetime.fromtimestamp(published, dt.UTC)
        if getattr(hit, "dated", True) is False:
            meta.append(UNDATED)
        elif isinstance(published, dt.datetime):
            meta.append(published.strftime("%Y-%m-%d %H:%M UTC"))
        text.append("\n   " + " · ".join(m for m in meta if m), style="dim")
        snippet = getattr(hit, "snippet", None)
        if snippet:
            text.append("\n   " + str(snippet))
        if url:
            text.append(f"\n   {url}", style="dim")
        console.print(text)
    total = getattr(page, "total", None)
    if isinstance(total, int):
        console.print(Text(_plural(total, "result"), style="dim"))
