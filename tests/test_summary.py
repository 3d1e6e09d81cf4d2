"""Extractive summaries, sentence splitting and headline choice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.digest.summary import (
    choose_headline,
    clean_headline,
    is_boilerplate,
    split_sentences,
    summarize,
    truncate_words,
)
from tests.conftest import shared_path


def test_split_keeps_abbreviations_decimals_and_quotes_together():
    text = (
        "Mr. Smith met Dr. Jones in Washington on Jan. 5 to discuss the deal. "
        "The U.S. economy grew 3.5 percent last year. "
        '"We will win," he said. Then J. K. Rowling arrived at 5 p.m. on Friday.'
    )
    assert split_sentences(text) == [
        "Mr. Smith met Dr. Jones in Washington on Jan. 5 to discuss the deal.",
        "The U.S. economy grew 3.5 percent last year.",
        '"We will win," he said.',
        "Then J. K. Rowling arrived at 5 p.m. on Friday.",
    ]


def test_split_ends_sentence_after_dotted_abbreviation_before_a_sentence_opener():
    assert split_sentences("Troops left the U.S. The talks stalled.") == [
        "Troops left the U.S.",
        "The talks stalled.",
    ]


def test_split_closing_quote_stays_with_its_sentence_and_paragraphs_split():
    text = 'He said: "It is over." Nobody replied.\n\nA new paragraph starts here'
    assert split_sentences(text) == [
        'He said: "It is over."',
        "Nobody replied.",
        "A new paragraph starts here",
    ]


def test_summary_skips_dateline_byline_and_headline_repeat_and_strips_wire_prefix():
    title = "Senate passes budget bill after marathon session"
    body = (
        "Senate passes budget bill after marathon session\n\n"
        "May 03, 2013\n\n"
        "By Jane Doe\n\n"
        "WASHINGTON (Reuters) - The Senate passed the budget bill on Tuesday after a "
        "marathon overnight session. The House is expected to vote next week. "
        "A third sentence is never used."
    )
    assert summarize(title, body) == (
        "The Senate passed the budget bill on Tuesday after a marathon overnight session. "
        "The House is expected to vote next week."
    )


def test_summary_one_sentence_when_asked_and_prefers_the_lead():
    body = "The first sentence is the lead of this story. The second one adds some detail here."
    assert summarize("T", body, max_sentences=1) == "The first sentence is the lead of this story."


def test_summary_second_sentence_only_if_it_fits():
    body = "The first sentence is the lead of this story. " + "The second one is long " * 20 + "."
    assert summarize("T", body, max_chars=100) == "The first sentence is the lead of this story."


def test_summary_cuts_long_sentence_at_word_boundary_with_ellipsis():
    body = "The committee " + "discussed many important things " * 30 + "today."
    result = summarize("T", body, max_chars=80)
    assert len(result) <= 80
    assert result.endswith("…")
    stem = result[:-1]
    assert body.startswith(stem)
    assert body[len(stem)] == " "  # cut at a word boundary, never mid-word


def test_summary_empty_when_nothing_usable():
    assert summarize("Title", "") == ""
    assert summarize("Title", "Photo: Reuters\n\nAdvertisement\n\nMay 3, 2013") == ""


def test_summary_rejects_bad_limits():
    with pytest.raises(ValueError):
        summarize("t", "b", max_chars=0)


@pytest.mark.parametrize(
    "sentence",
    [
        "May 03, 2013",
        "Monday, June 3, 2024 10:45 am EDT",
        "By John Smith and Ann Lee",
        "Advertisement",
        "Read more: the full report",
        "Photo Credit Getty Images Staff Photographer",
    ],
)
def test_boilerplate(sentence):
    assert is_boilerplate(sentence)


def test_not_boilerplate():
    assert not is_boilerplate("The minister resigned on Monday after weeks of pressure.")


@given(st.text(max_size=400), st.integers(min_value=2, max_value=300))
def test_truncate_words_never_exceeds_limit(text, limit):
    out = truncate_words(text, limit)
    assert len(out) <= limit
    if len(text) <= limit:
        assert out == text


def test_summary_on_shared_seed_article():
    path = shared_path("seeds", "000_e49189fab17ffecb.txt")
    text = path.read_text(encoding="utf-8")
    title, _, body = text.partition("\n")
    result = summarize(title, text)
    assert result
    assert len(result) <= 300
    first_sentence = split_sentences(body)[0]
    assert result.startswith(first_sentence[:40])  # the lead, not the repeated headline


def test_clean_headline_drops_outlet_suffix_only_for_that_outlet():
    assert clean_headline("Storm hits coast - BBC News", "BBC News") == "Storm hits coast"
    assert clean_headline("Storm hits coast - BBC News", "Reuters") == "Storm hits coast - BBC News"
    assert clean_headline("  Storm \n hits   coast ") == "Storm hits coast"


def test_choose_headline_prefers_central_title_and_avoids_shouting():
    titles = [
        "BREAKING: STORM HITS COAST, THOUSANDS WITHOUT POWER",
        "Storm hits coast leaving thousands without power",
        "Powerful storm hits coast",
        "Weather chaos: what we know",
    ]
    assert choose_headline(titles) == 1


def test_choose_headline_ties_go_to_the_first_and_empty_never_wins():
    assert choose_headline(["", "Alpha beta gamma", "Alpha beta gamma"]) == 1
    with pytest.raises(ValueError):
        choose_headline([])
