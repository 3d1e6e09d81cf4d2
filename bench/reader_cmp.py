"""Newsdesk vs the ``reader`` library (lemon24/reader) on the same feed files.

reader reads local files only when ``make_reader`` gets ``feed_root``; each
file is added by its path relative to that root, then ``update_feeds()``,
``enable_search()`` and ``update_search()`` (reader's FTS5 index). Newsdesk
ingests the same files through ``Newsdesk.ingest_sources`` (which also
clusters them into stories). Both start from an empty database each
repetition; the speed-up is reader's time over Newsdesk's for the same input.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from .common import Result, fmt_ratio, ratio, spread, summary
from .context import Context
from .corpus import FEEDS_DIR, real_feeds, synthetic_feeds
from .ingest import RSS_ARTICLES, ingest_paths

SPEEDUP_TARGET = 5.0


def make_reader(*args: Any, **kwargs: Any) -> Any:
    """``reader.make_reader``, with ``sgmllib`` supplied when only feedparser's fork is installed.

    reader 3.x vendors a feedparser that imports ``sgmllib`` (the sgmllib3k
    package); feedparser 6.0.12+ depends on ``feedparser-sgmllib`` instead,
    which has the same API under another name.
    """
    import importlib
    import sys
    import warnings

    # reader warns once per feed entry it skips (no id); the counts tell that.
    warnings.filterwarnings("ignore", module=r"reader\..*")

    try:
        importlib.import_module("sgmllib")
    except ImportError:
        sys.modules["sgmllib"] = importlib.import_module("feedparser_sgmllib")
    from reader import make_reader as make

    return make(*args, **kwargs)


def reader_ingest(database: Path, root: Path, paths: list[Path]) -> dict[str, Any]:
    """reader: add the files under ``root``, update, index for search; seconds and counts."""
    start = time.perf_counter()
    reader = make_reader(str(database), feed_root=str(root))
    try:
        for path in paths:
            reader.add_feed(str(path.relative_to(root)), exist_ok=True)
        reader.update_feeds()
        reader.enable_search()
        reader.update_search()
        seconds = time.perf_counter() - start
        entries = reader.get_entry_counts().total
    finally:
        reader.close()
    return {"seconds": seconds, "entries": entries}


def compare(ctx: Context, root: Path, paths: list[Path], label: str) -> dict[str, Any]:
    """Alternate reader and Newsdesk runs on ``paths`` (``ctx.reps`` each)."""
    runs: dict[str, list[dict[str, Any]]] = {"reader": [], "newsdesk": []}
    with ctx.scratch() as tmp:
        for rep in range(ctx.reps):
            r = reader_ingest(tmp / f"reader-{label}-{rep}.sqlite", root, paths)
            n = asyncio.run(ingest_paths(tmp / f"newsdesk-{label}-{rep}.db", paths))
            runs["reader"].append(r)
            runs["newsdesk"].append(n)
            ctx.log(
                f"  {label} rep {rep + 1}: reader {r['seconds']:.2f} s "
                f"({r['entries']:,} entries), newsdesk {n['seconds']:.2f} s "
                f"({n['entries']:,} entries)"
            )
    out: dict[str, Any] = {"files": len(paths)}
    for name, items in runs.items():
        out[name] = {
            "seconds": summary([i["seconds"] for i in items]),
            "entries": items[0]["entries"],
            "rate": summary([i["entries"] / i["seconds"] for i in items]),
        }
    out["speedup"] = ratio(
        float(out["reader"]["seconds"]["median"]), float(out["newsdesk"]["seconds"]["median"])
    )
    return out


def run_reader(ctx: Context) -> Result:
    result = Result("reader", ctx.size)
    feeds = real_feeds()
    sets: list[tuple[str, Path, list[Path]]] = []
    if feeds:
        sets.append(("real feeds", FEEDS_DIR, feeds))
    rss = synthetic_feeds(ctx.spec, articles=min(ctx.sample, RSS_ARTICLES))
    sets.append(("synthetic RSS", rss[0].parent, rss))
    for label, root, paths in sets:
        ctx.log(f"reader vs newsdesk: {label} ({len(paths)} files)")
        data = compare(ctx, root, paths, label.split()[0])
        result.data[label.replace(" ", "_")] = data
        for name in ("reader", "newsdesk"):
            d = data[name]
            result.row(
                f"{label}: {name} ({d['entries']:,} entries)",
                spread(d["seconds"], lambda v: f"{v:.2f} s"),
            )
        speedup = data["speedup"]
        result.row(
            f"{label}: Newsdesk speed-up over reader",
            fmt_ratio(speedup),
            target=f">= {SPEEDUP_TARGET:.0f}x",
            ok=None if speedup is None else speedup >= SPEEDUP_TARGET,
        )
    return result
