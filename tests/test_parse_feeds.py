"""parse_feed / parse_json_feed: formats, fields, dates, links, safety, real-world files."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.ingest.parse import ParseError, parse_feed, parse_json_feed
from tests.conftest import shared_path

FEED_URL = "https://news.example.com/feeds/world.xml"

RSS = b"""<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>Example News</title>
  <link>https://news.example.com/</link>
  <item>
    <title>Storm hits &amp; floods the coast</title>
    <link>/2024/05/01/storm.html</link>
    <guid isPermaLink="false">story-98765-abc</guid>
    <dc:creator>Jane Reporter</dc:creator>
    <category>Weather</category>
    <category>Coast</category>
    <pubDate>Wed, 01 May 2024 10:30:00 +0200</pubDate>
    <description>Short &lt;b&gt;summary&lt;/b&gt;.</description>
    <content:encoded><![CDATA[<p>Full <em>story</em> text.</p><p>Second paragraph.</p>]]></content:encoded>
  </item>
  <item>
    <title>Bad link and old date</title>
    <link>javascript:alert(1)</link>
    <pubDate>Mon, 01 Jan 1979 00:00:00 GMT</pubDate>
    <description>Plain text only.</description>
  </item>
  <item>
    <title>Future and garbage dates</title>
    <link>data:text/html,hello</link>
    <pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate>
  </item>
  <item>
    <title>No date at all</title>
    <link>https://other.example.org/a?b=1</link>
    <pubDate>sometime last week</pubDate>
  </item>
</channel>
</rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.net/">
  <title>Example Blog</title>
  <link href="/"/>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2024-03-02T12:00:00Z</updated>
  <entry>
    <title type="html">Markets &lt;i&gt;rally&lt;/i&gt;</title>
    <link rel="alternate" href="posts/markets-rally"/>
    <id>tag:blog.example.net,2024:1</id>
    <author><name>Sam Writer</name></author>
    <category term="Economy"/>
    <published>2024-03-01T09:00:00-05:00</published>
    <updated>2024-03-02T10:00:00Z</updated>
    <summary>Stocks rose.</summary>
    <content type="html">&lt;p&gt;Stocks rose sharply.&lt;/p&gt;</content>
  </entry>
</feed>"""

RSS1 = b"""<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://rdf.example.com/"><title>RDF site</title>
    <link>https://rdf.example.com/</link><description>d</description></channel>
  <item rdf:about="https://rdf.example.com/item1">
    <title>First RDF item</title><link>https://rdf.example.com/item1</link>
    <dc:date>2023-06-05T08:00:00Z</dc:date>
  </item>
</rdf:RDF>"""


def _rss_with_items(count: int, title: str = "t") -> bytes:
    items = "".join(
        f"<item><title>{title}</title><link>https://e.com/{i}</link></item>" for i in range(count)
    )
    return f'<rss version="2.0"><channel><title>c</title>{items}</channel></rss>'.encode()


def test_rss2_fields() -> None:
    feed = parse_feed(RSS, url=FEED_URL)
    assert feed.format == "rss20"
    assert feed.title == "Example News"
    assert feed.link == "https://news.example.com/"
    first = feed.entries[0]
    assert first.title == "Storm hits & floods the coast"
    assert first.url == "https://news.example.com/2024/05/01/storm.html"
    assert first.guid == "story-98765-abc"
    assert first.author == "Jane Reporter"
    assert first.categories == ["Weather", "Coast"]
    assert first.published_at == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert first.content is not None and "<em>story</em>" in first.content
    assert first.content_is_html
    assert first.summary is not None and "summary" in first.summary


def test_rss2_bad_links_and_dates_become_none() -> None:
    entries = parse_feed(RSS, url=FEED_URL).entries
    assert entries[1].url is None  # javascript:
    assert entries[1].published_at is None  # 1979
    assert entries[2].url is None  # data:
    assert entries[2].published_at is None  # 2100
    assert entries[3].url == "https://other.example.org/a?b=1"
    assert entries[3].published_at is None  # unparseable


def test_atom_fields_and_xml_base() -> None:
    feed = parse_feed(ATOM, url="https://elsewhere.example/feed")
    assert feed.format == "atom10"
    entry = feed.entries[0]
    assert "<i>" not in entry.title and "rally" in entry.title
    assert entry.url == "https://blog.example.net/posts/markets-rally"
    assert entry.author == "Sam Writer"
    assert entry.categories == ["Economy"]
    assert entry.published_at == datetime(2024, 3, 1, 14, 0, tzinfo=UTC)
    assert entry.updated_at == datetime(2024, 3, 2, 10, 0, tzinfo=UTC)
    assert entry.content == "<p>Stocks rose sharply.</p>"
    assert entry.content_is_html
    assert entry.summary == "Stocks rose."


def test_rss1() -> None:
    feed = parse_feed(RSS1)
    assert feed.format == "rss10"
    assert [e.title for e in feed.entries] == ["First RDF item"]
    assert feed.entries[0].updated_at == datetime(2023, 6, 5, 8, tzinfo=UTC)  # dc:date


def test_json_feed_11_through_parse_feed() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON site",
        "home_page_url": "https://json.example.com/",
        "items": [
            {
                "id": 2,
                "url": "/posts/2",
                "title": "Second",
                "content_html": "<p>Hello</p>",
                "summary": "Hi",
                "date_published": "2024-02-03T04:05:06+01:00",
                "date_modified": "2024-02-04T00:00:00Z",
                "authors": [{"name": "Ann"}, {"name": "Bo"}],
                "tags": ["Tech", 5, ""],
            },
            {"id": "x1", "external_url": "https://else.example/x", "content_text": "Plain"},
            "not an item",
        ],
    }
    feed = parse_feed(json.dumps(doc).encode(), url="https://json.example.com/feed.json")
    assert feed.format == "json11"
    assert feed.title == "JSON site"
    first, second = feed.entries
    assert first.url == "https://json.example.com/posts/2"
    assert first.guid == "2"
    assert first.author == "Ann, Bo"
    assert first.categories == ["Tech", "5"]
    assert first.published_at == datetime(2024, 2, 3, 3, 5, 6, tzinfo=UTC)
    assert first.content == "<p>Hello</p>" and first.content_is_html
    assert second.url == "https://else.example/x"
    assert second.content == "Plain" and not second.content_is_html
    assert second.title == ""


def test_json_feed_10_author_and_bom() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1",
        "items": [{"id": "a", "title": "T", "author": {"name": "Old Style"}}],
    }
    feed = parse_json_feed(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    assert feed.format == "json10"
    assert feed.entries[0].author == "Old Style"


@pytest.mark.parametrize(
    "data",
    [b"[1, 2, 3]", b'{"hello": "world"}', b"{not json", b"[" * 100_000],
)
def test_json_that_is_not_a_feed(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_feed(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n\t ", "empty"),
        (
            b"<!DOCTYPE html><html><head><title>x</title></head><body><p>Hi</p></body></html>",
            "HTML",
        ),
        (b"\x00\x01\x02garbage\xff\xfe", "not a feed"),
        (b"just some words", "not a feed"),
    ],
)
def test_not_a_feed(data: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(data)


def test_bozo_feed_still_usable_gives_warning() -> None:
    broken = RSS.replace(b"</channel>", b"<unclosed></channel>")
    feed = parse_feed(broken)
    assert len(feed.entries) == 4
    assert feed.warning


def test_max_entries_and_title_cap() -> None:
    feed = parse_feed(_rss_with_items(30, "x" * 5000), max_entries=10)
    assert len(feed.entries) == 10
    assert all(len(e.title) == 1000 for e in feed.entries)
    assert len(parse_feed(_rss_with_items(1200)).entries) == 1000


def test_gzipped_and_utf16_feeds() -> None:
    assert parse_feed(gzip.compress(RSS)).entries[0].title.startswith("Storm")
    utf16 = RSS.replace(b'encoding="utf-8"', b'encoding="utf-16"').decode().encode("utf-16")
    assert parse_feed(utf16).entries[0].title.startswith("Storm")


def test_bytes_that_look_like_a_path_are_not_opened(tmp_path) -> None:
    path = tmp_path / "feed.xml"
    path.write_bytes(RSS)
    with pytest.raises(ParseError):
        parse_feed(str(path).encode())


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
<!ENTITY lol "lol">
<!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
<!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
<!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
<!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
<!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title></item></channel></rss>"""


@pytest.mark.parametrize("one_line", [False, True])
def test_billion_laughs_is_not_expanded(one_line: bool) -> None:
    data = BILLION_LAUGHS.replace(b"\n<!ENTITY", b"<!ENTITY") if one_line else BILLION_LAUGHS
    feed = parse_feed(data)
    assert len(feed.entries) == 1
    assert "lollol" not in feed.entries[0].title


def test_quadratic_blowup_with_plain_entities_is_not_expanded() -> None:
    # feedparser's loose parser would expand this 35 KB file into a 100 MB title.
    data = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY a "' + b"x" * 20000 + b'">\n]>\n'
        b'<rss version="2.0"><channel><title>t</title><item><title>'
        + b"&a;" * 5000
        + b"</title></item></channel></rss>"
    )
    feed = parse_feed(data)
    assert all(len(entry.title) <= 1000 and "xxxx" not in entry.title for entry in feed.entries)


def test_external_entity_does_not_read_local_files(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    data = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret}">]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>a&xxe;b</title>'
        "<description>&xxe;</description></item></channel></rss>"
    ).encode()
    feed = parse_feed(data)
    assert "TOP-SECRET-VALUE" not in repr(feed)


def test_entity_declarations_in_utf16_are_refused() -> None:
    data = BILLION_LAUGHS.decode().encode("utf-16")
    with pytest.raises(ParseError, match="entities"):
        parse_feed(data)


def test_future_limit_is_two_days() -> None:
    soon = datetime.now(UTC) + timedelta(days=1)
    late = datetime.now(UTC) + timedelta(days=3)
    items = "".join(
        f"<item><title>{i}</title><pubDate>{d.strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate></item>"
        for i, d in enumerate((soon, late))
    )
    feed = parse_feed(f'<rss version="2.0"><channel>{items}</channel></rss>'.encode())
    assert feed.entries[0].published_at is not None
    assert feed.entries[1].published_at is None


def test_every_shared_feed_file_parses_or_raises_parse_error() -> None:
    """Walk every fixture (feed-rs, node-feedparser, feedparser incl. ill-formed and
    encoding cases): only ParseError may escape, and most files must give entries."""
    root = shared_path("feeds")
    files = [p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith("LICENSE")]
    with_entries = parse_errors = 0
    failures: list[str] = []
    for path in files:
        try:
            feed = parse_feed(path.read_bytes(), url="https://example.com/feed.xml")
        except ParseError:
            parse_errors += 1
        except Exception as exc:  # noqa: BLE001 - collecting every failure is the point
            failures.append(f"{path.relative_to(root)}: {exc!r}")
        else:
            with_entries += bool(feed.entries)
    assert not failures, "\n".join(failures)
    assert len(files) > 200
    assert (
        with_entries >= 100
    )  # measured: 120 of 262 (the rest: encoding tests, expected-output JSON)
    print(f"{len(files)} files: {with_entries} with entries, {parse_errors} ParseError, 0 other")
