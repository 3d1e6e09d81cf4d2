"""The `newsdesk` command: a thin face over :class:`bot.services.Newsdesk`.

Exit codes (also in the README):

=====  ==============================================================
0      success
1      the work failed: every source or every due feed failed
2      wrong usage, configuration or path; nothing was changed
3      partly done: some sources, entries or feeds failed, the rest
       was stored (``ingest``, ``poll``)
130    interrupted (Ctrl-C); committed work is kept
141    the output pipe was closed (``newsdesk export | head``)
=====  ==============================================================

Every expected failure is one line on stderr (``error: ...``) naming the
path or value and what to do; only a bug gives a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import difflib
import errno
import json
import logging
import os
import re
import signal
import socket
import sys
import threading
from collections.abc import Callable, Coroutine, Iterable, Sequence
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.segment import Segment
from rich.text import Text

from . import __version__
from .config import ConfigError, DigestChannel, Settings, load_settings
from .logs import set_live_console

if TYPE_CHECKING:
    from .ingest.sources import SourceOutcome
    from .models import FeedHealth
    from .search.engine import SearchPage
    from .services import Newsdesk

log = logging.getLogger("newsdesk")

DEMO_DB = Path("data/demo.db")

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130
EXIT_PIPE = 141

_MAX_DIGEST_DAYS = 92  # `digest --date` with a range prints at most this many briefings


class CliError(Exception):
    """An expected failure: ``message`` is the one line the user sees."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# Control characters (but newline and tab), DEL, C1 and the bidi controls:
# outside text (file names, URLs, feed titles, errors quoting a server) must
# not move the cursor, recolour or reorder the terminal.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class _SafeConsole(Console):
    """Every piece of text it writes has its control characters replaced by
    U+FFFD (one cell, so the layout stays as measured); rich's own styling
    codes are not text and pass. Outside text put into a markup string must
    still go through :func:`_m` (rich markup) first."""

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            Segment(_TERMINAL_UNSAFE.sub("\ufffd", text), style, control)
            if control is None and _TERMINAL_UNSAFE.search(text)
            else Segment(text, style, control)
            for text, style, control in buffer
        )


def _m(text: object) -> str:
    """Outside text for a markup string: its square brackets escaped."""
    return escape(str(text))


