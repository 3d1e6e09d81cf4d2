"""Shared test fixtures.

Tests that read the project's shared data (../shared beside the checkout)
use :func:`shared_path`, which skips with a stated reason when it is absent.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

# Fixture modules shared by several test files, registered here so pytest
# rewrites their asserts before any test module imports them.
pytest_plugins = [
    "tests.httpserver",
    "tests.fakediscord.fixtures",
    "tests.botharness",
    "tests.pgserver",
]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the test when that data is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (CI always has it)")
    return path


def pytest_generate_tests(metafunc):
    """A module with ``BACKENDS = ("sqlite", "postgresql")`` runs each test that
    uses a store (``db``, ``store_url``) once per backend; others run on SQLite."""
    if "backend" in metafunc.fixturenames:
        backends = getattr(metafunc.module, "BACKENDS", ("sqlite",))
        metafunc.parametrize("backend", backends, indirect=True)


@pytest.fixture
def backend(request) -> str:
    """``"sqlite"`` or ``"postgresql"``: the store backend this test runs on."""
    return getattr(request, "param", "sqlite")


@pytest.fixture
def store_url(backend, tmp_path, request) -> str:
    """Where a fresh store lives: a file in ``tmp_path`` (SQLite) or a new
    PostgreSQL database (skipped, with the reason, when no server is set)."""
    if backend == "sqlite":
        return str(tmp_path / "test.db")
    return request.getfixturevalue("postgres_url")


@pytest.fixture
async def db(store_url):
    """A fresh, migrated store (a temporary file, or a PostgreSQL database)."""
    from bot.store import open_db

    conn = await open_db(store_url)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
def cli_isolated(tmp_path, monkeypatch):
    """A CLI run as on a fresh machine: no NEWSDESK_* setting or token of the
    developer's, an 80-column terminal, a temporary working folder, and the
    root logger as it was afterwards (the CLI configures logging)."""
    for key in list(os.environ):
        if key.startswith("NEWSDESK_") or key == "DISCORD_TOKEN":
            monkeypatch.delenv(key)
    monkeypatch.setenv("COLUMNS", "80")
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def feed_server():
    """The sample feeds over HTTP on 127.0.0.1, from a thread (the CLI runs its own loop)."""
    import functools
    import http.server
    import threading

    from bot.sample import SAMPLE_DIR

    sample_feeds = SAMPLE_DIR / "feeds"

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(sample_feeds))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def cli_env(**extra: str) -> dict[str, str]:
    """The environment of a ``newsdesk`` child process: this one's without any
    Newsdesk setting (nor a token, nor a terminal width), this checkout importable."""
    out = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("NEWSDESK_") and k not in {"DISCORD_TOKEN", "COLUMNS"}
    }
    out.update(PYTHONPATH=str(REPO), COLUMNS="80", **extra)
    return out


def run_newsdesk(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300, **kw: Any
) -> subprocess.CompletedProcess[str]:
    """``newsdesk ARGS`` run as a user runs it: a child process, output as text."""
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=cli_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )
