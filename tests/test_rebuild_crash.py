"""`newsdesk stories rebuild` killed with SIGKILL at several points, then run
again: every article ends in a story, and every channel's "already sent"
history is intact (real processes)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.test_crash_recovery import (
    check_database,
    child_env,
    kill_when,
    read_only,
    start_newsdesk,
    write_jsonl,
)

pytestmark = pytest.mark.slow

CHANNELS = (111, 222)


async def _record_sent(db: Path, stories: list[int]) -> None:
    """Stories sent to the two channels on seven days, through the store's own writes."""
    from datetime import date

    from bot.store import open_db, transaction
    from bot.store.digest_history import record_sent

    conn = await open_db(db, create=False)
    try:
        async with transaction(conn):
            for i, story_id in enumerate(stories):
                await record_sent(conn, CHANNELS[i % 2], date(2025, 6, 10 + i), {story_id: 1})
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 articles in stories, and a digest history: 7 stories sent to two channels."""
    where = tmp_path_factory.mktemp("rebuild")
    source, db = where / "archive.jsonl", where / "base.db"
    write_jsonl(source)
    proc = asyncio.run(_run(where, db, "ingest", str(source)))
    assert proc[0] == 0, proc[2]
    conn = sqlite3.connect(db)
    stories = [
        r[0]
        for r in conn.execute(
            "SELECT id FROM stories ORDER BY article_count DESC, id LIMIT 7"
        ).fetchall()
    ]
    conn.close()
    asyncio.run(_record_sent(db, stories))  # as delivery records a digest it posted
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


async def _run(cwd: Path, db: Path, *args: str) -> tuple[int, str, str]:
    proc = await start_newsdesk(cwd, db, *args)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    return proc.returncode or 0, out.decode(), err.decode()


def sent_articles(db: Path) -> set[tuple[int, str, int]]:
    """(channel, digest date, article) for every article of every story sent."""
    conn = read_only(db)
    try:
        return set(
            conn.execute(
                "SELECT d.channel_id, d.digest_date, a.id FROM digest_items AS d"
                " JOIN articles AS a ON a.story_id = d.story_id"
            )
        )
    finally:
        conn.close()


def rebuild_cursor(db: Path) -> int | None:
    """The last article id regrouped by a rebuild in progress (-1: just cleared)."""
    try:
        conn = read_only(db)
        try:
            row = conn.execute("SELECT after_id FROM rebuild_state").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return None
    return None if row is None else row[0]


def grouped(db: Path) -> int:
    conn = read_only(db)
    try:
        return conn.execute("SELECT COUNT(*) FROM articles WHERE story_id IS NOT NULL").fetchone()[
            0
        ]
    finally:
        conn.close()


# When to kill: right after the clearing transaction; after the first batch;
# after three batches (most articles regrouped); and twice: once in the first
# run, once again in the resumed one.
KILL_POINTS = {
    "after-clear": [lambda db: rebuild_cursor(db) == -1],
    "after-one-batch": [lambda db: (rebuild_cursor(db) or -1) > -1],
    "after-three-batches": [
        lambda db: rebuild_cursor(db) is not None and grouped(db) >= 3000,
    ],
    "twice": [
        lambda db: (rebuild_cursor(db) or -1) > -1,
        lambda db: rebuild_cursor(db) is not None and grouped(db) >= 3000,
    ],
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
async def test_rebuild_killed_then_rerun_keeps_every_article_and_the_history(
    tmp_path: Path, base_db: Path, point: str
):
    db = tmp_path / "news.db"
    shutil.copy(base_db, db)
    before = sent_articles(db)
    conn = read_only(db)
    total = conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    history_rows = conn.execute("SELECT COUNT(*) FROM digest_items").fetchone()[0]
    conn.close()
    assert history_rows == 7 and len(before) >= 7

    for ready in KILL_POINTS[point]:
        proc = await start_newsdesk(tmp_path, db, "stories", "rebuild")
        await kill_when(proc, lambda ready=ready: ready(db), limit=120)
        assert rebuild_cursor(db) is not None  # the rebuild is recorded as unfinished
        conn = read_only(db)  # the history is kept durably while it is unfinished
        kept = conn.execute("SELECT COUNT(DISTINCT article_id) FROM rebuild_sent").fetchone()[0]
        conn.close()
        assert kept == len({article for _c, _d, article in before})

    code, out, err = await _run(tmp_path, db, "stories", "rebuild")
    assert code == 0, err[-2000:]
    assert "rebuilt stories" in out
    assert rebuild_cursor(db) is None

    conn = check_database(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == total
        loose = conn.execute("SELECT COUNT(*) FROM articles WHERE story_id IS NULL").fetchone()[0]
        assert loose == 0
        assert conn.execute("SELECT COUNT(*) FROM rebuild_sent").fetchone()[0] == 0
    finally:
        conn.close()
    # Every article a channel was sent is in a story that channel was sent that day.
    assert before <= sent_articles(db)


# -- the same on PostgreSQL: the rebuild runs in a child process on a copy of a
# -- base database (CREATE DATABASE ... TEMPLATE), SIGKILLed at the same points.

_PG_REBUILD = """
import asyncio, sys
from bot.clustering import StoryClusterer
from bot.store import open_db

async def main(url):
    db = await open_db(url, create=False)
    try:
        print(f"rebuilt stories: {await StoryClusterer().rebuild(db)}")
    finally:
        await db.close()

