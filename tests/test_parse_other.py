"""parse_page, parse_text_article, iter_jsonl, parse_opml, sniff."""

from __future__ import annotations

import collections
import json
import re
from datetime import UTC, datetime

import pytest

from bot.clean import html_to_text
from bot.ingest.parse import (
    ParseError,
    iter_jsonl,
    parse_opml,
    parse_page,
    parse_text_article,
    sniff,
)
from bot.models import Entry, OpmlFeed
from tests.conftest import shared_path

PAGE = """<!DOCTYPE html><html><head>
<title>Storm floods the coast | Example Times</title>
<meta property="og:site_name" content="Example Times">
<meta name="author" content="Jane Reporter">
<meta property="article:published_time" content="2024-05-01T10:30:00+00:00">
</head><body>
<nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>Storm floods the coast</h1>
<p>A powerful storm flooded large parts of the coast on Wednesday, forcing thousands of
residents to leave their homes as rivers burst their banks overnight.</p>
<p>Emergency services said more than 200 people had been rescued from rooftops and cars,
and that the water was expected to keep rising until the weekend.</p>
<p>The regional government declared a state of emergency and asked the army for help with
the evacuation of villages in the lowlands.</p>
</article><footer>Copyright 2024 Example Times</footer></body></html>"""


def test_parse_page_main_text_and_metadata() -> None:
    entry = parse_page(PAGE, url="https://times.example.com/2024/storm")
    assert "Storm floods the coast" in entry.title
    assert entry.url == "https://times.example.com/2024/storm"
    assert entry.source == "Example Times"
    assert entry.author == "Jane Reporter"
    assert entry.published_at is not None and entry.published_at.date().isoformat() == "2024-05-01"
    assert entry.content is not None
    assert "200 people had been rescued" in entry.content
    assert "\n\n" in entry.content and "Home" not in entry.content
    assert not entry.content_is_html


@pytest.mark.parametrize("html", ["", "   ", b"", "<html><body></body></html>", b"\x00\xff\xfe"])
def test_parse_page_without_main_text(html: str | bytes) -> None:
    with pytest.raises(ParseError):
        parse_page(html)


_WORD = re.compile(r"\w+")


def _bag(text: str) -> collections.Counter[str]:
    return collections.Counter(word.lower() for word in _WORD.findall(text))


def test_parse_page_on_readability_sample() -> None:
    """Every 6th readability test page: most extracted texts overlap well with the
    expected main text (bag-of-words F1 >= 0.8). Measured on all 130: 121 (93%)."""
    root = shared_path("extraction", "readability", "test-pages")
    folders = sorted(d for d in root.iterdir() if (d / "source.html").exists())[::6]
    good = 0
    for folder in folders:
        expected = _bag(html_to_text((folder / "expected.html").read_text(encoding="utf-8")))
        try:
            got = _bag(parse_page((folder / "source.html").read_bytes()).content or "")
        except ParseError:
            continue
        overlap = sum((expected & got).values())
        recall = overlap / max(1, sum(expected.values()))
        precision = overlap / max(1, sum(got.values()))
        good += recall + precision > 0 and 2 * recall * precision / (recall + precision) >= 0.8
    assert len(folders) >= 15
    assert good / len(folders) >= 0.75


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Original Story at – 2023-09-17 08:32:58", datetime(2023, 9, 17, 8, 32, 58, tzinfo=UTC)),
        ("Originally published: 3 May 2024", datetime(2024, 5, 3, tzinfo=UTC)),
        ("Published on March 3, 2024 10:00 GMT", datetime(2024, 3, 3, 10, tzinfo=UTC)),
        ("Posted: 2024-01-02T05:00:00+02:00", datetime(2024, 1, 2, 3, tzinfo=UTC)),
        ("Updated on Tue, 04 Jun 2024 09:15:00 +0000", datetime(2024, 6, 4, 9, 15, tzinfo=UTC)),
    ],
)
def test_text_article_date_phrasings(line: str, expected: datetime) -> None:
    text = f"A Title Line\n\n{line}\n\nFirst paragraph of the body.\n\nSecond paragraph."
    entry = parse_text_article(text, source="Wire")
    assert entry.title == "A Title Line"
    assert entry.published_at == expected
    assert entry.content == "First paragraph of the body.\n\nSecond paragraph."
    assert entry.source == "Wire"


def test_text_article_nav_header_and_trailer() -> None:
    text = (
        "Home, World, Business, Sport\n\nThe Real Title\n\nBody one.\n\nBody two.\n\n"
        "98765432Videogeneral newsBusiness News"
    )
    entry = parse_text_article(text)
    assert entry.title == "The Real Title"
    assert entry.categories == ["Business News"]
    assert entry.content == "Body one.\n\nBody two."
    assert entry.published_at is None


def test_text_article_body_sentence_with_published_stays() -> None:
    entry = parse_text_article("Title\n\nPublished in the journal Nature, the study found a link.")
    assert entry.content == "Published in the journal Nature, the study found a link."


def test_text_article_seeds() -> None:
    seed0 = parse_text_article(shared_path("seeds", "000_e49189fab17ffecb.txt").read_text("utf-8"))
    assert seed0.categories == ["World News"]
    assert seed0.published_at == datetime(2023, 9, 17, 8, 32, 58, tzinfo=UTC)
    seed2 = parse_text_article(shared_path("seeds", "002_3f7df35fdd9a68e6.txt").read_text("utf-8"))
    assert seed2.title.startswith("Kim Jong Un Returns from Russia")


