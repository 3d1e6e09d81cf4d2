"""Average-link agglomerative clustering of new articles with existing stories.

No I/O. Nodes are either a new article (one unit vector) or an
existing story (the sum of its members' unit vectors, anchored to its id).
The similarity of two clusters is the average cosine of their members'
pairs, damped by how far apart in time they are; the closest pair above
the threshold merges first (best-first), which beats any arrival order.
Two existing stories never merge. Lance-Williams updates keep every merge
cheap: ``sim(A+B, C) = (|A| sim(A, C) + |B| sim(B, C)) / (|A| + |B|)``.

From COMPONENTS_FROM nodes up (a batch of a feed or an archive with its
candidate stories, a consolidation window) the input is first split into the
groups that can merge at all (:func:`_components`), each merged on its own.
Small groups merge on dicts; from DENSE_FROM nodes up, pair similarities come
from sparse matrix products (scipy) and merging runs on a dense matrix
(numpy): same merges, same groups, and a batch on one topic, where nearly
every pair is scored, costs a few times less than with a dict intersection
per pair.

An undated node (articles whose source gave no date) has no time to damp
by: it is compared by content across any gap, but its similarity is
weighted by :data:`UNDATED_WEIGHT`, so it needs a closer match to join.
Joining a dated node, it takes that node's times.
"""

from __future__ import annotations

import heapq
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from operator import itemgetter
from typing import Any, Protocol

MATRIX_PAIRS = 2_000  # from this many pairs up, similarities come from a matrix product
# Below MATRIX_PAIRS, the estimated cost of each way in microseconds (fitted on
# the components of a real-shaped import, bench/writers.py's archive): a dict
# intersection per pair, ~3.2 plus 0.14 a term of the mean node; the matrix
# product ~1,100 plus 0.48 a term of every node (building its rows) plus 0.14 a pair.
DICT_PAIR_US, DICT_TERM_US = 3.2, 0.14
MATRIX_START_US, MATRIX_TERM_US, MATRIX_PAIR_US = 1_100.0, 0.48, 0.14
DENSE_NODES = 1_500  # up to this many nodes: dense matrices (about 150 MB at most, transient)
DENSE_FROM = 64  # from this many nodes up (to DENSE_NODES), merging runs on a dense matrix
COMPONENTS_FROM = 64  # from this many nodes up, the input is split first (see _components)
BLOCK_CELLS = 1_000_000  # pairs looked at once when splitting (see _components)
PAIR_CHUNK = 2_000  # pairs whose products are taken at once, row by row (about 6 MB)
PAIR_CELLS = 200_000  # ... fewer when their rows hold more than this many terms in all
PAIR_TERMS = 24  # a node's heaviest terms used to find pairs worth scoring
# An undated pair counts for this share of its cosine: at the default
# threshold (0.18) it needs a cosine of 0.30 where a simultaneous dated pair
# needs 0.18. Chosen on the ECB+ development set with dates removed from a
# share of the articles (bench/stories_eval.py): precision holds there.
UNDATED_WEIGHT = 0.6
# Short articles (see bot.stories.features.shortness) add the 4-gram cosine
# above GRAM_BIAS, times GRAM_WEIGHT and their shortness, to the word cosine.
# On the ECB+ development set (bench/stories_eval.py) headlines only: B-cubed
# F1 0.745 -> 0.77 at equal precision of pairs; headline + first sentence:
# 0.85 -> 0.88; full text unchanged (shortness 0).
GRAM_WEIGHT = 0.5
GRAM_BIAS = 0.3
# Strays (see _attach_strays): clusters smaller than STRAY_SIZE join the one
# established story they are close to. On the ECB+ development set, of the
# 16 strays of full-text clustering 12 join their own event's story at these
# values and none a wrong one; of 29 strays with headline + first sentence,
# 20 right and 1 wrong.
STRAY_SIZE = 3
STRAY_FACTOR = 0.6
STRAY_MARGIN = 2.0


