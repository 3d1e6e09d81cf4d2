"""feedparser vs feedparser-rs, field by field, on every file under ``shared/feeds``.

``python -m bench.parser_compare [--root DIR] [--list N] [--json OUT]``

Each file goes through :func:`bot.ingest.parse.parse_feed` three times: with
feedparser alone (the old parser), with feedparser-rs alone (no fallback) and
with the shipped order (feedparser-rs, falling back to feedparser for what it
rejects). JSON Feed files are also read by feedparser-rs (mapped as its XML
results are) and compared with Newsdesk's own JSON Feed parser.

Two levels are compared, entry by entry (paired in document order):

* the parsed :class:`~bot.models.Entry` fields (title, link, GUID, dates,
  content, summary, author, categories), and
* what the store keeps: the same entry through ``to_article`` (cleaned title,
  body, summary, canonical URL, GUID, author, category, dates).

Prints per-field agreement and lists every difference (``--list`` caps the
examples per field) plus the parse time of each parser over all files.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.clean.article import to_article
from bot.ingest.parse import feeds as feeds_module
from bot.ingest.parse.errors import ParseError
from bot.ingest.parse.feeds import parse_feed
from bot.models import Entry

from .corpus import FEEDS_DIR

ENTRY_FIELDS = (
    "title",
    "url",
    "guid",
    "published_at",
    "updated_at",
    "content",
    "content_is_html",
    "summary",
    "author",
    "categories",
)
STORED_FIELDS = (
    "title",
    "url",
    "guid",
    "published_at",
    "updated_at",
    "body",
    "summary",
    "author",
    "category",
)
FETCHED_AT = datetime(2030, 1, 1, tzinfo=UTC)


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def _parse(data: bytes, url: str, parsers: tuple[str, ...]) -> tuple[Any, float]:
    """parse_feed with ``parsers`` pinned: (ParsedFeed or the error text, seconds)."""
    saved = feeds_module.PARSERS
    feeds_module.PARSERS = parsers
    start = time.perf_counter()
    try:
        result: Any = parse_feed(data, url=url)
    except ParseError as exc:
        result = f"error: {exc}"
    finally:
        feeds_module.PARSERS = saved
    return result, time.perf_counter() - start


def _rs_json(data: bytes, url: str) -> tuple[Any, float]:
    """feedparser-rs on a JSON Feed, mapped to entries as its XML results are."""
    start = time.perf_counter()
    result = feeds_module._run_feedparser_rs(data)
    entries = [feeds_module._entry(raw, url) for raw in result["entries"]]
    seconds = time.perf_counter() - start
    if not result["version"] and not entries:
        return f"error: {result.get('bozo_exception')}", seconds
    return [e for e in entries if e is not None], seconds


def _stored(entry: Entry) -> dict[str, Any]:
    article = to_article(entry, fetched_at=FETCHED_AT, fallback_source="x")
    if article is None:
        return {f: "<dropped>" for f in STORED_FIELDS}
    return {f: getattr(article, f) for f in STORED_FIELDS}


class Tally:
    """Agreement counts and examples of difference per field."""

    def __init__(self, fields: tuple[str, ...]) -> None:
        self.fields = fields
        self.same: Counter[str] = Counter()
        self.total = 0
        self.diffs: dict[str, list[tuple[str, int, Any, Any]]] = defaultdict(list)

    def add(self, name: str, index: int, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.total += 1
        for f in self.fields:
            if old[f] == new[f]:
                self.same[f] += 1
            else:
                self.diffs[f].append((name, index, old[f], new[f]))

    def print(self, title: str, limit: int, labels: tuple[str, str]) -> None:
        print(f"\n## {title}: {self.total} entries paired\n")
        print("| field | same | differ |\n|---|---:|---:|")
        for f in self.fields:
            print(f"| {f} | {self.same[f]} | {self.total - self.same[f]} |")
        for f in self.fields:
            for name, index, old, new in self.diffs[f][:limit]:
                print(
                    f"- {f} {name}#{index}\n    {labels[0]}: {_short(old)}\n"
                    f"    {labels[1]}: {_short(new)}"
                )
            extra = len(self.diffs[f]) - limit
            if extra > 0:
                print(f"  ... {extra} more {f} differences")


def _short(value: Any, width: int = 160) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def _entries(result: Any) -> list[Entry] | None:
    if isinstance(result, str):
        return None
    return result if isinstance(result, list) else result.entries


def compare(root: Path, limit: int) -> dict[str, Any]:
    files = _files(root)
    xml_entry, xml_stored = Tally(ENTRY_FIELDS), Tally(ENTRY_FIELDS)
    xml_stored = Tally(STORED_FIELDS)
    json_entry, json_stored = Tally(ENTRY_FIELDS), Tally(STORED_FIELDS)
    seconds: Counter[str] = Counter()
    outcome: Counter[str] = Counter()
    counts: Counter[str] = Counter()
    file_diffs: list[str] = []
    fallbacks: list[str] = []
    for path in files:
        name = str(path.relative_to(root))
        data = path.read_bytes()
        url = path.as_uri()
        old, t_old = _parse(data, url, ("feedparser",))
        rs_only, t_rs = _parse(data, url, ("feedparser-rs",))
        shipped, t_shipped = _parse(data, url, feeds_module.PARSERS)
        is_json = not isinstance(old, str) and old.format.startswith("json")
        if is_json:
            rs_only, t_rs = _rs_json(data, url)
        seconds["feedparser"] += t_old
        seconds["feedparser-rs alone"] += t_rs
        seconds["shipped"] += t_shipped
        old_entries, new_entries = _entries(old), _entries(shipped if not is_json else rs_only)
        if (
            not is_json
            and not isinstance(shipped, str)
            and not isinstance(rs_only, str)
            and (len(rs_only.entries) != len(shipped.entries) or rs_only.format != shipped.format)
        ):
            fallbacks.append(name)
        for label, entries in (("feedparser", old_entries), ("new", new_entries)):
            counts[label] += len(entries or [])
        key = ("json " if is_json else "") + (
            "both read"
            if old_entries is not None and new_entries is not None
            else "only feedparser read"
            if old_entries is not None
            else "only new read"
            if new_entries is not None
            else "both refused"
        )
        outcome[key] += 1
        if old_entries is None or new_entries is None:
            if (old_entries is None) != (new_entries is None):
                file_diffs.append(
                    f"{name}: feedparser {_short(old if old_entries is None else len(old_entries))}"
                    f" / new {_short(shipped if new_entries is None else len(new_entries))}"
                )
            continue
        if len(old_entries) != len(new_entries):
            file_diffs.append(
                f"{name}: {len(old_entries)} entries (feedparser) vs {len(new_entries)} (new)"
            )
        entry_tally, stored_tally = (
            (json_entry, json_stored) if is_json else (xml_entry, xml_stored)
        )
        for index, (a, b) in enumerate(zip(old_entries, new_entries, strict=False)):
            entry_tally.add(
                name,
                index,
                {f: getattr(a, f) for f in ENTRY_FIELDS},
                {f: getattr(b, f) for f in ENTRY_FIELDS},
            )
        # What is stored: entries without title or text are dropped, then paired in order.
        old_stored = [s for s in map(_stored, old_entries) if s["title"] != "<dropped>"]
        new_stored = [s for s in map(_stored, new_entries) if s["title"] != "<dropped>"]
        if len(old_stored) != len(new_stored):
            file_diffs.append(
                f"{name}: {len(old_stored)} stored articles (feedparser) vs {len(new_stored)} (new)"
            )
        for index, (a, b) in enumerate(zip(old_stored, new_stored, strict=False)):
            stored_tally.add(name, index, a, b)
    print(f"# feedparser vs feedparser-rs on {len(files)} files under {root}\n")
    for key, n in sorted(outcome.items()):
        print(f"- {key}: {n} files")
    print(f"- entries: feedparser {counts['feedparser']}, new {counts['new']}")
    print(f"- files where the shipped order fell back to feedparser: {len(fallbacks)}")
    for name in fallbacks:
        print(f"    {name}")
    print(
        "- parse time over all files (parse_feed, incl. preparation and page text): "
        + ", ".join(f"{k} {v:.2f} s" for k, v in seconds.items())
    )
    print("\n## Files whose outcome or entry count differ\n")
    for line in file_diffs:
        print(f"- {line}")
    labels = ("feedparser", "shipped   ")
    xml_entry.print("RSS/Atom: parsed Entry fields (feedparser vs shipped order)", limit, labels)
    xml_stored.print("RSS/Atom: stored Article fields (feedparser vs shipped order)", limit, labels)
    labels = ("ours      ", "rs        ")
    json_entry.print("JSON Feed: parsed Entry fields (our parser vs feedparser-rs)", limit, labels)
    json_stored.print(
        "JSON Feed: stored Article fields (our parser vs feedparser-rs)", limit, labels
    )
    return {
        "files": len(files),
        "outcome": dict(outcome),
        "entries": dict(counts),
        "seconds": dict(seconds),
        "fallbacks": fallbacks,
        "agreement": {
            title: {f: [t.same[f], t.total] for f in t.fields}
            for title, t in (
                ("xml_entry", xml_entry),
                ("xml_stored", xml_stored),
                ("json_entry", json_entry),
                ("json_stored", json_stored),
            )
        },
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=FEEDS_DIR)
    parser.add_argument("--list", type=int, default=1000, help="differences listed per field")
    parser.add_argument("--json", type=Path, help="write the summary as JSON here")
    args = parser.parse_args(argv)
    summary = compare(args.root, args.list)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1, default=str))


if __name__ == "__main__":
    main()
