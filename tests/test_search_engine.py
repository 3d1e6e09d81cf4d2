"""The search engine over a small store filled through the ingest pipeline."""

from __future__ import annotations

import asyncio
import itertools
import string
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.clustering import StoryClusterer
from bot.ingest.pipeline import Ingestor
from bot.models import Entry
from bot.search import engine
from bot.search.engine import SearchPage, mark_snippet, search
from bot.search.query import QueryError
from bot.store import open_db
from bot.store import search as search_store
from bot.store.feeds import add_feed

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2023, 9, 20, 10, 0, tzinfo=UTC)
_ids = itertools.count(1)


def ts(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def filler(number: int) -> str:
    """A body no test searches for; its number keeps the articles distinct (not copies)."""
    return (
        f"The council met on Tuesday and discussed the budget for the coming year, item {number}."
    )


async def add(
    db,
    title: str,
    body: str | None = None,
    *,
    source: str = "Reuters",
    published: int = ts(2023, 9, 17, 12),
    guild_id: int = 0,
    summary: str | None = None,
    category: str | None = None,
    feed_id: int | None = None,
    clusterer: StoryClusterer | None = None,
    url: str | None = None,
) -> int:
    """Ingest one article (the triggers index it) and return its id."""
    number = next(_ids)
    entry = Entry(
        title=title,
        url=url or f"https://example.test/{number}",
        content=filler(number) if body is None else body,
        summary=summary,
        categories=[category] if category else [],
        published_at=datetime.fromtimestamp(published, UTC),
        source=source,
    )
    ingest = Ingestor(db, clusterer=clusterer, now=lambda: NOW)
    report = await ingest.ingest_entries([entry], guild_id=guild_id, feed_id=feed_id)
    assert report.new == 1, report
    return report.new_ids[0]


async def find(db, text: str, **kwargs) -> list[int]:
    page = await search(db, text, tz=PARIS, now=NOW, **kwargs)
    return [hit.article_id for hit in page.hits]


# ------------------------------------------------------------------ ranking


async def test_title_match_beats_body_match(db):
    in_body = await add(
        db, "Council news", "A storm is coming to the coast tonight, say officials."
    )
    in_title = await add(db, "Storm warning", "Officials say the coast should prepare for tonight.")
    assert await find(db, "storm") == [in_title, in_body]


async def test_recency_breaks_ties(db):
    old = await add(db, "Harbour fire", published=ts(2023, 9, 1))
    new = await add(db, "Harbour fire", published=ts(2023, 9, 10))
    middle = await add(db, "Harbour fire", published=ts(2023, 9, 5))
    assert await find(db, "harbour") == [new, middle, old]


async def test_stemming_matches_other_forms(db):
    article = await add(db, "Protesters were running through the streets")
    assert await find(db, "runs") == [article]


async def test_hit_fields(db):
    article = await add(
        db,
        "Eclipse seen",
        category="science",
        source="AP",
        clusterer=StoryClusterer(clock=lambda: NOW),
        url="https://example.test/eclipse",
    )
    rows = await db.execute_fetchall("SELECT story_id FROM articles WHERE id = ?", (article,))
    story_id = rows[0][0]
    assert story_id is not None
    page = await search(db, "eclipse", tz=PARIS, now=NOW)
    hit = page.hits[0]
    assert hit.article_id == article
    assert hit.story_id == story_id
    assert hit.title == "Eclipse seen"
    assert hit.url == "https://example.test/eclipse"
    assert hit.source == "AP"
    assert hit.category == "science"
    assert hit.published_at == datetime(2023, 9, 17, 12, tzinfo=UTC)


# ----------------------------------------------------------------- language


@pytest.mark.parametrize("scan_span", [search_store.SCAN_SPAN_MAX, -1])
async def test_phrase_or_exclusion_and_prefix(db, scan_span, monkeypatch):
    """The same hits whether their snippets come from a scan or from id lookups."""
    monkeypatch.setattr(search_store, "SCAN_SPAN_MAX", scan_span)
    sea = await add(db, "Sea level rise", "The sea level is rising along the coast.")
    level = await add(db, "Level of the sea", "A level crossing by the sea.")
    wind = await add(db, "Wind farms", "Offshore wind power grows.")
    solar = await add(db, "Solar panels", "Solar power grows in the south.")
    assert await find(db, '"sea level"') == [sea]
    assert set(await find(db, "sea level")) == {sea, level}
    assert set(await find(db, "wind OR solar")) == {wind, solar}
    assert await find(db, "power -solar") == [wind]
    assert await find(db, "cros*") == [level]
    # Prefixes match the stemmed index ("crossing" is stored as "cross").
    assert await find(db, "crossi*") == []


async def test_a_phrase_does_not_run_from_title_into_body(db):
    across = await add(db, "Harbour news of the sea", "Level readings were normal.")
    within = await add(db, "Readings", "The sea level was normal.")
    assert await find(db, '"sea level"') == [within]
    assert set(await find(db, "sea level")) == {across, within}


async def test_hostile_text_is_searched_as_words(db):
    article = await add(db, "Title NEAR the coast", "Some body text about DROP TABLE articles")
    assert await find(db, "title:near") == [article]
    assert await find(db, "NEAR(coast title)") == [article]
    assert await find(db, "'; DROP TABLE articles; --") == [article]
    assert await find(db, "^coast") == [article]
    # The table is still there.
    assert await find(db, "coast") == [article]


# ------------------------------------------------------------------ filters


async def test_source_filter_is_a_case_insensitive_prefix(db):
    bbc = await add(db, "Budget vote", source="BBC News")
    reuters = await add(db, "Budget vote", source="Reuters")
    monde = await add(db, "Budget vote", source="Le Monde")
    assert await find(db, "budget source:bbc") == [bbc]
    assert await find(db, "budget", source="REUTERS") == [reuters]
    assert await find(db, 'budget source:"le monde"') == [monde]
    assert set(await find(db, "budget source:bbc source:reuters")) == {bbc, reuters}
    assert set(await find(db, "budget -source:bbc")) == {reuters, monde}
    # The source= argument is AND-ed with the query's filters.
    assert await find(db, "budget source:bbc", source="reuters") == []


async def test_source_filter_treats_like_wildcards_literally(db):
    await add(db, "Budget vote", source="BBC News")
    plain = await add(db, "Budget vote", source="100% News")
    assert await find(db, "budget", source="%") == []
    assert await find(db, "budget", source="_BC") == []
    assert await find(db, 'budget source:"100%"') == [plain]


async def test_date_filter_uses_the_local_day(db):
    # 23:30 UTC on the 16th is 01:30 on the 17th in Paris.
    late = await add(db, "Night train", published=ts(2023, 9, 16, 23, 30))
    assert await find(db, "train date:2023-09-17") == [late]
    assert await find(db, "train date:2023-09-16") == []
    page = await search(db, "train date:2023-09-16", tz=ZoneInfo("UTC"), now=NOW)
    assert [hit.article_id for hit in page.hits] == [late]


async def test_before_after_and_keyword_dates_combine(db):
    first = await add(db, "Rate decision", published=ts(2023, 9, 10, 12))
    second = await add(db, "Rate decision", published=ts(2023, 9, 14, 12))
    third = await add(db, "Rate decision", published=ts(2023, 9, 18, 12))
    assert await find(db, "rate after:2023-09-10") == [third, second]
    assert await find(db, "rate before:2023-09-14") == [first]
    assert await find(db, "rate date:2023-09-10..2023-09-17") == [second, first]
    # Keyword arguments narrow the query's own range.
    since = datetime(2023, 9, 12, tzinfo=UTC)
    assert await find(db, "rate date:2023-09-10..2023-09-17", date_from=since) == [second]
    assert await find(db, "rate", date_to=since) == [first]


async def test_relative_dates_follow_now(db):
    today = await add(db, "Market update", published=ts(2023, 9, 20, 8))
    await add(db, "Market update", published=ts(2023, 9, 19, 8))
    assert await find(db, "market date:today") == [today]
    assert len(await find(db, 'market date:"last week"')) == 1


async def test_disjoint_dates_give_an_empty_page_with_a_note(db):
    await add(db, "Market update")
    page = await search(db, "market date:2023-09-17 date:2023-09-18", tz=PARIS, now=NOW)
    assert page.hits == [] and page.total == 0
    assert page.notes


async def test_bad_date_in_query_is_a_query_error(db):
    with pytest.raises(QueryError, match="blorp"):
        await search(db, "market date:blorp", tz=PARIS, now=NOW)


async def test_filters_only_lists_newest_first(db):
    old = await add(db, "One", source="Reuters", published=ts(2023, 9, 20, 6))
    new = await add(db, "Two", source="Reuters", published=ts(2023, 9, 20, 9))
    await add(db, "Three", source="AP", published=ts(2023, 9, 20, 8))
    await add(db, "Four", source="Reuters", published=ts(2023, 9, 18, 9))
    page = await search(db, "source:reuters date:today", tz=PARIS, now=NOW)
    assert [hit.article_id for hit in page.hits] == [new, old]
    assert page.total == 2
    assert await find(db, "", source="reuters", date_from=datetime(2023, 9, 20)) == [new, old]


async def test_filters_only_snippet_is_plain_text(db):
    await add(db, "One", "Body\n\nsecond    paragraph", summary="")
    await add(db, "Two", "x " * 500, summary="A short summary.", published=ts(2023, 9, 18))
    page = await search(db, "source:reuters", tz=PARIS, now=NOW)
    assert page.hits[0].snippet == "A short summary."
    assert page.hits[1].snippet == "Body second paragraph"
    assert all(hit.highlights == () for hit in page.hits)


async def test_empty_query_without_filters_is_an_error(db):
    with pytest.raises(QueryError, match="Nothing to search for"):
        await search(db, "", tz=PARIS, now=NOW)
    with pytest.raises(QueryError, match="excluded"):
        await search(db, "-storm", tz=PARIS, now=NOW, source="reuters")


# --------------------------------------------------------------- visibility


async def test_guild_visibility(db):
    feed = await add_feed(db, "https://feed.test/rss", guild_id=6, now=NOW)
    shared = await add(db, "Eclipse shared", guild_id=0)
    private5 = await add(db, "Eclipse private", guild_id=5)
    linked = await add(db, "Eclipse linked", guild_id=7, feed_id=feed)
    assert set(await find(db, "eclipse")) == {shared, private5, linked}
    assert set(await find(db, "eclipse", guild_id=5)) == {shared, private5}
    assert set(await find(db, "eclipse", guild_id=6)) == {shared, linked}
    assert set(await find(db, "eclipse", guild_id=7)) == {shared, linked}
    assert await find(db, "eclipse", guild_id=8) == [shared]
    assert set(await find(db, "source:reuters", guild_id=6)) == {shared, linked}


# --------------------------------------------------------------- pagination


async def test_pagination(db):
    ids = [await add(db, "Weather report", published=ts(2023, 9, 1) + i) for i in range(25)]
    newest_first = ids[::-1]
    pages = [
        await search(db, "weather", tz=PARIS, now=NOW, limit=10, offset=o) for o in (0, 10, 20)
    ]
    assert [[h.article_id for h in p.hits] for p in pages] == [
        newest_first[:10],
        newest_first[10:20],
        newest_first[20:],
    ]
    assert [p.total for p in pages] == [25, 25, 25]
    assert [p.has_more for p in pages] == [True, True, False]
    beyond = await search(db, "weather", tz=PARIS, now=NOW, offset=40)
    assert beyond.hits == [] and beyond.total == 25


async def test_limit_and_offset_are_clamped(db):
    await add(db, "Weather report")
    page = await search(db, "weather", tz=PARIS, now=NOW, limit=10_000, offset=-5)
    assert page.limit == engine.MAX_LIMIT and page.offset == 0
    page = await search(db, "weather", tz=PARIS, now=NOW, limit=0)
    assert page.limit == 1 and len(page.hits) == 1


async def test_total_is_capped(db, monkeypatch):
    monkeypatch.setattr(engine, "TOTAL_CAP", 5)
    for i in range(8):
        await add(db, "Weather report", published=ts(2023, 9, 1) + i)
    page = await search(db, "weather", tz=PARIS, now=NOW, limit=3)
    assert page.total == 5 and page.total_capped and page.total_label == "5+"
    assert page.has_more
    exact = await search(db, "weather", tz=PARIS, now=NOW, limit=3, source="nobody")
    assert exact.total == 0 and exact.total_label == "0"


# ----------------------------------------------------------------- snippets


@pytest.mark.parametrize("scan_span", [search_store.SCAN_SPAN_MAX, -1])
async def test_snippet_highlights_matched_words(db, scan_span, monkeypatch):
    monkeypatch.setattr(search_store, "SCAN_SPAN_MAX", scan_span)
    await add(
        db,
        "Coastal news",
        "Officials said the Storm would reach the coast by night.\n\nStorms are common here.",
    )
    hit = (await search(db, "storm", tz=PARIS, now=NOW)).hits[0]
    assert "\x02" not in hit.snippet and "\x03" not in hit.snippet and "\n" not in hit.snippet
    assert [hit.snippet[a:b] for a, b in hit.highlights] == ["Storm", "Storms"]
    assert mark_snippet(hit).count("**Storm") == 2


async def test_snippet_of_a_long_body_finds_a_late_match(db):
    early = "The storm came first. " + "Quiet harbour days went by. " * 1500
    late = "Quiet harbour days went by. " * 1500 + "Then the storm came ashore at last."
    for title, body in (("Early news", early), ("Late news", late)):
        await add(db, title, body)
    hits = {hit.title: hit for hit in (await search(db, "storm", tz=PARIS, now=NOW)).hits}
    for title in ("Early news", "Late news"):
        hit = hits[title]
        assert [hit.snippet[a:b] for a, b in hit.highlights] == ["storm"], title
    assert hits["Late news"].snippet.startswith("…")
    assert hits["Early news"].snippet.endswith("…")


async def test_mark_snippet_escapes_publisher_text(db):
    await add(db, "Markdown", "Some *stars* and the storm and @everyone <b>")
    hit = (await search(db, "storm", tz=PARIS, now=NOW)).hits[0]

    def escape(text: str) -> str:
        return text.replace("*", "\\*").replace("@", "@\u200b")

    marked = mark_snippet(hit, start="**", end="**", escape=escape)
    assert "**storm**" in marked
    assert "\\*stars\\*" in marked
    assert "@everyone" not in marked


async def test_page_reports_the_parsed_query(db):
    page = await search(db, "wind  OR  solar source:bbc", tz=PARIS, now=NOW)
    assert page.query.describe() == "(wind OR solar) source:bbc"


async def test_uses_covering_index_when_present_and_works_without(db, backend):
    article = await add(db, "Indexed search")
    if backend == "postgresql":  # no covering index to force: the planner picks
        assert await find(db, "indexed", guild_id=3, source="reuters") == [article]
        await db.execute("DROP INDEX articles_search")  # the GIN index: a sequential scan
        assert await find(db, "indexed", guild_id=3, source="reuters") == [article]
        return
    search_store._has_index.pop(db, None)
    assert await find(db, "indexed", guild_id=3, source="reuters") == [article]
    assert search_store._has_index[db] is True
    await db.execute("DROP INDEX articles_search")  # an older or hand-made store
    search_store._has_index.pop(db, None)
    assert await find(db, "indexed", guild_id=3, source="reuters") == [article]
    assert search_store._has_index[db] is False


# ------------------------------------------------------- property-based tests

_NASTY = st.sampled_from(
    ["NEAR", "NEAR(", "AND", "OR", "NOT", "title:", "source:", "date:", "before:", "-", '"', "*"]
    + ["^", "(", ")", "{", "}", "[", "]", "'", ":", "+", "storm", "\x00", "😀", " ", "x" * 70]
)
QUERY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("\"*^():-+{}[]' abcNEARORNOT"), max_size=80),
    st.lists(_NASTY, max_size=40).map("".join),
    st.lists(_NASTY, max_size=40).map(" ".join),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=10), st.integers(500, 1000)),
)


