"""Issue 14, operations: the bot's heartbeat, ``newsdesk health`` and ``newsdesk backup``."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from typing import TYPE_CHECKING

import pytest

from bot.cli import main
from bot.config import load_settings
from bot.models import Entry
from bot.services import Newsdesk
from bot.store import health as health_store
from tests.test_bot_e2e import run_command

if TYPE_CHECKING:
    from tests.botharness import Newsroom

pytest_plugins = ["tests.botharness", "tests.httpserver"]

UTC = dt.UTC
T0 = dt.datetime(2024, 6, 1, 7, 0, tzinfo=UTC)


pytestmark = pytest.mark.usefixtures("cli_isolated")


class Clock:
    def __init__(self, now: dt.datetime) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


async def test_health_follows_the_heartbeat_gateway_and_polls(tmp_path) -> None:
    clock = Clock(T0)
    settings = load_settings(env_file=None, database=tmp_path / "n.db", poll_interval_minutes=10)
    nd = await Newsdesk.open(settings, clock=clock)
    try:
        report = await nd.health()
        assert not report.ok and "never run" in report.problems[0]

        await nd.start_heartbeat()
        await nd.heartbeat(gateway="connected")
        assert (await nd.health()).ok  # just started: no poll yet, and that is fine

        report = await nd.poll_and_beat()  # nothing due: a good cycle
        clock.now = T0 + dt.timedelta(minutes=29)
        await nd.heartbeat()
        assert (await nd.health()).ok

        clock.now = T0 + dt.timedelta(minutes=31)  # 3 intervals without a good poll
        await nd.heartbeat()
        report = await nd.health()
        assert not report.ok
        (problem,) = report.problems
        assert problem.startswith("last successful poll 31 min ago")
        assert "every 10 min" in problem

        await nd.poll_and_beat()
        assert (await nd.health()).ok

        await nd.heartbeat(gateway="disconnected")
        clock.now += dt.timedelta(seconds=60)
        assert (await nd.health()).ok  # a short reconnect is no outage
        clock.now += dt.timedelta(seconds=90)
        await nd.heartbeat()
        report = await nd.health()
        assert report.problems == [
            "not connected to Discord (disconnected 2 min ago (2024-06-01 07:31 UTC))"
        ]
        await nd.heartbeat(gateway="connected")
        assert (await nd.health()).ok

        clock.now += dt.timedelta(minutes=4)  # the process died: no more heartbeats
        report = await nd.health()
        assert any("is the bot running?" in p for p in report.problems)
    finally:
        await nd.close()


async def test_a_cycle_where_every_feed_failed_is_not_a_successful_poll(tmp_path) -> None:
    clock = Clock(T0)
    settings = load_settings(
        env_file=None,
        database=tmp_path / "n.db",
        poll_interval_minutes=10,
        allow_private_addresses=True,
        fetch_timeout_seconds=5,
    )
    nd = await Newsdesk.open(settings, clock=clock)
    try:
        await nd.start_heartbeat()
        await nd.heartbeat(gateway="connected")
        await nd.add_feed("http://127.0.0.1:9/down.xml", check=False)
        report = await nd.poll_and_beat()
        assert report.failed == report.due == 1
        hb = await health_store.read_heartbeat(nd.db)
        assert hb.last_poll_at == T0 and hb.last_poll_ok_at is None
    finally:
        await nd.close()


def _write_heartbeat(db_path, *, poll_age_minutes: float) -> None:
    import asyncio

    async def write() -> None:
        now = dt.datetime.now(UTC)
        settings = load_settings(env_file=None, database=db_path, poll_interval_minutes=10)
        nd = await Newsdesk.open(settings, clock=lambda: now - dt.timedelta(hours=1))
        try:
            await nd.start_heartbeat()
            nd.clock = lambda: now - dt.timedelta(minutes=poll_age_minutes)
            await nd.heartbeat(gateway="connected", poll_ok=True)
            nd.clock = lambda: now
            await nd.heartbeat()
        finally:
            await nd.close()

    asyncio.run(write())


def test_cli_health_exit_codes(tmp_path, capsys) -> None:
    db = tmp_path / "n.db"
    assert main(["--db", str(db), "health"]) == 2  # no database: nothing created
    assert not db.exists()
    assert main(["--db", str(db), "demo"]) == 0
    capsys.readouterr()
    assert main(["--db", str(db), "health"]) == 1
    assert "never run on this database" in capsys.readouterr().out

    _write_heartbeat(db, poll_age_minutes=5)
    assert main(["--db", str(db), "health"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("healthy") and "last successful poll 5 min ago" in out

    _write_heartbeat(db, poll_age_minutes=45)  # 3 intervals of 10 minutes and more
    assert main(["--db", str(db), "health", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["problems"][0].startswith("last successful poll 45 min ago")


def test_cli_backup_copies_a_live_database(tmp_path, capsys) -> None:
    import asyncio

    db = tmp_path / "n.db"
    assert main(["--db", str(db), "demo"]) == 0
    with sqlite3.connect(db) as con:
        articles = con.execute("SELECT count(*) FROM articles").fetchone()[0]

    async def backup_while_open() -> None:
        # The bot's connection stays open with uncheckpointed writes in the WAL.
        settings = load_settings(env_file=None, database=db)
        nd = await Newsdesk.open(settings)
        try:
            entry = Entry(
                title="Late edition: harbour bridge reopens to traffic after repairs",
                url="https://late.example/bridge",
                published_at=dt.datetime(2026, 11, 23, 6, tzinfo=UTC),
                summary="The harbour bridge reopened on Monday after six weeks of repairs.",
                source="Late Edition",
            )
            await nd.ingest_entries([entry])
            assert await asyncio.to_thread(main, ["--db", str(db), "backup", "copy.db"]) == 0
        finally:
            await nd.close()

    asyncio.run(backup_while_open())
    assert "backed up" in capsys.readouterr().out
    copy = tmp_path / "copy.db"
    with sqlite3.connect(copy) as con:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert con.execute("SELECT count(*) FROM articles").fetchone()[0] == articles + 1
    assert not list(tmp_path.glob(".copy.db.partial"))
    # The copy is a working database for every command.
    assert main(["--db", str(copy), "search", "harbour bridge"]) == 0
    assert "Late Edition" in capsys.readouterr().out
    assert main(["--db", str(db), "backup", str(db)]) == 2
    assert "must not be the database itself" in capsys.readouterr().err
    assert main(["--db", str(db), "backup", "nowhere/copy.db"]) == 2


async def test_the_running_bot_writes_its_heartbeat(newsroom: Newsroom) -> None:
    db = newsroom.nd.db
    async with newsroom.running() as bot:
        hb = await health_store.read_heartbeat(db)
        assert hb.gateway == "connected" and hb.pid is not None
        assert bot.scheduler.scheduler.get_job("heartbeat") is not None
        await newsroom.fake.disconnect_gateway(4000)
        await newsroom.fake.wait_resumed(1)
        _, _, _ = await run_command(newsroom, "news latest", {"count": 1})
        assert (await health_store.read_heartbeat(db)).gateway == "connected"
        assert (await newsroom.nd.health()).ok


def test_dockerfile_and_license() -> None:
    """No Docker daemon here: the image's promises are checked in the file itself."""
    import re
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    lines = [
        line.strip()
        for line in (root / "Dockerfile").read_text().splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    text = "\n".join(lines)
    assert lines[0] == "FROM python:3.11-slim"
    users = re.findall(r"^USER (\S+)$", text, re.M)
    assert users and users[-1] not in ("root", "0")
    assert 'VOLUME ["/data"]' in text and "ENV NEWSDESK_DATABASE=/data/newsdesk.db" in text
    assert re.search(r"HEALTHCHECK .*\\\n\s*CMD newsdesk health \|\| exit 1", text)
    assert 'CMD ["newsdesk", "run"]' in text
    license_text = (root / "LICENSE").read_text()
    assert license_text.startswith("MIT License")
    meta = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert meta["license"] == {"text": "MIT"}
    readme = (root / "README.md").read_text()
    assert "[Service]" in readme and "ExecStart=" in readme  # the systemd unit example


async def test_a_restarted_bot_has_three_intervals_for_its_first_poll(tmp_path) -> None:
    clock = Clock(T0)
    settings = load_settings(env_file=None, database=tmp_path / "n.db", poll_interval_minutes=10)
    nd = await Newsdesk.open(settings, clock=clock)
    try:
        await nd.start_heartbeat()
        await nd.heartbeat(gateway="connected", poll_ok=True)
        clock.now = T0 + dt.timedelta(hours=5)  # down for hours, then started again
        await nd.start_heartbeat()
        await nd.heartbeat(gateway="connected")
        assert (await nd.health()).ok
        clock.now += dt.timedelta(minutes=31)
        await nd.heartbeat()
        (problem,) = (await nd.health()).problems
        assert problem.startswith("no successful poll since the bot started 31 min ago")
    finally:
        await nd.close()


async def test_a_closing_bot_writes_its_last_beat_and_then_no_more(
    newsroom: Newsroom, caplog
) -> None:
    """close() records "disconnected" itself; a gateway event after it writes nothing
    (the store may already be closing: no traceback at shutdown)."""
    db = newsroom.nd.db
    async with newsroom.running() as bot:
        assert (await health_store.read_heartbeat(db)).gateway == "connected"
    assert (await health_store.read_heartbeat(db)).gateway == "disconnected"
    await newsroom.nd.db.close()  # as `newsdesk run` does once the bot has closed
    await bot.on_disconnect()  # a late gateway event
    assert "could not write the heartbeat" not in caplog.text
