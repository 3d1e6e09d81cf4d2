"""The story index: document frequencies, story summaries, postings; applying a plan.

Reads hand the clusterer (:mod:`bot.clustering`) what one step needs, a few
round trips whatever the store's size: frequencies of the batch's terms, the
``story_postings`` rows of those terms inside the time window (read through
the ``(term, at)`` index), the bounded summaries of the candidate stories.
:func:`apply_plan` writes a :class:`ClusterPlan` inside the caller's
transaction. The rebuild's bookkeeping lives in :mod:`bot.store.rebuilds`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence

import aiosqlite

from ..models import (
    CLUSTER_TEXT_CHARS,
    ClusterArticle,
    ClusterPlan,
    PlannedStory,
    Posting,
    StoryRemainder,
    StoryState,
    TermFrequencies,
)
from .dialect import in_values, insert_rows, is_postgres, values_param
from .rows import one_of

# The document count lives in term_df under this key (no real term is empty).
DOC_COUNT_KEY = ""


def dumps(vector: Mapping[str, float]) -> str:
    """Compact JSON for a term vector (weights rounded to 4 decimals)."""
    return json.dumps({t: round(w, 4) for t, w in vector.items()}, separators=(",", ":"))


# -- reads --------------------------------------------------------------------------


async def frequencies(db: aiosqlite.Connection, terms: Iterable[str]) -> TermFrequencies:
    """Document frequencies of many terms, and the document count."""
    dfs: dict[str, int] = {}
    n_docs = 0
    for where, params in one_of(db, "term", [DOC_COUNT_KEY, *terms], "TEXT"):
        sql = f"SELECT term, df FROM term_df WHERE {where}"  # noqa: S608
        for row in await db.execute_fetchall(sql, params):
            if row[0] == DOC_COUNT_KEY:
                n_docs = int(row[1])
            else:
                dfs[str(row[0])] = int(row[1])
    return TermFrequencies(dfs, n_docs)


Postings = dict[str, list[Posting]]  # by term


async def postings(db: aiosqlite.Connection, terms: Iterable[str], since: int) -> Postings:
    """The postings of ``terms`` at or after ``since`` (on SQLite one query per
    900 terms), each term's oldest first."""
    out: Postings = {}
    for where, params in one_of(db, "term", list(terms), "TEXT"):
        sql = (
            "SELECT term, story_id, weight, at FROM story_postings"  # noqa: S608
            f" WHERE {where} AND at >= ? ORDER BY term, at, story_id"
        )
        for row in await db.execute_fetchall(sql, [*params, since]):
            out.setdefault(row[0], []).append(Posting(int(row[1]), float(row[2]), int(row[3])))
    return out


async def newest_postings(
    db: aiosqlite.Connection, terms: Iterable[str], per_term: int
) -> Postings:
    """Each term's ``per_term`` newest postings, of any time (undated articles).

    Read newest first through the ``(term, at)`` index and cut, so a common
    term costs no more than a rare one. PostgreSQL reads every term in one
    statement (a lateral join: the same cut per term, one round trip).
    """
    out: Postings = {}
    if is_postgres(db):
        rows = await db.execute_fetchall(
            "SELECT t.term, p.story_id, p.weight, p.at FROM unnest(CAST(? AS TEXT[])) AS t (term)"
            " CROSS JOIN LATERAL (SELECT story_id, weight, at FROM story_postings"
            " WHERE term = t.term ORDER BY at DESC, story_id DESC LIMIT ?) AS p"
            " ORDER BY t.term, p.at DESC, p.story_id DESC",
            (list(dict.fromkeys(terms)), per_term),
        )
        for r in rows:
            out.setdefault(r[0], []).append(Posting(int(r[1]), float(r[2]), int(r[3])))
        return out
    for term in terms:
        rows = await db.execute_fetchall(
            "SELECT story_id, weight, at FROM story_postings WHERE term = ?"
            " ORDER BY at DESC, story_id DESC LIMIT ?",
            (term, per_term),
        )
        if rows:
            out[term] = [Posting(int(r[0]), float(r[1]), int(r[2])) for r in rows]
    return out


_STATE = (
    "SELECT s.id, s.first_published_at, s.last_published_at, s.article_count, s.headline,"
    " i.centroid, i.sources, i.members, s.dated, i.grams, i.short"
    " FROM stories AS s JOIN story_index AS i ON i.story_id = s.id"
)


