"""parse_feed's two parsers: feedparser-rs first, feedparser for what it misreads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.ingest.parse import feeds
from bot.ingest.parse.feeds import parse_feed

URL = "https://news.example.com/feed.xml"


def rss(items: str, *, head: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        f" {head}><channel><title>C</title><link>https://news.example.com/</link>"
        f"{items}</channel></rss>"
    ).encode()


@pytest.fixture
def used(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the parsers that ran, in order."""
    calls: list[str] = []
    rs, fp = feeds._run_feedparser_rs, feeds._run_feedparser

    def run_rs(data: bytes) -> Any:
        calls.append("feedparser-rs")
        return rs(data)

    def run_fp(data: bytes, content_type: str | None) -> Any:
        calls.append("feedparser")
        return fp(data, content_type)

    monkeypatch.setattr(feeds, "_run_feedparser_rs", run_rs)
    monkeypatch.setattr(feeds, "_run_feedparser", run_fp)
    return calls


def test_a_clean_feed_is_read_by_feedparser_rs_alone(used: list[str]) -> None:
    parsed = parse_feed(
        rss(
            "<item><title>Storm &amp; flood</title><link>/a/1</link>"
            "<guid isPermaLink='false'>g-1</guid><dc:creator>Jane</dc:creator>"
            "<category>Weather</category><pubDate>Wed, 01 May 2024 10:30:00 +0200</pubDate>"
            "<description>Short &lt;b&gt;summary&lt;/b&gt;.</description></item>"
        ),
        url=URL,
    )
    assert used == ["feedparser-rs"]
    [entry] = parsed.entries
    assert entry.title == "Storm & flood"
    assert entry.url == "https://news.example.com/a/1"
    assert entry.guid == "g-1" and entry.author == "Jane" and entry.categories == ["Weather"]
    assert entry.published_at == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert entry.updated_at is None  # an RSS pubDate is no update date (as with feedparser)
    assert entry.summary == "Short <b>summary</b>." and entry.content_is_html
    assert parsed.format == "rss20" and parsed.title == "C"


def test_a_malformed_feed_goes_to_feedparser(used: list[str]) -> None:
    parsed = parse_feed(
        rss("<item><title>One &nbsp;&eacute;</title><link>https://a.example/1</link></item>"),
        url=URL,
    )
    assert used == ["feedparser-rs", "feedparser"]
    assert parsed.entries[0].title == "One \xa0é"  # HTML entities, as feedparser reads them


@pytest.mark.parametrize(
    "tag", ["link", "title", "category", "description", "guid", "dc:creator", "comments"]
)
def test_empty_elements_do_not_swallow_the_next_one(used: list[str], tag: str) -> None:
    parsed = parse_feed(
        rss(
            f"<item><{tag}/><title>Kept</title><link>https://a.example/1</link>"
            "<pubDate>Wed, 01 May 2024 10:30:00 GMT</pubDate><category domain='x'/>"
            "<guid>g-2</guid></item>"
        ),
        url=URL,
    )
    assert used == ["feedparser-rs"]
    [entry] = parsed.entries
    if tag != "title":
        assert entry.title == "Kept"
    assert entry.url == "https://a.example/1"
    assert entry.published_at == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert entry.categories == [] and entry.guid == "g-2"


def test_empty_element_text_in_cdata_is_left_alone() -> None:
    parsed = parse_feed(
        rss(
            "<item><title>T</title><link>https://a.example/1</link>"
            "<description><![CDATA[one<br/>two]]></description></item>"
        )
    )
    assert parsed.entries[0].summary == "one<br/>two"


def test_unescaped_markup_in_a_description_goes_to_feedparser(used: list[str]) -> None:
    parsed = parse_feed(
        rss(
            "<item><title>T</title><link>https://a.example/1</link>"
            "<description>What <em>is</em> good compression?</description></item>"
        )
    )
    assert used == ["feedparser"]
    assert "good compression" in (parsed.entries[0].summary or "")


def test_xml_base_goes_to_feedparser(used: list[str]) -> None:
    parsed = parse_feed(
        rss(
            "<item xml:base='posts/'><title>T</title><link>post-1</link></item>",
            head='xml:base="https://other.example/"',
        ),
        url=URL,
    )
    assert used == ["feedparser"]
    assert parsed.entries[0].url == "https://other.example/posts/post-1"


