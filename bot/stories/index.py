"""SQL side of story clustering: document frequencies, centroids, postings.

Each function is one round trip to SQLite (one aiosqlite thread hop), so the
clusterer's cost per article stays a handful of hops whatever the store's
size. Candidate lookup reads the ``story_postings`` index by ``(term, at)``:
only postings of stories active inside the time window are touched.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

# The document count lives in term_df under this key (no real term is empty).
DOC_COUNT_KEY = ""


@dataclass(slots=True)
class Candidate:
    """A story close enough in time and terms to be scored.

    Only the centroid is decoded up front; the rest of the JSON is decoded
    when the story is actually joined.
    """

    story_id: int
    first_published_at: int
    last_published_at: int
    article_count: int
    headline: str | None
    centroid: dict[str, float]
    raw_sources: str
    shared_weight: float
    members: int = 1
    dated: bool = True  # False: no member has a date; the times are when first seen
    raw_grams: str = "{}"  # JSON sum of the short members' 4-gram vectors
    short: float = 0.0  # sum of the members' shortness

    @property
    def grams(self) -> dict[str, float]:
        return json.loads(self.raw_grams) if self.short > 0.0 else {}

    @property
    def sources(self) -> dict[str, int]:
        return json.loads(self.raw_sources)


def _candidate(r: aiosqlite.Row) -> Candidate:
    return Candidate(
        story_id=r[0],
        first_published_at=r[1],
        last_published_at=r[2],
        article_count=r[3],
        headline=r[4],
        centroid=json.loads(r[5]),
        raw_sources=r[6],
        shared_weight=r[7],
        members=r[8],
        dated=bool(r[9]),
        raw_grams=r[10],
        short=r[11],
    )


def dumps(vector: dict[str, float]) -> str:
    """Compact JSON for a term vector (weights rounded to 4 decimals)."""
    return json.dumps({t: round(w, 4) for t, w in vector.items()}, separators=(",", ":"))


def _marks(count: int) -> str:
    return ",".join("?" * count)


async def frequencies(db: aiosqlite.Connection, terms: Iterable[str]) -> tuple[dict[str, int], int]:
    """``(df per term, document count)`` for many terms (a few round trips)."""
    terms = list(terms)
    dfs: dict[str, int] = {}
    n_docs = 0
    for start in range(0, len(terms) + 1, 900):
        chunk = [DOC_COUNT_KEY, *terms[start : start + 900]]
        sql = f"SELECT term, df FROM term_df WHERE term IN ({_marks(len(chunk))})"  # noqa: S608
        for term, value in await db.execute_fetchall(sql, chunk):
            if term == DOC_COUNT_KEY:
                n_docs = int(value)
            else:
                dfs[term] = int(value)
    return dfs, n_docs


async def add_documents(db: aiosqlite.Connection, docs: list[Iterable[str]], delta: int) -> None:
    """Count (``delta=1``) or uncount (``-1``) several documents' terms at once."""
    totals: dict[str, int] = {DOC_COUNT_KEY: len(docs)}
    for terms in docs:
        for term in set(terms):
            totals[term] = totals.get(term, 0) + 1
    rows = [(t, delta * n) for t, n in totals.items()]
    if delta >= 0:
        sql = (
            "INSERT INTO term_df (term, df) VALUES (?, ?) "
            "ON CONFLICT (term) DO UPDATE SET df = df + excluded.df"
        )
    else:
        sql = "UPDATE term_df SET df = max(df + ?2, 0) WHERE term = ?1"
    await db.executemany(sql, rows)


async def candidates(
    db: aiosqlite.Connection, query: dict[str, float], since: int, limit: int
) -> list[Candidate]:
    """Stories posted under ``query``'s terms at or after ``since``, best overlap first.

    Overlap is the sum over shared terms of query weight times posting
    weight; only the ``limit`` best are returned, with their centroids.
    """
    if not query:
        return []
    values = ",".join("(?, ?)" for _ in query)
    params: list[object] = []
    for term, weight in query.items():
        params.extend((term, weight))
    params.extend((since, limit))
    sql = (
        f"WITH q (term, w) AS (VALUES {values}), "  # noqa: S608
        "hits AS (SELECT p.story_id AS story_id, SUM(p.weight * q.w) AS shared "
        "FROM q JOIN story_postings AS p ON p.term = q.term AND p.at >= ? "
        "GROUP BY p.story_id ORDER BY shared DESC LIMIT ?) "
        "SELECT s.id, s.first_published_at, s.last_published_at, s.article_count, s.headline, "
        "i.centroid, i.sources, hits.shared, "
        "i.members, s.dated, i.grams, i.short "
        "FROM hits JOIN stories AS s ON s.id = hits.story_id "
        "JOIN story_index AS i ON i.story_id = hits.story_id "
        "ORDER BY hits.shared DESC"
    )
    return [_candidate(r) for r in await db.execute_fetchall(sql, params)]