asyncio.run(main(sys.argv[1]))
"""


async def _pg_ingest(url: str, source: Path) -> None:
    """The archive stored as ``newsdesk ingest`` stores it, then a digest history."""
    from bot.clustering import StoryClusterer
    from bot.ingest.pipeline import Ingestor
    from bot.ingest.sources import SourceOutcome, ingest_paths
    from bot.store import open_db

    db = await open_db(url)
    try:
        outcome = SourceOutcome()
        await ingest_paths(Ingestor(db, clusterer=StoryClusterer()), [source], outcome=outcome)
        assert outcome.report.new > 0 and not outcome.report.failed
        rows = await db.execute_fetchall(
            "SELECT id FROM stories ORDER BY article_count DESC, id LIMIT 7"
        )
    finally:
        await db.close()
    await _record_sent(url, [int(r[0]) for r in rows])


async def _pg_scalar(url: str, sql: str) -> object:
    from bot.store import open_db

    db = await open_db(url, create=False)
    try:
        rows = await db.execute_fetchall(sql)
    finally:
        await db.close()
    return rows[0][0] if rows else None


async def _pg_sent_articles(url: str) -> set[tuple[int, str, int]]:
    from bot.store import open_db

    db = await open_db(url, create=False)
    try:
        rows = await db.execute_fetchall(
            "SELECT d.channel_id, d.digest_date, a.id FROM digest_items AS d"
            " JOIN articles AS a ON a.story_id = d.story_id"
        )
    finally:
        await db.close()
    return {(int(r[0]), str(r[1]), int(r[2])) for r in rows}


async def _pg_cursor(url: str) -> int | None:
    value = await _pg_scalar(url, "SELECT after_id FROM rebuild_state")
    return None if value is None else int(value)


async def _pg_grouped(url: str) -> int:
    return int(await _pg_scalar(url, "SELECT COUNT(*) FROM articles WHERE story_id IS NOT NULL"))


async def _pg_just_cleared(url: str) -> bool:
    return await _pg_cursor(url) == -1


async def _pg_after_one_batch(url: str) -> bool:
    return (await _pg_cursor(url) or -1) > -1


async def _pg_after_three_batches(url: str) -> bool:
    return await _pg_cursor(url) is not None and await _pg_grouped(url) >= 3000


# As KILL_POINTS: right after clearing; after one batch, then again after three.
PG_KILL_POINTS = {
    "after-clear": [_pg_just_cleared],
    "twice": [_pg_after_one_batch, _pg_after_three_batches],
}


@pytest.fixture(scope="module")
def pg_base(tmp_path_factory: pytest.TempPathFactory):
    """A PostgreSQL database of 5,000 articles in stories and a digest history."""
    from tests.pgserver import _run, drop_database, fresh_database

    source = tmp_path_factory.mktemp("pg-rebuild") / "archive.jsonl"
    write_jsonl(source)
    url = fresh_database()
    try:
        _run(_pg_ingest(url, source))
        yield url
    finally:
        drop_database(url)


@pytest.fixture
def pg_copy(pg_base: str):
    """A fresh copy of the base database for one test."""
    import uuid
    from urllib.parse import urlsplit

    from tests.pgserver import _admin, _run, database_url, drop_database

    name = f"nd_rebuild_{uuid.uuid4().hex[:10]}"
    base = urlsplit(pg_base).path.lstrip("/")
    _run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{base}"'))
    url = database_url(pg_base, name)
    try:
        yield url
    finally:
        drop_database(url)


async def _pg_start_rebuild(cwd: Path, url: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _PG_REBUILD,
        url,
        cwd=cwd,
        env=child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _blocking(check: Any) -> Any:
    """The value of the coroutine ``check``, run to its end on a loop of its own
    (:func:`kill_when` polls synchronously, as the SQLite readers are)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, check).result()


@pytest.mark.parametrize("point", list(PG_KILL_POINTS))
async def test_rebuild_on_postgresql_killed_then_rerun_keeps_every_article_and_the_history(
    tmp_path: Path, pg_copy: str, point: str
):
    url = pg_copy
    before = await _pg_sent_articles(url)
    total = await _pg_scalar(url, "SELECT COUNT(*) FROM articles")
    assert await _pg_scalar(url, "SELECT COUNT(*) FROM digest_items") == 7 and len(before) >= 7

    for ready in PG_KILL_POINTS[point]:
        proc = await _pg_start_rebuild(tmp_path, url)
        await kill_when(proc, lambda ready=ready: _blocking(ready(url)), limit=120)
        assert await _pg_cursor(url) is not None  # the rebuild is recorded as unfinished
        kept = await _pg_scalar(url, "SELECT COUNT(DISTINCT article_id) FROM rebuild_sent")
        assert kept == len({article for _c, _d, article in before})

    proc = await _pg_start_rebuild(tmp_path, url)
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]
    assert "rebuilt stories" in out.decode()
    assert await _pg_cursor(url) is None

    assert await _pg_scalar(url, "SELECT COUNT(*) FROM articles") == total
    assert await _pg_scalar(url, "SELECT COUNT(*) FROM articles WHERE story_id IS NULL") == 0
    assert await _pg_scalar(url, "SELECT COUNT(*) FROM rebuild_sent") == 0
    orphans = await _pg_scalar(
        url,
        "SELECT COUNT(*) FROM stories AS s WHERE NOT EXISTS"
        " (SELECT 1 FROM articles AS a WHERE a.story_id = s.id)",
    )
    assert orphans == 0
    # Every article a channel was sent is in a story that channel was sent that day.
    assert before <= await _pg_sent_articles(url)
