"""Console output, errors and logging set-up shared by every command.

rich is imported when something is printed, not with this module: the
exit codes and :class:`CliError` are all `newsdesk --version` or a usage
error needs.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from ..config import Settings

log = logging.getLogger("newsdesk")


DEMO_DB = Path("data/demo.db")


EXIT_OK = 0


EXIT_FAILED = 1


EXIT_USAGE = 2


EXIT_PARTIAL = 3


EXIT_INTERRUPTED = 130


EXIT_PIPE = 141


_MAX_DIGEST_DAYS = 92  # `digest --date` with a range prints at most this many briefings


class CliError(Exception):
    """An expected failure: ``message`` is the one line the user sees."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


# Control characters (but newline and tab), DEL, C1 and the bidi controls:
# outside text (file names, URLs, feed titles, errors quoting a server) must
# not move the cursor, recolour or reorder the terminal.
_TERMINAL_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@cache
def _console_classes() -> tuple[type[Console], type[Console]]:
    """The two consoles: every piece of text written has its control characters
    replaced by U+FFFD (one cell, so the layout stays as measured; rich's own
    styling codes are not text and pass), and the second ends the command with
    exit code 141 on a closed pipe, as everywhere else (rich exits 1). Outside
    text put into a markup string must still go through :func:`_m` first."""
    from rich.console import Console
    from rich.segment import Segment

    class SafeConsole(Console):
        def _render_buffer(self, buffer: Iterable[Segment]) -> str:
            return super()._render_buffer(
                Segment(_TERMINAL_UNSAFE.sub("\ufffd", text), style, control)
                if control is None and _TERMINAL_UNSAFE.search(text)
                else Segment(text, style, control)
                for text, style, control in buffer
            )

    class PipeConsole(SafeConsole):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise BrokenPipeError

    return SafeConsole, PipeConsole


def _safe_console(**options: Any) -> Console:
    """A rich console whose text cannot move the cursor or recolour the terminal."""
    return _console_classes()[0](**options)


def _m(text: object) -> str:
    """Outside text for a markup string: its square brackets escaped."""
    from rich.markup import escape

    return escape(str(text))


def _console() -> Console:
    return _console_classes()[1](highlight=False, soft_wrap=False)


def _stderr_console() -> Console:
    return _safe_console(stderr=True, highlight=False, soft_wrap=False)


def _err(message: str) -> None:
    from rich.text import Text

    console = _stderr_console()
    console.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)


def _warn(message: str) -> None:
    from rich.text import Text

    console = _stderr_console()
    console.print(Text.assemble(("warning:", "bold yellow"), " ", message), soft_wrap=True)


def _note(message: str) -> None:
    from rich.text import Text

    _stderr_console().print(Text(message), soft_wrap=True)


def setup_logging(settings: Settings) -> None:
    from ..logs import configure_logging, register_secret

    # Redact the token itself, not only strings shaped like a Discord token.
    if settings.discord_token is not None:
        register_secret(settings.discord_token.get_secret_value())
    configure_logging(settings.log_level, settings.log_format)


_PRIVATE_HINTS = ("private or reserved address", "is this machine", "resolves only to private")


def _hint(message: str) -> str:
    """Name the setting that lifts a private-address refusal."""
    if any(h in message for h in _PRIVATE_HINTS) and "NEWSDESK_ALLOW_PRIVATE" not in message:
        return (
            f"{message} (set NEWSDESK_ALLOW_PRIVATE_ADDRESSES=true to allow addresses "
            "on your own network)"
        )
    return message
