"""Building a channel's daily digest from what the store hands over.

The store (:mod:`bot.store.digest_articles`) gives the stories touched in the
window with their visible articles, then the bodies of the few articles that
will be summarised; :func:`~bot.store.digest_history.already_sent` says what the
channel saw before. Choosing leads and headlines, ranking and summarising
happen here, in Python.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..models import DigestArticle, WindowStory
from ..outlets import outlet_key
from ..store.digest_articles import article_bodies, window_stories
from ..store.digest_history import already_sent
from .models import Digest, DigestChannel, DigestItem, DigestOptions, Section
from .rank import Candidate, capped_out, keep_by_keywords, rank
from .summary import choose_headline, clean_headline, summarize

if TYPE_CHECKING:
    from ..store import Connection

UTC = dt.UTC
LOOKBACK = dt.timedelta(days=14)  # older articles of a story do not count towards its coverage
SUMMARY_ARTICLES = 3  # articles per chosen story whose text may feed its summary


def digest_window(
    channel: DigestChannel, day: dt.date, *, window_hours: int = 24
) -> tuple[dt.datetime, dt.datetime]:
    """``(start_utc, end_utc)`` of the digest sent on ``day`` (a local date).

    The end is the channel's digest time on ``day`` in its timezone. With the
    default 24 hours the start is the same wall-clock time the day before, so
    on a DST change the window is 23 or 25 real hours ("since yesterday's
    digest"); any other ``window_hours`` counts real hours back from the end.
    """
    tz = channel.tz
    end_local = dt.datetime.combine(day, channel.time, tzinfo=tz)
    if window_hours == 24:
        start_local = dt.datetime.combine(day - dt.timedelta(days=1), channel.time, tzinfo=tz)
        start = start_local.astimezone(UTC)
    else:
        start = end_local.astimezone(UTC) - dt.timedelta(hours=window_hours)
    return start, end_local.astimezone(UTC)


@dataclass(slots=True)
class _Story:
    """A story's visible articles, oldest first, and what we derive from them."""

    story_id: int
    story_category: str | None
    articles: list[DigestArticle]
    latest_in_window: int
    lead: DigestArticle | None = None
    headline: str = ""
    sources: dict[str, DigestArticle] = field(default_factory=dict)  # outlet key -> first article

    @classmethod
    def of(cls, stored: WindowStory) -> _Story:
        return cls(stored.story_id, stored.category, stored.articles, stored.latest_in_window)

    def finish(self) -> None:
        """Pick the lead article and headline; index outlets (lead's URL preferred)."""
        linked = [r for r in self.articles if _is_web_url(r.url)]
        pool = linked or self.articles  # a lead we can link to, when there is one
        titles = [clean_headline(r.title, r.source) for r in pool]
        index = choose_headline(titles)
        self.lead, self.headline = pool[index], titles[index]
        for row in self.articles:
            key = outlet_key(row.source, row.id)
            known = self.sources.get(key)
            if known is None or (not known.url and row.url):
                self.sources[key] = row
        self.sources[outlet_key(self.lead.source, self.lead.id)] = self.lead

    def lead_with(self, outlet: str) -> None:
        """Make ``outlet``'s article the lead (and its title the headline)."""
        row = self.sources[outlet]
        self.lead, self.headline = row, clean_headline(row.title, row.source)

    @property
    def category(self) -> str | None:
        counts: Counter[str] = Counter()
        display: dict[str, str] = {}
        for row in self.articles:
            if row.category and row.category.strip():
                key = row.category.strip().casefold()
                counts[key] += 1
                display.setdefault(key, row.category.strip())
        if counts:
            return display[counts.most_common(1)[0][0]]
        return self.story_category.strip() if self.story_category else None

    def filter_text(self) -> str:
        parts = [self.headline]
        for row in self.articles:
            parts.append(row.title)
            if row.summary:
                parts.append(row.summary)
        return "\n".join(parts)


def _is_web_url(url: str | None) -> bool:
    return url is not None and url.lower().startswith(("http://", "https://"))


def _summary_articles(story: _Story) -> list[DigestArticle]:
    assert story.lead is not None
    others = [r for r in story.articles if r.id != story.lead.id]
    return [story.lead, *others[: SUMMARY_ARTICLES - 1]]


def _summarize_story(story: _Story, bodies: dict[int, str]) -> str:
    for row in _summary_articles(story):
        for text in (bodies.get(row.id, ""), row.summary or ""):
            summary = summarize(story.headline, text)
            if summary:
                return summary
    return ""


def _item(story: _Story, summary: str, developing: bool, max_links: int) -> DigestItem:
    assert story.lead is not None
    lead_key = outlet_key(story.lead.source, story.lead.id)
    others = [row for key, row in story.sources.items() if key != lead_key]
    linkable = [row for row in others if row.url and _is_web_url(row.url)]
    links = [(row.source, row.url) for row in linkable[: max(0, max_links)] if row.url]
    return DigestItem(
        story_id=story.story_id,
        headline=story.headline,
        summary=summary,
        source_count=len(story.sources),
        article_count=len(story.articles),
        links=links,
        more_links=len(others) - len(links),
        published_at=dt.datetime.fromtimestamp(story.latest_in_window, UTC),
        category=story.category,
        developing=developing,
        lead_source=story.lead.source,
        lead_url=story.lead.url,
        dated=any(row.dated for row in story.articles),
        image_url=_image(story),
    )


def _image(story: _Story) -> str | None:
    """The lead's image, else the newest article's that has one (articles run oldest first)."""
    if story.lead is not None and story.lead.image_url:
        return story.lead.image_url
    return next((r.image_url for r in reversed(story.articles) if r.image_url), None)


def make_sections(items: list[DigestItem]) -> list[Section]:
    """Group by category (first-ranked category first, uncategorised last).

    Only when at least two categories appear; otherwise one unnamed section.
    """
    if not items:
        return []
    groups: dict[str | None, list[DigestItem]] = defaultdict(list)
    names: dict[str | None, str | None] = {}
    for item in items:
        key = item.category.casefold() if item.category else None
        names.setdefault(key, item.category)
        groups[key].append(item)
    if len([k for k in groups if k is not None]) < 2:
        return [(None, list(items))]
    ordered = [k for k in groups if k is not None]
    return [(names[k], groups[k]) for k in [*ordered, None] if k in groups]


async def build_digest(
    db: Connection,
    channel: DigestChannel,
    day: dt.date,
    *,
    options: DigestOptions | None = None,
    now: dt.datetime,
    feed_ids: Collection[int] | None = None,
) -> Digest:
    """The digest of ``channel`` for the local date ``day``.

    Candidates are stories with an article visible to the channel's guild
    published in the window (and not after ``now``: a preview before the
    digest time sees only what exists). Stories sent to this channel on an
    earlier day come back only as "developing", when they gained at least
    ``developing_min_new_sources`` outlets since.

    ``feed_ids`` (a routed channel): only stories with an article from one
    of these feeds in the window; their coverage still counts every outlet.
    """
    options = options or DigestOptions()
    window_start, window_end = digest_window(channel, day, window_hours=options.window_hours)
    start = int(window_start.timestamp())
    end = min(int(window_end.timestamp()), int(now.timestamp()) + 1)
    since = start - int(LOOKBACK.total_seconds())
    stored = await window_stories(
        db, start=start, end=end, since=since, guild_id=channel.guild_id or 0, feed_ids=feed_ids
    )
    stories = {sid: _Story.of(s) for sid, s in stored.items()}
    for story in stories.values():
        story.finish()

    sent = await already_sent(db, channel.channel_id, day, stories)
    developing: set[int] = set()
    for story_id, count in sent.items():
        if len(stories[story_id].sources) >= count + options.developing_min_new_sources:
            developing.add(story_id)
        else:
            del stories[story_id]

    candidates = [
        Candidate(
            s.story_id,
            len(s.sources),
            s.latest_in_window,
            outlet_key(s.lead.source, s.lead.id) if s.lead else "",
            s.filter_text() if (channel.include or channel.exclude) else "",
            alternates=tuple(key for key, r in s.sources.items() if r is not s.lead),
        )
        for s in stories.values()
    ]
    candidates = keep_by_keywords(candidates, channel.include, channel.exclude)
    chosen = rank(
        candidates,
        window_start=window_start,
        window_end=window_end,
        max_stories=channel.max_stories,
        per_source_max=options.per_source_max,
    )
    hidden = capped_out(candidates, chosen, per_source_max=options.per_source_max)
    names = {
        outlet_key(s.lead.source, s.lead.id): s.lead.source for s in stories.values() if s.lead
    }
    capped = sorted(((names.get(k, k), n) for k, n in hidden.items()), key=lambda x: (-x[1], x[0]))
    picked = [stories[c.story_id] for c in chosen]
    for cand, story in zip(chosen, picked, strict=True):
        if story.lead is not None and cand.lead_source != outlet_key(
            story.lead.source, story.lead.id
        ):
            story.lead_with(cand.lead_source)  # its first choice leads enough stories
    bodies = await article_bodies(db, [r.id for s in picked for r in _summary_articles(s)])
    items = [
        _item(s, _summarize_story(s, bodies), s.story_id in developing, options.max_links)
        for s in picked
    ]
    return Digest(
        channel_id=channel.channel_id,
        day=day,
        window_start=window_start,
        window_end=window_end,
        items=items,
        sections=make_sections(items),
        quiet=not items,
        timezone=channel.timezone,
        capped=capped,
    )
