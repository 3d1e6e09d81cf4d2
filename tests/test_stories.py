"""Story clustering: same event together, look-alikes apart, counts, rebuild, queries, metrics."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

import bot.clustering as clustering_module
from bot.clustering import StoryClusterer
from bot.models import Article
from bot.store import articles as article_store
from bot.store import feeds as feed_store
from bot.store import transaction
from bot.store.digest_history import record_sent
from bot.store.stories import get_story, latest_stories, stories_between
from bot.stories import features as ft
from bot.stories.metrics import bcubed, pairwise
from tests.conftest import REPO
from tests.seed import another_store

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)


def make(title: str, body: str, source: str, hours: float = 0.0, **kw) -> Article:
    return Article(
        title=title,
        body=body,
        url=kw.get("url"),
        guid=None,
        source=source,
        author=None,
        category=kw.get("category"),
        published_at=T0 + timedelta(hours=hours),
        updated_at=None,
        summary=None,
        content_hash=hashlib.sha256(f"{title}\n{body}".encode()).hexdigest(),
    )


async def store(db, article: Article, *, guild_id: int = 0) -> int:
    """Store ``article`` as the ingest pipeline does (no story yet); its id."""
    (article_id,) = await article_store.insert_articles(
        db, [article], fetched_at=article.published_at, guild_id=guild_id
    )
    return article_id


async def ingest(db, clusterer: StoryClusterer, articles: list[Article], **kw) -> list[int]:
    """Store and cluster ``articles`` in order; their story ids."""
    out = []
    async with transaction(db):
        for article in articles:
            article_id = await store(db, article, **kw)
            out.append(await clusterer.assign(db, article_id, article))
    return out


# A little unrelated background so document frequencies mean something.
BACKGROUND = [
    make(
        "Central bank holds interest rates steady",
        "The central bank kept its main interest rate unchanged on Wednesday, saying inflation "
        "was easing but wages were still rising faster than expected. Markets had priced in a hold.",
        "Daily Ledger",
        -30,
    ),
    make(
        "City council approves new cycle lanes",
        "The city council voted to build twelve kilometres of protected cycle lanes across the "
        "centre, a plan opposed by some shop owners who fear losing parking spaces.",
        "Metro Post",
        -28,
    ),
    make(
        "Storm cuts power to thousands of homes",
        "Strong winds brought down trees and power lines overnight, leaving thousands of homes "
        "without electricity. Crews expect to restore supply by the evening.",
        "Evening Star",
        -26,
    ),
    make(
        "Football club appoints new manager",
        "The club announced a new manager on a three-year contract after a poor season in which "
        "the team narrowly avoided relegation.",
        "Sports Wire",
        -24,
    ),
    make(
        "Tech company reports record quarterly profit",
        "Strong sales of cloud services lifted the company's quarterly profit to a record, beating "
        "analyst forecasts and sending its shares up in after-hours trading.",
        "Business Daily",
        -22,
    ),
]

QUAKE_CHILE = [
    make(
        "Magnitude 7.1 earthquake strikes northern Chile",
        "A magnitude 7.1 earthquake struck northern Chile on Monday near the port city of "
        "Antofagasta, the US Geological Survey said. Buildings shook in Antofagasta and Calama, "
        "and officials in Chile briefly issued a tsunami warning for the coast.",
        "Wire One",
        0,
    ),
    make(
        "Strong quake shakes Antofagasta, Chile; tsunami alert lifted",
        "Chilean authorities lifted a tsunami alert after a 7.1-magnitude earthquake rattled "
        "Antofagasta in northern Chile on Monday. No deaths were reported in Antofagasta, "
        "Chile's emergency office said.",
        "Coast Herald",
        3,
    ),
]
QUAKE_JAPAN = [
    make(
        "Magnitude 6.4 earthquake hits Japan's Hokkaido",
        "A magnitude 6.4 earthquake hit Hokkaido in northern Japan on Wednesday, the Japan "
        "Meteorological Agency said. Trains in Sapporo were halted and no tsunami warning "
        "was issued for Hokkaido.",
        "Asia Desk",
        48,
    ),
]
REHAB_A = [
    make(
        "Actress Maria Delgado checks into rehab",
        "Actress Maria Delgado has checked into a rehab facility in Malibu, her publicist "
        "Tom Brennan told reporters. Delgado, star of the sitcom Sunny Days, asked for privacy.",
        "Celeb Now",
        1,
    ),
    make(
        "Maria Delgado enters Malibu treatment centre, publicist confirms",
        "Sunny Days star Maria Delgado entered a Malibu treatment centre this week, publicist "
        "Tom Brennan confirmed. Delgado thanked fans for their support.",
        "Star Weekly",
        5,
    ),
]
REHAB_B = [
    make(
        "Singer Jake Morrow checks into rehab",
        "Singer Jake Morrow has checked into a rehab facility in Arizona, his manager Lisa Kent "
        "said on Thursday. Morrow cancelled the rest of his Northern Lights tour.",
        "Celeb Now",
        20,
    ),
]
TRIAL_A = [
    make(
        "Trial of Daniel Harker opens at Central Criminal Court",
        "The murder trial of Daniel Harker, accused of killing his business partner Simon Wade "
        "in Leeds, opened at the Central Criminal Court on Tuesday. Prosecutor Anne Lowe told "
        "jurors Harker had planned the attack.",
        "Court Reporter",
        2,
    ),
    make(
        "Harker murder trial: jury told of planned attack on Simon Wade",
        "Jurors at the Central Criminal Court heard on Tuesday that Daniel Harker planned the "
        "killing of Simon Wade, his business partner in Leeds, prosecutor Anne Lowe said.",
        "Northern Echo Online",
        6,
    ),
]
TRIAL_B = [
    make(
        "Fraud trial of banker Olivia Grant begins at Central Criminal Court",
        "Former banker Olivia Grant went on trial at the Central Criminal Court on Thursday "
        "accused of a 40 million pound fraud at Redwood Capital. Prosecutor Mark Ellis said "
        "Grant hid losses from auditors.",
        "Court Reporter",
        30,
    ),
]


async def test_same_events_join_and_look_alikes_stay_apart(db):
    clusterer = StoryClusterer()
    await ingest(db, clusterer, BACKGROUND)
    groups = [QUAKE_CHILE, QUAKE_JAPAN, REHAB_A, REHAB_B, TRIAL_A, TRIAL_B]
    ordered = sorted(
        ((a.published_at, g, a) for g, group in enumerate(groups) for a in group),
        key=lambda item: item[0],
    )
    ids = await ingest(db, clusterer, [a for _, _, a in ordered])
    by_group: dict[int, set[int]] = {}
    for (_, group, _), story in zip(ordered, ids, strict=True):
        by_group.setdefault(group, set()).add(story)
    for group, stories in by_group.items():
        assert len(stories) == 1, f"group {group} split over {stories}"
    assert len({next(iter(s)) for s in by_group.values()}) == len(groups), by_group


async def test_outside_window_starts_new_story(db):
    clusterer = StoryClusterer(window_hours=72)
    base = REHAB_A[0]
    within = make(base.title, base.body + " More.", "Other Outlet", hours=24 * 2)
    # the window rolls with the story's latest article: +2 d -> +4.5 d is 60 h
    rolling = make(base.title, base.body + " Again.", "Third Outlet", hours=24 * 4.5)
    later = make(base.title, base.body + " Update.", "Star Weekly", hours=24 * 8)
    a, b, c, d = await ingest(db, clusterer, [base, within, rolling, later])
    assert a == b == c
    assert d != a


async def test_counts_dates_and_headline_kept_up_to_date(db):
    clusterer = StoryClusterer()
    await ingest(db, clusterer, BACKGROUND)
    third = make(
        "Maria Delgado in rehab: Sunny Days star seeks treatment in Malibu",
        "Sunny Days actress Maria Delgado is in a Malibu rehab facility, publicist Tom Brennan "
        "said, asking for privacy for Delgado.",
        "celeb now",  # same outlet as the first, other spelling
        9,
        category="Entertainment",
    )
    ids = await ingest(db, clusterer, [*REHAB_A, third])
    assert len(set(ids)) == 1
    story = await get_story(db, ids[0])
    assert story is not None
    assert story.article_count == 3
    assert story.source_count == 2  # "Celeb Now" and "celeb now" are one outlet
    assert story.first_published_at == REHAB_A[0].published_at
    assert story.last_published_at == third.published_at
    assert story.category == "Entertainment"
    assert story.headline in {a.title for a in (*REHAB_A, third)}
    assert [a.published_at for a in story.articles] == sorted(
        (a.published_at for a in story.articles), reverse=True
    )
    async with db.execute("SELECT COUNT(*) FROM articles WHERE story_id = ?", (ids[0],)) as cur:
        assert (await cur.fetchone())[0] == 3


async def test_forget_updates_counts_and_drops_empty_story(db):
    clusterer = StoryClusterer()
    async with transaction(db):
        first = await store(db, REHAB_A[0])
        story = await clusterer.assign(db, first, REHAB_A[0])
        second = await store(db, REHAB_A[1])
        assert await clusterer.assign(db, second, REHAB_A[1]) == story
        await clusterer.forget(db, second)
    detail = await get_story(db, story)
    assert detail is not None and detail.article_count == 1 and detail.source_count == 1
    assert detail.last_published_at == REHAB_A[0].published_at
    async with transaction(db):
        await clusterer.forget(db, first)
    assert await get_story(db, story) is None


async def test_reassign_after_update_keeps_one_membership(db):
    clusterer = StoryClusterer()
    async with transaction(db):
        article_id = await store(db, REHAB_A[0])
        story = await clusterer.assign(db, article_id, REHAB_A[0])
        again = await clusterer.assign(db, article_id, REHAB_A[0])
    detail = await get_story(db, again)
    assert detail is not None and detail.article_count == 1
    assert story == again or await get_story(db, story) is None


async def _partition(db) -> set[frozenset[int]]:
    async with db.execute("SELECT id, story_id FROM articles") as cur:
        rows = await cur.fetchall()
    groups: dict[int, set[int]] = {}
    for article_id, story_id in rows:
        groups.setdefault(story_id, set()).add(article_id)
    return {frozenset(g) for g in groups.values()}


async def test_rebuild_reproduces_partition(db):
    clusterer = StoryClusterer()
    everything = sorted(
        [*BACKGROUND, *QUAKE_CHILE, *QUAKE_JAPAN, *REHAB_A, *REHAB_B, *TRIAL_A, *TRIAL_B],
        key=lambda a: a.published_at,
    )
    await ingest(db, clusterer, everything)
    before = await _partition(db)
    report = await clusterer.rebuild(db)
    assert report.articles == len(everything)
    assert report.stories_before == report.stories_after == len(before)
    assert await _partition(db) == before
    report = await clusterer.rebuild(db, since=T0 + timedelta(hours=4))
    assert report.articles == sum(
        1 for a in everything if a.published_at >= T0 + timedelta(hours=4)
    )
    assert await _partition(db) == before


async def test_rebuild_keeps_what_channels_were_already_sent(db):
    clusterer = StoryClusterer()
    ids = await ingest(db, clusterer, [*QUAKE_CHILE, *REHAB_A])
    chile, rehab = ids[0], ids[len(QUAKE_CHILE)]
    await record_sent(db, 42, date(2026, 3, 2), {chile: 3})
    await clusterer.rebuild(db)
    rows = await db.execute_fetchall(
        "SELECT d.channel_id, d.digest_date, d.source_count, a.title FROM digest_items AS d"
        " JOIN articles AS a ON a.story_id = d.story_id"
    )
    titles = {r[3] for r in rows}
    assert {a.title for a in QUAKE_CHILE} <= titles  # the rebuilt Chile story is still "sent"
    assert not {a.title for a in REHAB_A} & titles
    assert {(r[0], r[1], r[2]) for r in rows} == {(42, "2026-03-02", 3)}
    assert rehab != chile


async def test_story_queries_respect_guild_visibility(db):
    clusterer = StoryClusterer()
    shared = await ingest(db, clusterer, [REHAB_A[0]], guild_id=0)
    private = await ingest(db, clusterer, [REHAB_A[1]], guild_id=7)
    other = await ingest(db, clusterer, [TRIAL_B[0]], guild_id=9)
    story = shared[0]
    assert private[0] == story
    full = await get_story(db, story)
    assert full is not None and len(full.articles) == 2
    seen_by_7 = await get_story(db, story, guild_id=7)
    seen_by_8 = await get_story(db, story, guild_id=8)
    assert seen_by_7 is not None and len(seen_by_7.articles) == 2
    assert seen_by_8 is not None and [a.source for a in seen_by_8.articles] == ["Celeb Now"]
    assert seen_by_8.article_count == 1
    assert await get_story(db, other[0], guild_id=8) is None
    # article reached through a feed of guild 8 becomes visible to it
    async with transaction(db):
        feed_id = await feed_store.add_feed(db, "https://f.example/", guild_id=8, now=T0)
        found = await get_story(db, other[0])
        assert found is not None
        await article_store.link_feed(db, feed_id, [a.id for a in found.articles])
    assert await get_story(db, other[0], guild_id=8) is not None

    day = await stories_between(db, T0, T0 + timedelta(hours=24), guild_id=9)
    assert [s.id for s in day] == [story]  # trial B (guild 9) was published at +30 h
    later = await stories_between(db, T0 + timedelta(hours=24), T0 + timedelta(hours=48))
    assert [s.id for s in later] == [other[0]]
    latest = await latest_stories(db, 5, guild_id=3)
    assert [s.id for s in latest] == [story]
    assert [s.id for s in await latest_stories(db, 5)] == [other[0], story]
    with pytest.raises(ValueError):
        await stories_between(db, datetime(2024, 1, 1), datetime(2024, 1, 2))


def test_pairwise_and_bcubed_on_known_partitions():
    gold = ["a", "a", "a", "b", "b"]
    perfect = pairwise([1, 1, 1, 2, 2], gold)
    assert perfect.precision == perfect.recall == perfect.f1 == 1.0
    merged = pairwise([1, 1, 1, 1, 1], gold)  # 10 predicted pairs, 4 right
    assert merged.precision == pytest.approx(4 / 10) and merged.recall == 1.0
    split = pairwise([1, 1, 2, 3, 3], gold)  # 2 predicted pairs, both right, of 4
    assert split.precision == 1.0 and split.recall == pytest.approx(2 / 4)
    b = bcubed([1, 1, 1, 1, 1], gold)
    assert b.precision == pytest.approx((3 * 3 / 5 + 2 * 2 / 5) / 5)
    assert b.recall == 1.0
    b = bcubed([1, 2, 3, 4, 5], gold)
    assert b.precision == 1.0
    assert b.recall == pytest.approx((3 * 1 / 3 + 2 * 1 / 2) / 5)
    assert b.f1 == pytest.approx(2 * b.precision * b.recall / (b.precision + b.recall))
    with pytest.raises(ValueError):
        pairwise([1], gold)


def test_article_vector_boosts_names_and_numbers_and_drops_the_outlet_name():
    counts = ft.article_counts(
        "Quake hits Chile",
        "A magnitude 7.1 earthquake struck northern Chile on Monday, officials of the Metro "
        "Herald said. Reporters from Metro Herald saw damage.",
        "Metro Herald",
    )
    assert counts["chile"] > counts["earthquake"]  # a name counts more than a word
    assert counts["7.1"] > counts["earthquake"]  # and so does a number
    assert "metro" not in counts and "herald" not in counts  # never the outlet's own name
    assert "said" not in counts  # stopwords
    vector = ft.article_vector(counts, {"earthquake": 50}, 100)
    assert abs(sum(w * w for w in vector.values()) - 1.0) < 1e-9
    assert vector["chile"] > vector["earthquake"]  # a common word weighs less
    assert ft.stem("earthquakes") == ft.stem("earthquake")


def _tokens_of_whole_text(text: str, *, trust_case: bool = True, limit: int | None = None):
    """tokens() as the expression read over the whole text (the definition)."""
    out: list[tuple[str, bool]] = []
    sentence_start, left = True, -1 if limit is None else max(limit, 1)
    for raw in ft._TOKEN.findall(ft._fold(text)):
        if not raw:
            sentence_start = True
            continue
        term, at_start, inside = ft._word(raw)
        if term is not None:
            name = (at_start if sentence_start else inside) if trust_case else raw[0].isdigit()
            out.append((term, name))
            left -= 1
        sentence_start = False
        if left == 0:
            break
    return out


def test_tokens_read_between_spaces_are_the_words_of_the_whole_text():
    import random

    texts = [
        "Hello, world.\nNew line  and\ttabs\r\n",
        'O\'Neil’s U.S. team: 3.5 million, 1,000 fans at 12:30. “Quoted” "too"',
        "Zürich café naïve ½ ² ③ x²y Ⅻ foo_bar baz-qux a\u00a0b ǅemal ﬁne",
        "日本語の文。テスト",
        "",
        " ",
    ]
    rng = random.Random(7)
    alphabet = "ab Z'’.,:;!?\"“”\n\t0123456789_-éü²½Ⅻ日ǅ\u0301\u00a0 "
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 50))) for _ in range(3000)]
    for text in texts:
        for limit in (None, 150, 3, 1):
            for trust_case in (True, False):
                expected = _tokens_of_whole_text(text, trust_case=trust_case, limit=limit)
                assert ft.tokens(text, trust_case=trust_case, limit=limit) == expected, text


def test_article_vectors_are_each_article_vector():
    counts = [
        ft.article_counts("Quake hits Chile", "A magnitude 7.1 earthquake struck Chile."),
        ft.article_counts("Chile counts the damage", "The earthquake in Chile left 3 dead."),
        {},
    ]
    dfs = {"earthquake": 50, "chile": 3}
    batch = ft.article_vectors(counts, dfs, 100)
    assert batch == [ft.article_vector(c, dfs, 100) for c in counts]
    assert batch[0] and batch[2] == {}


async def test_a_batch_groups_the_same_whatever_the_order(db, backend, tmp_path):
    """Best-first grouping: a batch's stories do not depend on arrival order."""

    articles = [*QUAKE_CHILE, *QUAKE_JAPAN, *REHAB_A, *REHAB_B]

    async def partition(conn, order):
        items = []
        for article in order:
            items.append((await store(conn, article), article))
        await StoryClusterer().assign_batch(conn, items)
        rows = await conn.execute_fetchall("SELECT title, source, story_id FROM articles")
        groups: dict[int, set] = {}
        for title, source, story in rows:
            groups.setdefault(story, set()).add((title, source))
        return {frozenset(g) for g in groups.values()}

    forward = await partition(db, articles)
    async with another_store(backend, tmp_path) as other:
        backward = await partition(other, list(reversed(articles)))
    assert forward == backward
    assert len(forward) == 4  # two quakes and two rehab stories, none merged


