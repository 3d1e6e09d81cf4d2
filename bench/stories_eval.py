"""Stories on real-world input: the development twin of Issue 9's checks, in one command.

Usage::

    python bench/stories_eval.py [--data PATH] [--modes MODE ...] [--quick] [--json]

Every mode starts from a fresh temporary store and feeds the product only what a
publisher would publish (title, text, outlet, dates, URLs); the labelled file's
``label``, ``topic`` and ``id`` are kept for scoring and never served (dataset URLs
that embed the id are replaced by an opaque path). Modes:

* ``full-batch``: the whole file as one JSON Lines import through ``newsdesk ingest``
  (a subprocess of the real CLI).
* ``full-one-at-a-time``: each outlet an RSS feed on its own 127.0.0.N with the whole
  text (``content:encoded``); one article revealed per round, in published order, and
  each round one ``Newsdesk.poll_once()`` on one open ``Newsdesk``, as the running bot
  does. The poll interval is a day and the store's ``resume_feed`` makes the feed with
  the new article due (polling all feeds every round only adds 304s, ~60,000 of them).
* ``summary-feeds``: as above but items carry the title and the first sentence and link
  to an article page wrapped in navigation, teasers, comments and footers
  (:mod:`bench.newsfeeds`); revealed in published order over ``--rounds`` rounds, each
  round one ``newsdesk poll`` (open the store, subscribe the configured feeds,
  ``poll_once()``, close) with every feed due. Also reports the share of articles stored
  with their full text (>= 80 % of the words of the original) and the share whose
  stored text took in page clutter (cookie banner, comments, "Read more" headlines...).
* ``titles-only``: headlines alone, as one JSON Lines import through the CLI.
* ``digest-summary`` / ``digest-full`` (``digest`` runs both): 15 events (a seeded
  sample of the labels) served as live feeds, publication times mapped into the 24
  hours before the digest; the unmodified ``NewsdeskBot`` connects to the loopback
  Discord of ``tests/fakediscord``, polls hour by hour through its scheduler's poll
  job, then its scheduler's digest job posts the digest. The posted embeds are read
  back: each story block ("line") is mapped to events through the article links it
  shows; reported are lines, events split over several lines and lines mixing events,
  and the same judged from each line's whole story in the store (what "+N more" hides).
* ``extraction``: runs ``bench/extraction_eval.py`` when it exists.

Clock: the poll and digest modes run the product under a simulated UTC clock
(``Newsdesk.open(clock=)``; the bot takes the services' clock)
that follows the rounds: a round is never before the articles it reveals and, in
summary-feeds, comes >= 1.1 poll intervals after the last so every feed is due (no
SQL). That is the product as it runs on live news. ``--clock real`` keeps the wall
clock for the poll modes (the dataset's dates as they are, months old) and makes the
feeds due with the store's ``resume_feed``: what ``newsdesk poll`` sees on old data.

Scores come from the store through ``newsdesk export`` (``bot.cli.export_jsonl``):
article URL -> story id; an article missing from the store counts as a story of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import logging
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.newsfeeds import CLUTTER_MARKERS, NewsItem, Outlets  # noqa: E402
from bot.stories.metrics import bcubed, pairwise  # noqa: E402

log = logging.getLogger("stories_eval")

MODES = (
    "full-batch",
    "full-one-at-a-time",
    "summary-feeds",
    "titles-only",
    "digest-summary",
    "digest-full",
    "extraction",
)
ALIASES = {"digest": ("digest-summary", "digest-full"), "all": MODES}
DATA_NAME = Path("shared") / "clustering" / "ecbplus-dev.jsonl"
FULL_TEXT_SHARE = 0.8  # a stored body with >= 80 % of the original's words is "the full text"
DIGEST_EVENTS = 15
DIGEST_MAX_STORIES = 50  # the most a channel may show (config allows 1..50)
POLL_INTERVAL_MIN = 15  # the product's default
MODE_TIMEOUT_S = 900.0
_WORD = re.compile(r"\w+")
_LINK = re.compile(r"\[((?:\\.|[^\[\]\\])*)\]\((https?://[^\s)]+)\)")
_MORE = re.compile(r"\+(\d+) more")


def find_data() -> Path | None:
    """``../shared/clustering/ecbplus-dev.jsonl`` beside the checkout (or a worktree's parent)."""
    for base in (REPO.parent, REPO.parent.parent):
        if (base / DATA_NAME).exists():
            return base / DATA_NAME
    return None


# -- the labelled rows -------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One labelled article; ``label``/``rid`` are for scoring only."""

    n: int
    label: str
    rid: str
    title: str
    text: str
    url: str
    source: str
    published: datetime

    @property
    def public_url(self) -> str:
        """The URL we may give the product: one that embeds the row's id becomes opaque."""
        parts = urlsplit(self.url)
        if (self.rid and self.rid in self.url) or self.label in parts.path:
            opaque = hashlib.sha1(self.url.encode()).hexdigest()[:12]
            return f"{parts.scheme}://{parts.netloc}/news/{opaque}"
        return self.url


def load_rows(path: Path) -> list[Row]:
    rows: list[Row] = []
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                r = json.loads(line)
                published = datetime.fromisoformat(r["published_at"])
                if published.tzinfo is None:
                    published = published.replace(tzinfo=UTC)
                rows.append(
                    Row(
                        len(rows),
                        str(r["label"]),
                        str(r.get("id") or ""),
                        (r.get("title") or "").strip(),
                        (r.get("text") or "").strip(),
                        r["url"],
                        r.get("source") or "unknown",
                        published.astimezone(UTC),
                    )
                )
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{number}: not a labelled article ({exc})") from exc
    if not rows:
        raise ValueError(f"{path}: no rows")
    return rows


def pick_events(rows: Sequence[Row], count: int, seed: int) -> list[str]:
    """A fixed, seeded choice of ``count`` labels (never chosen by results)."""
    labels = sorted({r.label for r in rows})
    return sorted(random.Random(seed).sample(labels, min(count, len(labels))))


def subsample(rows: Sequence[Row], events: int, per_event: int, seed: int) -> list[Row]:
    """``events`` seeded labels with at most ``per_event`` articles each (for --quick)."""
    keep = set(pick_events(rows, events, seed))
    seen: Counter[str] = Counter()
    out = []
    for r in rows:
        if r.label in keep and seen[r.label] < per_event:
            seen[r.label] += 1
            out.append(r)
    return out


# -- results -----------------------------------------------------------------------


@dataclass
class ModeResult:
    mode: str
    articles: int = 0
    events: int = 0
    stories: int = 0
    stored: int = 0
    pairwise_p: float | None = None
    pairwise_r: float | None = None
    pairwise_f1: float | None = None
    bcubed_p: float | None = None
    bcubed_r: float | None = None
    bcubed_f1: float | None = None
    full_text_share: float | None = None
    clutter_share: float | None = None
    digest: dict[str, Any] | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def score_into(result: ModeResult, rows: Sequence[Row], predicted: Sequence[Any]) -> None:
    missing = sum(1 for p in predicted if isinstance(p, str) and p.startswith("missing-"))
    if missing:
        result.notes.append(
            f"{missing} article URL(s) not in the store (taken as duplicates of another article "
            "or dropped): each counted as a story of its own"
        )
    gold = [r.label for r in rows]
    pw, b3 = pairwise(predicted, gold), bcubed(predicted, gold)
    result.articles, result.events, result.stories = len(rows), len(set(gold)), len(set(predicted))
    result.pairwise_p, result.pairwise_r, result.pairwise_f1 = pw.precision, pw.recall, pw.f1
    result.bcubed_p, result.bcubed_r, result.bcubed_f1 = b3.precision, b3.recall, b3.f1


def _canonical(url: str) -> str:
    from bot.identity import canonical_url

    url = unquote(url)
    return canonical_url(url) or url


def export_store(database: Path) -> list[dict[str, Any]]:
    """Every stored article as ``newsdesk export --format jsonl`` writes it."""
    from bot.cli import export_jsonl

    out = io.StringIO()
    export_jsonl(database, out)
    return [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]


def stored_by_row(rows: Sequence[Row], urls: Sequence[str], exported: list[dict[str, Any]]):
    """For each row (whose product-side URL is ``urls[i]``): its exported record or None."""
    by_url = {_canonical(rec["url"]): rec for rec in exported if rec.get("url")}
    return [by_url.get(_canonical(u)) for u in urls]


def predicted_stories(records: Sequence[dict[str, Any] | None]) -> list[Any]:
    return [
        rec["story_id"] if rec and rec.get("story_id") is not None else f"missing-{n}"
        for n, rec in enumerate(records)
    ]


def word_coverage(original: str, stored: str) -> float:
    """Share of the original's words (as a multiset) present in the stored text."""
    want = Counter(w.lower() for w in _WORD.findall(original))
    if not want:
        return 1.0
    have = Counter(w.lower() for w in _WORD.findall(stored or ""))
    return sum(min(c, have[w]) for w, c in want.items()) / sum(want.values())


def text_checks(result: ModeResult, rows: Sequence[Row], records, teasers: dict[int, list[str]]):
    """Full-text share (rows with text) and clutter share (stored bodies with page clutter)."""
    with_text = [(r, rec) for r, rec in zip(rows, records, strict=True) if r.text.split()]
    full = sum(
        1
        for r, rec in with_text
        if rec and word_coverage(r.text, rec.get("text") or "") >= FULL_TEXT_SHARE
    )
    result.full_text_share = full / len(with_text) if with_text else None
    leaked = 0
    for r, rec in zip(rows, records, strict=True):
        body = (rec or {}).get("text") or ""
        if any(m in body for m in CLUTTER_MARKERS) or any(t in body for t in teasers.get(r.n, [])):
            leaked += 1
    result.clutter_share = leaked / len(rows) if rows else None
    result.notes.append(
        f"full text stored for {full}/{len(with_text)} articles with text; "
        f"page clutter in {leaked} stored bodies"
    )


# -- the CLI -------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEWSDESK_") and k != "DISCORD_TOKEN"
    }
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), *filter(None, [env.get("PYTHONPATH")])])
    return env


