"""SQLite beside PostgreSQL: ingest and search through the same ``Newsdesk`` calls.

Needs a PostgreSQL server: ``NEWSDESK_BENCH_POSTGRES`` names a database the
benchmark may create databases from (``postgresql://postgres@127.0.0.1:5432/postgres``);
without it the benchmark prints n/a. Each measurement runs on both backends
in the same process, alternating, so the ratio is what the engine changes:

* ingest: the JSON Lines sample (``--sample``, default 10,000 articles) into a
  fresh store, ``reps`` times per backend (``Newsdesk.ingest_sources``, what
  ``newsdesk ingest`` runs: cleaning, identity, clustering, the search index);
* search: the cached ``--size`` store is copied into PostgreSQL with
  ``db copy`` (timed: rows a second), then the search benchmark's query mix
  runs on both (``Newsdesk.search``: parsing, the index, filters, snippets,
  the match count), p50/p95 per backend and per kind of query.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bot.services import copy_database

from .common import Result, fmt_ms, fmt_rate, fmt_ratio, ratio, summary
from .context import Context
from .ingest import ingest_paths, jsonl_sample
from .search import _newsdesk_latencies, context_mix

ENV = "NEWSDESK_BENCH_POSTGRES"


def _database_url(admin: str, name: str) -> str:
    return urlunsplit(urlsplit(admin)._replace(path=f"/{name}"))


async def _admin(admin: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _fresh_database(admin: str) -> str:
    name = f"nd_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(admin, f'CREATE DATABASE "{name}"'))
    return _database_url(admin, name)


def _drop(admin: str, url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    asyncio.run(_admin(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run_backends(ctx: Context) -> Result:
    result = Result("backends", ctx.size)
    admin = os.environ.get(ENV)
    if not admin:
        result.row("PostgreSQL", "n/a", note=f"set {ENV} to a server URL")
        return result
    made: list[str] = []
    try:
        with ctx.scratch() as tmp:
            sample = jsonl_sample(ctx, tmp)
            runs: dict[str, list[dict[str, Any]]] = {"sqlite": [], "postgresql": []}
            ctx.log(f"backends: ingest {ctx.sample:,} articles x {ctx.reps} on each backend")
            for rep in range(ctx.reps):
                for backend in ("sqlite", "postgresql"):
                    if backend == "sqlite":
                        location = str(tmp / f"ingest-{rep}.db")
                    else:
                        location = _fresh_database(admin)
                        made.append(location)
                    run = asyncio.run(ingest_paths(location, [sample]))
                    run["rate"] = run["entries"] / run["seconds"]
                    runs[backend].append(run)
                    ctx.log(f"  {backend} rep {rep + 1}: {run['rate']:.0f}/s")
            rates = {b: summary([r["rate"] for r in v]) for b, v in runs.items()}
            result.data["ingest"] = rates
            for backend, stat in rates.items():
                result.row(f"ingest {ctx.sample:,} JSON Lines: {backend}", fmt_rate(stat["median"]))
            result.row(
                "ingest: PostgreSQL / SQLite",
                fmt_ratio(ratio(rates["postgresql"]["median"], rates["sqlite"]["median"])),
            )

        store = ctx.store()
        target = _fresh_database(admin)
        made.append(target)
        ctx.log(f"backends: db copy of the {ctx.size:,}-article store into PostgreSQL")
        start = time.perf_counter()
        copied = asyncio.run(copy_database(str(store), target))
        seconds = time.perf_counter() - start
        rows = sum(c.target_rows for c in copied)
        result.data["copy"] = {"rows": rows, "seconds": seconds}
        result.row(
            f"db copy SQLite -> PostgreSQL ({rows:,} rows)",
            f"{seconds:.1f} s ({rows / seconds:,.0f} rows/s)",
        )

        mix = context_mix(ctx)
        now = max(q.date_to for q in mix if q.date_to is not None)
        reps = max(ctx.reps, 3)
        ctx.log(f"backends: search, {len(mix)} queries x {reps} on each backend")
        found = {
            "sqlite": asyncio.run(_newsdesk_latencies(store, mix, reps, now)),
            "postgresql": asyncio.run(_newsdesk_latencies(target, mix, reps, now)),
        }
        result.data["search"] = found
        for backend, stat in found.items():
            result.row(
                f"search p50 / p95 ({ctx.size:,}): {backend}",
                f"{fmt_ms(stat['all']['p50_ms'])} / {fmt_ms(stat['all']['p95_ms'])}",
                target="p95 < 20 ms",
                ok=stat["all"]["p95_ms"] < 20.0,
            )
        for kind in found["sqlite"]["by_kind"]:
            lite, pg = found["sqlite"]["by_kind"][kind], found["postgresql"]["by_kind"][kind]
            result.row(
                f"  {kind}: p95 SQLite / PostgreSQL",
                f"{fmt_ms(lite['p95_ms'])} / {fmt_ms(pg['p95_ms'])}",
            )
    finally:
        for url in made:
            _drop(admin, url)
    return result
