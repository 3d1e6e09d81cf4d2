"""Story clustering against the store: read, plan (bot.stories), write (bot.store).

Each step reads what it needs with no transaction open (document
frequencies, the postings of the batch's terms inside the time window, the
bounded summaries of the candidate stories), asks :mod:`bot.stories.planner`
for a :class:`~bot.models.ClusterPlan`, and has the store apply it. Steps that
own their transactions (:meth:`StoryClusterer.consolidate`,
:meth:`StoryClusterer.rebuild`) write through
:func:`bot.store.generation.write_planned`, so the write lock is held for the
writes alone, never for the grouping.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from .models import Article, ClusterArticle, ClusterPlan, RebuildCursor, StoryState
from .store import clusters as cluster_store
from .store import rebuilds, transaction
from .store.generation import advance, write_planned
from .stories import features as ft
from .stories.agglomerate import Node
from .stories.planner import (
    ANYTIME_POSTINGS,
    DEFAULT_THRESHOLD,
    MAX_CANDIDATES,
    StoryPlanner,
    as_member,
    document_delta,
    merge_delta,
    with_delta,
)

if TYPE_CHECKING:
    from .store import Connection

log = logging.getLogger(__name__)

REBUILD_BATCH = 200  # articles per rebuild transaction (short: other writers wait for it)
CLEAR_ARTICLES = 20_000  # articles taken out of their stories per clearing transaction
CLEAR_STORIES = 2_000  # stories (with their postings) deleted per clearing transaction
CONSOLIDATE_MAX = 20_000  # articles of unsettled stories regrouped at most in one pass
# A story this big is settled: consolidation compares it as one node (its
# bounded summary) instead of regrouping its articles, so regrouping a
# window costs the same whether its news is one event of 5,000 articles or
# many small ones. Arrival-order mistakes are made while a story is young
# and small; small stories still regroup freely, and may join a settled one.
SETTLED_SIZE = 32
WINDOW_CHUNK = 1_000  # articles of a consolidation window whose texts are read at once
THREAD_NODES = 64  # clustering work on more nodes or articles than this runs in a worker thread
_T = TypeVar("_T")
_P = ParamSpec("_P")


@dataclass(slots=True)
class RebuildReport:
    """What :meth:`StoryClusterer.rebuild` did."""

    articles: int
    stories_before: int
    stories_after: int

    def __str__(self) -> str:
        return (
            f"{self.articles} article(s) regrouped: {self.stories_before} stories before, "
            f"{self.stories_after} after"
        )


@dataclass(slots=True)
class _RebuildBatch:
    cursor: RebuildCursor  # after this batch
    article_ids: list[int]
    plan: ClusterPlan


def _ts(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("datetimes passed to the clusterer must be timezone-aware")
    return int(value.timestamp())


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def _off_loop(size: int, work: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``work(...)``, in a worker thread when it is CPU work on more than
    THREAD_NODES items: the event loop (and Discord) stays responsive."""
    if size > THREAD_NODES:
        return await asyncio.to_thread(work, *args, **kwargs)
    return work(*args, **kwargs)


