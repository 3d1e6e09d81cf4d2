"""Search latency: ``Newsdesk.search`` vs the raw FTS5 MATCH, and vs ``reader``.

A fixed query mix is drawn (seeded) from the stored articles: one topical
word, one very common word, two and three words, a phrase, one and two
words within the last week of the data, and a word restricted to one outlet. Each query runs once to warm the
cache, then ``reps`` times; p50/p95/p99 are over all runs. The raw
baseline runs the same FTS5 expression (Newsdesk's own translation of the
query) with the same filters, ``ORDER BY bm25 LIMIT 10``, on an aiosqlite
connection, so the ratio is what the engine adds (parsing, the covering
index join, snippets and the match count). reader's ``search_entries``
runs the unfiltered part of the mix on a 10k-article reader database
against a 10k Newsdesk store of the same articles.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.search.query import parse_query
from bot.services import Newsdesk
from bot.store import open_db
from bot.store.fts import to_fts

from .common import Result, fmt_ms, fmt_ratio, latency_summary, ratio
from .context import Context, settings_for
from .corpus import FUNCTION_WORDS, common_words, iter_records, synthetic_feeds
from .reader_cmp import make_reader

P95_TARGET_MS = 20.0
RAW_RATIO_TARGET = 1.5
READER_ARTICLES = 10_000
PER_KIND = 8
_WORD = re.compile(r"[a-z]{4,}")


@dataclass(frozen=True, slots=True)
class Query:
    kind: str
    text: str
    date_from: datetime | None = None
    date_to: datetime | None = None
    source: str | None = None


def _words(title: str, common: set[str]) -> list[str]:
    return [w for w in _WORD.findall(title.lower()) if w not in common]


def query_mix(records: list[dict[str, Any]], *, common: list[str], seed: int = 7) -> list[Query]:
    """The fixed mix, drawn from ``records`` (the newest stored articles).

    Typed words are the topical words of a headline (not among ``common``,
    the corpus's most frequent words); the "common word" kind searches one
    of those frequent words (found in 10-90% of articles), the worst case
    for ranking, and the phrase is two adjacent content words of a body.
    """
    rng = random.Random(seed)
    stop = set(FUNCTION_WORDS)
    frequent = [w for w in common if w not in stop and len(w) >= 3]
    skip = stop | set(common)
    last = max(datetime.strptime(r["published_at"], "%Y-%m-%dT%H:%M:%SZ") for r in records)
    end = last.replace(tzinfo=UTC) + timedelta(seconds=1)
    week = (end - timedelta(days=7), end)
    usable = [r for r in records if len(_words(r["title"], skip)) >= 3]
    if not usable:
        raise ValueError("no titles to draw queries from")
    out: list[Query] = []
    for _ in range(PER_KIND):
        r = rng.choice(usable)
        words = _words(r["title"], skip)
        rng.shuffle(words)
        body = [w.strip(".,").lower() for w in r["text"].split()]
        pairs = [
            f"{a} {b}"
            for a, b in zip(body, body[1:], strict=False)
            if a not in stop and b not in stop and a.isalpha() and b.isalpha()
        ]
        phrase = rng.choice(pairs) if pairs else " ".join(words[:2])
        out += [
            Query("one word", words[0]),
            Query("common word", rng.choice(frequent)),
            Query("two words", " ".join(words[:2])),
            Query("three words", " ".join(words[:3])),
            Query("phrase", f'"{phrase}"'),
            Query("one word, last week", words[1], *week),
            Query("two words, last week", " ".join(words[1:3]), *week),
            Query("one word, source", words[2], source=r["source"]),
        ]
    return out


def context_mix(ctx: Context, stop: int | None = None) -> list[Query]:
    """The mix for the stored records before ``stop`` (default: all stored)."""
    stop = ctx.size if stop is None else stop
    return query_mix(_tail_records(ctx, stop, 5_000), common=common_words(ctx.seed))


def _raw_sql(q: Query) -> tuple[str, list[Any]]:
    match = to_fts(parse_query(q.text).words)
    rank = "bm25(articles_fts, 5.0, 1.0)"
    if q.date_from is None and q.source is None:
        return (
            f"SELECT rowid FROM articles_fts WHERE articles_fts MATCH ? ORDER BY {rank} LIMIT 10",
            [match],
        )
    sql = (
        "SELECT a.id FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
        " WHERE articles_fts MATCH ?"
    )
    params: list[Any] = [match]
    if q.date_from is not None and q.date_to is not None:
        sql += " AND a.published_at >= ? AND a.published_at < ?"
        params += [int(q.date_from.timestamp()), int(q.date_to.timestamp())]
    if q.source is not None:
        sql += " AND a.source LIKE ?"
        params.append(q.source + "%")
    return f"{sql} ORDER BY {rank} LIMIT 10", params


async def _newsdesk_latencies(
    path: Path | str, mix: list[Query], reps: int, now: datetime
) -> dict[str, Any]:
    desk = await Newsdesk.open(settings_for(path), database=path)
    samples: dict[str, list[float]] = {}
    hits = 0
    try:
        for rep in range(reps + 1):
            for q in mix:
                start = time.perf_counter()
                page = await desk.search(
                    q.text, date_from=q.date_from, date_to=q.date_to, source=q.source, now=now
                )
                elapsed = time.perf_counter() - start
                if rep:
                    samples.setdefault(q.kind, []).append(elapsed)
                    hits += bool(page.hits)
    finally:
        await desk.close()
    return _latencies(samples, hits, reps * len(mix))


async def _raw_latencies(path: Path, mix: list[Query], reps: int) -> dict[str, Any]:
    db = await open_db(path)
    samples: dict[str, list[float]] = {}
    hits = 0
    try:
        for rep in range(reps + 1):
            for q in mix:
                sql, params = _raw_sql(q)
                start = time.perf_counter()
                rows = await db.execute_fetchall(sql, params)
                elapsed = time.perf_counter() - start
                if rep:
                    samples.setdefault(q.kind, []).append(elapsed)
                    hits += bool(rows)
    finally:
        await db.close()
    return _latencies(samples, hits, reps * len(mix))


def _latencies(samples: dict[str, list[float]], hits: int, runs: int) -> dict[str, Any]:
    every = [s for values in samples.values() for s in values]
    return {
        "all": latency_summary(every),
        "by_kind": {kind: latency_summary(values) for kind, values in samples.items()},
        "runs_with_hits": hits,
        "runs": runs,
    }


def _reader_db(ctx: Context, n: int) -> Path:
    """A cached reader database holding the first ``n`` records (as synthetic RSS)."""
    path = ctx.cache / f"reader-{ctx.spec.name}-{n}.sqlite"
    done = path.with_name(path.name + ".done")
    if not done.exists():
        feeds = synthetic_feeds(ctx.spec, articles=n)
        root = feeds[0].parent
        for leftover in ctx.cache.glob(f"{path.name}*"):
            leftover.unlink()
        ctx.log(f"  building the reader database of {n:,} entries (cached) ...")
        reader = make_reader(str(path), feed_root=str(root))
        try:
            for feed in feeds:
                reader.add_feed(feed.name, exist_ok=True)
            reader.update_feeds()
            reader.enable_search()
            reader.update_search()
        finally:
            reader.close()
        done.touch()
    return path


def _reader_latencies(path: Path, mix: list[Query], reps: int) -> dict[str, Any]:
    reader = make_reader(str(path))
    samples: dict[str, list[float]] = {}
    hits = 0
    try:
        for rep in range(reps + 1):
            for q in mix:
                start = time.perf_counter()
                found = list(reader.search_entries(q.text, limit=10))
                elapsed = time.perf_counter() - start
                if rep:
                    samples.setdefault(q.kind, []).append(elapsed)
                    hits += bool(found)
    finally:
        reader.close()
    return _latencies(samples, hits, reps * len(mix))


def _tail_records(ctx: Context, stop: int, count: int) -> list[dict[str, Any]]:
    return list(iter_records(ctx.corpus(), max(0, stop - count), stop))


def run_search(ctx: Context) -> Result:
    result = Result("search", ctx.size)
    reps = max(ctx.reps, 3)
    store = ctx.store()
    mix = context_mix(ctx)
    now = max(q.date_to for q in mix if q.date_to is not None)
    result.data["queries"] = [q.text for q in mix]
    ctx.log(f"search: {len(mix)} queries x {reps} on {ctx.size:,} articles")
    nd = asyncio.run(_newsdesk_latencies(store, mix, reps, now))
    raw = asyncio.run(_raw_latencies(store, mix, reps))
    result.data.update(newsdesk=nd, raw_fts=raw)
    p95, raw95 = nd["all"]["p95_ms"], raw["all"]["p95_ms"]
    result.row(
        f"Newsdesk.search p50 / p99 ({ctx.size:,})",
        f"{fmt_ms(nd['all']['p50_ms'])} / {fmt_ms(nd['all']['p99_ms'])}",
    )
    result.row(
        f"Newsdesk.search p95 ({ctx.size:,})",
        fmt_ms(p95),
        target=f"< {P95_TARGET_MS:.0f} ms",
        ok=p95 < P95_TARGET_MS,
    )
    result.row(
        f"raw FTS5 MATCH p50 / p95 / p99 ({ctx.size:,})",
        f"{fmt_ms(raw['all']['p50_ms'])} / {fmt_ms(raw95)} / {fmt_ms(raw['all']['p99_ms'])}",
    )
    share = ratio(p95, raw95)
    result.row(
        "search p95 / raw p95",
        fmt_ratio(share),
        target=f"<= {RAW_RATIO_TARGET}x",
        ok=None if share is None else share <= RAW_RATIO_TARGET,
    )
    for kind, stat in nd["by_kind"].items():
        raw_kind = raw["by_kind"][kind]
        result.row(
            f"  {kind}: p50 / p95 (raw p95)",
            f"{fmt_ms(stat['p50_ms'])} / {fmt_ms(stat['p95_ms'])} ({fmt_ms(raw_kind['p95_ms'])})",
        )

    n = min(READER_ARTICLES, ctx.size)
    try:
        reader_path = _reader_db(ctx, n)
    except ImportError:
        result.row("reader search", "n/a", note="reader not installed (pip install -e .[bench])")
        return result
    small = store if n == ctx.size else ctx.store(0, n)
    plain = [q for q in context_mix(ctx, n) if q.date_from is None and q.source is None]
    small_now = now
    rd = _reader_latencies(reader_path, plain, reps)
    nd_small = asyncio.run(_newsdesk_latencies(small, plain, reps, small_now))
    result.data["reader_comparison"] = {"articles": n, "reader": rd, "newsdesk": nd_small}
    result.row(
        f"reader search_entries p50 / p95 ({n:,})",
        f"{fmt_ms(rd['all']['p50_ms'])} / {fmt_ms(rd['all']['p95_ms'])}",
    )
    result.row(
        f"Newsdesk.search p50 / p95 ({n:,}, same queries)",
        f"{fmt_ms(nd_small['all']['p50_ms'])} / {fmt_ms(nd_small['all']['p95_ms'])}",
    )
    result.row(
        "reader p95 / Newsdesk p95",
        fmt_ratio(ratio(rd["all"]["p95_ms"], nd_small["all"]["p95_ms"])),
    )
    return result


def dump_mix(mix: list[Query]) -> str:
    return json.dumps([q.__dict__ for q in mix], default=str, indent=1)
