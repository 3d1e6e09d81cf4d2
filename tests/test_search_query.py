"""The search language: each construct, its FTS5 and tsquery translations, hostile input."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.models import SearchWords
from bot.search.query import (
    MAX_TERM_CHARS,
    MAX_TERMS,
    DateFilter,
    Group,
    QueryError,
    Term,
    parse_query,
)
from bot.store.fts import to_fts, to_tsquery_text
from bot.store.tokenizer import FTS_TOKENIZER

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2023, 9, 20, 10, 0, tzinfo=UTC)


def fts(text: str) -> str | None:
    return to_fts(parse_query(text).words)


# ------------------------------------------------------------------ constructs


def test_words_are_all_required_and_quoted():
    query = parse_query("climate summit")
    assert query.root == Group("AND", (Term("climate"), Term("summit")))
    assert to_fts(query.words) == '("climate" AND "summit")'


def test_single_word():
    assert fts("climate") == '"climate"'


def test_exact_phrase():
    query = parse_query('"sea level" rise')
    assert query.root == Group("AND", (Term("sea level", phrase=True), Term("rise")))
    assert to_fts(query.words) == '("sea level" AND "rise")'


def test_curly_quotes_from_phones_make_phrases():
    assert fts("\u201csea level\u201d") == '"sea level"'


def test_unclosed_quote_runs_to_the_end():
    assert fts('"sea level') == '"sea level"'


def test_uppercase_or_binds_tighter_than_and():
    assert fts("a b OR c d") == '("a" AND ("b" OR "c") AND "d")'
    assert fts("wind OR solar OR tidal") == '("wind" OR "solar" OR "tidal")'


def test_lowercase_or_and_not_are_plain_words():
    assert fts("cats or dogs") == '("cats" AND "or" AND "dogs")'
    assert fts("not really") == '("not" AND "really")'


def test_uppercase_and_is_ignored_and_not_excludes():
    assert fts("cats AND dogs") == '("cats" AND "dogs")'
    assert fts("cats NOT dogs") == '"cats" NOT "dogs"'


def test_dangling_or_is_ignored():
    assert fts("OR cats OR") == '"cats"'


def test_parentheses_group():
    assert fts("(wind OR solar) power") == '(("wind" OR "solar") AND "power")'
    assert fts("((((nested))))") == '"nested"'
    assert fts("(unclosed group") == '("unclosed" AND "group")'
    assert fts("stray) paren)") == '("stray" AND "paren")'


def test_exclusions():
    query = parse_query('oil -spill -"oil price" -(tanker ship)')
    assert query.excluded == [
        Term("spill"),
        Term("oil price", phrase=True),
        Group("AND", (Term("tanker"), Term("ship"))),
    ]
    assert to_fts(query.words) == '"oil" NOT "spill" NOT "oil price" NOT ("tanker" AND "ship")'


def test_lone_dash_is_not_an_exclusion():
    assert fts("well - known") == '("well" AND "known")'


def test_prefix():
    query = parse_query("econom*")
    assert query.root == Term("econom", prefix=True)
    assert to_fts(query.words) == '"econom" *'
    assert fts('"climate chan"*') == '"climate chan" *'


def test_short_prefix_becomes_a_word_with_a_note():
    query = parse_query("ab*")
    assert query.root == Term("ab")
    assert any("prefix" in note for note in query.notes)


def test_star_in_odd_places_is_just_text():
    assert fts("*star") == '"*star"'
    assert fts("a*b") == '"a*b"'
    with pytest.raises(QueryError):
        parse_query("***")


def test_source_filters():
    query = parse_query('source:reuters source:"Le Monde" site:bbc.co.uk -source:tabloid floods')
    assert query.sources == ["reuters", "Le Monde", "bbc.co.uk"]
    assert query.excluded_sources == ["tabloid"]
    assert to_fts(query.words) == '"floods"'


def test_date_filters_are_kept_unresolved():
    query = parse_query(
        'date:2023-09-17 on:yesterday before:2023-09-17 after:2023-09-10 date:"last week"'
    )
    assert query.dates == [
        DateFilter("date", "2023-09-17"),
        DateFilter("date", "yesterday"),
        DateFilter("before", "2023-09-17"),
        DateFilter("after", "2023-09-10"),
        DateFilter("date", "last week"),
    ]


def test_unquoted_relative_dates_read_on():
    query = parse_query("date:last week storms date:past 3 days")
    assert query.dates == [DateFilter("date", "last week"), DateFilter("date", "past 3 days")]
    assert to_fts(query.words) == '"storms"'


def test_date_range_resolution():
    query = parse_query("floods date:2023-09-10..2023-09-17")
    start, end = query.date_range(tz=PARIS, now=NOW)
    assert start == datetime(2023, 9, 9, 22, tzinfo=UTC)
    assert end == datetime(2023, 9, 17, 22, tzinfo=UTC)


def test_before_and_after_exclude_the_named_day():
    query = parse_query("x after:2023-09-10 before:2023-09-17")
    start, end = query.date_range(tz=PARIS, now=NOW)
    assert start == datetime(2023, 9, 10, 22, tzinfo=UTC)  # end of the 10th, Paris
    assert end == datetime(2023, 9, 16, 22, tzinfo=UTC)  # start of the 17th, Paris


def test_several_date_filters_intersect():
    query = parse_query('x date:"this month" date:2023-09-17')
    assert query.date_range(tz=PARIS, now=NOW) == (
        datetime(2023, 9, 16, 22, tzinfo=UTC),
        datetime(2023, 9, 17, 22, tzinfo=UTC),
    )


def test_no_date_filter_gives_open_range():
    assert parse_query("x").date_range(tz=PARIS, now=NOW) == (None, None)


def test_bad_date_is_a_query_error():
    query = parse_query("x date:blorp")
    with pytest.raises(QueryError, match="I don't understand the date 'blorp'"):
        query.date_range(tz=PARIS, now=NOW)


def test_excluding_a_date_is_an_error():
    with pytest.raises(QueryError, match="before: or after:"):
        parse_query("x -date:today")


def test_filters_only_query_is_valid_without_words():
    query = parse_query("source:reuters date:today")
    assert not query.has_words and query.has_filters
    assert to_fts(query.words) is None


def test_unknown_field_is_text():
    assert fts("title:secret") == '"title:secret"'
    assert fts("date:") == '"date:"'


# ---------------------------------------------------------------- empty queries


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_query_is_an_error(text):
    with pytest.raises(QueryError, match="Nothing to search for: add at least one word"):
        parse_query(text)


def test_empty_query_allowed_when_the_caller_has_filters():
    query = parse_query("", allow_empty=True)
    assert to_fts(query.words) is None


def test_only_exclusions_is_an_error():
    with pytest.raises(QueryError, match="excluded"):
        parse_query("-trump -biden")
    with pytest.raises(QueryError, match="excluded"):
        parse_query("source:reuters -trump")


@pytest.mark.parametrize("text", ["!!!", "😀 🎉", "... --- ***", "()", '""', "\u0301"])
def test_punctuation_and_emoji_alone_are_an_error(text):
    with pytest.raises(QueryError, match="Nothing to search for"):
        parse_query(text)


def test_punctuation_tokens_are_dropped_with_a_note():
    query = parse_query("storm 😀 !!! coast")
    assert to_fts(query.words) == '("storm" AND "coast")'
    assert any("ignored" in note for note in query.notes)


def test_emoji_inside_a_word_is_kept():
    assert fts("storm😀") == '"storm😀"'


# ------------------------------------------------------------------ safety


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title:x", '"title:x"'),
        ("NEAR(a b)", '("NEAR" AND "a" AND "b")'),
        ("^start", '"^start"'),
        ("a + b", '("a" AND "b")'),
        ("{title body}:x", '("{title" AND "body}:x")'),
        ("'; DROP TABLE articles; --", '("DROP" AND "TABLE" AND "articles;")'),
        ('say "he said ""hi"""', '("say" AND "he said" AND "hi")'),
        ('a"b', '("a" AND "b")'),
        ("a\x00b", '("a" AND "b")'),
        ("a\ud800b", '("a" AND "b")'),
        ("שלום עולם", '("שלום" AND "עולם")'),
    ],
)
def test_hostile_input_becomes_quoted_strings(text, expected):
    assert fts(text) == expected


