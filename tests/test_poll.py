"""A polling cycle against the loopback server: isolation, health, back-off."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from bot.ingest.fetch import Fetcher
from bot.ingest.poll import PollReport, poll_due_feeds
from bot.models import ParsedFeed
from bot.store import feeds as fs

BACKENDS = ("sqlite", "postgresql")  # each store test runs on both (conftest)

if TYPE_CHECKING:
    from tests.httpserver import LoopbackServer

pytest_plugins = ["tests.httpserver"]  # the http_server fixture

T0 = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
INTERVAL = 900
LOG = logging.getLogger("test.poll")


def rss(*titles: str) -> bytes:
    items = "".join(
        f"<item><title>{t}</title><link>https://news.example/{i}</link>"
        f"<guid>https://news.example/{i}</guid></item>"
        for i, t in enumerate(titles)
    )
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
        f"<title>Loopback News</title><link>https://news.example/</link>{items}</channel></rss>"
    ).encode()


@dataclass
class Counts:
    new: int
    updated: int = 0
    duplicates: int = 0


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class LowJitter:
    """Deterministic rng: always the low end of every range."""

    def uniform(self, a: float, b: float) -> float:
        return a


class Recorder:
    """A stand-in ingest pipeline that records what it was given."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int, ParsedFeed]] = []
        self.fail_for: set[int] = set()

    async def __call__(self, feed_id: int, guild_id: int, parsed: ParsedFeed) -> Counts:
        if feed_id in self.fail_for:
            raise RuntimeError("disk full")
        self.calls.append((feed_id, guild_id, parsed))
        return Counts(new=len(parsed.entries))


def fetcher(**kw) -> Fetcher:
    kw.setdefault("allow_private", True)
    return Fetcher(user_agent="Newsdesk-test/0.1", **kw)


async def poll(db, f, ingest, clock, **kw) -> PollReport:
    kw.setdefault("logger", LOG)
    kw.setdefault("rng", LowJitter())
    return await poll_due_feeds(db, f, ingest, now_fn=clock, interval_s=INTERVAL, **kw)


async def test_good_feed_is_ingested_and_healthy(db, http_server: LoopbackServer, caplog):
    http_server.route(
        "/rss", body=rss("One", "Two"), headers={"ETag": '"v1"'}, content_type="application/rss+xml"
    )
    fid = await fs.add_feed(db, http_server.url("/rss"), guild_id=9, now=T0)
    ingest, clock = Recorder(), Clock()
    caplog.set_level(logging.DEBUG, logger=LOG.name)
    async with fetcher() as f:
        report = await poll(db, f, ingest, clock)
    assert (report.due, report.fetched, report.not_modified, report.failed) == (1, 1, 0, 0)
    assert report.new_articles == 2 and report.errors == []
    [(called_id, guild, parsed)] = ingest.calls
    assert (called_id, guild) == (fid, 9)
    assert [e.title for e in parsed.entries] == ["One", "Two"]
    health = await fs.get_feed(db, fid)
    assert health.title == "Loopback News" and health.last_success_at == T0
    assert health.next_poll_at == T0 + timedelta(seconds=INTERVAL * 0.9)
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == [
        "poll: due=1 fetched=1 not_modified=0 failed=0 new=2 pages=0 pages_failed=0 pages_deferred=0"
    ]


async def test_second_cycle_uses_conditional_get(db, http_server: LoopbackServer):
    async def handler(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304)
        return web.Response(body=rss("One"), headers={"ETag": '"v1"'})

    http_server.handler("/rss", handler)
    fid = await fs.add_feed(db, http_server.url("/rss"), now=T0)
    ingest, clock = Recorder(), Clock()
    async with fetcher() as f:
        first = await poll(db, f, ingest, clock)
        nothing = await poll(db, f, ingest, clock)  # not due yet: no request
        clock.now = T0 + timedelta(hours=1)
        second = await poll(db, f, ingest, clock)
    assert first.fetched == 1 and nothing.due == 0
    assert (second.due, second.fetched, second.not_modified) == (1, 0, 1)
    assert len(ingest.calls) == 1 and http_server.count("/rss") == 2
    assert http_server.last_headers("/rss")["If-None-Match"] == '"v1"'
    assert (await fs.get_feed(db, fid)).last_success_at == clock.now


