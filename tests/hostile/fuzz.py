"""A time-boxed fuzz run over feed parsing, cleaning and the search query parser.

The properties and most strategies are the suite's own (``tests/test_fuzz_parse.py``,
``tests/test_search_query.py``); this module adds hostile seed documents and
runs every target round-robin, each batch with a fresh random seed, until the
time is up::

    python -m tests.hostile.fuzz --seconds 300          # from the repository root
    NEWSDESK_FUZZ_SECONDS=300 pytest tests/test_hostile_feeds.py -k fuzz_run

A failure prints hypothesis' shrunk falsifying example and the exit code is 1.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from bot.clean import clean_text, to_article
from bot.ingest.parse import ParseError, iter_jsonl, parse_feed, parse_text_article
from bot.models import Entry
from bot.search.query import QueryError, parse_query
from bot.store.fts import to_fts
from tests.hostile import documents as doc
from tests.test_fuzz_parse import SEED_ATOM, SEED_FEED, TEXT, mutated
from tests.test_search_query import _FTS, QUERY_TEXT

BATCH = settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
    print_blob=False,
)
FETCHED = datetime(2025, 7, 1, tzinfo=UTC)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def _seeds() -> list[bytes]:
    """Well-formed and hostile documents for the mutator to start from."""
    missing = Path(tempfile.gettempdir()) / "newsdesk-fuzz-no-such-file"
    return [
        SEED_FEED,
        SEED_ATOM,
        doc.good_feed("fuzz", 3),
        doc.hostile_text_feed(),
        doc.billion_laughs(levels=4),
        doc.quadratic_blowup(size=200, refs=50),
        doc.xxe(missing),
        doc.xxe_unclosed(missing),
        doc.truncated_json_feed() + b'"}]}',
        doc.many_entries_feed(30),
    ]


FEED_BYTES = st.one_of(
    st.binary(max_size=3000),
    st.sampled_from(_seeds()).flatmap(mutated),
)


def check_feed(data: bytes) -> None:
    """Parsing raises only ParseError; every article built from it is sane."""
    try:
        feed = parse_feed(data, url="https://fuzz.example/feed.xml")
    except ParseError:
        return
    for entry in feed.entries:
        assert len(entry.title) <= 1000
        assert entry.url is None or entry.url.startswith(("http://", "https://"))
        article = to_article(entry, fetched_at=FETCHED, fallback_source="fuzz.example")
        if article is None:
            continue
        assert 0 < len(article.title) <= 500 and not _CONTROL.search(article.title)
        assert article.url is None or article.url.startswith(("http://", "https://"))
        assert clean_text(article.body) == article.body
        assert article.published_at.tzinfo is not None


def check_text(text: str) -> None:
    """Cleaning is idempotent; text and JSON Lines parsers raise only ParseError."""
    once = clean_text(text)
    assert clean_text(once) == once
    try:
        parse_text_article(text)
    except ParseError:
        pass
    for item in iter_jsonl(text.splitlines()):
        assert isinstance(item, Entry | ParseError)


def check_query(text: str) -> None:
    """A query is a QueryError or an FTS5 expression SQLite accepts."""
    try:
        query = parse_query(text)
    except QueryError as exc:
        assert str(exc)
        return
    match = to_fts(query)
    if match is not None:
        _FTS.execute("SELECT rowid FROM t WHERE t MATCH ?", (match,)).fetchall()


TARGETS: dict[str, tuple[st.SearchStrategy, Callable[..., None]]] = {
    "feed": (FEED_BYTES, check_feed),
    "text": (TEXT, check_text),
    "query": (QUERY_TEXT, check_query),
}


@dataclass
class Summary:
    """What a run did: examples per target, and every failure's report."""

    targets: list[str]
    seconds: float
    per_target: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)

    @property
    def examples(self) -> int:
        return sum(self.per_target.values())


def _batch(name: str, summary: Summary, rng: random.Random) -> None:
    strategy, check = TARGETS[name]

    def counted(value: object) -> None:
        summary.per_target[name] += 1
        check(value)

    test = seed(rng.getrandbits(64))(BATCH(given(strategy)(counted)))
    try:
        test()
    except Exception:  # noqa: BLE001 - hypothesis re-raises the shrunk failure
        summary.failures.append(f"{name}: {traceback.format_exc(limit=6)}")


def run(
    seconds: float, targets: list[str] | None = None, *, rng_seed: int | None = None
) -> Summary:
    """Fuzz ``targets`` (all by default) round-robin until ``seconds`` have passed.

    Every target gets at least one batch, however short the time box.
    """
    names = targets or list(TARGETS)
    summary = Summary(targets=names, seconds=seconds)
    rng = random.Random(rng_seed)
    deadline = time.monotonic() + seconds
    first = True
    while first or time.monotonic() < deadline:
        for name in names:
            if not first and time.monotonic() >= deadline:
                break
            _batch(name, summary, rng)
        first = False
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--target", action="append", choices=list(TARGETS))
    parser.add_argument("--seed", type=int, help="seed of the batch seeds (reproducible run)")
    args = parser.parse_args(argv)
    summary = run(args.seconds, args.target, rng_seed=args.seed)
    counts = ", ".join(f"{k}={v}" for k, v in summary.per_target.items())
    print(f"fuzzed {summary.examples} examples in {args.seconds:g}s ({counts})")
    for failure in summary.failures:
        print(failure, file=sys.stderr)
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
