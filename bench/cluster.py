"""Clustering cost per new article with 10k vs all ``size`` articles already stored.

The same batch of new articles (the records right after the stored ones, so
they fall at the end of the timeline, as new news does) is inserted and
clustered inside a transaction that is then rolled back, so the cached store
is left as it was and every repetition sees the same state. Two ways are
timed: ``StoryClusterer.assign`` one article at a time (a feed poll that
brings one entry) and ``assign_batch`` in feed-sized batches (what the
ingest pipeline does). The small store holds the 10k articles just before
the batch, so the stories in the time window are comparable and only the
history differs.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from bot.clustering import StoryClusterer
from bot.models import Article, Entry
from bot.store import open_db

from .common import Result, fmt_ratio, ratio, spread, summary
from .context import SMALL_STORE, Context
from .corpus import iter_entries
from .stores import ARTICLE_COLUMNS, article_row, clean

RATIO_TARGET = 1.5
BATCH = 300
FEED_BATCH = 50


def new_articles(ctx: Context, count: int) -> list[Article]:
    out: list[Article] = []
    entries: list[Entry] = list(iter_entries(ctx.corpus(), ctx.size, ctx.size + count))
    for entry in entries:
        done = clean(entry)
        if done is not None:
            out.append(done[0])
    return out


async def assign_cost(path: Path, articles: list[Article], *, reps: int, mode: str) -> list[float]:
    """Milliseconds per article of clustering ``articles`` into the store, per repetition."""
    db = await open_db(path)
    clusterer = StoryClusterer()
    per_article: list[float] = []
    try:
        rows = await db.execute_fetchall("SELECT coalesce(max(id), 0) FROM articles")
        first_id = int(rows[0][0]) + 1
        items = [(first_id + i, a) for i, a in enumerate(articles)]
        for rep in range(reps + 1):  # the first run warms the page cache
            await db.execute("BEGIN IMMEDIATE")
            try:
                await db.executemany(
                    f"INSERT INTO articles (id, {ARTICLE_COLUMNS}) VALUES "
                    "(?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [(i, *article_row(a, a.published_at)) for i, a in items],
                )
                start = time.perf_counter()
                if mode == "single":
                    for article_id, article in items:
                        await clusterer.assign(db, article_id, article)
                else:
                    for at in range(0, len(items), FEED_BATCH):
                        await clusterer.assign_batch(db, items[at : at + FEED_BATCH])
                elapsed = time.perf_counter() - start
            finally:
                await db.execute("ROLLBACK")
            if rep:
                per_article.append(elapsed / len(items) * 1000)
    finally:
        await db.close()
    return per_article


def run_cluster(ctx: Context) -> Result:
    result = Result("cluster", ctx.size)
    count = min(BATCH, ctx.reserve)
    articles = new_articles(ctx, count)
    small_n = min(SMALL_STORE, ctx.size)
    stores = {
        "small": (small_n, ctx.store(ctx.size - small_n, ctx.size)),
        "large": (ctx.size, ctx.store()),
    }
    data: dict[str, Any] = {"batch": len(articles), "feed_batch": FEED_BATCH}
    for mode in ("single", "batch"):
        data[mode] = {}
        for key, (stored, path) in stores.items():
            ctx.log(f"cluster: {mode}, {len(articles)} new articles vs {stored:,} stored")
            ms = asyncio.run(assign_cost(path, articles, reps=ctx.reps, mode=mode))
            data[mode][key] = {"stored": stored, "ms_per_article": summary(ms)}
        small = data[mode]["small"]["ms_per_article"]
        large = data[mode]["large"]["ms_per_article"]
        label = "assign (one at a time)" if mode == "single" else f"assign_batch ({FEED_BATCH})"
        for key in ("small", "large"):
            d = data[mode][key]
            result.row(
                f"{label}, {d['stored']:,} stored",
                spread(d["ms_per_article"], lambda v: f"{v:.2f} ms") + "/article",
            )
        share = ratio(float(large["median"]), float(small["median"]))
        data[mode]["ratio"] = share
        result.row(
            f"{label}: {ctx.size:,} / {small_n:,} stored",
            fmt_ratio(share),
            target=f"<= {RATIO_TARGET}x",
            ok=None if share is None else share <= RATIO_TARGET,
        )
    result.data.update(data)
    return result
