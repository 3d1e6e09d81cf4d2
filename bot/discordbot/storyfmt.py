"""Stories as embed dicts for /news date, /news latest and /news story.

Duck-typed over the store's story objects (``id``, ``headline``, ``category``,
``source_count``, ``article_count``, ``last_published_at``, ``articles`` with
``title``, ``url``, ``source``, ``published_at``). All article text is escaped
and every length stays inside Discord's limits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from bot.outlets import outlet_key
from bot.render.discord_embeds import COLOR, discord_timestamp
from bot.render.markdown import UNDATED, escape_fit, link, utf16_len

DESCRIPTION_MAX = 4096
FIELD_VALUE_MAX = 1024
MAX_FIELDS = 10  # outlets of one story: 10 fields of up to 1024 stay under 6000 with margin
OUTLET_BUDGET = 4500


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = getattr(obj, name, None)
        if value is not None:
            return value
    return default


def story_id(story: Any) -> int:
    return int(_get(story, "id", "story_id", default=0))


def headline(story: Any) -> str:
    return str(_get(story, "headline", "title", default="") or "(untitled)")


def articles(story: Any) -> list[Any]:
    return list(_get(story, "articles", default=[]) or [])


def _when(story: Any) -> dt.datetime | None:
    value = _get(story, "last_published_at", "published_at", "first_published_at")
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return value if isinstance(value, dt.datetime) else None


def _lead_url(story: Any) -> str | None:
    url = _get(story, "url", "lead_url")
    if url:
        return str(url)
    for article in articles(story):
        if getattr(article, "url", None):
            return str(article.url)
    return None


def source_count(story: Any) -> int:
    count = _get(story, "source_count")
    if count is not None:
        return int(count)
    return len(
        {
            outlet_key(getattr(a, "source", None), getattr(a, "id", k))
            for k, a in enumerate(articles(story))
        }
    )


def story_line(story: Any) -> str:
    """``**[Headline](url)** · 3 outlets · <t:…:R> · #id``"""
    parts = [f"**{link(headline(story), _lead_url(story), limit=200)}**"]
    count = source_count(story)
    parts.append(f"{count} outlet{'s' if count != 1 else ''}")
    when = _when(story)
    if when is not None:
        parts.append(discord_timestamp(when))
    parts.append(f"`#{story_id(story)}`")
    return " · ".join(parts)


def stories_page(
    stories: Sequence[Any], *, title: str, page: int, pages: int, total: int
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


def _outlet_line(article: Any) -> str:
    source = escape_fit(str(getattr(article, "source", "") or "?"), 60)
    title = link(
        str(getattr(article, "title", "") or "(untitled)"), getattr(article, "url", None), limit=150
    )
    when = getattr(article, "published_at", None)
    if getattr(article, "dated", True) is False:
        stamp = f" · {UNDATED}"
    else:
        stamp = f" · {discord_timestamp(when)}" if isinstance(when, dt.datetime | int) else ""
    return f"**{source}**: {title}{stamp}"


def story_detail(story: Any) -> dict[str, Any]:
    """One story with every outlet that covered it (as many as fit; the rest counted)."""
    items = articles(story)
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
    count = source_count(story)
    summary = str(_get(story, "summary", default="") or "")
    description = escape_fit(summary, 700) if summary else ""
    footer = f"story #{story_id(story)} · {count} outlet{'s' if count != 1 else ''}"
    if shown < len(items):
        footer += f" · {len(items) - shown} more articles not shown"
    embed: dict[str, Any] = {
        "type": "rich",
        "color": COLOR,
        "title": escape_fit(headline(story), 256),
        "fields": fields,
        "footer": {"text": footer},
    }
    if description:
        embed["description"] = description
    category = _get(story, "category")
    if category:
        embed["author"] = {"name": escape_fit(str(category), 100)}
    when = _when(story)
    if when is not None:
        embed["timestamp"] = when.isoformat()
    return embed