def _state(r: aiosqlite.Row) -> StoryState:
    short = float(r[10])
    return StoryState(
        story_id=int(r[0]),
        first_published_at=int(r[1]),
        last_published_at=int(r[2]),
        article_count=int(r[3]),
        headline=r[4],
        centroid=json.loads(r[5]),
        sources=json.loads(r[6]),
        members=int(r[7]),
        dated=bool(r[8]),
        grams=json.loads(r[9]) if short > 0.0 else {},
        short=short,
    )


async def story_states(db: aiosqlite.Connection, story_ids: Iterable[int]) -> list[StoryState]:
    """The bounded summaries of ``story_ids`` (those that exist)."""
    found: list[StoryState] = []
    for where, params in one_of(db, "s.id", list(story_ids)):
        sql = f"{_STATE} WHERE {where} ORDER BY s.id"  # noqa: S608
        found.extend(_state(r) for r in await db.execute_fetchall(sql, params))
    return found


# What clustering reads of an article's text (models.CLUSTER_TEXT_CHARS, an int
# constant: nothing from outside reaches this SQL); only articles have these columns.
_TEXT = f"substr(COALESCE(NULLIF(body, ''), summary, ''), 1, {int(CLUSTER_TEXT_CHARS)})"
_MEMBER = (
    f"SELECT id, title, {_TEXT}, source, published_at,"  # noqa: S608
    " fetched_at, dated, story_id, category FROM articles"
)


def _member(r: aiosqlite.Row) -> ClusterArticle:
    return ClusterArticle(
        id=int(r[0]),
        title=r[1],
        text=r[2],
        source=r[3],
        published_at=int(r[4]),
        fetched_at=int(r[5]),
        dated=bool(r[6]),
        story_id=r[7],
        category=r[8],
    )


async def grouped_articles(
    db: aiosqlite.Connection, article_ids: Iterable[int]
) -> list[ClusterArticle]:
    """Those of ``article_ids`` that belong to a story, as clustering reads them."""
    found: list[ClusterArticle] = []
    for where, params in one_of(db, "id", list(article_ids)):
        sql = f"{_MEMBER} WHERE story_id IS NOT NULL AND {where} ORDER BY id"  # noqa: S608
        found.extend(_member(r) for r in await db.execute_fetchall(sql, params))
    return found


async def grouped_since(db: aiosqlite.Connection, start: int) -> list[int]:
    """Ids of the grouped articles published at or after ``start``, newest first."""
    rows = await db.execute_fetchall(
        "SELECT id FROM articles WHERE published_at >= ? AND story_id IS NOT NULL"
        " ORDER BY published_at DESC, id DESC",
        (start,),
    )
    return [int(r[0]) for r in rows]


async def running_articles(
    db: aiosqlite.Connection, since: int, until: int, *, text: bool = True
) -> list[ClusterArticle]:
    """The articles of every story running between ``since`` and ``until`` (its last
    article published at or after ``since``, its first not after ``until``), in
    published order; with ``text=False`` their text is left empty (read it a
    few at a time with :func:`cluster_texts`)."""
    rows = await db.execute_fetchall(
        f"SELECT a.id, a.title, {_TEXT if text else repr('')}, a.source,"  # noqa: S608
        " a.published_at, a.fetched_at, a.dated, a.story_id, a.category"
        " FROM articles AS a JOIN stories AS s ON s.id = a.story_id"
        " WHERE s.last_published_at >= ? AND s.first_published_at <= ?"
        " ORDER BY a.published_at, a.id",
        (since, until),
    )
    return [_member(r) for r in rows]


async def cluster_texts(db: aiosqlite.Connection, article_ids: Iterable[int]) -> dict[int, str]:
    """``article id -> text`` as clustering reads it (see ``ClusterArticle.text``)."""
    out: dict[int, str] = {}
    for where, params in one_of(db, "id", list(article_ids)):
        sql = f"SELECT id, {_TEXT} FROM articles WHERE {where}"  # noqa: S608
        out.update((int(r[0]), str(r[1])) for r in await db.execute_fetchall(sql, params))
    return out


async def articles_after(
    db: aiosqlite.Connection, cursor: tuple[int, int], size: int
) -> list[ClusterArticle]:
    """Up to ``size`` articles after ``(published_at, id)`` in published order."""
    rows = await db.execute_fetchall(
        f"{_MEMBER} WHERE (published_at, id) > (?, ?) ORDER BY published_at, id LIMIT ?",  # noqa: S608
        (*cursor, size),
    )
    return [_member(r) for r in rows]


