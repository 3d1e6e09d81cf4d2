"""`newsdesk poll`, `db`, `demo`, `config check`, `health`, `backup` and `run`."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from rich.text import Text

from ..config import ConfigError, Settings
from ..database_url import redact
from .console import (
    DEMO_DB,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_PARTIAL,
    CliError,
    _console,
    _err,
    _hint,
    _m,
    _stderr_console,
    _warn,
)
from .ingesting import _print_ingest_summary
from .interrupt import _INTERRUPT
from .opening import _database, _open
from .progress import _Bar
from .reading import _channel_for, _print_digest, digest_day_covering


async def cmd_poll(args: argparse.Namespace, settings: Settings) -> int:
    settings.feed_urls()  # a missing feeds file or a bad URL in it stops here, exit 2
    stored = 0

    def count() -> int:
        return stored

    _INTERRUPT.stored = count
    nd = await _open(args, settings, create=True)
    try:
        await nd.sync_configured_feeds()
        due = await nd.due_feed_count(everything=args.all)
        with _Bar("polling", "feeds", total=due) as bar:

            def progress(feeds: int, articles: int) -> None:
                nonlocal stored
                stored += articles
                bar.advance(feeds)

            report = await nd.poll_once(progress=progress, everything=args.all)
    finally:
        await nd.close()
    console = _console()
    which = "active" if args.all else "due"
    console.print(
        f"polled {report.due} {which} feed(s): {report.fetched} fetched, {report.not_modified} not "
        f"modified, {report.failed} failed, {report.new_articles} new article(s)"
    )
    if report.pages_fetched or report.pages_failed or report.pages_deferred:
        later = f", {report.pages_deferred} left for the next poll" if report.pages_deferred else ""
        console.print(
            f"article pages: {report.pages_fetched} fetched, {report.pages_failed} failed{later}"
        )
    for _feed_id, url, message in report.errors:
        console.print(
            Text.assemble("  ", ("failed", "red"), f" {url}: {_hint(message)}"), soft_wrap=True
        )
    for _feed_id, url, message in report.page_errors[:20]:
        console.print(
            Text.assemble("  ", ("page failed", "yellow"), f" {url}: {message}"), soft_wrap=True
        )
    if len(report.page_errors) > 20:
        console.print(f"  … and {len(report.page_errors) - 20} more pages")
    if report.due and report.failed == report.due:
        return EXIT_FAILED
    return EXIT_PARTIAL if report.failed else EXIT_OK


async def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    if args.db_command == "copy":
        return await _cmd_db_copy(args)
    shown = redact(_database(args, settings))
    if args.db_command == "check":
        nd = await _open(args, settings, create=False)  # the index check needs a writer
        try:
            problems = await nd.store_problems()
        finally:
            await nd.close()
        if problems:
            _err(f"database {shown}: " + "; ".join(" ".join(p.split()) for p in problems))
            return EXIT_FAILED
        _console().print(Text(f"database {shown}: ok (file and search index)"), soft_wrap=True)
        return EXIT_OK
    nd = await _open(args, settings, create=False)
    try:
        problems = await nd.store_problems()
        if any(p.startswith("file:") for p in problems):
            raise CliError(
                f"database {shown} is damaged ({problems[0]}); the search index cannot be "
                "rebuilt over it: restore it from a backup",
                EXIT_FAILED,
            )
        await nd.repair_search_index()
        left = await nd.store_problems()
    finally:
        await nd.close()
    if left:
        raise CliError(f"database {shown}: still {left[0]} after the repair", EXIT_FAILED)
    what = "rebuilt the search index" if problems else "nothing to repair; rebuilt the search index"
    _console().print(Text(f"database {shown}: {what}; ok"), soft_wrap=True)
    return EXIT_OK


async def _cmd_db_copy(args: argparse.Namespace) -> int:
    """``db copy SOURCE TARGET``: a whole store into a new one, counts verified."""
    from ..config import check_database_location
    from ..services import DriverError, NoDatabaseError, StoreError, copy_database

    source = check_database_location(args.source)  # a bad one: ConfigError, one line, exit 2
    target = check_database_location(args.target)
    if isinstance(source, Path) and not source.is_file():
        raise CliError(f"db copy: no database at {source}")
    with _Bar("copying", "rows") as bar:
        try:
            copied = await copy_database(
                source, target, progress=lambda _table, rows: bar.advance(rows)
            )
        except NoDatabaseError:
            raise CliError(f"db copy: no Newsdesk store in {redact(source)}") from None
        except (StoreError, OSError, *DriverError) as exc:
            raise CliError(
                f"db copy {redact(source)} -> {redact(target)}: {exc}", EXIT_FAILED
            ) from None
    counts = {c.table: c.target_rows for c in copied}
    total = sum(counts.values())
    _console().print(
        Text(
            f"copied {redact(source)} to {redact(target)}: {counts['articles']:,} articles, "
            f"{counts['stories']:,} stories, {counts['feeds']:,} feeds, "
            f"{counts['digests']:,} digests ({total:,} rows in {len(copied)} tables); "
            "every table's count verified"
        ),
        soft_wrap=True,
    )
    return EXIT_OK


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Ingest the bundled sample corpus and print the digest of its newest day."""
    from ..sample import sample_sources

    db_path = Path(args.db) if args.db else DEMO_DB
    # With --json, stdout is the digest alone; the rest goes to stderr.
    chatter = _stderr_console() if args.json else _console()
    nd = await _open(args, settings, create=True, database=db_path)
    try:
        outcome = await nd.ingest_sources([str(p) for p in sample_sources()])
        _print_ingest_summary(outcome, chatter)
        newest = await nd.newest_article_time()
        if newest is None:
            raise CliError("the sample corpus produced no articles", EXIT_FAILED)
        channel = _channel_for(settings, None)
        day = digest_day_covering(newest, channel)
        chatter.print(
            f"\n[dim]Digest for {day.isoformat()} (the sample corpus's newest day; "
            f"database {_m(db_path)}):[/]\n",
            markup=True,
        )
        await _print_digest(nd, channel, day, args.json)
    finally:
        await nd.close()
    return EXIT_OK


