"""The `newsdesk` command: a thin face over :class:`bot.services.Newsdesk`.

Exit codes: 0 success, 1 the work failed (e.g. every source failed),
2 wrong usage or configuration (nothing was touched).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .config import ConfigError, DigestChannel, Settings, load_settings

log = logging.getLogger("newsdesk")

DEMO_DB = Path("data/demo.db")


def _console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _err(message: str) -> None:
    Console(stderr=True, highlight=False).print(f"[bold red]error:[/] {message}", markup=True)


def setup_logging(settings: Settings) -> None:
    from .logs import configure_logging, register_secret

    # Redact the token itself, not only strings shaped like a Discord token.
    if settings.discord_token is not None:
        register_secret(settings.discord_token.get_secret_value())
    configure_logging(settings.log_level, settings.log_format)


# -- commands -------------------------------------------------------------


async def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from .ingest.sources import SourceOutcome
    from .services import Newsdesk

    nd = await Newsdesk.open(settings, database=args.db)
    try:
        outcome: SourceOutcome = await _with_progress(
            lambda progress: nd.ingest_sources(args.sources, progress=progress)
        )
    finally:
        await nd.close()
    _print_ingest_summary(outcome)
    nothing_worked = outcome.report.failed and not (
        outcome.report.new
        or outcome.report.updated
        or outcome.report.duplicates
        or outcome.feeds_found
    )
    return 1 if nothing_worked else 0


async def _with_progress(run: Callable[[Any], Awaitable[Any]]) -> Any:
    """Run ``run(progress)`` with a live progress line when stderr is a terminal."""
    err = Console(stderr=True)
    if not err.is_terminal:
        return await run(None)
    from rich.progress import Progress, SpinnerColumn, TextColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True
    ) as bar:
        task = bar.add_task("ingesting", total=None)
        done = 0

        def progress(where: str, count: int) -> None:
            nonlocal done
            done += count
            bar.update(task, description=f"{done:,} entries  {Path(where).name[:60]}")

        return await run(progress)


def _print_ingest_summary(outcome: Any) -> None:
    report = outcome.report
    console = _console()
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
        console.print(f"  [red]failed[/] {where}: {reason}", markup=True)
    if len(report.errors) > 20:
        console.print(f"  … and {len(report.errors) - 20} more failures")
    for where, reason in skipped[:20]:
        console.print(f"  [yellow]skipped[/] {where}: {reason}", markup=True)
    if len(skipped) > 20:
        console.print(f"  … and {len(skipped) - 20} more skipped")


async def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    from .ingest.netguard import UnsafeUrlError
    from .services import FeedError, Newsdesk

    nd = await Newsdesk.open(settings, database=args.db)
    console = _console()
    try:
        if args.feeds_command == "add":
            try:
                feed = await nd.add_feed(args.url, check=not args.no_check, fulltext=args.fulltext)
            except (FeedError, UnsafeUrlError, ValueError) as exc:
                _err(str(exc))
                return 1
            mode = f" (full text: {feed.fulltext})" if feed.fulltext else ""
            console.print(f"subscribed: #{feed.id} {feed.url} {feed.title or ''}{mode}")
        elif args.feeds_command == "remove":
            if not await nd.remove_feed(args.feed_id):
                _err(f"no shared feed #{args.feed_id}; see `newsdesk feeds list`")
                return 1
            console.print(f"removed feed #{args.feed_id}")
        else:
            feeds = await nd.list_feeds()
            if args.json:
                print(json.dumps([_feed_json(f) for f in feeds], indent=2))
                return 0
            table = Table(
                "id",
                "url",
                "server",
                "full text",
                "last success",
                "failures",
                "next poll",
                "status",
            )
            for f in feeds:
                table.add_row(
                    str(f.id),
                    f.url,
                    "shared" if f.guild_id == 0 else str(f.guild_id),
                    f.fulltext or f"{settings.fulltext} (default)",
                    _when(f.last_success_at),
                    str(f.consecutive_failures),
                    _when(f.next_poll_at),
                    "paused" if f.paused else (f.last_error or "ok")[:60],
                )
            console.print(table if feeds else "no feeds yet: `newsdesk feeds add URL`")
    finally:
        await nd.close()
    return 0


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _feed_json(f: Any) -> dict[str, Any]:
    out = dict(f.__dict__) if hasattr(f, "__dict__") else {k: getattr(f, k) for k in f.__slots__}
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in out.items()}


async def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    from .services import Newsdesk

    nd = await Newsdesk.open(settings, database=args.db)
    try:
        await nd.sync_configured_feeds()
        report = await nd.poll_once()
    finally:
        await nd.close()
    console = _console()
    console.print(
        f"polled {report.due} due feed(s): {report.fetched} fetched, {report.not_modified} not "
        f"modified, {report.failed} failed, {report.new_articles} new article(s)"
    )
    if report.pages_fetched or report.pages_failed or report.pages_deferred:
        later = f", {report.pages_deferred} left for the next poll" if report.pages_deferred else ""
        console.print(
            f"article pages: {report.pages_fetched} fetched, {report.pages_failed} failed{later}"
        )
    for _feed_id, url, message in report.errors:
        console.print(f"  [red]failed[/] {url}: {message}", markup=True)
    for _feed_id, url, message in report.page_errors[:20]:
        console.print(f"  [yellow]page failed[/] {url}: {message}", markup=True)
    if len(report.page_errors) > 20:
        console.print(f"  … and {len(report.page_errors) - 20} more pages")
    return 0


async def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .render.terminal import print_search_page
    from .search.dates import DateParseError
    from .search.query import QueryError
    from .services import Newsdesk

    nd = await Newsdesk.open(settings, database=args.db)
    try:
        date_from = date_to = None
        if args.date:
            date_from, date_to = nd.parse_dates(args.date)
        page = await nd.search(
            " ".join(args.query),
            date_from=date_from,
            date_to=date_to,
            source=args.source,
            limit=args.limit,
            offset=args.offset,
        )
    except (QueryError, DateParseError) as exc:
        _err(str(exc))
        return 2
    finally:
        await nd.close()
    if args.json:
        print(
            json.dumps(
                {
                    "total": page.total,
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
                        }
                        for h in page.hits
                    ],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        print_search_page(page, _console())
    return 0


def export_jsonl(database: Path, out: Any) -> int:
    """Write every article as one JSON line to ``out``; returns how many."""
    import sqlite3

    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    count = 0
    try:
        rows = conn.execute(
            "SELECT id, url, source, title, body, published_at, category, story_id, author,"
            " dated FROM articles ORDER BY id"
        )
        for row in rows:
            record = {
                "id": row[0],
                "url": row[1],
                "source": row[2],
                "title": row[3],
                "text": row[4],
                # null when the source gave no date: none is invented
                "published_at": datetime.fromtimestamp(row[5], UTC).isoformat() if row[9] else None,
                "category": row[6],
                "story_id": row[7],
                "author": row[8],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    finally:
        conn.close()
    return count


async def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from .store import open_db

    database = Path(args.db or settings.database)
    db = await open_db(database)  # creates or migrates it first
    await db.close()

    def run() -> int:
        if not args.output:
            return export_jsonl(database, sys.stdout)
        with open(args.output, "w", encoding="utf-8") as out:
            return export_jsonl(database, out)

    count = await asyncio.to_thread(run)
    if args.output:
        _console().print(f"exported {count} article(s) to {args.output}")
    return 0


async def cmd_stories(args: argparse.Namespace, settings: Settings) -> int:
    from .services import Newsdesk

    since = None
    if args.since:
        try:
            since = datetime.combine(date.fromisoformat(args.since), time(), settings.tz)
        except ValueError:
            _err(f"--since {args.since!r}: use a date like 2023-09-17")
            return 2
    nd = await Newsdesk.open(settings, database=args.db)
    try:
        report = await nd.rebuild_stories(since=since)
    finally:
        await nd.close()
    _console().print(f"rebuilt stories: {report}")
    return 0


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
    from .config import parse_time

    return DigestChannel(
        channel_id=0,
        time=parse_time(settings.digest_time),
        timezone=settings.timezone,
        max_stories=settings.digest_max_stories,
    )


async def _print_digest(nd: Any, channel: DigestChannel, day: date, as_json: bool) -> None:
    from .render.jsonout import digest_to_json
    from .render.terminal import print_digest

    digest = await nd.build_digest(channel, day)
    if as_json:
        print(json.dumps(digest_to_json(digest), ensure_ascii=False, indent=2))
    else:
        print_digest(digest, _console())


async def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from .services import Newsdesk

    channel = _channel_for(settings, args.channel)
    try:
        day = date.fromisoformat(args.date) if args.date else datetime.now(channel.tz).date()
    except ValueError:
        _err(f"--date {args.date!r}: use a date like 2023-09-17")
        return 2
    nd = await Newsdesk.open(settings, database=args.db)
    try:
        await _print_digest(nd, channel, day, args.json)
    finally:
        await nd.close()
    return 0


def digest_day_covering(moment: datetime, channel: DigestChannel) -> date:
    """The first digest day whose window (ending at the digest time) includes ``moment``."""
    local = moment.astimezone(channel.tz)
    return local.date() + timedelta(days=1) if local.time() >= channel.time else local.date()


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Ingest the bundled sample corpus and print the digest of its newest day."""
    from .sample import sample_sources
    from .services import Newsdesk

    db_path = Path(args.db) if args.db else DEMO_DB
    nd = await Newsdesk.open(settings, database=db_path)
    try:
        outcome = await nd.ingest_sources([str(p) for p in sample_sources()])
        _print_ingest_summary(outcome)
        newest = await nd.newest_article_time()
        if newest is None:
            _err("the sample corpus produced no articles")
            return 1
        channel = _channel_for(settings, None)
        day = digest_day_covering(newest, channel)
        _console().print(
            f"\n[dim]Digest for {day.isoformat()} (the sample corpus's newest day; "
            f"database {db_path}):[/]\n",
            markup=True,
        )
        await _print_digest(nd, channel, day, args.json)
    finally:
        await nd.close()
    return 0


