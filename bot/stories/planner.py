"""Story clustering as a pure computation: articles and nearby stories in, a plan out.

Each batch of new articles (a feed's new entries, a chunk of an import, or a
single article) is clustered together with the existing stories it may
belong to, by average-link agglomeration (:mod:`bot.stories.agglomerate`):
the closest pair merges first, so the result does not depend on the order
in which articles arrive. Articles are TF-IDF vectors of title and lead with
names and numbers boosted (:mod:`bot.stories.features`). Similarity is
damped by the time between the articles.

A story is represented by a bounded summary (:class:`bot.models.StoryState`:
capped centroid, outlets, 4-gram centroid), never by its members, so joining
a story of 5,000 articles costs what joining one of 5 does.

Nothing here reads or writes the store: :mod:`bot.clustering` reads what a
step needs (document frequencies, the postings of the batch's terms, the
candidate stories), asks this module for a :class:`bot.models.ClusterPlan`,
and has the store apply the plan in one short transaction.
"""

from __future__ import annotations

import dataclasses
import heapq
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ..models import (
    CLUSTER_TEXT_CHARS,
    Article,
    ClusterArticle,
    ClusterPlan,
    PlannedStory,
    Posting,
    StoryFields,
    StoryRemainder,
    StoryState,
)
from ..outlets import outlet_key
from . import features as ft
from .agglomerate import Node, Packed, agglomerate, vector_of

# Chosen on the ECB+ development set, which pairs look-alike events
# (bench/stories_eval.py): on full text pairwise precision holds at 1.0 from
# 0.17 to 0.2 while recall falls as the threshold rises (strays joining their
# story afterwards win most of it back); below 0.17 one pair of look-alike
# events merges. 0.18 keeps a margin on both sides, and keeps the precision of
# headline + first sentence above 0.95.
DEFAULT_THRESHOLD = 0.18
SPAN_FACTOR = 4 / 3  # similarity falls to 0 at this multiple of the window
QUERY_TERMS = 24  # article terms used to look candidates up
POSTING_TERMS = 24  # story terms posted in the inverted index
CENTROID_TERMS = 128  # terms kept in a story's centroid (sum of member vectors)
GRAM_TERMS = 256  # 4-grams kept in a story's gram centroid (short members only)
MAX_CANDIDATES = 8  # stories considered per article
# An undated story (no member has a date) posts its terms as if it were this
# much younger than its last article was first seen, so dated coverage of
# the event published up to a month later still finds it; after that it
# ages out of the candidate lookup like any other story.
UNDATED_HORIZON = 30 * 24 * 3600
ANYTIME_POSTINGS = 500  # newest postings per term read for an undated article
# Term counts kept of the articles counted last (about 2 KB each): an import's
# consolidation regroups the articles it just planned, and need not tokenise
# them again. Covers a 10,000-article import; beyond it, the oldest are
# counted again.
COUNTS_KEPT = 10_000

Postings = Mapping[str, Sequence[Posting]]  # by term


def as_member(ref: int, article: Article, *, story_id: int | None = None) -> ClusterArticle:
    """A cleaned article (``ref``: its id, or a placeholder) as clustering sees it."""
    if article.published_at.tzinfo is None:
        raise ValueError("published_at must be timezone-aware")
    at = int(article.published_at.timestamp())
    return ClusterArticle(
        id=ref,
        title=article.title,
        text=(article.body or article.summary or "")[:CLUSTER_TEXT_CHARS],
        source=article.source,
        published_at=at,
        fetched_at=at,
        dated=article.dated,
        story_id=story_id,
        category=article.category,
    )


def posted_at(last: int, dated: bool) -> int:
    """The time a story's postings carry (see UNDATED_HORIZON)."""
    return last if dated else last + UNDATED_HORIZON


def document_delta(docs: Iterable[Iterable[str]], sign: int) -> dict[str, int]:
    """Document-frequency changes for counting (``sign=1``) or uncounting documents."""
    totals: Counter[str] = Counter()
    count = 0
    for terms in docs:
        totals.update(set(terms))
        count += 1
    out = {term: sign * n for term, n in totals.items()}
    out[""] = sign * count
    return out


