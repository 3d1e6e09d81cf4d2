"""Building digests: window, candidates, visibility, ranking, history, sections."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from bot.clustering import StoryClusterer
from bot.config import DigestChannel, DigestOptions
from bot.digest import already_sent, build_digest, digest_window, record_sent
from bot.digest.build import LOOKBACK
from bot.digest.rank import Candidate, keep_by_keywords, rank
from bot.ingest.pipeline import Ingestor
from bot.models import Article, Entry
from bot.store import digest_history
from bot.store.feeds import add_feed
from bot.store.stories import latest_stories
from tests.seed import make_article, seed_story

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

UTC = dt.UTC
DAY = dt.date(2024, 6, 3)
# Europe/Paris is UTC+2 in June: the 08:00 digest covers 06:00 UTC to 06:00 UTC.
END = int(dt.datetime(2024, 6, 3, 6, 0, tzinfo=UTC).timestamp())
NOW = dt.datetime(2024, 6, 3, 6, 0, 5, tzinfo=UTC)
HOUR = 3600
# Hours before the digest's end at which an article is older than any coverage it reads.
LONG_AGO = (LOOKBACK + dt.timedelta(days=2)).total_seconds() / HOUR
_ids = itertools.count(1)
_stories = itertools.count(1)


def channel(**kw) -> DigestChannel:
    base = {"channel_id": 111, "time": dt.time(8, 0), "timezone": "Europe/Paris"}
    base.update(kw)
    return DigestChannel(**base)


def at(ago: float) -> dt.datetime:
    """``ago`` hours before the digest's end."""
    return dt.datetime.fromtimestamp(int(END - ago * HOUR), UTC)


# The builder's own tests need stories of an exact make-up (which articles,
# outlets, times, guilds), so ``story`` files the articles it is given under
# one new story through the store's clustering write (tests/seed.py):
# clustering them would make every case here depend on its similarity
# heuristics. Everything else (history, feeds) goes through the store and the
# ingest pipeline too.
def article(
    source: str,
    *,
    ago: float = 1.0,
    title: str | None = None,
    body: str = "",
    summary: str | None = None,
    url: str | None = "auto",
    category: str | None = None,
) -> Article:
    n = next(_ids)
    if url == "auto":
        url = f"https://{source.lower().replace(' ', '')}.example/{n}"
    return make_article(
        title or f"Report {n} from {source}",
        source,
        at(ago),
        body=body,
        summary=summary,
        url=url,
        category=category,
    )


async def story(db, *articles: Article, guilds: list[int] | None = None) -> int:
    """One new story of ``articles`` (each in ``guilds``, else shared); its id."""
    return await seed_story(db, articles, guild_id=guilds or 0, fetched_at=at(0))


async def covered(db, sources: int, *, ago: float = 1.0) -> int:
    """A story covered once by each of ``sources`` outlets of its own; its id."""
    n = next(_stories)
    return await story(db, *(article(f"S{n}-{i}", ago=ago) for i in range(sources)))


async def build(db, ch=None, **kw):
    return await build_digest(
        db,
        ch or channel(),
        DAY,
        options=kw.pop("options", DigestOptions()),
        now=kw.pop("now", NOW),
        **kw,
    )


# -- window -------------------------------------------------------------------


def test_window_is_the_24_hours_before_local_digest_time():
    start, end = digest_window(channel(), DAY)
    assert end == dt.datetime(2024, 6, 3, 6, 0, tzinfo=UTC)
    assert start == dt.datetime(2024, 6, 2, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "hours"),
    [(dt.date(2024, 3, 31), 23), (dt.date(2024, 10, 27), 25), (dt.date(2024, 7, 1), 24)],
)
def test_window_across_dst_runs_from_yesterdays_digest_time(day, hours):
    start, end = digest_window(channel(), day)
    assert end - start == dt.timedelta(hours=hours)
    zone = channel().tz
    assert end.astimezone(zone).time() == dt.time(8, 0)
    assert start.astimezone(zone).time() == dt.time(8, 0)
    assert start.astimezone(zone).date() == day - dt.timedelta(days=1)