async def run_cli(args: Sequence[str], *, cwd: Path, limit_s: float = 600) -> tuple[int, str]:
    """``python -m bot ARGS`` (the ``newsdesk`` command) in ``cwd``; (exit code, output)."""
    (cwd / "absent.env").write_text("", encoding="utf-8")  # no settings but the harness's
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--env-file",
        str(cwd / "absent.env"),
        *args,
        cwd=cwd,
        env=_child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), limit_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return -1, f"timed out after {limit_s:.0f}s"
    text = out.decode("utf-8", "replace")
    if proc.returncode:
        text += err.decode("utf-8", "replace")
    return proc.returncode or 0, text


async def mode_jsonl(rows: Sequence[Row], tmp: Path, *, titles_only: bool, name: str) -> ModeResult:
    """One JSON Lines import through ``newsdesk ingest``."""
    result = ModeResult(name)
    path = tmp / "articles.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for r in rows:
            record = {
                "title": r.title,
                "url": r.public_url,
                "source": r.source,
                "published_at": r.published.isoformat(),
            }
            if not titles_only:
                record["text"] = r.text
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    db = tmp / "newsdesk.db"
    code, out = await run_cli(["--db", str(db), "ingest", str(path)], cwd=tmp)
    if code != 0:
        result.error = f"newsdesk ingest exited {code}: {out.strip()[-300:]}"
        return result
    said = [line for line in out.splitlines() if line.startswith("ingested")]
    result.notes.append("newsdesk ingest: " + (said[-1] if said else out.strip()[-200:]))
    exported = await asyncio.to_thread(export_store, db)
    records = stored_by_row(rows, [r.public_url for r in rows], exported)
    result.stored = sum(1 for rec in records if rec)
    score_into(result, rows, predicted_stories(records))
    return result