class Packed:
    """Terms and their weights side by side (an article's vector, or its term
    counts as the planner keeps them): about a third of a dict's memory. A
    consolidation window holds one per article while it is split into
    components, and most never merge: a node's vector becomes a dict only when
    something needs one (:func:`vector_of`)."""

    __slots__ = ("terms", "weights")

    def __init__(self, vector: Mapping[str, float]) -> None:
        self.terms = tuple(vector)
        self.weights = array("d", vector.values())

    def __iter__(self) -> Iterator[str]:
        return iter(self.terms)

    def __len__(self) -> int:
        return len(self.terms)

    def items(self) -> Iterator[tuple[str, float]]:
        return zip(self.terms, self.weights, strict=True)

    def values(self) -> array[float]:
        return self.weights


@dataclass(slots=True)
class Node:
    vector: dict[str, float] | Packed  # sum of member unit vectors (see vector_of)
    size: int  # members
    first: float  # earliest member publication time (seconds)
    last: float  # latest member publication time
    anchor: int | None = None  # existing story id
    members: list[int] = field(default_factory=list)  # indices of new articles
    dated: bool = True  # False: no member has a date (first/last are when first seen)
    grams: dict[str, float] = field(default_factory=dict)  # sum of members' 4-gram vectors
    short: float = 0.0  # sum of members' shortness (0 for full-text articles)
    heavy: tuple[str, ...] | None = None  # _top_terms of the vector as it is (None: not yet)


def vector_of(node: Node, *, keep: bool = True) -> dict[str, float]:
    """The node's vector as a dict: kept so from then on (merging), or, with
    ``keep=False``, made for the caller alone (a node read once more)."""
    if not isinstance(node.vector, Packed):
        return node.vector
    vector = dict(node.vector.items())
    if keep:
        node.vector = vector
    return vector


def _packed(node: Node) -> Node:
    """``node`` with its vector packed again once merging is done: a window's
    merged clusters are held until every component is merged."""
    if not isinstance(node.vector, Packed):
        node.vector = Packed(node.vector)
    return node


def time_factor(seconds_apart: float, span_s: float) -> float:
    """1 for simultaneous coverage, falling linearly to 0 at ``span_s``."""
    return max(0.0, 1.0 - abs(seconds_apart) / span_s)


def similarity(a: Node, b: Node, span_s: float) -> float:
    """Average pairwise cosine of the members of ``a`` and ``b``, time-damped.

    The damping uses the gap between the two nodes' time spans: two articles
    are as far apart as their publication times, and an article published
    while a story was running is not far from it at all.
    """
    if a.dated and b.dated:
        gap = max(0.0, max(a.first, b.first) - min(a.last, b.last))
        damp = time_factor(gap, span_s)
    else:
        damp = UNDATED_WEIGHT
    if damp == 0.0:
        return 0.0
    x, y = vector_of(a), vector_of(b)
    pairs = a.size * b.size
    cosine = sum(x[t] * y[t] for t in x.keys() & y.keys()) / pairs  # C-level intersection
    if a.short > 0.0 and b.short > 0.0:
        g, h = a.grams, b.grams
        grams = sum(g[t] * h[t] for t in g.keys() & h.keys()) / pairs
        if grams > GRAM_BIAS:
            short = min(a.short / a.size, b.short / b.size)
            cosine += GRAM_WEIGHT * short * (grams - GRAM_BIAS)
    return cosine * damp


def _pairs(nodes: list[Node]) -> set[tuple[int, int]]:
    """Pairs of nodes sharing one of their heaviest terms, not both anchored."""
    postings: dict[str, list[int]] = defaultdict(list)
    for i, node in enumerate(nodes):
        for term in _top_terms(node):
            postings[term].append(i)
    pairs: set[tuple[int, int]] = set()
    for ids in postings.values():
        for k, i in enumerate(ids):
            for j in ids[k + 1 :]:
                if nodes[i].anchor is None or nodes[j].anchor is None:
                    pairs.add((i, j) if i < j else (j, i))
    return pairs