def test_text_article_empty() -> None:
    with pytest.raises(ParseError):
        parse_text_article("  \n\n ")


def test_iter_jsonl() -> None:
    lines = [
        json.dumps(
            {
                "title": "One",
                "text": "Body one.",
                "url": "https://a.example/1",
                "source": "A",
                "published_at": "2024-01-01T00:00:00Z",
                "category": "Tech",
                "id": "x",
                "label": "y",
            }
        ),
        "",
        "{broken json",
        json.dumps(
            {"title": "Two", "html": "<p>Body two.</p>", "published_at": 1704067200}
        ).encode(),
        json.dumps(["not", "an", "object"]),
        json.dumps({"url": "https://a.example/3"}),
        "   ",
    ]
    results = list(iter_jsonl(lines))
    assert len(results) == 5
    first, bad, second, not_object, empty = results
    assert isinstance(first, Entry) and first.title == "One" and first.categories == ["Tech"]
    assert first.published_at == datetime(2024, 1, 1, tzinfo=UTC) and first.source == "A"
    assert isinstance(bad, ParseError) and str(bad).startswith("line 3:")
    assert isinstance(second, Entry) and second.content_is_html
    assert second.published_at == datetime(2024, 1, 1, tzinfo=UTC)
    assert isinstance(not_object, ParseError) and str(not_object).startswith("line 5:")
    assert isinstance(empty, ParseError) and str(empty).startswith("line 6:")


def test_iter_jsonl_ecbplus() -> None:
    path = shared_path("clustering", "ecbplus-dev.jsonl")
    with path.open(encoding="utf-8") as lines:
        results = list(iter_jsonl(lines))
    assert len(results) > 300
    assert all(isinstance(result, Entry) and result.title for result in results)
    assert sum(bool(result.content) for result in results) > 300  # a few records have no text


OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0"><head><title>Subs</title></head><body>
  <outline text="News">
    <outline text="World" title="World desk" type="rss" xmlUrl="https://a.example/world.xml"/>
    <outline text="Nested"><outline text="Deep" xmlUrl="https://b.example/deep.rss"/></outline>
  </outline>
  <outline text="No feed here" htmlUrl="https://c.example/"/>
  <outline xmlurl="https://d.example/lower.xml"/>
  <outline text="Dup" xmlUrl="https://a.example/world.xml"/>
</body></opml>"""


def test_parse_opml() -> None:
    assert parse_opml(OPML) == [
        OpmlFeed("https://a.example/world.xml", "World desk", ("News",)),
        OpmlFeed("https://b.example/deep.rss", "Deep", ("News", "Nested")),
        OpmlFeed("https://d.example/lower.xml", None),
    ]


def test_parse_opml_reads_categories_and_folders_as_tags() -> None:
    doc = b"""<opml version="2.0"><body><outline text="Sport">
      <outline text="A" xmlUrl="https://a.example/rss" category="/Football/Premier League,tech"/>
      <outline text="B" xmlUrl="https://b.example/rss" category=" , /"/>
    </outline></body></opml>"""
    assert [f.tags for f in parse_opml(doc)] == [
        ("Premier League", "tech", "Sport"),
        ("Sport",),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"<html><body>no</body></html>",
        b"not xml at all",
        b'<!DOCTYPE opml [<!ENTITY a "aaaa">]><opml><body><outline xmlUrl="&a;"/></body></opml>',
    ],
)
def test_parse_opml_rejects(data: bytes) -> None:
    with pytest.raises(ParseError):
        parse_opml(data)


@pytest.mark.parametrize(
    ("data", "content_type", "filename", "expected"),
    [
        (b'<?xml version="1.0"?><rss version="2.0"></rss>', None, None, "feed"),
        (b"\xef\xbb\xbf<feed xmlns='http://www.w3.org/2005/Atom'>", None, None, "feed"),
        (b"<rdf:RDF xmlns:rdf='x'>", None, None, "feed"),
        (b'<?xml version="1.0"?>\n<opml version="2.0">', None, "subs.xml", "opml"),
        (b"<!DOCTYPE html><html>", "application/rss+xml", None, "html"),
        (b"  <html lang='en'>", None, None, "html"),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', None, None, "json_feed"),
        (b'{"title": "a", "text": "b"}\n{"title": "c", "text": "d"}\n', None, None, "jsonl"),
        (b'{"title": "a", "text": "b"}', None, "one.jsonl", "jsonl"),
        (b"Just a headline\n\nAnd a body.", None, None, "text"),
        (b"Just a headline", None, "story.html", "html"),
        (b"Just a headline", "text/html; charset=utf-8", None, "html"),
        (b"plain", None, "notes.txt", "text"),
        (b"whatever", "application/atom+xml", None, "feed"),
        (b"whatever", "application/feed+json", None, "json_feed"),
        (b"whatever", None, "list.OPML", "opml"),
        (b"", None, None, "text"),
    ],
)
def test_sniff(data: bytes, content_type: str | None, filename: str | None, expected: str) -> None:
    assert sniff(data, content_type=content_type, filename=filename) == expected