async def test_one_bad_or_slow_feed_does_not_stop_the_others(db, http_server: LoopbackServer):
    async def hang(_request: web.Request) -> web.Response:
        await asyncio.wait_for(http_server.stopping.wait(), timeout=10)
        return web.Response(text="late")

    http_server.handler("/hang", hang)
    http_server.route("/500", status=500)
    http_server.route(
        "/html", body=b"<!doctype html><html><body>hi</body></html>", content_type="text/html"
    )
    http_server.route("/boom", body=rss("Will not store"))
    http_server.route("/good", body=rss("Fine"))
    ids = {}
    for name in ("hang", "500", "html", "boom", "good"):  # the good feed comes last
        ids[name] = await fs.add_feed(db, http_server.url(f"/{name}"), now=T0)
    ingest, clock = Recorder(), Clock()
    ingest.fail_for.add(ids["boom"])

    hang_recorded_before_good: list[bool] = []
    real_ingest = ingest.__call__

    async def watching(feed_id: int, guild_id: int, parsed: ParsedFeed) -> Counts:
        if feed_id == ids["good"]:
            hang = await fs.get_feed(db, ids["hang"])
            hang_recorded_before_good.append(hang.consecutive_failures > 0)
        return await real_ingest(feed_id, guild_id, parsed)

    async with fetcher(total_timeout=1, read_timeout=5) as f:
        report = await poll(db, f, watching, clock, concurrency=8)

    assert (report.due, report.fetched, report.failed) == (5, 1, 4)
    assert hang_recorded_before_good == [False]  # the good feed did not wait for it
    messages = {fid: msg for fid, _url, msg in report.errors}
    assert "timed out" in messages[ids["hang"]]
    assert "HTTP 500" in messages[ids["500"]]
    assert "not a readable feed" in messages[ids["html"]]
    assert "could not store" in messages[ids["boom"]]
    assert [c[0] for c in ingest.calls] == [ids["good"]]
    for name in ("hang", "500", "html", "boom"):
        h = await fs.get_feed(db, ids[name])
        assert h.consecutive_failures == 1 and h.last_error_at == T0 and h.last_error
        assert h.next_poll_at > T0 and not h.paused
    good = await fs.get_feed(db, ids["good"])
    assert good.consecutive_failures == 0 and good.last_success_at == T0


async def test_repeated_500s_back_off_and_finally_pause(db, http_server: LoopbackServer, caplog):
    http_server.route("/down", status=500)
    fid = await fs.add_feed(db, http_server.url("/down"), now=T0)
    ingest, clock = Recorder(), Clock()
    delays: list[float] = []
    caplog.set_level(logging.WARNING, logger=LOG.name)
    async with fetcher() as f:
        for _ in range(60):
            report = await poll(db, f, ingest, clock)
            assert report.due == 1 and report.failed == 1
            health = await fs.get_feed(db, fid)
            if health.paused:
                break
            delays.append((health.next_poll_at - clock.now).total_seconds())
            clock.now = health.next_poll_at
        # A paused feed is not polled any more, until resumed.
        requests = http_server.count("/down")
        clock.now += timedelta(days=30)
        assert (await poll(db, f, ingest, clock)).due == 0
        assert http_server.count("/down") == requests
    assert health.paused and report.paused == [fid]
    assert health.last_error and "HTTP 500" in health.last_error
    # Exponential growth (low jitter: half of 60 s * 2**n), then the 6 h cap.
    assert delays[:6] == [30, 60, 120, 240, 480, 960]
    assert all(b >= a for a, b in zip(delays, delays[1:], strict=False))
    assert max(delays) == 3 * 3600
    # Paused only once both limits were reached: >= 10 failures, >= 3 days.
    assert health.consecutive_failures >= 10
    assert clock.now - T0 >= timedelta(days=3)
    assert http_server.count("/down") == health.consecutive_failures
    assert any("paused" in r.getMessage() for r in caplog.records)
    await fs.resume_feed(db, fid)
    assert [r.id for r in await fs.due_feeds(db, clock.now)] == [fid]


async def test_retry_after_is_honoured(db, http_server: LoopbackServer):
    http_server.route("/busy", status=429, headers={"Retry-After": "7200"})
    fid = await fs.add_feed(db, http_server.url("/busy"), now=T0)
    async with fetcher() as f:
        report = await poll(db, f, Recorder(), Clock())
    assert report.failed == 1
    health = await fs.get_feed(db, fid)
    assert health.next_poll_at == T0 + timedelta(seconds=7200)