def merge_delta(into: dict[str, int], delta: Mapping[str, int]) -> None:
    for term, n in delta.items():
        into[term] = into.get(term, 0) + n


def with_delta(
    dfs: Mapping[str, int], n_docs: int, delta: Mapping[str, int]
) -> tuple[dict[str, int], int]:
    """Stored frequencies as they will be once ``delta`` is applied."""
    out = dict(dfs)
    for term, n in delta.items():
        if term:
            out[term] = max(out.get(term, 0) + n, 0)
    return out, max(n_docs + delta.get("", 0), 0)


@dataclass(slots=True)
class Lookup:
    """What to read to find a batch's candidate stories."""

    queries: list[dict[str, float]]
    dated_terms: set[str]  # looked up among postings since ``since``
    since: int
    anytime_terms: set[str]  # undated articles: each term's newest postings


def _article_node(
    k: int, vector: dict[str, float], at: int, dated: bool, title: str, text: str
) -> Node:
    """The clustering node of one article (its 4-grams only when it is short)."""
    short = ft.shortness(title, text)
    grams = ft.gram_vector(vector) if short > 0.0 else {}
    return Node(Packed(vector), 1, at, at, None, [k], dated=dated, grams=grams, short=short)


def _story_node(story: StoryState) -> Node:
    return Node(
        dict(story.centroid),
        max(story.members, 1),
        story.first_published_at,
        story.last_published_at,
        story.story_id,
        dated=story.dated,
        grams=story.grams,
        short=story.short,
    )


def _planned(
    ref: int, fields: StoryFields, cluster: Node, sources: dict[str, int], *, replace: bool
) -> PlannedStory:
    """A story's row, bounded summary and postings after ``cluster`` formed it."""
    centroid = ft.top_terms(vector_of(cluster, keep=False), CENTROID_TERMS)
    grams = ft.top_terms(cluster.grams, GRAM_TERMS) if cluster.short > 0.0 else {}
    return PlannedStory(
        ref=ref,
        fields=fields,
        centroid=centroid,
        sources=sources,
        members=cluster.size,
        grams=grams,
        short=max(cluster.short, 0.0),
        postings=ft.top_terms(ft.normalise(centroid), POSTING_TERMS),
        posted_at=posted_at(fields.last_published_at, fields.dated),
        replace_postings=replace,
    )