@pytest.fixture
def loop_and_db(store_url):
    """A store (either backend) usable from synchronous hypothesis tests, with its own loop."""
    loop = asyncio.new_event_loop()
    db = loop.run_until_complete(open_db(store_url))
    try:
        yield loop, db
    finally:
        loop.run_until_complete(db.close())
        loop.close()


def test_any_text_gives_a_page_or_a_query_error(loop_and_db):
    loop, db = loop_and_db
    for title in ("Storm NEAR the coast", "OR AND NOT title body", "Le café 😀 naïve"):
        loop.run_until_complete(add(db, title))

    @settings(max_examples=300, deadline=None)
    @given(text=QUERY_TEXT, guild=st.sampled_from([None, 0, 5]))
    def check(text: str, guild: int | None) -> None:
        try:
            page = loop.run_until_complete(search(db, text, tz=PARIS, now=NOW, guild_id=guild))
        except QueryError as exc:
            assert str(exc)
            return
        assert isinstance(page, SearchPage)
        assert page.total >= len(page.hits)

    check()


WORD = st.text(alphabet=string.ascii_letters + string.digits + "éüßøñ", min_size=1, max_size=20)


def test_any_word_of_a_title_finds_the_article(loop_and_db):
    loop, db = loop_and_db
    guilds = itertools.count(1000)

    @settings(max_examples=150, deadline=None)
    @given(words=st.lists(WORD, min_size=1, max_size=8), data=st.data())
    def check(words: list[str], data: st.DataObject) -> None:
        word = data.draw(st.sampled_from(words))
        assume(word not in ("OR", "AND", "NOT"))
        guild = next(guilds)  # only this example's article is visible to it
        article = loop.run_until_complete(add(db, " ".join(words), guild_id=guild))
        page = loop.run_until_complete(search(db, word, tz=PARIS, now=NOW, guild_id=guild))
        assert [hit.article_id for hit in page.hits] == [article]

    check()