def test_window_hours_other_than_24_count_real_hours():
    start, end = digest_window(channel(), DAY, window_hours=12)
    assert end - start == dt.timedelta(hours=12)


# -- candidates and ranking -----------------------------------------------------


async def test_stories_ranked_by_outlet_count_then_recency(db):
    one = await covered(db, 2, ago=2)
    two = await covered(db, 4, ago=20)
    three = await covered(db, 2, ago=1)  # as many outlets as story one, but more recent
    digest = await build(db)
    assert [i.story_id for i in digest.items] == [two, three, one]
    assert [i.source_count for i in digest.items] == [4, 2, 2]
    assert not digest.quiet


async def test_only_window_articles_make_a_story_a_candidate(db):
    await covered(db, 3, ago=30)  # before the window
    inside = await covered(db, 1, ago=1)
    await story(db, article("Future", ago=-1))  # after now: not seen yet
    digest = await build(db)
    assert [i.story_id for i in digest.items] == [inside]


async def test_articles_after_now_are_ignored_in_a_preview(db):
    earlier = await covered(db, 1, ago=5)
    await covered(db, 1, ago=1)
    early = dt.datetime.fromtimestamp(END - 3 * HOUR, UTC)
    digest = await build(db, now=early)
    assert [i.story_id for i in digest.items] == [earlier]


async def test_older_articles_of_a_story_count_towards_coverage(db):
    await story(db, article("Old A", ago=30), article("Old B", ago=40), article("New", ago=1))
    [item] = (await build(db)).items
    assert item.source_count == 3
    assert item.article_count == 3
    assert item.published_at == dt.datetime.fromtimestamp(END - HOUR, UTC)


async def test_max_stories_and_per_source_max(db):
    for n in range(1, 6):  # five stories all led by the same outlet
        await story(db, article("Mega", ago=n, title=f"Mega exclusive number {n} today"))
    for _ in range(6, 8):
        await covered(db, 1, ago=10)
    digest = await build(db, options=DigestOptions(per_source_max=2))
    leads = [i.lead_source for i in digest.items]
    assert leads.count("Mega") == 2
    assert len(digest.items) == 4
    small = await build(db, channel(max_stories=1))
    assert len(small.items) == 1


def test_rank_diversity_penalty_prefers_a_new_outlet_on_ties():
    start = dt.datetime(2024, 6, 2, tzinfo=UTC)
    end = start + dt.timedelta(days=1)
    t = int(start.timestamp()) + 3600
    cands = [Candidate(1, 3, t + 30, "A"), Candidate(2, 3, t + 20, "A"), Candidate(3, 3, t, "B")]
    order = rank(cands, window_start=start, window_end=end, max_stories=3, per_source_max=3)
    assert [c.story_id for c in order] == [1, 3, 2]
    assert rank([], window_start=start, window_end=end, max_stories=3, per_source_max=1) == []


def test_keyword_filters_match_whole_words_case_insensitively():
    cands = [
        Candidate(1, 1, 0, "x", "Art fair opens"),
        Candidate(2, 1, 0, "x", "Start of play"),
        Candidate(3, 1, 0, "x", "Football: ART wins"),
        Candidate(4, 1, 0, "x", "Climate talks"),
    ]
    kept = keep_by_keywords(cands, ["art"], ["football"])
    assert [c.story_id for c in kept] == [1]
    assert len(keep_by_keywords(cands, [], [])) == 4
    assert [c.story_id for c in keep_by_keywords(cands, ["climate talks"], [])] == [4]


