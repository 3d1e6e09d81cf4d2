"""The `newsdesk` command as a real process: Ctrl-C, closed pipes, JSON on a pipe.

No timing assertions: timeouts here only keep a broken build from hanging.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.ingest.pipeline import IMPORT_BATCH
from bot.sample import SAMPLE_DIR
from tests.conftest import cli_env, run_newsdesk

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DAY = "2026-11-23"


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("proc") / "sample.db"
    done = run_newsdesk("--db", str(path), "ingest", str(SAMPLE_DIR), cwd=path.parent)
    assert done.returncode == 0, done.stderr
    return path


def count(db: Path, sql: str = "SELECT COUNT(*) FROM articles") -> int:
    conn = sqlite3.connect(f"{db.as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


# -- Ctrl-C ----------------------------------------------------------------------


def write_archive(path: Path, lines: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i in range(lines):
            record = {
                "title": f"Report {i} on matter {i % 97} from district {i % 13}",
                "text": f"Report {i} says item {i * 7} and item {i * 13} changed this week.",
                "source": f"Outlet {i % 5}",
                "published_at": f"2025-01-{1 + i % 28:02d}T{i % 24:02d}:00:00+00:00",
            }
            if i % 3:  # a third have no URL: recognised by their content
                record["url"] = f"https://outlet{i % 5}.example/{i}"
            out.write(json.dumps(record) + "\n")


@pytest.mark.slow
def test_ctrl_c_during_ingest_keeps_committed_work_and_a_rerun_continues(tmp_path):
    archive = tmp_path / "archive.jsonl"
    lines = 4 * IMPORT_BATCH + 100  # one transaction per IMPORT_BATCH lines
    write_archive(archive, lines)
    db = tmp_path / "news.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "--db", str(db), "ingest", str(archive)],
        cwd=tmp_path,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if count(db) >= IMPORT_BATCH:  # the first batch is committed
                    break
            except sqlite3.Error:
                pass  # not created or not migrated yet
            time.sleep(0.05)
        assert proc.poll() is None, "the ingest finished before it could be interrupted"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    match = re.fullmatch(r"interrupted: (\d+) stored; run again to continue", err.strip())
    assert match, err
    stored = int(match[1])
    assert IMPORT_BATCH <= stored < lines  # some batches, not the whole archive
    assert stored % IMPORT_BATCH == 0  # whole batches only
    assert out == ""  # no summary pretending it finished
    # The store is consistent: the committed batches, each article in a story.
    assert count(db, "PRAGMA integrity_check") == "ok"
    kept = count(db)
    assert kept >= stored
    assert count(db, "SELECT COUNT(*) FROM articles WHERE story_id IS NULL") == 0
    # Running again continues: what was kept is recognised, the rest is added.
    again = run_newsdesk("--db", str(db), "ingest", str(archive), cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{lines - kept} new, 0 updated, {kept} duplicates, 0 failed" in again.stdout
    assert count(db) == lines


# -- closed pipes --------------------------------------------------------------------


@pytest.mark.parametrize(
    "command", [["search", "bridge", "--json"], ["export"], ["digest", "--date", SAMPLE_DAY]]
)
def test_a_closed_pipe_exits_quietly(command, store, tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already gone
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "--db", str(store), *command],
            cwd=tmp_path,
            env=cli_env(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    finally:
        os.close(write_end)
    assert done.returncode == 141
    assert done.stderr == ""


def test_export_into_head_exits_quietly(store, tmp_path):
    shell = f"{sys.executable} -m bot --db {store} export | head -1"
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", shell],
        cwd=tmp_path,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(done.stdout)["title"]
    assert done.stderr == ""
    assert done.returncode in (0, 141)  # 141 when head closed the pipe before the end


# -- --json is pure JSON on stdout -------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["search", "bridge", "--json"],
        ["search", "((((", "--json"],
        ["digest", "--date", SAMPLE_DAY, "--json"],
        ["digest", "--date", "Nov 22 2026..Nov 23 2026", "--json"],
        ["feeds", "list", "--json"],
        ["config", "check"],
    ],
)
def test_json_output_is_pure_on_a_pipe(command, store, tmp_path):
    done = run_newsdesk("--db", str(store), *command, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    json.loads(done.stdout)


def test_demo_json_is_pure_on_a_pipe(tmp_path):
    done = run_newsdesk("demo", "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["stories"]
    assert "new" in done.stderr  # the ingest summary went to stderr
    assert "\r" not in done.stderr  # and no progress line in a pipe
