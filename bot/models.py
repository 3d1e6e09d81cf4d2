"""Plain data shared by every stage of the pipeline.

Data flows one way: sources produce :class:`Entry` objects (raw, as the
publisher wrote them), cleaning and identity turn each into an
:class:`Article` (what we store), the store hands back :class:`StoredArticle`
rows, clustering groups them into stories and the digest renders those.
Nothing here knows about Discord, SQL or HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal


@dataclass(slots=True)
class Entry:
    """One article as a source produced it, before cleaning.

    ``content`` and ``summary`` may hold HTML (``content_is_html``) or plain
    text. Dates are timezone-aware UTC or ``None`` when the source gave none
    (or gave nonsense).
    """

    title: str
    url: str | None = None
    guid: str | None = None
    author: str | None = None
    categories: list[str] = field(default_factory=list)
    published_at: datetime | None = None
    updated_at: datetime | None = None
    summary: str | None = None
    content: str | None = None
    content_is_html: bool = False
    source: str | None = None  # outlet name, e.g. "Example Times" or "example.com"
    # The content is a page's extracted main text: its paragraphs are the page's
    # own, so cleaning keeps a paragraph the page repeats (see bot.clean.text).
    content_is_page_text: bool = False
    # The lead image as the source gave it (checked like a link when parsed,
    # again when cleaned: see bot.identity.image_url).
    image_url: str | None = None


@dataclass(slots=True)
class ParsedFeed:
    """A feed document turned into entries."""

    title: str | None
    link: str | None
    entries: list[Entry]
    format: str = "unknown"  # "rss20", "atom10", "json11", ...
    warning: str | None = None  # non-fatal problem (feedparser's bozo), for logs


@dataclass(slots=True)
class Article:
    """A cleaned, identified article ready to store."""

    title: str
    body: str  # plain text, paragraphs separated by a blank line
    url: str | None  # canonical URL (see bot.identity.canonical_url)
    guid: str | None
    source: str  # outlet name; never empty (falls back to the URL's host)
    author: str | None
    category: str | None
    published_at: datetime  # aware UTC; when first seen if the source gave no date
    updated_at: datetime | None
    summary: str | None  # the publisher's own summary as clean text, if any
    content_hash: str  # hash of normalised title + body (see bot.identity)
    dated: bool = True  # False: the source gave no date (published_at is when first seen)
    image_url: str | None = None  # lead image, an http(s) URL (see bot.identity.image_url)


@dataclass(slots=True)
class StoredArticle:
    """An article row as read back from the store."""

    id: int
    title: str
    body: str
    url: str | None
    source: str
    author: str | None
    category: str | None
    published_at: datetime
    story_id: int | None
    summary: str | None = None
    dated: bool = True  # False: the source gave no date; published_at is a stand-in
    image_url: str | None = None


@dataclass(slots=True)
class FeedHealth:
    id: int
    url: str
    title: str | None
    guild_id: int  # 0 = shared by every server (from .env or the CLI)
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    consecutive_failures: int
    next_poll_at: datetime | None
    paused: bool
    fulltext: str | None = None  # "auto", "always", "never"; None: NEWSDESK_FULLTEXT
    tags: tuple[str, ...] = ()  # for routing (channel tags=), lower case


@dataclass(slots=True)
class Heartbeat:
    """What the running bot last said about itself (``newsdesk health`` reads it)."""

    updated_at: datetime
    started_at: datetime
    pid: int | None
    gateway: str  # "connecting", "connected", "disconnected"
    gateway_since: datetime
    poll_interval_s: int
    last_poll_at: datetime | None  # the end of the last poll cycle
    last_poll_ok_at: datetime | None  # ... in which not every due feed failed
    process: str = "bot"  # "bot" unsharded, else "shards 0,1 of 4"
    shard_ids: tuple[int, ...] = ()  # this process's shards; () when unsharded
    shard_count: int = 0  # their total; 0 when unsharded


@dataclass(slots=True)
class PageRecord:
    """What the store knows of one article page a feed links to (by canonical URL).

    ``state`` is ``"ok"`` (its text became the article's body), ``"thin"`` (it
    held no more text than the feed), ``"failed"``, or None when the page was
    never fetched. ``article_body`` is the body of the stored article with this
    URL, if any: the cached text a re-poll reuses instead of fetching again.
    """

    url: str
    state: str | None = None
    fetched_at: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    failures: int = 0
    retry_at: datetime | None = None  # thin or failed: not before; None: never again
    error: str | None = None
    article_body: str | None = None


@dataclass(slots=True)
class StoryDetail:
    """A story and its (visible) articles, newest first."""

    id: int
    headline: str | None
    first_published_at: datetime  # aware UTC
    last_published_at: datetime  # aware UTC
    article_count: int
    source_count: int  # distinct outlets
    category: str | None
    articles: list[StoredArticle] = field(default_factory=list)
    # A short summary of the story for display (the faces fill it through
    # services; the store leaves it None).
    summary: str | None = None
    # The story's image: its lead's (the newest article with a URL, as the
    # faces link it), else the newest article's that has one.
    image_url: str | None = None


# -- stories: what story clustering reads from the store and hands back to it ----------
# Times in this section are unix seconds (the clusterer's arithmetic is on
# seconds). A "ref" is a stored id when positive; a negative ref names a row
# the same write creates (new article -1, -2, ... of a batch; new story -1, ...).


@dataclass(slots=True)
class StoryState:
    """A story as the clusterer compares with new articles: its times, counts and
    bounded summary (centroid, outlets, 4-gram centroid), never its members."""

    story_id: int
    first_published_at: int
    last_published_at: int
    article_count: int
    headline: str | None
    centroid: dict[str, float]  # top terms of the sum of its members' unit vectors
    sources: dict[str, int]  # outlet key -> articles
    members: int = 1  # members summed in the centroid
    dated: bool = True  # False: no member has a date; the times are when first seen
    grams: dict[str, float] = field(default_factory=dict)  # short members' 4-grams
    short: float = 0.0  # sum of the members' shortness


# What clustering reads of an article's text (its body, else its summary):
# the first words count (bot.stories.features.BODY_TOKENS), so the store hands
# back this many characters, not a whole long body for every article regrouped.
CLUSTER_TEXT_CHARS = 3_000


@dataclass(slots=True)
class ClusterArticle:
    """An article as clustering reads it back (rebuild, consolidation, forgetting)."""

    id: int
    title: str
    text: str  # body, else the publisher's summary: its first CLUSTER_TEXT_CHARS characters
    source: str
    published_at: int
    fetched_at: int
    dated: bool
    story_id: int | None
    category: str | None


@dataclass(slots=True)
class StoryRemainder:
    """What is left of a story once some of its articles leave it."""

    story_id: int
    count: int
    first_published_at: int | None
    last_published_at: int | None
    dated: bool
    first_title: str | None  # headline candidate: the earliest remaining title
    undated_seen: list[int] = field(default_factory=list)  # first-seen times of undated ones


@dataclass(slots=True)
class StoryFields:
    """The columns of a story row."""

    first_published_at: int
    last_published_at: int
    article_count: int
    source_count: int
    headline: str | None
    category: str | None
    dated: bool


@dataclass(slots=True)
class PlannedStory:
    """A story a clustering plan creates (``ref < 0``) or rewrites (a stored id)."""

    ref: int
    fields: StoryFields
    centroid: dict[str, float]
    sources: dict[str, int]
    members: int
    grams: dict[str, float]
    short: float
    postings: dict[str, float]  # salient terms, posted at ``posted_at``
    posted_at: int
    replace_postings: bool = False  # drop its old postings first


@dataclass(slots=True)
class ClusterPlan:
    """One clustering step, computed away from the database and applied in one write.

    ``assign`` maps article refs to story refs; ``detach`` lists articles that
    leave their story without joining another (yet). ``placed`` moves undated
    articles to a time; ``date_undated`` does so for every undated article of a
    story; ``restore_seen`` puts a story's undated articles back at the time
    they were first seen. ``heirs`` hands a vanished story's digest history to
    the story (ref) that took most of its articles.
    """

    stories: list[PlannedStory] = field(default_factory=list)
    assign: dict[int, int] = field(default_factory=dict)
    detach: list[int] = field(default_factory=list)
    placed: dict[int, int] = field(default_factory=dict)
    date_undated: dict[int, int] = field(default_factory=dict)
    restore_seen: list[int] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    heirs: dict[int, int] = field(default_factory=dict)
    df_delta: dict[str, int] = field(default_factory=dict)  # "" counts documents

    def empty(self) -> bool:
        return not (self.stories or self.assign or self.detach or self.deleted or self.df_delta)


@dataclass(slots=True)
class RebuildCursor:
    """How far a story rebuild has got: articles published since ``start``,
    regrouped up to ``(after_published, after_id)`` in published order."""

    start: int
    after_published: int
    after_id: int
    clearing: bool = False  # a full rebuild still clearing the old stories


# -- articles: identity -------------------------------------------------------------


@dataclass(slots=True)
class ArticleKey:
    """A stored article's identity: what a new article is matched against."""

    id: int
    url: str | None
    guid: str | None
    content_hash: str
    guild_id: int
    version: int  # unix time of its update, else of its publication
    source: str


