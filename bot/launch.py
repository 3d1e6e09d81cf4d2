"""The ``newsdesk`` command's entry point, kept light on purpose.

It imports nothing heavy itself, so a Ctrl-C while the program is still
loading (rich, asyncio, the CLI) ends it quietly with exit code 130 instead
of a traceback; from then on :func:`bot.cli.main` handles Ctrl-C.
"""

from __future__ import annotations

import sys


def main() -> int:
    try:
        from .allocator import limit_arenas

        limit_arenas()  # before any thread starts
        from .cli import main as cli_main
    except KeyboardInterrupt:  # Ctrl-C while starting up: nothing was done yet
        sys.stderr.write("interrupted\n")
        return 130
    return cli_main()
