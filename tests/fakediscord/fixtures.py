"""pytest fixtures for the fake Discord.

Use them from a test module with ``pytest_plugins = ["tests.fakediscord.fixtures"]``
(or list this module in the root conftest's ``pytest_plugins`` once, for every test).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from .server import FakeDiscord


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    """A started :class:`FakeDiscord` with discord.py pointed at it.

    At teardown the test fails (with the full list) if the bot broke any rule:
    invalid bodies, missing ``allowed_mentions``, late or missing interaction
    responses, or requests to endpoints the fake does not know.
    """
    fake = FakeDiscord()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()
    problems = fake.problems()
    if problems:
        pytest.fail("fake Discord saw problems:\n  - " + "\n  - ".join(problems), pytrace=False)
