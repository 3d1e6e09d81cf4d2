"""A digest as JSON-ready data (for ``--json`` output)."""

from __future__ import annotations

from typing import Any

from bot.digest.models import Digest, DigestItem


def item_to_json(item: DigestItem) -> dict[str, Any]:
    """One story as plain JSON types (times as ISO 8601 UTC and unix seconds)."""
    return {
        "story_id": item.story_id,
        "headline": item.headline,
        "summary": item.summary,
        "category": item.category,
        "lead_source": item.lead_source,
        "lead_url": item.lead_url,
        "image_url": item.image_url,  # the story's lead image (http(s)), or null
        "source_count": item.source_count,
        "article_count": item.article_count,
        "also_covered_by": item.other_sources,
        "links": [{"source": source, "url": url} for source, url in item.links],
        "more_links": item.more_links,
        # null when no source gave a date: none is invented
        "published_at": item.published_at.isoformat() if item.dated else None,
        "published_unix": int(item.published_at.timestamp()) if item.dated else None,
        "developing": item.developing,
    }


def digest_to_json(digest: Digest) -> dict[str, Any]:
    """The whole digest: window, sections (story ids) and stories in rank order."""
    return {
        "channel_id": digest.channel_id,
        "day": digest.day.isoformat(),
        "timezone": digest.timezone,
        "window_start": digest.window_start.isoformat(),
        "window_end": digest.window_end.isoformat(),
        "quiet": digest.quiet,
        "stories": [item_to_json(item) for item in digest.items],
        # stories left out by the per-outlet cap, by the outlet that would have led them
        "more_from": [{"source": name, "stories": n} for name, n in digest.capped],
        "sections": [
            {"category": name, "story_ids": [item.story_id for item in items]}
            for name, items in digest.sections
        ],
    }
