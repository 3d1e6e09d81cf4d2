"""Ingest throughput through the full path, and the plain-SQL floor under it.

* ``ingest``: articles/s of ``Newsdesk.ingest_sources`` (sniff, parse, clean,
  identify, cluster, store, index) from a JSON Lines file and from feed files
  (the real feeds under /work/shared/feeds and synthetic RSS), each into a
  fresh store; at 100k and above also JSON Lines into a copy of the big store.
* ``floor``: the same cleaned rows inserted by ``sqlite3.executemany`` into the
  same schema (same FTS5 triggers), 1,000 per transaction, no parsing or
  clustering; Newsdesk's JSON Lines rate is reported as a fraction of it.
"""

from __future__ import annotations

import asyncio
import shutil
import time
from pathlib import Path
from typing import Any

from bot.services import Newsdesk

from .common import Result, fmt_rate, ratio, spread, summary
from .context import Context, settings_for
from .corpus import iter_lines, real_feeds, split_jsonl, synthetic_feeds
from .stores import connect, file_size, floor_insert, rows_for

FLOOR_TARGET = 0.40
INTO_BIG_BATCH = 2_000
RSS_ARTICLES = 2_000


async def ingest_paths(
    database: Path | str, paths: list[Path], *, cluster: bool = True
) -> dict[str, Any]:
    """Ingest files into the store at ``database``; seconds and counts.

    ``cluster=False`` leaves the clusterer out (a diagnostic: what the rest costs).
    """
    desk = await Newsdesk.open(settings_for(database), database=database)
    if not cluster:
        desk.ingestor.clusterer = None
    try:
        start = time.perf_counter()
        outcome = await desk.ingest_sources([str(p) for p in paths])
        seconds = time.perf_counter() - start
    finally:
        await desk.close()
    r = outcome.report
    return {
        "seconds": seconds,
        "new": r.new,
        "updated": r.updated,
        "duplicates": r.duplicates,
        "failed": r.failed,
        "entries": r.new + r.updated + r.duplicates,
    }