async def remainders(
    db: aiosqlite.Connection, leaving: Mapping[int, Sequence[int]]
) -> dict[int, StoryRemainder]:
    """``story id -> what is left of it`` once the ``leaving`` article ids leave it."""
    out: dict[int, StoryRemainder] = {}
    for story_id, article_ids in leaving.items():
        gone = values_param(db, article_ids)
        rest = f"story_id = ? AND id NOT IN ({in_values(db)})"
        (row,) = await db.execute_fetchall(
            f"SELECT COUNT(*), MIN(published_at), MAX(published_at), MAX(dated) FROM articles"  # noqa: S608
            f" WHERE {rest}",
            (story_id, gone),
        )
        titles = list(
            await db.execute_fetchall(
                f"SELECT title FROM articles WHERE {rest} ORDER BY published_at, id LIMIT 1",  # noqa: S608
                (story_id, gone),
            )
        )
        seen = await db.execute_fetchall(
            f"SELECT fetched_at FROM articles WHERE {rest} AND dated = 0",  # noqa: S608
            (story_id, gone),
        )
        out[story_id] = StoryRemainder(
            story_id=story_id,
            count=int(row[0]),
            first_published_at=row[1],
            last_published_at=row[2],
            dated=bool(row[3]),
            first_title=titles[0][0] if titles else None,
            undated_seen=[int(r[0]) for r in seen],
        )
    return out


async def story_count(db: aiosqlite.Connection) -> int:
    (row,) = await db.execute_fetchall("SELECT COUNT(*) FROM stories")
    return int(row[0])


# -- writes (inside the caller's transaction) ----------------------------------------

_STORIES = (
    "stories (first_published_at, last_published_at, article_count,"
    " source_count, headline, category, dated)"
)
_UPDATE_STORY = (
    "UPDATE stories SET first_published_at = ?, last_published_at = ?, article_count = ?,"
    " source_count = ?, headline = ?, category = COALESCE(category, ?), dated = ? WHERE id = ?"
)
_INDEX = "story_index (story_id, centroid, sources, members, grams, short)"
_INDEX_CONFLICT = (
    "ON CONFLICT (story_id) DO UPDATE SET centroid = excluded.centroid,"
    " sources = excluded.sources, members = excluded.members, grams = excluded.grams,"
    " short = excluded.short"
)
_POSTINGS = "story_postings (term, story_id, at, weight)"
_POSTINGS_CONFLICT = (
    "ON CONFLICT (story_id, term) DO UPDATE SET at = excluded.at, weight = excluded.weight"
)
_INHERIT = (
    "INSERT INTO digest_items (channel_id, story_id, digest_date, source_count)"
    " SELECT channel_id, CAST(? AS BIGINT), digest_date, source_count FROM digest_items"
    " WHERE story_id = ? ON CONFLICT DO NOTHING"
)


def _fields(story: PlannedStory) -> tuple[object, ...]:
    f = story.fields
    return (
        f.first_published_at,
        f.last_published_at,
        f.article_count,
        f.source_count,
        f.headline,
        f.category,
        int(f.dated),
    )


async def _insert_stories(db: aiosqlite.Connection, stories: list[PlannedStory]) -> list[int]:
    """Insert stories in one statement; their ids, in order.

    Inside the write transaction nobody else inserts, and each new row takes
    an id above every stored one, in order (as :func:`insert_articles`).
    """
    if not stories:
        return []
    ((before,),) = await db.execute_fetchall("SELECT COALESCE(MAX(id), 0) FROM stories")
    await insert_rows(db, _STORIES, [_fields(s) for s in stories])
    rows = await db.execute_fetchall("SELECT id FROM stories WHERE id > ? ORDER BY id", (before,))
    ids = [int(r[0]) for r in rows]
    if len(ids) != len(stories):
        raise RuntimeError("story ids did not come out in order; batch rolled back")
    return ids


async def _add_documents(db: aiosqlite.Connection, delta: Mapping[str, int]) -> None:
    up = [(t, n) for t, n in delta.items() if n > 0]
    down = [(t, n) for t, n in delta.items() if n < 0]
    await insert_rows(
        db,
        "term_df (term, df)",
        up,
        conflict="ON CONFLICT (term) DO UPDATE SET df = term_df.df + excluded.df",
    )
    await db.executemany(
        "UPDATE term_df SET df = CASE WHEN df + ?2 > 0 THEN df + ?2 ELSE 0 END WHERE term = ?1",
        down,
    )