async def postings(
    db: aiosqlite.Connection, terms: Iterable[str], since: int
) -> dict[str, list[tuple[int, float, int]]]:
    """``term -> [(story id, weight, at)]`` for postings at or after ``since``.

    One query per 900 terms: a whole batch's candidate lookup costs a few
    round trips, not one per article.
    """
    terms = list(terms)
    out: dict[str, list[tuple[int, float, int]]] = {}
    for start in range(0, len(terms), 900):
        chunk = terms[start : start + 900]
        sql = (
            "SELECT term, story_id, weight, at FROM story_postings"  # noqa: S608
            f" WHERE term IN ({_marks(len(chunk))}) AND at >= ?"
        )
        for term, story_id, weight, at in await db.execute_fetchall(sql, [*chunk, since]):
            out.setdefault(term, []).append((story_id, weight, at))
    return out


async def postings_any_time(
    db: aiosqlite.Connection, terms: Iterable[str], per_term: int
) -> dict[str, list[tuple[int, float, int]]]:
    """``term -> [(story id, weight, at)]``, the ``per_term`` latest postings of each term.

    For undated articles, which are compared with stories of any time: each
    term's list is read newest first through the ``(term, at)`` index and cut
    at ``per_term``, so a common term costs no more than a rare one.
    """
    out: dict[str, list[tuple[int, float, int]]] = {}
    for term in terms:
        rows = await db.execute_fetchall(
            "SELECT story_id, weight, at FROM story_postings WHERE term = ?"
            " ORDER BY at DESC LIMIT ?",
            (term, per_term),
        )
        if rows:
            out[term] = [(r[0], r[1], r[2]) for r in rows]
    return out


async def undated_members(
    db: aiosqlite.Connection, story_ids: Iterable[int]
) -> list[tuple[int, int]]:
    """``(article id, first seen)`` of the undated articles of ``story_ids``."""
    ids = list(story_ids)
    found: list[tuple[int, int]] = []
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        sql = (
            "SELECT id, fetched_at FROM articles WHERE dated = 0"  # noqa: S608
            f" AND story_id IN ({_marks(len(chunk))})"
        )
        found.extend((int(r[0]), int(r[1])) for r in await db.execute_fetchall(sql, chunk))
    return found


async def set_published(db: aiosqlite.Connection, rows: Iterable[tuple[int, int]]) -> None:
    """``(article id, unix time)``: place undated articles at their story's time."""
    await db.executemany("UPDATE articles SET published_at = ?2 WHERE id = ?1", list(rows))


async def load_candidates(db: aiosqlite.Connection, story_ids: Iterable[int]) -> list[Candidate]:
    """Story rows and centroids for ``story_ids`` (a few round trips)."""
    ids = list(story_ids)
    found: list[Candidate] = []
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        sql = (
            "SELECT s.id, s.first_published_at, s.last_published_at, s.article_count,"  # noqa: S608
            " s.headline, i.centroid, i.sources, 0.0, i.members, s.dated, i.grams, i.short"
            " FROM stories AS s"
            f" JOIN story_index AS i ON i.story_id = s.id WHERE s.id IN ({_marks(len(chunk))})"
        )
        found.extend(_candidate(r) for r in await db.execute_fetchall(sql, chunk))
    return found


# (first, last, article_count, source_count, headline, category, dated) of one story
StoryValues = tuple[int, int, int, int, str | None, str | None, bool]

