"""Peak resident memory of ingest and of the bot's services, and store size per article.

Each measurement runs in its own child process (``bench.child``) whose
``ru_maxrss`` is its peak resident set size.
"""

from __future__ import annotations

import shutil

from .common import Result, run_child_peak_rss, summary
from .context import Context
from .corpus import split_jsonl
from .ingest import INTO_BIG_BATCH, jsonl_sample
from .search import context_mix
from .stores import file_size


def _mib(value: float) -> str:
    return f"{value:,.0f} MiB"


def run_memory(ctx: Context) -> Result:
    result = Result("memory", ctx.size)
    store = ctx.store()
    with ctx.scratch() as tmp:
        sample = jsonl_sample(ctx, tmp)
        ctx.log(f"memory: ingest of {ctx.sample:,} articles into a fresh store")
        fresh = run_child_peak_rss(["ingest", str(tmp / "fresh.db"), str(sample)])
        result.data["ingest_fresh"] = fresh
        result.row(
            f"peak RSS, ingest {ctx.sample:,} (JSON Lines) into a fresh store",
            _mib(fresh["peak_rss_mib"]),
        )

        ctx.log(
            f"memory: ingest of {INTO_BIG_BATCH:,} new articles into a copy of the "
            f"{ctx.size:,} store"
        )
        work = tmp / "big.db"
        shutil.copyfile(store, work)
        (batch,) = split_jsonl(
            ctx.corpus(),
            tmp / "batch",
            start=ctx.size,
            stop=ctx.size + min(INTO_BIG_BATCH, ctx.reserve),
            parts=1,
        )
        big = run_child_peak_rss(["ingest", str(work), str(batch)])
        result.data["ingest_into_store"] = big
        result.row(
            f"peak RSS, ingest into the {ctx.size:,}-article store", _mib(big["peak_rss_mib"])
        )

    ctx.log(f"memory: the bot's services on {ctx.size:,} articles")
    queries = [q.text for q in context_mix(ctx)]
    runs = [run_child_peak_rss(["services", str(store), *queries]) for _ in range(ctx.reps)]
    rss = summary([r["peak_rss_mib"] for r in runs])
    result.data["services"] = {"peak_rss_mib": rss, "runs": runs}
    result.row(
        f"peak RSS, services (search, /news date, digest) at {ctx.size:,}",
        _mib(float(rss["median"])),
    )

    size = file_size(store)
    result.data["store_bytes"] = size
    result.data["store_bytes_per_article"] = size / ctx.size
    result.row(
        f"store size ({ctx.size:,} articles, bulk-built)",
        f"{size / 2**20:,.0f} MiB = {size / ctx.size:,.0f} B/article",
    )
    return result
