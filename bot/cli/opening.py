"""Opening the store for a command: one-line errors for a missing, damaged, read-only or full database; date options."""

from __future__ import annotations

import argparse
import os
from datetime import date, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from ..config import Settings, check_database_location
from ..database_url import redact
from .console import EXIT_FAILED, CliError
from .interrupt import _INTERRUPT

if TYPE_CHECKING:
    from ..services import Newsdesk


def _database(args: argparse.Namespace, settings: Settings) -> Path | str:
    """The store this command opens: a file path, or a PostgreSQL URL (a ``str``)."""
    return check_database_location(str(args.db if args.db else settings.database))


async def _open(
    args: argparse.Namespace,
    settings: Settings,
    *,
    create: bool,
    database: Path | str | None = None,
    read_only: bool = False,
) -> Newsdesk:
    """The services over the store; one-line errors for a missing or unusable file.

    ``read_only=True`` for commands that only read: they work on a read-only
    file or disk."""
    from ..services import (
        DamagedDatabaseError,
        DriverError,
        Newsdesk,
        NoDatabaseError,
        StoreError,
    )

    location = database or _database(args, settings)
    _OPENED.path = location
    try:
        return await Newsdesk.open(settings, database=location, create=create, read_only=read_only)
    except NoDatabaseError:
        if isinstance(location, str):
            raise CliError(
                f"no Newsdesk store in {redact(location)} yet: run `newsdesk ingest`, "
                "`newsdesk poll` or `newsdesk db copy` into it first"
            ) from None
        raise CliError(f"no database at {location} (set NEWSDESK_DATABASE or --db)") from None
    except DamagedDatabaseError as exc:
        raise CliError(f"database {redact(location)}: {exc}", EXIT_FAILED) from None
    except StoreError as exc:
        if isinstance(location, str):
            raise CliError(str(exc), EXIT_FAILED) from None  # names the server, no password
        raise CliError(f"database {location}: {exc}") from None
    except DriverError as exc:
        if isinstance(location, str):
            raise CliError(f"database {redact(location)}: {exc}", EXIT_FAILED) from None
        return _driver_error_on_open(exc, location, read_only=read_only)
    except OSError as exc:
        path = Path(location)
        folder = Path(exc.filename) if exc.filename else path.parent
        raise CliError(
            f"cannot create the database {path}: {folder}: {exc.strerror or exc}; "
            "set NEWSDESK_DATABASE or --db to a file in a folder you can write to"
        ) from None


def _driver_error_on_open(exc: BaseException, path: Path, *, read_only: bool) -> Newsdesk:
    """Raise the one line for an SQLite file the driver could not open."""
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

    path: Path | str | None = None


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


def _read_only_message(path: Path | str | None) -> str:
    where = f"database {redact(path)}" if path else "the database"
    return (
        f"{where} is read-only: this command writes to it; make the file and its folder "
        "writable (reading commands such as search, digest and export work as they are)"
    )


def _storage_error(exc: BaseException) -> CliError | None:
    """The one line for a storage fault (disk full, damaged or read-only file,
    locked database), or ``None`` for any other error."""
    from ..services import describe_storage_error

    kind = describe_storage_error(exc)
    path = _OPENED.path
    where = f"database {redact(path)}" if path else "the database"
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


def _days(option: str, text: str, tz: tzinfo) -> tuple[date, date]:
    """``text`` in the date language as (first day, last day), local to ``tz``."""
    from ..search.dates import DateParseError, parse_days
    from ..services import utcnow

    try:
        return parse_days(text, tz=tz, now=utcnow())
    except DateParseError as exc:
        raise CliError(f"{option} {text!r}: {exc}") from None