_UPDATE_STORY = (
    "UPDATE stories SET first_published_at = ?, last_published_at = ?, article_count = ?,"
    " source_count = ?, headline = ?, category = COALESCE(category, ?), dated = ? WHERE id = ?"
)
_SAVE_INDEX = (
    "INSERT INTO story_index (story_id, centroid, sources, members, grams, short)"
    " VALUES (?, ?, ?, ?, ?, ?)"
    " ON CONFLICT (story_id) DO UPDATE SET centroid = excluded.centroid,"
    " sources = excluded.sources, members = excluded.members, grams = excluded.grams,"
    " short = excluded.short"
)
_POST = (
    "INSERT INTO story_postings (term, story_id, at, weight) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (story_id, term) DO UPDATE SET at = excluded.at, weight = excluded.weight"
)


async def insert_stories(db: aiosqlite.Connection, rows: list[StoryValues]) -> list[int]:
    """Insert stories in one statement; their ids, in order.

    Called inside the write transaction, where nobody else inserts: SQLite
    gives each new row the largest id plus one.
    """
    if not rows:
        return []
    (before,) = next(iter(await db.execute_fetchall("SELECT COALESCE(MAX(id), 0) FROM stories")))
    await db.executemany(
        "INSERT INTO stories (first_published_at, last_published_at, article_count,"
        " source_count, headline, category, dated) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    ids = [
        int(r[0])
        for r in await db.execute_fetchall(
            "SELECT id FROM stories WHERE id > ? ORDER BY id", (before,)
        )
    ]
    if len(ids) != len(rows):
        raise RuntimeError("story ids did not come out in order; batch rolled back")
    return ids


async def update_stories(db: aiosqlite.Connection, rows: list[tuple[int, StoryValues]]) -> None:
    """``(story id, values)`` for each story to update."""
    await db.executemany(_UPDATE_STORY, [(*values, story_id) for story_id, values in rows])


def index_row(
    story_id: int,
    centroid: dict[str, float],
    sources: dict[str, int],
    members: int,
    grams: dict[str, float] | None = None,
    short: float = 0.0,
) -> tuple[object, ...]:
    return (
        story_id,
        dumps(centroid),
        json.dumps(sources, separators=(",", ":")),
        members,
        dumps(grams) if grams and short > 0.0 else "{}",
        round(max(short, 0.0), 4),
    )


def posting_rows(
    story_id: int, terms: dict[str, float], at: int
) -> list[tuple[str, int, int, float]]:
    """Rows posting the story's salient terms with time ``at``.

    Terms that fall out of a story's top list keep their older time and age
    out of the window by themselves.
    """
    return [(t, story_id, at, round(w, 4)) for t, w in terms.items()]


async def save_indexes(
    db: aiosqlite.Connection,
    indexes: list[tuple[object, ...]],
    postings: list[tuple[str, int, int, float]],
) -> None:
    """Upsert centroids (:func:`index_row`) and postings (:func:`posting_rows`)."""
    await db.executemany(_SAVE_INDEX, indexes)
    await db.executemany(_POST, postings)


async def clear_postings(db: aiosqlite.Connection, story_id: int) -> None:
    await db.execute("DELETE FROM story_postings WHERE story_id = ?", (story_id,))


async def set_article_story(
    db: aiosqlite.Connection, article_id: int, story_id: int | None
) -> None:
    await db.execute("UPDATE articles SET story_id = ? WHERE id = ?", (story_id, article_id))


async def load_index(db: aiosqlite.Connection, story_id: int) -> Candidate | None:
    """One story's row and centroid (for :meth:`StoryClusterer.forget`)."""
    rows = await db.execute_fetchall(
        "SELECT s.id, s.first_published_at, s.last_published_at, s.article_count, s.headline,"
        " i.centroid, i.sources, 0.0, i.members, s.dated, i.grams, i.short"
        " FROM stories AS s JOIN story_index AS i ON i.story_id = s.id WHERE s.id = ?",
        (story_id,),
    )
    return next((_candidate(r) for r in rows), None)


async def clear_all(db: aiosqlite.Connection) -> None:
    """Forget every story and the whole index (for a full rebuild)."""
    await db.execute("UPDATE articles SET story_id = NULL WHERE story_id IS NOT NULL")
    await db.execute("DELETE FROM story_postings")
    await db.execute("DELETE FROM story_index")
    await db.execute("DELETE FROM stories")
    await db.execute("DELETE FROM term_df")
