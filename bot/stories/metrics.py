"""Clustering quality: pairwise and B-cubed precision, recall and F1.

Both take two equally long sequences of cluster keys, ``predicted[i]`` and
``gold[i]`` for item ``i`` (any hashable values; only equality matters).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Scores:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 0.0 if total == 0 else 2 * self.precision * self.recall / total


def _check(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> None:
    if len(predicted) != len(gold):
        raise ValueError(f"{len(predicted)} predictions for {len(gold)} gold labels")
    if not gold:
        raise ValueError("nothing to score")


def _pairs(sizes: Counter) -> int:
    return sum(n * (n - 1) // 2 for n in sizes.values())


def pairwise(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> Scores:
    """Precision/recall over item pairs put together (1.0 when there are no pairs)."""
    _check(predicted, gold)
    both = _pairs(Counter(zip(predicted, gold, strict=True)))
    pred_pairs = _pairs(Counter(predicted))
    gold_pairs = _pairs(Counter(gold))
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / gold_pairs if gold_pairs else 1.0
    return Scores(precision, recall)


def bcubed(predicted: Sequence[Hashable], gold: Sequence[Hashable]) -> Scores:
    """B-cubed precision/recall: per-item overlap of its cluster and its class, averaged."""
    _check(predicted, gold)
    both = Counter(zip(predicted, gold, strict=True))
    pred_sizes = Counter(predicted)
    gold_sizes = Counter(gold)
    precision = recall = 0.0
    for p, g in zip(predicted, gold, strict=True):
        shared = both[(p, g)]
        precision += shared / pred_sizes[p]
        recall += shared / gold_sizes[g]
    n = len(gold)
    return Scores(precision / n, recall / n)