# -- the poll path -----------------------------------------------------------------------


class SimClock:
    """A settable UTC clock (callable)."""

    def __init__(self, start: datetime) -> None:
        self.t = start

    def __call__(self) -> datetime:
        return self.t

    def set(self, moment: datetime) -> None:
        self.t = moment


def round_schedule(rows: Sequence[Row], rounds: int | None, interval_min: int):
    """Rows in published order split into rounds; (round time, rows revealed) per round.

    ``rounds=None``: one article per round. A round is never before the articles it
    reveals and comes >= 1.1 poll intervals after the previous one, so every feed is due.
    """
    ordered = sorted(rows, key=lambda r: (r.published, r.n))
    count = len(ordered) if rounds is None else max(1, min(rounds, len(ordered)))
    chunks = [
        ordered[len(ordered) * k // count : len(ordered) * (k + 1) // count] for k in range(count)
    ]
    step = timedelta(minutes=interval_min * 1.1 + 1)
    plan: list[tuple[datetime, list[Row]]] = []
    last: datetime | None = None
    for chunk in chunks:
        if not chunk:
            continue
        at = chunk[-1].published + timedelta(seconds=1)
        if last is not None and at < last + step:
            at = last + step
        plan.append((at, chunk))
        last = at
    return plan


def news_items(
    rows: Sequence[Row], reveal: dict[int, datetime], published: dict[int, datetime] | None = None
) -> list[NewsItem]:
    return [
        NewsItem(
            key=r.n,
            outlet=r.source,
            title=r.title,
            text=r.text,
            published=(published or {}).get(r.n, r.published),
            reveal_at=reveal[r.n],
        )
        for r in rows
    ]


def _settings(database: Path, feeds: Sequence[str], **extra: Any):
    from bot.config import load_settings

    values: dict[str, Any] = {
        "database": database,
        "feeds": list(feeds),
        "allow_private_addresses": True,
        "poll_interval_minutes": POLL_INTERVAL_MIN,
        "fetch_timeout_seconds": 20,
        "timezone": "UTC",
    }
    values.update(extra)
    return load_settings(env_file=None, **values)


async def mode_poll(
    rows: Sequence[Row],
    tmp: Path,
    *,
    name: str,
    style: str,
    rounds: int | None,
    clock_mode: str,
    seed: int,
) -> ModeResult:
    """Feeds on loopback, revealed round by round and polled through the real poll path.

    ``rounds`` given (summary-feeds): each round is one ``newsdesk poll`` (open the store,
    subscribe the configured feeds, ``poll_once()``, close) and every feed is due.
    ``rounds=None`` (one at a time): one article per round and, as the running bot does,
    one ``Newsdesk`` for all rounds. Polling all 187 feeds 331 times would only add
    60,000 answers of 304 (which ingest nothing and so change no story); instead the
    poll interval is a day and the store's ``resume_feed`` makes the feed that has the
    new article due, so each round still polls what is due and nothing else.
    """
    from bot.services import Newsdesk
    from bot.store import feeds as feed_store
    from bot.store import transaction

    result = ModeResult(name)
    every_feed = rounds is not None
    interval = POLL_INTERVAL_MIN if every_feed else 24 * 60
    plan = round_schedule(rows, rounds, interval if every_feed else 0)
    reveal = {r.n: at for at, chunk in plan for r in chunk}
    sim = SimClock(plan[0][0] - timedelta(hours=1))
    items = news_items(rows, reveal)
    database = tmp / "newsdesk.db"
    totals: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    short_rounds = 0
    async with Outlets(items, style=style, now=sim, seed=seed) as outlets:
        settings = _settings(
            database, list(outlets.feed_urls.values()), poll_interval_minutes=interval
        )
        feed_of = outlets.feed_urls
        n_feeds = len(feed_of)
        clock_kw = {"clock": sim} if clock_mode == "sim" else {}
        shared = None if every_feed else await Newsdesk.open(settings, **clock_kw)
        try:
            if shared is not None:
                await shared.sync_configured_feeds()
                feed_ids = {f.url: f.id for f in await shared.list_feeds()}
            for at, chunk in plan:
                sim.set(at)
                nd = shared or await Newsdesk.open(
                    settings, **clock_kw
                )  # one `newsdesk poll`: open,
                try:
                    if shared is None:
                        await nd.sync_configured_feeds()  # subscribe the configured feeds,
                        if clock_mode == "real":
                            async with transaction(nd.db):
                                for feed in await nd.list_feeds():
                                    await feed_store.resume_feed(nd.db, feed.id)
                    else:
                        async with transaction(nd.db):
                            for outlet in {r.source for r in chunk}:
                                await feed_store.resume_feed(nd.db, feed_ids[feed_of[outlet]])
                    report = await nd.poll_once()  # poll what is due, close
                finally:
                    if shared is None:
                        await nd.close()
                totals.update(
                    due=report.due,
                    fetched=report.fetched,
                    failed=report.failed,
                    not_modified=report.not_modified,
                    new=report.new_articles,
                )
                for _fid, _url, message in report.errors:
                    errors[message[:80]] += 1
                if every_feed and report.due < n_feeds:
                    short_rounds += 1
        finally:
            if shared is not None:
                await shared.close()
        hits = dict(outlets.hits)
    result.notes.append(
        f"{len(plan)} polls, {n_feeds} feeds ({clock_mode} clock): {totals['due']} due, "
        f"{totals['fetched']} fetched, "
        f"{totals['not_modified']} not modified, {totals['failed']} failed, {totals['new']} new; "
        f"server saw {hits}"
    )
    if short_rounds:
        result.notes.append(f"{short_rounds} rounds had fewer than {n_feeds} feeds due")
    for message, count in errors.most_common(3):
        result.notes.append(f"feed error x{count}: {message}")
    exported = await asyncio.to_thread(export_store, database)
    by_key = {i.key: i for i in items}
    records = stored_by_row(rows, [by_key[r.n].url for r in rows], exported)
    result.stored = sum(1 for rec in records if rec)
    score_into(result, rows, predicted_stories(records))
    text_checks(result, rows, records, {i.key: i.teasers for i in items})
    return result


# -- the digest through the bot and the loopback Discord ------------------------------------------


def map_into_day(rows: Sequence[Row], end: datetime, margin: timedelta) -> dict[int, datetime]:
    """Publication times mapped linearly into ``[end - 24 h + margin, end - margin]``."""
    lo = min(r.published for r in rows)
    hi = max(r.published for r in rows)
    start, stop = end - timedelta(hours=24) + margin, end - margin
    span = (hi - lo).total_seconds() or 1.0
    return {
        r.n: (start + (stop - start) * ((r.published - lo).total_seconds() / span)).replace(
            microsecond=0
        )
        for r in rows
    }


def _fake_discord(data: Path | None = None):
    """The loopback Discord of ``tests/fakediscord`` (its spec found beside a worktree, or
    in the ``shared`` folder holding ``data``, too)."""
    import tests.fakediscord.server as server
    import tests.fakediscord.validate as validate
    from tests.fakediscord import FakeDiscord

    spec = Path(validate.SPEC_PATH)
    if not spec.exists():
        bases = [REPO.parent / "shared", REPO.parent.parent / "shared"]
        if data is not None:
            bases.append(data.resolve().parents[1])
        for base in bases:
            found = base / "discord-api-spec" / "openapi.json"
            if found.exists():

                def validator(strict_keys: bool = True, path: str = str(found)) -> Any:
                    return validate.schema_validator(path, strict_keys)

                with mock.patch.object(server, "schema_validator", validator):
                    return FakeDiscord()
        raise FileNotFoundError(f"Discord's OpenAPI description not found (looked at {spec})")
    return FakeDiscord()


async def _until(predicate: Callable[[], Any], within_s: float, step: float = 0.02) -> bool:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return True
        await asyncio.sleep(step)
    return False


def _scheduler_idle(bot: Any) -> bool:
    return not any(not t.done() for t in getattr(bot.scheduler, "_tasks", ()))


def parse_digest(posts: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Story blocks of the posted embeds: their article links and '+N more'."""
    lines = []
    for message in posts:
        for embed in message.get("embeds") or []:
            for block in (embed.get("description") or "").split("\n\n"):
                links = [unquote(url) for _label, url in _LINK.findall(block)]
                if not links:
                    continue
                more = sum(int(m) for m in _MORE.findall(block.splitlines()[-1]))
                first = block.splitlines()[0]
                lines.append({"links": links, "more": more, "headline": first[:160]})
    return lines


def judge_digest(
    lines: list[dict[str, Any]], label_of_url: dict[str, str], chosen: Sequence[str]
) -> dict[str, Any]:
    """Lines, events split over lines and lines mixing events, from the links shown."""
    per_line = []
    unmapped = 0
    for line in lines:
        labels = Counter(
            label_of_url[u] for u in map(_canonical, line["links"]) if u in label_of_url
        )
        if not labels:
            unmapped += 1
        per_line.append(labels)
    lines_of: dict[str, int] = Counter()
    for labels in per_line:
        for label in labels:
            lines_of[label] += 1
    return {
        "lines": len(lines),
        "events": len(chosen),
        "events_shown": len(lines_of),
        "split": sum(1 for n in lines_of.values() if n > 1),
        "mixed": sum(1 for labels in per_line if len(labels) > 1),
        "absent": sorted(set(chosen) - set(lines_of)),
        "unmapped_lines": unmapped,
        "hidden_links": sum(line["more"] for line in lines),
        "lines_with_more": sum(1 for line in lines if line["more"]),
        "detail": [
            {"headline": line.get("headline", ""), "events": dict(labels), "more": line["more"]}
            for line, labels in zip(lines, per_line, strict=True)
        ],
    }


async def mode_digest(
    rows: Sequence[Row],
    tmp: Path,
    *,
    name: str,
    style: str,
    events: int,
    rounds: int,
    seed: int,
    data: Path | None = None,
) -> ModeResult:
    """The unmodified bot polls live feeds and posts a digest to the loopback Discord."""
    from bot.discordbot.app import NewsdeskBot
    from bot.services import Newsdesk

    result = ModeResult(name)
    chosen = pick_events(rows, events, seed)
    rows = [r for r in rows if r.label in set(chosen)]
    # The digest slot: a whole minute six hours ago, so that the real cron never fires
    # during the run and every date the product sees lies in the past.
    slot = (datetime.now(UTC) - timedelta(hours=6)).replace(second=0, microsecond=0)
    published = map_into_day(rows, slot, timedelta(minutes=15))
    items = news_items(rows, published, published)
    window_start = slot - timedelta(hours=24)
    sim = SimClock(window_start - timedelta(minutes=10))
    fake = _fake_discord(data)
    await fake.start()
    outlets = Outlets(items, style=style, now=sim, seed=seed)
    try:
        await outlets.start()
        guild = fake.add_guild("Newsroom", channels=["news"])
        news = guild.channel("news")
        settings = _settings(
            tmp / "newsdesk.db",
            list(outlets.feed_urls.values()),
            guild_ids=[guild.id],
            digest_channels=f"{news.id} {slot:%H:%M} UTC max={DIGEST_MAX_STORIES}",
            digest_grace_hours=3,
        )
        nd = await Newsdesk.open(settings, clock=sim)
        try:
            digest = await _bot_digest(
                nd, settings, fake, news, sim, slot, rounds, result, NewsdeskBot
            )
            story_rows = await nd.db.execute_fetchall(
                "SELECT url, story_id FROM articles WHERE url IS NOT NULL"
            )
        finally:
            await nd.close()
    finally:
        await outlets.close()
        await fake.close()
    problems = fake.problems()
    if problems:
        result.notes.append(f"fake Discord saw {len(problems)} problem(s): {problems[0][:160]}")
    exported = await asyncio.to_thread(export_store, tmp / "newsdesk.db")
    by_key = {i.key: i for i in items}
    urls = [by_key[r.n].url for r in rows]
    records = stored_by_row(rows, urls, exported)
    result.stored = sum(1 for rec in records if rec)
    score_into(result, rows, predicted_stories(records))
    text_checks(result, rows, records, {i.key: i.teasers for i in items})
    label_of_url = {_canonical(u): r.label for u, r in zip(urls, rows, strict=True)}
    if digest is None:
        return result
    lines, outcome = digest
    judged = judge_digest(lines, label_of_url, chosen)
    # The same judged from each line's whole story (what "+N more" and one-link-per-outlet hide).
    story_of = {_canonical(u): s for u, s in story_rows}
    whole = []
    for line in lines:
        story = story_of.get(_canonical(line["links"][0]))
        whole.append(
            {
                "links": [u for u, s in story_of.items() if s == story and u in label_of_url]
                or line["links"],
                "more": 0,
                "headline": line["headline"],
            }
        )
    judged_whole = judge_digest(whole, label_of_url, chosen)
    judged["story_split"] = judged_whole["split"]
    judged["story_mixed"] = judged_whole["mixed"]
    judged["story_detail"] = judged_whole["detail"]
    judged["one_article_lines"] = sum(
        1 for d in judged_whole["detail"] if sum(d["events"].values()) == 1
    )
    judged["result"] = outcome
    result.digest = judged
    result.notes.append(
        f"digest {outcome}: {judged['lines']} lines for {len(chosen)} events; "
        f"{judged['split']} split, {judged['mixed']} mixed (by links shown); by whole stories "
        f"{judged['story_split']} split, {judged['story_mixed']} mixed; {judged['hidden_links']} "
        f"outlets behind '+N more' on {judged['lines_with_more']} lines; "
        f"absent events: {len(judged['absent'])}; {judged['one_article_lines']} lines are "
        f"one-article stories"
    )
    if judged["lines"] >= DIGEST_MAX_STORIES:
        result.notes.append(f"digest at its {DIGEST_MAX_STORIES}-story cap: lines may be missing")
    return result


async def _bot_digest(
    nd,
    settings,
    fake,
    news,
    sim: SimClock,
    slot: datetime,
    rounds: int,
    result: ModeResult,
    bot_cls,
) -> tuple[list[dict[str, Any]], str] | None:
    """Start the bot on the fake, poll in ``rounds`` over the day, fire the digest job."""
    await nd.sync_configured_feeds()  # what `newsdesk run` does before starting the bot
    n_feeds = len(settings.feed_urls())
    bot = bot_cls(settings, nd, clock=sim, guild_ready_timeout=0.05)
    async with fake.running(bot, timeout=30):
        if not await _until(lambda: bot.scheduler is not None and bot._catch_up is not None, 30):
            result.error = "the bot's scheduler did not start"
            return None
        await asyncio.wait_for(bot._catch_up, 60)

        async def first_poll_done() -> bool:
            feeds = await nd.list_feeds()
            return len(feeds) >= n_feeds and all(f.last_success_at or f.last_error for f in feeds)

        # The scheduler polls once at start-up (nothing is published yet at that time);
        # let it finish, then take over its timer: each round runs the same poll job.
        if not await _until(first_poll_done, 60, 0.05):
            result.notes.append("the bot's start-up poll did not finish within 60 s")
        await _until(lambda: _scheduler_idle(bot), 60)
        with contextlib.suppress(Exception):
            bot.scheduler.scheduler.pause_job("poll")
        window_start = slot - timedelta(hours=24)
        span = timedelta(hours=24) - timedelta(minutes=1)
        for k in range(1, rounds + 1):
            sim.set(window_start + span * k / rounds)
            await _until(lambda: _scheduler_idle(bot), 120)
            await bot.scheduler.poll_job()
        failing = [f for f in await nd.list_feeds() if f.last_error and f.consecutive_failures]
        if failing:
            result.notes.append(f"{len(failing)} feeds failing at the end: {failing[0].last_error}")
        sim.set(slot + timedelta(seconds=2))
        await _until(lambda: _scheduler_idle(bot), 120)
        outcome = await bot.scheduler.digest_job(news.id)
        posts = [m for m in fake.messages[news.id] if "webhook_id" not in m]
    label = getattr(outcome, "result", None) or "failed"
    if label != "sent":
        result.notes.append(f"digest job result: {label} {getattr(outcome, 'error', '') or ''}")
    return parse_digest(posts), label


# -- extraction -------------------------------------------------------------------------


async def mode_extraction(tmp: Path, quick: bool) -> ModeResult:
    result = ModeResult("extraction")
    script = REPO / "bench" / "extraction_eval.py"
    if not script.exists():
        result.skipped = "bench/extraction_eval.py does not exist yet"
        return result
    # extraction_eval has no --quick: a quick run scores the pages as files only
    args = [sys.executable, str(script), *(["--mode", "files"] if quick else [])]
    proc = await asyncio.create_subprocess_exec(
        *args,
        cwd=REPO,
        env=_child_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), MODE_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        result.error = "bench/extraction_eval.py timed out"
        return result
    text = out.decode("utf-8", "replace").strip()
    if proc.returncode:
        result.error = f"bench/extraction_eval.py exited {proc.returncode}: {text[-300:]}"
    result.notes.extend(text.splitlines()[-15:])
    return result


# -- running ------------------------------------------------------------------------------


@dataclass
class Options:
    rounds: int = 24
    digest_rounds: int = 24
    digest_events: int = DIGEST_EVENTS
    clock: str = "sim"
    seed: int = 1
    quick: bool = False
    data: Path | None = None


async def run_mode(mode: str, rows: Sequence[Row], opts: Options) -> ModeResult:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"stories-{mode}-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            if mode == "full-batch":
                coro = mode_jsonl(rows, tmp, titles_only=False, name=mode)
            elif mode == "titles-only":
                coro = mode_jsonl(rows, tmp, titles_only=True, name=mode)
            elif mode == "full-one-at-a-time":
                coro = mode_poll(
                    rows,
                    tmp,
                    name=mode,
                    style="full",
                    rounds=None,
                    clock_mode=opts.clock,
                    seed=opts.seed,
                )
            elif mode == "summary-feeds":
                coro = mode_poll(
                    rows,
                    tmp,
                    name=mode,
                    style="summary",
                    rounds=opts.rounds,
                    clock_mode=opts.clock,
                    seed=opts.seed,
                )
            elif mode in ("digest-summary", "digest-full"):
                coro = mode_digest(
                    rows,
                    tmp,
                    name=mode,
                    style=mode.split("-")[1],
                    events=opts.digest_events,
                    rounds=opts.digest_rounds,
                    seed=opts.seed,
                    data=opts.data,
                )
            elif mode == "extraction":
                coro = mode_extraction(tmp, opts.quick)
            else:
                raise ValueError(f"unknown mode {mode!r}")
            result = await asyncio.wait_for(coro, MODE_TIMEOUT_S)
        except Exception as exc:  # one mode failing must not hide the others
            log.debug("mode %s failed", mode, exc_info=True)
            result = ModeResult(mode, error=f"{type(exc).__name__}: {exc}")
    result.seconds = time.perf_counter() - start
    return result


async def run_all(
    modes: Sequence[str],
    rows: Sequence[Row],
    opts: Options,
    progress: Callable[[str], None] | None = None,
) -> list[ModeResult]:
    results = []
    for mode in modes:
        if progress:
            progress(f"running {mode} ...")
        results.append(await run_mode(mode, rows, opts))
    return results


def expand_modes(names: Sequence[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for mode in ALIASES.get(name, (name,)):
            if mode not in MODES:
                raise ValueError(
                    f"unknown mode {mode!r}; choose from {', '.join(MODES)}, digest, all"
                )
            if mode not in out:
                out.append(mode)
    return out


def _f(value: float | None, pct: bool = False) -> str:
    if value is None:
        return "-"
    return f"{100 * value:.0f}%" if pct else f"{value:.3f}"


def render(results: Sequence[ModeResult], title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for name in (
        "mode",
        "articles",
        "events",
        "stories",
        "pair P",
        "pair R",
        "pair F1",
        "B³ P",
        "B³ R",
        "B³ F1",
        "full text",
        "clutter",
        "digest lines",
        "split",
        "mixed",
        "time",
    ):
        table.add_column(name, justify="left" if name == "mode" else "right")
    for r in results:
        if r.skipped or r.error:
            table.add_row(r.mode, *(["-"] * 14), f"{r.seconds:.0f}s")
            continue
        d = r.digest or {}
        table.add_row(
            r.mode,
            str(r.articles),
            str(r.events),
            str(r.stories),
            _f(r.pairwise_p),
            _f(r.pairwise_r),
            _f(r.pairwise_f1),
            _f(r.bcubed_p),
            _f(r.bcubed_r),
            _f(r.bcubed_f1),
            _f(r.full_text_share, pct=True),
            _f(r.clutter_share, pct=True),
            f"{d['lines']}/{d['events']}" if d else "-",
            f"{d['split']} ({d['story_split']})" if d else "-",
            f"{d['mixed']} ({d['story_mixed']})" if d else "-",
            f"{r.seconds:.0f}s",
        )
    return table


def explain(console: Any, result: ModeResult) -> None:
    """Each digest line: its events (whole story in the store), '+N more' and headline."""
    if not result.digest:
        return
    console.print(f"\n[bold]{result.mode}[/]: lines as posted (events of the line's whole story)")
    seen: Counter[str] = Counter()
    for line in result.digest["story_detail"]:
        seen.update(line["events"].keys())
    for number, line in enumerate(result.digest["story_detail"], 1):
        events = ", ".join(
            f"{k} x{v}{' SPLIT' if seen[k] > 1 else ''}" for k, v in sorted(line["events"].items())
        )
        flag = " MIXED" if len(line["events"]) > 1 else ""
        console.print(
            f"  {number:2d}. [{events}]{flag}  {line['headline'][:110]}",
            highlight=False,
            markup=False,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=None,
        help="labelled JSON Lines (default ../shared/clustering/ecbplus-dev.jsonl)",
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        default=["all"],
        metavar="MODE",
        help=f"{', '.join(MODES)}, digest (both digests) or all (default)",
    )
    parser.add_argument("--rounds", type=int, default=24, help="poll rounds of summary-feeds")
    parser.add_argument(
        "--digest-rounds",
        type=int,
        default=24,
        help="polls over the digest's 24 hours (default hourly)",
    )
    parser.add_argument("--digest-events", type=int, default=DIGEST_EVENTS)
    parser.add_argument(
        "--clock",
        choices=("sim", "real"),
        default="sim",
        help="poll modes: simulated clock following the rounds (default) or the "
        "wall clock with feeds made due each round",
    )
    parser.add_argument("--seed", type=int, default=1, help="event choice and page clutter")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a small subsample (4 events, <= 5 articles each): a smoke run",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON list instead")
    parser.add_argument(
        "--explain",
        action="store_true",
        help="list each digest line with the events of its whole story",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="the product's INFO logs")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for noisy in ("apscheduler", "discord"):
        logging.getLogger(noisy).setLevel(logging.WARNING if args.verbose else logging.ERROR)
    try:
        modes = expand_modes(args.modes)
    except ValueError as exc:
        parser.error(str(exc))
    data = args.data or find_data()
    if data is None:
        print(f"stories_eval: no data: pass --data (looked for ../{DATA_NAME})", file=sys.stderr)
        return 2
    try:
        rows = load_rows(data)
    except (OSError, ValueError) as exc:
        print(f"stories_eval: {exc}", file=sys.stderr)
        return 2
    opts = Options(
        rounds=args.rounds,
        digest_rounds=args.digest_rounds,
        digest_events=args.digest_events,
        clock=args.clock,
        seed=args.seed,
        quick=args.quick,
        data=data,
    )
    if args.quick:
        rows = subsample(rows, 4, 5, args.seed)
        opts.rounds, opts.digest_rounds, opts.digest_events = 4, 4, 4
    from rich.console import Console

    err = Console(stderr=True)
    started = time.perf_counter()
    results = asyncio.run(
        run_all(modes, rows, opts, None if args.json else lambda m: err.print(f"[dim]{m}[/]"))
    )
    total = time.perf_counter() - started
    if args.json:
        print(
            json.dumps(
                {"data": str(data), "seconds": total, "results": [r.as_dict() for r in results]},
                default=str,
            )
        )
    else:
        console = Console(width=None if sys.stdout.isatty() else 160)
        console.print(
            render(
                results,
                f"Stories on real-world input: {data.name}, "
                f"{len(rows)} articles{' (quick)' if args.quick else ''}",
            )
        )
        console.print("digest split/mixed: by the links shown (by each line's whole story)")
        for r in results:
            for note in (
                ([f"skipped: {r.skipped}"] if r.skipped else [])
                + ([f"ERROR: {r.error}"] if r.error else [])
                + r.notes
            ):
                console.print(f"[bold]{r.mode}[/]: {note}", highlight=False)
        if args.explain:
            for r in results:
                explain(console, r)
        console.print(f"total {total:.0f}s")
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