def _similarities(nodes: list[Node], pairs: list[tuple[int, int]], span_s: float) -> list[float]:
    """:func:`similarity` of each pair of ``nodes``.

    From MATRIX_PAIRS pairs up, and below wherever it is estimated to cost
    less (:func:`_matrix_pays`), the sums of products come from one sparse
    matrix product (scipy) instead of a dict intersection per pair: a batch on
    one topic shares most terms, and its pairs are most pairs. Same figures,
    to rounding.
    """
    if len(pairs) < MATRIX_PAIRS and not _matrix_pays(nodes, len(pairs)):
        return [similarity(nodes[i], nodes[j], span_s) for i, j in pairs]
    import numpy as np

    left = np.fromiter((i for i, _ in pairs), dtype=np.int64, count=len(pairs))
    right = np.fromiter((j for _, j in pairs), dtype=np.int64, count=len(pairs))
    return list(_similarity_array(nodes, left, right, span_s).tolist())


def _matrix_pays(nodes: list[Node], pairs: int) -> bool:
    """Whether scoring ``pairs`` of ``nodes`` by a matrix product is estimated to
    cost less than pair by pair: many pairs among few nodes of few terms (the
    dense small groups of an event covered by many outlets), not a few pairs
    among big clusters of thousands of terms."""
    terms = sum(len(n.vector) + (len(n.grams) if n.short > 0.0 else 0) for n in nodes)
    by_dicts = pairs * (DICT_PAIR_US + DICT_TERM_US * terms / max(len(nodes), 1))
    return MATRIX_START_US + MATRIX_TERM_US * terms + MATRIX_PAIR_US * pairs < by_dicts


class _TermRow(Protocol):
    """A matrix row's terms: a vector (dict or Packed) or a tuple of terms."""

    def __iter__(self) -> Iterator[str]: ...
    def __len__(self) -> int: ...


def _csr(vectors: Sequence[Mapping[str, float] | Packed]) -> Any:
    """``vectors`` as the rows of one sparse matrix (columns: terms in order of first use)."""
    return _sparse_rows(vectors, chain.from_iterable(vector.values() for vector in vectors))


def _sparse_rows(rows: Sequence[_TermRow], values: Iterable[float] | None) -> Any:
    """Row ``k`` holds ``values`` (in order; all 1 when None) in the columns of the
    terms of ``rows[k]``; columns are terms in order of first use."""
    import numpy as np
    from scipy import sparse

    nnz = sum(map(len, rows))
    index = {term: k for k, term in enumerate(dict.fromkeys(chain.from_iterable(rows)))}
    kind = np.int32 if nnz < 2**31 else np.int64  # scipy's own choice: no copy to convert
    cols = np.fromiter(map(index.__getitem__, chain.from_iterable(rows)), dtype=kind, count=nnz)
    vals = np.ones(nnz) if values is None else np.fromiter(values, dtype=float, count=nnz)
    indptr = np.zeros(len(rows) + 1, dtype=kind)
    np.cumsum([len(row) for row in rows], out=indptr[1:])
    m = sparse.csr_matrix((vals, cols, indptr), shape=(len(rows), max(len(index), 1)))
    m.sort_indices()  # canonical: what element-wise products of rows expect
    return m


def _top_terms(node: Node) -> tuple[str, ...]:
    """The node's PAIR_TERMS heaviest terms: what pairs are found by (kept as a
    tuple, a quarter of a dict's memory: a consolidation window holds thousands)."""
    if node.heavy is None:
        heaviest = sorted(node.vector.items(), key=itemgetter(1), reverse=True)[:PAIR_TERMS]
        node.heavy = tuple(term for term, _ in heaviest)  # as nlargest orders them
    return node.heavy