# -- digests and feeds


@dataclass(slots=True)
class FeedRow:
    """What the poller needs to fetch one feed."""

    id: int
    url: str
    guild_id: int
    etag: str | None
    last_modified: str | None
    consecutive_failures: int
    last_success_at: datetime | None
    added_at: datetime
    first_failure_at: datetime | None = None
    fulltext: str | None = None  # the feed's own full-text mode; None: the global setting

    @property
    def failing_since(self) -> datetime:
        """When the current failure streak began (best estimate on old rows)."""
        return self.first_failure_at or self.last_success_at or self.added_at


@dataclass(slots=True)
class DigestRecord:
    """The claim on one channel's digest for one local day (a ``digests`` row).

    ``status`` moves ``claimed -> sent | failed | missed | empty``; times are
    unix seconds; ``message_ids`` are the messages confirmed so far.
    """

    channel_id: int
    digest_date: date
    guild_id: int
    status: str
    nonce: str
    claimed_at: int
    finished_at: int | None
    story_count: int
    message_ids: list[int]
    error: str | None


@dataclass(slots=True)
class ChannelState:
    """The last send error seen in a channel (a ``channel_state`` row)."""

    channel_id: int
    guild_id: int
    forbidden: bool
    last_error: str | None
    last_error_at: int | None


