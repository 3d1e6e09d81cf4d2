"""The dense-matrix grouping (big batches) merges exactly as the dict version does."""

from __future__ import annotations

import copy
import random

import pytest

from bot.stories import agglomerate as ag
from bot.stories import features as ft


def _nodes(seed: int, count: int) -> list[ag.Node]:
    """Articles on a few overlapping topics, some short (4-grams), some undated,
    plus a few existing stories (anchors)."""
    rng = random.Random(seed)
    topics = [[f"w{t}_{k}" for k in range(30)] for t in range(4)]
    common = [f"c{k}" for k in range(40)]
    nodes = []
    for k in range(count):
        words = rng.sample(rng.choice(topics), 12) + rng.sample(common, 6)
        vector = ft.normalise({w: rng.uniform(0.5, 2.0) for w in words})
        at = 1_700_000_000 + rng.randrange(0, 5 * 86_400)
        short = rng.random() < 0.3
        anchor = 1000 + k if k % 9 == 0 else None
        nodes.append(
            ag.Node(
                vector,
                rng.randint(2, 6) if anchor else 1,
                at,
                at + (rng.randrange(0, 86_400) if anchor else 0),
                anchor,
                [] if anchor else [k],
                dated=rng.random() > 0.1,
                grams=ft.gram_vector(vector) if short else {},
                short=0.5 if short else 0.0,
            )
        )
    return nodes


def _groups(nodes: list[ag.Node]) -> list[tuple[tuple[int, ...], int | None]]:
    return sorted((tuple(sorted(n.members)), n.anchor) for n in nodes)


@pytest.mark.parametrize("seed", range(6))
def test_dense_and_dict_grouping_agree(seed, monkeypatch):
    nodes = _nodes(seed, 150)
    span = 96 * 3600.0
    monkeypatch.setattr(ag, "DENSE_FROM", 10**9)  # dicts
    by_dicts = _groups(ag.agglomerate(copy.deepcopy(nodes), threshold=0.18, span_s=span))
    monkeypatch.setattr(ag, "DENSE_FROM", 2)  # the dense matrix
    monkeypatch.setattr(ag, "MATRIX_PAIRS", 1)
    dense = _groups(ag.agglomerate(copy.deepcopy(nodes), threshold=0.18, span_s=span))
    assert dense == by_dicts
    assert len(dense) < len(nodes)  # something did merge: the comparison means something


