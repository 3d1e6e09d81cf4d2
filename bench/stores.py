"""Stores for the benchmarks: the plain-SQL floor and big stores built in bulk.

Both use Newsdesk's own schema (every script of ``bot.store.migrations``,
applied with plain :mod:`sqlite3` and the same pragmas as ``open_db``), so the
FTS5 triggers, indexes and the story-index tables of migration 2 are exactly
those the bot runs with.

A bulk store holds corpus records ``start..stop``, cleaned by Newsdesk's own
``to_article`` and inserted with plain ``executemany`` (the FTS index fills
through the schema's triggers), then grouped into stories by Newsdesk's own
clusterer (:meth:`bot.stories.StoryClusterer.rebuild`, which walks the store
in publication order in batches), so the story tables are exactly what the
clusterer would have written, whatever its current internals. Stores over
``CLUSTER_ALL_MAX`` articles have only their newest ``CLUSTERED_TAIL``
articles clustered (see there); older ones are stored and searchable but
belong to no story.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.clean import to_article
from bot.ingest.parse import iter_jsonl
from bot.models import Article, Entry
from bot.store.migrations import MIGRATIONS

from .corpus import CACHE, CorpusSpec, corpus_path, iter_lines

ARTICLE_COLUMNS = (
    "url, guid, content_hash, title, body, summary, source, author, category,"
    " published_at, updated_at, fetched_at, guild_id"
)
INSERT_ARTICLE = f"INSERT INTO articles ({ARTICLE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
FETCH_DELAY = timedelta(minutes=5)  # bulk rows were "fetched" this long after publication
BATCH = 1000
# Newsdesk's clusterer groups ~200-400 articles/s here, so a 1M store would take over an
# hour to cluster whole: past CLUSTER_ALL_MAX only the newest CLUSTERED_TAIL articles
# (20 days at 5,000 a day, far more than the 72-hour window) are grouped into stories.
CLUSTER_ALL_MAX = 200_000
CLUSTERED_TAIL = 100_000


def connect(path: Path | str) -> sqlite3.Connection:
    """A plain sqlite3 connection with ``open_db``'s pragmas, schema migrated."""
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    (version,) = db.execute("PRAGMA user_version").fetchone()
    for number in range(version + 1, len(MIGRATIONS) + 1):
        db.executescript(
            f"BEGIN IMMEDIATE;\n{MIGRATIONS[number - 1]}\nPRAGMA user_version = {number};\nCOMMIT;"
        )
    return db


def _ts(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp())


def article_row(article: Article, fetched_at: datetime, guild_id: int = 0) -> tuple:
    """The values ``Ingestor._insert`` binds for ``article`` (same column order)."""
    return (
        article.url,
        article.guid,
        article.content_hash,
        article.title,
        article.body,
        article.summary,
        article.source,
        article.author,
        article.category,
        _ts(article.published_at),
        _ts(article.updated_at),
        _ts(fetched_at),
        guild_id,
    )


def clean(entry: Entry) -> tuple[Article, datetime] | None:
    """Newsdesk's cleaning of one entry, with a fetch time just after publication."""
    fetched = (entry.published_at or datetime(2025, 1, 1, tzinfo=UTC)) + FETCH_DELAY
    article = to_article(entry, fetched_at=fetched)
    return None if article is None else (article, fetched)


def rows_for(lines: Iterable[bytes]) -> list[tuple]:
    """Article rows of corpus lines (parsed and cleaned, not timed by the floor)."""
    out = []
    for item in iter_jsonl(lines):
        if isinstance(item, Entry) and (done := clean(item)) is not None:
            out.append(article_row(*done))
    return out


def floor_insert(db: sqlite3.Connection, rows: list[tuple], *, batch: int = BATCH) -> float:
    """Seconds to insert ``rows`` with ``executemany``, ``batch`` rows per transaction."""
    start = time.perf_counter()
    for at in range(0, len(rows), batch):
        db.execute("BEGIN IMMEDIATE")
        db.executemany(INSERT_ARTICLE, rows[at : at + batch])
        db.execute("COMMIT")
    return time.perf_counter() - start


# --------------------------------------------------------------- bulk stores


def _prepare(lines: list[bytes]) -> list[tuple]:
    """Worker: parse and clean a chunk of corpus lines into article rows."""
    return rows_for(lines)


def _chunks(lines: Iterator[bytes], size: int) -> Iterator[list[bytes]]:
    while chunk := list(itertools.islice(lines, size)):
        yield chunk


def _rows(source: Path, start: int, stop: int, workers: int) -> Iterator[list[tuple]]:
    chunks = _chunks(iter_lines(source, start, stop), 1000)
    if workers <= 1:
        for chunk in chunks:
            yield _prepare(chunk)
        return
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(workers) as pool:
        yield from pool.imap(_prepare, chunks, chunksize=1)