@dataclass(slots=True)
class DigestArticle:
    """What the digest reads of one article (no body): a story's coverage."""

    id: int
    source: str
    published_ts: int  # unix seconds
    title: str
    summary: str | None
    url: str | None
    category: str | None
    dated: bool = True  # False: the source gave no date (published_ts is when first seen)
    image_url: str | None = None


@dataclass(slots=True)
class WindowStory:
    """A story with an article in a digest's window, and its recent visible articles.

    ``articles`` run oldest first (ties by id); ``latest_in_window`` is the
    publication time (unix seconds) of its newest article inside the window.
    """

    story_id: int
    category: str | None  # the story's own category (its articles' may differ)
    articles: list[DigestArticle]
    latest_in_window: int


# -- search


@dataclass(frozen=True, slots=True)
class SearchFilters:
    """What narrows a search besides its words; every part must hold.

    ``start``/``end`` bound the publication time to ``[start, end)`` (aware;
    None = open). Each group of ``sources`` holds outlet-name prefixes (ASCII
    case ignored): the source must start with one of each group's. It must
    start with none of ``excluded_sources``. ``guild_id``: only articles that
    server may see (None: every article).
    """

    guild_id: int | None = None
    start: datetime | None = None
    end: datetime | None = None
    sources: tuple[tuple[str, ...], ...] = ()
    excluded_sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One matching article."""

    article_id: int
    story_id: int | None
    title: str
    url: str | None
    source: str
    published_at: datetime  # aware UTC
    snippet: str  # plain text
    category: str | None
    highlights: tuple[tuple[int, int], ...] = ()  # spans of matched words in snippet
    dated: bool = True  # False: the source gave no date (published_at is a stand-in)
    image_url: str | None = None  # the article's lead image (http(s)), if any


# -- search: the words of a parsed query (bot.search.query parses, the store compiles) --


@dataclass(frozen=True, slots=True)
class Term:
    """One word or phrase; ``prefix`` makes its last word a prefix."""

    text: str
    phrase: bool = False
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class Group:
    """All (``AND``) or any (``OR``) of the children."""

    op: Literal["AND", "OR"]
    children: tuple[Term | Group, ...]


Node = Term | Group


@dataclass(frozen=True, slots=True)
class SearchWords:
    """What the full-text index must match: ``root``, and none of ``excluded``."""

    root: Node | None
    excluded: tuple[Node, ...] = ()


@dataclass(slots=True)
class AlertRecord:
    """The claim on one breaking-story alert of a channel (an ``alerts`` row).

    ``status`` moves ``claimed -> sent | failed``; ``alert_date`` is the
    channel's local day (for ``alerts_per_day``); times are unix seconds of
    real time. ``headline``, ``url`` and ``source_count`` are what the alert
    says, kept so a resend after a crash posts the same message.
    """

    channel_id: int
    story_id: int
    alert_date: date
    guild_id: int
    status: str
    nonce: str
    headline: str
    url: str | None
    source_count: int
    claimed_at: int
    finished_at: int | None
    message_id: int | None
    error: str | None


# -- subscriptions ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """A feed an OPML file lists: its URL, title and tags (categories, folders)."""

    url: str
    title: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(slots=True)
class TermFrequencies:
    """How many stored documents hold each term, and how many documents there are."""

    dfs: dict[str, int]
    documents: int


@dataclass(frozen=True, slots=True)
class Posting:
    """A story listed under one of its salient terms (the candidate lookup's index)."""

    story_id: int
    weight: float
    at: int  # unix time the posting carries (its story's latest article)


@dataclass(frozen=True, slots=True)
class CopiedTable:
    """One table of a store copy (``newsdesk db copy``): rows in the source, rows copied."""

    table: str
    source_rows: int
    target_rows: int
