"""Choosing and ordering a digest's stories.

Score = number of distinct outlets (dominant) + recency within the window
(a fraction in [0, 1)). Selection is greedy: each pick takes the candidate
with the best score minus a diversity penalty of ``DIVERSITY_PENALTY`` per
story already placed with the same lead outlet, and an outlet never leads
more than ``per_source_max`` stories. A story covered by several outlets is
led by its preferred outlet when that one has room, else by the next of its
outlets that has; only a story none of whose outlets has room is left out.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

DIVERSITY_PENALTY = 0.5


@dataclass(slots=True)
class Candidate:
    """A story competing for a place in the digest."""

    story_id: int
    source_count: int
    latest: int  # unix seconds of its latest in-window publication
    lead_source: str  # the lead's outlet key (bot.outlets.outlet_key)
    text: str = ""  # headline, titles and summaries, for keyword filters
    alternates: tuple[str, ...] = ()  # the story's other outlets' keys, in order of preference

    def score(self, start: int, end: int) -> float:
        span = max(1, end - start)
        recency = min(max((self.latest - start) / span, 0.0), 0.999)
        return self.source_count + recency


def keyword_pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    """A case-insensitive whole-word regex matching any of ``words`` (None if none)."""
    parts = [re.escape(" ".join(w.split())) for w in words if w and w.strip()]
    if not parts:
        return None
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)", re.IGNORECASE)


def keep_by_keywords(
    candidates: Iterable[Candidate], include: Sequence[str], exclude: Sequence[str]
) -> list[Candidate]:
    """Keep stories matching any ``include`` word (all when empty) and no ``exclude`` word."""
    inc, exc = keyword_pattern(include), keyword_pattern(exclude)
    kept = []
    for cand in candidates:
        if inc is not None and not inc.search(cand.text):
            continue
        if exc is not None and exc.search(cand.text):
            continue
        kept.append(cand)
    return kept


def _window_seconds(start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    return int(start.timestamp()), int(end.timestamp())


def rank(
    candidates: Sequence[Candidate],
    *,
    window_start: dt.datetime,
    window_end: dt.datetime,
    max_stories: int,
    per_source_max: int,
) -> list[Candidate]:
    """The chosen stories, best first (see the module docstring for the rule).

    Runs in O(max_stories x outlets) after one sort.
    """
    if max_stories <= 0 or not candidates:
        return []
    start, end = _window_seconds(window_start, window_end)
    remaining = {c.story_id: (c.score(start, end), c) for c in candidates}
    placed: dict[str, int] = defaultdict(int)
    chosen: list[Candidate] = []
    limit = max(1, per_source_max)
    while len(chosen) < max_stories and remaining:
        best: tuple[tuple[float, int, int], Candidate, str] | None = None
        for score, cand in remaining.values():
            lead = next(
                (o for o in (cand.lead_source, *cand.alternates) if placed[o.casefold()] < limit),
                None,
            )
            if lead is None:
                continue
            value = (
                score - DIVERSITY_PENALTY * placed[lead.casefold()],
                cand.latest,
                -cand.story_id,
            )
            if best is None or value > best[0]:
                best = (value, cand, lead)
        if best is None:
            break
        _, cand, lead = best
        del remaining[cand.story_id]
        placed[lead.casefold()] += 1
        chosen.append(replace(cand, lead_source=lead))
    return chosen


def capped_out(
    candidates: Sequence[Candidate], chosen: Sequence[Candidate], *, per_source_max: int
) -> dict[str, int]:
    """Stories the per-outlet cap kept out: outlet key -> how many, by preferred outlet.

    A candidate not chosen counts when every one of its outlets already leads
    ``per_source_max`` stories (no other rule could have placed it); it is
    counted under the outlet that would have led it.
    """
    limit = max(1, per_source_max)
    placed: dict[str, int] = defaultdict(int)
    for cand in chosen:
        placed[cand.lead_source.casefold()] += 1
    picked = {cand.story_id for cand in chosen}
    hidden: dict[str, int] = defaultdict(int)
    for cand in candidates:
        if cand.story_id in picked:
            continue
        outlets = (cand.lead_source, *cand.alternates)
        if all(placed[o.casefold()] >= limit for o in outlets):
            hidden[cand.lead_source.casefold()] += 1
    return dict(hidden)