def load_articles(
    path: Path, source: Path, *, start: int, stop: int, workers: int = 1, progress: bool = False
) -> int:
    """Insert records ``start..stop`` (cleaned by Newsdesk) with plain SQL; returns the count."""
    db = connect(path)
    count = 0
    t0 = time.perf_counter()
    try:
        for rows in _rows(source, start, stop, workers):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(INSERT_ARTICLE, rows)
            db.execute("COMMIT")
            before = count
            count += len(rows)
            if progress and count // 100_000 != before // 100_000:
                print(f"  articles: {count:,} in {time.perf_counter() - t0:,.0f} s", flush=True)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return count


async def cluster_all(
    path: Path, *, window_hours: float = 72.0, since: int | None = None
) -> dict[str, Any]:
    """Group stored articles (published since ``since``, all when None) into stories
    with Newsdesk's own clusterer (``StoryClusterer.rebuild``)."""
    from bot.clustering import StoryClusterer
    from bot.store import open_db

    db = await open_db(path)
    try:
        start = None if since is None else datetime.fromtimestamp(since, UTC)
        report = await StoryClusterer(window_hours=window_hours).rebuild(db, since=start)
        await db.execute("PRAGMA optimize")
        await db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await db.close()
    return {"articles": report.articles, "stories": report.stories_after}


def build_store(
    path: Path,
    source: Path,
    *,
    start: int,
    stop: int,
    workers: int = 1,
    progress: bool = False,
) -> dict[str, Any]:
    """A store of records ``start..stop``: rows by plain SQL, stories by ``StoryClusterer.rebuild``."""
    import asyncio

    tmp = path.with_name(path.name + ".building")
    for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    t0 = time.perf_counter()
    count = load_articles(tmp, source, start=start, stop=stop, workers=workers, progress=progress)
    t1 = time.perf_counter()
    if progress:
        print(f"  {count:,} articles loaded in {t1 - t0:,.0f} s; clustering ...", flush=True)
    since = None
    if count > CLUSTER_ALL_MAX:
        db = sqlite3.connect(str(tmp))
        (since,) = db.execute(
            "SELECT published_at FROM articles ORDER BY published_at DESC LIMIT 1 OFFSET ?",
            (CLUSTERED_TAIL - 1,),
        ).fetchone()
        db.close()
        if progress:
            print(f"  clustering only the newest {CLUSTERED_TAIL:,} articles", flush=True)
    stories = asyncio.run(cluster_all(tmp, since=since))
    t2 = time.perf_counter()
    for leftover in (Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
        leftover.unlink(missing_ok=True)
    tmp.replace(path)
    info = {
        "articles": count,
        "stories": stories["stories"],
        "load_s": t1 - t0,
        "cluster_s": t2 - t1,
        "clustered": stories["articles"],
    }
    path.with_suffix(".json").write_text(json.dumps(info), encoding="utf-8")
    if progress:
        print(f"  clustered into {info['stories']:,} stories in {t2 - t1:,.0f} s", flush=True)
    return info


def code_version() -> str:
    """A short hash of the schema and clustering code: cached stores follow their changes.

    Hashes the files as they were when this process imported them (a store is
    built by the code in memory, not by whatever is on disk later).
    """
    return _CODE_VERSION


def _code_version() -> str:
    import hashlib

    import bot.store.migrations as migrations
    import bot.stories as stories

    digest = hashlib.sha256(Path(migrations.__file__).read_bytes())
    for path in sorted(Path(stories.__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:8]


_CODE_VERSION = _code_version()


def bulk_store(
    spec: CorpusSpec,
    *,
    start: int,
    stop: int,
    workers: int | None = None,
    progress: bool = False,
    cache: Path = CACHE,
    stale_ok: bool = False,
) -> Path:
    """The cached bulk store of ``spec``'s records ``start..stop`` (built when missing).

    Stores are keyed by :func:`code_version`; ``stale_ok`` reuses the newest
    store of the same records built by other code instead of rebuilding.
    """
    path = cache / f"store-{spec.name}-{start}-{stop}-{code_version()}.db"
    if not path.exists() and stale_ok:
        older = sorted(
            cache.glob(f"store-{spec.name}-{start}-{stop}-*.db"), key=lambda p: p.stat().st_mtime
        )
        if older:
            return older[-1]
    if not path.exists():
        source = corpus_path(spec, cache=cache)
        if workers is None:
            workers = min(2, os.cpu_count() or 1) if stop - start >= 20_000 else 1
        build_store(path, source, start=start, stop=stop, workers=workers, progress=progress)
    return path


def copy_store(source: Path, target: Path) -> Path:
    """Copy a (closed, checkpointed) store file with SQLite's backup API."""
    target.unlink(missing_ok=True)
    src = sqlite3.connect(str(source))
    dst = sqlite3.connect(str(target))
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    return target


def file_size(path: Path) -> int:
    """Bytes of a store file and its WAL/SHM companions."""
    total = 0
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if p.exists():
            total += p.stat().st_size
    return total
