"""Several writers on one database at once (real processes): while another
process holds the write lock longer than SQLite's busy timeout, a CLI ingest,
a digest delivery (the real :class:`bot.delivery.Delivery`) and `stories
rebuild` and a poll cycle all wait for it with a logged wait, then finish: nothing lost,
nothing doubled, the digest posted and recorded exactly once."""

from __future__ import annotations

import asyncio
import json
import random
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.test_crash_recovery import (
    StubChannel,
    check_database,
    child_env,
    digest_row,
    read_only,
    run_driver,
    run_ingest,
    start_newsdesk,
)
from tests.test_storage_faults import write_jsonl

if TYPE_CHECKING:
    from tests.httpserver import LoopbackServer

pytest_plugins = ["tests.httpserver"]
pytestmark = pytest.mark.slow


_HOLDER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute("UPDATE feeds SET title = title")  # a real write transaction
print("held", flush=True)
sys.stdin.readline()  # released when the test says so
conn.execute("COMMIT")
print("released", flush=True)
"""


FEED_ITEMS = 40


def one_topic_archive(path: Path, count: int) -> None:
    """``count`` articles on one topic from a small vocabulary: one big story,
    the slowest case for the clusterer."""
    rng = random.Random(20251127)
    vocab = [f"harbour{i}" for i in range(60)]
    with path.open("w") as fh:
        for i in range(count):
            record = {
                "title": "Harbour bridge " + " ".join(rng.choices(vocab, k=5)),
                "text": "The harbour bridge " + " ".join(rng.choices(vocab, k=60)),
                "url": f"https://topic.example/{i}",
                "source": f"Outlet {i % 9}",
                "published_at": "2025-06-01T10:00:00Z",
            }
            fh.write(json.dumps(record) + "\n")


def rss(count: int) -> str:
    items = "".join(
        f"<item><title>Council vote number {i} on the tram budget</title>"
        f"<link>https://feed.example/items/{i}</link><guid>feed-item-{i}-abcdef</guid>"
        f"<description>The council voted on part {i} of the tram budget on Tuesday evening."
        "</description><pubDate>Mon, 02 Jun 2025 09:00:00 GMT</pubDate></item>"
        for i in range(count)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>City</title>{items}</channel></rss>'


def poll_env() -> dict[str, str]:
    env = child_env()
    env["NEWSDESK_ALLOW_PRIVATE_ADDRESSES"] = "true"  # the feed is on the loopback server
    env["NEWSDESK_FULLTEXT"] = "never"
    return env


async def _cli(cwd: Path, db: Path, *args: str) -> asyncio.subprocess.Process:
    return await start_newsdesk(cwd, db, *args, env=poll_env())


async def _wait(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_writers_wait_for_a_long_lock_and_all_finish(
    tmp_path: Path, http_server: LoopbackServer
):
    db = tmp_path / "news.db"
    base, more = tmp_path / "base.jsonl", tmp_path / "more.jsonl"
    write_jsonl(base, 500, tag="base")
    one_topic_archive(more, 1500)
    code, _out, err = await _wait(await run_ingest(tmp_path, db, base))
    assert code == 0, err
    http_server.route("/feed.xml", rss(FEED_ITEMS), content_type="application/rss+xml")
    code, _out, err = await _wait(
        await _cli(tmp_path, db, "feeds", "add", "--no-check", http_server.url("/feed.xml"))
    )
    assert code == 0, err

    stub = StubChannel(http_server)
    http_server.handler("/channels/1/messages", stub.handle)
    endpoint = http_server.url("/channels/1/messages")

    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _HOLDER,
        str(db),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"held"

    ingest = await run_ingest(tmp_path, db, more)
    digest = await run_driver(tmp_path, db, endpoint, messages=3)
    rebuild = await _cli(tmp_path, db, "stories", "rebuild")
    poll = await _cli(tmp_path, db, "poll")  # the bot's poll cycle (Newsdesk.poll_once)
    # Hold the lock until the ingest has waited out a whole busy_timeout and
    # said so (without the wait it would have died with "database is locked").
    assert ingest.stderr is not None
    early: list[bytes] = []
    while b"waiting for the database" not in (
        line := await asyncio.wait_for(ingest.stderr.readline(), 120)
    ):
        assert line, b"".join(early).decode()
        early.append(line)
    assert holder.stdin is not None
    holder.stdin.write(b"release\n")
    await holder.stdin.drain()
    results = await asyncio.gather(_wait(ingest), _wait(digest), _wait(rebuild), _wait(poll))
    await holder.wait()
    assert holder.returncode == 0

    for code, _out, err in results:
        assert code == 0, err[-3000:]
        assert "Traceback" not in err and "database is locked" not in err, err[-3000:]
    ingest_out, digest_out, rebuild_out, poll_out = (out for _code, out, _err in results)
    assert "1500 new" in ingest_out
    assert "rebuilt stories" in rebuild_out
    assert f"{FEED_ITEMS} new article(s)" in poll_out, poll_out

    assert digest_out.strip().splitlines()[-1] == "RESULT sent 1000,1001,1002"
    assert [m["content"] for m in stub.messages] == [f"part {i} of 3" for i in range(1, 4)]
    row = digest_row(db)
    assert row["status"] == "sent" and json.loads(row["message_ids"]) == [1000, 1001, 1002]

    conn = check_database(db)
    try:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT url) FROM articles"
        ).fetchone()
        assert total == distinct == 2000 + FEED_ITEMS
        loose = conn.execute("SELECT COUNT(*) FROM articles WHERE story_id IS NULL").fetchone()[0]
        assert loose == 0
    finally:
        conn.close()
    conn = read_only(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM rebuild_state").fetchone()[0] == 0
    except sqlite3.OperationalError:
        pytest.fail("no rebuild_state table")
    finally:
        conn.close()
