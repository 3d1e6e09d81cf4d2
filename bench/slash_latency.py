"""Slash-command latency of the real bot over the loopback Discord, on a large store.

Usage: ``python bench/slash_latency.py [--articles 100000] [--rounds 40] [--db PATH]``

Builds a store of ``--articles`` articles (about five per story, spread over
60 days, plain SQL inserts; the FTS index fills through the schema's
triggers), starts the fake Discord from ``tests/fakediscord`` and the
unmodified bot against it, then sends each command ``--rounds`` times in turn
and reports, per command and overall, p50/p95 of:

* first response: INTERACTION_CREATE sent -> first callback received (the
  3-second deadline Discord enforces; every command defers first), and
* complete: INTERACTION_CREATE sent -> the result is in the message.

A ``--db`` that already holds articles is reused as it is.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.config import load_settings  # noqa: E402
from bot.discordbot.app import NewsdeskBot  # noqa: E402
from bot.services import Newsdesk  # noqa: E402
from bot.store import open_db, transaction  # noqa: E402
from tests.fakediscord import FakeDiscord  # noqa: E402

WORDS = (
    "election budget storm flood wildfire court ruling strike vaccine market inflation "
    "rates bank energy climate summit border trade tariff election protest police school "
    "hospital rail airport bridge drought harvest satellite launch comet museum festival "
    "football final transfer coach record heatwave earthquake volcano ceasefire treaty "
    "parliament minister senate mayor council housing rent wages jobs factory chip battery"
).split()
SOURCES = [f"Outlet {n}" for n in range(40)]
DAY = 86400


def _title(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(7)).capitalize()


async def build_store(path: Path, articles: int, seed: int = 7) -> int:
    """Fill an empty store with ``articles`` articles; returns the number of stories."""
    db = await open_db(path)
    try:
        async with db.execute("SELECT count(*) FROM articles") as cur:
            (have,) = await cur.fetchone()
        if have:
            async with db.execute("SELECT count(*) FROM stories") as cur:
                return (await cur.fetchone())[0]
        rng = random.Random(seed)
        now = int(time.time())
        stories = max(1, articles // 5)
        story_rows, article_rows = [], []
        for sid in range(1, stories + 1):
            first = now - rng.randrange(60 * DAY)
            story_rows.append((sid, first, first + 3600, 5, 5, _title(rng)))
        for aid in range(1, articles + 1):
            sid = rng.randrange(1, stories + 1)
            published = story_rows[sid - 1][1] + rng.randrange(3600)
            title = _title(rng)
            body = " ".join(rng.choice(WORDS) for _ in range(60))
            article_rows.append(
                (
                    aid,
                    f"https://news{aid % 97}.example/a/{aid}",
                    f"h{aid}",
                    title,
                    body,
                    rng.choice(SOURCES),
                    published,
                    published,
                    sid,
                )
            )
        async with transaction(db):
            await db.executemany(
                "INSERT INTO stories (id, first_published_at, last_published_at, article_count,"
                " source_count, headline) VALUES (?, ?, ?, ?, ?, ?)",
                story_rows,
            )
            await db.executemany(
                "INSERT INTO articles (id, url, content_hash, title, body, source, published_at,"
                " fetched_at, story_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                article_rows,
            )
        return stories
    finally:
        await db.close()


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def measure(db_path: Path, stories: int, rounds: int, seed: int = 11) -> dict[str, Any]:
    rng = random.Random(seed)
    fake = FakeDiscord(global_rate_limit=None)
    await fake.start()
    guild = fake.add_guild("Bench", channels=["news"])
    settings = load_settings(env_file=None, database=db_path, guild_ids=[guild.id])
    nd = await Newsdesk.open(settings)
    bot = NewsdeskBot(settings, nd, poll_feeds=False, schedule=False, guild_ready_timeout=0.05)
    commands = {
        "news search": lambda: {"query": f"{rng.choice(WORDS)} {rng.choice(WORDS)}"},
        "news search source": lambda: {"query": rng.choice(WORDS), "source": rng.choice(SOURCES)},
        "news latest": lambda: {"count": 10},
        "news date": lambda: {"when": f"{rng.randrange(1, 50)} days ago"},
        "news story": lambda: {"id": rng.randrange(1, stories + 1)},
    }
    first: dict[str, list[float]] = {name: [] for name in commands}
    done: dict[str, list[float]] = {name: [] for name in commands}
    try:
        async with fake.running(bot):
            for _ in range(rounds):
                for name, options in commands.items():
                    path = "news search" if name.startswith("news search") else name
                    start = time.monotonic()
                    handle = await fake.send_command(path, options())
                    await handle.wait_response(timeout=10)
                    await handle.wait_edit(1, timeout=10)
                    first[name].append(handle.latency or 0.0)
                    done[name].append(time.monotonic() - start)
    finally:
        await nd.close()
        await fake.close()
    problems = fake.problems()
    return {"first": first, "done": done, "problems": problems}


def report(result: dict[str, Any], articles: int) -> None:
    print(f"store: {articles} articles; times in milliseconds (p50 / p95 / max)")
    print(f"{'command':<22}{'first response':>26}{'complete':>26}")
    everything_first: list[float] = []
    everything_done: list[float] = []
    for name, values in result["first"].items():
        full = result["done"][name]
        everything_first += values
        everything_done += full
        print(f"{name:<22}{_fmt(values):>26}{_fmt(full):>26}")
    print(f"{'all':<22}{_fmt(everything_first):>26}{_fmt(everything_done):>26}")
    print(f"mean complete: {statistics.mean(everything_done) * 1000:.1f} ms")
    if result["problems"]:
        print("fake Discord problems:", *result["problems"], sep="\n  ")


def _fmt(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{_pct(ms, 0.5):.1f} / {_pct(ms, 0.95):.1f} / {max(ms):.1f}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--db", type=Path, help="store to build or reuse (default: a temp file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = args.db or Path(tmp) / "bench.db"
        started = time.monotonic()
        stories = await build_store(db_path, args.articles)
        print(f"store ready in {time.monotonic() - started:.1f} s ({stories} stories)")
        result = await measure(db_path, stories, args.rounds)
        report(result, args.articles)


if __name__ == "__main__":
    asyncio.run(main())