def _load_eval():
    spec = importlib.util.spec_from_file_location(
        "cluster_eval", REPO / "bench" / "cluster_eval.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("cluster_eval", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return sys.modules["cluster_eval"]


@pytest.mark.parametrize("direct", [True, False])
async def test_cluster_eval_smoke(tmp_path, direct):
    rows = []
    for label, group in (("chile", QUAKE_CHILE), ("japan", QUAKE_JAPAN), ("rehab", REHAB_A)):
        for n, a in enumerate(group):
            rows.append(
                {
                    "label": label,
                    "title": a.title,
                    "text": a.body,
                    "url": f"https://{label}.example/{n}",
                    "source": a.source,
                    "published_at": a.published_at.isoformat(),
                }
            )
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    module = _load_eval()
    result = await module.evaluate(path, direct=direct)
    assert result.articles == 5 and result.labels == 3
    assert result.pairwise_precision == 1.0 and result.bcubed_f1 == 1.0
    assert result.stories == 3
    assert result.path == ("direct" if direct else "ingestor")


@pytest.mark.parametrize("window_chunk", [None, 2])
async def test_consolidate_undoes_arrival_order_and_keeps_ids_and_history(
    db, window_chunk, monkeypatch
):
    """One at a time, look-alikes arriving early merge; regrouping fixes it, ids kept.
    The same when the window's texts are read two articles at a time."""
    if window_chunk is not None:
        monkeypatch.setattr(clustering_module, "WINDOW_CHUNK", window_chunk)
    clusterer = StoryClusterer(threshold=0.05)  # permissive: one-by-one arrival over-merges
    order = [REHAB_A[0], REHAB_B[0], *REHAB_A[1:], *REHAB_B[1:]]
    ids = []
    for article in order:
        ids.extend(await ingest(db, clusterer, [article]))
    first_story = ids[0]
    await record_sent(db, 42, date(2026, 3, 2), {first_story: 1})
    strict = StoryClusterer()  # the normal threshold, as the bot runs it
    moved = await strict.consolidate(db, since=T0 - timedelta(days=1))
    rows = await db.execute_fetchall("SELECT title, story_id FROM articles")
    story_of = dict(rows)
    a_stories = {story_of[a.title] for a in REHAB_A}
    b_stories = {story_of[a.title] for a in REHAB_B}
    assert moved > 0
    assert len(a_stories) == 1 and len(b_stories) == 1 and a_stories != b_stories
    assert first_story in a_stories  # the first story's id lives on with its own event
    sent = await db.execute_fetchall("SELECT story_id FROM digest_items WHERE channel_id = 42")
    assert [r[0] for r in sent] == [first_story]
    counts = await db.execute_fetchall("SELECT id, article_count, source_count FROM stories")
    assert sum(r[1] for r in counts) == len(order)
    spans = await db.execute_fetchall(
        "SELECT s.first_published_at, s.last_published_at, MIN(a.published_at),"
        " MAX(a.published_at) FROM stories AS s JOIN articles AS a ON a.story_id = s.id"
        " GROUP BY s.id"
    )
    assert all((r[0], r[1]) == (r[2], r[3]) for r in spans)  # dates match the members
    assert await strict.consolidate(db, since=T0 - timedelta(days=1)) == 0  # stable


async def test_a_full_rebuild_killed_while_clearing_is_finished_by_the_next_one(db):
    """The old stories are cleared a short transaction at a time; a rebuild killed
    between two of them leaves the clearing marked, and the next call finishes it:
    every article in a story, no empty story left, the history kept."""
    from bot.store import clusters as cluster_store
    from bot.store import rebuilds

    clusterer = StoryClusterer()
    ids = await ingest(db, clusterer, [*QUAKE_CHILE, *REHAB_A])
    await record_sent(db, 42, date(2026, 3, 2), {ids[0]: 3})
    async with transaction(db):  # what rebuild() does first...
        await rebuilds.begin_rebuild(db, -(2**62), now=0, clearing=True)
    async with transaction(db):  # ...and one clearing step, then the process dies
        assert await cluster_store.clear_some(db, articles=2, stories=1) == 2
    pending = await rebuilds.pending_rebuild(db)
    assert pending is not None and pending.clearing

    await clusterer.rebuild(db)

    assert await rebuilds.pending_rebuild(db) is None
    loose = await db.execute_fetchall("SELECT COUNT(*) FROM articles WHERE story_id IS NULL")
    empty = await db.execute_fetchall(
        "SELECT COUNT(*) FROM stories AS s WHERE NOT EXISTS"
        " (SELECT 1 FROM articles AS a WHERE a.story_id = s.id)"
    )
    assert [tuple(r) for r in loose] == [(0,)] and [tuple(r) for r in empty] == [(0,)]
    rows = await db.execute_fetchall(
        "SELECT a.title FROM digest_items AS d JOIN articles AS a ON a.story_id = d.story_id"
        " WHERE d.channel_id = 42"
    )
    assert {a.title for a in QUAKE_CHILE} <= {r[0] for r in rows}  # still "sent"
    # The old frequencies were dropped with the old stories: each article counts once.
    documents = await db.execute_fetchall("SELECT df FROM term_df WHERE term = ''")
    assert [tuple(r) for r in documents] == [(len(QUAKE_CHILE) + len(REHAB_A),)]


def test_term_counts_kept_in_memory_are_the_counts(monkeypatch):
    """The planner keeps the term counts of the articles it counted last (an
    import's consolidation meets them again): what it gives back from memory,
    or after forgetting the oldest, is what counting gives."""
    import bot.stories.planner as planner_module
    from bot.stories.planner import StoryPlanner, as_member

    monkeypatch.setattr(planner_module, "COUNTS_KEPT", 3)
    items = [
        as_member(k, make(f"Storm {k} hits Calder", f"Rain and wind {k}. Roads close.", f"Out{k}"))
        for k in range(5)
    ]
    items.append(as_member(9, make("Storm 0 hits Calder", "Quake shakes Brill.", "Out0")))
    expected = [ft.article_counts(a.title, a.text, a.source) for a in items]
    planner = StoryPlanner()
    assert planner.counts(items) == expected
    assert planner.counts(items[3:]) == expected[3:]  # the three kept
    assert planner.counts(items) == expected  # the first three counted again
    assert expected[0] != expected[-1]  # same title and outlet, other text: other counts
    assert len(planner._counted) == 3
