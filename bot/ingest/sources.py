"""Turning what a user names (files, folders, URLs, OPML) into ingested articles.

Each source is read, recognised by its content (:func:`bot.ingest.parse.sniff`),
parsed and handed to the :class:`~bot.ingest.pipeline.Ingestor`. A source that
fails is recorded with its reason and the others go on.

Only articles become articles. What is not one is *skipped* with a reason,
never stored and not counted as a failure: binary files (images, PDFs,
archives, executables, SQLite files: :func:`~bot.ingest.parse.sniff.binary_kind`),
the database in use and its ``-wal``/``-shm``/``-journal`` files (never even
opened), text that is not prose (configuration, code, CSV, logs:
:func:`~bot.ingest.parse.textfile.prose_problem`) and pages that are redirect
stubs, error pages or site pages (:func:`~bot.ingest.parse.page.parse_page`).
A gzip-compressed file is decompressed (up to ``MAX_FILE_BYTES``) and then
recognised like any other. OPML files met while walking a folder are reported,
not subscribed to: only an OPML file named directly subscribes to its feeds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from ..models import Article, Entry, OpmlFeed
from .parse import (
    NotAnArticle,
    ParseError,
    iter_jsonl,
    parse_feed,
    parse_opml,
    parse_page,
    parse_text_article,
)
from .parse import sniff as sniff_document
from .parse.gunzip import GzipError, gunzip, is_gzip
from .parse.jsonl import bounded_lines
from .parse.sniff import binary_kind
from .parse.textfile import prose_problem
from .pipeline import IMPORT_BATCH, DocumentBatch, Ingestor, IngestReport

if TYPE_CHECKING:
    from .fulltext import FullText

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 50_000_000  # a single feed, page or article file
_SKIP_NAMES = {"readme.md", "readme.txt", "license", "license.txt", ".ds_store"}

Progress = Callable[[str, int], None]  # (where, entries done in this step)


@dataclass
class SourceOutcome:
    """The result of ingesting every source a user named.

    ``skipped`` lists what was not an article, with the reason (not failures);
    ``feeds_found`` the feeds of OPML files named directly (to subscribe to);
    ``opml_in_folders`` the OPML files met while walking a folder, with how
    many distinct feeds each lists (reported, not subscribed to).
    """

    report: IngestReport = field(default_factory=IngestReport)
    feeds_found: list[OpmlFeed] = field(default_factory=list)  # from OPML
    sources: int = 0
    pages_fetched: int = 0  # article pages fetched for summary-only feed entries
    pages_failed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, reason)
    opml_in_folders: list[tuple[str, int]] = field(default_factory=list)  # (path, feeds)

    def skip(self, where: str, reason: str) -> None:
        self.skipped.append((where, reason))

    def distinct_feeds(self) -> list[OpmlFeed]:
        """``feeds_found`` once per URL (the first one listed wins)."""
        seen: dict[str, OpmlFeed] = {}
        for feed in self.feeds_found:
            seen.setdefault(feed.url, feed)
        return list(seen.values())


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly, and the files under named folders (sorted, no hidden)."""
    for path, _in_folder in walk_paths(paths):
        yield path