async def stage_shares(database: Path, paths: list[Path]) -> dict[str, float]:
    """One ingest with cleaning and clustering timed apart: seconds per stage.

    ``clean`` is ``bot.ingest.pipeline.clean_entries`` (HTML/text cleaning,
    identity), ``cluster`` is ``StoryClusterer.plan`` (story lookups and grouping,
    outside the write transaction); ``rest`` is everything else (reading,
    parsing, identity lookups, inserts, story writes, FTS indexing).
    """
    import bot.ingest.pipeline as pipeline

    spent = {"clean": 0.0, "cluster": 0.0}
    original_clean = pipeline.clean_entries

    def timed_clean(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return original_clean(*args, **kwargs)
        finally:
            spent["clean"] += time.perf_counter() - start

    desk = await Newsdesk.open(settings_for(database), database=database)
    clusterer = desk.ingestor.clusterer
    original_plan = clusterer.plan

    async def timed_plan(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return await original_plan(*args, **kwargs)
        finally:
            spent["cluster"] += time.perf_counter() - start

    clusterer.plan = timed_plan  # type: ignore[method-assign]
    pipeline.clean_entries = timed_clean
    try:
        start = time.perf_counter()
        await desk.ingest_sources([str(p) for p in paths])
        total = time.perf_counter() - start
    finally:
        pipeline.clean_entries = original_clean
        await desk.close()
    return {**spent, "rest": total - spent["clean"] - spent["cluster"], "total": total}


def _fresh_runs(
    ctx: Context, paths: list[Path], label: str, *, cluster: bool = True
) -> dict[str, Any]:
    """``ctx.reps`` ingests of ``paths``, each into a new store."""
    runs = []
    with ctx.scratch() as tmp:
        for rep in range(ctx.reps):
            db = tmp / f"{label}-{rep}.db"
            run = asyncio.run(ingest_paths(db, paths, cluster=cluster))
            run["rate"] = run["entries"] / run["seconds"] if run["seconds"] else 0.0
            run["db_bytes"] = file_size(db)
            runs.append(run)
            ctx.log(f"  {label} rep {rep + 1}: {run['entries']:,} in {run['seconds']:.2f} s")
    return {
        "rate": summary([r["rate"] for r in runs]),
        "seconds": summary([r["seconds"] for r in runs]),
        "entries": runs[0]["entries"],
        "new": runs[0]["new"],
        "failed": runs[0]["failed"],
        "files": len(paths),
        "db_bytes_per_article": runs[-1]["db_bytes"] / max(runs[-1]["new"], 1),
    }


def jsonl_sample(ctx: Context, folder: Path) -> Path:
    """The first ``ctx.sample`` stored records as one JSON Lines file."""
    (path,) = split_jsonl(ctx.corpus(), folder, start=0, stop=ctx.sample, parts=1)
    return path


def _into_big(ctx: Context) -> dict[str, Any] | None:
    """JSON Lines batches of new articles into a copy of the big store."""
    if ctx.size < 100_000:
        return None
    big = ctx.store()
    runs = []
    with ctx.scratch() as tmp:
        work = tmp / "big.db"
        ctx.log(f"  copying the {ctx.size:,}-article store ...")
        shutil.copyfile(big, work)
        for rep in range(ctx.reps):
            start = ctx.size + rep * INTO_BIG_BATCH
            (part,) = split_jsonl(
                ctx.corpus(), tmp / f"batch{rep}", start=start, stop=start + INTO_BIG_BATCH, parts=1
            )
            run = asyncio.run(ingest_paths(work, [part]))
            runs.append(run["entries"] / run["seconds"])
            ctx.log(f"  into big store rep {rep + 1}: {run['entries']:,} in {run['seconds']:.2f} s")
    return {"rate": summary(runs), "batch": INTO_BIG_BATCH, "stored": ctx.size}


def run_ingest(ctx: Context) -> Result:
    result = Result("ingest", ctx.size)
    with ctx.scratch() as tmp:
        sample = jsonl_sample(ctx, tmp)
        ctx.log(f"ingest: JSON Lines, {ctx.sample:,} articles x {ctx.reps}")
        jsonl = _fresh_runs(ctx, [sample], "jsonl")
        ctx.log("ingest: the same without clustering (diagnostic)")
        bare = _fresh_runs(ctx, [sample], "jsonl-nocluster", cluster=False)
        ctx.log("ingest: time per stage (diagnostic)")
        stages = asyncio.run(stage_shares(tmp / "stages.db", [sample]))
    result.data["jsonl"] = jsonl
    result.data["jsonl_without_clustering"] = bare
    result.row(
        f"JSON Lines -> fresh store ({jsonl['entries']:,} articles)",
        spread(jsonl["rate"], lambda v: fmt_rate(v)),
    )
    result.row(
        "  same, clusterer switched off (diagnostic)",
        spread(bare["rate"], lambda v: fmt_rate(v)),
        note="the gap is the cost of story clustering",
    )
    result.data["jsonl_stages_s"] = stages
    result.row(
        "  share of ingest time: clean / cluster / rest",
        " / ".join(f"{stages[k] / stages['total']:.0%}" for k in ("clean", "cluster", "rest")),
        note="rest: read, parse, identify, insert, FTS index",
    )
    result.row("store size per article (pipeline)", f"{jsonl['db_bytes_per_article']:,.0f} B")

    feeds = real_feeds()
    if feeds:
        ctx.log(f"ingest: {len(feeds)} real feed files")
        real = _fresh_runs(ctx, feeds, "feeds")
        result.data["real_feeds"] = real
        result.row(
            f"real feed files ({real['files']} files, {real['entries']:,} entries)",
            spread(real["rate"], lambda v: fmt_rate(v)),
        )
    rss = synthetic_feeds(ctx.spec, articles=min(ctx.sample, RSS_ARTICLES))
    ctx.log(f"ingest: {len(rss)} synthetic RSS files")
    synth = _fresh_runs(ctx, rss, "rss")
    result.data["synthetic_rss"] = synth
    result.row(
        f"synthetic RSS ({synth['files']} files, {synth['entries']:,} items)",
        spread(synth["rate"], lambda v: fmt_rate(v)),
    )

    big = _into_big(ctx)
    if big is not None:
        result.data["jsonl_into_big"] = big
        result.row(
            f"JSON Lines -> store of {ctx.size:,} ({big['batch']:,}/batch)",
            spread(big["rate"], lambda v: fmt_rate(v)),
        )
    return result


def run_floor(ctx: Context, newsdesk_rate: float | None = None) -> Result:
    """Plain executemany of the same rows; Newsdesk's JSON Lines rate as a fraction of it."""
    result = Result("floor", ctx.size)
    rows = rows_for(iter_lines(ctx.corpus(), 0, ctx.sample))
    rates = []
    with ctx.scratch() as tmp:
        for rep in range(ctx.reps):
            db = connect(tmp / f"floor-{rep}.db")
            try:
                seconds = floor_insert(db, rows)
            finally:
                db.close()
            rates.append(len(rows) / seconds)
            ctx.log(f"  floor rep {rep + 1}: {len(rows):,} rows in {seconds:.2f} s")
    floor = summary(rates)
    result.data["floor"] = {"rate": floor, "rows": len(rows)}
    result.row(f"sqlite3 executemany + FTS5 ({len(rows):,} rows)", spread(floor, fmt_rate))
    if newsdesk_rate is None:
        with ctx.scratch() as tmp:
            nd = _fresh_runs(ctx, [jsonl_sample(ctx, tmp)], "jsonl")
        newsdesk_rate = float(nd["rate"]["median"])
    share = ratio(newsdesk_rate, float(floor["median"]))
    result.data["newsdesk_jsonl_rate"] = newsdesk_rate
    result.data["fraction_of_floor"] = share
    result.row(
        "Newsdesk JSON Lines / floor",
        f"{share:.0%}" if share is not None else "n/a",
        target=f">= {FLOOR_TARGET:.0%}",
        ok=None if share is None else share >= FLOOR_TARGET,
    )
    return result
