"""Versioned schema migrations.

Each migration is a SQL script applied in one transaction; the database's
``PRAGMA user_version`` records how many have run. Never edit a migration
that has shipped: add a new one at the end of :data:`MIGRATIONS`.
"""

from __future__ import annotations

MIGRATION_1 = """
CREATE TABLE feeds (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    guild_id INTEGER NOT NULL DEFAULT 0,          -- 0: shared by every server
    title TEXT,
    added_at INTEGER NOT NULL,
    added_by INTEGER,
    etag TEXT,
    last_modified TEXT,
    last_fetch_at INTEGER,
    last_success_at INTEGER,
    last_error TEXT,
    last_error_at INTEGER,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at INTEGER NOT NULL DEFAULT 0,
    paused INTEGER NOT NULL DEFAULT 0,
    UNIQUE (url, guild_id)
);

CREATE TABLE stories (
    id INTEGER PRIMARY KEY,
    first_published_at INTEGER NOT NULL,
    last_published_at INTEGER NOT NULL,
    article_count INTEGER NOT NULL DEFAULT 0,
    source_count INTEGER NOT NULL DEFAULT 0,
    headline TEXT,
    category TEXT
);
CREATE INDEX stories_last_published ON stories (last_published_at);

CREATE TABLE articles (
    id INTEGER PRIMARY KEY,
    url TEXT,                                     -- canonical URL
    guid TEXT,
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    summary TEXT,
    source TEXT NOT NULL,
    author TEXT,
    category TEXT,
    published_at INTEGER NOT NULL,                -- unix seconds, UTC
    updated_at INTEGER,
    fetched_at INTEGER NOT NULL,
    guild_id INTEGER NOT NULL DEFAULT 0,          -- 0: visible to every server
    story_id INTEGER REFERENCES stories (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX articles_url ON articles (url) WHERE url IS NOT NULL;
CREATE INDEX articles_guid ON articles (guid) WHERE guid IS NOT NULL;
CREATE INDEX articles_hash ON articles (content_hash);
CREATE INDEX articles_published ON articles (published_at);
CREATE INDEX articles_story ON articles (story_id);
CREATE INDEX articles_source ON articles (source COLLATE NOCASE, published_at);

CREATE TABLE article_feeds (
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    feed_id INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    PRIMARY KEY (article_id, feed_id)
) WITHOUT ROWID;
CREATE INDEX article_feeds_feed ON article_feeds (feed_id);

CREATE VIRTUAL TABLE articles_fts USING fts5 (
    title, body,
    content = 'articles', content_rowid = 'id',
    tokenize = 'porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
    INSERT INTO articles_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;
CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
END;
CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles BEGIN
    INSERT INTO articles_fts (articles_fts, rowid, title, body)
    VALUES ('delete', old.id, old.title, old.body);
    INSERT INTO articles_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
END;

-- One row per channel and local date: the durable claim that makes a digest
-- go out exactly once. status: claimed -> sent | failed | missed | empty.
CREATE TABLE digests (
    channel_id INTEGER NOT NULL,
    digest_date TEXT NOT NULL,                    -- YYYY-MM-DD in the channel's timezone
    guild_id INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    nonce TEXT NOT NULL,
    claimed_at INTEGER NOT NULL,
    finished_at INTEGER,
    story_count INTEGER NOT NULL DEFAULT 0,
    message_ids TEXT,                             -- JSON list
    error TEXT,
    PRIMARY KEY (channel_id, digest_date)
);

-- Which stories a channel has already been sent, with their coverage then,
-- so later digests skip them unless they are "developing".
CREATE TABLE digest_items (
    channel_id INTEGER NOT NULL,
    story_id INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    digest_date TEXT NOT NULL,
    source_count INTEGER NOT NULL,
    PRIMARY KEY (channel_id, story_id, digest_date)
) WITHOUT ROWID;
CREATE INDEX digest_items_story ON digest_items (story_id);

CREATE TABLE channel_state (
    channel_id INTEGER PRIMARY KEY,
    guild_id INTEGER NOT NULL DEFAULT 0,
    forbidden INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    last_error_at INTEGER
);
"""


