"""A breaking-story alert as a Discord message payload (a plain dict).

One line: ``**Breaking:** [headline](link) — covered by N outlets · `#123```.
The headline is escaped (:mod:`bot.render.markdown`), the link checked, the
story id lets ``/news story`` open it, and ``allowed_mentions`` pings nobody.
"""

from __future__ import annotations

from typing import Any

from bot.models import AlertRecord

from .markdown import link

HEADLINE_MAX = 200  # the digest's own headline budget; the line stays far below 2000


def alert_text(story_id: int, headline: str, url: str | None, source_count: int) -> str:
    """The alert's one line."""
    title = link(headline or "(untitled)", url, limit=HEADLINE_MAX)
    return f"**Breaking:** {title} — covered by {source_count} outlets · `#{story_id}`"


def render_alert(record: AlertRecord) -> dict[str, Any]:
    """The message posted for one alert claim."""
    text = alert_text(record.story_id, record.headline, record.url, record.source_count)
    return {"content": text, "allowed_mentions": {"parse": []}}
