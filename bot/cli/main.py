"""The argument parser and `main`: settings, dispatch, exit codes."""

from __future__ import annotations

import argparse
import errno
import os
import sys
from collections.abc import Callable, Coroutine, Sequence
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import __version__
from .console import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_PIPE,
    EXIT_USAGE,
    CliError,
    _err,
    _note,
)

if TYPE_CHECKING:
    from ..config import Settings

Command = Callable[[argparse.Namespace, "Settings"], Coroutine[Any, Any, int]]


class _Lazy:
    """A command's function, imported from its module (``bot.cli.MODULE``) when run:
    `newsdesk search` does not load what `newsdesk ingest` or `run` need (nor
    `--version` and a usage error any of them)."""

    def __init__(self, module: str, name: str, *, handles_sigint: bool = False) -> None:
        self.module = module
        self.name = name
        self.handles_sigint = handles_sigint  # run: the bot shuts down gracefully itself

    def __call__(self, args: argparse.Namespace, settings: Settings) -> Coroutine[Any, Any, int]:
        command: Command = getattr(import_module(f"{__package__}.{self.module}"), self.name)
        return command(args, settings)

    def __repr__(self) -> str:
        return f"<command {self.module}.{self.name}>"


class _Formatter(argparse.HelpFormatter):
    """argparse's help layout, the terminal's width found without importing shutil
    (which loads bz2 and lzma: a few ms of every command's start-up)."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``: $COLUMNS, else the terminal's, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2) instead of usage + error."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        super().__init__(*args, **kwargs)

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
    p.set_defaults(func=_Lazy("operations", "cmd_demo"))

    p = command("ingest", "ingest files, folders, URLs, JSON Lines and OPML")
    p.add_argument("sources", nargs="+", metavar="SOURCE")
    p.set_defaults(func=_Lazy("ingesting", "cmd_ingest"))

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
    p.set_defaults(func=_Lazy("feeds", "cmd_feeds"), json=False)

    p = command("poll", "fetch every due feed once")
    p.add_argument(
        "--all",
        action="store_true",
        help="fetch every feed that is not paused now, due or not",
    )
    p.set_defaults(func=_Lazy("operations", "cmd_poll"))

    p = command("search", "search stored articles")
    p.add_argument("query", nargs="+")
    p.add_argument("--date", help=DATE_HELP)
    p.add_argument("--source", help="only outlets whose name starts with this")
    p.add_argument("--limit", type=_between(1, 50), default=10, help="results a page (1-50)")
    p.add_argument("--offset", type=_between(0, 1000), default=0, help="results to skip")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_Lazy("reading", "cmd_search"))

    p = command("export", "write every article as JSON Lines")
    p.add_argument("--format", choices=["jsonl"], default="jsonl")
    p.add_argument("--output", "-o", help="file (default: standard output)")
    p.set_defaults(func=_Lazy("reading", "cmd_export"))

    p = command("stories", "story maintenance")
    ssub = p.add_subparsers(dest="stories_command", required=True, metavar="ACTION")
    sr = ssub.add_parser(
        "rebuild", help="recompute stories (after tuning or an import)", parents=[common]
    )
    sr.add_argument("--since", help=f"only articles published since this day: {DATE_HELP}")
    p.set_defaults(func=_Lazy("reading", "cmd_stories"))

    p = command(
        "digest",
        "print a digest as it would be posted",
        description="The briefing for day D is the one posted on D at the channel's digest "
        "time; it covers the 24 hours before that time.",
    )
    p.add_argument("--date", help=f"the day it is posted (default: today): {DATE_HELP}")
    p.add_argument("--channel", type=int, help="a channel from NEWSDESK_DIGEST_CHANNELS")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_Lazy("reading", "cmd_digest"))

    p = command("db", "database maintenance")
    dsub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    dsub.add_parser("check", help="check the file and the search index", parents=[common])
    dsub.add_parser("repair", help="rebuild a damaged search index", parents=[common])
    c = dsub.add_parser(
        "copy",
        help="copy a whole store into a new one (SQLite file <-> PostgreSQL URL)",
        description="Copies every table of SOURCE into TARGET, which must be new or empty, "
        "in one transaction, then checks that every table's row count matches. SOURCE and "
        "TARGET are each a database file or a postgresql://USER:PASSWORD@HOST:PORT/DATABASE "
        "URL. Safe while the bot runs on SOURCE (it reads one consistent snapshot).",
        parents=[common],
    )
    c.add_argument("source", metavar="SOURCE")
    c.add_argument("target", metavar="TARGET")
    p.set_defaults(func=_Lazy("operations", "cmd_db"))

    p = command("config", "configuration")
    csub = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    csub.add_parser(
        "check", help="check the settings; print them, secrets masked", parents=[common]
    )
    p.set_defaults(func=_Lazy("operations", "cmd_config_check"))

    p = command(
        "health",
        "exit 0 when the running bot is connected and polling, 1 when not",
        description="Reads the heartbeat the running bot writes to the database: unhealthy "
        "when the bot has not written it for 3 minutes, has been disconnected from Discord for "
        "2 minutes, or has had no successful poll for 3 poll intervals.",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_Lazy("operations", "cmd_health"))

    p = command("backup", "copy the database to FILE (safe while the bot runs)")
    p.add_argument("file", metavar="FILE")
    p.set_defaults(func=_Lazy("operations", "cmd_backup"))

    p = command("run", "run the Discord bot (needs DISCORD_TOKEN)")
    p.set_defaults(func=_Lazy("operations", "cmd_run", handles_sigint=True))
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except CliError as exc:
        _err(exc.message)
        return exc.code
    args.db = getattr(args, "db", None)
    try:  # what running a command needs, loaded once the arguments are known good
        import asyncio

        from ..config import ConfigError, load_settings
        from .console import setup_logging
        from .interrupt import _INTERRUPT, _run
    except KeyboardInterrupt:
        _note("interrupted")
        return EXIT_INTERRUPTED
    _INTERRUPT.reset()
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
        from .opening import _storage_error

        full = _storage_error(exc)
        assert full is not None
        _err(full.message)
        return EXIT_FAILED
    except KeyboardInterrupt:  # Ctrl-C before or after the command itself
        _note("interrupted")
        return EXIT_INTERRUPTED
    except Exception as exc:
        from .opening import _storage_error

        known = _storage_error(exc) if _is_driver_error(exc) else None
        if known is None:
            raise
        _err(known.message)
        return known.code


def _is_driver_error(exc: BaseException) -> bool:
    """An error of the database driver (loaded with the store only when a command opens it)."""
    from ..services import DriverError

    return isinstance(exc, DriverError)


def _silence_stdout() -> None:
    """The reader went away: point stdout at /dev/null so exit's flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass
