"""Several writers on one database at once (real processes): while another
process holds the write lock longer than SQLite's busy timeout, a CLI ingest,
a digest delivery (the real :class:`bot.delivery.Delivery`) and `stories
rebuild` all wait for it with a logged wait, then finish: nothing lost,
nothing doubled, the digest posted and recorded exactly once."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import REPO
from tests.test_crash_recovery import (
    StubChannel,
    check_database,
    child_env,
    digest_row,
    read_only,
    run_ingest,
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


async def _wait(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), timeout=300)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_writers_wait_for_a_long_lock_and_all_finish(
    tmp_path: Path, http_server: LoopbackServer
):
    db = tmp_path / "news.db"
    base, more = tmp_path / "base.jsonl", tmp_path / "more.jsonl"
    write_jsonl(base, 500, tag="base")
    write_jsonl(more, 1500, tag="more")
    code, _out, err = await _wait(await run_ingest(tmp_path, db, base))
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
    digest = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.hostile.digest_driver",
        "--db",
        str(db),
        "--endpoint",
        endpoint,
        "--messages",
        "3",
        cwd=REPO,
        env=child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    rebuild = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--db",
        str(db),
        "stories",
        "rebuild",
        cwd=tmp_path,
        env=child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
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
    results = await asyncio.gather(_wait(ingest), _wait(digest), _wait(rebuild))
    await holder.wait()
    assert holder.returncode == 0

    for code, _out, err in results:
        assert code == 0, err[-3000:]
        assert "Traceback" not in err and "database is locked" not in err, err[-3000:]
    (_c, ingest_out, _e1), (_c2, digest_out, _e2), (_c3, rebuild_out, _e3) = results
    assert "1500 new" in ingest_out
    assert "rebuilt stories" in rebuild_out

    assert digest_out.strip().splitlines()[-1] == "RESULT sent 1000,1001,1002"
    assert [m["content"] for m in stub.messages] == [f"part {i} of 3" for i in range(1, 4)]
    row = digest_row(db)
    assert row["status"] == "sent" and json.loads(row["message_ids"]) == [1000, 1001, 1002]

    conn = check_database(db)
    try:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT url) FROM articles"
        ).fetchone()
        assert total == distinct == 2000
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
