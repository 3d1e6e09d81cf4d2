"""The store: pragmas, migrations (fresh and upgrade), FTS kept in sync."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from bot.store import SCHEMA_VERSION, DriverError, StoreError, open_db, transaction
from bot.store.articles import insert_articles, update_articles
from bot.store.feeds import add_feed
from bot.store.migrations import MIGRATIONS
from tests.seed import make_article

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)


async def _scalar(db, sql, *args):
    async with db.execute(sql, args) as cur:
        row = await cur.fetchone()
    return row[0]


async def _schema_version(db, backend: str) -> int:
    if backend == "postgresql":
        return await _scalar(db, "SELECT MAX(version) FROM schema_migrations")
    return await _scalar(db, "PRAGMA user_version")


async def test_fresh_database_is_migrated_and_enforces_foreign_keys(db, backend):
    assert await _schema_version(db, backend) == SCHEMA_VERSION
    with pytest.raises(DriverError):  # no article 1, no feed 1
        await db.execute("INSERT INTO article_feeds (article_id, feed_id) VALUES (1, 1)")
    assert await _scalar(db, "SELECT count(*) FROM article_feeds") == 0


async def test_fresh_sqlite_file_is_in_wal_mode_with_foreign_keys_on(db, backend):
    if backend != "sqlite":
        pytest.skip("journal mode and pragmas are SQLite's (PostgreSQL has neither)")
    assert await _scalar(db, "PRAGMA journal_mode") == "wal"
    assert await _scalar(db, "PRAGMA foreign_keys") == 1


# A database as version 1 of the schema left it: no current code writes one.
def _insert_article(conn, title, body, url):
    conn.execute(
        "INSERT INTO articles (url, content_hash, title, body, source, published_at, fetched_at)"
        " VALUES (?, ?, ?, ?, 'Test Outlet', 1700000000, 1700000000)",
        (url, url, title, body),
    )


async def test_upgrade_from_version_1_keeps_data(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(MIGRATIONS[0])
    conn.execute("PRAGMA user_version = 1")
    _insert_article(
        conn, "Harbour bridge reopens", "The bridge reopened on Monday.", "https://a.example/1"
    )
    conn.commit()
    conn.close()

    db = await open_db(path)
    try:
        assert await _scalar(db, "PRAGMA user_version") == SCHEMA_VERSION
        assert await _scalar(db, "SELECT title FROM articles") == "Harbour bridge reopens"
        hits = await _scalar(
            db, "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH 'bridge'"
        )
        assert hits == 1
    finally:
        await db.close()


async def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        await open_db(path)


async def test_newer_schema_on_a_server_is_refused(store_url, backend):
    if backend != "postgresql":
        pytest.skip("the SQLite case is test_newer_schema_is_refused (a file's user_version)")
    db = await open_db(store_url)
    try:
        await db.execute(
            "INSERT INTO schema_migrations (version) VALUES (?)", (SCHEMA_VERSION + 1,)
        )
    finally:
        await db.close()
    with pytest.raises(StoreError, match="newer"):
        await open_db(store_url)


async def _hits(db, backend: str, word: str) -> int:
    """How many articles the full-text index finds for ``word`` (FTS5 or tsvector)."""
    if backend == "postgresql":
        sql = "SELECT count(*) FROM articles WHERE search @@ to_tsquery('newsdesk', ?)"
    else:
        sql = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH ?"
    return int(await _scalar(db, sql, word))


async def test_fts_follows_insert_update_delete(db, backend):
    """The schema keeps the full-text index in step with the store's writes
    (SQLite: triggers on an FTS5 table; PostgreSQL: a generated column)."""
    original = make_article(
        "Café reopens", "O", datetime.fromtimestamp(1, UTC), body="Crowds queued."
    )
    async with transaction(db):
        [article_id] = await insert_articles(
            db, [original], fetched_at=original.published_at, guild_id=0
        )
    # remove_diacritics: "cafe" finds "Café"; porter: "crowd" finds "Crowds".
    assert await _hits(db, backend, "cafe") == 1
    assert await _hits(db, backend, "crowd") == 1
    changed = make_article("Café reopens", "O", original.published_at, body="Nobody came.")
    async with transaction(db):
        await update_articles(db, {article_id: changed})
    assert await _hits(db, backend, "crowd") == 0
    assert await _hits(db, backend, "nobody") == 1
    # Nothing in the product deletes an article: this checks the schema's own
    # delete trigger, for a row removed by hand.
    await db.execute("DELETE FROM articles")
    assert await _hits(db, backend, "cafe") == 0


async def test_transaction_rolls_back_everything_on_error(db):
    with pytest.raises(RuntimeError):
        async with transaction(db):
            await add_feed(db, "https://a.example/feed", now=datetime.fromtimestamp(0, UTC))
            raise RuntimeError("crash mid-feed")
    assert await _scalar(db, "SELECT count(*) FROM feeds") == 0


async def test_many_processes_opening_a_new_file_at_once_all_get_the_schema(tmp_path):
    """Each bot process of a sharded instance opens the store on start; on a new
    file they race to create it. The one that loses the race must not fail on
    "table already exists": it finds the migration done and goes on."""
    import asyncio

    from bot.store import SCHEMA_VERSION, open_db

    for round_ in range(6):
        path = tmp_path / f"new-{round_}.db"
        opened = await asyncio.gather(*(open_db(path, check=False) for _ in range(6)))
        try:
            for db in opened:
                ((version,),) = await db.execute_fetchall("PRAGMA user_version")
                assert version == SCHEMA_VERSION
        finally:
            for db in opened:
                await db.close()


async def test_a_postgresql_connection_lost_fails_one_request_and_the_next_reconnects(
    postgres_url,
):
    """The server ends the session (a restart, a failover): at most the statement
    that meets it fails, with one clear line; the next one connects again."""
    import asyncpg

    from bot.store import DriverError, open_db

    db = await open_db(postgres_url)
    try:
        ((pid,),) = await db.execute_fetchall("SELECT pg_backend_pid()")
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute("SELECT pg_terminate_backend($1)", pid)
        finally:
            await admin.close()
        # Whether the driver has noticed yet decides if one request fails (with
        # one clear line) before the next connects again; never more than one.
        try:
            await db.execute_fetchall("SELECT COUNT(*) FROM articles")
        except DriverError as lost:
            assert "lost the connection" in str(lost) and "\n" not in str(lost)
        ((count,),) = await db.execute_fetchall("SELECT COUNT(*) FROM articles")
        assert count == 0
        ((new_pid,),) = await db.execute_fetchall("SELECT pg_backend_pid()")
        assert new_pid != pid
    finally:
        await db.close()


async def test_a_version_13_postgresql_store_is_migrated_keeping_its_heartbeat(postgres_url):
    """A store made by the first PostgreSQL release (the base, version 13) with a
    bot's heartbeat in it: opening it applies 14, and the row is the "bot" one."""
    import asyncpg

    from bot.store import SCHEMA_VERSION, open_db
    from bot.store import health as health_store
    from bot.store.pg_migrations import BASE

    admin = await asyncpg.connect(postgres_url)
    try:  # the fresh store, taken back to what version 13 created
        await admin.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
        await admin.execute(BASE)
        await admin.execute(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY,"
            " applied_at TIMESTAMPTZ NOT NULL DEFAULT now());"
            " INSERT INTO schema_migrations (version) VALUES (13);"
            " INSERT INTO heartbeat (id, updated_at, started_at, pid, gateway, gateway_since,"
            " poll_interval_s) VALUES (1, 1700000000, 1700000000, 42, 'connected', 1700000000, 900)"
        )
    finally:
        await admin.close()
    db = await open_db(postgres_url)
    try:
        ((version,),) = await db.execute_fetchall("SELECT MAX(version) FROM schema_migrations")
        assert version == SCHEMA_VERSION
        hb = await health_store.read_heartbeat(db, "bot")
        assert hb is not None and hb.pid == 42 and hb.gateway == "connected"
    finally:
        await db.close()


