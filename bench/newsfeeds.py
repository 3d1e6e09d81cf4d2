"""Labelled news served as live outlets on loopback: one RSS feed per outlet, article pages.

Used by ``bench/stories_eval.py``. Each outlet gets its own address 127.0.0.N
(N from 2; outlets beyond 253 share addresses on other ports) and serves

* ``/feed.xml``: RSS 2.0 whose ``<title>`` is the outlet's name, items newest
  first, each with title, link, permalink guid and pubDate, plus, by ``style``:
  ``"summary"`` a description with the first sentence of the text,
  ``"full"`` that description and the whole text as ``content:encoded`` HTML,
  ``"title"`` nothing more. ETag/Last-Modified are sent and a matching
  ``If-None-Match`` gets 304, as a real feed server would.
* the article pages the items link to: the full text inside realistic
  clutter (navigation, a cookie banner, "Read more:" teasers naming other
  headlines between paragraphs, a related-links list, comments with "Leave a
  reply", a site footer). :data:`CLUTTER_MARKERS` and each page's teaser
  headlines let a caller check whether clutter reached the stored text.

An item is in the feed (and its page answers) only once ``now()`` has reached
its ``reveal_at``, so a caller reveals articles round by round by moving the
clock it passed in. Only the article's title, text, outlet name and dates are
ever served: labels and ids stay with the caller.
"""

from __future__ import annotations

import hashlib
import html
import random
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime

from aiohttp import web

STYLES = ("summary", "full", "title")
FIRST_HOST = 2  # 127.0.0.1 stays free for everything else
LAST_HOST = 254

