"""SIGKILL in the middle of work, then restart: nothing lost, nothing doubled.

These tests run real processes: ``python -m bot ingest`` for a large JSON
Lines import, and ``tests/hostile/digest_driver.py`` (the real
:class:`bot.delivery.Delivery`) for a digest posted to a loopback stub of
Discord's create-message route.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sqlite3
import string
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import web

from bot.ingest.pipeline import IMPORT_BATCH
from tests.conftest import REPO

if TYPE_CHECKING:
    from tests.httpserver import LoopbackServer

pytest_plugins = ["tests.httpserver"]  # the http_server fixture

pytestmark = pytest.mark.slow

ARTICLES = 5000  # unique articles in the import (ingest runs at ~500 articles/s)
DUPLICATE_LINES = 250  # repeated lines in the same file
KILL_AFTER_ROWS = 1000  # committed rows seen before the SIGKILL


def child_env() -> dict[str, str]:
    """The environment without any Newsdesk setting or token of the developer's."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEWSDESK_") and k != "DISCORD_TOKEN"
    }
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["NEWSDESK_LOG_LEVEL"] = "WARNING"
    return env


def write_jsonl(path: Path) -> int:
    """``ARTICLES`` distinct small articles plus duplicate lines; returns the unique count."""
    rng = random.Random(20250701)
    vocab = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(4, 9))) for _ in range(20_000)
    ]
    lines = []
    for i in range(ARTICLES):
        lines.append(
            json.dumps(
                {
                    "title": " ".join(rng.choices(vocab, k=7)),
                    "text": " ".join(rng.choices(vocab, k=40)),
                    "url": f"https://crash.example/a/{i}",
                    "source": f"Outlet {i % 7}",
                    "published_at": f"2025-06-{1 + i % 28:02d}T10:00:00Z",
                }
            )
        )
    for i in rng.sample(range(ARTICLES), DUPLICATE_LINES):
        lines.insert(rng.randrange(len(lines)), lines[i])
    path.write_text("\n".join(lines) + "\n")
    return ARTICLES


def batch_boundaries(source: Path, batch: int = IMPORT_BATCH) -> set[int]:
    """How many unique articles are stored after each whole batch of lines."""
    seen: set[str] = set()
    counts = {0}
    lines = source.read_text().splitlines()
    for start in range(0, len(lines), batch):
        seen.update(json.loads(line)["url"] for line in lines[start : start + batch])
        counts.add(len(seen))
    return counts


def read_only(db: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)


def committed(db: Path) -> dict[int, str]:
    """``{id: url}`` of every article committed so far (a separate reader)."""
    if not db.exists():
        return {}
    conn = read_only(db)
    try:
        return dict(conn.execute("SELECT id, url FROM articles"))
    except sqlite3.OperationalError:  # the schema is not there yet
        return {}
    finally:
        conn.close()


