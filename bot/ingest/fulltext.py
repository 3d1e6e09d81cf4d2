"""Full text for summary-only feeds: fetch the page an entry links to.

Most feeds give a title, a sentence and a link. Before a feed's entries are
ingested, :meth:`FullText.fill` decides which of them need their page:

* ``auto`` (the default): entries whose feed text is shorter than
  :data:`SHORT_WORDS` words;
* ``always``: every entry with a link;
* ``never``: none (nothing is fetched).

Those pages are fetched concurrently through the poller's own
:class:`~bot.ingest.fetch.Fetcher` (private-address guard, size cap,
timeouts, per-host limit, User-Agent, conditional requests all apply), at most
``max_pages`` per feed and cycle and within ``budget_s`` seconds, outside any
database transaction. Their main text (trafilatura, via
:func:`~bot.ingest.parse.parse_page`) becomes the entry's ``content`` while
the feed's own text stays its ``summary``, and the page's lead image
(``og:image``...) becomes the entry's when the feed gave none. A page that
fails (404, timeout, too large, refused address, no main text) leaves the
entry as the feed gave it; a page with no more text than the feed (or under :data:`MIN_PAGE_WORDS`)
is "thin" and changes nothing.

Pages are cached by canonical URL (:mod:`bot.store.pages`): an article
already stored with more text than its feed entry gives reuses that body
(so the entry is a duplicate, not an "update" back to the summary) in every
mode, without a request; failed and thin pages are tried again later
(:func:`retry_delay`) a bounded number of times, thin ones conditionally.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal, get_args

from ..clean.text import clean_line, clean_text, dedupe_key, html_to_text
from ..identity import canonical_url
from ..models import Entry, PageRecord
from ..store import pages as page_store
from ..store import transaction
from .fetch import Fetcher, FetchError
from .netguard import strip_userinfo
from .parse import ParseError, parse_page

if TYPE_CHECKING:
    from ..store import Connection

Mode = Literal["auto", "always", "never"]
MODES: tuple[str, ...] = get_args(Mode)

# ``auto`` fetches the page of an entry whose feed text is under this many
# words. Summaries measured: first sentences of the ECB+ dev articles (what a
# "title and first sentence" feed gives) are at most 57 words, Washington
# Post feed descriptions at most 123 (median 44), WordPress excerpts 55. Full
# ECB+ articles: 39% are under 150 words, 30% under 120 (median ~215), so a
# full-text feed of short wire copy costs one cached GET per article, and a
# feed can say ``fulltext=never``. Missing a long teaser costs clustering for
# good; an extra fetch costs one request, once.
SHORT_WORDS = 150
# Pages fetched per feed and poll cycle. News feeds carry 10 to 100 items
# (WordPress 10, most outlets 20-60, a few 100), so a first poll gets every
# page; a 1,000-entry archive feed does not send 1,000 requests to one
# publisher in one go, nor hold its poll slot that long. Entries left over
# keep their summary for now, and the feed's validators are not kept, so the
# next cycle reads the feed again and fetches the next ones.
MAX_PAGES_PER_FEED = 100
# A page's "main text" under this many words is a byline or a caption the
# extractor fell back on ("By Staff Reporter"), not an article: thin.
MIN_PAGE_WORDS = 10

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
_HTML_TYPES = ("text/html", "application/xhtml+xml", "text/plain", "application/xml", "text/xml")

# A transient failure (timeout, 5xx, 429, connection reset) is tried again
# after 15 min, 1 h, 4 h, then given up; a permanent one (404, 403, too large,
# refused address, no main text) once more after a day (news pages sometimes
# 404 for a while after their feed item appears), then given up. A thin page
# is looked at again (conditionally) after 6 h and 24 h: stubs get written up.
TRANSIENT_DELAYS = (timedelta(minutes=15), timedelta(hours=1), timedelta(hours=4))
PERMANENT_DELAYS = (timedelta(days=1),)
THIN_DELAYS = (timedelta(hours=6), timedelta(days=1))
MAX_RETRY_AFTER = timedelta(days=1)


def retry_delay(
    kind: Literal["transient", "permanent", "thin"],
    attempts: int,
    retry_after: float | None = None,
) -> timedelta | None:
    """When to try a page again after ``attempts`` bad attempts in a row; None: never."""
    delays = {"transient": TRANSIENT_DELAYS, "permanent": PERMANENT_DELAYS, "thin": THIN_DELAYS}
    schedule = delays[kind]
    if attempts > len(schedule):
        return None
    delay = schedule[attempts - 1]
    if retry_after:
        delay = max(delay, min(timedelta(seconds=retry_after), MAX_RETRY_AFTER))
    return delay


def feed_text(entry: Entry) -> str:
    """The entry's text as the feed gave it (content, else summary), cleaned."""
    for value in (entry.content, entry.summary):
        if value:
            text = html_to_text(value) if entry.content_is_html else clean_text(value)
            if text:
                return text
    return ""