async def test_blocked_feed_is_recorded_not_fetched(db, http_server: LoopbackServer):
    http_server.route("/rss", body=rss("x"))
    fid = await fs.add_feed(db, http_server.url("/rss"), now=T0)
    async with fetcher(allow_private=False) as f:
        report = await poll(db, f, Recorder(), Clock())
    assert report.failed == 1 and "blocked" in report.errors[0][2]
    assert http_server.count("/rss") == 0
    assert (await fs.get_feed(db, fid)).consecutive_failures == 1


async def test_credentials_in_a_feed_url_never_reach_the_report(db, http_server: LoopbackServer):
    http_server.route("/secret", status=404)
    url = f"http://bob:hunter2@127.0.0.1:{http_server.port}/secret"
    await fs.add_feed(db, url, now=T0)
    async with fetcher() as f:
        report = await poll(db, f, Recorder(), Clock())
    [(_, shown_url, message)] = report.errors
    assert "hunter2" not in shown_url and "hunter2" not in message


async def test_empty_cycle_still_logs_one_line(db, caplog):
    caplog.set_level(logging.INFO, logger=LOG.name)
    async with fetcher() as f:
        report = await poll(db, f, Recorder(), Clock())
    assert report == PollReport()
    assert [r.getMessage() for r in caplog.records] == [
        "poll: due=0 fetched=0 not_modified=0 failed=0 new=0 pages=0 pages_failed=0 pages_deferred=0"
    ]


@pytest.mark.parametrize("concurrency", [1, 3])
async def test_concurrency_bound_is_respected(db, http_server: LoopbackServer, concurrency):
    active = peak = 0

    async def slowish(_request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.03)
        active -= 1
        return web.Response(body=rss("x"))

    for i in range(6):
        http_server.handler(f"/f{i}", slowish)
        await fs.add_feed(db, http_server.url(f"/f{i}"), now=T0)
    async with fetcher(per_host_limit=10) as f:
        report = await poll(db, f, Recorder(), Clock(), concurrency=concurrency)
    assert report.fetched == 6
    assert peak == concurrency


async def test_two_pollers_on_one_store_fetch_each_due_feed_once(
    db, store_url, http_server: LoopbackServer
):
    """Two processes' poll cycles at once (two connections to one store): each
    due feed is claimed, fetched and ingested by one of them, and both work."""
    from bot.store import open_db

    async def slowish(_request: web.Request) -> web.Response:
        await asyncio.sleep(0.05)
        return web.Response(body=rss("x"), headers={"ETag": '"v1"'})

    paths = [f"/f{i}" for i in range(8)]
    ids = []
    for path in paths:
        http_server.handler(path, slowish)
        ids.append(await fs.add_feed(db, http_server.url(path), now=T0))
    other = await open_db(store_url)
    ingests = (Recorder(), Recorder())
    try:
        async with fetcher(per_host_limit=10) as f1, fetcher(per_host_limit=10) as f2:
            reports = await asyncio.gather(
                poll(db, f1, ingests[0], Clock(), concurrency=2),
                poll(other, f2, ingests[1], Clock(), concurrency=2),
            )
    finally:
        await other.close()
    assert [http_server.count(p) for p in paths] == [1] * len(paths)
    polled = [[c[0] for c in ingest.calls] for ingest in ingests]
    assert sorted(polled[0] + polled[1]) == ids
    assert polled[0] and polled[1]  # the work was shared
    assert [(r.due, r.fetched, r.failed) for r in reports] == [
        (len(polled[0]), len(polled[0]), 0),
        (len(polled[1]), len(polled[1]), 0),
    ]
    for fid in ids:
        health = await fs.get_feed(db, fid)
        assert health.last_success_at == T0 and health.consecutive_failures == 0
        assert health.next_poll_at == T0 + timedelta(seconds=INTERVAL * 0.9)


