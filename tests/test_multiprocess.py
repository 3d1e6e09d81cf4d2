"""Several real processes on one store, on both backends (issue 15).

``python -m bot ingest`` processes importing overlapping archives at once, one
killed with SIGKILL half-way; ``tests/hostile/digest_driver.py`` (the real
:class:`bot.delivery.Delivery`) posting one digest from two processes at once,
and from a second process after the first was killed mid-send. Results are
read back through the store API, whichever the backend.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.store import digests as digest_store
from bot.store import open_db
from bot.store.transfer import row_counts
from tests.hostile.digest_driver import CHANNEL, DAY
from tests.test_crash_recovery import (
    StubChannel,
    batch_boundaries,
    finish,
    kill_when,
    run_driver,
    start_newsdesk,
    write_jsonl,
)

if TYPE_CHECKING:
    from tests.httpserver import LoopbackServer

BACKENDS = ("sqlite", "postgresql")

pytest_plugins = ["tests.httpserver"]
pytestmark = pytest.mark.slow


async def _consistency(store_url: str) -> dict[str, Any]:
    """What the store holds: counts, and the story invariants two writers could break."""
    db = await open_db(store_url)
    try:
        counts = await row_counts(db)
        ((urls,),) = await db.execute_fetchall("SELECT COUNT(DISTINCT url) FROM articles")
        ((unstoried,),) = await db.execute_fetchall(
            "SELECT COUNT(*) FROM articles WHERE story_id IS NULL"
        )
        ((wrong_counts,),) = await db.execute_fetchall(
            "SELECT COUNT(*) FROM stories s WHERE s.article_count !="
            " (SELECT COUNT(*) FROM articles a WHERE a.story_id = s.id)"
        )
        ((empty,),) = await db.execute_fetchall(
            "SELECT COUNT(*) FROM stories s WHERE NOT EXISTS"
            " (SELECT 1 FROM articles a WHERE a.story_id = s.id)"
        )
        ((documents,),) = await db.execute_fetchall("SELECT df FROM term_df WHERE term = ''")
        ids = {int(r[0]): r[1] for r in await db.execute_fetchall("SELECT id, url FROM articles")}
    finally:
        await db.close()
    return {
        "articles": counts["articles"],
        "urls": int(urls),
        "unstoried": int(unstoried),
        "wrong_counts": int(wrong_counts),
        "empty_stories": int(empty),
        "documents": int(documents),
        "ids": ids,
    }


def _committed(store_url: str) -> dict[int, str]:
    """``{id: url}`` committed so far, read by a separate connection (from a thread:
    the caller polls it synchronously while the test's loop runs)."""

    async def read() -> dict[int, str]:
        try:
            db = await open_db(store_url, create=False)
        except Exception:  # noqa: BLE001 - the store may not exist yet
            return {}
        try:
            rows = await db.execute_fetchall("SELECT id, url FROM articles")
            return {int(r[0]): r[1] for r in rows}
        finally:
            await db.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, read()).result()


def _archive(path: Path, start: int, stop: int) -> Path:
    """Articles ``start..stop`` of one shared numbering (overlaps share URLs and text)."""
    lines = []
    for i in range(start, stop):
        topic = i % 40
        lines.append(
            json.dumps(
                {
                    "title": f"Council votes on the harbour plan, part {topic}",
                    "text": (
                        f"The city council of district {topic} voted on the harbour plan today. "
                        f"Report number {i} from the regional desk, with quotes from residents "
                        f"of district {topic} and the port authority."
                    ),
                    "url": f"https://multi.example/a/{i}",
                    "source": f"Outlet {i % 9}",
                    "published_at": f"2025-06-{1 + i % 20:02d}T10:00:00Z",
                }
            )
        )
    path.write_text("\n".join(lines) + "\n")
    return path


async def _prepare_store(store_url: str) -> None:
    """Create the store before the processes race (as ``newsdesk`` on first use would)."""
    db = await open_db(store_url)
    await db.close()