NAV = ("Home", "World", "Politics", "Business", "Entertainment", "Sport", "Science", "Opinion")
COOKIE_TEXT = (
    "We use cookies to give you the best experience on our website. By continuing to "
    "browse you agree to our use of cookies and our privacy policy."
)
NEWSLETTER_TEXT = "Sign up for our daily newsletter and never miss a story."
COMMENTS = (
    "Great article, thanks for sharing this with us.",
    "I have been following this for weeks and nobody else is reporting the details.",
    "This is exactly what I was worried about when I first heard the news.",
    "Can someone explain why this is only being reported now?",
    "Thoughts and prayers to everyone affected.",
    "Typical. Nothing will change until people start paying attention.",
)
COMMENTERS = ("jdoe42", "MaryK", "newsreader", "Pat_from_Ohio", "skeptic99", "lucy.w")
#: Phrases that only the page clutter contains; in a stored body they mean clutter leaked.
CLUTTER_MARKERS = (
    COOKIE_TEXT[:40],
    NEWSLETTER_TEXT[:30],
    "Leave a reply",
    "All rights reserved",
    *COMMENTS,
)

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)]?\s+(?=[\"'“‘(]?[A-Z0-9])")
_SLUG = re.compile(r"[^a-z0-9]+")


def first_sentence(text: str, *, min_words: int = 4) -> str:
    """The first sentence of ``text`` with at least ``min_words`` words (datelines skipped)."""
    for line in text.splitlines():
        for sentence in _SENTENCE_END.split(line.strip()):
            if len(sentence.split()) >= min_words:
                return sentence.strip()
    return text.strip().split("\n", 1)[0].strip()


def slug(title: str, words: int = 8) -> str:
    return "-".join(_SLUG.sub(" ", title.lower()).split()[:words]) or "story"


@dataclass
class NewsItem:
    """One article as an outlet publishes it (``key`` is the caller's, never served)."""

    key: int
    outlet: str
    title: str
    text: str
    published: datetime  # shown as pubDate and on the page
    reveal_at: datetime  # in the feed (and the page answers) from this moment on
    path: str = ""
    url: str = ""
    teasers: list[str] = field(default_factory=list)


@dataclass
class _Outlet:
    name: str
    host: str
    items: list[NewsItem] = field(default_factory=list)  # newest first
    port: int = 0

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


class Outlets:
    """The outlets of ``items`` on loopback; ``await start()``, ``await close()``."""

    def __init__(
        self,
        items: Sequence[NewsItem],
        *,
        style: str,
        now: Callable[[], datetime],
        seed: int = 1,
        teasers: int = 2,
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"style must be one of {STYLES}, not {style!r}")
        self.style = style
        self.now = now
        self.items = list(items)
        self.hits: Counter[str] = Counter()  # "feed", "feed-304", "page", "404"
        names = sorted({i.outlet for i in self.items})
        span = LAST_HOST - FIRST_HOST + 1
        self._outlets = {
            n: _Outlet(n, f"127.0.0.{FIRST_HOST + k % span}") for k, n in enumerate(names)
        }
        rng = random.Random(seed)
        titles = [i.title for i in self.items]
        used: Counter[tuple[str, str]] = Counter()
        for item in sorted(self.items, key=lambda i: (i.published, i.key)):
            outlet = self._outlets[item.outlet]
            day = item.published.strftime("%Y/%m/%d")
            name = slug(item.title)
            used[(outlet.name, f"{day}/{name}")] += 1
            count = used[(outlet.name, f"{day}/{name}")]
            item.path = f"/{day}/{name}{'-' + str(count) if count > 1 else ''}.html"
            others = [t for t in titles if t != item.title]
            item.teasers = rng.sample(others, min(teasers, len(others)))
            outlet.items.insert(0, item)
        self._by_sock: dict[tuple[str, int], _Outlet] = {}
        self._runner: web.AppRunner | None = None

    # -- life cycle -------------------------------------------------------------

    async def start(self) -> Outlets:
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        for outlet in self._outlets.values():
            site = web.TCPSite(self._runner, outlet.host, 0)
            await site.start()
            server = site._server  # noqa: SLF001 - the only way to learn the bound port
            sock = server.sockets[0].getsockname() if server and server.sockets else None
            if sock is None:
                raise RuntimeError(f"could not bind {outlet.host}")
            outlet.port = int(sock[1])
            self._by_sock[(outlet.host, outlet.port)] = outlet
            for item in outlet.items:
                item.url = outlet.base + item.path
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Outlets:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- what callers read -----------------------------------------------------

    @property
    def feed_urls(self) -> dict[str, str]:
        """Outlet name -> its feed URL."""
        return {o.name: o.base + "/feed.xml" for o in self._outlets.values()}

    @property
    def hosts(self) -> set[str]:
        return {o.host for o in self._outlets.values()}

    # -- serving ---------------------------------------------------------------

    def _visible(self, outlet: _Outlet) -> list[NewsItem]:
        now = self.now()
        return [i for i in outlet.items if i.reveal_at <= now]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        sock = request.transport.get_extra_info("sockname") if request.transport else None
        outlet = self._by_sock.get((sock[0], int(sock[1]))) if sock else None
        if outlet is None:
            return web.Response(status=404, text="no such outlet")
        if request.path in ("/feed.xml", "/rss", "/feed"):
            return self._feed(request, outlet)
        for item in self._visible(outlet):
            if item.path == request.path:
                self.hits["page"] += 1
                return web.Response(
                    text=render_page(item, outlet.name, outlet.base),
                    content_type="text/html",
                    charset="utf-8",
                )
        if request.path == "/":
            return web.Response(
                text=_home(outlet, self._visible(outlet)), content_type="text/html", charset="utf-8"
            )
        self.hits["404"] += 1
        return web.Response(status=404, text="Page not found")

    def _feed(self, request: web.Request, outlet: _Outlet) -> web.StreamResponse:
        visible = self._visible(outlet)
        tag = hashlib.sha1(
            (self.style + "|" + ",".join(i.path for i in visible)).encode()
        ).hexdigest()[:20]
        etag = f'"{tag}"'
        headers = {"ETag": etag}
        if visible:
            headers["Last-Modified"] = format_datetime(
                max(i.published for i in visible), usegmt=True
            )
        if request.headers.get("If-None-Match") == etag:
            self.hits["feed-304"] += 1
            return web.Response(status=304, headers=headers)
        self.hits["feed"] += 1
        body = render_feed(outlet.name, outlet.base, visible, self.style)
        return web.Response(
            body=body.encode("utf-8"),
            headers=headers,
            content_type="application/rss+xml",
            charset="utf-8",
        )


# -- documents ---------------------------------------------------------------------


def _x(text: str) -> str:
    return html.escape(text, quote=True)


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.splitlines() if p.strip()]


