"""Digest and search results as Discord message payloads (plain dicts).

No discord.py here: payloads follow Discord's API JSON (``content``,
``embeds``, ``allowed_mentions``) and the bot converts each embed with
``discord.Embed.from_dict``. Every documented limit is obeyed, lengths are
counted in UTF-16 code units (never less than Discord's count), all text
from articles is escaped with :mod:`bot.render.markdown`, and every payload
carries ``allowed_mentions: {"parse": []}``.

A digest is one embed per category section, each story a block of its
description; a long digest continues in further embeds and messages, always
between two stories. A story with an image has an embed of its own, the
image as its thumbnail (the digest's top story: as a large image).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bot.digest.models import Digest, DigestItem

from .markdown import UNDATED, clean_text, escape_fit, link, safe_url, utf16_len

if TYPE_CHECKING:
    from bot.search.engine import SearchHit, SearchPage

# Discord's documented limits.
CONTENT_MAX = 2000
EMBED_TITLE_MAX = 256
EMBED_DESCRIPTION_MAX = 4096
EMBED_FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_NAME_MAX = 256
EMBEDS_PER_MESSAGE = 10
EMBED_TOTAL_MAX = 6000
IMAGE_URL_MAX = 2048  # thumbnail.url and image.url (RichEmbedImage in Discord's OpenAPI)

# Our own budgets, chosen so one story always fits in a fresh embed.
HEADLINE_MAX = 200
SUMMARY_MAX = 700
SOURCE_NAME_MAX = 60
LINKS_BUDGET = 1400
BLOCK_MAX = 3200
FOOTER_RESERVE = 300  # kept free in every message for the closing footer
CAPPED_OUTLETS_SHOWN = 3  # "+N more from Outlet" for this many outlets in the footer, then a sum
CAPPED_NAME_MAX = 24  # ... each name cut to this (the footer stays within FOOTER_RESERVE)
BLOCK_SEPARATOR = "\n\n"
COLOR = 0x5865F2
OTHER_SECTION = "Other news"

NO_MENTIONS: dict[str, list[str]] = {"parse": []}


def payload(content: str = "", embeds: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A message payload that can never ping anyone."""
    return {"content": content, "embeds": embeds or [], "allowed_mentions": {"parse": []}}


def discord_timestamp(when: dt.datetime | int | float, style: str = "R") -> str:
    """``<t:UNIX:R>``: shown in each reader's own timezone by Discord."""
    unix = int(when.timestamp()) if isinstance(when, dt.datetime) else int(when)
    return f"<t:{unix}:{style}>"


def _plural(count: int, word: str) -> str:
    plural = word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"
    return f"{count} {word}" if count == 1 else f"{count} {plural}"


def _links_text(links: Iterable[tuple[str, str]], more: int, budget: int) -> str:
    """``[A](u) · [B](u) · +N more`` within ``budget``; links that do not fit join the +N."""
    rendered: list[str] = []
    used = 0
    links = list(links)
    for index, (source, url) in enumerate(links):
        text = link(source, url, limit=SOURCE_NAME_MAX) or "source"
        if used + utf16_len(text) + 3 > budget:
            more += len(links) - index
            break
        rendered.append(text)
        used += utf16_len(text) + 3
    if more > 0:
        rendered.append(f"+{more} more")
    return " · ".join(rendered)


def embed_image_url(url: str | None) -> str | None:
    """``url`` fit for an embed's ``thumbnail.url`` / ``image.url``: http(s),
    percent-encoded like a link, at most :data:`IMAGE_URL_MAX`; else None."""
    return safe_url(url, limit=IMAGE_URL_MAX)


def story_block(item: DigestItem) -> str:
    """One story: linked headline, summary, outlets and time. At most :data:`BLOCK_MAX`."""
    headline = link(item.headline or "(untitled)", item.lead_url, limit=HEADLINE_MAX)
    first = f"**{headline}**"
    if item.developing:
        first += " · *developing*"
    lines = [first]
    summary = escape_fit(item.summary, SUMMARY_MAX)
    if summary:
        lines.append(summary)
    meta = []
    if item.lead_source:
        meta.append(escape_fit(item.lead_source, SOURCE_NAME_MAX))
    meta.append(discord_timestamp(item.published_at) if item.dated else UNDATED)
    others = item.other_sources
    if others:
        covered = f"also covered by {_plural(others, 'source')}"
        links = _links_text(item.links, item.more_links, LINKS_BUDGET)
        meta.append(f"{covered}: {links}" if links else covered)
    lines.append(" · ".join(meta))
    block = "\n".join(lines)
    if utf16_len(block) > BLOCK_MAX:  # pragma: no cover - budgets above prevent it
        block = escape_fit(block, BLOCK_MAX)
    return block


