"""Plain data for the daily digest: what was chosen and in what order.

Nothing here knows about SQL or Discord; renderers turn a :class:`Digest`
into Discord payloads, terminal output or JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.config import DigestChannel, DigestOptions


@dataclass(slots=True)
class DigestItem:
    """One story as it appears in a digest.

    ``links`` lists the *other* outlets (not the lead) that have a URL, at most
    ``max_links`` of them; ``more_links`` counts the other outlets not listed,
    so ``len(links) + more_links == source_count - 1``.
    """

    story_id: int
    headline: str
    summary: str
    source_count: int
    article_count: int
    links: list[tuple[str, str]]
    more_links: int
    published_at: dt.datetime  # the story's latest publication in the window (aware UTC)
    category: str | None
    developing: bool = False
    lead_source: str = ""
    lead_url: str | None = None
    dated: bool = True  # False: no source gave a date (published_at is when first seen)
    # The lead article's image, else the newest article's that has one (http(s))
    image_url: str | None = None

    @property
    def other_sources(self) -> int:
        """How many outlets besides the lead covered the story."""
        return max(0, self.source_count - 1)


Section = tuple[str | None, list[DigestItem]]


@dataclass(slots=True)
class Digest:
    """A channel's digest for one local day.

    ``sections`` always covers every item exactly once; a digest without
    categories has a single section named ``None``.
    """

    channel_id: int
    day: dt.date
    window_start: dt.datetime
    window_end: dt.datetime
    items: list[DigestItem]
    sections: list[Section] = field(default_factory=list)
    quiet: bool = False
    timezone: str = "UTC"
    # (outlet, stories) the per-outlet cap left out, most first: "+N more from Outlet"
    capped: list[tuple[str, int]] = field(default_factory=list)

    @property
    def story_ids(self) -> list[int]:
        return [item.story_id for item in self.items]


__all__ = ["Digest", "DigestChannel", "DigestItem", "DigestOptions", "Section"]
