"""Real-shaped archives, one topic against many, and how long writers hold the lock.

Two JSON Lines archives are built from ``shared/clustering/ecbplus-dev.jsonl``
by recombining the sentences of real labelled news: *mixed* draws each
article's event at random among all events, *one topic* always takes the
event with the most coverage. Both have 60 outlets and 5,000 articles a day
in publication order. Each is ingested by ``Newsdesk.ingest_sources`` (what
``newsdesk ingest`` runs) into a fresh store; then ``stories rebuild`` runs
on the one-topic store.

Figures: articles/s of each ingest and their ratio (target: one topic at
least half the mixed rate), and the longest time any write transaction held
the database lock in each phase (target: about a second at most, so a second
writer, the bot's poll or a digest, never waits long). Labels are never
given to the product.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .common import Result, fmt_ratio, ratio
from .context import Context

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "clustering" / "ecbplus-dev.jsonl"
OUTLETS = 60
PER_DAY = 5_000
SENTENCES = 6
RATIO_TARGET = 0.5
FLOOR_TARGET = 0.40
HOLD_TARGET_S = 1.0


def _events() -> dict[str, tuple[list[str], list[str]]]:
    """label -> (titles, sentences) of the dev set's articles."""
    titles: dict[str, list[str]] = defaultdict(list)
    sentences: dict[str, list[str]] = defaultdict(list)
    with SOURCE.open(encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            titles[row["label"]].append(row["title"])
            text = row.get("text") or ""
            sentences[row["label"]] += [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s) > 30]
    return {k: (titles[k], sentences[k]) for k in titles if sentences[k]}


def write_archive(path: Path, count: int, *, one_topic: bool, seed: int) -> None:
    events = _events()
    labels = sorted(events)
    biggest = max(labels, key=lambda k: len(events[k][1]))
    rng = random.Random(seed)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    step = 86_400 / PER_DAY
    with path.open("w", encoding="utf-8") as fh:
        for i in range(count):
            titles, sentences = events[biggest if one_topic else rng.choice(labels)]
            outlet = rng.randrange(OUTLETS)
            record = {
                "url": f"https://outlet{outlet}.example/news/{i}",
                "source": f"Outlet {outlet}",
                "title": rng.choice(titles),
                "text": " ".join(rng.sample(sentences, min(SENTENCES, len(sentences)))),
                "published_at": (start + timedelta(seconds=i * step)).isoformat(),
            }
            fh.write(json.dumps(record) + "\n")


class _Holds(logging.Handler):
    """Collects the lock-hold times ``bot.store.db`` logs for each write transaction."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"held the database lock for ([\d.]+) s", record.getMessage())
        if found:
            self.seconds.append(float(found.group(1)))


async def _ingest_and_rebuild(path: Path, database: Path, *, rebuild: bool) -> dict[str, Any]:
    import bot.store.db as store_db
    from bot.config import Settings
    from bot.services import Newsdesk

    holds = _Holds()
    logger = logging.getLogger("bot.store.db")
    previous_level, previous_hold = logger.level, store_db.HOLD_LOG_SECONDS
    logger.setLevel(logging.DEBUG)
    logger.addHandler(holds)
    store_db.HOLD_LOG_SECONDS = 0.0  # log every write transaction
    out: dict[str, Any] = {}
    try:
        settings = Settings(_env_file=None, database=str(database))  # type: ignore[call-arg]
        desk = await Newsdesk.open(settings, database=database)
        try:
            began = time.perf_counter()
            outcome = await desk.ingest_sources([str(path)])
            elapsed = time.perf_counter() - began
            stored = outcome.report.new
            out["ingest"] = {
                "articles": stored,
                "seconds": elapsed,
                "rate": stored / elapsed if elapsed else None,
                "max_hold_s": max(holds.seconds, default=0.0),
                "transactions": len(holds.seconds),
            }
            if rebuild:
                holds.seconds.clear()
                began = time.perf_counter()
                await desk.rebuild_stories()
                out["rebuild"] = {
                    "seconds": time.perf_counter() - began,
                    "max_hold_s": max(holds.seconds, default=0.0),
                    "transactions": len(holds.seconds),
                }
        finally:
            await desk.close()
    finally:
        logger.removeHandler(holds)
        logger.setLevel(previous_level)
        store_db.HOLD_LOG_SECONDS = previous_hold
    return out


def _floor_rate(archive: Path, database: Path) -> float:
    """Rows/s of the archive's cleaned rows inserted by ``executemany`` into a fresh
    store of the same schema (the floor of ``bench floor``, on these rows)."""
    from .stores import connect, floor_insert, rows_for

    rows = rows_for(archive.read_bytes().splitlines())
    for leftover in database.parent.glob(f"{database.name}*"):
        leftover.unlink()
    db = connect(database)
    try:
        seconds = floor_insert(db, rows)
    finally:
        db.close()
    return len(rows) / seconds


def run_writers(ctx: Context) -> Result:
    result = Result("writers", ctx.size)
    count = ctx.sample
    work = ctx.cache / "writers"
    work.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {"articles": count}
    for name, one_topic in (("mixed", False), ("one_topic", True)):
        archive = work / f"{name}-{count}-{ctx.seed}.jsonl"
        if not archive.exists():
            write_archive(archive, count, one_topic=one_topic, seed=ctx.seed)
        database = work / f"{name}.db"
        for leftover in work.glob(f"{name}.db*"):
            leftover.unlink()
        ctx.log(f"writers: {name} archive of {count:,} real-shaped articles")
        data[name] = asyncio.run(_ingest_and_rebuild(archive, database, rebuild=one_topic))
        ingest = data[name]["ingest"]
        label = "one topic" if one_topic else "mixed events"
        result.row(f"JSON Lines ingest, {label}", f"{ingest['rate']:,.0f} articles/s")
        result.row(
            f"  longest write-lock hold ({ingest['transactions']} transactions)",
            f"{ingest['max_hold_s']:.2f} s",
            target=f"<= {HOLD_TARGET_S:.0f} s",
            ok=ingest["max_hold_s"] <= HOLD_TARGET_S,
        )
    floor = _floor_rate(work / f"mixed-{count}-{ctx.seed}.jsonl", work / "floor.db")
    data["floor"] = floor
    result.row(
        "plain-SQLite floor on the mixed archive's rows (executemany + FTS5)",
        f"{floor:,.0f} articles/s",
    )
    share_floor = ratio(data["mixed"]["ingest"]["rate"], floor)
    data["fraction_of_floor"] = share_floor
    result.row(
        "  mixed ingest / floor",
        "-" if share_floor is None else f"{share_floor:.0%}",
        target=f">= {FLOOR_TARGET:.0%}",
        ok=None if share_floor is None else share_floor >= FLOOR_TARGET,
    )
    share = ratio(data["one_topic"]["ingest"]["rate"], data["mixed"]["ingest"]["rate"])
    data["ratio"] = share
    result.row(
        "one topic / mixed rate",
        fmt_ratio(share),
        target=f">= {RATIO_TARGET}x",
        ok=None if share is None else share >= RATIO_TARGET,
    )
    rebuild = data["one_topic"]["rebuild"]
    result.row(
        f"stories rebuild, one topic: longest write-lock hold ({rebuild['transactions']} tx)",
        f"{rebuild['max_hold_s']:.2f} s",
        target=f"<= {HOLD_TARGET_S:.0f} s",
        ok=rebuild["max_hold_s"] <= HOLD_TARGET_S,
    )
    result.data.update(data)
    return result