async def start_newsdesk(
    cwd: Path, db: Path, *args: str, env: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    """``newsdesk --db DB ARGS...`` as a child process, its output piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--db",
        str(db),
        *args,
        cwd=cwd,
        env=env if env is not None else child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_ingest(tmp_path: Path, db: Path, source: Path) -> asyncio.subprocess.Process:
    return await start_newsdesk(tmp_path, db, "ingest", str(source))


async def kill_when(proc: asyncio.subprocess.Process, ready: Any, *, limit: float = 60) -> Any:
    """Poll ``ready()`` until it returns something truthy, then SIGKILL ``proc``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while True:
        value = ready()
        if value:
            break
        if proc.returncode is not None or loop.time() > deadline:
            out, err = await proc.communicate()
            pytest.fail(f"never got ready (exit {proc.returncode}): {err.decode()[-2000:]}")
        await asyncio.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    assert proc.returncode == -signal.SIGKILL
    return value


def check_database(db: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    # rank = 1 compares the index with the articles; without it mismatches pass.
    conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
    orphans = conn.execute(
        "SELECT COUNT(*) FROM stories s WHERE NOT EXISTS"
        " (SELECT 1 FROM articles a WHERE a.story_id = s.id)"
    ).fetchone()[0]
    assert orphans == 0
    return conn


async def test_kill_9_during_a_large_ingest_then_restart(tmp_path: Path):
    source, db = tmp_path / "archive.jsonl", tmp_path / "crash.db"
    unique = write_jsonl(source)

    first = await run_ingest(tmp_path, db, source)
    seen = await kill_when(
        first, lambda: (rows := committed(db)) and len(rows) >= KILL_AFTER_ROWS and rows
    )
    assert len(seen) < unique, "the import finished before it could be killed"
    after_kill = committed(db)  # what survived the crash (WAL recovery on open)
    assert set(seen.items()) <= set(after_kill.items())
    # Whole batches only (the importer commits every IMPORT_BATCH lines): nothing half-written.
    assert len(after_kill) in batch_boundaries(source)

    second = await run_ingest(tmp_path, db, source)
    out, err = await asyncio.wait_for(second.communicate(), timeout=120)
    assert second.returncode == 0, err.decode()[-2000:]
    assert f"{unique - len(after_kill)} new" in out.decode()

    conn = check_database(db)
    try:
        total, distinct = conn.execute(
            "SELECT COUNT(*), COUNT(DISTINCT url) FROM articles"
        ).fetchone()
        assert total == distinct == unique
        final = dict(conn.execute("SELECT id, url FROM articles"))
        assert set(after_kill.items()) <= set(final.items())  # same ids, same rows
        unstoried = conn.execute("SELECT COUNT(*) FROM articles WHERE story_id IS NULL").fetchone()
        assert unstoried[0] == 0
    finally:
        conn.close()


# --- a digest send killed half-way -------------------------------------------------


class StubChannel:
    """Discord's create-message route, with its nonce de-duplication.

    ``hang_at``: the n-th new message is stored (it *was* posted) but the
    answer never comes, so the sender is stuck waiting when it is killed.
    """

    def __init__(self, server: LoopbackServer) -> None:
        self.server = server
        self.messages: list[dict[str, Any]] = []
        self.by_nonce: dict[str, int] = {}
        self.hang_at: int | None = None
        self.hung = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        nonce = body["nonce"]
        assert body.get("enforce_nonce") is True and len(nonce) <= 25
        if nonce in self.by_nonce:  # Discord returns the message created with this nonce
            return web.json_response({"id": str(self.by_nonce[nonce])})
        message_id = 1000 + len(self.messages)
        self.messages.append({"id": message_id, "content": body["content"], "nonce": nonce})
        self.by_nonce[nonce] = message_id
        if self.hang_at == len(self.messages):
            self.hung.set()
            await asyncio.wait_for(self.server.stopping.wait(), timeout=30)
        return web.json_response({"id": str(message_id)})


async def run_driver(tmp_path: Path, db: Path, endpoint: str, *extra: str, messages: int = 5):
    """The digest driver (the real Delivery) posting a ``messages``-message digest."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.hostile.digest_driver",
        "--db",
        str(db),
        "--endpoint",
        endpoint,
        "--messages",
        str(messages),
        *extra,
        cwd=REPO,
        env=child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process) -> str:
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    return out.decode().strip().splitlines()[-1]


def digest_row(db: Path) -> dict[str, Any]:
    conn = read_only(db)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM digests").fetchall()
    finally:
        conn.close()
    assert len(row) == 1
    return dict(row[0])


async def test_kill_9_during_a_digest_send_never_posts_twice(
    tmp_path: Path, http_server: LoopbackServer
):
    stub, db = StubChannel(http_server), tmp_path / "digest.db"
    http_server.handler("/channels/1/messages", stub.handle)
    endpoint = http_server.url("/channels/1/messages")

    stub.hang_at = 3  # the third message reaches the channel, its answer never comes
    first = await run_driver(tmp_path, db, endpoint)
    await kill_when(first, stub.hung.is_set)
    row = digest_row(db)
    assert row["status"] == "claimed"
    assert json.loads(row["message_ids"]) == [1000, 1001]  # the two confirmed ones

    stub.hang_at = None
    assert await finish(await run_driver(tmp_path, db, endpoint)) == (
        "RESULT sent 1000,1001,1002,1003,1004"
    )
    assert [m["content"] for m in stub.messages] == [f"part {i} of 5" for i in range(1, 6)]
    assert len({m["nonce"] for m in stub.messages}) == 5
    row = digest_row(db)
    assert row["status"] == "sent" and json.loads(row["message_ids"]) == list(range(1000, 1005))

    # A third start finds the day done and posts nothing.
    assert (await finish(await run_driver(tmp_path, db, endpoint))).startswith("RESULT already")
    assert len(stub.messages) == 5


async def test_kill_9_then_late_restart_is_marked_uncertain_not_resent(
    tmp_path: Path, http_server: LoopbackServer
):
    stub, db = StubChannel(http_server), tmp_path / "digest.db"
    http_server.handler("/channels/1/messages", stub.handle)
    endpoint = http_server.url("/channels/1/messages")

    stub.hang_at = 1
    await kill_when(await run_driver(tmp_path, db, endpoint), stub.hung.is_set)
    stub.hang_at = None
    # "--resend-window -1": every unconfirmed claim is already too old for Discord's nonce
    # de-duplication, as after a restart hours later.
    line = await finish(await run_driver(tmp_path, db, endpoint, "--resend-window", "-1"))
    assert line.startswith("RESULT uncertain")
    assert len(stub.messages) == 1
    row = digest_row(db)
    assert row["status"] == "failed" and "uncertain" in row["error"]
