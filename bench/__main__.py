"""``python -m bench {all|ingest|reader|floor|search|cluster|digest|memory|writers|backends|report} [--size 100k]``.

Prints a table (rich) and writes ``bench/results/<benchmark>-<size>.json`` for
each benchmark run, plus ``bench/results/all-<size>.json`` and a Markdown
copy of the table for ``all``. Generated corpora and stores are cached under
``bench/.cache/``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bot.allocator import limit_arenas

from .common import RESULTS, Result, Row, machine_info, markdown_table, render_table, write_result
from .context import Context
from .corpus import size_label

BENCHMARKS = (
    "ingest",
    "reader",
    "floor",
    "search",
    "cluster",
    "digest",
    "memory",
    "writers",
    "backends",
)


def _runner(name: str) -> Callable[[Context, dict[str, Result]], Result]:
    """The benchmark called ``name`` (imported late: each pulls in its own deps)."""
    if name == "ingest":
        from .ingest import run_ingest

        return lambda ctx, _done: run_ingest(ctx)
    if name == "floor":
        from .ingest import run_floor

        def floor(ctx: Context, done: dict[str, Result]) -> Result:
            ingest = done.get("ingest")
            rate = None
            if ingest is not None:
                rate = float(ingest.data["jsonl"]["rate"]["median"])
            return run_floor(ctx, rate)

        return floor
    if name == "reader":
        from .reader_cmp import run_reader

        return lambda ctx, _done: run_reader(ctx)
    if name == "search":
        from .search import run_search

        return lambda ctx, _done: run_search(ctx)
    if name == "cluster":
        from .cluster import run_cluster

        return lambda ctx, _done: run_cluster(ctx)
    if name == "digest":
        from .digest import run_digest

        return lambda ctx, _done: run_digest(ctx)
    if name == "memory":
        from .memory import run_memory

        return lambda ctx, _done: run_memory(ctx)
    if name == "writers":
        from .writers import run_writers

        return lambda ctx, _done: run_writers(ctx)
    if name == "backends":
        from .backends import run_backends

        return lambda ctx, _done: run_backends(ctx)
    raise ValueError(f"unknown benchmark {name!r}")


def run(names: list[str], ctx: Context, *, out_dir: Path = RESULTS) -> list[Result]:
    """Run benchmarks in order; write each one's JSON; return their results."""
    done: dict[str, Result] = {}
    label = size_label(ctx.size)
    for name in names:
        start = time.perf_counter()
        result = _runner(name)(ctx, done)
        result.data["elapsed_s"] = time.perf_counter() - start
        write_result(result, out_dir=out_dir, suffix=label)
        done[name] = result
    return list(done.values())


def write_summary(results: list[Result], ctx: Context, *, out_dir: Path = RESULTS) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    label = size_label(ctx.size)
    path = out_dir / f"all-{label}.json"
    path.write_text(
        json.dumps(
            {
                "size": ctx.size,
                "reps": ctx.reps,
                "machine": machine_info(),
                "results": [r.as_json() for r in results],
            },
            indent=2,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    (out_dir / f"all-{label}.md").write_text(markdown_table(results) + "\n", encoding="utf-8")
    return path


def load_results(size: int, *, out_dir: Path = RESULTS) -> list[Result]:
    """The latest saved result of each benchmark at ``size`` (for ``report``)."""
    found: list[Result] = []
    for name in BENCHMARKS:
        path = out_dir / f"{name}-{size_label(size)}.json"
        if not path.exists():
            continue
        saved = json.loads(path.read_text(encoding="utf-8"))
        result = Result(name, saved["size"], data=saved["data"])
        result.rows = [Row(**row) for row in saved["rows"]]
        found.append(result)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "benchmark",
        choices=("all", *BENCHMARKS, "report"),
        help="report: print the saved results of --size as Markdown",
    )
    parser.add_argument("--size", default="10k", help="stored articles: 10k, 100k, 1m or a count")
    parser.add_argument("--reps", type=int, default=3, help="repetitions per measurement")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed")
    parser.add_argument(
        "--sample",
        type=int,
        default=None,
        help="articles per fresh-store ingest (default 10,000 or --size)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="results folder")
    parser.add_argument(
        "--stale-ok", action="store_true", help="reuse cached stores built by older clustering code"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    limit_arenas()  # Newsdesk's in-process runs as the newsdesk command has them (bot.launch)
    if args.reps < 1:
        parser.error("--reps must be at least 1")
    try:
        ctx = Context.from_args(
            args.size,
            reps=args.reps,
            seed=args.seed,
            progress=not args.quiet,
            stale_ok=args.stale_ok,
        )
    except ValueError as exc:
        parser.error(str(exc))
    if args.sample is not None:
        ctx.ingest_sample = args.sample
    if args.benchmark == "report":
        saved = load_results(ctx.size, out_dir=args.out)
        if not saved:
            parser.error(f"no saved results for --size {args.size} in {args.out}")
        print(markdown_table(saved))
        return 0
    names = list(BENCHMARKS) if args.benchmark == "all" else [args.benchmark]
    if args.benchmark == "all":
        names.remove("floor")
        names.insert(names.index("ingest") + 1, "floor")
    results = run(names, ctx, out_dir=args.out)
    if args.benchmark == "all":
        write_summary(results, ctx, out_dir=args.out)
    from rich.console import Console

    Console(width=None if sys.stdout.isatty() else 140).print(
        render_table(results, title=f"Newsdesk benchmarks, {ctx.size:,} articles")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