@dataclass(slots=True)
class _Facts:
    """Per-node figures of :func:`similarity`, as arrays (index them with pair indices)."""

    size: Any
    first: Any
    last: Any
    dated: Any
    short: Any  # bool: the node has 4-grams
    share: Any  # shortness per member
    anchored: Any

    @classmethod
    def of(cls, nodes: Sequence[Node]) -> _Facts:
        import numpy as np

        size = np.array([n.size for n in nodes], dtype=float)
        short = np.array([n.short for n in nodes], dtype=float)
        return cls(
            size=size,
            first=np.array([n.first for n in nodes], dtype=float),
            last=np.array([n.last for n in nodes], dtype=float),
            dated=np.array([n.dated for n in nodes], dtype=bool),
            short=short > 0.0,
            share=short / size,
            anchored=np.array([n.anchor is not None for n in nodes], dtype=bool),
        )

    def similarity(self, dots: Any, gram_dots: Any, left: Any, right: Any, span_s: float) -> Any:
        """:func:`similarity` from the sums of products of the pairs' vectors (``dots``)
        and 4-gram vectors (``gram_dots``, None when no node is short). ``left`` and
        ``right`` index the nodes: two pair lists, or a block of rows against columns."""
        import numpy as np

        pairs = self.size[left] * self.size[right]
        cosine = dots / pairs
        if gram_dots is not None:
            grams = gram_dots / pairs
            both = self.short[left] & self.short[right] & (grams > GRAM_BIAS)
            short = np.minimum(self.share[left], self.share[right])
            cosine = cosine + np.where(both, GRAM_WEIGHT * short * (grams - GRAM_BIAS), 0.0)
        gap = np.maximum(
            0.0,
            np.maximum(self.first[left], self.first[right])
            - np.minimum(self.last[left], self.last[right]),
        )
        damp = np.where(
            self.dated[left] & self.dated[right],
            np.maximum(0.0, 1.0 - gap / span_s),
            UNDATED_WEIGHT,
        )
        return cosine * damp


def _similarity_array(nodes: list[Node], left: Any, right: Any, span_s: float) -> Any:
    """:func:`similarity` of the pairs ``(left[k], right[k])`` as a numpy array."""
    facts = _Facts.of(nodes)
    dots = _products(_csr([n.vector for n in nodes]), left, right)
    gram_dots = (
        _products(_csr([n.grams for n in nodes]), left, right) if facts.short.any() else None
    )
    return facts.similarity(dots, gram_dots, left, right, span_s)


def _products(m: Any, left: Any, right: Any) -> Any:
    """``sum(x[t] * y[t])`` of the rows ``left[k]`` and ``right[k]`` of ``m``.

    When the pairs are a good share of all pairs (a batch on one topic), one
    product of the whole matrix; otherwise pair by pair (:func:`_pair_dots`),
    PAIR_CHUNK pairs at a time, so the cost follows the pairs asked for, not
    the square of the rows.
    """
    import numpy as np

    n = m.shape[0]
    if n <= DENSE_NODES and len(left) * 8 >= n * n:
        return np.asarray((m @ m.T).toarray()[left, right], dtype=float)
    out = np.zeros(len(left), dtype=float)
    spread = np.zeros(max(m.shape[1], 1), dtype=float)
    # Rows of grown clusters hold many terms: fewer of them at a time.
    chunk = max(1, min(PAIR_CHUNK, int(PAIR_CELLS * n / max(m.nnz, 1))))
    for k in range(0, len(left), chunk):
        part = slice(k, k + chunk)
        _pair_dots(m, left[part], right[part], spread, out[part])
    return out


def _pair_dots(m: Any, left: Any, right: Any, spread: Any, out: Any) -> None:
    """Add to ``out[k]`` the sum of products of the rows ``left[k]`` and ``right[k]``.

    The right rows are gathered once; each run of pairs with the same left row
    (pairs come grouped by it) spreads that row into the dense ``spread``
    (zeros, and left so) and takes one matrix-vector product of its right
    rows with it: one pass over each right row, where multiplying the rows
    element-wise walks each pair several times in temporaries (6x slower on a
    consolidation window's 3.9 million pairs).
    """
    import numpy as np

    if not len(left):
        return
    rows = m[right]
    cut = (np.flatnonzero(np.diff(left)) + 1).tolist()
    for start, end in zip([0, *cut], [*cut, len(left)], strict=True):
        a = int(left[start])
        lo, hi = m.indptr[a], m.indptr[a + 1]
        terms = m.indices[lo:hi]
        spread[terms] = m.data[lo:hi]
        _matvec_into(rows, start, end, spread, out[start:end])
        spread[terms] = 0.0


_KERNELS: dict[str, Callable[..., None] | None] = {}  # resolved on first use


def _csr_matvec() -> Callable[..., None] | None:
    """scipy's compiled ``y += A x`` on CSR arrays (``scipy.sparse._sparsetools``,
    not public): it reads a range of rows in place, where slicing the matrix
    first costs more than the product. None where this scipy lacks it."""
    if "matvec" not in _KERNELS:
        try:
            from scipy.sparse._sparsetools import csr_matvec
        except ImportError:
            csr_matvec = None
        _KERNELS["matvec"] = csr_matvec
    return _KERNELS["matvec"]


