"""Discord payloads: limits, no lost stories, escaping, mentions (property-based)."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.digest.build import make_sections
from bot.digest.models import Digest, DigestItem
from bot.render.discord_embeds import (
    render_digest_messages,
    render_search_page,
)
from bot.render.markdown import escape, escape_fit, safe_url
from bot.search.engine import SearchHit, SearchPage
from bot.search.query import Query
from tests.conftest import shared_path

UTC = dt.UTC
DAY = dt.date(2024, 6, 3)
WINDOW = (dt.datetime(2024, 6, 2, 6, tzinfo=UTC), dt.datetime(2024, 6, 3, 6, tzinfo=UTC))

# -- an independent checker (not the module's own) ------------------------------------


def u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def embed_chars(embed: dict) -> int:
    total = u16(embed.get("title", "")) + u16(embed.get("description", ""))
    total += sum(u16(f["name"]) + u16(f["value"]) for f in embed.get("fields", []))
    total += u16(embed.get("footer", {}).get("text", ""))
    return total + u16(embed.get("author", {}).get("name", ""))


def assert_within_limits(message: dict) -> None:
    assert message["allowed_mentions"] == {"parse": []}
    content, embeds = message.get("content") or "", message.get("embeds") or []
    assert content.strip() or embeds, "empty message"
    assert u16(content) <= 2000
    assert len(embeds) <= 10
    assert sum(embed_chars(e) for e in embeds) <= 6000
    for e in embeds:
        assert u16(e.get("title", "")) <= 256
        assert u16(e.get("description", "")) <= 4096
        assert len(e.get("fields", [])) <= 25
        for f in e.get("fields", []):
            assert u16(f["name"]) <= 256 and u16(f["value"]) <= 1024
        assert u16(e.get("footer", {}).get("text", "")) <= 2048
        assert u16(e.get("author", {}).get("name", "")) <= 256


def texts(message: dict) -> list[str]:
    out = [message.get("content") or ""]
    for e in message.get("embeds", []):
        out += [e.get("title", ""), e.get("description", ""), e.get("footer", {}).get("text", "")]
        out += [f["name"] + "\n" + f["value"] for f in e.get("fields", [])]
    return out


MENTION = re.compile(r"@(?:everyone|here)|<@[!&]?\d+>|<#\d+>")
# A Discord masked link: unescaped "[label](target)".
MASKED_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\[\]\\])*)\]\(([^)]*)\)")
MARKER = re.compile(r"ZQ(\d+)QZ")

# -- strategies ----------------------------------------------------------------------

NASTY = [
    "@everyone",
    "@here",
    "<@123456789012345678>",
    "<@!42>",
    "<@&77>",
    "<#99>",
    "[trusted](https://evil.example)",
    "**",
    "__",
    "~~",
    "`",
    "```",
    "\\",
    "||",
    "> ",
    "# ",
    "- ",
    "1. ",
    ")",
    "](",
    "[",
    "<t:0:R>",
    "\n\n",
    "https://x.example/(a)",
    "😀",
    "\u200b",
]
nasty_text = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(NASTY)), max_size=6).map(
    "".join
)
label_text = st.one_of(st.text(max_size=10), st.sampled_from(NASTY))
# Huge strings cheaply: a short random piece repeated up to 700 times.
big_text = st.one_of(
    nasty_text,
    st.tuples(st.text(min_size=1, max_size=12), st.integers(1, 700)).map(lambda t: t[0] * t[1]),
)
urls = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "javascript:alert(1)",
            "https://a.example/x) [evil](https://evil.example",
            "http://a.example/ spaced path",
            "ftp://files.example/x",
            "",
            "https://",
            "https://a.example/" + "x" * 900,
            "https://ok.example/path_(1)?q=a b#frag",
        ]
    ),
    st.text(max_size=30).map(lambda p: "https://news.example/" + p),
)


@st.composite
def items(draw, story_id: int) -> DigestItem:
    links = draw(
        st.lists(st.tuples(label_text, urls.map(lambda u: u or "https://e.example/")), max_size=8)
    )
    more = draw(st.integers(0, 500))
    return DigestItem(
        story_id=story_id,
        headline=f"ZQ{story_id}QZ " + draw(big_text),
        summary=draw(big_text),
        source_count=len(links) + more + 1,
        article_count=draw(st.integers(1, 1000)),
        links=[(s, u) for s, u in links],
        more_links=more,
        published_at=draw(
            st.datetimes(
                min_value=dt.datetime(2000, 1, 1),
                max_value=dt.datetime(2100, 1, 1),
                timezones=st.just(UTC),
            )
        ),
        category=draw(
            st.one_of(st.none(), st.sampled_from(["World", "Sport", "Tech"]), nasty_text)
        ),
        developing=draw(st.booleans()),
        lead_source=draw(nasty_text),
        lead_url=draw(urls),
    )


@st.composite
def digests(draw, max_stories: int = 200) -> Digest:
    """0..max_stories stories, cycling over a few random templates (keeps examples small)."""
    count = draw(st.integers(0, max_stories))
    templates = draw(st.lists(items(0), min_size=1, max_size=6))
    stories = []
    for story_id in range(1, count + 1):
        t = templates[story_id % len(templates)]
        stories.append(
            DigestItem(
                **{
                    **{f: getattr(t, f) for f in DigestItem.__slots__},
                    "story_id": story_id,
                    "headline": f"ZQ{story_id}QZ " + t.headline.split(" ", 1)[1],
                }
            )
        )
    return Digest(
        111,
        DAY,
        *WINDOW,
        items=stories,
        sections=make_sections(stories),
        quiet=not stories,
        timezone="Europe/Paris",
    )


def allowed_targets(digest: Digest) -> set[str]:
    raw = [i.lead_url for i in digest.items] + [u for i in digest.items for _, u in i.links]
    return {safe_url(u) for u in raw if safe_url(u)}


# -- properties ----------------------------------------------------------------------

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY
@given(digests())
def test_every_message_within_limits_and_every_story_exactly_once(digest):
    messages = render_digest_messages(digest, title_prefix="Briefing @everyone <@1>")
    assert messages, "a quiet day still posts one line by default"
    seen = []
    for message in messages:
        assert_within_limits(message)
        for text in texts(message):
            seen += [int(m) for m in MARKER.findall(text)]
    section_order = [i.story_id for _, its in digest.sections for i in its]
    assert seen == section_order
    assert sorted(seen) == sorted(i.story_id for i in digest.items)


@PROPERTY
@given(digests(max_stories=30))
def test_no_mentions_and_only_our_links(digest):
    targets = allowed_targets(digest)
    for message in render_digest_messages(digest):
        for text in texts(message):
            assert not MENTION.search(text), text
            for label, target in MASKED_LINK.findall(text):
                assert "[" not in label and "]" not in label  # Discord would not parse it
                assert target in targets
                assert target.startswith(("http://", "https://"))
                assert not re.search(r"[\s()<>]", target)
            assert "](https://evil.example)" not in text


@settings(max_examples=200, deadline=None)
@given(nasty_text, st.integers(0, 300))
def test_escape_fit_respects_limit_and_never_leaves_markup(text, limit):
    out = escape_fit(text, limit)
    assert u16(out) <= limit
    assert not MENTION.search(out)
    assert not MASKED_LINK.search(out)
    assert "\n" not in out
    # no dangling backslash: it would escape whatever we append after it
    assert not re.search(r"(?<!\\)(?:\\\\)*\\$", out)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_safe_url_output_is_plain_http(raw):
    for url in (raw, "https://h.example/" + raw):
        out = safe_url(url)
        if out is not None:
            assert out.startswith(("http://", "https://"))
            assert out.isascii()
            assert not re.search(r"[\s()<>\[\]\\\"`*|]", out)


# -- examples ---------------------------------------------------------------------


def item(story_id=1, **kw) -> DigestItem:
    base = {
        "story_id": story_id,
        "headline": "Storm hits coast",
        "summary": "A storm hit.",
        "source_count": 1,
        "article_count": 1,
        "links": [],
        "more_links": 0,
        "published_at": dt.datetime(2024, 6, 3, 5, tzinfo=UTC),
        "category": None,
        "lead_source": "Lead",
        "lead_url": "https://lead.example/a",
    }
    base.update(kw)
    return DigestItem(**base)


def digest_of(*its: DigestItem) -> Digest:
    stories = list(its)
    return Digest(
        1, DAY, *WINDOW, items=stories, sections=make_sections(stories), quiet=not stories
    )


def test_story_block_layout():
    links = [("AP", "https://ap.example/1"), ("BBC", "https://bbc.example/(2)")]
    d = digest_of(item(source_count=5, links=links, more_links=2, developing=True))
    [message] = render_digest_messages(d)
    [embed] = message["embeds"]
    assert "title" not in embed  # one list: no section heading
    assert embed["description"] == (
        "**[Storm hits coast](https://lead.example/a)** · *developing*\n"
        "A storm hit.\n"
        "Lead · <t:1717390800:R> · also covered by 4 sources: [AP](https://ap.example/1) · "
        "[BBC](https://bbc.example/%282%29) · +2 more"
    )
    assert message["content"] == "**Daily briefing** · Monday 3 June 2024 · 1 story"
    assert embed["footer"]["text"].startswith("1 story")


def test_also_covered_omitted_for_a_single_outlet_and_singular_for_two():
    [m1] = render_digest_messages(digest_of(item()))
    assert "also covered" not in m1["embeds"][0]["description"]
    [m2] = render_digest_messages(digest_of(item(source_count=2, more_links=1)))
    assert "also covered by 1 source: +1 more" in m2["embeds"][0]["description"]


def test_article_text_cannot_link_or_ping():
    evil = item(
        headline="[trusted](https://evil.example) @everyone <@&1>",
        summary="- see <#5> and @here `code` **bold**",
        lead_url="javascript:alert(1)",
    )
    [message] = render_digest_messages(digest_of(evil))
    desc = message["embeds"][0]["description"]
    assert "\\[trusted\\]\\(https://evil.example\\)" in desc
    assert not MASKED_LINK.search(desc)
    assert not MENTION.search(desc)
    assert "javascript" not in desc
    assert "\n\\- see" in desc  # a leading "-" cannot become a list
    assert "\\`code\\` \\*\\*bold\\*\\*" in desc


def test_brackets_in_a_linked_headline_become_parentheses():
    [message] = render_digest_messages(digest_of(item(headline="[Video] Storm [x](y)")))
    assert message["embeds"][0]["description"].startswith(
        "**[\\(Video\\) Storm \\(x\\)\\(y\\)](https://lead.example/a)**"
    )


def test_sections_become_titled_embeds():
    d = digest_of(item(1, category="World"), item(2, category="Sport"), item(3))
    [message] = render_digest_messages(d)
    assert [e.get("title") for e in message["embeds"]] == ["World", "Sport", "Other news"]


def test_long_digest_splits_between_stories_with_continuation_titles():
    big = [
        item(
            i,
            headline=f"ZQ{i}QZ " + "word " * 100,
            summary="text " * 200,
            category="World" if i < 40 else "Sport",
        )
        for i in range(1, 41)
    ]
    messages = render_digest_messages(digest_of(*big))
    assert len(messages) > 1
    for message in messages:
        assert_within_limits(message)
    titles = [e.get("title") for m in messages for e in m["embeds"]]
    assert titles[0] == "World" and titles[-1] == "Sport"
    assert set(titles[1:-1]) == {"World (continued)"}
    assert messages[1]["content"].endswith(f"part 2 of {len(messages)}")
    found = [int(x) for m in messages for t in texts(m) for x in MARKER.findall(t)]
    assert found == list(range(1, 41))


def test_quiet_day_post_or_skip():
    quiet = digest_of()
    [message] = render_digest_messages(quiet)
    assert "no new stories" in message["content"]
    assert message["embeds"] == [] and message["allowed_mentions"] == {"parse": []}
    assert render_digest_messages(quiet, quiet_day="skip") == []


def test_escape_helpers():
    assert escape("a_b*c") == "a\\_b\\*c"
    assert escape("@everyone") == "@\u200beveryone"
    assert safe_url("https://a.example/x y)") == "https://a.example/x%20y%29"
    assert safe_url("javascript:alert(1)") is None
    assert safe_url("https:///nohost") is None


def test_search_page():
    def hit(n: int) -> SearchHit:
        return SearchHit(
            article_id=n,
            story_id=None,
            title=f"Hit {n} @here",
            url=f"https://h.example/{n}",
            source="Src",
            published_at=dt.datetime(2024, 6, 1, tzinfo=UTC),
            snippet="y" * 2000,
            category=None,
        )

    hits = [hit(n) for n in range(10)]
    page = SearchPage(hits=hits, total=25, limit=10, offset=0, query=Query("storm <@1>"))
    result = render_search_page(page)
    assert_within_limits({"content": "", "embeds": [result], "allowed_mentions": {"parse": []}})
    assert result["footer"]["text"] == "page 1 of 3 · 25 results"
    assert "[Hit 0 @\u200bhere](https://h.example/0)" in result["description"]
    assert not MENTION.search(result["title"])
    empty = render_search_page(SearchPage(hits=[], total=0, limit=5, offset=0, query=Query("x")))
    assert empty["description"] == "No results."
    assert empty["footer"]["text"] == "page 1 of 1 · 0 results"
    third = render_search_page(
        SearchPage(hits=hits[:5], total=12, limit=5, offset=10, query=Query("x"))
    )
    assert third["footer"]["text"] == "page 3 of 3 · 12 results"


def test_payloads_match_discords_openapi_schema():
    spec_path = shared_path("discord-api-spec", "openapi.json")
    jsonschema = pytest.importorskip("jsonschema")
    referencing = pytest.importorskip("referencing")
    spec = json.loads(spec_path.read_text(encoding="utf-8"))
    resource = referencing.Resource.from_contents(
        spec, default_specification=referencing.jsonschema.DRAFT202012
    )
    registry = referencing.Registry().with_resource("urn:discord", resource)
    schema = {"$ref": "urn:discord#/components/schemas/MessageCreateRequest"}
    validator = jsonschema.Draft202012Validator(schema, registry=registry)
    d = digest_of(
        item(1, category="World", links=[("AP", "https://ap.example")], source_count=2),
        item(2, category="Sport"),
    )
    for message in render_digest_messages(d) + render_digest_messages(digest_of()):
        errors = [e.message for e in validator.iter_errors(message)]
        assert errors == []
