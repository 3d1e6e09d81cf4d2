"""Lead images: from feeds, JSON Feed, JSON Lines and pages to the store, the digest
the bot posts, ``/news story``, ``--json`` and ``export`` -> ``ingest``.

An image URL passes the checks of a link (http(s), absolute against the base)
plus its own (no credentials, no control characters, at most 2048 characters);
a bad one is dropped, never stored.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.cli import main
from bot.digest.models import Digest, DigestItem
from bot.identity import MAX_IMAGE_URL_CHARS, image_url
from bot.ingest.parse import parse_feed, parse_page
from bot.ingest.parse.jsonl import iter_jsonl
from bot.models import Entry
from bot.render.discord_embeds import check_limits, render_digest_messages
from bot.render.jsonout import item_to_json
from bot.services import Newsdesk
from tests.test_fulltext import TOPICS, article_page, paragraphs, settings, summary_item

if TYPE_CHECKING:
    from tests.botharness import Newsroom
    from tests.httpserver import LoopbackServer

pytest_plugins = ["tests.botharness", "tests.httpserver"]

SLOT = dt.datetime(2024, 6, 1, 8, 0, tzinfo=dt.UTC)  # the newsroom's digest time
MEDIA = "http://search.yahoo.com/mrss/"
RSS_TYPE = "application/rss+xml"
LIGHTHOUSE = "Storm topples the old lighthouse at Gull Point"
BAD_IMAGES = [
    "javascript:alert(1)",
    "https://user:secret@img.example/a.jpg",
    "https://token@img.example/a.jpg",
    "data:image/png;base64,iVBORw0KGgo=",
    "file:///etc/passwd",
    "http://",
    "https:///nohost.jpg",
    "https://img.example:99999/a.jpg",
    "https://img.example/\x00.jpg",
    "https://img.example/" + "a" * MAX_IMAGE_URL_CHARS + ".jpg",
]


def media_rss(items: list[str], link: str = "http://127.0.0.1/") -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0" xmlns:media="{MEDIA}"><channel>'
        f"<title>Gull Point Gazette</title><link>{link}</link>{''.join(items)}</channel></rss>"
    ).encode()


def item(
    title: str,
    link: str,
    extra: str,
    text: str = "The keepers had warned of it for years; the overnight storm finished it.",
) -> str:
    return (
        f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
        f"<pubDate>Sat, 01 Jun 2024 07:00:00 GMT</pubDate><description>{title}. {text}"
        f"</description>{extra}</item>"
    )


# -- parsing -------------------------------------------------------------------


@pytest.mark.parametrize("parser", ["feedparser-rs", "feedparser"])
def test_feed_images_media_rss_and_enclosures(parser: str, monkeypatch) -> None:
    monkeypatch.setattr("bot.ingest.parse.feeds.PARSERS", (parser,))
    doc = media_rss(
        [
            item(
                "A",
                "https://ex.example/a",
                '<media:content url="https://ex.example/video.mp4" medium="video"/>'
                '<media:content url="https://ex.example/small.jpg" medium="image" width="200"/>'
                '<media:content url="https://ex.example/big.jpg" type="image/jpeg" width="1200"/>'
                '<media:thumbnail url="https://ex.example/thumb.jpg"/>',
            ),
            item("B", "https://ex.example/b", '<media:thumbnail url="/img/b.png"/>'),
            item(
                "C",
                "https://ex.example/c",
                '<enclosure url="https://ex.example/c.mp3" type="audio/mpeg" length="1"/>'
                '<enclosure url="https://ex.example/c.webp" type="image/webp" length="1"/>',
            ),
            item(
                "D",
                "https://ex.example/d",
                '<media:content url="javascript:alert(1)" medium="image"/>'
                '<media:thumbnail url="https://u:p@ex.example/d.jpg"/>',
            ),
            item("E", "https://ex.example/e", '<media:content url="https://ex.example/e.jpg"/>'),
            item("F", "https://ex.example/f", ""),
        ],
        link="https://ex.example/",  # (a loopback link would send it to feedparser)
    )
    entries = parse_feed(doc, url="https://ex.example/feed.xml").entries
    assert [e.image_url for e in entries] == [
        "https://ex.example/big.jpg",  # the widest image, never the video
        "https://ex.example/img/b.png",  # relative: made absolute against the feed
        "https://ex.example/c.webp",  # an image enclosure, not the audio one
        None,  # javascript: and credentials: dropped
        "https://ex.example/e.jpg",  # no type nor medium: an image file name
        None,
    ]


def test_json_feed_and_json_lines_images() -> None:
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "home_page_url": "https://jf.example/",
        "items": [
            {"id": "1", "title": "One", "url": "/one", "image": "/i/one.jpg"},
            {"id": "2", "title": "Two", "url": "/two", "banner_image": "https://jf.example/b.png"},
            {"id": "3", "title": "Three", "url": "/three", "image": "javascript:x()"},
        ],
    }
    entries = parse_feed(json.dumps(feed).encode()).entries
    assert [e.image_url for e in entries] == [
        "https://jf.example/i/one.jpg",
        "https://jf.example/b.png",
        None,
    ]
    lines = [
        json.dumps({"title": "a", "text": "t", "url": "https://l.example/a", "image": "p.jpg"}),
        json.dumps({"title": "b", "text": "t", "image_url": "https://l.example/b.jpg"}),
        json.dumps({"title": "c", "text": "t", "image": "https://x:y@l.example/c.jpg"}),
        json.dumps({"title": "d", "text": "t", "image": ["not", "a", "url"]}),
    ]
    got = [e.image_url for e in iter_jsonl(lines) if isinstance(e, Entry)]
    assert got == ["https://l.example/p.jpg", "https://l.example/b.jpg", None, None]


def test_page_og_image_and_twitter_image() -> None:
    page = article_page("comet").replace(
        "<meta charset", '<meta property="og:image" content="/img/comet.jpg"><meta charset'
    )
    assert parse_page(page, url="https://lt.example/news/comet").image_url == (
        "https://lt.example/img/comet.jpg"
    )
    page = article_page("comet").replace(
        "<meta charset", '<meta name="twitter:image" content="https://cdn.example/c.png"><meta c'
    )
    assert parse_page(page, url="https://lt.example/n").image_url == "https://cdn.example/c.png"


@pytest.mark.parametrize("bad", BAD_IMAGES)
def test_bad_image_urls_are_refused(bad: str) -> None:
    assert image_url(bad) is None


def test_image_url_is_tidied_but_its_query_kept() -> None:
    assert image_url(" HTTPS://Img.Example:443/a b.jpg?sig=Ab&w=800#frag ") == (
        "https://img.example/a%20b.jpg?sig=Ab&w=800"
    )


# -- the store and the CLI -------------------------------------------------------


async def test_bad_images_never_stored_and_updates_keep_an_image(tmp_path: Path) -> None:
    nd = await Newsdesk.open(settings(), database=tmp_path / "img.db")
    try:
        when = dt.datetime(2024, 6, 1, 7, tzinfo=dt.UTC)
        entries = [
            Entry(
                title=f"Bad image {n}",
                url=f"https://b.example/{n}",
                content=f"Story {n} about a quarry {n} and its bad picture.",
                published_at=when,
                image_url=bad,
            )
            for n, bad in enumerate(BAD_IMAGES)
        ]
        entries.append(
            Entry(
                title="Good image",
                url="https://b.example/good",
                content="The harbour seals returned to the estuary this spring.",
                published_at=when,
                image_url="https://b.example/seal.jpg",
            )
        )
        await nd.ingest_entries(entries)
        # a newer version without an image keeps the stored one
        await nd.ingest_entries(
            [
                Entry(
                    title="Good image",
                    url="https://b.example/good",
                    content="The harbour seals returned to the estuary this spring, in numbers.",
                    published_at=when,
                    updated_at=when + dt.timedelta(hours=1),
                )
            ]
        )
        async with nd.db.execute("SELECT title, image_url FROM articles ORDER BY id") as cur:
            rows = {r[0]: r[1] for r in await cur.fetchall()}
    finally:
        await nd.close()
    assert rows.pop("Good image") == "https://b.example/seal.jpg"
    assert set(rows.values()) == {None}


def test_json_lines_image_round_trip_through_export_and_ingest(tmp_path: Path, capsys) -> None:
    source = tmp_path / "in.jsonl"
    records = [
        {
            "title": "Orchard frost ruins the apple harvest",
            "text": "A late frost destroyed most of the blossom in the valley orchards.",
            "url": "https://orchard.example/frost",
            "source": "Valley Courier",
            "published_at": "2024-05-31T09:00:00+00:00",
            "image": "/photos/frost.jpg",
        },
        {
            "title": "Ferry service resumes after the strike",
            "text": "Crews returned to work on Friday after the pay deal was signed.",
            "url": "https://ferry.example/resumes",
            "source": "Harbor Ledger",
            "published_at": "2024-05-31T10:00:00+00:00",
            "image_url": "javascript:alert(1)",
        },
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in records))
    first, second = tmp_path / "one.db", tmp_path / "two.db"
    assert main(["--db", str(first), "ingest", str(source)]) == 0
    out = tmp_path / "export.jsonl"
    assert main(["--db", str(first), "export", "-o", str(out)]) == 0
    exported = [json.loads(line) for line in out.read_text().splitlines()]
    assert {r["title"]: r["image"] for r in exported} == {
        records[0]["title"]: "https://orchard.example/photos/frost.jpg",
        records[1]["title"]: None,
    }
    assert main(["--db", str(second), "ingest", str(out)]) == 0
    again = tmp_path / "again.jsonl"
    assert main(["--db", str(second), "export", "-o", str(again)]) == 0
    images = {
        json.loads(x)["title"]: json.loads(x)["image"] for x in again.read_text().split("\n") if x
    }
    assert images == {r["title"]: r["image"] for r in exported}
    capsys.readouterr()
    assert main(["--db", str(second), "digest", "--date", "2024-06-01", "--json"]) == 0
    stories = json.loads(capsys.readouterr().out)["stories"]
    assert {s["headline"]: s["image_url"] for s in stories} == {
        records[0]["title"]: "https://orchard.example/photos/frost.jpg",
        records[1]["title"]: None,
    }
    assert main(["--db", str(second), "digest", "--date", "2024-06-01"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("image https://") == 1
    assert "image https://orchard.example/photos/frost.jpg" in printed
    assert main(["--db", str(second), "search", "frost OR ferry", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert {h["title"]: h["image_url"] for h in hits} == {
        records[0]["title"]: "https://orchard.example/photos/frost.jpg",
        records[1]["title"]: None,
    }


async def test_og_image_of_a_summary_only_feed_page(
    tmp_path: Path, http_server: LoopbackServer
) -> None:
    """A feed without images links to pages with og:image: the poll fetches each
    page for its text and keeps its image; a feed's own image comes first."""
    own = http_server.url("/own.jpg")
    items = [
        summary_item(http_server, "comet"),  # (the newest: it leads if the two are one story)
        summary_item(http_server, "tram", date="Tue, 01 Jul 2025 09:00:00 GMT"),
    ]
    parts = []
    for entry in items:
        extra = f'<media:thumbnail url="{own}"/>' if "tram" in entry["link"] else ""
        parts.append(
            f"<item><title>{entry['title']}</title><link>{entry['link']}</link>"
            f"<pubDate>{entry['date']}</pubDate><description>{entry['description']}"
            f"</description>{extra}</item>"
        )
    http_server.route("/feed.xml", body=media_rss(parts), content_type=RSS_TYPE)
    for key, og in (("comet", "/img/comet.jpg"), ("tram", "/img/tram.jpg")):
        page = article_page(key).replace(
            "<meta charset", f'<meta property="og:image" content="{og}"><meta charset'
        )
        http_server.route(f"/news/{key}", body=page, content_type="text/html")
    nd = await Newsdesk.open(settings(), database=tmp_path / "og.db")
    try:
        await nd.add_feed(http_server.url("/feed.xml"))
        report = await nd.poll_once()
        assert report.pages_fetched == 2
        async with nd.db.execute("SELECT title, body, image_url, story_id FROM articles") as cur:
            rows = {r[0]: r for r in await cur.fetchall()}
        comet = rows[TOPICS["comet"][0]]
        assert paragraphs("comet")[2] in comet[1]  # the page's text became the body
        assert comet[2] == http_server.url("/img/comet.jpg")
        assert rows[TOPICS["tram"][0]][2] == own
        story = await nd.story(comet[3])
        assert story is not None and story.image_url == http_server.url("/img/comet.jpg")
    finally:
        await nd.close()