async def test_only_the_newest_matches_passing_the_filters_are_ranked(db, monkeypatch):
    """Ranking is bounded to the newest RANK_WINDOW matches that pass the date
    and source filters: a filter reaches older matches, the count all of them."""
    monkeypatch.setattr(search_store, "RANK_WINDOW", 3)
    old = await add(db, "Strike", source="AP", published=ts(2023, 9, 1, 12))  # the oldest row
    newer = [
        await add(db, f"Strike talks continue in round {i}", published=ts(2023, 9, 18, i))
        for i in range(3)
    ]
    page = await search(db, "strike", tz=PARIS, now=NOW)
    assert {h.article_id for h in page.hits} == set(newer)  # the old, best match is outside
    dated = await search(db, "strike date:2023-09-01..2023-09-17", tz=PARIS, now=NOW)
    assert [h.article_id for h in dated.hits] == [old]
    sourced = await search(db, "strike", source="ap", tz=PARIS, now=NOW)
    assert [h.article_id for h in sourced.hits] == [old]
    excluded = await search(db, "strike -source:reuters", tz=PARIS, now=NOW)
    assert [h.article_id for h in excluded.hits] == [old]
    # A filter passing all four ranks the newest three, as without a filter.
    wide = await search(db, "strike date:2023-09-01..2023-09-19", tz=PARIS, now=NOW)
    assert {h.article_id for h in wide.hits} == set(newer)
    monkeypatch.setattr(search_store, "RANK_WINDOW", 100)
    assert (await search(db, "strike", tz=PARIS, now=NOW)).hits[0].article_id == old