async def test_two_ingest_processes_on_overlapping_archives_store_each_article_once(
    tmp_path: Path, store_url: str
) -> None:
    first = _archive(tmp_path / "first.jsonl", 0, 1200)
    second = _archive(tmp_path / "second.jsonl", 600, 1800)  # 600 articles in both
    await _prepare_store(store_url)
    procs = [
        await start_newsdesk(tmp_path, store_url, "ingest", str(first)),
        await start_newsdesk(tmp_path, store_url, "ingest", str(second)),
    ]
    outputs = await asyncio.gather(*(asyncio.wait_for(p.communicate(), 300) for p in procs))
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-2000:]
    new = sum(int(out.decode().split(" new")[0].split()[-1]) for out, _ in outputs)
    assert new == 1800  # between them, each article stored by exactly one process

    state = await _consistency(store_url)
    assert state["articles"] == state["urls"] == 1800
    assert state["unstoried"] == 0 and state["empty_stories"] == 0
    assert state["wrong_counts"] == 0  # every story counts exactly its articles
    assert state["documents"] == 1800  # the clustering vocabulary counted each article once


async def test_kill_9_during_an_ingest_then_restart_loses_nothing(
    tmp_path: Path, store_url: str
) -> None:
    source = tmp_path / "archive.jsonl"
    unique = write_jsonl(source)
    await _prepare_store(store_url)

    first = await start_newsdesk(tmp_path, store_url, "ingest", str(source))
    seen = await kill_when(
        first, lambda: (rows := _committed(store_url)) and len(rows) >= 1000 and rows
    )
    assert len(seen) < unique, "the import finished before it could be killed"
    after_kill = _committed(store_url)
    assert set(seen.items()) <= set(after_kill.items())
    assert len(after_kill) in batch_boundaries(source)  # whole batches only

    second = await start_newsdesk(tmp_path, store_url, "ingest", str(source))
    out, err = await asyncio.wait_for(second.communicate(), timeout=300)
    assert second.returncode == 0, err.decode()[-2000:]
    assert f"{unique - len(after_kill)} new" in out.decode()
    state = await _consistency(store_url)
    assert state["articles"] == state["urls"] == unique
    assert set(after_kill.items()) <= set(state["ids"].items())  # same ids, same rows
    assert state["unstoried"] == 0 and state["wrong_counts"] == 0


async def _digest_record(store_url: str) -> Any:
    db = await open_db(store_url)
    try:
        return await digest_store.get_digest(db, CHANNEL.channel_id, DAY)
    finally:
        await db.close()


async def _channel_and_store(
    http_server: LoopbackServer, store_url: str
) -> tuple[StubChannel, str]:
    """The stub of Discord's create-message route, and a store ready for the drivers."""
    stub = StubChannel(http_server)
    http_server.handler("/channels/1/messages", stub.handle)
    await _prepare_store(store_url)
    return stub, http_server.url("/channels/1/messages")


async def test_a_digest_killed_mid_send_is_finished_by_another_process_once(
    tmp_path: Path, store_url: str, http_server: LoopbackServer
) -> None:
    stub, endpoint = await _channel_and_store(http_server, store_url)

    stub.hang_at = 3  # the third message reaches the channel; its answer never comes
    first = await run_driver(tmp_path, store_url, endpoint)  # type: ignore[arg-type]
    await kill_when(first, stub.hung.is_set)
    record = await _digest_record(store_url)
    assert record is not None and record.status == "claimed"
    assert record.message_ids == [1000, 1001]

    stub.hang_at = None
    line = await finish(await run_driver(tmp_path, store_url, endpoint))  # type: ignore[arg-type]
    assert line == "RESULT sent 1000,1001,1002,1003,1004"
    assert [m["content"] for m in stub.messages] == [f"part {i} of 5" for i in range(1, 6)]
    record = await _digest_record(store_url)
    assert record is not None and record.status == "sent"


async def test_two_processes_delivering_one_digest_at_once_post_it_once(
    tmp_path: Path, store_url: str, http_server: LoopbackServer
) -> None:
    stub, endpoint = await _channel_and_store(http_server, store_url)

    drivers = [await run_driver(tmp_path, store_url, endpoint) for _ in range(2)]  # type: ignore[arg-type]
    lines = await asyncio.gather(*(finish(d) for d in drivers))
    assert sorted(line.split()[1] for line in lines) in (["already", "sent"], ["sent", "sent"])
    # However the two met (one claimed and the other found it claimed or sent, or
    # both sent with the same nonces), each part reached the channel once.
    assert [m["content"] for m in stub.messages] == [f"part {i} of 5" for i in range(1, 6)]
    record = await _digest_record(store_url)
    assert record is not None and record.status == "sent"
    assert record.message_ids == [1000, 1001, 1002, 1003, 1004]
