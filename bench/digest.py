"""Digest build time for a busy day, and the service calls behind the slash commands.

The day is the last complete UTC day of the stored data (the corpus runs at
5,000 articles a day). ``Newsdesk.build_digest`` is timed for a channel whose
digest time is midnight UTC, so its window is exactly that day. The slash
commands' service calls are timed on the same store: ``/news search`` is
``Newsdesk.search`` (the query mix of :mod:`bench.search`) and ``/news date``
is ``Newsdesk.parse_dates`` + ``Newsdesk.stories_between``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

from bot.config import DigestChannel
from bot.services import Newsdesk

from .common import Result, fmt_ms, latency_summary, spread, summary
from .context import Context, settings_for
from .search import context_mix

DATE_TEXTS = ("yesterday", "today", "last week")


async def last_full_day(desk: Newsdesk) -> tuple[datetime, datetime, int]:
    """``(start, end, articles)`` of the last complete UTC day in the store."""
    newest = await desk.newest_article_time()
    if newest is None:
        raise ValueError("the store is empty")
    end = newest.replace(hour=0, minute=0, second=0, microsecond=0)
    if end == newest.replace(microsecond=0) or (newest - end) < timedelta(hours=1):
        end -= timedelta(days=1)
    start = end - timedelta(days=1)
    if start < (await _oldest(desk)):
        start, end = await _oldest(desk), newest + timedelta(seconds=1)
    rows = await desk.db.execute_fetchall(
        "SELECT count(*) FROM articles WHERE published_at >= ? AND published_at < ?",
        (int(start.timestamp()), int(end.timestamp())),
    )
    return start, end, int(rows[0][0])


async def _oldest(desk: Newsdesk) -> datetime:
    rows = await desk.db.execute_fetchall("SELECT min(published_at) FROM articles")
    return datetime.fromtimestamp(rows[0][0], UTC)


async def digest_times(path: Path, reps: int) -> dict[str, Any]:
    desk = await Newsdesk.open(settings_for(path), database=path)
    try:
        start, end, articles = await last_full_day(desk)
        channel = DigestChannel(channel_id=1, time=dtime(end.hour, end.minute), timezone="UTC")
        day = end.date()
        runs: list[float] = []
        stories = 0
        for rep in range(reps + 1):
            t = time.perf_counter()
            digest = await desk.build_digest(channel, day, now=end)
            elapsed = time.perf_counter() - t
            stories = len(digest.items)
            if rep:
                runs.append(elapsed * 1000)
        rows = await desk.db.execute_fetchall(
            "SELECT count(DISTINCT story_id) FROM articles WHERE published_at >= ?"
            " AND published_at < ?",
            (int(start.timestamp()), int(end.timestamp())),
        )
    finally:
        await desk.close()
    return {
        "ms": summary(runs),
        "day": day.isoformat(),
        "articles": articles,
        "stories_in_window": int(rows[0][0]),
        "digest_items": stories,
    }


async def slash_times(path: Path, queries: list[Any], reps: int) -> dict[str, Any]:
    desk = await Newsdesk.open(settings_for(path), database=path)
    search_s: list[float] = []
    date_s: list[float] = []
    try:
        newest = await desk.newest_article_time()
        assert newest is not None
        now = newest + timedelta(hours=1)
        for rep in range(reps + 1):
            for q in queries:
                t = time.perf_counter()
                await desk.search(
                    q.text, date_from=q.date_from, date_to=q.date_to, source=q.source, now=now
                )
                if rep:
                    search_s.append(time.perf_counter() - t)
            for text in DATE_TEXTS:
                t = time.perf_counter()
                start, end = desk.parse_dates(text, now=now)
                await desk.stories_between(start, end, limit=25)
                if rep:
                    date_s.append(time.perf_counter() - t)
    finally:
        await desk.close()
    return {"search": latency_summary(search_s), "date": latency_summary(date_s)}


def run_digest(ctx: Context) -> Result:
    result = Result("digest", ctx.size)
    store = ctx.store()
    reps = max(ctx.reps, 3)
    ctx.log(f"digest: last full day of {ctx.size:,} stored")
    dg = asyncio.run(digest_times(store, reps))
    result.data["digest"] = dg
    result.row(
        f"build_digest, day of {dg['articles']:,} articles ({dg['stories_in_window']:,} stories)",
        spread(dg["ms"], fmt_ms),
    )
    ctx.log("slash commands: /news search and /news date service calls")
    mix = context_mix(ctx)
    sl = asyncio.run(slash_times(store, mix, reps))
    result.data["slash"] = sl
    for name, label in (
        ("search", "/news search (Newsdesk.search)"),
        ("date", "/news date (parse_dates + stories_between)"),
    ):
        s = sl[name]
        result.row(
            f"{label} p50 / p95 ({ctx.size:,})", f"{fmt_ms(s['p50_ms'])} / {fmt_ms(s['p95_ms'])}"
        )
    return result