def _spread_nodes(seed: int, count: int) -> list[ag.Node]:
    """Many small events over a month (most nodes can merge with only a few
    others), each on words of its own plus words every article uses."""
    rng = random.Random(seed)
    common = [f"c{k}" for k in range(60)]
    nodes = []
    for k in range(count):
        event = rng.randrange(count // 4)
        words = [f"e{event}_{j}" for j in rng.sample(range(12), 8)] + rng.sample(common, 8)
        vector = ft.normalise({w: rng.uniform(0.5, 2.0) for w in words})
        at = 1_700_000_000 + event * 7_200 + rng.randrange(0, 3_600)
        anchor = 5000 + k if k % 7 == 0 else None
        nodes.append(
            ag.Node(
                vector,
                rng.randint(3, 9) if anchor else 1,
                at,
                at,
                anchor,
                [] if anchor else [k],
                dated=rng.random() > 0.05,
                grams=ft.gram_vector(vector) if k % 5 == 0 else {},
                short=0.6 if k % 5 == 0 else 0.0,
            )
        )
    return nodes


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("make", [_nodes, _spread_nodes])
def test_splitting_into_components_changes_no_group(seed, make, monkeypatch):
    """Merging each group that can merge at all on its own (and strays after)
    gives the groups merging everything at once gives, dense or dicts."""
    nodes = make(seed, 400)
    span = 96 * 3600.0
    monkeypatch.setattr(ag, "COMPONENTS_FROM", 10**9)
    whole = ag.agglomerate(copy.deepcopy(nodes), threshold=0.18, span_s=span)
    monkeypatch.setattr(ag, "COMPONENTS_FROM", 2)
    monkeypatch.setattr(ag, "BLOCK_CELLS", 5_000)  # many blocks of rows
    monkeypatch.setattr(ag, "PAIR_CHUNK", 97)  # many chunks of pairs
    parts = ag._components(copy.deepcopy(nodes), threshold=0.18, span_s=span)
    split = ag.agglomerate(copy.deepcopy(nodes), threshold=0.18, span_s=span)
    assert [(tuple(n.members), n.anchor) for n in split] == [
        (tuple(n.members), n.anchor) for n in whole
    ]  # the same clusters, in the same order
    assert len(whole) < len(nodes)  # something merged
    assert 1 < len(parts) < len(nodes)  # and the input really was split
    assert sorted(k for part in parts for k in part) == list(range(len(nodes)))


@pytest.mark.parametrize("cells", [1, 50, 10**6])
def test_pair_blocks_find_the_pairs_of_the_dict_version(cells, monkeypatch):
    """The matrix pairs (a block of rows at a time, however small the blocks) are
    exactly the pairs sharing a heavy term, never two stories."""
    nodes = _nodes(3, 120)
    monkeypatch.setattr(ag, "BLOCK_CELLS", cells)
    left, right = ag._pair_array(nodes)
    found = list(zip(left.tolist(), right.tolist(), strict=True))
    assert len(found) == len(set(found))  # each pair once
    assert set(found) == ag._pairs(nodes)
    assert any(nodes[i].anchor is not None or nodes[j].anchor is not None for i, j in found)


@pytest.mark.parametrize("kernel", ["scipy's compiled", "public", "changed"])
def test_pair_products_match_element_wise_products(kernel, monkeypatch):
    """Pair products (a run per left row, one matrix-vector product each) give the
    sums of the rows' element-wise products, pairs grouped by left row or not,
    with scipy's private kernel, without it, or with one whose call fails."""
    np = pytest.importorskip("numpy")
    nodes = _nodes(5, 90)
    m = ag._csr([node.vector for node in nodes])
    rng = random.Random(11)
    pairs = [(rng.randrange(90), rng.randrange(90)) for _ in range(700)]
    pairs += [(4, j) for j in range(90)]  # a long run of one left row
    left = np.array([i for i, _ in pairs])
    right = np.array([j for _, j in pairs])
    expected = np.asarray(m[left].multiply(m[right]).sum(axis=1)).ravel()
    if kernel == "public":
        monkeypatch.setitem(ag._KERNELS, "matvec", None)
    elif kernel == "changed":

        def changed(*args: object) -> None:
            raise TypeError("csr_matvec() takes 8 arguments")

        monkeypatch.setitem(ag._KERNELS, "matvec", changed)
    monkeypatch.setattr(ag, "DENSE_NODES", 0)  # pair by pair, not the whole product
    monkeypatch.setattr(ag, "PAIR_CHUNK", 256)  # runs cut across chunks
    got = ag._products(m, left, right)
    assert np.allclose(got, expected, rtol=1e-12, atol=1e-15)
    assert (expected > 0).sum() > 100  # pairs that share terms: the comparison means something
    if kernel == "changed":
        assert ag._KERNELS["matvec"] is None  # the public way from then on
    none = np.zeros(0)
    ag._pair_dots(m, left[:0], right[:0], np.zeros(m.shape[1]), none)  # no pairs: nothing to do


def test_a_small_dense_group_is_scored_by_the_matrix_with_the_same_figures():
    """Many pairs among a few short articles (an event many outlets cover, below
    MATRIX_PAIRS): the matrix product is chosen, and it gives each pair's
    similarity as the dict intersection does."""
    nodes = _nodes(3, 40)
    pairs = sorted(ag._pairs(nodes))
    assert 200 < len(pairs) < ag.MATRIX_PAIRS
    assert ag._matrix_pays(nodes, len(pairs))
    span = 96 * 3600.0
    expected = [ag.similarity(nodes[i], nodes[j], span) for i, j in pairs]
    assert ag._similarities(nodes, pairs, span) == pytest.approx(expected, abs=1e-12)
    assert any(s > 0.0 for s in expected)


def test_a_few_pairs_among_big_clusters_are_scored_pair_by_pair():
    """Building matrix rows of thousands of terms costs more than a few dict
    intersections: a handful of pairs among grown clusters is not a matrix."""
    rng = random.Random(5)
    big = [
        ag.Node({f"t{rng.randrange(20_000)}": 1.0 for _ in range(3_000)}, 40, 0, 0, None, [k])
        for k in range(12)
    ]
    assert not ag._matrix_pays(big, 6)
    assert ag._matrix_pays(_nodes(3, 40), 600)
