"""`newsdesk ingest`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.text import Text

from ..config import Settings
from .console import EXIT_FAILED, EXIT_OK, EXIT_PARTIAL, _console, _hint
from .interrupt import _INTERRUPT
from .opening import _open
from .progress import _Bar, _progress_console

if TYPE_CHECKING:
    from ..ingest.sources import SourceOutcome


async def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from ..ingest.sources import SourceOutcome

    outcome = SourceOutcome()
    _INTERRUPT.stored = lambda: outcome.report.new + outcome.report.updated
    nd = await _open(args, settings, create=True)
    try:
        with _Bar("ingesting", "entries", total=await _expected_entries(args.sources)) as bar:

            def progress(where: str, count: int) -> None:
                if not where.endswith(".jsonl"):  # counted as 1 until its size was known
                    bar.grow(count - 1)
                bar.advance(count)

            await nd.ingest_sources(args.sources, progress=progress, outcome=outcome)
    finally:
        await nd.close()
    _print_ingest_summary(outcome)
    report = outcome.report
    if not report.failed:
        return EXIT_OK
    worked = report.new or report.updated or report.duplicates or outcome.feeds_found
    return EXIT_PARTIAL if worked else EXIT_FAILED


async def _expected_entries(specs: Sequence[str]) -> int | None:
    """Lines in the JSON Lines files named, plus one per other file: the ETA's total."""
    if not _progress_console().is_terminal:
        return None
    from ..ingest.sources import expand_paths, is_url

    def count() -> int:
        total = sum(1 for s in specs if is_url(s))
        for path in expand_paths(Path(s) for s in specs if not is_url(s) and Path(s).exists()):
            if path.suffix.lower() != ".jsonl":
                total += 1
                continue
            try:
                with open(path, "rb") as fh:
                    total += sum(
                        chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b"")
                    )
            except OSError:
                pass
        return total

    return await asyncio.to_thread(count)


def _print_ingest_summary(outcome: SourceOutcome, console: Console | None = None) -> None:
    report = outcome.report
    console = console or _console()
    skipped = getattr(outcome, "skipped", [])
    console.print(
        f"ingested {outcome.sources} source(s): [bold]{report.new}[/] new, "
        f"{report.updated} updated, {report.duplicates} duplicates, {report.failed} failed"
        + (f", {len(skipped)} skipped (not articles)" if skipped else "")
    )
    if outcome.pages_fetched or outcome.pages_failed:
        console.print(
            f"article pages of summary-only feeds: {outcome.pages_fetched} fetched, "
            f"{outcome.pages_failed} failed (those articles keep the feed's summary)"
        )
    if outcome.feeds_found:
        console.print(f"subscribed to {len(outcome.distinct_feeds())} feed(s) from OPML")
    for where, count in getattr(outcome, "opml_in_folders", []):
        console.print(
            f"  found OPML {where} listing {count} feed(s): not subscribed"
            f" (to subscribe: newsdesk ingest {where})",
            markup=False,
        )
    for where, reason in report.errors[:20]:
        console.print(
            Text.assemble("  ", ("failed", "red"), f" {where}: {_hint(reason)}"), soft_wrap=True
        )
    if len(report.errors) > 20:
        console.print(f"  … and {len(report.errors) - 20} more failures")
    for where, reason in skipped[:20]:
        console.print(
            Text.assemble("  ", ("skipped", "yellow"), f" {where}: {reason}"), soft_wrap=True
        )
    if len(skipped) > 20:
        console.print(f"  … and {len(skipped) - 20} more skipped")