async def apply_plan(
    db: aiosqlite.Connection, plan: ClusterPlan, article_ids: Mapping[int, int] | None = None
) -> dict[int, int]:
    """Write ``plan``; ``article_ids`` resolves the placeholder article refs of
    rows inserted by the same transaction. Returns ``{article id: story id}``
    for the articles it put into a story."""
    ids = dict(article_ids or {})

    def article(ref: int) -> int:
        return ids[ref] if ref < 0 else ref

    await _add_documents(db, plan.df_delta)
    new = [s for s in plan.stories if s.ref < 0]
    story_ids = dict(zip((s.ref for s in new), await _insert_stories(db, new), strict=True))

    def story(ref: int) -> int:
        return story_ids[ref] if ref < 0 else ref

    await db.executemany(_INHERIT, [(story(to), gone) for gone, to in plan.heirs.items()])
    await db.executemany(
        "UPDATE articles SET story_id = NULL WHERE id = ?", [(article(a),) for a in plan.detach]
    )
    await db.executemany(
        "UPDATE articles SET published_at = fetched_at WHERE story_id = ? AND dated = 0",
        [(s,) for s in plan.restore_seen],
    )
    assigned = {article(a): story(s) for a, s in plan.assign.items()}
    await db.executemany(
        "UPDATE articles SET story_id = ? WHERE id = ?", [(s, a) for a, s in assigned.items()]
    )
    await db.executemany(
        "UPDATE articles SET published_at = ? WHERE id = ?",
        [(at, article(a)) for a, at in plan.placed.items()],
    )
    await db.executemany(
        "UPDATE articles SET published_at = ? WHERE story_id = ? AND dated = 0",
        [(at, s) for s, at in plan.date_undated.items()],
    )
    await db.executemany("DELETE FROM stories WHERE id = ?", [(s,) for s in plan.deleted])
    for batch in _rounds(plan.stories):  # a story may be rewritten twice: in plan order
        await _save(db, [(story(s.ref), s) for s in batch])
    return assigned


def _rounds(stories: list[PlannedStory]) -> list[list[PlannedStory]]:
    """``stories`` cut into runs in which no story appears twice."""
    rounds: list[list[PlannedStory]] = [[]]
    seen: set[int] = set()
    for planned in stories:
        if planned.ref in seen:
            rounds.append([])
            seen = set()
        rounds[-1].append(planned)
        seen.add(planned.ref)
    return rounds


async def _save(db: aiosqlite.Connection, stories: list[tuple[int, PlannedStory]]) -> None:
    """Story rows (existing ones), summaries and postings of distinct stories."""
    await db.executemany(
        _UPDATE_STORY, [(*_fields(p), story_id) for story_id, p in stories if p.ref > 0]
    )
    await db.executemany(
        "DELETE FROM story_postings WHERE story_id = ?",
        [(story_id,) for story_id, p in stories if p.replace_postings],
    )
    await insert_rows(
        db,
        _INDEX,
        [
            (
                story_id,
                dumps(p.centroid),
                json.dumps(p.sources, separators=(",", ":")),
                p.members,
                dumps(p.grams) if p.grams and p.short > 0.0 else "{}",
                round(max(p.short, 0.0), 4),
            )
            for story_id, p in stories
        ],
        conflict=_INDEX_CONFLICT,
    )
    await insert_rows(
        db,
        _POSTINGS,
        [
            (term, story_id, p.posted_at, round(weight, 4))
            for story_id, p in stories
            for term, weight in p.postings.items()
        ],
        conflict=_POSTINGS_CONFLICT,
    )


async def clear_some(db: aiosqlite.Connection, *, articles: int, stories: int) -> int:
    """One step of clearing every story (a full rebuild): take up to ``articles``
    articles out of their stories, or, once none is left in one, delete up to
    ``stories`` stories (their summaries and postings go with them). Returns the
    rows changed; 0 when nothing is left, and then the document frequencies are
    dropped too. Inside the caller's transaction: each step is a short one."""
    cursor = await db.execute(
        "UPDATE articles SET story_id = NULL WHERE id IN"
        " (SELECT id FROM articles WHERE story_id IS NOT NULL LIMIT ?)",
        (articles,),
    )
    if cursor.rowcount:
        return int(cursor.rowcount)
    cursor = await db.execute(
        "DELETE FROM stories WHERE id IN (SELECT id FROM stories LIMIT ?)", (stories,)
    )
    if cursor.rowcount:
        return int(cursor.rowcount)
    await db.execute("DELETE FROM story_postings")
    await db.execute("DELETE FROM story_index")
    await db.execute("DELETE FROM term_df")
    return 0