@dataclass
class _Embed:
    title: str | None
    blocks: list[str] = field(default_factory=list)
    image: str | None = None  # the one story's image
    large: bool = False  # as ``image`` (the top story) rather than ``thumbnail``

    @property
    def description(self) -> str:
        return BLOCK_SEPARATOR.join(self.blocks)

    def size(self) -> int:
        return utf16_len(self.title or "") + utf16_len(self.description)

    def to_dict(self) -> dict[str, Any]:
        embed: dict[str, Any] = {"type": "rich", "color": COLOR}
        if self.title:
            embed["title"] = self.title
        embed["description"] = self.description
        if self.image:
            embed["image" if self.large else "thumbnail"] = {"url": self.image}
        return embed


@dataclass
class _Message:
    embeds: list[_Embed] = field(default_factory=list)

    def size(self) -> int:
        return sum(e.size() for e in self.embeds)


def _section_title(name: str | None, multiple: bool, continued: bool) -> str | None:
    if name is None and not multiple:
        return "(continued)" if continued else None
    base = escape_fit(name or OTHER_SECTION, EMBED_TITLE_MAX - 20)
    return f"{base} (continued)" if continued else base


def _pack(digest: Digest) -> list[_Message]:
    """Pack story blocks into embeds and messages, breaking only between stories.

    A story with an image gets an embed to itself (the thumbnail sits beside
    its block); the embeds around it are untitled unless they open a section.
    """
    sections = digest.sections or [(None, digest.items)]
    top = digest.items[0] if digest.items else None
    multiple = len(sections) > 1
    budget = EMBED_TOTAL_MAX - FOOTER_RESERVE
    messages = [_Message()]
    for name, items in sections:
        current: _Embed | None = None
        for item in items:
            block = story_block(item)
            image = embed_image_url(item.image_url)
            message = messages[-1]
            if (
                current is not None
                and not current.image
                and not image
                and current is (message.embeds[-1] if message.embeds else None)
                and utf16_len(current.description) + len(BLOCK_SEPARATOR) + utf16_len(block)
                <= EMBED_DESCRIPTION_MAX
                and message.size() + len(BLOCK_SEPARATOR) + utf16_len(block) <= budget
            ):
                current.blocks.append(block)
                continue
            if current is None:
                title = _section_title(name, multiple, continued=False)
            elif current.image or image:  # not a break for size: no "(continued)"
                title = None
            else:
                title = _section_title(name, multiple, continued=True)
            embed = _Embed(title, [block], image=image, large=image is not None and item is top)
            if len(message.embeds) >= EMBEDS_PER_MESSAGE or message.size() + embed.size() > budget:
                message = _Message()
                messages.append(message)
                if current is not None and embed.title is None and multiple:
                    embed.title = _section_title(name, multiple, continued=True)  # say which
            message.embeds.append(embed)
            current = embed
    return [m for m in messages if m.embeds]


def _header(digest: Digest, title_prefix: str) -> str:
    prefix = escape_fit(title_prefix, 200) or "Daily briefing"
    day = digest.day
    date_text = f"{day:%A} {day.day} {day:%B %Y}"
    return f"**{prefix}** · {date_text}"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def capped_text(capped: Sequence[tuple[str, int]], *, limit: int = CAPPED_OUTLETS_SHOWN) -> str:
    """``+2 more from Daily Planet, +1 more from Metro Herald`` (plain text, may be empty).

    The stories the per-outlet cap left out; past ``limit`` outlets, the rest
    are summed up as ``+N more from other outlets``.
    """
    parts = [
        f"+{n} more from {_cut(clean_text(name), CAPPED_NAME_MAX)}" for name, n in capped[:limit]
    ]
    rest = sum(n for _name, n in capped[limit:])
    if rest:
        parts.append(f"+{rest} more from other outlets")
    return ", ".join(parts)


def _footer(digest: Digest) -> str:
    outlets = {i.lead_source.casefold() for i in digest.items if i.lead_source}
    hidden = capped_text(digest.capped)
    return (
        f"{_plural(len(digest.items), 'story')} · led by {_plural(len(outlets), 'outlet')} · "
        + (f"{hidden} · " if hidden else "")
        + f"news since {digest.window_start:%Y-%m-%d %H:%M} UTC"
    )


def render_digest_messages(
    digest: Digest, *, title_prefix: str = "Daily briefing", quiet_day: str = "post"
) -> list[dict[str, Any]]:
    """The digest as message payloads, in order.

    A quiet digest gives one short line (``quiet_day="post"``) or nothing
    (``"skip"``). No story is ever dropped: an oversized one is shortened.
    """
    header = _header(digest, title_prefix)
    if digest.quiet or not digest.items:
        if quiet_day == "skip":
            return []
        return [payload(f"{header}: no new stories since the last briefing.")]
    messages = _pack(digest)
    out = []
    for number, message in enumerate(messages, start=1):
        part = f" · part {number} of {len(messages)}" if len(messages) > 1 else ""
        if number == 1:
            content = f"{header} · {_plural(len(digest.items), 'story')}{part}"
        else:
            content = f"{header}{part}"
        embeds = [e.to_dict() for e in message.embeds]
        out.append(payload(content, embeds))
    last = out[-1]["embeds"][-1]
    last["footer"] = {"text": _footer(digest)}
    last["timestamp"] = digest.window_end.isoformat()
    return out