class _Console(_SafeConsole):
    """A closed pipe ends the command with exit code 141, as everywhere else (rich exits 1)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError


def _console() -> Console:
    return _Console(highlight=False, soft_wrap=False)


def _stderr_console() -> Console:
    return _SafeConsole(stderr=True, highlight=False, soft_wrap=False)


def _err(message: str) -> None:
    console = _stderr_console()
    console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)


def _warn(message: str) -> None:
    console = _stderr_console()
    console.print(Text.assemble(("warning:", "bold yellow"), " ", message), soft_wrap=True)


def _note(message: str) -> None:
    _stderr_console().print(Text(message), soft_wrap=True)


def setup_logging(settings: Settings) -> None:
    from .logs import configure_logging, register_secret

    # Redact the token itself, not only strings shaped like a Discord token.
    if settings.discord_token is not None:
        register_secret(settings.discord_token.get_secret_value())
    configure_logging(settings.log_level, settings.log_format)


_PRIVATE_HINTS = ("private or reserved address", "is this machine", "resolves only to private")


def _hint(message: str) -> str:
    """Name the setting that lifts a private-address refusal."""
    if any(h in message for h in _PRIVATE_HINTS) and "NEWSDESK_ALLOW_PRIVATE" not in message:
        return (
            f"{message} (set NEWSDESK_ALLOW_PRIVATE_ADDRESSES=true to allow addresses "
            "on your own network)"
        )
    return message


# -- Ctrl-C -----------------------------------------------------------------


class _Interrupt:
    """What Ctrl-C does while a command runs.

    The first Ctrl-C cancels the command, which rolls back its open
    transaction and closes the store; if that has not ended the process
    within ``GRACE`` seconds (a worker thread still busy, a long statement),
    the process exits anyway: SQLite keeps every committed transaction and
    drops the open one. Either way one line says how much was stored. A
    second Ctrl-C exits at once.
    """

    GRACE = 0.6

    def __init__(self) -> None:
        self.stored: Callable[[], int] | None = None  # committed so far, set by a command
        self.noun = "stored"
        self.hit = 0
        self.result: int | None = None  # the exit code, once the command has ended
        self._said = False
        self._lock = threading.Lock()

    def message(self) -> str:
        if self.stored is None:
            return "interrupted"
        return f"interrupted: {self.stored()} {self.noun}; run again to continue"

    def say(self) -> None:
        with self._lock:
            if self._said:
                return
            self._said = True
        # Straight to the file descriptor: no lock a busy thread could hold.
        clear = "\r\x1b[2K\x1b[?25h" if os.isatty(2) else ""
        try:
            os.write(2, f"{clear}{self.message()}\n".encode())
        except OSError:
            pass

    def exit_now(self) -> None:
        if self.result is None:
            self.say()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(self.result if self.result is not None else EXIT_INTERRUPTED)


def _run(coro: Coroutine[Any, Any, int], interrupt: _Interrupt) -> int:
    """Run ``coro`` to its exit code; Ctrl-C as :class:`_Interrupt` describes."""
    if threading.current_thread() is not threading.main_thread():
        return asyncio.run(coro)  # no signals off the main thread (tests)
    runner = asyncio.Runner()
    loop = runner.get_loop()
    running: list[asyncio.Task[Any]] = []

    async def command() -> int:
        running.append(asyncio.current_task())  # type: ignore[arg-type]
        return await coro

    def cancel() -> None:
        for task in running:
            task.cancel()

    def on_signals(data: bytes) -> None:
        for signum in data:
            if signum != signal.SIGINT:
                continue
            interrupt.hit += 1
            if interrupt.hit > 1:
                interrupt.exit_now()
            loop.call_soon_threadsafe(cancel)
            timer = threading.Timer(interrupt.GRACE, interrupt.exit_now)
            timer.daemon = True
            timer.start()

    # The C-level handler writes each signal to this socket at once, whatever
    # the main thread is doing; a watcher thread acts on it.
    reader, writer = socket.socketpair()
    writer.setblocking(False)

    def watch() -> None:
        with reader:
            while data := reader.recv(64):  # b"" once the writer is closed
                on_signals(data)

    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    previous_handler = signal.signal(signal.SIGINT, lambda *_: None)
    threading.Thread(target=watch, name="newsdesk-sigint", daemon=True).start()
    try:
        interrupt.result = runner.run(command())
        return interrupt.result
    except asyncio.CancelledError:
        if not interrupt.hit:
            raise
        interrupt.result = EXIT_INTERRUPTED
        _flush_quietly()
        interrupt.say()
        return interrupt.result
    finally:
        # Interrupted, the runner is left open: closing it would wait for
        # worker threads still busy (they report to its loop); the process
        # ends now or when the timer fires.
        if not interrupt.hit:
            try:
                runner.close()
            finally:
                signal.set_wakeup_fd(previous_fd)
                signal.signal(signal.SIGINT, previous_handler)
                writer.close()  # the watcher reads the end and stops


def _flush_quietly() -> None:
    try:
        sys.stdout.flush()
    except (OSError, ValueError):
        pass


# -- progress -----------------------------------------------------------------


def _progress_console() -> Console:
    return _SafeConsole(stderr=True)


class _CountColumn(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        total = f"/{int(task.total):,}" if task.total is not None else ""
        return Text(f"{int(task.completed):,}{total} {self.unit}")


def _rate(task: Task) -> float | None:
    """Items a second since the start (steadier than rich's windowed speed for batches)."""
    elapsed = task.elapsed
    if not elapsed or not task.completed:
        return None
    return task.completed / elapsed


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = _rate(task)
        return Text("" if rate is None else f"{rate:,.0f}/s", style="dim")


class _EtaColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = _rate(task)
        if rate is None or task.total is None:
            return Text("")
        remaining = max(0.0, task.total - task.completed) / rate
        minutes, seconds = divmod(int(remaining), 60)
        hours, minutes = divmod(minutes, 60)
        eta = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
        return Text(f"ETA {eta}", style="dim")


class _Bar:
    """A live progress line on stderr with counts, rate and ETA; nothing when not a terminal.

    Log records print above the line, never over it (see
    :func:`bot.logs.set_live_console`).
    """

    def __init__(self, description: str, unit: str, total: int | None = None) -> None:
        self.description = description
        self.unit = unit
        self.total = total
        self._progress: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> _Bar:
        console = _progress_console()
        if console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=20),
                _CountColumn(self.unit),
                _RateColumn(),
                _EtaColumn(),
                console=console,
                transient=True,
                redirect_stderr=False,  # log records: see set_live_console
            )
            self._progress.start()
            set_live_console(console)
            self._task = self._progress.add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            set_live_console(None)
            self._progress.stop()

    def advance(self, count: int = 1) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=count)

    def grow(self, count: int) -> None:
        """Add ``count`` to the expected total."""
        if self._progress is not None and count:
            total = self._progress.tasks[0].total or 0
            self._progress.update(self._task, total=total + count)