def walk_paths(paths: Iterable[Path]) -> Iterator[tuple[Path, bool]]:
    """Like :func:`expand_paths`, each with whether it was met inside a folder."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(p.startswith(".") for p in rel.parts):
                    if child.name.lower() not in _SKIP_NAMES:
                        yield child, True
        else:
            yield path, False


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):
        return path.absolute()


async def ingest_paths(
    ingestor: Ingestor,
    paths: Iterable[Path],
    *,
    outcome: SourceOutcome,
    progress: Progress | None = None,
    exclude: Iterable[Path] = (),
) -> None:
    """Ingest files and folders; ``exclude`` (the database in use and its
    companion files) are skipped without being opened.

    The articles of feed, page and text files are stored ``IMPORT_BATCH`` at
    a time (see :class:`~bot.ingest.pipeline.DocumentBatch`), not one write
    per file; a JSON Lines archive is stored in its own batches.
    """
    excluded = {_resolved(p) for p in exclude}
    batch = DocumentBatch(ingestor, report=outcome.report)
    for path, in_folder in walk_paths(paths):
        if _resolved(path) in excluded:
            outcome.skip(str(path), "the database in use (never read as input)")
            continue
        await ingest_file(batch, path, outcome=outcome, progress=progress, in_folder=in_folder)
    await batch.flush()


def _host(url: str | None) -> str | None:
    if not url:
        return None
    return urlsplit(url).hostname or None


def source_from_filename(filename: str | None) -> str | None:
    """The outlet named at the start of a text file's name, if any.

    ``coastline-post_bridge-closure.txt`` -> ``"Coastline Post"``; names that
    start with digits (``000_e49189fa.txt``) name no outlet.
    """
    if not filename:
        return None
    head = Path(filename).stem.split("_", 1)[0]
    if "_" not in Path(filename).stem or not any(c.isalpha() for c in head):
        return None
    return " ".join(part.capitalize() for part in head.replace("-", " ").split()) or None


def _chunks(entries: Iterable[Entry | ParseError], size: int) -> Iterator[list[Entry | ParseError]]:
    batch: list[Entry | ParseError] = []
    for item in entries:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def ingest_document(
    batch: DocumentBatch,
    data: bytes,
    *,
    where: str,
    url: str | None = None,
    content_type: str | None = None,
    filename: str | None = None,
    progress: Progress | None = None,
    outcome: SourceOutcome,
    pages: FullText | None = None,
    in_folder: bool = False,
) -> None:
    """Recognise one document and ingest what it holds into ``outcome``.

    Its articles join ``batch`` (stored once it is full or flushed; an archive
    is stored in its own batches, after what ``batch`` holds). With ``pages``,
    a feed's summary-only entries get their page's text first.
    Raises :class:`NotAnArticle` when the document is not an article (binary
    data, text that is not prose, a redirect or error page) and
    :class:`ParseError` when it cannot be read.
    """
    data, filename = gunzip_document(data, filename)
    what = binary_kind(data)
    if what:
        raise NotAnArticle(what)
    kind = sniff_document(data, content_type=content_type, filename=filename)
    if kind in {"feed", "json_feed"}:
        parsed = parse_feed(data, url=url, content_type=content_type)
        if parsed.warning:
            log.debug("%s: feed parsed with a warning: %s", where, parsed.warning)
        fallback = parsed.title or _host(parsed.link) or _host(url)
        if pages is not None:
            filled = await pages.fill(parsed.entries, where=where)
            outcome.pages_fetched += filled.fetched
            outcome.pages_failed += filled.failed
        await batch.add(parsed.entries, fallback_source=fallback, where=where)
        if progress:
            progress(where, len(parsed.entries))
    elif kind == "opml":
        feeds = parse_opml(data)
        if in_folder:
            outcome.opml_in_folders.append((where, len({feed.url for feed in feeds})))
        else:
            outcome.feeds_found.extend(feeds)
    elif kind == "jsonl":
        lines = data.decode("utf-8", "replace").splitlines()
        await _ingest_jsonl_batches(
            batch, iter_jsonl(lines), where=where, outcome=outcome, progress=progress
        )
    elif kind == "html":
        entry = parse_page(data, url=url)
        await batch.add([entry], fallback_source=_host(url), where=where)
        if progress:
            progress(where, 1)
    else:  # plain text article
        text = data.decode("utf-8", "replace")
        problem = prose_problem(text)
        if problem:
            raise NotAnArticle(problem)
        entry = parse_text_article(text, source=source_from_filename(filename))
        await batch.add([entry], where=where)
        if progress:
            progress(where, 1)


async def _ingest_jsonl_batch(
    ingestor: Ingestor,
    batch: list[Entry | ParseError],
    cleaned: list[Article | None],
    *,
    where: str,
    guild_id: int = 0,
    outcome: SourceOutcome,
    progress: Progress | None,
) -> None:
    entries = [item for item in batch if isinstance(item, Entry)]
    for item in batch:
        if isinstance(item, NotAnArticle):
            outcome.skip(where, str(item))
        elif isinstance(item, ParseError):
            outcome.report.fail(where, str(item))
    outcome.report.add(
        await ingestor.ingest_entries(entries, guild_id=guild_id, where=where, cleaned=cleaned)
    )
    if progress:
        progress(where, len(batch))


async def ingest_jsonl_file(
    batch: DocumentBatch,
    path: Path,
    *,
    outcome: SourceOutcome,
    progress: Progress | None = None,
) -> None:
    """Import a JSON Lines archive of any size, ``IMPORT_BATCH`` lines at a time.

    The file is read and decoded in a worker thread as it goes, so memory
    stays flat however large the archive is.
    """
    where = str(path)
    try:
        head = await asyncio.to_thread(_read_head, path)
        what = binary_kind(head)
        if what:
            outcome.skip(where, what)
            return
        fh = await asyncio.to_thread(open, path, "rb")
    except OSError as exc:
        outcome.report.fail(where, f"cannot read: {exc.strerror or exc}")
        return
    outcome.sources += 1
    try:
        await _ingest_jsonl_batches(
            batch, iter_jsonl(bounded_lines(fh)), where=where, outcome=outcome, progress=progress
        )
    finally:
        fh.close()


async def _ingest_jsonl_batches(
    batch: DocumentBatch,
    items: Iterable[Entry | ParseError],
    *,
    where: str,
    outcome: SourceOutcome,
    progress: Progress | None,
) -> None:
    """Ingest an archive's ``items`` ``IMPORT_BATCH`` at a time, in order, after
    what ``batch`` holds (stored first). The next batch is read and cleaned (in
    a worker thread) while the current one is planned and written: SQLite and
    PostgreSQL work outside Python's lock, so the two overlap."""
    await batch.flush()
    ingestor, guild_id = batch.ingestor, batch.guild_id
    batches = _chunks(items, IMPORT_BATCH)

    async def read_ahead() -> tuple[list[Entry | ParseError], list[Article | None]] | None:
        chunk = await asyncio.to_thread(next, batches, None)
        if chunk is None:
            return None
        return chunk, await ingestor.clean([e for e in chunk if isinstance(e, Entry)])

    ahead = asyncio.ensure_future(read_ahead())
    try:
        while (ready := await ahead) is not None:
            ahead = asyncio.ensure_future(read_ahead())
            await _ingest_jsonl_batch(
                ingestor, *ready, where=where, guild_id=guild_id, outcome=outcome, progress=progress
            )
    finally:
        # A batch read ahead of a stop is dropped; its thread must be done with
        # the input before the caller closes it.
        await asyncio.wait([ahead])
        if not ahead.cancelled():
            ahead.exception()  # retrieved: an error of a batch read ahead of a stop is moot