async def test_a_source_no_article_comes_from_finds_nothing_and_excluding_it_nothing_less(db):
    ap = await add(db, "Dam breach floods the valley", source="AP")
    reuters = await add(db, "Dam breach: villages evacuated", source="Reuters")
    missing = await search(db, "dam source:nowhere", tz=PARIS, now=NOW)
    assert missing.hits == [] and missing.total == 0
    kept = await search(db, "dam -source:nowhere", tz=PARIS, now=NOW)
    assert {h.article_id for h in kept.hits} == {ap, reuters} and kept.total == 2
    found = await search(db, "dam source:ap", tz=PARIS, now=NOW)
    assert [h.article_id for h in found.hits] == [ap] and found.total == 1


async def test_a_window_short_of_its_size_counts_the_matches_a_server_sees(db):
    """Fewer matches than the rank window: the page's query counts them (no
    second walk), after visibility, on any page."""
    shared = await add(db, "Glacier collapse in the Alps")
    mine = await add(db, "Glacier collapse seen from the valley", guild_id=7)
    await add(db, "Glacier collapse footage", guild_id=8)
    first = await search(db, "glacier", tz=PARIS, now=NOW, guild_id=7, limit=1)
    second = await search(db, "glacier", tz=PARIS, now=NOW, guild_id=7, limit=1, offset=1)
    assert {first.hits[0].article_id, second.hits[0].article_id} == {shared, mine}
    assert (first.total, second.total) == (2, 2)
    everyone = await search(db, '"glacier collapse"', tz=PARIS, now=NOW, limit=1)
    assert everyone.total == 3


