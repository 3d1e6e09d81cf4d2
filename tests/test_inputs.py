"""Only articles become articles, and whole pages are extracted wherever they come from.

Through the user's path (:meth:`Newsdesk.ingest_sources` and the CLI): binary
files, the database in use, text that is not prose and pages that are
redirect stubs, error pages or site pages are skipped with a reason; whole
web pages in JSON Lines ``html`` go through page extraction; OPML files met
in a folder are reported, not subscribed to.
"""

from __future__ import annotations

import gzip
import io
import json
import sqlite3
import zlib
from pathlib import Path

import pytest

from bot.clean import html_to_text
from bot.cli import export_jsonl, main
from bot.config import Settings
from bot.ingest.parse import NotAnArticle, ParseError, parse_feed, parse_page
from bot.ingest.parse.sniff import binary_kind, is_whole_document
from bot.ingest.parse.textfile import prose_problem
from bot.sample import SAMPLE_DIR
from bot.services import Newsdesk
from tests.conftest import shared_path

ARTICLE = """<article><h1>Storm floods the coast</h1>
<p>A powerful storm flooded large parts of the coast on Wednesday, forcing thousands of
residents to leave their homes as rivers burst their banks overnight.</p>
<p>Emergency services said more than 200 people had been rescued from rooftops and cars,
and that the water was expected to keep rising until the weekend.</p>
<p>The regional government declared a state of emergency and asked the army for help with
the evacuation of villages in the lowlands.</p></article>"""

NAV_WORDS = ("Lighthouse", "Crossword", "Horoscopes", "Obituaries", "Newsletters")

WHOLE_PAGE = f"""<!DOCTYPE html><html><head><title>Storm floods the coast | Example Times</title>
<meta property="og:site_name" content="Example Times"></head><body>
<header class="site-header"><div class="menu"><ul>
<li><a href="/">Lighthouse Home</a></li><li><a href="/c">Crossword</a></li>
<li><a href="/h">Horoscopes</a></li><li><a href="/o">Obituaries</a></li>
<li><a href="/n">Newsletters</a></li></ul></div></header>
<nav class="navbar"><a href="/world">World</a> <a href="/sport">Sport</a></nav>
{ARTICLE}
<aside class="sidebar"><h3>Most read</h3><ul><li><a href="/x">Crossword answers for today</a></li>
<li><a href="/y">Horoscopes for the week ahead</a></li></ul></aside>
<footer class="site-footer"><p>About us | Contact | Obituaries | Newsletters</p>
<p>Copyright 2024 Example Times. All rights reserved.</p></footer></body></html>"""

REDIRECT_STUB = (
    "<html><head><title>Object moved</title></head><body><h2>Object moved to "
    '<a href="https://news.example.com/new">here</a>.</h2></body></html>'
)
APACHE_301 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN"><html><head><title>301 Moved Permanently'
    "</title></head><body><h1>Moved Permanently</h1><p>The document has moved "
    '<a href="https://news.example.com/">here</a>.</p></body></html>'
)
META_REFRESH = (
    '<html><head><meta http-equiv="refresh" content="0; url=https://news.example.com/a">'
    "</head><body><p>Redirecting…</p></body></html>"
)
ERROR_404 = """<!DOCTYPE html><html><head><title>Page not found | Example Times</title></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav><main><h1>Page not found</h1>
<p>Sorry, the page you were looking for does not exist. It may have been moved or deleted.</p>
<p>Try the search box, or go back to the front page.</p></main>
<footer>Copyright 2024 Example Times</footer></body></html>"""
ERROR_403 = (
    "<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1><p>You don't have "
    "permission to access this resource.</p><hr><address>Apache Server at example.com "
    "Port 443</address></body></html>"
)
ABOUT_FOOTER = """<!DOCTYPE html><html><head><title>About | Example Times</title></head>
<body><main><h1>About</h1><p>Example Times is an independent local newspaper.</p>
<p>Write to us at the address below.</p></main>
<footer><p>Copyright 2024 Example Times. All rights reserved.</p></footer></body></html>"""
SHORT_NEWS = """<!DOCTYPE html><html><head><title>Millrace bridge closes | Example Times</title>
</head><body><article><h1>Millrace bridge closes</h1>
<p>The old Millrace bridge closed on Monday after inspectors found cracks in two of its
supports, the city said.</p></article></body></html>"""

