"""Main-text extraction benchmark: web pages in, stored article bodies out.

Usage::

    python bench/extraction_eval.py [--pages DIR] [--mode files|jsonl|both]
                                    [--worst N] [--json] [--stages]

``DIR`` holds one folder per page with ``source.html`` (the page) and
``expected.html`` (its main text; ``expected-metadata.json`` is optional), the
layout of Mozilla Readability's test pages. The default is
``../shared/extraction/readability/test-pages`` beside the checkout.

Every page goes through the product's real ingest path
(:meth:`bot.services.Newsdesk.ingest_sources` into a fresh temporary store),
in two modes:

* ``files``: each page is written as ``<name>.html`` and ingested as a file;
* ``jsonl``: all pages are written as one JSON Lines file, one line
  ``{"title", "html", "url", "source", "published_at"}`` per page (title and
  site name from ``expected-metadata.json`` when it has them, a unique URL
  per page), and that file is ingested.

The stored bodies are read back with the product's export
(:func:`bot.cli.export_jsonl`) and scored against the text of
``expected.html``.

Score (the exact definition): a text is NFKC-normalised and case-folded;
its tokens are the maximal runs of Unicode word characters (``\\w+``, so
punctuation is dropped), except that in scripts written without spaces
(Han, kana, Thai) every character is a token of its own. The expected text
is the text content of ``expected.html`` (every text node but scripts and
styles, as lxml's ``text_content()``; none of the product's cleaning). With
``E`` and ``G`` the multisets (bags) of expected and stored-body tokens and
``|E ∩ G|`` their multiset intersection, precision ``P = |E ∩ G| / |G|``,
recall ``R = |E ∩ G| / |E|`` and ``F1 = 2PR / (P + R)`` (0 when either is
0). The title is not part of the body and is not scored. A page that is
rejected, or whose body is not stored, scores 0. Some test pages hold the
same article as another (same text): the product stores such a page as a
duplicate, so it is then ingested again alone, into a fresh store, and
scored there (marked "alone"). Per mode the script prints mean and median
F1, mean precision and recall, how many pages score >= 0.8, and the worst
pages.

``--stages`` also scores the text straight out of ``parse_page`` (before
cleaning) in files mode, to show where words are lost.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import re
import statistics
import sys
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

PAGES_UNDER_SHARED = Path("shared", "extraction", "readability", "test-pages")
BENCH_URL = "https://extraction-bench.invalid/"
BENCH_DATE = "2024-01-15T12:00:00Z"
GOOD_F1 = 0.8
# Scripts written without spaces between words: each character is a token.
_UNSPACED = "\u0e00-\u0e7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(f"[{_UNSPACED}]|[^\\W{_UNSPACED}]+")


# -- scoring ------------------------------------------------------------------


def tokens(text: str) -> Counter[str]:
    """The bag of case-folded word tokens of ``text`` (punctuation dropped)."""
    return Counter(
        token.casefold() for token in _TOKEN.findall(unicodedata.normalize("NFKC", text))
    )


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float


def score(expected: Counter[str], got: Counter[str]) -> Score:
    """Bag-of-words precision, recall and F1 of ``got`` against ``expected``."""
    overlap = sum((expected & got).values())
    if not overlap:
        return Score(0.0, 0.0, 0.0)
    precision = overlap / sum(got.values())
    recall = overlap / sum(expected.values())
    return Score(precision, recall, 2 * precision * recall / (precision + recall))


def expected_text(path: Path) -> str:
    """Every text node of ``expected.html`` (no cleaning of ours involved)."""
    from lxml import html as lxml_html

    data = path.read_text(encoding="utf-8", errors="replace")
    if not data.strip():
        return ""
    root = lxml_html.document_fromstring(data)
    for bad in root.xpath("//script | //style"):
        bad.drop_tree()
    return root.text_content()


# -- the pages ------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    source: Path
    expected: Counter[str]
    metadata: dict[str, Any]

    @property
    def url(self) -> str:
        return f"{BENCH_URL}{self.name}"


def default_pages() -> Path:
    """``shared/extraction/readability/test-pages`` beside the checkout (or higher up)."""
    for parent in REPO.parents:
        if (parent / PAGES_UNDER_SHARED).is_dir():
            return parent / PAGES_UNDER_SHARED
    return REPO.parent / PAGES_UNDER_SHARED


def load_pages(root: Path) -> list[Page]:
    pages = []
    for folder in sorted(d for d in root.iterdir() if (d / "source.html").is_file()):
        meta_path = folder / "expected-metadata.json"
        try:
            metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            metadata = {}
        expected = tokens(expected_text(folder / "expected.html"))
        if not expected:
            continue  # nothing to score against
        pages.append(Page(folder.name, folder / "source.html", expected, metadata or {}))
    return pages


# -- ingest through the product ---------------------------------------------------


@dataclass
class PageResult:
    name: str
    score: Score
    note: str = ""  # why the page scores 0, when it does


async def _ingest(store: Path, specs: list[str]) -> Any:
    from bot.config import Settings
    from bot.services import Newsdesk

    nd = await Newsdesk.open(Settings(_env_file=None, database=store))
    try:
        return await nd.ingest_sources(specs)
    finally:
        await nd.close()


def _export(store: Path) -> list[dict[str, Any]]:
    from bot.cli import export_jsonl

    buffer = io.StringIO()
    export_jsonl(store, buffer)
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


async def _alone(work: Path, name: str, make: Any) -> dict[str, str]:
    """Ingest one page alone into a fresh store; its stored body by URL (or id)."""
    folder = work / "alone" / name
    folder.mkdir(parents=True)
    path = make(folder)
    store = folder / "alone.db"
    await _ingest(store, [str(path)])
    return {str(row["url"] or row["id"]): row["text"] or "" for row in _export(store)}


async def run_files(pages: list[Page], work: Path) -> list[PageResult]:
    """Each page as ``<name>.html``, ingested one file at a time into one store.

    One call per file maps each stored article to its page (``new_ids``). A
    page whose text an earlier page already stored (the test pages include
    copies of one article) is a duplicate by the product's rules: it is then
    ingested alone into a fresh store and scored there.
    """
    folder = work / "pages"
    folder.mkdir()
    store = work / "files.db"
    outcomes: dict[str, Any] = {}
    for page in pages:
        path = folder / f"{page.name}.html"
        path.write_bytes(page.source.read_bytes())
        outcomes[page.name] = await _ingest(store, [str(path)])
    bodies = {row["id"]: row["text"] or "" for row in _export(store)}
    results = []
    for page in pages:
        report = outcomes[page.name].report
        if len(report.new_ids) == 1:
            got = tokens(bodies.get(report.new_ids[0], ""))
            results.append(PageResult(page.name, score(page.expected, got)))
        elif report.duplicates or report.updated:

            def make(where: Path, page: Page = page) -> Path:
                path = where / f"{page.name}.html"
                path.write_bytes(page.source.read_bytes())
                return path

            alone = await _alone(work, page.name, make)
            got = tokens(next(iter(alone.values()), ""))
            results.append(PageResult(page.name, score(page.expected, got), "alone"))
        else:
            note = "; ".join(reason for _where, reason in report.errors) or "not stored"
            results.append(PageResult(page.name, Score(0, 0, 0), note))
    return results


def jsonl_line(page: Page) -> dict[str, Any]:
    meta = page.metadata
    return {
        "title": meta.get("title") or page.name,
        "html": page.source.read_bytes().decode("utf-8", "replace"),
        "url": page.url,
        "source": meta.get("siteName") or "Extraction Bench",
        "published_at": BENCH_DATE,
    }


async def run_jsonl(pages: list[Page], work: Path) -> list[PageResult]:
    """All pages as one JSON Lines file, ingested in one call; matched by URL.

    A line whose article an earlier line already stored (same text) is
    ingested again alone, as a one-line file into a fresh store.
    """
    path = work / "pages.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for page in pages:
            out.write(json.dumps(jsonl_line(page), ensure_ascii=False) + "\n")
    store = work / "jsonl.db"
    outcome = await _ingest(store, [str(path)])
    by_url = {row["url"]: row["text"] or "" for row in _export(store)}
    failures = [reason for _where, reason in outcome.report.errors]
    results = []
    for page in pages:
        if page.url in by_url:
            results.append(PageResult(page.name, score(page.expected, tokens(by_url[page.url]))))
            continue

        def make(where: Path, page: Page = page) -> Path:
            path = where / "page.jsonl"
            path.write_text(json.dumps(jsonl_line(page)) + "\n", encoding="utf-8")
            return path

        alone = await _alone(work, page.name, make)
        if page.url in alone:
            got = tokens(alone[page.url])
            results.append(PageResult(page.name, score(page.expected, got), "alone"))
        else:
            results.append(PageResult(page.name, Score(0, 0, 0), "not stored"))
    if failures:
        print(f"jsonl: {len(failures)} line(s) failed: {failures[:5]}", file=sys.stderr)
    return results


def run_parse_page(pages: list[Page]) -> list[PageResult]:
    """The text straight out of ``parse_page`` (before the clean stage)."""
    from bot.ingest.parse import ParseError, parse_page

    results = []
    for page in pages:
        try:
            entry = parse_page(page.source.read_bytes())
        except ParseError as exc:
            results.append(PageResult(page.name, Score(0, 0, 0), str(exc)))
            continue
        results.append(PageResult(page.name, score(page.expected, tokens(entry.content or ""))))
    return results


# -- report -------------------------------------------------------------------------


def summarise(results: list[PageResult], worst: int) -> dict[str, Any]:
    f1s = [r.score.f1 for r in results]
    ranked = sorted(results, key=lambda r: r.score.f1)[:worst]
    return {
        "pages": len(results),
        "mean_f1": statistics.fmean(f1s) if f1s else 0.0,
        "median_f1": statistics.median(f1s) if f1s else 0.0,
        "mean_precision": statistics.fmean(r.score.precision for r in results) if f1s else 0.0,
        "mean_recall": statistics.fmean(r.score.recall for r in results) if f1s else 0.0,
        f"at_least_{GOOD_F1}": sum(f >= GOOD_F1 for f in f1s),
        "worst": [
            {
                "page": r.name,
                "f1": round(r.score.f1, 3),
                "precision": round(r.score.precision, 3),
                "recall": round(r.score.recall, 3),
                **({"note": r.note} if r.note else {}),
            }
            for r in ranked
        ],
    }


def print_summary(mode: str, summary: dict[str, Any]) -> None:
    good = summary[f"at_least_{GOOD_F1}"]
    print(
        f"{mode:>10}: {summary['pages']} pages  mean F1 {summary['mean_f1']:.4f}  "
        f"median {summary['median_f1']:.4f}  P {summary['mean_precision']:.3f}  "
        f"R {summary['mean_recall']:.3f}  F1>={GOOD_F1}: {good}/{summary['pages']}"
    )
    for item in summary["worst"]:
        note = f"  ({item['note']})" if item.get("note") else ""
        print(
            f"{'':>12}{item['f1']:.3f}  P {item['precision']:.3f}  R {item['recall']:.3f}"
            f"  {item['page']}{note}"
        )


async def evaluate(
    root: Path, modes: Iterable[str], *, worst: int = 8, stages: bool = False
) -> dict[str, Any]:
    pages = load_pages(root)
    if not pages:
        raise SystemExit(f"no pages with source.html and expected.html under {root}")
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="extraction-eval-") as tmp:
        work = Path(tmp)
        if stages:
            out["parse_page"] = summarise(run_parse_page(pages), worst)
        for mode in modes:
            sub = work / mode
            sub.mkdir()
            runner = run_files if mode == "files" else run_jsonl
            out[mode] = summarise(await runner(pages, sub), worst)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=Path, help="test-pages folder (default: ../shared/...)")
    parser.add_argument("--mode", choices=["files", "jsonl", "both"], default="both")
    parser.add_argument("--worst", type=int, default=8, help="how many worst pages to list")
    parser.add_argument("--stages", action="store_true", help="also score parse_page alone")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    import logging

    modes = ["files", "jsonl"] if args.mode == "both" else [args.mode]
    logging.disable(logging.WARNING)  # per-page parse notes are not the point here
    try:
        results = asyncio.run(
            evaluate(args.pages or default_pages(), modes, worst=args.worst, stages=args.stages)
        )
    finally:
        logging.disable(logging.NOTSET)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for mode, summary in results.items():
            print_summary(mode, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
