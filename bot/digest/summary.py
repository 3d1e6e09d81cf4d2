"""Extractive summaries and headline choice.

:func:`summarize` keeps the article's own first informative sentences (the
lead), skipping bylines, datelines, boilerplate and a sentence that merely
repeats the headline. :func:`choose_headline` picks the most representative
title among a story's articles.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

ELLIPSIS = "…"

# Words that end with a period without ending the sentence (lower-cased, no dot).
_ABBREVIATIONS = frozenset(
    """
    mr mrs ms dr prof sr jr st mt ft gen col lt sgt capt cmdr adm gov sen rep rev hon pres
    supt insp det cpl pvt maj brig
    jan feb mar apr jun jul aug sep sept oct nov dec
    mon tue tues wed thu thur thurs fri sat sun
    no nos vol vols fig figs p pp ed eds est approx dept univ assn bros corp inc ltd co
    vs etc al cf ca e.g i.e a.m p.m u.s u.k u.n e.u u.s.a d.c
    """.split()
)
# Dotted abbreviations that often do end a sentence ("... in the U.S. The ...").
_SENTENCE_FINAL_ABBREVIATIONS = frozenset({"u.s", "u.k", "u.n", "e.u", "u.s.a", "d.c", "etc"})
_SENTENCE_STARTERS = frozenset(
    """
    the a an he she it they we i this that these those but and however in on at after
    before when while his her their its our there some many most officials police
    """.split()
)

# A candidate boundary: terminal punctuation, optional closing quotes/brackets,
# whitespace, then something that can start a sentence.
_BOUNDARY = re.compile(r"""([.!?…]+)(['"’”)\]]*)(\s+)(?=['"‘“(\[]?[A-Z0-9À-ÖØ-Þ])""")
_WORD_BEFORE = re.compile(r"(\S+)$")
_WORD = re.compile(r"[^\W_]+(?:['’.-][^\W_]+)*", re.UNICODE)

_MONTHS = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATELINE_ONLY = re.compile(
    rf"^\W*(?:(?:mon|tues|wednes|thurs|fri|satur|sun)day,?\s*)?"
    rf"(?:{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s*(?:\d{{4}})?|\d{{1,2}}\s+{_MONTHS},?\s*(?:\d{{4}})?|"
    rf"\d{{4}}-\d{{2}}-\d{{2}})"
    rf"(?:\s*(?:at\s*)?\d{{1,2}}[:.]\d{{2}}\s*(?:[ap]\.?m\.?)?\s*(?:[A-Z]{{2,4}})?)?\W*$",
    re.IGNORECASE,
)
# "WASHINGTON (Reuters) - " / "LONDON, May 3 (AP) — " / "PARIS — " at the start of a lead.
_DATELINE_PREFIX = re.compile(
    r"^[A-Z][A-Z .,'-]{1,40}(?:,\s*[A-Z][a-z]{2,8}\.?\s+\d{1,2})?\s*(?:\([^)]{1,30}\)\s*)?[-–—]+\s+"
)
_BOILERPLATE = re.compile(
    r"^(?:by\s+[A-Z]|photo|image|video|file photo|advertisement|read more|related|click here|"
    r"sign up|subscribe|follow us|share this|updated|published|posted|last modified|"
    r"all rights reserved|copyright|©|\(c\)|this article|listen to|watch:|editor'?s note)",
    re.IGNORECASE,
)
_STOPWORDS = frozenset(
    """
    a an the and or but of in on at to for from by with as is are was were be been it its this
    that these those after before over under into about than then so not no new says said
    """.split()
)
_MIN_WORDS = 5
_MAX_HEADLINE = 120
_SMOOTHING = 3  # phantom words with no support: keeps two-word titles from winning on average


def split_sentences(text: str) -> list[str]:
    """Split plain text into sentences.

    Paragraphs (blank-line separated) never share a sentence. A period after
    a known abbreviation ("Mr.", "Jan.", "U.S.") or an initial ("J. Smith")
    does not end a sentence, unless a dotted abbreviation is followed by a
    typical sentence opener ("... the U.S. The talks ..."). Decimals ("3.5")
    never split because no whitespace follows the dot.
    """
    sentences: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        paragraph = " ".join(paragraph.split())
        if paragraph:
            sentences.extend(_split_paragraph(paragraph))
    return sentences


def _split_paragraph(paragraph: str) -> list[str]:
    out: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(paragraph):
        if match.group(1) == "." and not match.group(2) and _is_abbreviation(paragraph, match):
            continue
        end = match.end(2)
        sentence = paragraph[start:end].strip()
        if sentence:
            out.append(sentence)
        start = match.end()
    rest = paragraph[start:].strip()
    if rest:
        out.append(rest)
    return out


def _is_abbreviation(paragraph: str, match: re.Match[str]) -> bool:
    before = _WORD_BEFORE.search(paragraph, 0, match.start(1))
    if before is None:
        return False
    word = before.group(1).lstrip("\"'‘“([").lower()
    if len(word) == 1 and word.isalpha():  # an initial: "J. Smith"
        return True
    if word not in _ABBREVIATIONS and not re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
        return False
    if word in _SENTENCE_FINAL_ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", word):
        following = _WORD.match(paragraph, match.end())
        return not (following and following.group(0).lower() in _SENTENCE_STARTERS)
    return True


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return [t.lower() for t in _WORD.findall(text)]


def _content_tokens(text: str) -> set[str]:
    return {t for t in tokens(text) if t not in _STOPWORDS}


def _strip_dateline(sentence: str) -> str:
    stripped = _DATELINE_PREFIX.sub("", sentence, count=1)
    return stripped if len(stripped) >= 20 else sentence


def is_boilerplate(sentence: str) -> bool:
    """True for sentences that carry no news: bylines, datelines, captions, short fragments."""
    if _DATELINE_ONLY.match(sentence) or _BOILERPLATE.match(sentence):
        return True
    words = sentence.split()
    if len(words) < _MIN_WORDS:
        return True
    lower = sum(1 for w in words if w[:1].islower())
    # Title Case fragments (captions, bylines, section labels) have few lower-case words.
    return lower < max(2, len(words) // 4)


def repeats_headline(sentence: str, headline: str, threshold: float = 0.8) -> bool:
    """True when most of the sentence's content words are in the headline."""
    sent = _content_tokens(sentence)
    if not sent:
        return True
    head = _content_tokens(headline)
    return len(sent & head) / len(sent) >= threshold


def summarize(title: str, body: str, *, max_sentences: int = 2, max_chars: int = 300) -> str:
    """A one- or two-sentence extractive summary of ``body`` (the lead).

    Returns ``""`` when the body has no usable sentence. The result is at most
    ``max_chars`` long; a first sentence that is longer is cut at a word
    boundary and ends with "…".
    """
    if max_chars < 2 or max_sentences < 1:
        raise ValueError("summarize needs max_chars >= 2 and max_sentences >= 1")
    chosen: list[str] = []
    for sentence in split_sentences(body or ""):
        sentence = _strip_dateline(sentence)
        if is_boilerplate(sentence) or repeats_headline(sentence, title):
            continue
        candidate = " ".join([*chosen, sentence])
        if chosen and len(candidate) > max_chars:
            break
        chosen.append(sentence)
        if len(chosen) >= max_sentences:
            break
    return truncate_words(" ".join(chosen), max_chars)


def truncate_words(text: str, max_chars: int) -> str:
    """``text`` if short enough, else cut at the last word boundary plus "…"."""
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - len(ELLIPSIS) + 1]
    space = cut.rfind(" ")
    if space > 0:
        cut = cut[:space]
    else:  # one enormous "word": a hard cut is the only option
        cut = cut[: max_chars - len(ELLIPSIS)]
    return cut.rstrip(" ,;:-–—") + ELLIPSIS


def clean_headline(title: str, source: str = "") -> str:
    """Collapse whitespace and drop a trailing " - Outlet" / " | Outlet" naming ``source``."""
    title = " ".join(title.split())
    if source:
        match = re.search(r"\s+[-–—|:]\s+([^-–—|:]{2,60})$", title)
        if match and match.group(1).strip().casefold() == source.strip().casefold():
            title = title[: match.start()].rstrip()
    return title


def _is_shouting(title: str) -> bool:
    letters = sum(map(str.isalpha, title))
    return letters >= 8 and sum(map(str.isupper, title)) / letters > 0.8


def choose_headline(titles: Sequence[str]) -> int:
    """Index of the most representative title.

    Rule: each title scores the average, over its content words plus three
    phantom words, of the share of the *other* titles that use that word
    (centrality: the title closest to what everyone says, without rewarding
    a bare two-word title for being short). The score is halved for ALL-CAPS titles, and reduced
    for titles longer than 120 characters or shorter than 3 words; empty titles
    never win. Ties go to the earliest title in ``titles`` (callers pass them
    oldest first). Linear in the total number of words.
    """
    if not titles:
        raise ValueError("choose_headline needs at least one title")
    token_sets = [_content_tokens(t) for t in titles]
    df: Counter[str] = Counter()
    for ts in token_sets:
        df.update(ts)
    others = max(1, len(titles) - 1)
    best, best_score = 0, float("-inf")
    for index, (title, ts) in enumerate(zip(titles, token_sets, strict=True)):
        if not title.strip():
            score = -1.0
        else:
            score = sum(df[t] - 1 for t in ts) / ((len(ts) + _SMOOTHING) * others)
            score += 0.001  # a real title beats an empty one even with no overlap
            if _is_shouting(title):
                score *= 0.5
            if len(title) > _MAX_HEADLINE:
                score *= 0.7
            if len(title.split()) < 3:
                score *= 0.7
        if score > best_score:
            best, best_score = index, score
    return best
