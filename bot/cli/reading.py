"""`newsdesk search`, `export`, `stories` and `digest`: commands that read the archive."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import ConfigError, DigestChannel, Settings
from .console import _MAX_DIGEST_DAYS, EXIT_OK, CliError, _console, _m, _note
from .interrupt import _INTERRUPT
from .opening import _days, _open
from .progress import _Bar

if TYPE_CHECKING:
    from ..search.engine import SearchPage
    from ..services import Newsdesk


async def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from ..render.terminal import print_search_page
    from ..search.query import QueryError, parse_query

    text = " ".join(args.query)
    date_from = date_to = None
    if args.date:
        first, last = _days("--date", args.date, settings.tz)
        date_from, date_to = _day_bounds(first, last, settings.tz)
    typed = parse_query(text, allow_empty=True)
    nothing = not (typed.has_words or typed.excluded or typed.has_filters)
    if nothing and not (args.source or args.date):
        # Symbols never cause an error: an empty search, said plainly.
        _note(f"no words to search for in {text!r}")
        if args.json:
            print(json.dumps(_search_json(text, None, args), indent=2))
        return EXIT_OK
    nd = await _open(args, settings, create=False, read_only=True)
    try:
        try:
            page = await nd.search(
                text,
                date_from=date_from,
                date_to=date_to,
                source=args.source,
                limit=args.limit,
                offset=args.offset,
            )
        except QueryError as exc:
            raise CliError(str(exc)) from None
        if args.source and not page.total and not page.hits:
            await _check_source(nd, args.source)
    finally:
        await nd.close()
    if args.json:
        print(json.dumps(_search_json(text, page, args), ensure_ascii=False, indent=2))
    else:
        print_search_page(page, _console())
    return EXIT_OK


def _day_bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    from datetime import UTC, time

    start = datetime.combine(first, time(), tz).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(), tz).astimezone(UTC)
    return start, end


async def _check_source(nd: Newsdesk, source: str) -> None:
    """An outlet no stored article comes from is a mistake: say so, with close names."""
    names = await nd.source_names()
    wanted = source.strip().casefold()
    if any(name.casefold().startswith(wanted) for name in names):
        return
    close = _close_names(wanted, names)
    if close:
        hint = "did you mean " + ", ".join(repr(c) for c in close) + "?"
    elif names:
        hint = "known sources: " + ", ".join(repr(n) for n in names[:5])
        hint += ", …" if len(names) > 5 else ""
    else:
        hint = "the archive is empty"
    raise CliError(f"--source {source!r}: no stored article comes from it; {hint}")


def _close_names(wanted: str, names: Sequence[str], limit: int = 3) -> list[str]:
    """Names that ``wanted`` (casefolded) may have meant to start: "harbour" -> Harbor City Ledger."""
    import difflib

    def score(name: str) -> float:
        folded = name.casefold()
        parts = [folded, folded[: len(wanted)], *folded.split()]
        if wanted in folded:
            return 1.0
        return max(difflib.SequenceMatcher(None, wanted, part).ratio() for part in parts)

    scored = sorted(((score(n), n) for n in names), key=lambda pair: -pair[0])
    return [name for value, name in scored if value >= 0.75][:limit]


def _search_json(text: str, page: SearchPage | None, args: argparse.Namespace) -> dict[str, Any]:
    hits = [] if page is None else page.hits
    return {
        "query": text,
        "total": 0 if page is None else page.total,
        "total_capped": False if page is None else page.total_capped,
        "offset": args.offset,
        "limit": args.limit,
        "hits": [
            {
                "article_id": h.article_id,
                "story_id": h.story_id,
                "title": h.title,
                "url": h.url,
                "source": h.source,
                "published_at": h.published_at.isoformat() if h.dated else None,
                "snippet": h.snippet,
                "category": h.category,
                "image_url": h.image_url,
            }
            for h in hits
        ],
    }


def export_line(record: dict[str, Any]) -> str:
    """One exported article as the JSON line ``newsdesk export`` writes."""
    return json.dumps(record, ensure_ascii=False) + "\n"


def export_jsonl(database: Path, out: Any) -> int:
    """Write the store at ``database`` to ``out`` exactly as ``newsdesk export`` does."""
    from ..services import export_records

    count = 0
    for record in export_records(database):
        out.write(export_line(record))
        count += 1
    return count


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    output = Path(args.output) if args.output else None
    if output is not None:
        if output.is_dir():
            raise CliError(f"-o {output}: that is a folder; give a file name")
        if not output.parent.is_dir():
            raise CliError(f"-o {output}: no folder {output.parent}; create it first")
    nd = await _open(args, settings, create=False, read_only=True)
    try:
        total = await nd.article_count()
        records = nd.export_records  # called in the worker thread, which owns its connection
    finally:
        await nd.close()
    stop = threading.Event()

    def write(out: Any, bar: _Bar) -> int:
        count = 0
        with contextlib.closing(records()) as rows:
            for record in rows:
                if stop.is_set():
                    break
                out.write(export_line(record))
                count += 1
                if count % 1000 == 0:
                    bar.advance(1000)
        bar.advance(count % 1000)
        return count

    def run(bar: _Bar) -> int:
        if output is None:
            count = write(sys.stdout, bar)
            sys.stdout.flush()
            return count
        partial = output.with_name(f".{output.name}.partial")
        try:
            with open(partial, "w", encoding="utf-8") as out:
                count = write(out, bar)
            if stop.is_set():
                raise InterruptedError
            partial.replace(output)  # the file appears whole or not at all
        finally:
            partial.unlink(missing_ok=True)
        return count

    with _Bar("exporting", "articles", total=total) as bar:
        work = asyncio.get_running_loop().run_in_executor(None, run, bar)
        try:
            count = await asyncio.shield(work)
        except asyncio.CancelledError:
            stop.set()
            try:
                await work
            except (InterruptedError, OSError):
                pass
            raise
        except OSError as exc:
            if isinstance(exc, BrokenPipeError):
                raise
            raise CliError(f"-o {output}: cannot write it ({exc.strerror or exc})") from None
    if output is not None:
        _console().print(f"exported {count} article(s) to {_m(output)}", soft_wrap=True)
    return EXIT_OK


async def cmd_stories(args: argparse.Namespace, settings: Settings) -> int:
    since = None
    if args.since:
        first, _last = _days("--since", args.since, settings.tz)
        since = _day_bounds(first, first, settings.tz)[0]
    regrouped = 0

    def count() -> int:
        return regrouped

    _INTERRUPT.stored, _INTERRUPT.noun = count, "regrouped"
    nd = await _open(args, settings, create=False)
    try:
        with _Bar("regrouping", "articles", total=await nd.article_count(since=since)) as bar:

            def progress(articles: int) -> None:
                nonlocal regrouped
                regrouped += articles
                bar.advance(articles)

            report = await nd.rebuild_stories(since=since, progress=progress)
    finally:
        await nd.close()
    _console().print(f"rebuilt stories: {_m(report)}")
    return EXIT_OK


def _channel_for(settings: Settings, channel_id: int | None) -> DigestChannel:
    if channel_id is not None:
        for channel in settings.channels:
            if channel.channel_id == channel_id:
                return channel
        raise ConfigError(
            f"--channel {channel_id}: not in NEWSDESK_DIGEST_CHANNELS; "
            "list it there or leave --channel out for the default digest"
        )
    if settings.channels:
        return settings.channels[0]
    from ..config import parse_time

    return DigestChannel(
        channel_id=0,
        time=parse_time(settings.digest_time),
        timezone=settings.timezone,
        max_stories=settings.digest_max_stories,
    )


async def _print_digest(nd: Newsdesk, channel: DigestChannel, day: date, as_json: bool) -> None:
    from ..render.jsonout import digest_to_json
    from ..render.terminal import print_digest

    digest = await nd.build_digest(channel, day)
    if as_json:
        print(json.dumps(digest_to_json(digest), ensure_ascii=False, indent=2))
    else:
        print_digest(digest, _console())


async def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from ..render.jsonout import digest_to_json
    from ..render.terminal import print_digest

    channel = _channel_for(settings, args.channel)
    if args.date:
        first, last = _days("--date", args.date, channel.tz)
    else:
        first = last = datetime.now(channel.tz).date()
    days = (last - first).days + 1
    if days > _MAX_DIGEST_DAYS:
        raise CliError(
            f"--date {args.date!r} is {days} days; print at most {_MAX_DIGEST_DAYS} at a time"
        )
    nd = await _open(args, settings, create=False, read_only=True)
    try:
        digests = [await nd.build_digest(channel, first + timedelta(days=n)) for n in range(days)]
    finally:
        await nd.close()
    if args.json:
        data = [digest_to_json(d) for d in digests]
        print(json.dumps(data[0] if days == 1 else data, ensure_ascii=False, indent=2))
        return EXIT_OK
    console = _console()
    for index, digest in enumerate(digests):
        if index:
            console.print()
        print_digest(digest, console)
    return EXIT_OK


def digest_day_covering(moment: datetime, channel: DigestChannel) -> date:
    """The first digest day whose window (ending at the digest time) includes ``moment``."""
    local = moment.astimezone(channel.tz)
    return local.date() + timedelta(days=1) if local.time() >= channel.time else local.date()
