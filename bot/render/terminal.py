"""Digests and search results printed with rich, as they would be posted.

Article text goes into :class:`rich.text.Text` objects, never through rich
markup, so brackets in a headline cannot restyle the terminal.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from rich._wrap import divide_line  # rich's word splitter, without its cropping
from rich.console import Console
from rich.rule import Rule
from rich.style import Style
from rich.text import Text

from bot.digest.models import Digest, DigestItem

from .discord_embeds import capped_text
from .markdown import UNDATED, safe_url

if TYPE_CHECKING:
    from bot.search.engine import SearchPage


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


def print_wrapped(
    console: Console, text: Text, *, first: str = "", rest: str | None = None
) -> None:
    """Print ``text`` wrapped at spaces to the console width, with an indent.

    ``first`` starts the first line, ``rest`` (default: as many spaces as
    ``first``) every wrapped line, so wrapped lines keep their indent. A
    word wider than the line (a URL, a path) is never broken: it gets a line
    of its own and may run past the edge, so it can still be copied whole.
    """
    rest = " " * len(first) if rest is None else rest
    width = max(20, console.width - max(len(first), len(rest)))
    index = 0
    for paragraph in text.split(allow_blank=True):
        for line in paragraph.divide(divide_line(str(paragraph), width, fold=False)):
            out = Text(first if index == 0 else rest)
            out.append_text(line)
            out.rstrip()
            console.print(out, soft_wrap=True)
            index += 1


def print_item(console: Console, item: DigestItem, tz: ZoneInfo, number: int | None = None) -> None:
    """One story: headline, outlets line, summary, the lead link, the other links, its image."""
    head = Text()
    head.append(item.headline or "(untitled)", style=_link_style(item.lead_url, bold=True))
    if item.developing:
        head.append("  developing", style="yellow")
    prefix = f"{number}. " if number is not None else ""
    print_wrapped(console, head, first=prefix, rest=" " * max(3, len(prefix)))
    meta = [item.lead_source] if item.lead_source else []
    meta.append(_local(item.published_at, tz) if item.dated else UNDATED)
    if item.other_sources:
        meta.append(f"also covered by {_plural(item.other_sources, 'source')}")
    print_wrapped(console, Text(" · ".join(meta), style="dim"), first="   ")
    if item.summary:
        print_wrapped(console, Text(item.summary), first="   ")
    links = list(item.links)
    if item.lead_url and all(url != item.lead_url for _source, url in links):
        links.insert(0, (item.lead_source or "link", item.lead_url))
    for source, url in links:
        line = Text()
        line.append(source, style="cyan")
        line.append(" ")
        line.append(url, style=_link_style(url, dim=True))
        print_wrapped(console, line, first="   - ", rest="     ")
    if item.more_links:
        console.print(Text(f"   +{item.more_links} more", style="dim"))
    image = safe_url(item.image_url, limit=2048)
    if image:
        line = Text("image ", style="dim")
        line.append(image, style=_link_style(image, dim=True))
        print_wrapped(console, line, first="   ", rest="   ")


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
            print_item(console, item, tz, number)
    console.print()
    hidden = capped_text(digest.capped, limit=len(digest.capped))
    tail = f" · {hidden}" if hidden else ""
    console.print(Text(f"{_plural(len(digest.items), 'story')}{tail}", style="dim"))


def print_search_page(page: SearchPage, console: Console) -> None:
    """Print a search page: its hits (title, outlet and time, snippet, URL).

    The header shows the query as typed; the footer which results these are
    and how to get the next ones.
    """
    typed = page.query.text
    console.print(Rule(Text(f"Search: {typed}" if typed else "Search results", style="bold")))
    for note in page.notes:
        print_wrapped(console, Text(note, style="dim"))
    if not page.hits:
        console.print("No results.")
        return
    for hit in page.hits:
        title = Text(hit.title or "(untitled)", style=_link_style(hit.url, bold=True))
        print_wrapped(console, title, rest="   ")
        meta = [hit.source]
        meta.append(hit.published_at.strftime("%Y-%m-%d %H:%M UTC") if hit.dated else UNDATED)
        print_wrapped(console, Text(" · ".join(m for m in meta if m), style="dim"), first="   ")
        if hit.snippet:
            print_wrapped(console, Text(hit.snippet), first="   ")
        if hit.url:
            print_wrapped(console, Text(hit.url, style=_link_style(hit.url, dim=True)), first="   ")
    console.print(Text(search_footer(page, len(page.hits)), style="dim"))


def search_footer(page: SearchPage, shown: int) -> str:
    """``showing 1-10 of 29 (--offset 10 for more)``."""
    offset = page.offset
    text = f"showing {offset + 1}-{offset + shown} of {page.total_label}"
    if page.has_more:
        text += f" (--offset {offset + shown} for more)"
    return text