# -- rendering -----------------------------------------------------------------


def digest_item(n: int, image: str | None) -> DigestItem:
    return DigestItem(
        story_id=n,
        headline=f"Story {n}",
        summary=f"Summary of story {n}.",
        source_count=2,
        article_count=2,
        links=[("Other", f"https://o.example/{n}")],
        more_links=0,
        published_at=SLOT - dt.timedelta(hours=n),
        category=None,
        lead_source="Lead",
        lead_url=f"https://l.example/{n}",
        image_url=image,
    )


def test_digest_embeds_top_image_large_others_as_thumbnails() -> None:
    items = [digest_item(n, f"https://i.example/{n}.jpg" if n != 2 else None) for n in range(14)]
    digest = Digest(1, SLOT.date(), SLOT - dt.timedelta(days=1), SLOT, items, [(None, items)])
    messages = render_digest_messages(digest)
    for message in messages:
        assert check_limits(message) == []
    embeds = [e for m in messages for e in m["embeds"]]
    assert embeds[0]["image"] == {"url": "https://i.example/0.jpg"} and "thumbnail" not in embeds[0]
    shown: dict[str, Any] = {}
    for embed in embeds:
        assert not embed.get("title")  # image breaks are no "(continued)"
        if "thumbnail" in embed:
            assert embed["description"].count("**[") == 1  # one story beside its image
            shown[embed["description"].split("]")[0]] = embed["thumbnail"]["url"]
    assert len(shown) == 12 and shown["**[Story 5"] == "https://i.example/5.jpg"
    assert item_to_json(items[2])["image_url"] is None
    assert item_to_json(items[3])["image_url"] == "https://i.example/3.jpg"