def word_count(text: str | None) -> int:
    return len(text.split()) if text else 0


def page_words(text: str | None, title: str | None) -> int:
    """Words a page's text adds as a body: a first paragraph repeating the title
    is dropped when the article is stored (see bot.clean.article), so not counted."""
    if not text:
        return 0
    first, _sep, rest = text.partition("\n\n")
    if title and dedupe_key(first) == dedupe_key(clean_line(title)):
        text = rest
    return word_count(text)


def needs_page(entry: Entry, mode: str, *, min_words: int = SHORT_WORDS) -> bool:
    """Whether ``mode`` wants the page of ``entry`` (it must link to an http(s) page)."""
    if mode == "never" or canonical_url(entry.url) is None:
        return False
    return mode == "always" or word_count(feed_text(entry)) < min_words


@dataclass
class PagesOutcome:
    """What filling one feed's entries did."""

    fetched: int = 0  # pages fetched and read (full text used, or thin)
    fulltext: int = 0  # entries given a page's text (fetched now)
    reused: int = 0  # entries given the text already stored for their URL
    failed: int = 0  # pages that could not be fetched or read
    deferred: int = 0  # pages left for a later cycle (over the count or time budget)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (url, reason)


@dataclass(slots=True)
class _Want:
    """One page wanted, and the entries that link to it."""

    url: str
    entries: list[Entry]
    record: PageRecord | None


@dataclass(slots=True)
class _Fetched:
    """The result of fetching and reading one page."""

    text: str | None = None  # main text, cleaned (None: a 304 or a failure)
    published_at: datetime | None = None
    image_url: str | None = None  # the page's og:image (or twitter:image...)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    error: str | None = None
    permanent: bool = False
    retry_after: float | None = None


