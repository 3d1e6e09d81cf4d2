"""The bundled sample corpus (bot/sample/): valid files, the promised shape, and
agreement between the files and the EXPECTED_STORIES documentation."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
import pytest

from bot.sample import (
    EVENT_OUTLETS,
    EXPECTED_STORIES,
    MUST_NOT_MERGE,
    SAME_ARTICLE,
    SAMPLE_DIR,
    sample_sources,
)

FEED_VERSIONS = {
    "feeds/harbor-city-ledger.rss.xml": "rss20",
    "feeds/northwind-dispatch.atom.xml": "atom10",
    "feeds/valley-courier.rdf.xml": "rss10",
}
JSON_FEED = "feeds/meridian-wire.json"
FIRST_DAY, LAST_DAY = date(2026, 11, 20), date(2026, 11, 22)
URL_RE = re.compile(r"https?://[^\s\"'<>)\]]+")


def rel(path: Path) -> str:
    return path.relative_to(SAMPLE_DIR).as_posix()


def aware(text: str) -> datetime:
    """An ISO 8601 / RFC 3339 timestamp that must carry an offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None, f"{text!r} has no UTC offset"
    return value.astimezone(UTC)


def jsonl_records() -> list[dict]:
    lines = (SAMPLE_DIR / "archive.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


class _MetaReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        key = a.get("property") or a.get("name")
        if tag == "meta" and key and a.get("content") is not None:
            self.meta[key] = a["content"] or ""


def page_meta(path: Path) -> dict[str, str]:
    reader = _MetaReader()
    reader.feed(path.read_text(encoding="utf-8"))
    return reader.meta


def text_title(path: Path) -> str:
    """The first line that is not a comma-separated navigation bar."""
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and line.count(",") < 3:
            return line
    raise AssertionError(f"{path} has no title line")


def corpus_entries() -> list[tuple[str, str, datetime]]:
    """(file, title, published UTC) for every entry, read without the project's code."""
    out: list[tuple[str, str, datetime]] = []
    for name in FEED_VERSIONS:
        for e in feedparser.parse(str(SAMPLE_DIR / name)).entries:
            when = e.get("published_parsed") or e.get("updated_parsed")
            out.append((name, e.title, datetime(*when[:6], tzinfo=UTC)))
    feed = json.loads((SAMPLE_DIR / JSON_FEED).read_text(encoding="utf-8"))
    out += [(JSON_FEED, it["title"], aware(it["date_published"])) for it in feed["items"]]
    out += [("archive.jsonl", r["title"], aware(r["published_at"])) for r in jsonl_records()]
    for path in sorted((SAMPLE_DIR / "articles").glob("*.txt")):
        stamp = re.search(r"Original Story at – (\S+ \S+)", path.read_text(encoding="utf-8"))
        assert stamp, f"{path.name} has no 'Original Story at' line"
        out.append(
            (rel(path), text_title(path), datetime.fromisoformat(stamp[1]).replace(tzinfo=UTC))
        )
    for path in sorted((SAMPLE_DIR / "pages").glob("*.html")):
        meta = page_meta(path)
        out.append((rel(path), meta["og:title"], aware(meta["article:published_time"])))
    return out


def strip_tracking(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("utm_")]
    return urlunsplit(parts._replace(query=urlencode(query)))


# --------------------------------------------------------------------------- sources


def test_sample_sources_lists_every_ingestible_file_and_nothing_else():
    sources = sample_sources()
    names = [rel(p) for p in sources]
    assert all(p.is_file() for p in sources)
    assert len(names) == len(set(names))
    assert "feeds.opml" not in names and "README.md" not in names
    assert not any(n.endswith((".py", ".opml", ".md")) for n in names)
    expected = {rel(p) for p in SAMPLE_DIR.rglob("*") if p.is_file()} - {
        "__init__.py",
        "README.md",
        "feeds.opml",
    }
    expected = {n for n in expected if "__pycache__" not in n}
    assert set(names) == expected
    assert names == [rel(p) for p in sample_sources()]  # repeatable order


# --------------------------------------------------------------------------- validity


@pytest.mark.parametrize("name", sorted(FEED_VERSIONS))
def test_xml_feed_parses_cleanly(name):
    parsed = feedparser.parse(str(SAMPLE_DIR / name))
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == FEED_VERSIONS[name]
    assert parsed.feed.title
    assert len(parsed.entries) >= 5
    for e in parsed.entries:
        assert e.title and e.link.startswith("https://")
        assert e.get("published_parsed") or e.get("updated_parsed")
        assert e.get("tags"), f"{e.title!r} has no category"


def test_rss_mixes_full_content_and_summary_only_items():
    entries = feedparser.parse(str(SAMPLE_DIR / "feeds/harbor-city-ledger.rss.xml")).entries
    with_content = [e for e in entries if e.get("content")]
    assert 0 < len(with_content) < len(entries)
    assert all(e.get("guid") and e.get("summary") for e in entries)


def test_json_feed_is_valid_json_feed_1_1():
    feed = json.loads((SAMPLE_DIR / JSON_FEED).read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(feed["title"], str) and feed["title"]
    assert isinstance(feed["items"], list) and feed["items"]
    ids = [item["id"] for item in feed["items"]]
    assert all(isinstance(i, str) and i for i in ids) and len(ids) == len(set(ids))
    kinds = Counter()
    for item in feed["items"]:
        assert "content_html" in item or "content_text" in item
        kinds.update(k for k in ("content_html", "content_text") if k in item)
        assert item["url"].startswith("https://")
        aware(item["date_published"])
        assert all(isinstance(a["name"], str) for a in item.get("authors", []))
        assert "author" not in item  # 1.0 field, replaced by "authors" in 1.1
    assert kinds["content_html"] and kinds["content_text"]


def test_archive_lines_are_valid_import_records():
    records = jsonl_records()
    assert 5 <= len(records) <= 10
    for r in records:
        assert {"title", "url", "source", "published_at", "category"} <= set(r)
        assert ("text" in r) != ("html" in r)
        aware(r["published_at"])
    assert any("html" in r for r in records) and any("text" in r for r in records)


def test_text_files_have_the_seed_shape():
    paths = sorted((SAMPLE_DIR / "articles").glob("*.txt"))
    assert 4 <= len(paths) <= 6
    texts = [p.read_text(encoding="utf-8") for p in paths]
    assert all("Original Story at – " in t for t in texts)
    assert any(re.search(r"^\d{5,}Article[a-z ]*[A-Z][\w ]+$", t, re.M) for t in texts)
    assert any("Read more: " in t for t in texts)
    assert any(
        "Leave A Reply" in t and "Your email address will not be published." in t for t in texts
    )
    assert any(t.splitlines()[0].count(",") >= 3 for t in texts)  # a navigation header line
    paragraphs = [p.strip() for t in texts for p in t.split("\n\n") if len(p.strip()) > 80]
    assert len(paragraphs) > len(set(paragraphs))  # some paragraph is duplicated


def test_pages_carry_metadata_and_boilerplate():
    for path in sorted((SAMPLE_DIR / "pages").glob("*.html")):
        html = path.read_text(encoding="utf-8")
        meta = page_meta(path)
        for key in ("og:title", "og:site_name", "og:url", "article:published_time", "author"):
            assert meta.get(key), f"{path.name} lacks {key}"
        for marker in ("<article", "<nav", "cookie", "share", "Related", "comments"):
            assert marker in html, f"{path.name} lacks {marker}"


def test_opml_lists_the_sample_feeds():
    import xml.etree.ElementTree as ET

    outlines = [o for o in ET.parse(SAMPLE_DIR / "feeds.opml").iter("outline") if o.get("xmlUrl")]
    assert {o.get("file") for o in outlines} == set(FEED_VERSIONS) | {JSON_FEED}
    assert all(urlsplit(o.get("xmlUrl")).hostname.endswith(".example") for o in outlines)


def test_every_link_is_an_invented_example_domain():
    for path in SAMPLE_DIR.rglob("*"):
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts:
            for url in URL_RE.findall(path.read_text(encoding="utf-8")):
                host = urlsplit(url).hostname or ""
                allowed = {"purl.org", "www.w3.org", "jsonfeed.org", "schema.org"}
                assert host.endswith(".example") or host in allowed, f"{path.name}: {url}"


def test_corpus_stays_small():
    total = sum(p.stat().st_size for p in SAMPLE_DIR.rglob("*") if p.is_file())
    assert total < 300_000


# --------------------------------------------------------------------------- shape


def test_corpus_shape_matches_the_promise():
    entries = corpus_entries()
    assert 40 <= len(entries) <= 60
    days = {when.date() for _, _, when in entries}
    assert days == {FIRST_DAY, date(2026, 11, 21), LAST_DAY}
    outlets = {o for names in EVENT_OUTLETS.values() for o in names}
    assert 6 <= len(outlets) <= 8
    assert 10 <= len(EXPECTED_STORIES) <= 14
    assert set(EVENT_OUTLETS) == set(EXPECTED_STORIES)
    multi = [e for e, names in EVENT_OUTLETS.items() if len(names) >= 2]
    assert len(multi) >= 5
    assert all(len(names) <= 5 for names in EVENT_OUTLETS.values())
    assert any(len(names) == 1 for names in EVENT_OUTLETS.values())


def test_expected_stories_account_for_every_entry_exactly_once():
    actual = Counter((f, t) for f, t, _ in corpus_entries())
    documented = Counter(item for items in EXPECTED_STORIES.values() for item in items)
    assert documented == actual


def test_look_alike_events_are_distinct_in_time_and_place():
    entries = {(f, t): when for f, t, when in corpus_entries()}
    for a, b in MUST_NOT_MERGE:
        first = min(entries[item] for item in EXPECTED_STORIES[a])
        second = min(entries[item] for item in EXPECTED_STORIES[b])
        assert first.date() != second.date()
        words_a = {w for _, t in EXPECTED_STORIES[a] for w in t.split()}
        words_b = {w for _, t in EXPECTED_STORIES[b] for w in t.split()}
        assert not ({"Brennick", "Calder"} & words_b) and not ({"Aldren", "Saltmere"} & words_a)


def test_same_article_pairs_really_are_one_article():
    rate, bridge = SAME_ARTICLE
    feed = json.loads((SAMPLE_DIR / JSON_FEED).read_text(encoding="utf-8"))
    wire_url = next(it["url"] for it in feed["items"] if it["title"] == rate[0][1])
    rdf = feedparser.parse(str(SAMPLE_DIR / rate[1][0])).entries
    syndicated = next(e.link for e in rdf if e.title == rate[1][1])
    assert "utm_source=" in syndicated and "utm_" not in wire_url
    assert strip_tracking(syndicated) == wire_url

    atom = feedparser.parse(str(SAMPLE_DIR / bridge[0][0])).entries
    ids = {e.title: e.id for e in atom}
    assert ids[bridge[0][1]] == ids[bridge[1][1]]
    assert Counter(e.id for e in atom).most_common(1)[0][1] == 2


# --------------------------------------------------------------------------- project parsers


def _parse_with_project(path: Path):
    parse = pytest.importorskip("bot.ingest.parse", reason="bot.ingest.parse not importable yet")
    data = path.read_bytes()
    kind = parse.sniff(data, filename=path.name)
    if kind in ("feed", "json_feed"):
        parsed = parse.parse_feed(data)
        assert parsed.warning is None, parsed.warning
        return kind, parsed.entries
    if kind == "jsonl":
        items = list(parse.iter_jsonl(data.decode("utf-8").splitlines()))
        assert not [i for i in items if isinstance(i, parse.ParseError)]
        return kind, items
    if kind == "html":
        return kind, [parse.parse_page(data)]
    return kind, [parse.parse_text_article(data.decode("utf-8"))]


EXPECTED_KIND = {"feeds": "feed", "articles": "text", "pages": "html"}


@pytest.mark.parametrize("path", sample_sources(), ids=rel)
def test_project_parsers_read_every_sample_file(path):
    kind, entries = _parse_with_project(path)
    name = rel(path)
    want = "json_feed" if name == JSON_FEED else "jsonl" if name == "archive.jsonl" else None
    assert kind == (want or EXPECTED_KIND[name.split("/")[0]])
    documented = sorted(t for items in EXPECTED_STORIES.values() for f, t in items if f == name)
    assert sorted(e.title for e in entries) == documented
    for e in entries:
        when = e.published_at or e.updated_at
        assert when is not None and FIRST_DAY <= when.astimezone(UTC).date() <= LAST_DAY
        assert e.content or e.summary


def test_identity_collapses_the_tracking_url_pair():
    identity = pytest.importorskip("bot.identity", reason="bot.identity not importable yet")
    (wire, syndicated), _ = SAME_ARTICLE
    feed = json.loads((SAMPLE_DIR / JSON_FEED).read_text(encoding="utf-8"))
    wire_url = next(it["url"] for it in feed["items"] if it["title"] == wire[1])
    rdf = feedparser.parse(str(SAMPLE_DIR / syndicated[0])).entries
    tracked = next(e.link for e in rdf if e.title == syndicated[1])
    assert identity.canonical_url(tracked) == identity.canonical_url(wire_url)
