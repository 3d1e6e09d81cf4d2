"""The `newsdesk` command: a thin face over :class:`bot.services.Newsdesk`.

One module per part: ``main`` (arguments, dispatch), ``console`` (output and
errors), ``interrupt`` (Ctrl-C, closed pipes), ``progress``, ``opening`` (the
store and its errors), and the commands: ``ingesting``, ``feeds``,
``reading`` (search, export, stories, digest), ``operations`` (poll, db,
demo, config, health, backup, run).

Exit codes (also in the README):

=====  ==============================================================
0      success
1      the work failed: every source or every due feed failed
2      wrong usage, configuration or path; nothing was changed
3      partly done: some sources, entries or feeds failed, the rest
       was stored (``ingest``, ``poll``)
130    interrupted (Ctrl-C); committed work is kept
141    the output pipe was closed (``newsdesk export | head``)
=====  ==============================================================

Every expected failure is one line on stderr (``error: ...``) naming the
path or value and what to do; only a bug gives a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports
from .main import build_parser, main

if TYPE_CHECKING:
    from .console import setup_logging
    from .operations import cmd_run
    from .reading import export_jsonl, export_line

__all__ = ["build_parser", "cmd_run", "export_jsonl", "export_line", "main", "setup_logging"]

# Loaded when first used: the command modules import rich, asyncio and the services.
__getattr__ = lazy_exports(
    __name__,
    {
        "setup_logging": ".console",
        "cmd_run": ".operations",
        "export_jsonl": ".reading",
        "export_line": ".reading",
    },
)
