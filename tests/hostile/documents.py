"""Hostile feed documents (bytes), each built by a small function."""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable
from pathlib import Path


def rss(items: Iterable[str], *, title: str = "Hostile Herald", encoding: str = "utf-8") -> bytes:
    """An RSS 2.0 document around ready-made ``<item>`` strings."""
    head = f"<?xml version='1.0' encoding='{encoding}'?>" if encoding else ""
    body = "".join(items)
    text = (
        f"{head}<rss version='2.0'><channel><title>{title}</title>"
        f"<link>https://hostile.example/</link>{body}</channel></rss>"
    )
    return text.encode(encoding or "utf-8")


def item(
    title: str,
    link: str | None = None,
    *,
    guid: str | None = None,
    date: str | None = None,
    description: str | None = None,
) -> str:
    """One ``<item>``; the strings are inserted as given (escape them yourself)."""
    parts = [f"<title>{title}</title>"]
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid is not None:
        parts.append(f"<guid isPermaLink='false'>{guid}</guid>")
    if date is not None:
        parts.append(f"<pubDate>{date}</pubDate>")
    if description is not None:
        parts.append(f"<description>{description}</description>")
    return "<item>" + "".join(parts) + "</item>"


def good_feed(prefix: str, count: int = 3) -> bytes:
    """A well-formed feed of ``count`` distinct, dated articles."""
    words = ["harbour", "council", "railway", "festival", "reservoir", "library", "bridge"]
    items = [
        item(
            f"{prefix} {words[i % len(words)]} report number {i}",
            f"https://good.example/{prefix}/{i}",
            guid=f"good-{prefix}-{i}",
            date="Tue, 01 Jul 2025 10:00:00 +0000",
            description=f"The {words[i % len(words)]} story {i} told in plain words by {prefix}.",
        )
        for i in range(count)
    ]
    return rss(items, title=f"Good {prefix}")


def billion_laughs(levels: int = 10, fanout: int = 10) -> bytes:
    """The classic exponential entity expansion (10**levels 'lol's)."""
    decls = ['<!ENTITY lol0 "lol">']
    for n in range(1, levels):
        refs = f"&lol{n - 1};" * fanout
        decls.append(f'<!ENTITY lol{n} "{refs}">')
    doctype = "<!DOCTYPE rss [" + "".join(decls) + "]>"
    top = f"&lol{levels - 1};"
    return (
        f"<?xml version='1.0'?>{doctype}<rss version='2.0'><channel><title>{top}</title>"
        f"<item><title>{top}</title><link>https://laughs.example/1</link>"
        f"<description>{top}</description></item></channel></rss>"
    ).encode()


def quadratic_blowup(size: int = 50_000, refs: int = 50_000) -> bytes:
    """One big plain entity referenced many times (no nesting)."""
    big = "A" * size
    body = "&big;" * refs
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "{big}">]>'
        f"<rss version='2.0'><channel><title>Q</title><item><title>q</title>"
        f"<link>https://quad.example/1</link><description>{body}</description></item>"
        "</channel></rss>"
    ).encode()


def xxe(secret: Path, *, parameter: bool = False) -> bytes:
    """An external-entity document that tries to read ``secret`` into the feed."""
    uri = secret.resolve().as_uri()
    if parameter:
        doctype = (
            f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{uri}"> %ext; <!ENTITY leak SYSTEM "{uri}">]>'
        )
    else:
        doctype = f'<!DOCTYPE rss [<!ENTITY leak SYSTEM "{uri}">]>'
    return (
        f"<?xml version='1.0'?>{doctype}<rss version='2.0'><channel><title>X &leak;</title>"
        "<item><title>Leak &leak; here</title><link>https://xxe.example/1</link>"
        "<description>Body &leak; end</description></item></channel></rss>"
    ).encode()


def xxe_unclosed(secret: Path) -> bytes:
    """XXE in an ill-formed document, so feedparser falls back to its loose parser."""
    uri = secret.resolve().as_uri()
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY leak SYSTEM "{uri}">]>'
        "<rss version='2.0'><channel><title>Loose</title><item><title>L &leak;</title>"
        "<link>https://xxe.example/2</link><description>D &leak; <b>unclosed"
    ).encode()


def gzip_stream(size: int, *, prefix: bytes = b"") -> bytes:
    """``prefix`` then ``size`` zero bytes, gzipped, never holding them all at once."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [comp.compress(prefix)]
    block = bytes(1 << 20)
    for _ in range(size >> 20):
        parts.append(comp.compress(block))
    parts.append(comp.flush())
    return b"".join(parts)


def huge_title_feed(chars: int = 10_000_000) -> bytes:
    """One entry whose title is ``chars`` characters long."""
    return rss([item("T" * chars, "https://huge.example/1", guid="huge-1")])


def many_entries_feed(count: int = 100_000) -> bytes:
    """A feed with ``count`` tiny entries."""
    return rss(
        item(f"Entry {i}", f"https://many.example/{i}", guid=f"many-{i}") for i in range(count)
    )


def truncated_json_feed() -> bytes:
    """A JSON Feed cut in the middle of an item."""
    doc = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Cut",
        "items": [
            {"id": str(i), "url": f"https://cut.example/{i}", "title": f"T{i}"} for i in range(5)
        ],
    }
    text = json.dumps(doc).encode()
    return text[: len(text) * 2 // 3]


MENTIONS = "@everyone @here <@123456789012345678> <@!123456789012345678> <@&987654321098765432>"
SPOOF = "[trusted bank](https://evil.example/phish) **bold** __u__ ~~s~~ `code` ||spoiler|| # Head"


def hostile_text_feed() -> bytes:
    """Articles whose titles and bodies try to ping, spoof links and break markdown."""
    from xml.sax.saxutils import escape

    stories = [
        (f"Storm hits coast {MENTIONS}", "gale winds flooded the harbour road overnight"),
        (f"Markets rally {SPOOF}", "shares in banks and miners climbed after the rate decision"),
        (
            "Election ```\nresult``` > quoted <https://evil.example/x> <t:0:R> <#123456789012345678>",
            "turnout in the regional vote reached a record as counting began",
        ),
    ]
    items = [
        item(
            escape(title),
            f"https://hostile.example/{i}",
            guid=f"hostile-{i}",
            date="Tue, 01 Jul 2025 09:00:00 +0000",
            description=escape(
                f"{words.capitalize()}. @everyone <@&1> [see](https://evil.example/s)"
            ),
        )
        for i, (title, words) in enumerate(stories)
    ]
    return rss(items)