async def test_a_dead_pollers_claim_expires_and_another_polls_the_feed(
    db, store_url, http_server: LoopbackServer
):
    """A process killed mid-fetch leaves its claim behind: the feed waits for
    the lease to end (not even a poll on demand takes it), then another
    process polls it."""
    from bot.store import open_db

    lease_s = 300
    requested = asyncio.Event()

    async def hang(_request: web.Request) -> web.Response:
        requested.set()
        await asyncio.wait_for(http_server.stopping.wait(), timeout=10)
        return web.Response(text="late")

    http_server.handler("/rss", hang)
    fid = await fs.add_feed(db, http_server.url("/rss"), now=T0)
    dead = await open_db(store_url)
    try:
        async with fetcher() as f:
            task = asyncio.create_task(poll(dead, f, Recorder(), Clock(), lease_s=lease_s))
            await asyncio.wait_for(requested.wait(), timeout=10)
            task.cancel()  # killed while its fetch is in flight
            with pytest.raises(asyncio.CancelledError):
                await task
    finally:
        await dead.close()

    http_server.route("/rss", body=rss("Back"))
    ingest = Recorder()
    clock = Clock(T0 + timedelta(seconds=lease_s - 1))
    async with fetcher() as f:
        assert (await poll(db, f, ingest, clock)).due == 0
        assert (await poll(db, f, ingest, clock, everything=True)).due == 0
        assert http_server.count("/rss") == 1
        clock.now = T0 + timedelta(seconds=lease_s)
        report = await poll(db, f, ingest, clock)
    assert (report.due, report.fetched, report.failed) == (1, 1, 0)
    assert http_server.count("/rss") == 2 and [c[0] for c in ingest.calls] == [fid]
    health = await fs.get_feed(db, fid)
    assert health.last_success_at == clock.now and health.consecutive_failures == 0
    assert health.next_poll_at == clock.now + timedelta(seconds=INTERVAL * 0.9)


async def test_a_feed_claimed_by_another_poller_is_not_counted(db, http_server: LoopbackServer):
    """Between this cycle's reading of the due feeds and its claim, another
    process took one: it is skipped, not fetched, not in the report."""
    http_server.route("/a", body=rss("A"))
    http_server.route("/b", body=rss("B"))
    a = await fs.add_feed(db, http_server.url("/a"), now=T0)
    b = await fs.add_feed(db, http_server.url("/b"), now=T0)
    real_due = fs.due_feeds

    async def due_then_taken(*args, **kw):
        rows = await real_due(*args, **kw)
        await fs.claim_feed(db, b, now=T0, lease_until=T0 + timedelta(minutes=10))
        return rows

    ingest = Recorder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fs, "due_feeds", due_then_taken)
        async with fetcher() as f:
            report = await poll(db, f, ingest, Clock())
    assert (report.due, report.fetched) == (1, 1)
    assert [c[0] for c in ingest.calls] == [a] and http_server.count("/b") == 0


async def test_the_heartbeat_records_gateway_changes_and_poll_cycles(db):
    """The heartbeat row the poll cycles end in (``newsdesk health`` reads it)."""
    from bot.store import health as health_store

    assert await health_store.read_heartbeat(db) is None
    await health_store.start_heartbeat(db, now=T0, poll_interval_s=INTERVAL, pid=4242)
    hb = await health_store.read_heartbeat(db)
    assert (hb.started_at, hb.updated_at, hb.pid, hb.gateway) == (T0, T0, 4242, "connecting")
    assert (hb.gateway_since, hb.poll_interval_s, hb.last_poll_at) == (T0, INTERVAL, None)
    t1, t2, t3 = (T0 + timedelta(minutes=m) for m in (1, 2, 3))
    await health_store.beat(db, now=t1, gateway="connected")
    await health_store.beat(db, now=t2, gateway="connected", poll_ok=True)
    hb = await health_store.read_heartbeat(db)
    assert (hb.updated_at, hb.gateway, hb.gateway_since) == (t2, "connected", t1)
    assert (hb.last_poll_at, hb.last_poll_ok_at) == (t2, t2)
    await health_store.beat(db, now=t3, poll_ok=False)  # every due feed failed
    hb = await health_store.read_heartbeat(db)
    assert (hb.gateway, hb.gateway_since, hb.last_poll_at, hb.last_poll_ok_at) == (
        "connected",
        t1,
        t3,
        t2,
    )
    await health_store.beat(db, now=t3 + timedelta(minutes=1))  # still alive, nothing else
    assert (await health_store.read_heartbeat(db)).last_poll_at == t3
    with pytest.raises(ValueError):
        await health_store.beat(db, now=t3, gateway="sleeping")
    # A restart: a fresh row, the poll times kept, no pid given.
    t4 = T0 + timedelta(hours=1)
    await health_store.start_heartbeat(db, now=t4, poll_interval_s=600)
    hb = await health_store.read_heartbeat(db)
    assert (hb.started_at, hb.pid, hb.gateway, hb.gateway_since) == (t4, None, "connecting", t4)
    assert (hb.poll_interval_s, hb.last_poll_at, hb.last_poll_ok_at) == (600, t3, t2)