PASSWD = """root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
bin:x:2:2:bin:/bin:/usr/sbin/nologin
sys:x:3:3:sys:/dev:/usr/sbin/nologin
sync:x:4:65534:sync:/bin:/bin/sync
games:x:5:60:games:/usr/games:/usr/sbin/nologin
man:x:6:12:man:/var/cache/man:/usr/sbin/nologin
list:x:38:38:Mailing List Manager:/var/list:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
"""
CSV = "id,name,city,score\n" + "".join(
    f"{i},Person {i},Town {i % 7},{i * 3.5}\n" for i in range(40)
)
LOG = "".join(
    f"2024-05-0{i % 9 + 1} 10:{i:02d}:01,123 INFO [worker-{i}] job {i} finished in {i * 7} ms\n"
    for i in range(30)
)
SOURCE_CODE = '''import os


def main(argv):
    """Print the arguments."""
    for arg in argv:
        if arg.startswith("-"):
            continue
        print(os.path.basename(arg))
    return 0
'''
CONFIG = """[server]
host = 0.0.0.0
port = 8080
workers = 4

[database]
path = /var/lib/app/data.db
timeout = 30
"""
HEADLINE_AND_SENTENCE = (
    "Council approves new cycle lanes\n\n"
    "The city council approved three new cycle lanes on Tuesday night.\n"
)


def _settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, database=tmp_path / "store" / "news.db")


async def _ingest(tmp_path: Path, *specs: str | Path):
    nd = await Newsdesk.open(_settings(tmp_path))
    try:
        outcome = await nd.ingest_sources([str(s) for s in specs])
        feeds = await nd.list_feeds()
    finally:
        await nd.close()
    return outcome, _stored(tmp_path), feeds


def _stored(tmp_path: Path) -> list[dict]:
    out = io.StringIO()
    export_jsonl(tmp_path / "store" / "news.db", out)
    return [json.loads(line) for line in out.getvalue().splitlines()]


def _reasons(outcome) -> dict[str, str]:
    return {Path(where).name: reason for where, reason in outcome.skipped}


# -- files sniffed by content -----------------------------------------------------------


def _jpeg() -> bytes:
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + bytes(range(256)) * 8
        + b"\xff\xd9"
    )