def render_feed(name: str, base: str, items: Sequence[NewsItem], style: str) -> str:
    """RSS 2.0 for ``items`` (given newest first)."""
    out = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/">',
        "<channel>",
        f"<title>{_x(name)}</title><link>{_x(base)}/</link>",
        f"<description>Latest news from {_x(name)}</description><language>en</language>",
    ]
    for item in items:
        parts = [
            f"<title>{_x(item.title)}</title>",
            f"<link>{_x(item.url)}</link>",
            f'<guid isPermaLink="true">{_x(item.url)}</guid>',
            f"<pubDate>{format_datetime(item.published, usegmt=True)}</pubDate>",
        ]
        if style in ("summary", "full") and item.text.strip():
            parts.append(f"<description>{_x(first_sentence(item.text))}</description>")
        if style == "full" and item.text.strip():
            body = "".join(f"<p>{_x(p)}</p>" for p in _paragraphs(item.text))
            parts.append(f"<content:encoded>{_x(body)}</content:encoded>")
        out.append("<item>" + "".join(parts) + "</item>")
    out.append("</channel></rss>")
    return "\n".join(out)


def render_page(item: NewsItem, name: str, base: str) -> str:
    """The article page: the text inside navigation, teasers, comments and footers."""
    rng = random.Random(item.key * 7919 + 17)
    paras = _paragraphs(item.text)
    body: list[str] = []
    for n, para in enumerate(paras):
        body.append(f"<p>{_x(para)}</p>")
        if item.teasers and n == min(1, len(paras) - 1):
            body.append(
                f'<p class="teaser"><strong>Read more:</strong> '
                f'<a href="{_x(base)}/more/{slug(item.teasers[0])}.html">{_x(item.teasers[0])}</a></p>'
            )
    if not paras:
        body.append("<p></p>")
    related = "".join(
        f'<li><a href="{_x(base)}/more/{slug(t)}.html">{_x(t)}</a></li>' for t in item.teasers
    )
    if len(item.teasers) > 1:
        body.append(
            f'<p class="teaser">Read more: <a href="{_x(base)}/more/{slug(item.teasers[1])}.html">'
            f"{_x(item.teasers[1])}</a></p>"
        )
    picked = rng.sample(range(len(COMMENTS)), 2 + item.key % 2)
    comments = "".join(
        f'<div class="comment"><p class="comment-author">{COMMENTERS[i]}</p>'
        f'<p class="comment-body">{_x(COMMENTS[i])}</p></div>'
        for i in picked
    )
    nav = "".join(f'<li><a href="{_x(base)}/{n.lower()}/">{n}</a></li>' for n in NAV)
    when = item.published.isoformat()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{_x(item.title)} | {_x(name)}</title>
<meta property="og:title" content="{_x(item.title)}">
<meta property="og:site_name" content="{_x(name)}">
<meta property="article:published_time" content="{when}">
<link rel="canonical" href="{_x(item.url)}">
</head><body>
<div class="cookie-banner" id="cookie-consent"><p>{COOKIE_TEXT}</p>
<button>Accept all</button> <button>Manage settings</button></div>
<header class="site-header"><a class="logo" href="{_x(base)}/">{_x(name)}</a>
<nav class="main-nav"><ul>{nav}</ul></nav>
<form class="search"><input name="q" placeholder="Search"></form></header>
<main>
<article class="story">
<h1 class="headline">{_x(item.title)}</h1>
<p class="byline">By Staff Reporter · <time datetime="{when}">{item.published:%d %B %Y, %H:%M}</time></p>
<div class="story-body">
{chr(10).join(body)}
</div>
<div class="share">Share this article: Facebook · Twitter · Email</div>
</article>
<aside class="related"><h2>Related stories</h2><ul>{related}</ul>
<div class="newsletter"><p>{NEWSLETTER_TEXT}</p><input placeholder="Your email"></div></aside>
<section class="comments" id="comments"><h2>{len(picked)} comments</h2>
{comments}
<h3>Leave a reply</h3><form class="reply"><textarea name="comment"></textarea>
<input name="name" placeholder="Name"><button>Post comment</button></form></section>
</main>
<footer class="site-footer"><p>© 2026 {_x(name)}. All rights reserved.</p>
<p><a href="{_x(base)}/about">About us</a> · <a href="{_x(base)}/contact">Contact</a> ·
<a href="{_x(base)}/privacy">Privacy policy</a> · <a href="{_x(base)}/terms">Terms of use</a></p></footer>
</body></html>
"""


def _home(outlet: _Outlet, items: Sequence[NewsItem]) -> str:
    links = "".join(f'<li><a href="{_x(i.url)}">{_x(i.title)}</a></li>' for i in items[:20])
    return (
        f"<!DOCTYPE html><html><head><title>{_x(outlet.name)}</title>"
        f'<link rel="alternate" type="application/rss+xml" href="{_x(outlet.base)}/feed.xml">'
        f"</head><body><h1>{_x(outlet.name)}</h1><ul>{links}</ul></body></html>"
    )