async def cmd_config_check(args: argparse.Namespace, settings: Settings) -> int:
    print(json.dumps(settings.masked(), indent=2, default=str))
    return 0


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise ConfigError(
            "DISCORD_TOKEN is not set: `newsdesk run` needs the bot token. Fix: create a bot in "
            "the Discord developer portal (Bot -> Reset Token) and put DISCORD_TOKEN=... in .env"
        )
    import aiohttp
    import discord

    from .discordbot.app import run_bot
    from .services import Newsdesk

    nd = await Newsdesk.open(settings, database=args.db)
    try:
        await run_bot(settings, nd)
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN was refused by Discord. Fix: copy the current token from the "
            "developer portal (Bot -> Reset Token) into .env"
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        _err(f"cannot reach Discord ({type(exc).__name__}: {exc}); check the network and retry")
        return 1
    finally:
        await nd.close()
    return 0


# -- argument parsing ------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsdesk", description="Newsdesk: the news as a daily briefing, one line per story."
    )
    parser.add_argument("--env-file", default=".env", help="settings file (default: .env)")
    parser.add_argument("--db", help="database file (default: NEWSDESK_DATABASE)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("demo", help="offline demo: ingest the sample corpus, print its digest")
    p.add_argument("--json", action="store_true", help="print the digest as JSON")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("ingest", help="ingest files, folders, URLs, JSON Lines and OPML")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("feeds", help="manage shared feed subscriptions")
    fsub = p.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    fa = fsub.add_parser("add", help="subscribe to a feed (tries one fetch first)")
    fa.add_argument("url")
    fa.add_argument("--no-check", action="store_true", help="save without a test fetch")
    fa.add_argument(
        "--fulltext",
        choices=["auto", "always", "never"],
        help="fetch each article's page: auto (when the feed gives only a summary), always or "
        "never (default: NEWSDESK_FULLTEXT)",
    )
    fr = fsub.add_parser("remove", help="unsubscribe")
    fr.add_argument("feed_id", type=int)
    fl = fsub.add_parser("list", help="feeds and their health")
    fl.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_feeds, json=False)

    p = sub.add_parser("poll", help="fetch every due feed once")
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser("search", help="search stored articles")
    p.add_argument("query", nargs="+")
    p.add_argument("--date", help="today, yesterday, 2023-09-17, 2023-09-10..2023-09-17, ...")
    p.add_argument("--source", help="only this outlet")
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("export", help="write every article as JSON Lines")
    p.add_argument("--format", choices=["jsonl"], default="jsonl")
    p.add_argument("--output", "-o", help="file (default: standard output)")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("stories", help="story maintenance")
    ssub = p.add_subparsers(dest="stories_command", required=True, metavar="ACTION")
    sr = ssub.add_parser("rebuild", help="recompute stories (after tuning or an import)")
    sr.add_argument("--since", help="only articles published since this date (YYYY-MM-DD)")
    p.set_defaults(func=cmd_stories)

    p = sub.add_parser("digest", help="print a digest as it would be posted")
    p.add_argument("--date", help="the digest's date (default: today in the channel's timezone)")
    p.add_argument("--channel", type=int, help="a channel from NEWSDESK_DIGEST_CHANNELS")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_digest)

    p = sub.add_parser("config", help="configuration")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    csub.add_parser("check", help="print the effective configuration, secrets masked")
    p.set_defaults(func=cmd_config_check)

    p = sub.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)")
    p.set_defaults(func=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        env_file = args.env_file if Path(args.env_file).exists() else None
        settings = load_settings(env_file)
        setup_logging(settings)
        return asyncio.run(args.func(args, settings))
    except ConfigError as exc:
        _err(str(exc))
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