def test_windows_1252_character_references_are_read_as_meant() -> None:
    parsed = parse_feed(rss("<item><title>don&#146;t &#150; stop</title><guid>g</guid></item>"))
    assert parsed.entries[0].title == "don\u2019t \u2013 stop"


def test_a_date_feedparser_rs_cannot_read_is_read_by_feedparsers_date_parser() -> None:
    parsed = parse_feed(
        rss(
            "<item><title>T</title><guid>g</guid><pubDate>Sat, Dec 16 2023 02:02:33 PM</pubDate></item>"
        )
    )
    # feedparser's reading, as before (it ignores the PM)
    assert parsed.entries[0].published_at == datetime(2023, 12, 16, 2, 2, 33, tzinfo=UTC)


def test_utf16_is_read_by_feedparser_rs(used: list[str]) -> None:
    text = rss("<item><title>Caf\u00e9</title><guid>g</guid></item>").decode()
    data = text.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16")
    parsed = parse_feed(data)
    assert used == ["feedparser-rs"]
    assert parsed.entries[0].title == "Caf\u00e9"


def test_atom_entries_take_the_feeds_author() -> None:
    parsed = parse_feed(
        b'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><id>f</id>'
        b"<author><name>Ann</name></author><updated>2024-01-02T00:00:00Z</updated>"
        b"<entry><id>e1</id><title>E</title><updated>2024-01-02T00:00:00Z</updated>"
        b'<link href="https://a.example/e1"/></entry></feed>'
    )
    [entry] = parsed.entries
    assert entry.author == "Ann"  # RFC 4287 4.2.1: feedparser left it empty
    assert entry.updated_at == datetime(2024, 1, 2, tzinfo=UTC)
    assert entry.url == "https://a.example/e1"


def test_the_entry_cap_applies_to_feedparser_rs_too(used: list[str]) -> None:
    items = "".join(f"<item><title>E{i}</title><guid>g{i}</guid></item>" for i in range(30))
    parsed = parse_feed(rss(items), max_entries=10)
    assert used == ["feedparser-rs"]
    assert [e.title for e in parsed.entries] == [f"E{i}" for i in range(10)]
    assert parsed.warning and "first 10 entries" in parsed.warning


def test_feedparser_alone_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feeds, "PARSERS", ("feedparser",))
    parsed = parse_feed(rss("<item><title>T</title><guid>g</guid></item>"))
    assert parsed.entries[0].title == "T"


def test_an_rss_title_is_plain_text_unless_it_looks_like_html(used: list[str]) -> None:
    parsed = parse_feed(
        rss(
            "<item><title>Vote &lt;t:0:R&gt; &lt;@123&gt;</title><guid>a</guid></item>"
            "<item><title>Bold &lt;b&gt;move&lt;/b&gt;</title><guid>b</guid></item>"
        )
    )
    assert used == ["feedparser-rs"]
    assert [e.title for e in parsed.entries] == ["Vote <t:0:R> <@123>", "Bold  move "]


def test_links_to_private_addresses_are_kept(used: list[str]) -> None:
    parsed = parse_feed(
        rss("<item><title>T</title><link>http://127.0.0.1:8080/news/1</link></item>")
    )
    assert used == ["feedparser"]  # feedparser-rs would blank such links
    assert parsed.entries[0].url == "http://127.0.0.1:8080/news/1"


def test_empty_element_rewrite_is_linear_on_unclosed_sections() -> None:
    # A regex that skipped CDATA sections lazily went quadratic here
    # (20,000 unclosed openers: about 90 s); the scan is one pass.
    bomb = b"<![CDATA[" * 20_000 + b"<a/>"
    assert feeds._expand_empty_elements(bomb) == bomb
    comments = b"<!--" * 20_000 + b"<a/>"
    assert feeds._expand_empty_elements(comments) == comments
    assert feeds._expand_empty_elements(b"<a/><![CDATA[<b/>]]><c x='1' /><!-- <d/> --><e/>") == (
        b"<a></a><![CDATA[<b/>]]><c x='1' ></c><!-- <d/> --><e></e>"
    )


def test_a_cdata_bomb_feed_is_read_quickly_enough_to_finish() -> None:
    items = "<item><title>T</title><guid>g</guid></item>"
    data = rss(items).replace(b"</channel>", b"<![CDATA[" * 20_000 + b"</channel>")
    parse_feed(data)  # malformed: feedparser reads it; either way it ends
