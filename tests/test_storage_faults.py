"""Damaged and unusual storage, against real `newsdesk` processes: a full disk,
a damaged file, a damaged search index, a read-only file, a newer schema.

Each case asserts the one-line message and the exit code, and that the data
left behind is intact (``PRAGMA integrity_check``, the FTS5 check with
``rank = 1``, the counts, every article in a story).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.test_crash_recovery import child_env as crash_child_env

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def child_env() -> dict[str, str]:
    """A Newsdesk process's environment (see test_crash_recovery) on a wide terminal."""
    env = crash_child_env()
    env["COLUMNS"] = "200"
    return env


def newsdesk(cwd: Path, db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--db", str(db), *args],
        cwd=cwd,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr[-3000:]
    return errors[0]


def write_jsonl(path: Path, count: int, *, tag: str, words: int = 60) -> None:
    rng = random.Random(tag)
    with path.open("w") as fh:
        for i in range(count):
            record = {
                "title": f"{tag} {i} " + " ".join(f"t{rng.randrange(400)}" for _ in range(5)),
                "text": " ".join(f"{tag}{rng.randrange(3000)}" for _ in range(words)),
                "url": f"https://{tag}.example/a/{i}",
                "source": f"Outlet {i % 5}",
                "published_at": f"2025-06-{1 + i % 20:02d}T10:00:00Z",
            }
            fh.write(json.dumps(record) + "\n")


def check_store(db: Path) -> int:
    """Integrity, FTS (rank = 1), every article in a story; returns the article count."""
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
        loose = conn.execute("SELECT COUNT(*) FROM articles WHERE story_id IS NULL").fetchone()[0]
        assert loose == 0
        return conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0]
    finally:
        conn.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def base_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small store of 400 articles, checkpointed into one file."""
    where = tmp_path_factory.mktemp("base")
    source = where / "base.jsonl"
    write_jsonl(source, 400, tag="base")
    db = where / "base.db"
    proc = newsdesk(where, db, "ingest", str(source))
    assert proc.returncode == 0, proc.stderr
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return db


@contextlib.contextmanager
def mounted(kind: str, where: Path, *options: str) -> Iterator[Path]:
    """A tmpfs or read-only bind mount at ``where`` (root only); always unmounted."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("needs root and mount(8) to make a small or read-only filesystem")
    where.mkdir(exist_ok=True)
    cmds = {
        "tmpfs": [["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(where)]],
        "ro": [
            ["mount", "--bind", options[0], str(where)],
            ["mount", "-o", "remount,bind,ro", str(where)],
        ],
    }[kind]
    done = 0
    try:
        for cmd in cmds:
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                pytest.skip(f"cannot mount here: {proc.stderr.strip()}")
            done += 1
        yield where
    finally:
        if done:
            subprocess.run(["umount", str(where)], check=False)


def test_disk_full_is_one_line_and_keeps_what_was_stored(tmp_path: Path):
    source = tmp_path / "big.jsonl"
    write_jsonl(source, 6000, tag="full", words=80)
    with mounted("tmpfs", tmp_path / "small", "size=3m") as small:
        db = small / "news.db"
        proc = newsdesk(tmp_path, db, "ingest", str(source))
        assert proc.returncode == 1, proc.stderr
        line = one_error_line(proc)
        assert line.startswith("error: disk full: "), line
        assert line.endswith(" articles stored before it; free space and run again"), line
        stored = int(line.split("disk full: ")[1].split()[0])
        assert "cannot rollback" not in proc.stderr
        copy = tmp_path / "after.db"
        conn = sqlite3.connect(db)
        conn.execute(f"VACUUM INTO '{copy}'")
        conn.close()
    assert check_store(copy) == stored


def test_damaged_file_refuses_writers_and_is_left_alone(tmp_path: Path, base_db: Path):
    db = tmp_path / "damaged.db"
    shutil.copy(base_db, db)
    size = db.stat().st_size
    with db.open("r+b") as fh:  # garbage over pages in the middle of the file
        fh.seek((size // 2) // 4096 * 4096)
        fh.write(random.Random(7).randbytes(4096 * 6))
    before = digest(db)
    source = tmp_path / "more.jsonl"
    write_jsonl(source, 300, tag="more")
    for command in (["ingest", str(source)], ["stories", "rebuild"], ["db", "repair"]):
        proc = newsdesk(tmp_path, db, *command)
        assert proc.returncode == 1, (command, proc.stderr)
        line = one_error_line(proc)
        assert "is damaged" in line and line.endswith("restore it from a backup"), line
    proc = newsdesk(tmp_path, db, "db", "check")
    assert proc.returncode == 1
    assert "is damaged" in one_error_line(proc)
    assert digest(db) == before  # not one byte written into it


def test_damaged_search_index_is_found_and_repaired(tmp_path: Path, base_db: Path):
    db = tmp_path / "index.db"
    shutil.copy(base_db, db)
    conn = sqlite3.connect(db)  # titles changed behind the index's back
    conn.execute("DROP TRIGGER articles_fts_update")
    conn.execute("UPDATE articles SET title = 'changed behind the index' WHERE id <= 40")
    conn.commit()
    # The plain check does not see it; only ``rank = 1`` compares with the articles.
    conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")
    with pytest.raises(sqlite3.DatabaseError):
        conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
    conn.close()
    proc = newsdesk(tmp_path, db, "db", "check")
    assert proc.returncode == 1
    line = one_error_line(proc)
    assert "search index" in line and "newsdesk db repair" in line, line
    proc = newsdesk(tmp_path, db, "db", "repair")
    assert proc.returncode == 0, proc.stderr
    assert "rebuilt the search index; ok" in proc.stdout
    assert newsdesk(tmp_path, db, "db", "check").returncode == 0
    assert check_store(db) == 400
    proc = newsdesk(tmp_path, db, "search", "changed", "behind", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total"] == 40


def test_read_only_database_reads_work_and_writers_say_so(tmp_path: Path, base_db: Path):
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(base_db, folder / "news.db")
    before = digest(folder / "news.db")
    source = tmp_path / "more.jsonl"
    write_jsonl(source, 50, tag="more")
    with mounted("ro", tmp_path / "ro", str(folder)) as ro:
        db = ro / "news.db"
        proc = newsdesk(tmp_path, db, "search", "base", "--json")
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["total"] > 0
        proc = newsdesk(tmp_path, db, "digest", "--date", "2025-06-02")
        assert proc.returncode == 0, proc.stderr
        proc = newsdesk(tmp_path, db, "export", "-o", str(tmp_path / "out.jsonl"))
        assert proc.returncode == 0, proc.stderr
        assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 400
        assert newsdesk(tmp_path, db, "feeds", "list").returncode == 0
        for command in (["ingest", str(source)], ["stories", "rebuild"]):
            proc = newsdesk(tmp_path, db, *command)
            assert proc.returncode == 1, (command, proc.stderr)
            line = one_error_line(proc)
            assert f"database {db} is read-only" in line, line
    assert digest(folder / "news.db") == before
    assert not (folder / "news.db-wal").exists()
    assert check_store(folder / "news.db") == 400


def test_newer_schema_is_one_line_for_readers_and_writers(tmp_path: Path, base_db: Path):
    db = tmp_path / "newer.db"
    shutil.copy(base_db, db)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA user_version = 999")
    conn.close()
    source = tmp_path / "more.jsonl"
    write_jsonl(source, 10, tag="more")
    for command in (
        ["search", "base"],
        ["digest"],
        ["ingest", str(source)],
        ["stories", "rebuild"],
    ):
        proc = newsdesk(tmp_path, db, *command)
        assert proc.returncode == 2, (command, proc.stderr)
        line = one_error_line(proc)
        assert "schema version 999 is newer" in line and "upgrade Newsdesk" in line, line
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0] == 400
    conn.close()
