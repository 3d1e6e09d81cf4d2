"""tests/seed.py writes a story as the clusterer would write the same grouping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clustering import StoryClusterer
from bot.store import clusters as cluster_store
from bot.store import transaction
from bot.store.articles import insert_articles
from tests.seed import another_store, make_article, seed_story

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

T0 = datetime(2024, 6, 3, 6, 0, tzinfo=UTC)
BODY = "The harbour bridge reopened on Monday after six weeks of repairs to its deck."
ARTICLES = [
    make_article("Harbour bridge reopens after repairs", "Ledger", T0, body=BODY),
    make_article(
        "Harbour bridge reopens after six weeks of repairs",
        "Courier",
        T0 + timedelta(hours=1),
        body=BODY + " Traffic returned to normal.",
        category="Local",
    ),
    make_article("Harbour bridge reopens", "Ledger", T0, body=BODY + " Cyclists too.", dated=False),
]


async def _written(db, story_id: int, terms: set[str]):
    """The story's row and summary, its members' times, postings and frequencies."""
    [state] = await cluster_store.story_states(db, [story_id])
    state.story_id = 0
    members = await cluster_store.running_articles(db, 0, 2**40)
    times = [(m.title, m.published_at, m.dated, m.story_id == story_id) for m in members]
    postings = await cluster_store.newest_postings(db, terms, 10)
    postings = {t: [(x.weight, x.at) for x in p] for t, p in postings.items()}
    return state, times, postings, await cluster_store.frequencies(db, terms)


async def test_seeded_story_is_the_one_the_clusterer_writes(db, backend, tmp_path):
    seeded = await seed_story(db, ARTICLES)
    async with another_store(backend, tmp_path) as other:
        async with transaction(other):
            ids = await insert_articles(other, ARTICLES, fetched_at=T0, guild_id=0)
            assigned = await StoryClusterer().assign_batch(
                other, list(zip(ids, ARTICLES, strict=True))
            )
        assert len(set(assigned.values())) == 1  # the clusterer grouped them as one story
        (clustered,) = set(assigned.values())
        terms = {"harbour", "bridge", "reopen", "repair", "cyclist", "traffic"}
        written = await _written(db, seeded, terms)
        assert written[2]  # postings were written (and compared)
        assert written == await _written(other, clustered, terms)
