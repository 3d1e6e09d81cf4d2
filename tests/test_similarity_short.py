"""Short articles meet by character 4-grams; strays join the one story they belong to.

These exercise the pure clustering functions (``bot.stories.agglomerate``)
on vectors built by ``bot.stories.features``, the same way the clusterer
builds them; the end-to-end quality figures come from bench/stories_eval.py.
"""

from __future__ import annotations

from bot.stories import features as ft
from bot.stories.agglomerate import (
    STRAY_FACTOR,
    STRAY_MARGIN,
    STRAY_SIZE,
    Node,
    agglomerate,
    similarity,
)

SPAN = 96 * 3600.0
THRESHOLD = 0.18


def node(k: int, title: str, body: str = "", *, at: float = 0.0, df: dict | None = None) -> Node:
    counts = ft.article_counts(title, body)
    vector = ft.article_vector(counts, df or {}, 50)
    short = ft.shortness(title, body)
    grams = ft.gram_vector(vector) if short else {}
    return Node(dict(vector), 1, at, at, None, [k], grams=grams, short=short)


def test_shortness_is_one_for_a_headline_and_zero_for_an_article():
    assert ft.shortness("Pinup icon Bettie Page dies at 85", "") == 1.0
    assert ft.shortness("Title", " ".join(["word"] * 200)) == 0.0
    assert 0.0 < ft.shortness("Title", " ".join(["word"] * 80)) < 1.0


def test_word_forms_and_spellings_meet_in_short_headlines():
    a = node(0, "Bettie Page, pin-up queen of the 1950s, dies")
    b = node(1, "Betty Page dead: pinup queen passes away")
    without = Node(dict(a.vector), 1, 0.0, 0.0, None, [0])
    other = Node(dict(b.vector), 1, 0.0, 0.0, None, [1])
    assert similarity(a, b, SPAN) > similarity(without, other, SPAN)


def test_unrelated_short_headlines_gain_nothing_from_4_grams():
    a = node(0, "Central bank holds interest rates steady")
    b = node(1, "Storm floods coastal towns, thousands evacuated")
    plain_a = Node(dict(a.vector), 1, 0.0, 0.0, None, [0])
    plain_b = Node(dict(b.vector), 1, 0.0, 0.0, None, [1])
    assert similarity(a, b, SPAN) == similarity(plain_a, plain_b, SPAN)


def test_full_text_articles_are_compared_by_words_only():
    body = " ".join(["The council debated the budget for the new harbour bridge."] * 20)
    a = node(0, "Council debates harbour bridge budget", body)
    assert a.short == 0.0 and a.grams == {}


BRIDGE = (
    "The Harbour Bridge in Port Elmsworth was closed on Monday after engineers found cracks "
    "in two steel girders. Mayor Ruth Okafor said the closure would last at least a week "
    "and ferries would run every fifteen minutes."
)


def test_a_stray_joins_the_story_it_is_close_to_and_only_that_one():
    story = [
        node(k, "Port Elmsworth Harbour Bridge closed: cracks in girders", BRIDGE, at=k)
        for k in range(STRAY_SIZE + 1)
    ]
    angle = node(
        10,
        "Opinion: why Port Elmsworth cannot afford another Harbour Bridge closure",
        "Ferries every fifteen minutes will not carry the commuters who crossed the Harbour "
        "Bridge each morning; Mayor Ruth Okafor must publish the engineers' girder report.",
        at=5,
    )
    unrelated = node(11, "Bluewater ferry fares rise by a fifth", FERRY, at=5)
    (whole,) = agglomerate(story[:], threshold=THRESHOLD, span_s=SPAN)
    close = similarity(angle, whole, SPAN)
    threshold = close * 1.2  # the angle falls short of it, but not by much
    assert STRAY_FACTOR * threshold <= close < threshold
    story = [
        node(k, "Port Elmsworth Harbour Bridge closed: cracks in girders", BRIDGE, at=k)
        for k in range(STRAY_SIZE + 1)
    ]
    clusters = agglomerate([*story, angle, unrelated], threshold=threshold, span_s=SPAN)
    assert sorted(sorted(c.members) for c in clusters) == [[0, 1, 2, 3, 10], [11]]


FERRY = (
    "Ferry operator Bluewater raised its fares by a fifth, citing fuel costs. Passengers "
    "complained of long queues at the Kingsbay terminal."
)


def test_a_stray_as_close_to_two_stories_stays_alone():
    def stories() -> list[Node]:
        bridge = [node(k, "Harbour Bridge closed after girder cracks", BRIDGE) for k in range(4)]
        ferry = [node(10 + k, "Bluewater ferry fares rise by a fifth", FERRY) for k in range(4)]
        return [*bridge, *ferry]

    between = node(
        20,
        "Commuters face a costly week",
        "Girder cracks shut the Harbour Bridge while Bluewater ferry fares rose by a fifth; "
        "the week will cost commuters dearly.",
    )
    near = [
        similarity(between, c, SPAN) for c in agglomerate(stories(), threshold=0.5, span_s=SPAN)
    ]
    threshold = max(near) * 1.1
    assert all(STRAY_FACTOR * threshold <= s < threshold for s in near)  # a stray near both
    assert max(near) < STRAY_MARGIN * min(near)
    clusters = agglomerate([*stories(), between], threshold=threshold, span_s=SPAN)
    assert sorted(sorted(c.members) for c in clusters) == [[0, 1, 2, 3], [10, 11, 12, 13], [20]]