def test_internal_double_quotes_are_doubled():
    # Only reachable through the Term API: the tokenizer never keeps a quote.
    from bot.search.query import Query

    assert to_fts(Query(text="", root=Term('say "hi"'))) == '"say ""hi"""'


def test_terms_are_capped_with_a_note():
    query = parse_query(" ".join(f"w{i}" for i in range(100)))
    assert isinstance(query.root, Group) and len(query.root.children) == MAX_TERMS
    assert any(str(MAX_TERMS) in note for note in query.notes)


def test_long_terms_are_cut_with_a_note():
    query = parse_query("x" * 10_000)
    assert query.root == Term("x" * MAX_TERM_CHARS)
    assert query.notes


def test_deep_nesting_does_not_recurse_forever():
    assert fts("(" * 1500 + "deep" + ")" * 1500) == '"deep"'


def test_describe_renders_the_normalised_query():
    query = parse_query('wind  OR solar -oil "sea level" econom* source:"Le Monde" date:today')
    assert query.describe() == (
        '(wind OR solar) "sea level" econom* -oil source:"Le Monde" date:today'
    )


# ------------------------------------------------------ PostgreSQL's tsquery


def tsq(text: str) -> str | None:
    compiled = to_tsquery_text(parse_query(text).words)
    return None if compiled is None else compiled[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("climate summit", "('climate' & 'summit')"),
        ('"sea level" rise', "('sea level' & 'rise')"),
        ("wind OR solar", "('wind' | 'solar')"),
        ("oil -spill -(tanker ship)", "'oil' & !'spill' & !('tanker' & 'ship')"),
        ("econom*", "('econom':*)"),
        ('"sea lev"*', "('sea' <-> 'lev':*)"),
        ("e-mail*", "('e' <-> 'mail':*)"),
        # Punctuation splits words as in the index (FTS5's unicode61 does the same).
        ("evil.example/phish", "'evil example phish'"),
    ],
)
def test_tsquery_translation(text, expected):
    assert tsq(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("title:x", "'title x'"),
        ("a:* | b <-> !c", "('a' & 'b' & 'c')"),
        ("'; DROP TABLE articles; --", "('DROP' & 'TABLE' & 'articles')"),
        ("a\\b'c", "'a b c'"),
        ("a\x00b", "('a' & 'b')"),
        ("שלום עולם", "('שלום' & 'עולם')"),
    ],
)
def test_hostile_input_becomes_quoted_tsquery_operands(text, expected):
    assert tsq(text) == expected