# -- opening the store ------------------------------------------------------------


def _database(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.db) if args.db else Path(settings.database)


async def _open(
    args: argparse.Namespace,
    settings: Settings,
    *,
    create: bool,
    database: Path | None = None,
    read_only: bool = False,
) -> Newsdesk:
    """The services over the store; one-line errors for a missing or unusable file.

    ``read_only=True`` for commands that only read: they work on a read-only
    file or disk."""
    from .services import (
        DamagedDatabaseError,
        DriverError,
        Newsdesk,
        NoDatabaseError,
        StoreError,
    )

    path = database or _database(args, settings)
    _OPENED.path = path
    try:
        return await Newsdesk.open(settings, database=path, create=create, read_only=read_only)
    except NoDatabaseError:
        raise CliError(f"no database at {path} (set NEWSDESK_DATABASE or --db)") from None
    except DamagedDatabaseError as exc:
        raise CliError(f"database {path}: {exc}", EXIT_FAILED) from None
    except StoreError as exc:
        raise CliError(f"database {path}: {exc}") from None
    except OSError as exc:
        folder = Path(exc.filename) if exc.filename else path.parent
        raise CliError(
            f"cannot create the database {path}: {folder}: {exc.strerror or exc}; "
            "set NEWSDESK_DATABASE or --db to a file in a folder you can write to"
        ) from None
    except DriverError as exc:
        known = _storage_error(exc)
        if known is not None:
            raise known from None
        if not read_only and _is_read_only_file(path):
            raise CliError(_read_only_message(path), EXIT_FAILED) from None
        raise CliError(
            f"cannot open the database {path}: {exc}; "
            "set NEWSDESK_DATABASE or --db to a Newsdesk database file"
        ) from None


class _Opened:
    """The database the running command opened (for one-line storage errors)."""

    path: Path | None = None


_OPENED = _Opened()