async def test_a_short_date_range_bounds_fts_by_ids_without_losing_matches(db):
    """Ids follow storage order, not publication: the id bound must stay a superset."""
    first = await add(db, "Ferry strike talks", published=ts(2023, 9, 19, 9))
    await add(db, "Ferry strike last month", published=ts(2023, 8, 1, 9))
    late = await add(db, "Ferry strike resumes", published=ts(2023, 9, 19, 18))  # stored last
    page = await search(db, "ferry date:2023-09-19", tz=UTC, now=NOW)
    assert {h.article_id for h in page.hits} == {first, late}
    assert page.total == 2
    empty = await search(db, "ferry date:2023-09-10", tz=UTC, now=NOW)
    assert empty.hits == [] and empty.total == 0


# ------------------------------------------------ the two backends agree

_CORPUS = [
    ("Storm hits the coast", "Officials said the storm would reach the coast by night."),
    ("Storms and e-mail outages", "The e-mail service of the port was down; storms again."),
    ("Sea level rise", "The sea level is rising along the coast, say scientists."),
    ("Level crossing closed", "A level crossing by the sea was closed after the storm."),
    ("Café owners count costs", "Le café naïve owners at evil.example/phish said: don't panic."),
    ("Wind and solar power", "Offshore wind power grows; solar power grows in the south."),
    ("Running the numbers", "Runners ran 10.5 km; the 2023 race (round 2) was running late."),
    ("Who is who", "Who said what and when: the report, in full."),
    ("Harbour news of the sea", "Level readings were normal; storm power cut."),
    ("Clear skies", "A new sky, and news of dying winds."),
]
_VOCAB = ["storm", "storms", "coast", "sea", "level", "e-mail", "mail", "café", "cafe", "evil"]
_VOCAB += ["example", "don't", "power", "wind", "solar", "running", "runs", "10", "2023", "the"]
_VOCAB += ["who", "crossing", "naive", "phish", "report", "nothing", "news", "new", "sky"]
_VOCAB += ["skies", "die", "dying"]  # stemmed alike by FTS5's and PostgreSQL's porter
_WORD = st.sampled_from(_VOCAB)
_UNIT = st.one_of(
    _WORD,
    st.lists(_WORD, min_size=2, max_size=3).map(lambda w: '"' + " ".join(w) + '"'),
    st.sampled_from(["sto*", "cros*", "runn*", "naï*", "e-ma*", '"sea lev"*']),
    st.lists(_WORD, min_size=2, max_size=3).map(lambda w: "(" + " OR ".join(w) + ")"),
)
_AGREED_QUERY = st.lists(
    st.tuples(st.sampled_from(["", "", "-", "OR "]), _UNIT), min_size=1, max_size=4
).map(lambda parts: " ".join(prefix + unit for prefix, unit in parts))


def test_both_backends_find_the_same_articles(tmp_path, postgres_url):
    """The search language means the same on SQLite (FTS5) and PostgreSQL (tsvector)."""
    loop = asyncio.new_event_loop()
    stores = {
        "sqlite": loop.run_until_complete(open_db(tmp_path / "agree.db")),
        "postgresql": loop.run_until_complete(open_db(postgres_url)),
    }
    try:
        for title, body in _CORPUS:
            url = f"https://example.test/agree/{title.replace(' ', '-')}"
            for db in stores.values():
                loop.run_until_complete(add(db, title, body, url=url))

        @settings(max_examples=200, deadline=None)
        @given(text=_AGREED_QUERY)
        def check(text: str) -> None:
            found = {}
            for name, db in stores.items():
                try:
                    page = loop.run_until_complete(search(db, text, tz=PARIS, now=NOW, limit=50))
                except QueryError as exc:
                    found[name] = str(exc)
                    continue
                found[name] = sorted(hit.url or "" for hit in page.hits)
            assert found["sqlite"] == found["postgresql"], text

        check()
    finally:
        for db in stores.values():
            loop.run_until_complete(db.close())
        loop.close()