def _pdf() -> bytes:
    return (
        b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        b"BT /F1 12 Tf 72 712 Td (The council approved the budget on Monday.) Tj ET\n"
        b"trailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


async def test_folder_with_jpeg_pdf_db_and_wal_stores_none_of_them(tmp_path: Path) -> None:
    folder = tmp_path / "inbox"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(_jpeg())
    (folder / "report.pdf").write_bytes(_pdf())
    (folder / "story.txt").write_text(HEADLINE_AND_SENTENCE, encoding="utf-8")
    # A real SQLite database in WAL mode, its -wal (and -shm) still there: open.
    other = sqlite3.connect(folder / "notes.db")
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("CREATE TABLE notes (text TEXT)")
    other.execute("INSERT INTO notes VALUES ('The council approved the budget on Monday.')")
    other.commit()
    try:
        assert (folder / "notes.db-wal").exists()
        outcome, stored, _feeds = await _ingest(tmp_path, folder)
    finally:
        other.close()
    assert [row["title"] for row in stored] == ["Council approves new cycle lanes"]
    reasons = _reasons(outcome)
    assert reasons["photo.jpg"] == "a JPEG image"
    assert reasons["report.pdf"] == "a PDF document"
    assert reasons["notes.db"] == "an SQLite database"
    assert "write-ahead log" in reasons["notes.db-wal"]
    assert outcome.report.failed == 0  # skipped is not failed
    assert outcome.report.new == 1


async def test_the_database_in_use_is_never_read(tmp_path: Path, monkeypatch) -> None:
    """Ingesting the folder that holds the store: the store and its -wal/-shm
    are skipped by path, before anything opens them."""
    store = tmp_path / "store"
    store.mkdir()
    (store / "story.txt").write_text(HEADLINE_AND_SENTENCE, encoding="utf-8")
    nd = await Newsdesk.open(_settings(tmp_path))
    opened: list[str] = []
    real_open = Path.open

    def spy(self, *args, **kwargs):
        opened.append(self.name)
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", spy)
    try:
        outcome = await nd.ingest_sources([str(store)])
    finally:
        monkeypatch.undo()
        await nd.close()
    reasons = _reasons(outcome)
    assert reasons["news.db"].startswith("the database in use")
    assert reasons["news.db-wal"].startswith("the database in use")
    assert not any(name.startswith("news.db") for name in opened)
    assert outcome.report.new == 1


async def test_gzipped_feed_is_read_and_other_archives_are_skipped(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    rss = (SAMPLE_DIR / "feeds" / "harbor-city-ledger.rss.xml").read_bytes()
    (folder / "ledger.xml.gz").write_bytes(gzip.compress(rss))
    (folder / "bundle.zip").write_bytes(b"PK\x03\x04" + b"\x14\x00" * 40)
    (folder / "bomb.txt.gz").write_bytes(_gzip_bomb())
    outcome, stored, _feeds = await _ingest(tmp_path, folder)
    assert len(stored) == len(parse_feed(rss).entries) > 0
    reasons = _reasons(outcome)
    assert reasons["bundle.zip"].startswith("a ZIP archive")
    assert [reason for where, reason in outcome.report.errors if "bomb" in where] == [
        "gzip data expands past the 50,000,000-byte limit"
    ]


def _gzip_bomb() -> bytes:
    """About 60 MB of spaces in a few dozen KB of gzip."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * 1_000_000
    return b"".join(compressor.compress(chunk) for _ in range(60)) + compressor.flush()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "a PNG image"),
        (b"GIF89a\x01\x00", "a GIF image"),
        (b"SQLite format 3\x00" + b"\x10\x00" * 20, "an SQLite database"),
        (b"\x7fELF\x02\x01\x01", "an executable (ELF)"),
        (b"\x00\x00\x00\x18ftypheic", "an ISO media file (MP4/MOV/HEIC)"),
        (b"\x1f\x8b\x08\x00", "gzip-compressed data"),
        (b"BZh91AY&SY", "bzip2-compressed data"),
        (b"\xfd7zXZ\x00\x00", "xz-compressed data"),
        (b"7z\xbc\xaf\x27\x1c\x00\x04", "a 7-Zip archive"),
        (b"some text\x00with a NUL", "binary data (NUL bytes)"),
        (bytes(range(1, 9)) * 50 + b"text", "binary data (99% control bytes)"),
        (b"Plain text news.\n", None),
        ("Caf\u00e9 cr\u00e8me \u2014 Stra\u00dfe".encode("latin-1", "replace"), None),
        ("Новости дня".encode("cp1251"), None),
        ("\ufeffUTF-16 text".encode("utf-16"), None),
        (b"", None),
    ],
)
def test_binary_kind(data: bytes, expected: str | None) -> None:
    assert binary_kind(data) == expected


# -- text files: prose or not ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("passwd", PASSWD),
        ("scores.csv", CSV),
        ("worker.log", LOG),
        ("tool.py", SOURCE_CODE),
        ("app.ini", CONFIG),
    ],
)
async def test_text_that_is_not_prose_is_skipped(tmp_path: Path, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    outcome, stored, _feeds = await _ingest(tmp_path, path)
    assert stored == []
    assert _reasons(outcome)[name].startswith("not an article:")
    assert outcome.report.failed == 0


def test_etc_passwd_itself_is_not_prose() -> None:
    path = Path("/etc/passwd")
    if not path.is_file():
        pytest.skip("no /etc/passwd here")
    assert prose_problem(path.read_text(encoding="utf-8", errors="replace"))


async def test_real_text_articles_pass(tmp_path: Path) -> None:
    seeds = sorted(shared_path("seeds").glob("*.txt"))
    samples = sorted((SAMPLE_DIR / "articles").glob("*.txt"))
    short = tmp_path / "short.txt"
    short.write_text(HEADLINE_AND_SENTENCE, encoding="utf-8")
    for path in [*seeds, *samples, short]:
        assert prose_problem(path.read_text(encoding="utf-8")) is None, path.name
    outcome, stored, _feeds = await _ingest(tmp_path, *seeds, *samples, short)
    assert outcome.skipped == []
    assert outcome.report.failed == 0
    assert len(stored) == len(seeds) + len(samples) + 1


# -- pages that are not articles -----------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        (REDIRECT_STUB, "not an article: a redirect stub ('Object moved')"),
        (APACHE_301, "not an article: a redirect stub"),
        (
            META_REFRESH,
            "not an article: a redirect page (meta refresh to https://news.example.com/a)",
        ),
        (ERROR_404, "not an article: an error page ('Page not found')"),
        (ERROR_403, "not an article: an error page ("),
        (ABOUT_FOOTER, "not an article: a site page ('About') with no article body"),
    ],
)
async def test_pages_that_are_not_articles(tmp_path: Path, html: str, reason: str) -> None:
    with pytest.raises(NotAnArticle) as raised:
        parse_page(html)
    assert isinstance(raised.value, ParseError)  # the full-text fetcher catches ParseError
    assert str(raised.value).startswith(reason)
    path = tmp_path / "page.html"
    path.write_text(html, encoding="utf-8")
    outcome, stored, _feeds = await _ingest(tmp_path, path)
    assert stored == []
    assert _reasons(outcome)["page.html"].startswith(reason)


def test_short_real_news_page_passes() -> None:
    entry = parse_page(SHORT_NEWS)
    assert entry.title.startswith("Millrace bridge closes")
    assert "cracks in two of its supports" in (entry.content or "")


def test_long_page_is_not_rejected_for_its_title() -> None:
    body = "".join(
        f"<p>Paragraph {i}: the council debated the budget for hours, and the mayor said the "
        f"city would publish every figure before the vote next month.</p>"
        for i in range(30)
    )
    page = f"<html><head><title>Contact</title></head><body><article>{body}</article></body></html>"
    assert "the mayor said" in (parse_page(page).content or "")


# -- whole pages in JSON Lines and feeds -----------------------------------------------------


def test_whole_document_detection() -> None:
    assert is_whole_document(WHOLE_PAGE)
    assert is_whole_document("<html><body><p>x</p></body></html>")
    assert is_whole_document("  <!-- saved --> <!doctype html><p>x</p>")
    assert is_whole_document('<nav><a href="/">Home</a></nav><p>Some text here.</p>')
    assert not is_whole_document(ARTICLE)
    assert not is_whole_document("<p>A feed's <b>content:encoded</b> fragment.</p>")
    assert not is_whole_document("<p>One footer</p><footer>Signed, the editor</footer>")
    assert not is_whole_document("no markup at all")


async def test_jsonl_whole_page_loses_its_navigation(tmp_path: Path) -> None:
    line = {
        "title": "Storm floods the coast",
        "html": WHOLE_PAGE,
        "url": "https://times.example.com/2024/storm",
        "source": "Example Times",
        "published_at": "2024-05-01T10:30:00Z",
    }
    path = tmp_path / "archive.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    outcome, stored, _feeds = await _ingest(tmp_path, path)
    assert outcome.report.new == 1
    (article,) = stored
    body = article["text"]
    assert "200 people had been rescued" in body
    assert "evacuation of villages in the lowlands" in body
    for word in NAV_WORDS:
        assert word not in body
    assert "All rights reserved" not in body
    # the line's own metadata wins over the page's
    assert article["title"] == "Storm floods the coast"
    assert article["source"] == "Example Times"
    assert article["url"] == "https://times.example.com/2024/storm"
    assert article["published_at"].startswith("2024-05-01T10:30:00")


async def test_jsonl_fragment_path_unchanged(tmp_path: Path) -> None:
    fragment = "<p>First <b>bold</b> paragraph of the story.</p><p>Second paragraph.</p>"
    line = {"title": "A fragment", "html": fragment, "url": "https://x.example/f", "source": "X"}
    path = tmp_path / "archive.jsonl"
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    _outcome, stored, _feeds = await _ingest(tmp_path, path)
    assert stored[0]["text"] == html_to_text(fragment)


async def test_jsonl_redirect_stub_line_is_skipped(tmp_path: Path) -> None:
    lines = [
        {"title": "Moved", "html": REDIRECT_STUB, "url": "https://x.example/m", "source": "X"},
        {"title": "Real", "text": "A real story, in a sentence.", "url": "https://x.example/r"},
    ]
    path = tmp_path / "archive.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    outcome, stored, _feeds = await _ingest(tmp_path, path)
    assert [row["title"] for row in stored] == ["Real"]
    assert [reason for _where, reason in outcome.skipped] == [
        "line 1: not an article: a redirect stub ('Object moved')"
    ]


def test_feed_entry_with_a_whole_page_gets_its_main_text() -> None:
    rss = f"""<?xml version="1.0"?><rss version="2.0"
    xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>F</title>
    <item><title>Storm floods the coast</title><link>https://x.example/a</link>
    <description>Short summary.</description>
    <content:encoded><![CDATA[{WHOLE_PAGE}]]></content:encoded></item>
    <item><title>Fragment</title><link>https://x.example/b</link>
    <content:encoded><![CDATA[<p>Just a <b>fragment</b>.</p>]]></content:encoded></item>
    </channel></rss>"""
    page_entry, fragment_entry = parse_feed(rss.encode()).entries
    assert not page_entry.content_is_html
    assert "200 people had been rescued" in (page_entry.content or "")
    assert not any(word in (page_entry.content or "") for word in NAV_WORDS)
    assert page_entry.summary == "Short summary."
    assert fragment_entry.content_is_html
    assert fragment_entry.content == "<p>Just a <b>fragment</b>.</p>"


# -- OPML met in folders -------------------------------------------------------------------


async def test_opml_in_a_folder_is_reported_not_subscribed(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    opml = (SAMPLE_DIR / "feeds.opml").read_bytes()
    (folder / "subs.opml").write_bytes(opml)
    (folder / "story.txt").write_text(HEADLINE_AND_SENTENCE, encoding="utf-8")
    outcome, _stored, feeds = await _ingest(tmp_path, folder)
    assert feeds == []
    ((where, count),) = outcome.opml_in_folders
    assert where.endswith("subs.opml")
    assert count == 4


async def test_opml_named_directly_subscribes_each_feed_once(tmp_path: Path) -> None:
    opml = (SAMPLE_DIR / "feeds.opml").read_bytes()
    (tmp_path / "a.opml").write_bytes(opml)
    (tmp_path / "b.opml").write_bytes(opml)  # the same four feeds again
    outcome, _stored, feeds = await _ingest(tmp_path, tmp_path / "a.opml", tmp_path / "b.opml")
    assert len(outcome.feeds_found) == 8
    assert len(outcome.distinct_feeds()) == len(feeds) == 4


def test_cli_summary_names_skipped_files_and_opml(tmp_path: Path, capsys, monkeypatch) -> None:
    for key in ("NEWSDESK_DATABASE", "DISCORD_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "photo.jpg").write_bytes(_jpeg())
    (folder / "passwd").write_text(PASSWD, encoding="utf-8")
    (folder / "subs.opml").write_bytes((SAMPLE_DIR / "feeds.opml").read_bytes())
    (folder / "story.txt").write_text(HEADLINE_AND_SENTENCE, encoding="utf-8")
    (tmp_path / "none.env").write_text("", encoding="utf-8")  # an empty settings file
    assert main(["--env-file", "none.env", "--db", "x.db", "ingest", str(folder)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "1 new" in out and "0 failed" in out and "2 skipped" in out
    assert "skipped in/photo.jpg: a JPEG image" in out.replace(str(tmp_path) + "/", "")
    assert "passwd: not an article" in out
    assert "subs.opml listing 4 feed(s): not subscribed" in out
    assert "subscribed to" not in out


# -- extraction details ---------------------------------------------------------------------


async def test_page_keeps_its_repeated_paragraphs_and_drops_hidden_ones(tmp_path: Path) -> None:
    chorus = (
        "The river rose again overnight, and the town's volunteers filled sandbags "
        "until the morning shift arrived to relieve them."
    )
    page = f"""<!DOCTYPE html><html><head><title>Flood diary | Example Times</title></head>
    <body><article><h1>Flood diary</h1>
    <p>Day one of the flood began quietly, with rain that nobody thought would matter.</p>
    <div>{chorus}</div><div>{chorus}</div><div>{chorus}</div>
    <p style="display: none">Mobile copy of the story that no reader of this page sees.</p>
    <div hidden>Template text that the page never shows to anybody at all.</div>
    <p>On the fourth day the water finally began to fall, and the roads reopened.</p>
    </article></body></html>"""
    path = tmp_path / "diary.html"
    path.write_text(page, encoding="utf-8")
    _outcome, stored, _feeds = await _ingest(tmp_path, path)
    body = stored[0]["text"]
    assert body.count(chorus) == 3
    assert "Mobile copy" not in body and "Template text" not in body
    assert "the roads reopened" in body


def test_text_files_still_lose_repeated_paragraphs() -> None:
    from datetime import UTC, datetime

    from bot.clean import to_article
    from bot.ingest.parse import parse_text_article

    text = "Headline here\n\nThe same paragraph twice.\n\nThe same paragraph twice.\n\nEnd."
    article = to_article(parse_text_article(text), fetched_at=datetime.now(UTC))
    assert article is not None
    assert article.body.count("The same paragraph twice.") == 1


def test_extraction_benchmark_runs_on_a_small_page_set(tmp_path: Path, capsys) -> None:
    from bench.extraction_eval import main as bench_main
    from bench.extraction_eval import score, tokens

    assert score(tokens("a b b c"), tokens("A, b! b d")).f1 == pytest.approx(0.75)
    assert sum(tokens("北京 天气").values()) == 4  # unspaced scripts: a token per character
    pages = tmp_path / "pages"
    for name, html in (("storm", WHOLE_PAGE), ("short", SHORT_NEWS)):
        (pages / name).mkdir(parents=True)
        (pages / name / "source.html").write_text(html, encoding="utf-8")
        (pages / name / "expected.html").write_text(
            ARTICLE
            if name == "storm"
            else "<p>The old Millrace bridge closed on Monday after "
            "inspectors found cracks in two of its supports, the city said.</p>",
            encoding="utf-8",
        )
    assert bench_main(["--pages", str(pages), "--json"]) == 0
    results = json.loads(capsys.readouterr().out)
    for mode in ("files", "jsonl"):
        assert results[mode]["pages"] == 2
        assert results[mode]["mean_f1"] > 0.9


def test_a_short_page_run_together_by_the_extractor_is_cleaned_block_by_block():
    """trafilatura falls back to one paragraph for a short article (headline, byline,
    teasers, text, share line run together); cleaning must still see each block."""
    from datetime import UTC, datetime

    from bench.newsfeeds import NewsItem, render_page
    from bot.clean import to_article
    from bot.ingest.parse import parse_page

    when = datetime(2026, 3, 5, 15, 12, tzinfo=UTC)
    item = NewsItem(
        key=1,
        outlet="o",
        title="Lindsay Lohan checks into rehab at Betty Ford Center",
        text="Early Friday morning the 26-year-old actress checked into the Betty Ford Center "
        "in Rancho Mirage, Calif.\nHer publicist confirmed the stay on Friday.",
        published=when,
        reveal_at=when,
        path="/a/x",
        url="http://127.0.0.2/a/x",
        teasers=["Tara Reid enters Promises Treatment Centre", "Pop star cancels tour dates"],
    )
    entry = parse_page(render_page(item, "Outlet Forty", "http://127.0.0.2"), url=item.url)
    article = to_article(entry, fetched_at=when)
    assert article is not None
    assert "Betty Ford Center in Rancho Mirage" in article.body
    assert "Her publicist confirmed the stay on Friday." in article.body
    for clutter in ("Read more", "Tara Reid", "Pop star", "Share this article", "Staff Reporter"):
        assert clutter not in article.body, article.body
