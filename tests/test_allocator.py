"""The newsdesk process caps glibc's malloc arenas at start-up (bot.allocator)."""

from __future__ import annotations

import platform
import subprocess
import sys

import pytest

from .conftest import cli_env

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="arenas are glibc's; elsewhere nothing is done"
)

# What the newsdesk command runs first (bot.launch.main, the CLI itself left
# out), then whether the cap takes effect in that process.
PROBE = (
    "import unittest.mock as m, bot.allocator, bot.launch\n"
    "with m.patch('bot.cli.main', return_value=0), m.patch.object(\n"
    "    bot.allocator, 'limit_arenas', wraps=bot.allocator.limit_arenas) as spy:\n"
    "    bot.launch.main()\n"
    "print(spy.call_count, bot.allocator.limit_arenas())\n"
)


def _probe(**env: str) -> list[str]:
    environment = cli_env(**env)
    if "MALLOC_ARENA_MAX" not in env:
        environment.pop("MALLOC_ARENA_MAX", None)
    run = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    return run.stdout.split()


def test_the_newsdesk_command_caps_malloc_arenas_before_it_runs():
    calls, applied = _probe()
    assert calls == "1"  # bot.launch.main applies it once, first
    assert applied == "True"


def test_malloc_arena_max_in_the_environment_wins():
    _, applied = _probe(MALLOC_ARENA_MAX="4")
    assert applied == "False"