def _matvec_into(rows: Any, start: int, end: int, x: Any, out: Any) -> None:
    """``out += rows[start:end] @ x`` (``out``: a contiguous view, written in place)."""
    matvec = _csr_matvec()
    if matvec is not None:
        indptr = rows.indptr[start : end + 1]
        try:
            matvec(end - start, rows.shape[1], indptr, rows.indices, rows.data, x, out)
            return
        except TypeError:  # this scipy's private kernel changed: the public way from now on
            _KERNELS["matvec"] = None
    out += rows[start:end] @ x


def _pair_blocks(nodes: list[Node]) -> Iterator[tuple[Any, Any]]:
    """:func:`_pairs` as index arrays (``left < right``), a block of rows at a time
    (BLOCK_CELLS pairs looked at), from sparse products of the heavy-term incidence."""
    import numpy as np

    incidence = _sparse_rows([_top_terms(node) for node in nodes], None)  # ones
    incidence_t = incidence.T.tocsr()
    anchored = np.array([n.anchor is not None for n in nodes], dtype=bool)
    step = max(1, BLOCK_CELLS // max(len(nodes), 1))
    for r0 in range(0, len(nodes), step):
        shared = (incidence[r0 : r0 + step] @ incidence_t).tocoo()
        left = shared.row.astype(np.int64) + r0
        right = shared.col.astype(np.int64)
        keep = (right > left) & ~(anchored[left] & anchored[right])
        if keep.any():
            yield left[keep], right[keep]


def _pair_array(nodes: list[Node]) -> tuple[Any, Any]:
    """:func:`_pairs` as two index arrays (``left < right``)."""
    import numpy as np

    blocks = list(_pair_blocks(nodes))
    if not blocks:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    return np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks])


def _components(nodes: list[Node], *, threshold: float, span_s: float) -> list[list[int]]:
    """The nodes split into the groups that average-link merging can join at all.

    Two clusters merge only when the (size-weighted) average of their
    members' pair similarities reaches the threshold, so some pair of them
    must reach it: nodes in different connected components of the graph of
    pairs at or above the threshold never end up in one cluster. Each
    component is merged on its own, with the same merges as on the whole;
    most candidate stories of a batch, and most stories of a consolidation
    window, are alone in theirs and cost nothing more. Only the pairs that
    share a heavy term are scored (a few percent of all pairs in news), a
    block of rows at a time, so memory stays bounded whatever the input.
    """
    import numpy as np

    n = len(nodes)
    facts = _Facts.of(nodes)
    vectors = _csr([node.vector for node in nodes])
    grams = _csr([node.grams for node in nodes]) if facts.short.any() else None
    floor = threshold * (1.0 - 1e-9)  # rounding never splits what merging would join
    found_left: list[Any] = []
    found_right: list[Any] = []
    for left, right in _pair_blocks(nodes):
        dots = _products(vectors, left, right)
        gram_dots = _products(grams, left, right) if grams is not None else None
        edge = facts.similarity(dots, gram_dots, left, right, span_s) >= floor
        found_left.append(left[edge])
        found_right.append(right[edge])
    if not found_left:
        return [[k] for k in range(n)]
    return _connected(n, np.concatenate(found_left).tolist(), np.concatenate(found_right).tolist())


def _connected(n: int, left: list[int], right: list[int]) -> list[list[int]]:
    """The connected components of ``n`` nodes joined by the edges ``(left[k],
    right[k])`` (union-find: edges are few), each as its nodes in order."""
    parent = list(range(n))

    def root(k: int) -> int:
        while parent[k] != k:
            parent[k] = parent[parent[k]]
            k = parent[k]
        return k

    for a, b in zip(left, right, strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    parts: dict[int, list[int]] = {}
    for k in range(n):
        parts.setdefault(root(k), []).append(k)
    return list(parts.values())


def _merge_dense(nodes: list[Node], *, threshold: float, span_s: float) -> list[Node]:
    """The merging of :func:`agglomerate` on a dense similarity matrix (numpy): each
    merge is a row update (Lance-Williams) and a look at the rows whose best pair changed.

    Merges in the same order as the dict version (the best pair first, ties
    to the lowest indices), and gives the same groups.
    """
    import numpy as np

    n = len(nodes)
    left, right = _pair_array(nodes)
    sims = np.zeros((n, n))
    if len(left):
        values = np.maximum(_similarity_array(nodes, left, right, span_s), 0.0)
        sims[left, right] = values
        sims[right, left] = values
    anchored = np.array([node.anchor is not None for node in nodes], dtype=bool)
    alive = np.ones(n, dtype=bool)
    size = np.array([node.size for node in nodes], dtype=float)
    best = sims.max(axis=1)
    arg = sims.argmax(axis=1)
    while True:
        k = int(np.argmax(best))
        if best[k] < threshold or best[k] <= 0.0:
            break
        i, j = sorted((k, int(arg[k])))
        na, nb = size[i], size[j]
        merged = (na * sims[i] + nb * sims[j]) / (na + nb)
        if anchored[i] or anchored[j]:
            merged[anchored] = 0.0  # two existing stories never merge
            anchored[i] = True
        alive[j] = False
        merged[~alive] = 0.0
        merged[i] = 0.0
        sims[i, :] = merged
        sims[:, i] = merged
        sims[j, :] = 0.0
        sims[:, j] = 0.0
        size[i] = na + nb
        _absorb(nodes[i], nodes[j])
        stale = (arg == i) | (arg == j)
        stale[i] = True
        stale &= alive
        grown = ~stale & alive & (merged > best)
        best[grown] = merged[grown]
        arg[grown] = i
        rows = np.nonzero(stale)[0]
        if len(rows):
            best[rows] = sims[rows].max(axis=1)
            arg[rows] = sims[rows].argmax(axis=1)
        best[j] = -1.0
    return [node for k, node in enumerate(nodes) if alive[k]]


def agglomerate(nodes: list[Node], *, threshold: float, span_s: float) -> list[Node]:
    """Merge nodes best-first while the average-link similarity >= ``threshold``,
    then let strays join their story (:func:`_attach_strays`).

    The result lists each cluster once, in the order of its first node. From
    COMPONENTS_FROM nodes up, the nodes are first split into the groups that
    can merge at all (:func:`_components`) and each is merged on its own.
    """
    if len(nodes) < COMPONENTS_FROM:
        kept = _merge(nodes, threshold=threshold, span_s=span_s)
    else:
        where = {id(node): k for k, node in enumerate(nodes)}
        kept = [
            _packed(node)
            for part in _components(nodes, threshold=threshold, span_s=span_s)
            for node in (
                _merge([nodes[k] for k in part], threshold=threshold, span_s=span_s)
                if len(part) > 1
                else [nodes[part[0]]]
            )
        ]
        kept.sort(key=lambda node: where[id(node)])  # a cluster lives on in its first node
    return _attach_strays(kept, threshold=threshold, span_s=span_s)


def _merge(nodes: list[Node], *, threshold: float, span_s: float) -> list[Node]:
    """Average-link merging, best pair first; the surviving nodes in their order."""
    if DENSE_FROM <= len(nodes) <= DENSE_NODES:
        return _merge_dense(nodes, threshold=threshold, span_s=span_s)
    sims: dict[int, dict[int, float]] = defaultdict(dict)
    heap: list[tuple[float, int, int]] = []
    pairs = list(_pairs(nodes))
    for (i, j), s in zip(pairs, _similarities(nodes, pairs, span_s), strict=True):
        if s > 0.0:
            sims[i][j] = sims[j][i] = s
            if s >= threshold:
                heap.append((-s, i, j))
    heapq.heapify(heap)
    alive = {i: node for i, node in enumerate(nodes)}
    while heap:
        neg, i, j = heapq.heappop(heap)
        if i not in alive or j not in alive or sims[i].get(j) != -neg:
            continue  # stale entry: one side merged since
        if alive[i].anchor is not None and alive[j].anchor is not None:
            continue
        a, b = alive[i], alive.pop(j)
        na, nb = a.size, b.size
        _absorb(a, b)
        # Lance-Williams for average link; a missing similarity is 0.
        neighbours = (set(sims[i]) | set(sims[j])) - {i, j}
        sims_j = sims.pop(j)
        for c in neighbours:
            sims[c].pop(j, None)
            if c not in alive:
                continue
            s = (na * sims[i].get(c, 0.0) + nb * sims_j.get(c, 0.0)) / (na + nb)
            if a.anchor is not None and alive[c].anchor is not None:
                s = 0.0  # two existing stories never merge
            if s > 0.0:
                sims[i][c] = sims[c][i] = s
                if s >= threshold:
                    heapq.heappush(heap, (-s, min(i, c), max(i, c)))
            else:
                sims[i].pop(c, None)
                sims[c].pop(i, None)
    return list(alive.values())


def _absorb(a: Node, b: Node) -> None:
    """Merge ``b`` into ``a`` (vectors, sizes, times, anchor, members)."""
    vector = vector_of(a)
    for term, w in b.vector.items():
        vector[term] = vector.get(term, 0.0) + w
    a.heavy = None
    a.size += b.size
    if b.short > 0.0:
        for gram, w in b.grams.items():
            a.grams[gram] = a.grams.get(gram, 0.0) + w
        a.short += b.short
    if a.dated == b.dated:
        a.first, a.last = min(a.first, b.first), max(a.last, b.last)
    elif b.dated:  # undated articles take the times of the dated ones
        a.first, a.last, a.dated = b.first, b.last, True
    a.anchor = a.anchor if a.anchor is not None else b.anchor
    a.members.extend(b.members)
    # ``b`` is spent: let its terms go now (a consolidation window's absorbed
    # nodes would otherwise hold their vectors until the whole grouping ends).
    b.vector, b.grams, b.heavy, b.members = {}, {}, None, []


def _attach_strays(clusters: list[Node], *, threshold: float, span_s: float) -> list[Node]:
    """Let a stray (fewer than STRAY_SIZE articles) join the one story it clearly belongs to.

    A report that tells an event from another angle (an analysis, a
    follow-up, a reaction) often falls just short of the average-link
    threshold with every member of the event's story, and would be a line of
    its own in the digest. After merging, each stray joins the established
    story (at least STRAY_SIZE articles) closest to it when that similarity
    is at least STRAY_FACTOR times the threshold and STRAY_MARGIN times the
    next-closest story's: close to one story and to no other. Decisions are
    taken against the stories as they were, so their order does not matter.
    Two existing stories still never merge.
    """
    established = [c for c in clusters if c.size >= STRAY_SIZE]
    if not established:
        return clusters
    postings: dict[str, list[int]] = defaultdict(list)
    for i, node in enumerate(established):
        for term in _top_terms(node):
            postings[term].append(i)
    strays = [c for c in clusters if c.size < STRAY_SIZE]
    near: list[tuple[int, int]] = []  # (stray, established) pairs sharing a heavy term
    for k, stray in enumerate(strays):
        near.extend(
            (k, i)
            for i in {
                i
                for term in _top_terms(stray)
                for i in postings.get(term, ())
                if stray.anchor is None or established[i].anchor is None
            }
        )
    # Score on the nodes some pair involves only (most strays have none).
    seen: dict[int, int] = {}
    both: list[Node] = []
    for node_id, node in chain(
        ((k, strays[k]) for k, _ in near), ((len(strays) + i, established[i]) for _, i in near)
    ):
        if node_id not in seen:
            seen[node_id] = len(both)
            both.append(node)
    pairs = [(seen[k], seen[len(strays) + i]) for k, i in near]
    scores: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for (k, i), score in zip(near, _similarities(both, pairs, span_s), strict=True):
        scores[k].append((score, i))
    kept: list[Node] = []
    joins: list[tuple[int, Node]] = []
    for k, stray in enumerate(strays):
        scored = sorted(scores.get(k, ()))
        best, runner_up = (
            (scored[-1] if scored else (0.0, -1)),
            (scored[-2][0] if len(scored) > 1 else 0.0),
        )
        if best[0] >= STRAY_FACTOR * threshold and best[0] >= STRAY_MARGIN * runner_up:
            joins.append((best[1], stray))
        else:
            kept.append(stray)
    for i, stray in joins:
        _absorb(established[i], stray)
    return established + kept