class FullText:
    """Fills feed entries with the text of their pages; one per poll cycle."""

    def __init__(
        self,
        db: Connection,
        fetcher: Fetcher,
        *,
        mode: Mode = "auto",
        now_fn: Callable[[], datetime],
        logger: logging.Logger | logging.LoggerAdapter,
        min_words: int = SHORT_WORDS,
        max_pages: int = MAX_PAGES_PER_FEED,
        budget_s: float = 60.0,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"full-text mode must be one of {', '.join(MODES)}")
        self.db = db
        self.fetcher = fetcher
        self.mode = mode
        self.now_fn = now_fn
        self.logger = logger
        self.min_words = min_words
        self.max_pages = max_pages
        self.budget_s = budget_s

    async def fill(
        self, entries: list[Entry], *, mode: str | None = None, where: str = "feed"
    ) -> PagesOutcome:
        """Give ``entries`` (changed in place) the text of their pages.

        ``mode`` is the feed's own choice (None: this object's). Never raises
        for a page's failure; those are counted and logged at DEBUG.
        """
        mode = mode or self.mode
        out = PagesOutcome()
        wants = self._wanted(entries, mode)
        if not wants:
            return out
        records = await page_store.lookup_pages(self.db, wants)
        now = self.now_fn()
        to_fetch: list[_Want] = []
        for url, want in wants.items():
            want.record = records.get(url)
            stored = want.record.article_body if want.record else None
            waiting = [e for e in want.entries if not _reuse(e, stored)]
            out.reused += len(want.entries) - len(waiting)
            want.entries = waiting
            if waiting and mode != "never" and _due(want.record, now):
                to_fetch.append(want)
        out.deferred += max(0, len(to_fetch) - self.max_pages)
        to_fetch = to_fetch[: self.max_pages]
        if not to_fetch:
            return out
        results = await self._fetch_all(to_fetch, where)
        out.deferred += len(to_fetch) - len(results)
        now = self.now_fn()
        saved = [
            self._apply(want, results[want.url], now, out, where)
            for want in to_fetch
            if want.url in results
        ]
        async with transaction(self.db):
            await page_store.save_pages(self.db, saved)
        return out

    def _wanted(self, entries: list[Entry], mode: str) -> dict[str, _Want]:
        """Entries that could use their page, by the page's canonical URL."""
        wants: dict[str, _Want] = {}
        # ``never`` fetches nothing, but still reuses text stored earlier.
        test_mode = "auto" if mode == "never" else mode
        for entry in entries:
            if not needs_page(entry, test_mode, min_words=self.min_words):
                continue
            url = canonical_url(entry.url)
            assert url is not None
            wants.setdefault(url, _Want(url, [], None)).entries.append(entry)
        return wants

    async def _fetch_all(self, wants: list[_Want], where: str) -> dict[str, _Fetched]:
        """Fetch every page at once; those unfinished after ``budget_s`` are dropped."""
        tasks = {asyncio.create_task(self._fetch(w.url, w.record, where)): w.url for w in wants}
        try:
            done, pending = await asyncio.wait(tasks, timeout=self.budget_s)
        finally:  # over budget, or this poll itself was cancelled: stop the rest
            for task in tasks:
                task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
            self.logger.debug(
                "fulltext: %s: %d page(s) left for the next cycle (over %gs)",
                where,
                len(pending),
                self.budget_s,
            )
        # In the feed's order, so counts and logs are stable.
        finished = {tasks[t]: t.result() for t in done}
        return {w.url: finished[w.url] for w in wants if w.url in finished}

    async def _fetch(self, url: str, record: PageRecord | None, where: str) -> _Fetched:
        # Validators only for a thin page: a 304 then means "still thin". A
        # page whose text we keep is never fetched again at all.
        thin = record is not None and record.state == "thin"
        try:
            result = await self.fetcher.fetch(
                url,
                etag=record.etag if thin and record else None,
                last_modified=record.last_modified if thin and record else None,
                accept=PAGE_ACCEPT,
            )
            if result.not_modified:
                return _Fetched(
                    not_modified=True, etag=result.etag, last_modified=result.last_modified
                )
            kind = (result.content_type or "").split(";", 1)[0].strip().lower()
            if kind and not kind.startswith(_HTML_TYPES):
                return _Fetched(error=f"not a web page ({kind})", permanent=True)
            page = await asyncio.to_thread(parse_page, result.body or b"", url=result.url)
        except FetchError as exc:
            return _Fetched(error=str(exc), permanent=exc.permanent, retry_after=exc.retry_after)
        except ParseError as exc:
            return _Fetched(error=str(exc), permanent=True)
        except Exception as exc:  # a bug, or an extractor crash: keep the entry
            self.logger.exception("fulltext: %s: unexpected error reading %s", where, url)
            return _Fetched(error=f"internal error ({type(exc).__name__})")
        return _Fetched(
            text=clean_text(page.content or ""),
            published_at=page.published_at,
            image_url=page.image_url,
            etag=result.etag,
            last_modified=result.last_modified,
        )

    def _apply(
        self, want: _Want, got: _Fetched, now: datetime, out: PagesOutcome, where: str
    ) -> PageRecord:
        """Put a fetched page's text into its entries; the page row to save."""
        previous = want.record.failures if want.record and want.record.state else 0
        record = PageRecord(url=want.url, state="ok", fetched_at=now)
        shown = strip_userinfo(want.url)
        if got.error is not None:
            out.failed += 1
            out.failures.append((shown, got.error))
            self.logger.debug("fulltext: %s: page %s failed: %s", where, shown, got.error)
            record.state, record.failures, record.error = "failed", previous + 1, got.error
            kind: Literal["transient", "permanent"] = "permanent" if got.permanent else "transient"
            delay = retry_delay(kind, record.failures, got.retry_after)
            record.retry_at = now + delay if delay else None
            return record
        out.fetched += 1
        record.etag, record.last_modified = got.etag, got.last_modified
        if got.not_modified and want.record is not None:  # unchanged since it was thin
            record.etag = got.etag or want.record.etag
            record.last_modified = got.last_modified or want.record.last_modified
        used = 0
        for entry in want.entries:
            if entry.image_url is None:  # the feed's own image comes first
                entry.image_url = got.image_url  # even from a thin page
            words = page_words(got.text, entry.title)
            if words >= MIN_PAGE_WORDS and words > word_count(feed_text(entry)):
                _use(entry, got.text or "", got.published_at)
                used += 1
        out.fulltext += used
        if not used:
            record.state, record.failures = "thin", previous + 1
            delay = retry_delay("thin", record.failures)
            record.retry_at = now + delay if delay else None
            self.logger.debug("fulltext: %s: page %s has no more text than the feed", where, shown)
        return record


def _due(record: PageRecord | None, now: datetime) -> bool:
    """Whether a page should be fetched now, given what is stored about it."""
    if record is None or record.state is None:
        return True
    if record.state == "ok":  # fetched, but its article has no longer text (gone?)
        return True
    return record.retry_at is not None and record.retry_at <= now


def _reuse(entry: Entry, stored_body: str | None) -> bool:
    """Give ``entry`` the stored article's body when it is longer than the feed's text."""
    if not stored_body or word_count(stored_body) <= word_count(feed_text(entry)):
        return False
    _use(entry, stored_body, None)
    return True


def _use(entry: Entry, text: str, published_at: datetime | None) -> None:
    """The page's text becomes the body; the feed's own text stays the summary."""
    summary = entry.summary or entry.content
    if summary and entry.content_is_html:
        summary = html_to_text(summary)
    entry.summary = summary or None
    entry.content = text
    entry.content_is_html = False
    if entry.published_at is None and published_at is not None:
        entry.published_at = published_at