# Story clustering index (bot.stories): document frequencies learned from the
# store, each story's centroid, and a term -> story posting list carrying the
# story's latest publication time so candidate lookup reads only the window.
MIGRATION_2 = """
CREATE TABLE term_df (
    term TEXT PRIMARY KEY,                        -- '' holds the document count
    df INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE story_index (
    story_id INTEGER PRIMARY KEY REFERENCES stories (id) ON DELETE CASCADE,
    centroid TEXT NOT NULL,                       -- JSON {term: weight}, sum of members
    title_centroid TEXT NOT NULL,                 -- JSON {term: weight}, titles only
    headline_vector TEXT NOT NULL,                -- JSON {term: weight} of the headline
    sources TEXT NOT NULL                         -- JSON {outlet (casefolded): articles}
);

CREATE TABLE story_postings (
    term TEXT NOT NULL,
    story_id INTEGER NOT NULL REFERENCES stories (id) ON DELETE CASCADE,
    at INTEGER NOT NULL,                          -- story's last_published_at when posted
    weight REAL NOT NULL,
    PRIMARY KEY (story_id, term)
) WITHOUT ROWID;
CREATE INDEX story_postings_term_at ON story_postings (term, at);
"""

# A covering index for search (bot.store.search forces it with INDEXED BY so
# filtering matches by date, server and outlet never reads the long article
# rows), and when a feed's current failure streak began (for pausing).
MIGRATION_3 = """
CREATE INDEX articles_search ON articles (id, published_at, guild_id, source);
ALTER TABLE feeds ADD COLUMN first_failure_at INTEGER;
"""

# Average-link clustering divides a story's centroid (the sum of its member
# vectors) by the number of members it holds; the title centroid and headline
# vector of the single-pass clusterer are no longer used.
MIGRATION_4 = """
ALTER TABLE story_index DROP COLUMN title_centroid;
ALTER TABLE story_index DROP COLUMN headline_vector;
ALTER TABLE story_index ADD COLUMN members INTEGER NOT NULL DEFAULT 1;
UPDATE story_index SET
    members = (SELECT max(article_count, 1) FROM stories WHERE stories.id = story_index.story_id);
"""

# Undated articles (the source gave no publication date): ``published_at``
# holds when the article was first seen, for ordering and digest windows, and
# ``dated = 0`` says so; a story whose articles are all undated is undated too.
# Short articles (a headline and a sentence) are also compared by character
# 4-grams: a story keeps the sum of its short members' 4-gram vectors
# (``grams``) and how short its members are (``short``, the sum of their
# shortness, 0 for full-text articles). See bot.stories.features.
MIGRATION_5 = """
ALTER TABLE articles ADD COLUMN dated INTEGER NOT NULL DEFAULT 1;
ALTER TABLE stories ADD COLUMN dated INTEGER NOT NULL DEFAULT 1;
ALTER TABLE story_index ADD COLUMN grams TEXT NOT NULL DEFAULT '{}';
ALTER TABLE story_index ADD COLUMN short REAL NOT NULL DEFAULT 0;
"""

# Full text for summary-only feeds (bot.ingest.fulltext): a feed's own choice
# (NULL: the NEWSDESK_FULLTEXT setting), and what we know of each linked page,
# by canonical URL, so a re-poll never fetches a page twice. The page's text
# itself is the body of the article with that URL; a failed or thin page
# (no more text than the feed gave) is tried again at ``retry_at``, or never.
MIGRATION_6 = """
ALTER TABLE feeds ADD COLUMN fulltext TEXT CHECK (fulltext IN ('auto', 'always', 'never'));
CREATE TABLE pages (
    url TEXT PRIMARY KEY,                         -- canonical URL of the article page
    state TEXT NOT NULL CHECK (state IN ('ok', 'thin', 'failed')),
    fetched_at INTEGER NOT NULL,                  -- unix seconds of the last attempt
    etag TEXT,
    last_modified TEXT,
    failures INTEGER NOT NULL DEFAULT 0,          -- attempts in a row that failed or were thin
    retry_at INTEGER,                             -- thin/failed: not before; NULL: never again
    error TEXT
) WITHOUT ROWID;
CREATE INDEX pages_fetched ON pages (fetched_at);
"""

# The running bot's heartbeat, for ``newsdesk health`` (another process):
# one row, rewritten every minute and on gateway changes and poll cycles.
# Times are unix seconds; ``gateway`` is 'connecting', 'connected' or
# 'disconnected' since ``gateway_since``; ``last_poll_ok_at`` is the end of
# the last poll cycle in which not every due feed failed.
MIGRATION_7 = """
CREATE TABLE heartbeat (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    updated_at INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    pid INTEGER,
    gateway TEXT NOT NULL CHECK (gateway IN ('connecting', 'connected', 'disconnected')),
    gateway_since INTEGER NOT NULL,
    poll_interval_s INTEGER NOT NULL,
    last_poll_at INTEGER,
    last_poll_ok_at INTEGER
);
"""

# Feed routing: a feed's tags, lower case, comma-separated ('' for none); a
# digest channel with tags= gets the stories of the feeds carrying one of them.
MIGRATION_8 = """
ALTER TABLE feeds ADD COLUMN tags TEXT NOT NULL DEFAULT '';
"""

# A story rebuild in progress, kept durably so a killed rebuild resumes
# instead of leaving articles without a story: where it started and the last
# (published_at, id) regrouped, committed with each batch; and which articles
# each channel had already been sent, so the rebuilt stories keep that history
# (digest_items cascade away with the old stories).
MIGRATION_9 = """
CREATE TABLE rebuild_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    start INTEGER NOT NULL,                       -- unix seconds: articles published since
    after_published INTEGER NOT NULL,             -- cursor: the last article regrouped
    after_id INTEGER NOT NULL,
    started_at INTEGER NOT NULL
);
CREATE TABLE rebuild_sent (
    channel_id INTEGER NOT NULL,
    digest_date TEXT NOT NULL,
    source_count INTEGER NOT NULL,
    article_id INTEGER NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    PRIMARY KEY (channel_id, digest_date, article_id)
);  -- not WITHOUT ROWID: SQLite 3.40's quick_check then reports false NULLs
CREATE INDEX rebuild_sent_article ON rebuild_sent (article_id);
"""

# One counter that every write of articles or stories advances: clustering
# plans away from the write lock, then writes only if the counter is still what
# it read (see bot.store.generation).
MIGRATION_10 = """
CREATE TABLE store_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT INTO store_generation (id, generation) VALUES (1, 0);
"""

# An article's lead image (an http(s) URL checked by bot.identity.image_url).
MIGRATION_11 = """
ALTER TABLE articles ADD COLUMN image_url TEXT;
"""

# Breaking-story alerts: one row per channel and story, the durable claim
# written before the alert is posted (claimed -> sent | failed), so a story is
# announced at most once per channel, also across a restart or a crash
# mid-post. ``alert_date`` (the channel's local day) counts alerts_per_day; the
# headline, link and count are kept so a resend after a crash is the same
# message. No foreign key on story_id: an alert outlives a story merged away.
MIGRATION_12 = """
CREATE TABLE alerts (
    channel_id INTEGER NOT NULL,
    story_id INTEGER NOT NULL,
    alert_date TEXT NOT NULL,                     -- the channel's local date
    guild_id INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('claimed', 'sent', 'failed')),
    nonce TEXT NOT NULL,
    headline TEXT NOT NULL,
    url TEXT,
    source_count INTEGER NOT NULL,
    claimed_at INTEGER NOT NULL,                  -- unix seconds, real time
    finished_at INTEGER,
    message_id INTEGER,
    error TEXT,
    PRIMARY KEY (channel_id, story_id)
);
CREATE INDEX alerts_day ON alerts (channel_id, alert_date);
"""

# A full story rebuild clears the old stories a few thousand rows per
# transaction (so no write holds the lock long on a big store); while it does,
# ``clearing`` is 1, and a rebuild resumed after a crash finishes the clearing
# before it regroups.
MIGRATION_13 = """
ALTER TABLE rebuild_state ADD COLUMN clearing INTEGER NOT NULL DEFAULT 0;
"""

# One heartbeat row per bot process, so several processes on one store (a
# sharded bot) each say they are alive, and ``newsdesk health`` in each one's
# container reads its own. ``process`` is "bot" for an unsharded bot, else
# "shards 0,1 of 4"; ``shard_ids`` lists its shards ('' when unsharded) and
# ``shard_count`` their total (0 when unsharded). The old single row becomes
# the "bot" row.
MIGRATION_14 = """
CREATE TABLE heartbeats (
    process TEXT PRIMARY KEY,
    shard_ids TEXT NOT NULL DEFAULT '',
    shard_count INTEGER NOT NULL DEFAULT 0,
    updated_at INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    pid INTEGER,
    gateway TEXT NOT NULL CHECK (gateway IN ('connecting', 'connected', 'disconnected')),
    gateway_since INTEGER NOT NULL,
    poll_interval_s INTEGER NOT NULL,
    last_poll_at INTEGER,
    last_poll_ok_at INTEGER
) WITHOUT ROWID;
INSERT INTO heartbeats (process, updated_at, started_at, pid, gateway, gateway_since,
                        poll_interval_s, last_poll_at, last_poll_ok_at)
    SELECT 'bot', updated_at, started_at, pid, gateway, gateway_since, poll_interval_s,
           last_poll_at, last_poll_ok_at FROM heartbeat;
DROP TABLE heartbeat;
"""

MIGRATIONS: list[str] = [
    MIGRATION_1,
    MIGRATION_2,
    MIGRATION_3,
    MIGRATION_4,
    MIGRATION_5,
    MIGRATION_6,
    MIGRATION_7,
    MIGRATION_8,
    MIGRATION_9,
    MIGRATION_10,
    MIGRATION_11,
    MIGRATION_12,
    MIGRATION_13,
    MIGRATION_14,
]