async def test_include_and_exclude_look_at_titles_and_summaries(db):
    budget = await story(
        db, article("A", title="Budget vote tonight", summary="Parliament and taxes")
    )
    await story(db, article("B", title="Cup final result", summary="Football news"))
    cuts = await story(db, article("C", title="Tax cuts for football clubs"))
    inc = await build(db, channel(include=("taxes", "tax")))
    assert sorted(i.story_id for i in inc.items) == sorted([budget, cuts])
    exc = await build(db, channel(exclude=("football",)))
    assert [i.story_id for i in exc.items] == [budget]


# -- visibility ---------------------------------------------------------------------


async def test_guild_articles_are_visible_only_in_their_guild(db):
    mixed = await story(
        db,
        article("Shared", ago=2),
        article("Private", ago=1, title="Secret private headline text"),
        guilds=[0, 5],
    )
    private = await story(db, article("OnlyPrivate", ago=1), guilds=[5])
    shared = await build(db, channel(guild_id=None))
    assert [(i.story_id, i.source_count) for i in shared.items] == [(mixed, 1)]
    other = await build(db, channel(guild_id=6))
    assert [(i.story_id, i.source_count) for i in other.items] == [(mixed, 1)]
    assert all("Secret" not in i.headline for i in other.items)
    mine = await build(db, channel(guild_id=5))
    assert sorted((i.story_id, i.source_count) for i in mine.items) == sorted(
        [(mixed, 2), (private, 1)]
    )


async def test_articles_linked_to_a_guild_feed_are_visible_to_that_guild(db):
    """Guild 3's feed brought the article first (it is guild 3's); guild 7's feed too."""
    ingestor = Ingestor(db, clusterer=StoryClusterer(), now=lambda: NOW)
    entry = Entry(
        title="Harbour bridge reopens after repairs",
        url="https://feedy.example/bridge",
        published_at=dt.datetime.fromtimestamp(END - HOUR, UTC),
        summary="The harbour bridge reopened on Monday after months of repairs.",
        source="Feedy",
    )
    for guild_id in (3, 7):
        feed_id = await add_feed(db, f"https://g{guild_id}.example/rss", guild_id=guild_id, now=NOW)
        await ingestor.ingest_entries([entry], feed_id=feed_id, guild_id=guild_id)
    [filed] = await latest_stories(db, 5)
    assert [i.story_id for i in (await build(db, channel(guild_id=7))).items] == [filed.id]
    assert (await build(db, channel(guild_id=8))).quiet


# -- history ------------------------------------------------------------------------


async def test_record_and_read_history(db):
    one = await covered(db, 2)
    two = await covered(db, 1)
    never = await covered(db, 1, ago=30)  # outside the window: never sent
    digest = await build(db)
    assert await record_sent(db, 111, dt.date(2024, 6, 1), digest.items) == 2
    await digest_history.record_sent(db, 111, dt.date(2024, 5, 30), {one: 5})
    await digest_history.record_sent(db, 222, dt.date(2024, 5, 30), {two: 1})
    sent = await already_sent(db, 111, DAY, [one, two, never])
    assert sent == {one: 5, two: 1}
    assert await already_sent(db, 111, dt.date(2024, 6, 1), [two]) == {}
    assert await already_sent(db, 111, DAY, []) == {}


async def test_already_sent_stories_are_skipped_unless_developing(db):
    one = await covered(db, 3)
    two = await covered(db, 2)
    three = await covered(db, 4)
    # Story one has gained 2 outlets since: developing; story two only 1: not enough.
    await digest_history.record_sent(db, 111, dt.date(2024, 6, 2), {one: 1, two: 1})
    # Today's own earlier attempt does not count.
    await digest_history.record_sent(db, 111, DAY, {three: 4})
    digest = await build(db)
    assert [(i.story_id, i.developing) for i in digest.items] == [(three, False), (one, True)]
    other_channel = await build(db, channel(channel_id=222))
    assert len(other_channel.items) == 3


# -- items, sections, quiet -----------------------------------------------------------


