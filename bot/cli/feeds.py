"""`newsdesk feeds list|add|remove|pause|resume|export`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from ..config import Settings
from .console import EXIT_FAILED, EXIT_OK, CliError, _console, _hint, _m, _stderr_console
from .opening import _open

if TYPE_CHECKING:
    from ..models import FeedHealth
    from ..services import Newsdesk


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
    from ..ingest.netguard import UnsafeUrlError
    from ..services import FeedError

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
    from ..render.terminal import print_wrapped

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