@pytest.mark.parametrize("with_nul", [False, True])
async def test_a_batch_insert_keeps_every_field_and_the_order_of_ids(db, backend, with_nul):
    """insert_articles writes a batch in one statement (on SQLite, the rows as
    one JSON array): each id is its own article's, and text of any kind
    (quotes, backslashes, emoji, line separators; on SQLite also a NUL, which
    JSON would cut) comes back exactly."""
    if with_nul and backend == "postgresql":
        pytest.skip("PostgreSQL text holds no NUL (cleaning drops it before any store)")
    odd = ['"quoted" \\ back\\slash', "emoji 😀 and \u2028 line", "tab\there", "ünïcödé"]
    batch = [
        make_article(
            f"Story {k}: {odd[k % len(odd)]}",
            f"Outlet {k % 7}",
            datetime.fromtimestamp(1_700_000_000 + k, UTC),
            body=f"Body {k} {odd[(k + 1) % len(odd)]}",
            url=f"https://example.com/{k}",
            guid=f"guid-{k}\x00tail" if with_nul and k == 137 else f"guid-{k}",
            author=None if k % 3 else f"Author {odd[k % len(odd)]}",
            dated=k % 5 != 0,
        )
        for k in range(300)
    ]
    async with transaction(db):
        ids = await insert_articles(db, batch, fetched_at=batch[0].published_at, guild_id=2**62)
    rows = await db.execute_fetchall(
        "SELECT id, title, body, source, url, guid, author, published_at, dated, guild_id"
        " FROM articles ORDER BY id"
    )
    assert [int(r[0]) for r in rows] == ids
    for row, article in zip(rows, batch, strict=True):
        assert tuple(row[1:]) == (
            article.title,
            article.body,
            article.source,
            article.url,
            article.guid,
            article.author,
            int(article.published_at.timestamp()),
            int(article.dated),
            2**62,
        )
