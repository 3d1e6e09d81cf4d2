"""Text features for story clustering: tokens, names, the article vector.

An article becomes one sparse unit vector (``dict[str, float]``) over its
title and lead: sublinear term frequencies, names (capitalised words in
running text, acronyms) and numbers boosted, times an inverse document
frequency learned from the store (:func:`article_vector`). Everything here
is pure Python and knows nothing about SQL.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from operator import itemgetter
from typing import Protocol

from ..models import CLUSTER_TEXT_CHARS

# Pseudo-documents added to the document count: keeps a young store's IDF
# close to uniform instead of punishing every word the first articles share.
IDF_PRIOR_DOCS = 30.0

_TOKEN = re.compile(r"(?P<tok>\d+(?:[.,:]\d+)*|[^\W\d_]+(?:['’][^\W\d_]+)*)|[.!?:;\"“”\n]")


STOPWORDS = frozenset(
    """
    a about above after again against all almost already also although always am among an
    and another any anyone anything are around as at away back be became because become
    been before being below between both but by can cannot could did do does doing done
    down during each either else enough even ever every few for from further get gets got
    had has have having he her here hers herself him himself his how however i if in into
    is it its itself just last least less like made make many may me might more most much
    must my myself near neither never next no nor not now of off often on once one only or
    other others our ours ourselves out over own per perhaps put rather really same says said
    say see seen several shall she should since so some something still such than that the
    their theirs them themselves then there these they this those though through thus to too
    toward towards under until up upon us very via was we well were what whatever when where
    whether which while who whom whose why will with within without would yet you your yours
    yourself yourselves s t don doesn didn isn wasn aren weren won wouldn shouldn couldn ll ve
    re d m o told tell telling according reported reports reporting report news via
    today yesterday tomorrow tonight
    week weeks day days time times year years ago new first two three mr mrs ms dr
    including include includes including told latest update updated read more click
    """.split()
)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English suffix stripper (plurals, -ing, -ed, possessives)."""
    if word.endswith(("'s", "’s")):
        word = word[:-2]
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 5:
        word = word[:-2]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]  # "stopp(ed)" -> "stop", "plann(ing)" -> "plan"
    return word


_COMBINING = re.compile(r"[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]+")


def _fold(text: str) -> str:
    """Strip diacritics so "Zürich" and "Zurich" meet."""
    if text.isascii():
        return text
    return _COMBINING.sub("", unicodedata.normalize("NFKD", text))


_WORDS: dict[str, tuple[str | None, bool, bool]] = {}  # memo of _word (bounded: WORDS_KEPT)
WORDS_KEPT = 200_000


def _word(raw: str) -> tuple[str | None, bool, bool]:
    """``(term or None for a stopword, is a name at a sentence start, is a name
    elsewhere)`` of one word: numbers and acronyms are names anywhere,
    capitalised words only inside a sentence."""
    known = _WORDS.get(raw)
    if known is not None:
        return known
    if raw[0].isdigit():
        word: tuple[str | None, bool, bool] = (raw.replace(",", ""), True, True)
    else:
        lower = raw.lower().replace("’", "'")
        term = None if lower in STOPWORDS or len(lower) < 2 else stem(lower)
        if term is None or term in STOPWORDS or len(term) < 2:
            word = (None, False, False)
        else:
            acronym = len(raw) >= 2 and raw.isupper()
            word = (term, acronym, acronym or raw[0].isupper())
    if len(_WORDS) >= WORDS_KEPT:
        _WORDS.clear()  # a vocabulary that large is not a working set: start again
    _WORDS[raw] = word
    return word


def tokens(
    text: str, *, trust_case: bool = True, limit: int | None = None
) -> list[tuple[str, bool]]:
    """``(term, is_name)`` pairs for the content words of ``text`` (at most ``limit``).

    A word counts as a name when it is capitalised but does not start a
    sentence (or is an acronym); numbers always count; ``trust_case=False``
    (Title Case headlines) turns capitalisation off.

    The words of ``_TOKEN`` in ``text``, read between spaces: no word holds a
    space, and a run of letters alone is one word as it stands (most of them),
    so only the others go through the expression, and reading stops at
    ``limit`` (an article's first 150 words in about 60% of the time of the
    expression over its text).
    """
    out: list[tuple[str, bool]] = []
    append = out.append
    sentence_start = True
    left = -1 if limit is None else max(limit, 1)
    findall, known = _TOKEN.findall, _WORDS.get
    for chunk in _fold(text).split(" "):
        for raw in (chunk,) if chunk.isalpha() else findall(chunk):
            if not raw:  # sentence punctuation
                sentence_start = True
                continue
            term, at_start, inside = known(raw) or _word(raw)
            if term is None:
                sentence_start = False
                continue
            if trust_case:
                append((term, at_start if sentence_start else inside))
            else:
                append((term, raw[0].isdigit()))
            sentence_start = False
            left -= 1
            if left == 0:
                return out
    return out


