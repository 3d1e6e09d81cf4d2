"""Progress lines on a terminal (ingest, poll, stories rebuild, export).

The line itself is drawn by :mod:`.progress_live`, imported only when
stderr is a terminal: a command that shows none does not load rich.progress."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..logs import set_live_console
from .console import _safe_console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress


def _progress_console() -> Console:
    return _safe_console(stderr=True)


class _Bar:
    """A live progress line on stderr with counts, rate and ETA; nothing when not a terminal.

    Log records print above the line, never over it (see
    :func:`bot.logs.set_live_console`).
    """

    def __init__(self, description: str, unit: str, total: int | None = None) -> None:
        self.description = description
        self.unit = unit
        self.total = total
        self._progress: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> _Bar:
        console = _progress_console()
        if console.is_terminal:  # rich.progress is loaded only then
            from .progress_live import live_progress

            self._progress = live_progress(console, self.unit)
            self._progress.start()
            set_live_console(console)
            self._task = self._progress.add_task(self.description, total=self.total)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            set_live_console(None)
            self._progress.stop()

    def advance(self, count: int = 1) -> None:
        if self._progress is not None:
            self._progress.update(self._task, advance=count)

    def grow(self, count: int) -> None:
        """Add ``count`` to the expected total."""
        if self._progress is not None and count:
            total = self._progress.tasks[0].total or 0
            self._progress.update(self._task, total=total + count)
