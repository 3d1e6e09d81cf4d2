"""`newsdesk stories rebuild` killed with SIGKILL at several points, then run
again: every article ends in a story, and every channel's "already sent"
history is intact (real processes)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.test_crash_recovery import (
    check_database,
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