def normalise(vector: dict[str, float]) -> dict[str, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    if norm == 0.0:
        return {}
    return {t: w / norm for t, w in vector.items()}


def top_terms(vector: dict[str, float], k: int) -> dict[str, float]:
    """The ``k`` heaviest terms of ``vector`` (ties: first inserted first)."""
    if len(vector) <= k:
        return dict(vector)
    # sorted() is what heapq.nlargest is documented to equal, and is faster at these sizes
    return dict(sorted(vector.items(), key=itemgetter(1), reverse=True)[:k])


def add_into(target: dict[str, float], vector: dict[str, float], sign: float = 1.0) -> None:
    """``target += sign * vector`` in place, dropping terms that reach zero."""
    for term, weight in vector.items():
        value = target.get(term, 0.0) + sign * weight
        if value <= 1e-9:
            target.pop(term, None)
        else:
            target[term] = value


# -- the article vector used by the clusterer --------------------------------
# Tuned on a labelled set of look-alike events (bench/cluster_eval.py) by
# average-link clustering: the title counts twice, names (and numbers) four
# times a common word, and the body's first BODY_TOKENS content words count.
VECTOR_TITLE_WEIGHT = 2.0
VECTOR_NAME_BOOST = 4.0
BODY_TOKENS = 150  # read within the first CLUSTER_TEXT_CHARS characters (20 per word)
VECTOR_TERMS = 100  # terms kept per article vector


@functools.lru_cache(maxsize=4096)
def _own_terms(source: str) -> frozenset[str]:
    """The terms of an outlet's name (an import repeats a few hundred outlets)."""
    return frozenset(term for term, _ in tokens(source))


def article_counts(title: str, body: str, source: str = "") -> dict[str, float]:
    """Raw weighted term counts of an article (before IDF).

    Words of the outlet's own name are left out: an outlet that signs every
    article ("Reporters from Metro Herald ...") must not pull its unrelated
    stories together.
    """
    counts: dict[str, float] = {}
    own = _own_terms(source)
    for term, is_name in tokens(title):
        if term not in own:
            boost = VECTOR_NAME_BOOST if is_name else 1.0
            counts[term] = counts.get(term, 0.0) + boost * VECTOR_TITLE_WEIGHT
    for term, is_name in tokens(body[:CLUSTER_TEXT_CHARS], limit=BODY_TOKENS):
        if term not in own:
            counts[term] = counts.get(term, 0.0) + (VECTOR_NAME_BOOST if is_name else 1.0)
    return counts


# -- short articles: character 4-grams ---------------------------------------
# A headline and a sentence share few words with a paraphrase of the same
# event ("Lohan checks into Betty Ford" / "Lindsay Lohan enters rehab at Betty
# Ford clinic"), so short articles are also compared by the character
# 4-grams of their content words, which meet across spellings and word forms.
# Measured on the ECB+ development set, headlines only and headline + first
# sentence (bench/stories_eval.py): as good as a static word embedding
# (wordllama, 19 MB) with nothing to install or load.
GRAM_SIZE = 4
SHORT_WORDS = 60  # up to this many words an article is short; none at twice that


def shortness(title: str, body: str) -> float:
    """1 for a headline and a sentence or two, falling to 0 at ``2 * SHORT_WORDS`` words."""
    words = len(title.split()) + len(body.split(None, 2 * SHORT_WORDS)[: 2 * SHORT_WORDS])
    return max(0.0, min(1.0, 2.0 - words / SHORT_WORDS))


def gram_vector(vector: dict[str, float]) -> dict[str, float]:
    """Unit vector of the 4-grams of an article's weighted words (its :func:`article_vector`).

    Each word lends its grams its own weight, so the words that tell the
    story (names, rare words) carry the comparison and words every article
    shares (a feed's boilerplate, common verbs) carry next to nothing.
    Numbers have no grams: they already weigh as names in the word vector.
    """
    grams: dict[str, float] = {}
    for term, weight in vector.items():
        if term[0].isdigit():
            continue
        word = f" {term} "
        for i in range(max(1, len(word) - GRAM_SIZE + 1)):
            gram = word[i : i + GRAM_SIZE]
            grams[gram] = grams.get(gram, 0.0) + weight
    return normalise(grams)


class _Counted(Protocol):
    def items(self) -> Iterable[tuple[str, float]]: ...


def article_vectors(
    counts: Iterable[_Counted], dfs: Mapping[str, int], n_docs: int
) -> list[dict[str, float]]:
    """:func:`article_vector` of each of ``counts`` (term counts, or the planner's
    packed counts), over the same frequencies: each term's IDF is computed once
    (an import's articles share most of their words)."""
    n = n_docs + IDF_PRIOR_DOCS + 1.0
    log, df = math.log, dfs.get
    idfs: dict[str, float] = {}
    known = idfs.get
    out: list[dict[str, float]] = []
    for items in counts:
        weights: dict[str, float] = {}
        for term, c in items.items():
            idf = known(term)
            if idf is None:
                idf = idfs[term] = log(n / (df(term, 0) + 0.5))
            weight = (1.0 + log(c) if c >= 1.0 else c) * idf
            if weight > 0.0:
                weights[term] = weight
        out.append(normalise(top_terms(weights, VECTOR_TERMS)))
    return out


def article_vector(
    counts: Mapping[str, float], dfs: Mapping[str, int], n_docs: int
) -> dict[str, float]:
    """Sublinear tf times smoothed IDF, the ``VECTOR_TERMS`` heaviest, unit length."""
    return article_vectors([counts], dfs, n_docs)[0]