def test_digest_without_images_packs_as_before() -> None:
    items = [digest_item(n, None) for n in range(4)]
    digest = Digest(1, SLOT.date(), SLOT - dt.timedelta(days=1), SLOT, items, [(None, items)])
    [message] = render_digest_messages(digest)
    [embed] = message["embeds"]
    assert "thumbnail" not in embed and "image" not in embed


# -- the bot -------------------------------------------------------------------


async def test_polled_media_image_reaches_the_digest_and_news_story(
    newsroom: Newsroom, http_server: LoopbackServer
) -> None:
    image = http_server.url("/photos/lighthouse.jpg")
    doc = media_rss(
        [
            item(
                LIGHTHOUSE,
                http_server.url("/gull/lighthouse"),
                f'<media:content url="{image}" medium="image" width="1024"/>',
            ),
            item(
                "Harbour seals return to the Gull Point estuary",
                http_server.url("/gull/seals"),
                '<media:content url="javascript:alert(document.cookie)" medium="image"/>',
                "Marine biologists counted forty pups on the sandbanks in May.",
            ),
        ],
        link=http_server.url("/"),
    )
    http_server.route("/gull.xml", body=doc, content_type=RSS_TYPE)
    nd = newsroom.nd
    await nd.add_feed(http_server.url("/gull.xml"), fulltext="never")
    report = await nd.poll_once()
    assert report.new_articles == 2
    async with nd.db.execute("SELECT title, image_url, story_id FROM articles") as cur:
        rows = {r[0]: r for r in await cur.fetchall()}
    assert rows[LIGHTHOUSE][1] == image
    assert rows["Harbour seals return to the Gull Point estuary"][1] is None

    async with newsroom.running() as bot:
        await bot.scheduler.digest_job(newsroom.news.id, now=SLOT + dt.timedelta(seconds=2))
        embeds = [e for m in newsroom.channel_posts(newsroom.news) for e in m["embeds"]]
        (mine,) = [e for e in embeds if LIGHTHOUSE in e.get("description", "")]
        assert (mine.get("thumbnail") or mine.get("image")) == {"url": image}
        (seals,) = [e for e in embeds if "Harbour seals" in e.get("description", "")]
        assert "javascript" not in json.dumps(embeds)
        handle = await newsroom.fake.send_command("news story", {"id": rows[LIGHTHOUSE][2]})
        first = await handle.wait_response()
        story = await handle.wait_edit(1) if first["type"] == 5 else first["data"]
        assert story["embeds"][0]["thumbnail"] == {"url": image}


def test_sections_with_images_keep_their_titles() -> None:
    items = [
        digest_item(n, f"https://i.example/{n}.jpg" if n in (0, 3) else None) for n in range(5)
    ]
    for n, entry in enumerate(items):
        entry.category = "World" if n < 3 else "Sport"
    digest = Digest(1, SLOT.date(), SLOT - dt.timedelta(days=1), SLOT, items)
    digest.sections = [("World", items[:3]), ("Sport", items[3:])]
    [message] = render_digest_messages(digest)
    assert check_limits(message) == []
    embeds = message["embeds"]
    assert [e.get("title") for e in embeds] == ["World", None, "Sport", None]
    assert [("image" in e, "thumbnail" in e) for e in embeds] == [
        (True, False),
        (False, False),
        (False, True),
        (False, False),
    ]
    assert embeds[1]["description"].count("**[") == 2  # stories without images share an embed