def _hit_block(hit: SearchHit) -> str:
    title = link(hit.title or "(untitled)", hit.url, limit=HEADLINE_MAX)
    meta = [escape_fit(hit.source, SOURCE_NAME_MAX)]
    meta.append(discord_timestamp(hit.published_at) if hit.dated else UNDATED)
    lines = [f"**{title}**", " · ".join(m for m in meta if m)]
    snippet = escape_fit(hit.snippet, 300)
    if snippet:
        lines.append(snippet)
    return "\n".join(line for line in lines if line)


def render_search_page(page: SearchPage, *, query: str | None = None) -> dict[str, Any]:
    """A page of search results as one embed: ``Search: <query>`` (default: the
    query as typed), the hits that fit, and ``page 2 of 5 · 23 results`` (``page 1 of 100+ · 1000+ results``
    when counting stopped at the cap)."""
    query = query if query is not None else page.query.text
    title = escape_fit(f"Search: {query}" if query else "Search results", EMBED_TITLE_MAX)
    size = max(1, page.limit)
    pages = max(1, -(-page.total // size))
    more = "+" if page.total_capped else ""  # counting stopped at the cap: "1000+"
    count = f"{page.total}+ results" if more else _plural(page.total, "result")
    footer = f"page {page.offset // size + 1} of {pages}{more} · {count}"
    budget = min(EMBED_DESCRIPTION_MAX, EMBED_TOTAL_MAX - utf16_len(title) - utf16_len(footer))
    blocks: list[str] = []
    used = 0
    for hit in page.hits:
        block = _hit_block(hit)
        extra = utf16_len(block) + (len(BLOCK_SEPARATOR) if blocks else 0)
        if used + extra > budget:
            break
        blocks.append(block)
        used += extra
    embed: dict[str, Any] = {
        "type": "rich",
        "color": COLOR,
        "title": title,
        "description": BLOCK_SEPARATOR.join(blocks) or "No results.",
    }
    embed["footer"] = {"text": footer}
    return embed


def embed_size(embed: dict[str, Any]) -> int:
    """Characters Discord counts towards the 6000 per message (UTF-16 units)."""
    total = utf16_len(embed.get("title", "")) + utf16_len(embed.get("description", ""))
    for f in embed.get("fields", []):
        total += utf16_len(f.get("name", "")) + utf16_len(f.get("value", ""))
    total += utf16_len(embed.get("footer", {}).get("text", ""))
    total += utf16_len(embed.get("author", {}).get("name", ""))
    return total


def check_limits(message: dict[str, Any]) -> list[str]:
    """Every documented limit ``message`` breaks (empty when it is valid)."""
    problems = []
    content = message.get("content") or ""
    embeds = message.get("embeds") or []
    if not content.strip() and not embeds:
        problems.append("message is empty")
    if utf16_len(content) > CONTENT_MAX:
        problems.append("content over 2000")
    if len(embeds) > EMBEDS_PER_MESSAGE:
        problems.append("more than 10 embeds")
    if sum(embed_size(e) for e in embeds) > EMBED_TOTAL_MAX:
        problems.append("embeds over 6000 characters")
    if message.get("allowed_mentions") != NO_MENTIONS:
        problems.append("allowed_mentions is not {'parse': []}")
    limits = [("title", EMBED_TITLE_MAX), ("description", EMBED_DESCRIPTION_MAX)]
    for embed in embeds:
        for key, limit in limits:
            if utf16_len(embed.get(key, "")) > limit:
                problems.append(f"embed {key} over {limit}")
        if len(embed.get("fields", [])) > EMBED_FIELDS_MAX:
            problems.append("more than 25 fields")
        for f in embed.get("fields", []):
            if utf16_len(f.get("name", "")) > FIELD_NAME_MAX:
                problems.append("field name over 256")
            if utf16_len(f.get("value", "")) > FIELD_VALUE_MAX:
                problems.append("field value over 1024")
        if utf16_len(embed.get("footer", {}).get("text", "")) > FOOTER_MAX:
            problems.append("footer over 2048")
        if utf16_len(embed.get("author", {}).get("name", "")) > AUTHOR_NAME_MAX:
            problems.append("author name over 256")
        for key in ("thumbnail", "image"):
            if key in embed:
                url = (embed[key] or {}).get("url")
                if not isinstance(url, str) or embed_image_url(url) != url:
                    problems.append(f"{key} url is not an http(s) URL of at most 2048")
    return problems


__all__ = [
    "check_limits",
    "discord_timestamp",
    "embed_image_url",
    "embed_size",
    "payload",
    "render_digest_messages",
    "render_search_page",
    "story_block",
]