def _is_read_only_file(path: Path) -> bool:
    """The file (or, for a new file, its folder) cannot be written by us."""
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        return True
    try:
        return bool(os.statvfs(target).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def _read_only_message(path: Path | None) -> str:
    where = f"database {path}" if path else "the database"
    return (
        f"{where} is read-only: this command writes to it; make the file and its folder "
        "writable (reading commands such as search, digest and export work as they are)"
    )


def _storage_error(exc: BaseException) -> CliError | None:
    """The one line for a storage fault (disk full, damaged or read-only file,
    locked database), or ``None`` for any other error."""
    from .services import describe_storage_error

    kind = describe_storage_error(exc)
    path = _OPENED.path
    where = f"database {path}" if path else "the database"
    if kind == "disk full":
        done = ""
        if _INTERRUPT.stored is not None:
            done = f": {_INTERRUPT.stored()} {_noun()} before it"
        return CliError(f"disk full{done}; free space and run again", EXIT_FAILED)
    if kind == "damaged":
        return CliError(
            f"{where} is damaged ({exc}); nothing more was written: restore it from a backup",
            EXIT_FAILED,
        )
    if kind == "read-only":
        return CliError(_read_only_message(path), EXIT_FAILED)
    if kind == "locked":
        return CliError(f"{where} is locked by another process; try again", EXIT_FAILED)
    return None


def _noun() -> str:
    return "articles stored" if _INTERRUPT.noun == "stored" else f"articles {_INTERRUPT.noun}"


# -- dates ---------------------------------------------------------------------


def _days(option: str, text: str, tz: tzinfo) -> tuple[date, date]:
    """``text`` in the date language as (first day, last day), local to ``tz``."""
    from .search.dates import DateParseError, parse_days
    from .services import utcnow

    try:
        return parse_days(text, tz=tz, now=utcnow())
    except DateParseError as exc:
        raise CliError(f"{option} {text!r}: {exc}") from None


# -- commands ---------------------------------------------------------------------


async def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    from .ingest.sources import SourceOutcome

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
    from .ingest.sources import expand_paths, is_url

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


async def cmd_feeds(args: argparse.Namespace, settings: Settings) -> int:
    if args.feeds_command == "add":
        return await _feeds_add(args, settings)
    nd = await _open(args, settings, create=False, read_only=args.feeds_command == "list")
    console = _console()
    try:
        if args.feeds_command == "remove":
            feed = await nd.find_feed(args.feed, guild_id=0)
            if feed is None or not await nd.remove_feed(feed.id):
                raise CliError(f"no shared feed {args.feed}; see `newsdesk feeds list`")
            console.print(f"removed feed #{feed.id} {_m(feed.url)}", soft_wrap=True)
            return EXIT_OK
        if args.feeds_command == "export":
            return await _feeds_export(nd, args.output)
        if args.feeds_command in ("pause", "resume"):
            return await _feeds_pause(nd, args.feed, args.feeds_command == "pause", console)
        feeds = await nd.list_feeds()
    finally:
        await nd.close()
    if args.json:
        print(json.dumps([_feed_json(f) for f in feeds], indent=2))
    elif not feeds:
        console.print("no feeds yet: `newsdesk feeds add URL`")
    else:
        print_feed_table(feeds, console)
    return EXIT_OK


async def _feeds_export(nd: Newsdesk, output: str | None) -> int:
    """``feeds export [-o FILE]``: the shared feeds as OPML."""
    path = Path(output) if output else None
    if path is not None:
        if path.is_dir():
            raise CliError(f"-o {path}: that is a folder; give a file name")
        if not path.parent.is_dir():
            raise CliError(f"-o {path}: no folder {path.parent}; create it first")
    data, count = await nd.feeds_opml(guild_id=0)
    if path is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return EXIT_OK
    partial = path.with_name(f".{path.name}.partial")
    try:
        partial.write_bytes(data)
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise CliError(f"-o {path}: cannot write it ({exc.strerror or exc})") from None
    _stderr_console().print(f"wrote {count} feed(s) to {_m(path)}", soft_wrap=True)
    return EXIT_OK


async def _feeds_pause(nd: Newsdesk, ref: str, pause: bool, console: Console) -> int:
    """``feeds pause|resume ID|URL``: any feed (the operator's are shared, servers' too)."""
    feed = await nd.find_feed(ref, guild_id=None)
    if feed is None:
        raise CliError(f"no feed {ref}; see `newsdesk feeds list`")
    if pause:
        if feed.paused:
            console.print(f"already paused: #{feed.id} {_m(feed.url)}", soft_wrap=True)
            return EXIT_OK
        await nd.pause_feed(feed.id)
        console.print(f"paused feed #{feed.id} {_m(feed.url)}", soft_wrap=True)
        return EXIT_OK
    if not feed.paused:
        console.print(f"not paused: #{feed.id} {_m(feed.url)}", soft_wrap=True)
        return EXIT_OK
    await nd.resume_feed(feed.id)
    console.print(
        f"resumed feed #{feed.id} {_m(feed.url)}: it is fetched at the next poll", soft_wrap=True
    )
    return EXIT_OK


def _feed_options(feed: FeedHealth) -> str:
    """``full text: never, tags: world,tech`` (empty when the feed has neither)."""
    parts = [f"full text: {feed.fulltext}"] if feed.fulltext else []
    if feed.tags:
        parts.append(f"tags: {','.join(feed.tags)}")
    return ", ".join(parts)


async def _feeds_add(args: argparse.Namespace, settings: Settings) -> int:
    from .ingest.netguard import UnsafeUrlError
    from .services import FeedError

    url = args.url.strip()
    nd = await _open(args, settings, create=True)
    try:
        for feed in await nd.list_feeds(guild_id=0):
            if feed.url == url and feed.guild_id == 0:
                notes = []
                if feed.paused:  # adding it again means: read it again
                    await nd.resume_feed(feed.id)
                    notes.append("was paused, resumed")
                if args.tags is not None or args.fulltext:
                    tags = args.tags.split(",") if args.tags is not None else None
                    feed = await nd.set_feed_options(feed.id, fulltext=args.fulltext, tags=tags)
                    notes.append(_feed_options(feed) or "options cleared")
                said = "".join(f", {n}" for n in notes)
                _console().print(
                    f"already subscribed{_m(said)}: #{feed.id} {_m(feed.url)}", soft_wrap=True
                )
                return EXIT_OK
        try:
            tags = args.tags.split(",") if args.tags is not None else None
            feed = await nd.add_feed(
                url, check=not args.no_check, fulltext=args.fulltext, tags=tags
            )
        except (FeedError, UnsafeUrlError, ValueError) as exc:
            raise CliError(_hint(str(exc)), EXIT_FAILED) from None
    finally:
        await nd.close()
    mode = f" ({_feed_options(feed)})" if _feed_options(feed) else ""
    _console().print(
        f"subscribed: #{feed.id} {_m(feed.url)} {_m(feed.title or '')}".rstrip() + _m(mode),
        soft_wrap=True,
    )
    return EXIT_OK


def _when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _feed_status(f: FeedHealth) -> str:
    if f.paused:
        return "paused"
    if f.last_success_at is None and f.last_error_at is None:
        return "not polled yet"
    if f.consecutive_failures:
        return f"failing ({f.consecutive_failures}x): {f.last_error or 'error'}"
    return "ok"


def print_feed_table(feeds: Sequence[FeedHealth], console: Console) -> None:
    """Feeds as a table that reads at 80 columns: one row of health, the URL under it.

    A URL is never cut or folded: it has a line of its own, indented under
    its row, and may run past the edge rather than break.
    """
    from .render.terminal import print_wrapped

    shared = all(f.guild_id == 0 for f in feeds)
    rows = []
    for f in feeds:
        never = f.last_success_at is None and f.last_error_at is None
        next_poll = f.next_poll_at
        rows.append(
            (
                f"#{f.id}",
                _feed_status(f),
                "-" if never else _when(f.last_success_at).removesuffix(" UTC"),
                "due now" if next_poll is None else _when(next_poll).removesuffix(" UTC"),
            )
        )
    header = ("feed", "status", "last success (UTC)", "next poll (UTC)")
    idw = max(len(header[0]), *(len(r[0]) for r in rows))
    lastw = max(len(header[2]), *(len(r[2]) for r in rows))
    nextw = max(len(header[3]), *(len(r[3]) for r in rows))
    console.print(
        Text(
            f"{header[0]:<{idw}}  {header[2]:<{lastw}}  {header[3]:<{nextw}}  {header[1]}",
            style="bold",
        ),
        soft_wrap=True,
    )
    for f, (ident, status, last, nxt) in zip(feeds, rows, strict=True):
        first = f"{ident:<{idw}}  {last:<{lastw}}  {nxt:<{nextw}}  "
        style = "red" if status.startswith("failing") else "yellow" if status == "paused" else ""
        print_wrapped(console, Text(_shorten(status, 70), style=style), first=first)
        where = Text(f.url, style="cyan")
        if not shared:
            where.append(" (shared)" if f.guild_id == 0 else f" (server {f.guild_id})", style="dim")
        if f.title:
            where.append(f"  {f.title}", style="dim")
        if getattr(f, "fulltext", None):
            where.append(f"  full text: {f.fulltext}", style="dim")
        if getattr(f, "tags", None):
            where.append(f"  tags: {','.join(f.tags)}", style="dim")
        print_wrapped(console, where, first=" " * (idw + 2))


def _shorten(text: str, limit: int) -> str:
    """``text`` cut at a space before ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > 0 else limit].rstrip() + "…"


def _feed_json(f: FeedHealth) -> dict[str, Any]:
    out = dict(f.__dict__) if hasattr(f, "__dict__") else {k: getattr(f, k) for k in f.__slots__}
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in out.items()}


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


async def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .render.terminal import print_search_page
    from .search.query import QueryError, parse_query

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
    from .services import export_records

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


async def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    path = _database(args, settings)
    if args.db_command == "check":
        nd = await _open(args, settings, create=False)  # the index check needs a writer
        try:
            problems = await nd.store_problems()
        finally:
            await nd.close()
        if problems:
            _err(f"database {path}: " + "; ".join(" ".join(p.split()) for p in problems))
            return EXIT_FAILED
        _console().print(Text(f"database {path}: ok (file and search index)"), soft_wrap=True)
        return EXIT_OK
    nd = await _open(args, settings, create=False)
    try:
        problems = await nd.store_problems()
        if any(p.startswith("file:") for p in problems):
            raise CliError(
                f"database {path} is damaged ({problems[0]}); the search index cannot be "
                "rebuilt over it: restore it from a backup",
                EXIT_FAILED,
            )
        await nd.repair_search_index()
        left = await nd.store_problems()
    finally:
        await nd.close()
    if left:
        raise CliError(f"database {path}: still {left[0]} after the repair", EXIT_FAILED)
    what = "rebuilt the search index" if problems else "nothing to repair; rebuilt the search index"
    _console().print(Text(f"database {path}: {what}; ok"), soft_wrap=True)
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
    from .config import parse_time

    return DigestChannel(
        channel_id=0,
        time=parse_time(settings.digest_time),
        timezone=settings.timezone,
        max_stories=settings.digest_max_stories,
    )


async def _print_digest(nd: Newsdesk, channel: DigestChannel, day: date, as_json: bool) -> None:
    from .render.jsonout import digest_to_json
    from .render.terminal import print_digest

    digest = await nd.build_digest(channel, day)
    if as_json:
        print(json.dumps(digest_to_json(digest), ensure_ascii=False, indent=2))
    else:
        print_digest(digest, _console())


async def cmd_digest(args: argparse.Namespace, settings: Settings) -> int:
    from .render.jsonout import digest_to_json
    from .render.terminal import print_digest

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


async def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    """Ingest the bundled sample corpus and print the digest of its newest day."""
    from .sample import sample_sources

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
    from .config import unknown_variables

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
    from .services import DriverError

    target = Path(args.file)
    _check_backup_target(target)
    nd = await _open(args, settings, create=False)
    try:
        size = await nd.backup(target)
    except ValueError as exc:
        raise CliError(f"backup {target}: {exc}") from None
    except (OSError, DriverError) as exc:
        raise CliError(f"backup {target}: cannot write it ({exc})", EXIT_FAILED) from None
    finally:
        await nd.close()
    _console().print(
        f"backed up {_m(nd.database)} to {_m(target)} ({size:,} bytes)", soft_wrap=True
    )
    return EXIT_OK


def _check_database_path(path: Path) -> None:
    """Refuse a database path that `run`, `poll` or `ingest` could not create (creates nothing)."""
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

    from .discordbot.app import run_bot

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


# -- argument parsing ------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage + error."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        raise CliError(f"{self.prog}: {message} (see `{self.prog} --help`)", EXIT_USAGE)


def _between(low: int, high: int) -> Callable[[str], int]:
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{value} is out of range; use {low} to {high}")
        return value

    return check


DATE_HELP = (
    "today, yesterday, '3 days ago', 2023-09-17, 'Sep 17 2023', 'last week', 2023-09, "
    "or a range A..B"
)


def build_parser() -> argparse.ArgumentParser:
    # Global options are accepted before or after the command: every parser
    # knows them, with SUPPRESS so a later parser does not reset them.
    common = _Parser(add_help=False)
    common.add_argument(
        "--env-file", default=argparse.SUPPRESS, help="settings file (default: .env if present)"
    )
    common.add_argument(
        "--db", default=argparse.SUPPRESS, help="database file (default: NEWSDESK_DATABASE)"
    )
    parser = _Parser(
        prog="newsdesk",
        description="Newsdesk: the news as a daily briefing, one line per story.",
        parents=[common],
        epilog="exit codes: 0 ok, 1 failed, 2 usage or configuration, 3 partly done, "
        "130 interrupted, 141 output pipe closed",
    )
    parser.add_argument("--version", action="version", version=f"newsdesk {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, **kw: Any) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common], **kw)

    p = command("demo", "offline demo: ingest the sample corpus, print its digest")
    p.add_argument("--json", action="store_true", help="print the digest as JSON")
    p.set_defaults(func=cmd_demo)

    p = command("ingest", "ingest files, folders, URLs, JSON Lines and OPML")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.set_defaults(func=cmd_ingest)

    p = command("feeds", "manage shared feed subscriptions")
    fsub = p.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    fa = fsub.add_parser(
        "add", help="subscribe to a feed (tries one fetch first)", parents=[common]
    )
    fa.add_argument("url")
    fa.add_argument("--no-check", action="store_true", help="save without a test fetch")
    fa.add_argument(
        "--fulltext",
        choices=["auto", "always", "never"],
        help="fetch each article's page: auto (when the feed gives only a summary), always or "
        "never (default: NEWSDESK_FULLTEXT)",
    )
    fa.add_argument(
        "--tags", help="routing tags, separated by commas (channels with tags= get its stories)"
    )
    fr = fsub.add_parser("remove", help="unsubscribe from a shared feed", parents=[common])
    fr.add_argument("feed", metavar="ID|URL")
    fp = fsub.add_parser("pause", help="stop polling a feed until resumed", parents=[common])
    fp.add_argument("feed", metavar="ID|URL")
    fu = fsub.add_parser(
        "resume", help="poll a paused feed again (also one paused after failures)", parents=[common]
    )
    fu.add_argument("feed", metavar="ID|URL")
    fe = fsub.add_parser(
        "export", help="write the shared feeds as OPML (for any feed reader)", parents=[common]
    )
    fe.add_argument("--output", "-o", help="file (default: standard output)")
    fl = fsub.add_parser("list", help="feeds and their health", parents=[common])
    fl.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_feeds, json=False)

    p = command("poll", "fetch every due feed once")
    p.add_argument(
        "--all",
        action="store_true",
        help="fetch every feed that is not paused now, due or not",
    )
    p.set_defaults(func=cmd_poll)

    p = command("search", "search stored articles")
    p.add_argument("query", nargs="+")
    p.add_argument("--date", help=DATE_HELP)
    p.add_argument("--source", help="only outlets whose name starts with this")
    p.add_argument("--limit", type=_between(1, 50), default=10, help="results a page (1-50)")
    p.add_argument("--offset", type=_between(0, 1000), default=0, help="results to skip")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = command("export", "write every article as JSON Lines")
    p.add_argument("--format", choices=["jsonl"], default="jsonl")
    p.add_argument("--output", "-o", help="file (default: standard output)")
    p.set_defaults(func=cmd_export)

    p = command("stories", "story maintenance")
    ssub = p.add_subparsers(dest="stories_command", required=True, metavar="ACTION")
    sr = ssub.add_parser(
        "rebuild", help="recompute stories (after tuning or an import)", parents=[common]
    )
    sr.add_argument("--since", help=f"only articles published since this day: {DATE_HELP}")
    p.set_defaults(func=cmd_stories)

    p = command(
        "digest",
        "print a digest as it would be posted",
        description="The briefing for day D is the one posted on D at the channel's digest "
        "time; it covers the 24 hours before that time.",
    )
    p.add_argument("--date", help=f"the day it is posted (default: today): {DATE_HELP}")
    p.add_argument("--channel", type=int, help="a channel from NEWSDESK_DIGEST_CHANNELS")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_digest)

    p = command("db", "database maintenance")
    dsub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dsub.add_parser("check", help="check the file and the search index", parents=[common])
    dsub.add_parser("repair", help="rebuild a damaged search index", parents=[common])
    p.set_defaults(func=cmd_db)

    p = command("config", "configuration")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    csub.add_parser(
        "check", help="check the settings; print them, secrets masked", parents=[common]
    )
    p.set_defaults(func=cmd_config_check)

    p = command(
        "health",
        "exit 0 when the running bot is connected and polling, 1 when not",
        description="Reads the heartbeat the running bot writes to the database: unhealthy "
        "when the bot has not written it for 3 minutes, has been disconnected from Discord for "
        "2 minutes, or has had no successful poll for 3 poll intervals.",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_health)

    p = command("backup", "copy the database to FILE (safe while the bot runs)")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=cmd_backup)

    p = command("run", "run the Discord bot (needs DISCORD_TOKEN)")
    p.set_defaults(func=cmd_run)
    return parser


def _env_file(args: argparse.Namespace) -> Path | None:
    """The settings file: one named with --env-file must exist; .env is read if present."""
    named = getattr(args, "env_file", None)
    if named is None:
        default = Path(".env")
        return default if default.is_file() else None
    path = Path(named)
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise CliError(f"--env-file {named}: {what}; give the path of your settings file")
    return path


_INTERRUPT = _Interrupt()


def main(argv: Sequence[str] | None = None) -> int:
    global _INTERRUPT
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except CliError as exc:
        _err(exc.message)
        return exc.code
    args.db = getattr(args, "db", None)
    _INTERRUPT = _Interrupt()
    try:
        args.env_file_used = _env_file(args)
        settings = load_settings(args.env_file_used)
        setup_logging(settings)
        if getattr(args.func, "handles_sigint", False):
            code = asyncio.run(args.func(args, settings))
        else:
            code = _run(args.func(args, settings), _INTERRUPT)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except CliError as exc:
        _err(exc.message)
        return exc.code
    except ConfigError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_PIPE
    except OSError as exc:
        if exc.errno != errno.ENOSPC:
            raise
        full = _storage_error(exc)
        assert full is not None
        _err(full.message)
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C before or after the command itself
        _note("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        known = _storage_error(exc) if _is_driver_error(exc) else None
        if known is None:
            raise
        _err(known.message)
        return known.code


def _is_driver_error(exc: BaseException) -> bool:
    """An error of the database driver (loaded with the store only when a command opens it)."""
    from .services import DriverError

    return isinstance(exc, DriverError)


def _silence_stdout() -> None:
    """The reader went away: point stdout at /dev/null so exit's flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