class StoryClusterer:
    """Groups articles about the same event into stories (see module doc)."""

    def __init__(
        self,
        *,
        window_hours: float = 72.0,
        threshold: float = DEFAULT_THRESHOLD,
        max_candidates: int = MAX_CANDIDATES,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.planner = StoryPlanner(
            window_hours=window_hours, threshold=threshold, max_candidates=max_candidates
        )
        self.clock = clock

    @property
    def threshold(self) -> float:
        return self.planner.threshold

    # -- planning (reads only) ------------------------------------------------

    def count_terms(self, articles: Sequence[Article]) -> None:
        """Count the terms of articles about to be planned (CPU work a worker
        thread can do ahead): :meth:`plan` then finds their counts made."""
        self.planner.packed([as_member(0, article) for article in articles])

    async def plan(self, db: Connection, items: Sequence[ClusterArticle]) -> ClusterPlan:
        """The plan that puts ``items`` into stories.

        ``items`` with a stored id that already belong to a story (their text
        changed) are taken out of it first, with the text stored now: plan
        before the new text is written. Negative ids are placeholders for
        articles the same write inserts.
        """
        plan = ClusterPlan()
        if not items:
            return plan
        replaced: dict[int, StoryState | None] = {}
        grouped = await cluster_store.grouped_articles(db, [a.id for a in items if a.id > 0])
        if grouped:
            await self._forget_into(db, grouped, plan, replaced)
        counts = self.planner.packed(items)
        added = document_delta((c.terms for c in counts), 1)
        stored = await cluster_store.frequencies(db, {t for c in counts for t in c.terms})
        merge_delta(plan.df_delta, added)
        dfs, n_docs = with_delta(stored.dfs, stored.documents, plan.df_delta)
        vectors = ft.article_vectors(counts, dfs, n_docs)

        lookup = self.planner.lookup(vectors, items)
        postings = (
            await cluster_store.postings(db, lookup.dated_terms, lookup.since)
            if lookup.dated_terms
            else {}
        )
        anytime = (
            await cluster_store.newest_postings(db, lookup.anytime_terms, ANYTIME_POSTINGS)
            if lookup.anytime_terms
            else {}
        )
        wanted, timeless = self.planner.candidate_ids(lookup, items, postings, anytime)
        states = await cluster_store.story_states(db, wanted | timeless)
        now_states = [replaced.get(s.story_id, s) for s in states]  # as after forgetting
        stories = self.planner.keep_candidates(
            (s for s in now_states if s is not None), items, timeless
        )
        clusters = await self._group(self.planner.nodes(items, vectors, stories))
        self.planner.join(items, clusters, {s.story_id: s for s in stories}, plan)
        return plan

    async def _forget_into(
        self,
        db: Connection,
        leaving: list[ClusterArticle],
        plan: ClusterPlan,
        replaced: dict[int, StoryState | None],
    ) -> None:
        """Plan ``leaving`` out of their stories; ``replaced`` gets each story after."""
        by_story: dict[int, list[ClusterArticle]] = {}
        for article in leaving:
            assert article.story_id is not None
            by_story.setdefault(article.story_id, []).append(article)
        states = {s.story_id: s for s in await cluster_store.story_states(db, by_story)}
        rests = await cluster_store.remainders(
            db, {sid: [a.id for a in group] for sid, group in by_story.items()}
        )
        terms = {t for counts in self.planner.counts(leaving) for t in counts}
        stored = await cluster_store.frequencies(db, terms)
        for story_id, group in by_story.items():
            story = states.get(story_id)
            if story is None:  # no summary (never indexed): nothing to subtract from
                plan.detach.extend(a.id for a in group)
                docs = (counts.keys() for counts in self.planner.counts(group))
                merge_delta(plan.df_delta, document_delta(docs, -1))
                plan.deleted.append(story_id)
                replaced[story_id] = None
                continue
            replaced[story_id] = self.planner.forget(
                story, group, rests[story_id], stored.dfs, stored.documents, plan
            )

    async def _group(self, nodes: list[Node]) -> list[Node]:
        return await _off_loop(len(nodes), self.planner.group, nodes)

    # -- steps inside the caller's transaction -----------------------------------

    async def assign_batch(
        self, db: Connection, items: Sequence[tuple[int, Article]]
    ) -> dict[int, int]:
        """Put stored articles into stories, inside the caller's transaction.

        Returns ``{article id: story id}``. Articles that already belong to a
        story (their text was updated) are taken out of it first.
        """
        plan = await self.plan(db, [as_member(article_id, a) for article_id, a in items])
        await advance(db)
        return await cluster_store.apply_plan(db, plan)

    async def assign(self, db: Connection, article_id: int, article: Article) -> int:
        """Put one stored article into a story; returns the story id."""
        return (await self.assign_batch(db, [(article_id, article)]))[article_id]

    async def forget(self, db: Connection, article_id: int) -> None:
        """Take an article out of its story, inside the caller's transaction (before
        it is deleted or its text changes). A story left empty is deleted."""
        leaving = await cluster_store.grouped_articles(db, [article_id])
        if leaving:
            plan = ClusterPlan()
            await self._forget_into(db, leaving, plan, {})
            await advance(db)
            await cluster_store.apply_plan(db, plan)

    # -- steps with their own transactions ---------------------------------------

    async def consolidate(
        self, db: Connection, *, since: datetime, until: datetime | None = None
    ) -> int:
        """Regroup the young stories best-first, keeping their ids; returns articles moved.

        Articles arriving one at a time (a poll brings each outlet separately)
        are grouped in arrival order, and an early wrong merge cannot be undone
        by later arrivals. This pass takes every story running between ``since``
        and ``until`` and regroups their articles together, as a batch import
        would (see :meth:`StoryPlanner.regroup`).
        """

        async def plan() -> ClusterPlan | None:
            rows = await cluster_store.running_articles(
                db, _ts(since), 2**62 if until is None else _ts(until), text=False
            )
            sizes = Counter(r.story_id for r in rows)
            fixed = {
                s.story_id: s
                for s in await cluster_store.story_states(
                    db, [sid for sid, n in sizes.items() if sid is not None and n >= SETTLED_SIZE]
                )
            }
            rows = [r for r in rows if r.story_id not in fixed]
            if len(rows) > CONSOLIDATE_MAX:
                log.warning(
                    "stories not consolidated: %d young articles in unsettled stories,"
                    " more than %d",
                    len(rows),
                    CONSOLIDATE_MAX,
                )
                return None
            if len(rows) < 2 and not (rows and fixed):
                return None
            nodes = await self._window_nodes(db, rows)
            nodes += self.planner.nodes([], [], fixed.values())
            return self.planner.regroup(rows, await self._group(nodes), fixed)

        async def write(plan: ClusterPlan) -> int:
            await cluster_store.apply_plan(db, plan)
            log.info(
                "stories consolidated: %d article(s) moved, %d stories changed, %d new,"
                " %d merged away",
                len(plan.assign),
                len(plan.stories),
                sum(1 for s in plan.stories if s.ref < 0),
                len(plan.deleted),
            )
            return len(plan.assign)

        return await write_planned(db, plan, write) or 0

    async def _window_nodes(self, db: Connection, rows: list[ClusterArticle]) -> list[Node]:
        """The regrouping nodes of a window's ``rows`` (read without their text).

        Texts are read, counted and let go WINDOW_CHUNK rows at a time: a window
        of 20,000 articles never holds them all (60 MB) at once.
        """
        nodes: list[Node] = []
        dfs: dict[str, int] = {}
        asked: set[str] = set()
        n_docs = 0
        for start in range(0, len(rows), WINDOW_CHUNK):
            chunk = rows[start : start + WINDOW_CHUNK]
            texts = await cluster_store.cluster_texts(db, [r.id for r in chunk])
            for row in chunk:
                row.text = texts.get(row.id, "")
            del texts
            counts = await _off_loop(len(chunk), self.planner.packed, chunk)
            terms = {t for c in counts for t in c.terms} - asked
            stored = await cluster_store.frequencies(db, terms)
            asked |= terms
            dfs.update(stored.dfs)
            n_docs = stored.documents
            nodes += await _off_loop(
                len(chunk), self.planner.regroup_nodes, chunk, counts, dfs, n_docs, first=start
            )
            for row in chunk:
                row.text = ""  # counted: only the rest is planned with
        return nodes

    async def rebuild(
        self,
        db: Connection,
        *,
        since: datetime | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> RebuildReport:
        """Recompute stories for articles published since ``since`` (all when None).

        Runs in its own short transactions: one records the rebuild, then the
        old stories are cleared a few thousand rows at a time (all of them, or
        the articles since ``since`` leave their stories a few at a time), then batches
        of ``REBUILD_BATCH`` articles are regrouped in published order. Must not
        be called inside an open transaction.

        Resumable (see :mod:`bot.store.rebuilds`): the first transaction
        records the rebuild and which articles each channel was already sent;
        clearing is marked until it is done; each batch commits with its cursor
        and the history of its articles' new stories. A rebuild killed at any
        point is finished by the next call before it does what it was asked.
        """
        stories_before = await cluster_store.story_count(db)
        start = -(2**62) if since is None else _ts(since)
        done = 0
        pending = await rebuilds.pending_rebuild(db)
        if pending is not None:
            log.warning("finishing a story rebuild that was interrupted")
            if pending.clearing:
                await self._clear(db)
            done += await self._regroup_from(db, pending, progress)
            if pending.start <= start:  # it covered what is asked now
                return RebuildReport(done, stories_before, await cluster_store.story_count(db))
        async with transaction(db):
            await advance(db)
            await rebuilds.begin_rebuild(db, start, now=_ts(self.clock()), clearing=since is None)
        if since is None:
            await self._clear(db)
        else:
            await self._take_out_since(db, start)
        cursor = RebuildCursor(start=start, after_published=start, after_id=-1)
        done += await self._regroup_from(db, cursor, progress)
        return RebuildReport(done, stories_before, await cluster_store.story_count(db))

    async def _clear(self, db: Connection) -> None:
        """Clear every story, a short transaction at a time, then mark it done."""
        while True:
            async with transaction(db):
                await advance(db)
                changed = await cluster_store.clear_some(
                    db, articles=CLEAR_ARTICLES, stories=CLEAR_STORIES
                )
                if not changed:
                    await rebuilds.cleared(db)
                    return

    async def _take_out_since(self, db: Connection, start: int) -> None:
        """Take every grouped article published since ``start`` out of its story,
        stories a few at a time (each step planned, then written briefly)."""
        grouped = await cluster_store.grouped_articles(
            db, await cluster_store.grouped_since(db, start)
        )
        by_story: dict[int, list[int]] = {}
        for article in grouped:
            assert article.story_id is not None
            by_story.setdefault(article.story_id, []).append(article.id)
        steps: list[list[int]] = [[]]
        for ids in by_story.values():
            if steps[-1] and len(steps[-1]) + len(ids) > CLEAR_ARTICLES // 10:
                steps.append([])
            steps[-1].extend(ids)
        for ids in steps:

            async def plan(ids: list[int] = ids) -> ClusterPlan | None:
                leaving = await cluster_store.grouped_articles(db, ids)  # as they are now
                if not leaving:
                    return None
                out = ClusterPlan()
                await self._forget_into(db, leaving, out, {})
                return out

            async def write(plan: ClusterPlan) -> None:
                await cluster_store.apply_plan(db, plan)

            await write_planned(db, plan, write)

    async def _plan_rebuild_batch(
        self, db: Connection, cursor: RebuildCursor
    ) -> _RebuildBatch | None:
        """The next rebuild batch after ``cursor`` and its plan; None when done."""
        after = (cursor.after_published, cursor.after_id)
        batch = await cluster_store.articles_after(db, after, REBUILD_BATCH)
        if not batch:
            return None
        last = batch[-1]  # the cursor follows the stored times
        # An undated article is regrouped at the time it was first seen, as it
        # first arrived: the time its story gave it is for the plan to redo.
        members = [
            a if a.dated else dataclasses.replace(a, published_at=a.fetched_at) for a in batch
        ]
        return _RebuildBatch(
            RebuildCursor(cursor.start, last.published_at, last.id),
            [a.id for a in batch],
            await self.plan(db, members),
        )

    async def _regroup_from(
        self, db: Connection, cursor: RebuildCursor, progress: Callable[[int], None] | None
    ) -> int:
        """Regroup the articles after ``cursor`` batch by batch, then finish the rebuild."""
        done = 0
        while True:

            async def write(batch: _RebuildBatch) -> _RebuildBatch:
                await cluster_store.apply_plan(db, batch.plan)
                await rebuilds.advance_rebuild(db, batch.cursor, batch.article_ids)
                return batch

            plan = functools.partial(self._plan_rebuild_batch, db, cursor)
            written = await write_planned(db, plan, write)
            if written is None:
                break
            done += len(written.article_ids)
            if progress is not None:  # articles regrouped and committed
                progress(len(written.article_ids))
            cursor = written.cursor
        async with transaction(db):
            await advance(db)
            await rebuilds.finish_rebuild(db)
        return done
