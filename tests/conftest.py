"""Shared test fixtures.

Tests that read the project's shared data (../shared beside the checkout)
use :func:`shared_path`, which skips with a stated reason when it is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixture modules shared by several test files, registered here so pytest
# rewrites their asserts before any test module imports them.
pytest_plugins = ["tests.httpserver", "tests.fakediscord.fixtures", "tests.botharness"]

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def shared_path(*parts: str) -> Path:
    """Path under ../shared, or skip the test when that data is not there."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared test data not found at {path} (CI always has it)")
    return path


@pytest.fixture
async def db(tmp_path):
    """A fresh, migrated store in a temporary file."""
    from bot.store import open_db

    conn = await open_db(tmp_path / "test.db")
    try:
        yield conn
    finally:
        await conn.close()
