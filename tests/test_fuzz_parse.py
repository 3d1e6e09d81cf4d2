"""Property-based fuzzing: parsers raise only ParseError; cleaning is idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.clean import clean_text, html_to_text, to_article
from bot.ingest.parse import ParseError, iter_jsonl, parse_feed, parse_opml, parse_text_article
from bot.models import Article, Entry
from tests.conftest import shared_path

FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SEED_FEED = b"""<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE rss [<!ENTITY nbsp "&#160;">]>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">
<channel><title>Seed &amp; feed</title><link>https://seed.example/</link>
<item><title>First &lt;b&gt;story&lt;/b&gt;</title><link>/a/1</link><guid>seed-1-abc</guid>
<pubDate>Wed, 01 May 2024 10:30:00 +0200</pubDate><category>World</category>
<description>Summary&nbsp;one</description>
<content:encoded><![CDATA[<p>Body <em>one</em></p><p>Read more: elsewhere</p>]]></content:encoded></item>
<item><title>Second</title><link>https://seed.example/a/2</link></item>
</channel></rss>"""

SEED_ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>
<entry><title type="html">T &amp;amp; U</title><link href="x"/><id>tag:a,2024:1</id>
<updated>2024-01-01T00:00:00Z</updated><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
<p>Hi</p></div></content></entry></feed>"""


@st.composite
def mutated(draw: st.DrawFn, seed: bytes) -> bytes:
    """The seed document with a few random byte-level edits."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        chunk = draw(
            st.binary(min_size=1, max_size=6)
            | st.sampled_from(
                [
                    b"<",
                    b">",
                    b"&",
                    b"]]>",
                    b"<!ENTITY x 'y'>",
                    b"\x00",
                    b"\xff\xfe",
                    b"&#0;",
                    b"\xc3",
                ]
            )
        )
        if action == "insert":
            data[position:position] = chunk
        elif action == "delete":
            del data[position : position + len(chunk)]
        elif action == "replace":
            data[position : position + len(chunk)] = chunk
        else:
            del data[position:]
    return bytes(data)


def _parse_feed_only_raises_parse_error(data: bytes) -> None:
    try:
        feed = parse_feed(data, url="https://fuzz.example/feed.xml")
    except ParseError:
        return
    for entry in feed.entries:
        assert isinstance(entry, Entry)
        assert len(entry.title) <= 1000
        assert entry.url is None or entry.url.startswith(("http://", "https://"))
        assert entry.published_at is None or entry.published_at.tzinfo is not None


@FUZZ
@given(st.binary(max_size=2000))
def test_parse_feed_random_bytes(data: bytes) -> None:
    _parse_feed_only_raises_parse_error(data)


@FUZZ
@given(st.one_of(mutated(SEED_FEED), mutated(SEED_ATOM)))
def test_parse_feed_mutated_feeds(data: bytes) -> None:
    _parse_feed_only_raises_parse_error(data)


def test_parse_feed_mutated_real_feeds() -> None:
    fixtures = shared_path("feeds", "feed-rs", "feed-rs", "fixture")
    names = (
        "rss2/rss_2.0_bbc.xml",
        "atom/atom_example_reddit.xml",
        "rss1/rss_1.0_spec_1.xml",
        "jsonfeed/jsonfeed_spec_1.json",
    )
    seeds = [(fixtures / n).read_bytes()[:6000] for n in names if (fixtures / n).exists()]
    assert seeds

    @FUZZ
    @given(st.sampled_from(seeds).flatmap(mutated))
    def check(data: bytes) -> None:
        _parse_feed_only_raises_parse_error(data)

    check()


@FUZZ
@given(
    st.binary(max_size=500) | mutated(b'<opml><body><outline xmlUrl="https://a/x"/></body></opml>')
)
def test_parse_opml_only_raises_parse_error(data: bytes) -> None:
    try:
        result = parse_opml(data)
    except ParseError:
        return
    assert all(isinstance(f.url, str) and f.url for f in result)
    assert all(isinstance(tag, str) and tag for f in result for tag in f.tags)


# Text with the characters that make cleaning hard: entities, markup, controls,
# zero-width and combining characters, odd line breaks.
_TRICKY = st.sampled_from(
    [
        "&",
        "&amp;",
        "&amp;amp;",
        "&lt;",
        "&#10;",
        "&#x7;",
        "&nbsp;",
        "<",
        ">",
        "<p>",
        "</p>",
        "<br>",
        "\n",
        "\n\n",
        "\r",
        "\u2028",
        "\x85",
        "\x0b",
        "\u200b",
        "\ufeff",
        "\u00ad",
        "\u0301",
        "\u00a0",
        "\t",
        " ",
        "Read more: x",
        "Advertisement",
        "a",
        "B",
        ".",
        "é",
        "\x00",
    ]
)
TEXT = st.lists(st.one_of(_TRICKY, st.text(max_size=12)), max_size=40).map("".join)


@FUZZ
@given(TEXT)
def test_clean_text_is_idempotent(text: str) -> None:
    once = clean_text(text)
    assert clean_text(once) == once
    assert "\n\n\n" not in once and once == once.strip()


@FUZZ
@given(TEXT)
def test_html_to_text_output_is_clean(text: str) -> None:
    once = html_to_text(text)
    assert clean_text(once) == once


@FUZZ
@given(
    title=TEXT,
    body=TEXT,
    is_html=st.booleans(),
    url=st.one_of(st.none(), st.text(max_size=30), st.just("https://x.example/a?utm_source=1")),
    guid=st.one_of(st.none(), st.text(max_size=20)),
    categories=st.lists(st.text(max_size=10), max_size=3),
)
def test_to_article_never_fails(
    title: str, body: str, is_html: bool, url: str | None, guid: str | None, categories: list[str]
) -> None:
    entry = Entry(
        title=title,
        url=url,
        guid=guid,
        categories=categories,
        content=body,
        summary=body[:50],
        content_is_html=is_html,
    )
    article = to_article(entry, fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
    if article is None:
        return
    assert isinstance(article, Article)
    assert article.title and article.source
    assert len(article.title) <= 500
    assert clean_text(article.body) == article.body


@FUZZ
@given(TEXT)
def test_text_and_jsonl_parsers_only_raise_parse_error(text: str) -> None:
    try:
        parse_text_article(text)
    except ParseError:
        pass
    for result in iter_jsonl(text.splitlines()):
        assert isinstance(result, Entry | ParseError)
