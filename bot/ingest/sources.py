"""Turning what a user names (files, folders, URLs, OPML) into ingested articles.

Each source is read, recognised (:func:`bot.ingest.parse.sniff`), parsed and
handed to the :class:`~bot.ingest.pipeline.Ingestor`. A source that fails is
recorded with its reason and the others go on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..models import Entry
from .parse import ParseError, iter_jsonl, parse_feed, parse_opml, parse_page, parse_text_article
from .parse import sniff as sniff_document
from .pipeline import Ingestor, IngestReport

log = logging.getLogger(__name__)

JSONL_BATCH = 1000  # entries per transaction when importing JSON Lines
MAX_FILE_BYTES = 50_000_000  # a single feed, page or article file
_SKIP_NAMES = {"readme.md", "readme.txt", "license", "license.txt", ".ds_store"}

Progress = Callable[[str, int], None]  # (where, entries done in this step)


@dataclass
class SourceOutcome:
    """The result of ingesting every source a user named."""

    report: IngestReport = field(default_factory=IngestReport)
    feeds_found: list[tuple[str, str | None]] = field(default_factory=list)  # from OPML
    sources: int = 0


def is_url(spec: str) -> bool:
    return spec.startswith(("http://", "https://"))


def expand_paths(paths: Iterable[Path]) -> Iterator[Path]:
    """Files named directly, and the files under named folders (sorted, no hidden)."""
    for path in paths:
        if path.is_dir():
            for child in sorted(path.rglob("*")):
                rel = child.relative_to(path)
                if child.is_file() and not any(p.startswith(".") for p in rel.parts):
                    if child.name.lower() not in _SKIP_NAMES:
                        yield child
        else:
            yield path


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
    ingestor: Ingestor,
    data: bytes,
    *,
    where: str,
    url: str | None = None,
    content_type: str | None = None,
    filename: str | None = None,
    feed_id: int | None = None,
    guild_id: int = 0,
    progress: Progress | None = None,
    outcome: SourceOutcome,
) -> None:
    """Recognise one document and ingest what it holds into ``outcome``."""
    kind = sniff_document(data, content_type=content_type, filename=filename)
    report = outcome.report
    if kind in {"feed", "json_feed"}:
        parsed = parse_feed(data, url=url, content_type=content_type)
        if parsed.warning:
            log.debug("%s: feed parsed with a warning: %s", where, parsed.warning)
        fallback = parsed.title or _host(parsed.link) or _host(url)
        report.add(
            await ingestor.ingest_entries(
                parsed.entries,
                feed_id=feed_id,
                guild_id=guild_id,
                fallback_source=fallback,
                where=where,
            )
        )
        if progress:
            progress(where, len(parsed.entries))
    elif kind == "opml":
        outcome.feeds_found.extend(parse_opml(data))
    elif kind == "jsonl":
        lines = data.decode("utf-8", "replace").splitlines()
        for batch in _chunks(iter_jsonl(lines), JSONL_BATCH):
            await _ingest_jsonl_batch(
                ingestor,
                batch,
                where=where,
                guild_id=guild_id,
                outcome=outcome,
                progress=progress,
            )
    elif kind == "html":
        entry = parse_page(data, url=url)
        report.add(
            await ingestor.ingest_entries(
                [entry], guild_id=guild_id, fallback_source=_host(url), where=where
            )
        )
        if progress:
            progress(where, 1)
    else:  # plain text article
        text = data.decode("utf-8", "replace")
        entry = parse_text_article(text, source=source_from_filename(filename))
        report.add(await ingestor.ingest_entries([entry], guild_id=guild_id, where=where))
        if progress:
            progress(where, 1)


async def _ingest_jsonl_batch(
    ingestor: Ingestor,
    batch: list[Entry | ParseError],
    *,
    where: str,
    guild_id: int = 0,
    outcome: SourceOutcome,
    progress: Progress | None,
) -> None:
    entries = [item for item in batch if isinstance(item, Entry)]
    for item in batch:
        if isinstance(item, ParseError):
            outcome.report.fail(where, str(item))
    outcome.report.add(await ingestor.ingest_entries(entries, guild_id=guild_id, where=where))
    if progress:
        progress(where, len(batch))


async def ingest_jsonl_file(
    ingestor: Ingestor, path: Path, *, outcome: SourceOutcome, progress: Progress | None = None
) -> None:
    """Import a JSON Lines archive of any size, ``JSONL_BATCH`` lines at a time.

    The file is read and decoded in a worker thread as it goes, so memory
    stays flat however large the archive is.
    """
    where = str(path)
    try:
        fh = await asyncio.to_thread(open, path, encoding="utf-8", errors="replace")
    except OSError as exc:
        outcome.report.fail(where, f"cannot read: {exc.strerror or exc}")
        return
    outcome.sources += 1
    try:
        batches = _chunks(iter_jsonl(fh), JSONL_BATCH)
        while (batch := await asyncio.to_thread(next, batches, None)) is not None:
            await _ingest_jsonl_batch(
                ingestor, batch, where=where, outcome=outcome, progress=progress
            )
    finally:
        fh.close()


def _read_file(path: Path) -> bytes:
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise ParseError(f"file is {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit")
    return path.read_bytes()


async def ingest_file(
    ingestor: Ingestor, path: Path, *, outcome: SourceOutcome, progress: Progress | None = None
) -> None:
    if path.suffix.lower() == ".jsonl":
        await ingest_jsonl_file(ingestor, path, outcome=outcome, progress=progress)
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
    outcome.sources += 1
    try:
        await ingest_document(
            ingestor, data, where=where, filename=path.name, outcome=outcome, progress=progress
        )
    except ParseError as exc:
        outcome.report.fail(where, str(exc))
