"""PostgreSQL for the tests: a fresh database per test, or a stated skip.

``NEWSDESK_TEST_POSTGRES`` names a server database the tests may create
databases from (``.ci/run`` starts a throwaway cluster and sets it, e.g.
``postgresql://postgres@127.0.0.1:55432/postgres``). Each test that asks for
:func:`postgres_url` gets a new database cloned from a migrated template,
dropped afterwards. Without the variable those tests skip, saying why.

Test modules opt in to both backends with ``BACKENDS = ("sqlite",
"postgresql")``; their ``db`` and ``store_url`` fixtures are then
parametrised by backend (see ``conftest.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import uuid
from urllib.parse import urlsplit, urlunsplit

import pytest

ENV = "NEWSDESK_TEST_POSTGRES"
# Read once at start: fixtures such as ``cli_isolated`` clear NEWSDESK_* variables.
_ADMIN_URL = os.environ.get(ENV)
_template: str | None = None
_counter = itertools.count()


def admin_url() -> str:
    url = _ADMIN_URL
    if not url:
        pytest.skip(f"PostgreSQL tests need {ENV} (a server URL; .ci/run starts one)")
    return url


def database_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def _admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url())
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _run(coro) -> None:
    """Run ``coro`` whether or not the caller is inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coro)
        return
    import threading

    errors: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def _template_name() -> str:
    """A migrated template database for this test session (made once)."""
    global _template
    if _template is None:
        from bot.store import SCHEMA_VERSION, open_db

        name = f"nd_template_{os.getpid()}_{SCHEMA_VERSION}"

        async def make() -> None:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await _admin(f'CREATE DATABASE "{name}"')
            db = await open_db(database_url(admin_url(), name))
            await db.close()

        _run(make())
        _template = name
    return _template


def fresh_database() -> str:
    """The URL of a new, migrated, empty store database."""
    template = _template_name()
    name = f"nd_{os.getpid()}_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    _run(_admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    return database_url(admin_url(), name)


def drop_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def drop_template() -> None:
    global _template
    if _template is not None and _ADMIN_URL:
        _run(_admin(f'DROP DATABASE IF EXISTS "{_template}" WITH (FORCE)'))
        _template = None


@pytest.fixture
def postgres_url():
    """A fresh PostgreSQL store database (skips without a server)."""
    url = fresh_database()
    try:
        yield url
    finally:
        drop_database(url)


def pytest_sessionfinish(session, exitstatus) -> None:
    drop_template()
