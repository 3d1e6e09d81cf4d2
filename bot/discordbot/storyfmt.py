"""Stories as embed dicts for /news date, /news latest and /news story.

Over the store's :class:`~bot.models.StoryDetail` (with its articles). All
article text is escaped and every length stays inside Discord's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.render.discord_embeds import COLOR, discord_timestamp, embed_image_url
from bot.render.markdown import UNDATED, escape_fit, link, utf16_len

if TYPE_CHECKING:
    from bot.models import StoredArticle, StoryDetail

DESCRIPTION_MAX = 4096
FIELD_VALUE_MAX = 1024
MAX_FIELDS = 10  # outlets of one story: 10 fields of up to 1024 stay under 6000 with margin
OUTLET_BUDGET = 4500
SUMMARY_MAX = 700


def headline(story: StoryDetail) -> str:
    return story.headline or "(untitled)"


def _lead_url(story: StoryDetail) -> str | None:
    """The URL of the newest article that has one."""
    return next((a.url for a in story.articles if a.url), None)


def _outlets(story: StoryDetail) -> str:
    count = story.source_count
    return f"{count} outlet{'s' if count != 1 else ''}"


def story_line(story: StoryDetail) -> str:
    """``**[Headline](url)** · 3 outlets · <t:…:R> · #id``"""
    return " · ".join(
        [
            f"**{link(headline(story), _lead_url(story), limit=200)}**",
            _outlets(story),
            discord_timestamp(story.last_published_at),
            f"`#{story.id}`",
        ]
    )


def stories_page(
    stories: Sequence[StoryDetail], *, title: str, page: int, pages: int, total: int
) -> dict[str, Any]:
    """One page of a story list as an embed dict."""
    lines = [story_line(s) for s in stories]
    description = "\n\n".join(lines) or "No stories."
    if utf16_len(description) > DESCRIPTION_MAX:
        description = escape_fit(description, DESCRIPTION_MAX)
    footer = f"page {page} of {pages} · {total} stor{'y' if total == 1 else 'ies'}"
    footer += " · /news story id for all outlets"
    return {
        "type": "rich",
        "color": COLOR,
        "title": escape_fit(title, 256),
        "description": description,
        "footer": {"text": footer},
    }


def _outlet_line(article: StoredArticle) -> str:
    source = escape_fit(article.source or "?", 60)
    title = link(article.title or "(untitled)", article.url, limit=150)
    stamp = discord_timestamp(article.published_at) if article.dated else UNDATED
    return f"**{source}**: {title} · {stamp}"


def story_detail(story: StoryDetail) -> dict[str, Any]:
    """One story with every outlet that covered it (as many as fit; the rest counted),
    under its short summary, its image as the thumbnail."""
    items = story.articles
    fields: list[dict[str, Any]] = []
    chunk: list[str] = []
    used = shown = 0
    for article in items:
        line = _outlet_line(article)
        size = utf16_len(line) + 1
        if used + size > OUTLET_BUDGET:
            break
        if chunk and utf16_len("\n".join([*chunk, line])) > FIELD_VALUE_MAX:
            if len(fields) + 1 >= MAX_FIELDS:
                break
            fields.append(
                {"name": "Coverage" if not fields else "\u200b", "value": "\n".join(chunk)}
            )
            chunk = []
        chunk.append(line)
        used += size
        shown += 1
    if chunk:
        fields.append({"name": "Coverage" if not fields else "\u200b", "value": "\n".join(chunk)})
    footer = f"story #{story.id} · {_outlets(story)}"
    if shown < len(items):
        footer += f" · {len(items) - shown} more articles not shown"
    embed: dict[str, Any] = {
        "type": "rich",
        "color": COLOR,
        "title": escape_fit(headline(story), 256),
        "fields": fields,
        "footer": {"text": footer},
    }
    if story.summary:
        embed["description"] = escape_fit(story.summary, SUMMARY_MAX)
    if story.category:
        embed["author"] = {"name": escape_fit(story.category, 100)}
    image = embed_image_url(story.image_url)
    if image:
        embed["thumbnail"] = {"url": image}
    embed["timestamp"] = story.last_published_at.isoformat()
    return embed