async def test_item_links_lead_headline_and_summary(db):
    body = (
        "Storm hits coast\n\nBy Ann Reporter\n\nA powerful storm hit the coast on Monday, "
        "cutting power to thousands of homes. Officials urged people to stay inside."
    )
    await story(
        db,
        article("Lead News", ago=3, title="Storm hits coast - Lead News", body=body),
        article("Lead News", ago=2, title="Storm hits coast again"),  # same outlet
        *(article(f"Other {i}", ago=1, title=f"Storm hits coast near town{i}") for i in range(7)),
        article("Nolink", ago=1, url=None, title="Storm hits coast hard"),
        article("Evil", ago=1, url="javascript:alert(1)", title="Storm hits coast too"),
    )
    [item] = (await build(db, options=DigestOptions(max_links=3))).items
    assert item.headline == "Storm hits coast"
    assert item.lead_source == "Lead News"
    assert item.lead_url.startswith("https://leadnews.example/")
    assert item.source_count == 10
    assert item.article_count == 11
    assert len(item.links) == 3
    assert all(url.startswith("https://") for _, url in item.links)
    assert "Lead News" not in [s for s, _ in item.links]
    assert len(item.links) + item.more_links == item.source_count - 1
    assert item.summary == (
        "A powerful storm hit the coast on Monday, cutting power to "
        "thousands of homes. Officials urged people to stay inside."
    )


async def test_summary_falls_back_to_the_publisher_summary(db):
    await story(
        db,
        article(
            "A",
            title="Quiet day",
            body="",
            summary="Markets were calm on Monday as traders awaited the data.",
        ),
    )
    [item] = (await build(db)).items
    assert item.summary == "Markets were calm on Monday as traders awaited the data."


async def test_sections_by_category_with_general_last(db):
    world = await story(db, article("A", category="World"), article("B", category="world"))
    # Category from the story row: the article that gave it is older than the
    # coverage the digest reads (LOOKBACK), so no article read has one.
    sport = await story(db, article("C", ago=LONG_AGO, category="Sport"), article("C", ago=2))
    general = await story(db, article("D", ago=3))
    digest = await build(db)
    assert [(name, [i.story_id for i in items]) for name, items in digest.sections] == [
        ("World", [world]),
        ("Sport", [sport]),
        (None, [general]),
    ]
    assert sorted(i.story_id for _, items in digest.sections for i in items) == sorted(
        [world, sport, general]
    )


async def test_one_category_gives_a_single_list(db):
    await story(db, article("A", category="World"))
    await story(db, article("B"))
    digest = await build(db)
    assert len(digest.sections) == 1
    assert digest.sections[0][0] is None
    assert [i.story_id for i in digest.sections[0][1]] == [i.story_id for i in digest.items]


async def test_quiet_day(db):
    digest = await build(db)
    assert digest.quiet
    assert digest.items == [] and digest.sections == []
    assert digest.timezone == "Europe/Paris"


async def test_many_articles_build_a_full_digest(db):
    """A busier day: 150 stories with 1 to 5 outlets each, 40 outlets in all."""
    n = 0
    for sid in range(1, 151):
        articles = []
        for j in range(sid % 5 + 1):
            published = dt.datetime.fromtimestamp(END - (n % 80) * 900 - 60, UTC)
            outlet = f"Outlet {(sid * 7 + j) % 40}"
            url = f"https://o{n}.example/{n}"
            articles.append(make_article(f"Event {sid} update {j}", outlet, published, url=url))
            n += 1
        await story(db, *articles)
    digest = await build(db, channel(max_stories=25))
    assert len({i.story_id for i in digest.items}) == 25
    counts = [i.source_count for i in digest.items]
    assert counts[0] == 5 and counts == sorted(counts, reverse=True)
    # 30 stories have 5 outlets, but only 8 outlets lead them: diversity lets 4-outlet
    # stories from fresh outlets in rather than a third story from the same lead.
    assert counts.count(5) == 18 and counts.count(4) == 7
    leads = [i.lead_source for i in digest.items]
    assert max(leads.count(x) for x in leads) <= 3
