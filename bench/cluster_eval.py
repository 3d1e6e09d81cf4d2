"""Measure story clustering against a labelled JSON Lines file.

Usage: ``python bench/cluster_eval.py PATH.jsonl [--threshold X] [--json]``

Each line is an article with ``title``, ``text``, ``url``, ``source``,
``published_at`` and the gold event in ``label`` (the label is used for
scoring only). The file is ingested in file order into a fresh temporary
store through the normal ingest path (``bot.ingest.pipeline.Ingestor`` with
a ``StoryClusterer``), or straight through ``StoryClusterer.assign`` when
the ingest pipeline is not importable (``--direct`` forces that). Prints
pairwise and B-cubed precision/recall/F1, stories vs labels, and the mean
time spent in ``assign`` per article.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bot.clustering import StoryClusterer  # noqa: E402
from bot.models import Article  # noqa: E402
from bot.store import open_db, transaction  # noqa: E402
from bot.stories.metrics import bcubed, pairwise  # noqa: E402
from bot.stories.planner import DEFAULT_THRESHOLD  # noqa: E402


@dataclass
class EvalResult:
    articles: int
    labels: int
    stories: int
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    bcubed_precision: float
    bcubed_recall: float
    bcubed_f1: float
    threshold: float
    path: str  # "ingestor" or "direct"
    assign_us_per_article: float

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class _TimedClusterer(StoryClusterer):
    """A StoryClusterer that adds up the wall time spent clustering."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.seconds = 0.0
        self.calls = 0

    async def plan(self, db, items):  # type: ignore[override]
        start = time.perf_counter()
        try:
            return await super().plan(db, items)
        finally:
            self.seconds += time.perf_counter() - start
            self.calls += len(items)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The labelled rows of a JSON Lines file (blank lines skipped)."""
    rows = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc.msg})") from exc
            if "label" not in row or "url" not in row:
                raise ValueError(f"{path}:{number}: needs 'label' and 'url'")
            rows.append(row)
    return rows


def _article(row: dict[str, Any]) -> Article:
    title = (row.get("title") or "").strip()
    body = (row.get("text") or "").strip()
    digest = hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
    return Article(
        title=title,
        body=body,
        url=row["url"],
        guid=None,
        source=row.get("source") or "unknown",
        author=None,
        category=None,
        published_at=datetime.fromisoformat(row["published_at"]),
        updated_at=None,
        summary=None,
        content_hash=digest,
    )


async def _ingest_direct(db, clusterer: StoryClusterer, rows: list[dict[str, Any]]) -> list[int]:
    """Insert article rows with plain SQL and call ``assign``; story id per row."""
    stories = []
    seen: set[str] = set()
    async with transaction(db):
        for row in rows:
            a = _article(row)
            if a.url in seen:
                a.url = None  # keep repeated URLs apart: every row is scored
            seen.add(row["url"])
            async with db.execute(
                "INSERT INTO articles (url, content_hash, title, body, source, published_at,"
                " fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    a.url,
                    a.content_hash,
                    a.title,
                    a.body,
                    a.source,
                    int(a.published_at.timestamp()),
                    int(a.published_at.timestamp()),
                ),
            ) as cur:
                (article_id,) = await cur.fetchone()
            stories.append(await clusterer.assign(db, article_id, a))
    return stories


def _ingestor_available() -> bool:
    try:
        from bot.ingest.parse import iter_jsonl  # noqa: F401
        from bot.ingest.pipeline import Ingestor  # noqa: F401
    except ImportError:
        return False
    return True


async def _ingest_pipeline(db, clusterer: StoryClusterer, lines: list[str]) -> None:
    from bot.ingest.parse import iter_jsonl
    from bot.ingest.pipeline import Ingestor

    entries = [e for e in iter_jsonl(lines) if not isinstance(e, Exception)]
    await Ingestor(db, clusterer=clusterer).ingest_entries(entries, feed_id=None, guild_id=0)


async def _story_of_url(db) -> dict[str, int]:
    async with db.execute("SELECT url, story_id FROM articles WHERE url IS NOT NULL") as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


def _canonical(url: str) -> str:
    try:
        from bot.identity import canonical_url
    except ImportError:
        return url
    return canonical_url(url) or url


async def evaluate(
    path: Path,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    direct: bool = False,
    consolidate: bool = False,
) -> EvalResult:
    """Ingest ``path`` into a fresh temporary store and score the stories."""
    rows = await asyncio.to_thread(read_rows, path)
    if not rows:
        raise ValueError(f"{path}: no rows")
    clusterer = _TimedClusterer(threshold=threshold)
    use_pipeline = not direct and _ingestor_available()
    with tempfile.TemporaryDirectory() as tmp:
        db = await open_db(Path(tmp) / "eval.db")
        try:
            if use_pipeline:
                text = await asyncio.to_thread(path.read_text, encoding="utf-8")
                lines = text.splitlines()
                await _ingest_pipeline(db, clusterer, lines)
                by_url = await _story_of_url(db)
                found = [by_url.get(r["url"]) or by_url.get(_canonical(r["url"])) for r in rows]
            else:
                found = await _ingest_direct(db, clusterer, rows)
            if consolidate:  # what the bot does after each poll cycle
                await clusterer.consolidate(db, since=datetime(1970, 1, 1, tzinfo=UTC))
                by_url = await _story_of_url(db)
                found = [by_url.get(r["url"]) or by_url.get(_canonical(r["url"])) for r in rows]
        finally:
            await db.close()
    # An article the pipeline dropped counts as a story of its own.
    predicted = [s if s is not None else f"missing-{n}" for n, s in enumerate(found)]
    gold = [row["label"] for row in rows]
    pw, b3 = pairwise(predicted, gold), bcubed(predicted, gold)
    return EvalResult(
        articles=len(rows),
        labels=len(set(gold)),
        stories=len(set(predicted)),
        pairwise_precision=pw.precision,
        pairwise_recall=pw.recall,
        pairwise_f1=pw.f1,
        bcubed_precision=b3.precision,
        bcubed_recall=b3.recall,
        bcubed_f1=b3.f1,
        threshold=threshold,
        path=("ingestor" if use_pipeline else "direct") + (" + consolidate" if consolidate else ""),
        assign_us_per_article=1e6 * clusterer.seconds / max(clusterer.calls, 1),
    )


def _print(result: EvalResult) -> None:
    print(f"articles {result.articles}, labels {result.labels}, stories {result.stories}")
    print(f"threshold {result.threshold:.3f} via {result.path} path")
    print(
        f"pairwise  P {result.pairwise_precision:.4f}  R {result.pairwise_recall:.4f}"
        f"  F1 {result.pairwise_f1:.4f}"
    )
    print(
        f"B-cubed   P {result.bcubed_precision:.4f}  R {result.bcubed_recall:.4f}"
        f"  F1 {result.bcubed_f1:.4f}"
    )
    print(f"clustering: {result.assign_us_per_article:.0f} us per article")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("path", type=Path, help="labelled JSON Lines file")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--direct", action="store_true", help="one article at a time, in file order"
    )
    parser.add_argument(
        "--consolidate", action="store_true", help="then regroup as after a poll cycle"
    )
    args = parser.parse_args(argv)
    try:
        result = asyncio.run(
            evaluate(
                args.path,
                threshold=args.threshold,
                direct=args.direct,
                consolidate=args.consolidate,
            )
        )
    except (OSError, ValueError) as exc:
        print(f"cluster_eval: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        _print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