async def cmd_config_check(args: argparse.Namespace, settings: Settings) -> int:
    from ..config import unknown_variables

    # What `run` and `poll` would refuse is refused here too.
    settings.feed_urls()
    _check_database_path(_database(args, settings))
    for line in unknown_variables(args.env_file_used):
        _warn(line)
    if settings.discord_token is None:
        _warn("DISCORD_TOKEN is not set: the command line works, `newsdesk run` will not start")
    print(json.dumps(settings.masked(), indent=2, default=str))
    return EXIT_OK


async def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when the bot on this database is running, connected and polling; else 1."""
    nd = await _open(args, settings, create=False)
    try:
        report = await nd.health()
    finally:
        await nd.close()
    if args.json:
        print(json.dumps({"ok": report.ok, "problems": report.problems, "facts": report.facts}))
    else:
        console = _console()
        console.print(Text("healthy", "green") if report.ok else Text("unhealthy", "red"))
        for line in report.problems:
            console.print(Text.assemble("  ", ("problem", "red"), f" {line}"), soft_wrap=True)
        for line in report.facts:
            console.print(f"  {_m(line)}", soft_wrap=True)
    return EXIT_OK if report.ok else EXIT_FAILED


def _check_backup_target(target: Path) -> None:
    if target.is_dir():
        raise CliError(f"backup {target}: that is a folder; give a file name")
    if not target.parent.is_dir():
        raise CliError(f"backup {target}: no folder {target.parent}; create it first")


async def cmd_backup(args: argparse.Namespace, settings: Settings) -> int:
    """An online copy of the database (safe while the bot runs)."""
    from ..services import DriverError

    target = Path(args.file)
    _check_backup_target(target)
    nd = await _open(args, settings, create=False)
    try:
        size = await nd.backup(target)
    except ValueError as exc:
        raise CliError(f"backup {target}: {exc}") from None
    except (OSError, *DriverError) as exc:
        raise CliError(f"backup {target}: cannot write it ({exc})", EXIT_FAILED) from None
    finally:
        await nd.close()
    _console().print(
        f"backed up {_m(nd.database)} to {_m(target)} ({size:,} bytes)", soft_wrap=True
    )
    return EXIT_OK


def _check_database_path(path: Path | str) -> None:
    """Refuse a database path that `run`, `poll` or `ingest` could not create (creates nothing).

    A PostgreSQL URL was checked with the settings; the server is not contacted here."""
    if isinstance(path, str):
        return
    if path.is_dir():
        raise CliError(f"database {path} is a folder; set NEWSDESK_DATABASE or --db to a file")
    if path.exists():
        return
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise CliError(
            f"database {path}: cannot create it under {folder}; "
            "set NEWSDESK_DATABASE or --db to a file in a folder you can write to"
        )


async def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    if settings.discord_token is None or not settings.discord_token.get_secret_value().strip():
        raise ConfigError(
            "DISCORD_TOKEN is not set: `newsdesk run` needs the bot token. Fix: create a bot in "
            "the Discord developer portal (Bot -> Reset Token) and put DISCORD_TOKEN=... in .env"
        )
    settings.feed_urls()
    import aiohttp
    import discord

    from ..discordbot.app import run_bot

    nd = await _open(args, settings, create=True)
    try:
        await run_bot(settings, nd)
    except discord.LoginFailure:
        raise ConfigError(
            "DISCORD_TOKEN was refused by Discord. Fix: copy the current token from the "
            "developer portal (Bot -> Reset Token) into .env"
        ) from None
    except (aiohttp.ClientError, OSError) as exc:
        _err(f"cannot reach Discord ({type(exc).__name__}: {exc}); check the network and retry")
        return EXIT_FAILED
    finally:
        await nd.close()
    return EXIT_OK


cmd_run.handles_sigint = True  # type: ignore[attr-defined]  # the bot shuts down gracefully