class StoryPlanner:
    """Plans story clustering steps (see module doc); holds its settings and the
    term counts of the articles it counted last (a cache: it never changes a plan)."""

    def __init__(
        self,
        *,
        window_hours: float = 72.0,
        threshold: float = DEFAULT_THRESHOLD,
        max_candidates: int = MAX_CANDIDATES,
    ) -> None:
        if window_hours <= 0:
            raise ValueError("window_hours must be positive")
        if not 0.0 < threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")
        self.window = int(window_hours * 3600)
        self.span = self.window * SPAN_FACTOR
        self.threshold = threshold
        self.max_candidates = max_candidates
        self._counted: dict[int, Packed] = {}
        self._counting = threading.Lock()  # a worker thread may count ahead (Ingestor.clean)

    # -- grouping -------------------------------------------------------

    def group(self, nodes: list[Node]) -> list[Node]:
        """Average-link agglomeration of ``nodes`` (CPU work: callers may thread it)."""
        return agglomerate(nodes, threshold=self.threshold, span_s=self.span)

    # -- joining: new articles and the stories near them -------------------

    def counts(self, items: Sequence[ClusterArticle]) -> list[dict[str, float]]:
        """The term counts of each article (:func:`bot.stories.features.article_counts`).

        The counts of the last COUNTS_KEPT articles counted are kept, compactly,
        by a hash of the text they come from (title, text, outlet), and reused.
        """
        return [dict(counts.items()) for counts in self.packed(items)]

    def packed(self, items: Sequence[ClusterArticle]) -> list[Packed]:
        """:meth:`counts` packed (terms, weights): what is kept, and what a window
        of thousands of articles holds at once (a third of the dicts' memory)."""
        out: list[Packed] = []
        kept = self._counted
        for a in items:
            key = hash((a.title, a.text, a.source))
            known = kept.get(key)
            if known is None:
                counts = ft.article_counts(a.title, a.text, a.source)
                known = Packed(counts)
                with self._counting:
                    kept[key] = known
                    if len(kept) > COUNTS_KEPT:
                        del kept[next(iter(kept))]  # the oldest
            out.append(known)
        return out

    def lookup(
        self, vectors: Sequence[dict[str, float]], items: Sequence[ClusterArticle]
    ) -> Lookup:
        queries = [ft.top_terms(v, QUERY_TERMS) for v in vectors]
        dated = [a.dated for a in items]
        dated_times = [a.published_at for a in items if a.dated]
        return Lookup(
            queries=queries,
            dated_terms={t for q, d in zip(queries, dated, strict=True) if d for t in q},
            since=min(dated_times, default=0) - self.window,
            anytime_terms={t for q, d in zip(queries, dated, strict=True) if not d for t in q},
        )

    def candidate_ids(
        self,
        lookup: Lookup,
        items: Sequence[ClusterArticle],
        postings: Postings,
        anytime: Postings,
    ) -> tuple[set[int], set[int]]:
        """``(wanted, timeless)``: for each article, the ``max_candidates`` stories
        with the largest overlap (query weight times posting weight) whose postings
        are recent enough. ``timeless``: wanted by an undated article (no window)."""
        wanted: set[int] = set()
        timeless: set[int] = set()
        for query, article in zip(lookup.queries, items, strict=True):
            overlap: dict[int, float] = {}
            since = article.published_at - self.window if article.dated else None
            for term, weight in query.items():
                for posting in (postings if article.dated else anytime).get(term, ()):
                    if since is None or posting.at >= since:
                        story = posting.story_id
                        overlap[story] = overlap.get(story, 0.0) + weight * posting.weight
            best = heapq.nlargest(self.max_candidates, overlap.items(), key=lambda kv: kv[1])
            (wanted if article.dated else timeless).update(story_id for story_id, _ in best)
        return wanted, timeless

    def keep_candidates(
        self,
        stories: Iterable[StoryState],
        items: Sequence[ClusterArticle],
        timeless: set[int],
    ) -> list[StoryState]:
        """Drop dated stories that begin after the batch's window."""
        latest = max((a.published_at for a in items if a.dated), default=0) + self.window
        return [
            s
            for s in stories
            if s.story_id in timeless or not s.dated or s.first_published_at <= latest
        ]

    def nodes(
        self,
        items: Sequence[ClusterArticle],
        vectors: Sequence[dict[str, float]],
        stories: Iterable[StoryState],
    ) -> list[Node]:
        nodes = [
            _article_node(k, vector, a.published_at, a.dated, a.title, a.text)
            for k, (vector, a) in enumerate(zip(vectors, items, strict=True))
        ]
        nodes.extend(_story_node(story) for story in stories)
        return nodes

    def join(
        self,
        items: Sequence[ClusterArticle],
        clusters: Iterable[Node],
        stories: Mapping[int, StoryState],
        plan: ClusterPlan,
    ) -> None:
        """Add to ``plan`` the stories ``clusters`` form or grow, and who joins them.

        A story's times come from its dated articles; its undated articles are
        placed at its latest dated time (they take the story's time for ranking
        and digest windows). A story with no dated article keeps the times its
        articles were first seen.
        """
        fresh = -1 - sum(1 for s in plan.stories if s.ref < 0)
        for cluster in clusters:
            if not cluster.members:
                continue
            story = stories.get(cluster.anchor) if cluster.anchor is not None else None
            if story is None:
                ref, fresh = fresh, fresh - 1
            else:
                ref = story.story_id
            self._settle(ref, story, cluster, [items[k] for k in cluster.members], plan)

    @staticmethod
    def _settle(
        ref: int,
        story: StoryState | None,
        cluster: Node,
        joining: list[ClusterArticle],
        plan: ClusterPlan,
    ) -> None:
        """Plan ``joining`` into ``story`` (None: a new story ``ref``), as ``cluster`` holds them."""
        members = sorted(joining, key=lambda m: (m.published_at, m.id))
        sources = dict(story.sources) if story else {}
        for article in members:
            key = outlet_key(article.source, article.id)
            sources[key] = sources.get(key, 0) + 1
        times = [a.published_at for a in members if a.dated]
        if story is not None and story.dated:
            times += [story.first_published_at, story.last_published_at]
        dated = bool(times)
        if not dated:
            times = [a.published_at for a in members]
            if story is not None:
                times += [story.first_published_at, story.last_published_at]
        first, last = min(times), max(times)
        if dated:
            plan.placed.update((a.id, last) for a in members if not a.dated)
            if story is not None and not story.dated:
                plan.date_undated[story.story_id] = last
        fields = StoryFields(
            first_published_at=first,
            last_published_at=last,
            article_count=(story.article_count if story else 0) + len(members),
            source_count=len(sources),
            headline=(story.headline if story else None) or members[0].title,
            category=next((a.category for a in members if a.category), None),
            dated=dated,
        )
        plan.stories.append(_planned(ref, fields, cluster, sources, replace=False))
        plan.assign.update((a.id, ref) for a in members)

    # -- forgetting: articles leaving their story ---------------------------

    def forget(
        self,
        story: StoryState,
        leaving: Sequence[ClusterArticle],
        remainder: StoryRemainder,
        dfs: dict[str, int],
        n_docs: int,
        plan: ClusterPlan,
    ) -> StoryState | None:
        """Take ``leaving`` out of ``story`` (before they are regrouped or their text
        changes); the story as it is after, None when nothing is left of it.

        The articles' current text is what gets subtracted from the centroid;
        ``dfs``/``n_docs`` are the frequencies before they are uncounted.
        """
        counts = self.counts(leaving)
        merge_delta(plan.df_delta, document_delta((c.keys() for c in counts), -1))
        plan.detach.extend(a.id for a in leaving)
        if remainder.count == 0:
            plan.deleted.append(story.story_id)
            return None
        first, last = remainder.first_published_at, remainder.last_published_at
        dated = remainder.dated
        if story.dated and not dated:  # only undated articles left: back to when first seen
            plan.restore_seen.append(story.story_id)
            first, last = min(remainder.undated_seen), max(remainder.undated_seen)
        assert first is not None and last is not None
        centroid = dict(story.centroid)
        grams, short = dict(story.grams), story.short
        sources = dict(story.sources)
        for article, count in zip(leaving, counts, strict=True):
            vector = ft.article_vector(count, dfs, n_docs)
            ft.add_into(centroid, vector, -1.0)
            if (own := ft.shortness(article.title, article.text)) > 0.0:
                ft.add_into(grams, ft.gram_vector(vector), -1.0)
                short = max(short - own, 0.0)
            key = outlet_key(article.source, article.id)
            sources[key] = sources.get(key, 0) - 1
            if sources[key] <= 0:
                del sources[key]
        headline = story.headline
        if headline in {a.title for a in leaving}:
            headline = remainder.first_title
        members = max(story.members - len(leaving), 1)
        fields = StoryFields(
            first, last, remainder.count, max(len(sources), 1), headline, None, dated
        )
        node = Node(
            centroid, members, first, last, story.story_id, dated=dated, grams=grams, short=short
        )
        planned = _planned(story.story_id, fields, node, sources, replace=True)
        plan.stories.append(planned)
        return StoryState(
            story_id=story.story_id,
            first_published_at=first,
            last_published_at=last,
            article_count=remainder.count,
            headline=headline,
            centroid=centroid,
            sources=sources,
            members=members,
            dated=dated,
            grams=planned.grams,
            short=planned.short,
        )

    # -- regrouping: the young stories, best-first, keeping their ids --------

    def regroup_nodes(
        self,
        rows: Sequence[ClusterArticle],
        counts: Sequence[Packed],
        dfs: dict[str, int],
        n_docs: int,
        *,
        first: int = 0,
    ) -> list[Node]:
        """One node per article of ``rows`` (``counts``: their :meth:`packed` counts),
        numbered from ``first`` (rows read a chunk at a time)."""
        vectors = ft.article_vectors(counts, dfs, n_docs)
        return [
            _article_node(
                first + k,
                vector,
                r.published_at if r.dated else r.fetched_at,  # undated: when first seen
                r.dated,
                r.title,
                r.text,
            )
            for k, (r, vector) in enumerate(zip(rows, vectors, strict=True))
        ]

    def regroup(
        self,
        rows: Sequence[ClusterArticle],
        clusters: list[Node],
        fixed: Mapping[int, StoryState] | None = None,
    ) -> ClusterPlan | None:
        """The plan that turns the stories of ``rows`` into ``clusters``; None if unchanged.

        ``rows`` are in published order. Each new group keeps the id of the old
        story it shares most articles with, so links and digest history stay
        valid; a story that disappears hands its digest history to the group
        holding most of its articles. ``fixed`` stories took part as whole
        nodes (anchors): articles that joined one are planned into it as new
        articles join a story.
        """
        fixed = fixed or {}
        old: dict[int, set[int]] = {}
        for k, r in enumerate(rows):
            assert r.story_id is not None
            old.setdefault(r.story_id, set()).add(k)
        grown = [c for c in clusters if c.anchor is not None and c.members]
        clusters = [c for c in clusters if c.anchor is None]
        if not grown and {frozenset(m) for m in old.values()} == {
            frozenset(c.members) for c in clusters
        }:
            return None
        overlaps = sorted(
            (
                (len(old[story_id] & set(c.members)), story_id, n)
                for n, c in enumerate(clusters)
                for story_id in {rows[k].story_id for k in c.members}
                if story_id is not None
            ),
            reverse=True,
        )
        owner: dict[int, int] = {}  # cluster index -> story ref (old id, or new -1, -2, ...)
        taken: set[int] = set()
        for _, story_id, n in overlaps:
            if n not in owner and story_id not in taken:
                owner[n] = story_id
                taken.add(story_id)
        for fresh, n in enumerate(n for n in range(len(clusters)) if n not in owner):
            owner[n] = -1 - fresh
        plan = ClusterPlan()
        for n, cluster in enumerate(clusters):
            members = [rows[k] for k in sorted(cluster.members)]  # rows are in published order
            sources: dict[str, int] = {}
            for r in members:
                key = outlet_key(r.source, r.id)
                sources[key] = sources.get(key, 0) + 1
            dated_times = [r.published_at for r in members if r.dated]
            times = dated_times or [r.fetched_at for r in members]
            for r in members:
                at = r.published_at if r.dated else (times[-1] if dated_times else r.fetched_at)
                if not r.dated and at != r.published_at:
                    plan.placed[r.id] = at
                if r.story_id != owner[n]:
                    plan.assign[r.id] = owner[n]
            fields = StoryFields(
                first_published_at=min(times),
                last_published_at=max(times),
                article_count=len(members),
                source_count=len(sources),
                headline=members[0].title,
                category=next((r.category for r in members if r.category), None),
                dated=bool(dated_times),
            )
            if owner[n] < 0 or set(cluster.members) != old.get(owner[n]):
                plan.stories.append(
                    _planned(owner[n], fields, cluster, sources, replace=owner[n] > 0)
                )
        for cluster in grown:
            assert cluster.anchor is not None
            joining = [
                r if r.dated else dataclasses.replace(r, published_at=r.fetched_at)
                for r in (rows[k] for k in cluster.members)
            ]  # an undated article joins as it first arrived, at the time first seen
            self._settle(cluster.anchor, fixed[cluster.anchor], cluster, joining, plan)
        for story_id in set(old) - set(owner.values()):
            where = Counter(plan.assign[rows[k].id] for k in old[story_id])
            plan.heirs[story_id] = where.most_common(1)[0][0]
            plan.deleted.append(story_id)
        return plan
