"""Cleaning: text/HTML -> paragraphs, boilerplate rules, Entry -> Article."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime

import pytest

from bot.clean import clean_text, html_to_text, is_boilerplate, remove_boilerplate, to_article
from bot.clean.rules import BOILERPLATE_PATTERNS
from bot.ingest.parse import parse_text_article
from bot.models import Entry
from tests.conftest import shared_path

FETCHED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

BOILERPLATE_LINES = [
    "By Staff Reporter ·",
    "By JANE DOE, Reuters",
    "By Jane Doe and John Roe |",
    "Latest News, Local News, International News, US Politics, Economy",
    "Home | World | Business | Sport | Culture",
    "News • Sport • Weather • iPlayer",
    "Politics / Economy / Tech / Science",
    "Read more: Higher Wages On The Horizon For Hospital Workers",
    "READ MORE: Flooding closes roads across the region",
    "Read also - Elections: what the polls say",
    "Also read: The week in pictures",
    "Read next »",
    "Read More...",
    "Related: Ten things to know about the budget",
    "Related Articles",
    "Related stories:",
    "See also: Timeline of the crisis",
    "Recommended for you",
    "You may also like",
    "More from Reuters",
    "Don't miss: The best photos of the year",
    "Click here to read the full story",
    "Continue reading the main story",
    "Leave A Reply",
    "Leave a comment",
    "Cancel reply",
    "Your email address will not be published.",
    "Your email address will not be published. Required fields are marked *",
    "Comments are closed.",
    "12 Comments",
    "Join the conversation",
    "What do you think? Let us know in the comments below.",
    "Share this:",
    "Share this article",
    "Share on Facebook",
    "Click to share on Twitter (Opens in new window)",
    "Facebook Twitter LinkedIn Email",
    "Tweet",
    "Print",
    "Subscribe to our newsletter",
    "Sign up for the Morning Briefing newsletter to get the news in your inbox.",
    "Subscribe now",
    "Get the latest headlines delivered to your inbox every morning.",
    "Follow us on Twitter and Instagram",
    "Like us on Facebook",
    "Join our Telegram channel for updates",
    "Download our app",
    "We use cookies to improve your experience on our site.",
    "This website uses cookies. By continuing to browse you agree to our use of cookies.",
    "Accept all cookies",
    "Advertisement",
    "ADVERTISEMENT",
    "Story continues below advertisement",
    "Sponsored content",
    "© 2023 Example Media Group. All rights reserved.",
    "Copyright 2024 The Associated Press. All rights reserved. This material may not be "
    "published, broadcast, rewritten or redistributed.",
    "All rights reserved.",
    "Tags: Korea, Russia, Diplomacy",
    "Filed under: World",
    "Original Story at – 2023-09-17 08:32:58",
    "103257593Articlegeneral newsmediaWorld News",
    "Loading...",
    "Please enable JavaScript to view the comments.",
    "Sign in",
    "Image: Getty Images",
]

LEGIT_SENTENCES = [
    "By Tuesday the flood had receded and residents returned home.",
    "By Tuesday, more than 4,000 people had left",
    "By noon.",
    "Shareholders approved the merger on Monday after a long debate.",
    "The company will share its quarterly results with investors next week.",
    "Readers who subscribe to the print edition will see no change, the editor said.",
    "Share prices fell 4% in early trading in London.",
    "Many people subscribe to the idea that growth will return next year.",
    "The advertisement campaign drew criticism from consumer groups.",
    "Cookie sales rose sharply over the holiday season, the bakery said.",
    "He left a comment on the minister's post that quickly went viral.",
    "Copyright law is changing across the European Union this year.",
    "Related companies reported losses in the third quarter.",
    "Read more books, the minister urged schoolchildren on Tuesday.",
    "Follow-up talks are scheduled for May in Geneva.",
    "Kim Jong Un's Talks with Vladimir Putin",
    "North Korean Media's Positive Coverage",
    "The two leaders discussed trade, energy and security.",
    "Paris, London and Berlin issued a joint statement late on Friday.",
    "Sign up rates for the new health plan doubled, officials said.",
    "Print newspapers have lost half their readers in a decade.",
    "The email was never published, the court heard.",
    "Users can share this data with third parties only with consent.",
    "Advertising revenue fell 12% in the quarter.",
    "Leave was cancelled for all police officers ahead of the summit.",
    "Comments from the central bank governor moved the markets.",
    "Subscribers to the service will pay more from July.",
    "See the full list of winners below.",
]


@pytest.mark.parametrize("line", BOILERPLATE_LINES)
def test_boilerplate_lines_are_removed(line: str) -> None:
    assert is_boilerplate(line)
    assert remove_boilerplate(["A real paragraph of news text.", line]) == [
        "A real paragraph of news text."
    ]


@pytest.mark.parametrize("sentence", LEGIT_SENTENCES)
def test_legitimate_sentences_survive(sentence: str) -> None:
    assert not is_boilerplate(sentence)
    assert clean_text(sentence) == sentence


def test_boilerplate_inside_a_long_paragraph_survives() -> None:
    paragraph = "Subscribe to our newsletter " + "and much more real reporting text " * 12
    assert not is_boilerplate(paragraph.strip())


def test_rules_are_documented_data() -> None:
    assert len(BOILERPLATE_PATTERNS) >= 15
    assert all(isinstance(p, str) and why for p, why in BOILERPLATE_PATTERNS)


def test_duplicates_removed_keeping_first() -> None:
    paragraphs = ["First point.", "Second point.", "first   POINT.", "Second point.\u00a0"]
    assert remove_boilerplate(paragraphs) == ["First point.", "Second point."]


def test_clean_text_normalises() -> None:
    raw = (
        "  Hello&nbsp;world &amp;amp; friends\u200b\x07  \r\n\r\n"
        "Second\tparagraph &lt;b&gt;here&lt;/b&gt;\u2028"
        "Third line\n\n\n\nFourth"
    )
    assert clean_text(raw) == (
        "Hello world & friends\n\nSecond paragraph <b>here</b>\n\nThird line\n\nFourth"
    )


def test_hard_wrapped_lines_are_joined() -> None:
    raw = "The minister said the plan\nwould cost more than expected.\nA new sentence starts."
    assert clean_text(raw) == (
        "The minister said the plan would cost more than expected.\n\nA new sentence starts."
    )


def test_clean_text_is_idempotent_on_tricky_input() -> None:
    for raw in ["&amp;amp;lt;b&amp;gt;", "&am\x01p;", "a\u0301\n\nb", "x\n\n\nx", ""]:
        once = clean_text(raw)
        assert clean_text(once) == once


def test_html_to_text() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style></head><body>"
        "<nav>Home | News</nav><h1>Heading</h1><p>First <b>bold</b>\nparagraph.</p>"
        "<script>var x = 'evil';</script><div>Second<br>line</div>"
        "<ul><li>One</li><li>Two</li></ul><p>Advertisement</p><p>&amp;amp; done</p></body></html>"
    )
    assert html_to_text(html) == (
        "Heading\n\nFirst bold paragraph.\n\nSecond\n\nline\n\nOne\n\nTwo\n\n& done"
    )


@pytest.mark.parametrize(
    "html", ["", "<", "<p></p>", "<!-- only a comment -->", "<?xml?>", "a < b"]
)
def test_html_to_text_odd_input(html: str) -> None:
    assert isinstance(html_to_text(html), str)


def test_seed_002_article() -> None:
    text = shared_path("seeds", "002_3f7df35fdd9a68e6.txt").read_text(encoding="utf-8")
    article = to_article(parse_text_article(text), fetched_at=FETCHED, fallback_source="seeds")
    assert article is not None
    assert article.title == (
        "Kim Jong Un Returns from Russia with Strengthened Comradely Bonds, North Korean Announcement"
    )
    body = article.body
    assert "Latest News, Local News" not in body
    assert "Read more:" not in body
    assert "Leave A Reply" not in body
    assert "Your email address will not be published." not in body
    assert body.count("has returned from his official visit to Russia") == 1
    assert "Positive Coverage" in body and "catalyst for further diplomatic" in body
    assert article.published_at == FETCHED
    assert article.source == "seeds"


def test_seed_000_article() -> None:
    text = shared_path("seeds", "000_e49189fab17ffecb.txt").read_text(encoding="utf-8")
    article = to_article(parse_text_article(text), fetched_at=FETCHED)
    assert article is not None
    assert article.title.startswith("Kim Jong Un, North Korean Leader, Concludes Trip")
    assert article.published_at == datetime(2023, 9, 17, 8, 32, 58, tzinfo=UTC)
    assert article.category == "World News"
    assert "103257593" not in article.body and "Original Story" not in article.body
    assert article.body.endswith("international partners.")
    assert article.source == "unknown"


def test_to_article_from_html_content() -> None:
    entry = Entry(
        title="  Storm &amp; floods\n hit   coast ",
        url="HTTPS://News.Example.com:443/a?utm_source=rss&id=7#top",
        guid="1",
        author=" Jane ",
        categories=["", " Weather "],
        updated_at=datetime(2024, 5, 2, tzinfo=UTC),
        summary="<p>Short summary.</p>",
        content="<p>Storm &amp; floods hit coast</p><p>Body text.</p><p>Share this:</p>",
        content_is_html=True,
    )
    article = to_article(entry, fetched_at=FETCHED)
    assert article is not None
    assert article.title == "Storm & floods hit coast"
    assert article.body == "Body text."  # leading repeat of the title dropped
    assert article.summary == "Short summary."
    assert article.url == "https://news.example.com/a?id=7"
    assert article.guid is None  # "1" is not trustworthy
    assert article.source == "news.example.com"
    assert article.author == "Jane"
    assert article.category == "Weather"
    assert article.published_at == datetime(2024, 5, 2, tzinfo=UTC)
    assert len(article.content_hash) == 32


def test_to_article_summary_fallback_and_guid_kept() -> None:
    entry = Entry(title="", summary="Only a summary here. And more.", guid="tag:x.com,2024:99")
    article = to_article(entry, fetched_at=FETCHED, fallback_source="Wire")
    assert article is not None
    assert article.body == "Only a summary here. And more."
    assert article.title == "Only a summary here."
    assert article.guid == "tag:x.com,2024:99"
    assert article.source == "Wire"
    assert article.published_at == FETCHED


def test_to_article_none_without_title_or_body() -> None:
    assert (
        to_article(
            Entry(title="  ", content="<p>Advertisement</p>", content_is_html=True),
            fetched_at=FETCHED,
        )
        is None
    )


def test_to_article_caps() -> None:
    paragraph = "word " * 2000
    entry = Entry(title="x " * 600, content="\n\n".join([paragraph.strip()] * 30) + "\n\nend")
    article = to_article(entry, fetched_at=FETCHED)
    assert article is not None
    assert len(article.title) <= 500
    # Repeated paragraphs are deduplicated, so build distinct ones for the body cap.
    distinct = "\n\n".join(f"{i} {paragraph.strip()}" for i in range(20))
    article = to_article(Entry(title="t", content=distinct), fetched_at=FETCHED)
    assert article is not None
    assert len(article.body) <= 100_000
    assert article.body.endswith("word")  # cut at a paragraph boundary
    assert article.body.count("\n\n") == 8  # 9 paragraphs of ~10,000 chars


# --- mojibake (UTF-8 read as windows-1252 or latin-1) is repaired with ftfy -----------

MOJIBAKE = [
    ("donâ€™t", "don’t"),  # read as windows-1252
    ("don\u00e2\x80\x99t", "don’t"),  # read as latin-1: C1 controls, kept until repaired
    ("cafÃ©", "café"),
    (
        "The Mona Lisa doesnÃƒÂ¢Ã¢â€šÂ¬Ã¢â€žÂ¢t have eyebrows.",
        "The Mona Lisa doesn’t have eyebrows.",
    ),
    ("caf&Atilde;&copy; &amp; cr&Atilde;&uml;me", "café & crème"),  # behind entities
]

CORRECT = [
    "Crème brûlée, “quoted” and ‘single’ — fine…",
    "traitement automatisé\u00a0». Ce dispositif –\u00a0au moins",  # passes the screen
    "Přihlášením k newsletteru souhlasíte",
    "ＡＢＣ full width, ﬁ ligature, Ã alone, Âge",
    "Москва, 東京, عربى, emoji 👍🏽",
]


@pytest.mark.parametrize(("bad", "good"), MOJIBAKE)
def test_mojibake_is_repaired_in_titles_and_bodies(bad: str, good: str) -> None:
    article = to_article(
        Entry(
            title=f"Title {bad}",
            content=f"<p>Body {bad}</p><p>Second {bad}</p>",
            content_is_html=True,
        ),
        fetched_at=FETCHED,
    )
    assert article is not None
    assert article.title == f"Title {good}"
    assert article.body == f"Body {good}\n\nSecond {good}"
    assert clean_text(f"plain {bad}") == f"plain {good}"


@pytest.mark.parametrize("text", CORRECT)
def test_correct_text_is_left_as_it_is(text: str) -> None:
    spaced = " ".join(text.split())  # cleaning makes no-break spaces plain ones
    assert clean_text(text) == spaced
    assert html_to_text(f"<p>{text}</p>") == spaced


def test_ingested_mojibake_is_stored_repaired(tmp_path, monkeypatch, capsys) -> None:
    """Through the user's path: `newsdesk ingest` of a JSON Lines archive and a text
    file, then `newsdesk export` and `newsdesk search`."""
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    for key in [k for k in os.environ if k.startswith("NEWSDESK_")]:
        monkeypatch.delenv(key)
    archive = tmp_path / "archive.jsonl"
    record = {
        "title": "Harbour cafÃ© reopens",
        "text": "The cafÃ© on the quay didnâ€™t close for long.\n\nIts owner said weâ€™re back.",
        "source": "Quay Times",
        "published_at": "2026-11-20T08:30:00+00:00",
    }
    archive.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    article = tmp_path / "story.txt"
    article.write_text(
        "CrÃ¨me brÃ»lÃ©e contest draws a crowd\n\n"
        "Bakers from the whole region came to the town square on Saturday, and the judges "
        "said the standard was the best they had seen. The winner, a cafÃ© owner, "
        "didnâ€™t expect to win and said she would try again next year.\n",
        encoding="utf-8",
    )
    assert main(["--db", "m.db", "ingest", str(archive), str(article)]) == 0
    capsys.readouterr()
    assert main(["--db", "m.db", "export", "-o", "out.jsonl"]) == 0
    exported = {
        row["title"]: row["text"]
        for row in map(
            json.loads, (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()
        )
    }
    assert exported == {
        "Harbour café reopens": "The café on the quay didn’t close for long.\n\n"
        "Its owner said we’re back.",
        "Crème brûlée contest draws a crowd": "Bakers from the whole region came to the town "
        "square on Saturday, and the judges said the standard was the best they had seen. "
        "The winner, a café owner, didn’t expect to win and said she would try again next year.",
    }
    capsys.readouterr()
    assert main(["--db", "m.db", "search", "café", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert {hit["title"] for hit in hits} == set(exported)