def _read_head(path: Path, size: int = 8192) -> bytes:
    with path.open("rb") as fh:
        return fh.read(size)


def gunzip_document(data: bytes, filename: str | None = None) -> tuple[bytes, str | None]:
    """A gzip-compressed document decompressed (and its name without ``.gz``).

    Saved feeds and archives are often gzipped (``feed.xml.gz``,
    ``archive.jsonl.gz``); what comes out is recognised like any file. At
    most ``MAX_FILE_BYTES`` come out: more raises :class:`ParseError`, so a
    small "zip bomb" cannot fill memory. Other data is returned unchanged.
    """
    if not is_gzip(data):
        return data, filename
    try:
        out = gunzip(data, MAX_FILE_BYTES)
    except GzipError as exc:
        if exc.too_large:
            raise ParseError(f"gzip data expands past the {MAX_FILE_BYTES:,}-byte limit") from exc
        raise ParseError(f"broken gzip data ({exc})") from exc
    if filename and filename.lower().endswith(".gz"):
        filename = filename[:-3]
    elif filename and filename.lower().endswith(".tgz"):
        filename = filename[:-4] + ".tar"
    return out, filename


def _read_file(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ParseError(f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
    return path.read_bytes()


async def ingest_file(
    batch: DocumentBatch,
    path: Path,
    *,
    outcome: SourceOutcome,
    progress: Progress | None = None,
    in_folder: bool = False,
) -> None:
    """Ingest one file into ``batch``; what is not an article is skipped with its reason."""
    if path.suffix.lower() == ".jsonl":
        await ingest_jsonl_file(batch, path, outcome=outcome, progress=progress)
        return
    where = str(path)
    try:
        data = await asyncio.to_thread(_read_file, path)
    except OSError as exc:
        outcome.report.fail(where, f"cannot read: {exc.strerror or exc}")
        return
    except ParseError as exc:
        outcome.report.fail(where, str(exc))
        return
    try:
        await ingest_document(
            batch,
            data,
            where=where,
            filename=path.name,
            outcome=outcome,
            progress=progress,
            in_folder=in_folder,
        )
    except NotAnArticle as exc:
        outcome.skip(where, str(exc))
        return
    except ParseError as exc:
        outcome.report.fail(where, str(exc))
    outcome.sources += 1