def test_words_of_punctuation_only_drop_out_of_the_tsquery():
    # Only reachable through the Term API: the parser drops such words.
    only = SearchWords(Term("..."))
    assert to_tsquery_text(only) == ("", "")  # nothing can match
    mixed = SearchWords(Group("OR", (Term("..."), Term("x"))), (Term("--"), Term("y")))
    assert to_tsquery_text(mixed) == ("('x') & !'y'", "('x')")


# -------------------------------------------------------- property-based tests

_FTS = sqlite3.connect(":memory:")
_FTS.execute(f"CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize = '{FTS_TOKENIZER}')")
_FTS.execute("INSERT INTO t VALUES ('storm and NEAR the coast', 'OR AND NOT')")

_NASTY = st.sampled_from(
    ["NEAR", "NEAR(", "AND", "OR", "NOT", "title:", "body:", "source:", "date:", "-", '"', "*"]
    + ["^", "(", ")", "{", "}", "[", "]", "'", ":", "+", "storm", "coast", "\x00", "😀", " "]
)
QUERY_TEXT = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from("\"*^():-+{}[]' abcNEARORNOT"), max_size=80),
    st.lists(_NASTY, max_size=40).map("".join),
    st.lists(_NASTY, max_size=40).map(" ".join),
    st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=10), st.integers(500, 1000)),
)


@settings(max_examples=400, deadline=None)
@given(text=QUERY_TEXT)
def test_any_text_gives_valid_fts_or_query_error(text):
    try:
        query = parse_query(text)
    except QueryError as exc:
        assert str(exc)
        return
    match = to_fts(query.words)
    if match is None:
        assert query.has_filters
        return
    _FTS.execute("SELECT rowid FROM t WHERE t MATCH ?", (match,)).fetchall()


@pytest.fixture
def tsquery_check(postgres_url):
    """``check(text)``: PostgreSQL parses ``text`` with to_tsquery (its error if not)."""
    from bot.store import open_db

    loop = asyncio.new_event_loop()
    db = loop.run_until_complete(open_db(postgres_url))

    def check(text: str) -> None:
        sql = "SELECT CAST(to_tsquery('newsdesk', CAST(? AS TEXT)) AS TEXT)"
        loop.run_until_complete(db.execute_fetchall(sql, (text,)))

    try:
        yield check
    finally:
        loop.run_until_complete(db.close())
        loop.close()


def test_any_text_gives_a_valid_tsquery_or_query_error(tsquery_check):
    @settings(max_examples=400, deadline=None)
    @given(text=QUERY_TEXT)
    def check(text: str) -> None:
        try:
            query = parse_query(text)
        except QueryError as exc:
            assert str(exc)
            return
        compiled = to_tsquery_text(query.words)
        if compiled is None:
            assert query.has_filters
            return
        for part in compiled:
            if part:
                tsquery_check(part)

    check()
