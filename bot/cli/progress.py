"""Progress lines on a terminal (ingest, poll, stories rebuild, export)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text

from ..logs import set_live_console
from .console import _SafeConsole


def _progress_console() -> Console:
    return _SafeConsole(stderr=True)


class _CountColumn(ProgressColumn):
    def __init__(self, unit: str) -> None:
        super().__init__()
        self.unit = unit

    def render(self, task: Task) -> Text:
        total = f"/{int(task.total):,}" if task.total is not None else ""
        return Text(f"{int(task.completed):,}{total} {self.unit}")


def _rate(task: Task) -> float | None:
    """Items a second since the start (steadier than rich's windowed speed for batches)."""
    elapsed = task.elapsed
    if not elapsed or not task.completed:
        return None
    return task.completed / elapsed


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = _rate(task)
        return Text("" if rate is None else f"{rate:,.0f}/s", style="dim")


class _EtaColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        rate = _rate(task)
        if rate is None or task.total is None:
            return Text("")
        remaining = max(0.0, task.total - task.completed) / rate
        minutes, seconds = divmod(int(remaining), 60)
        hours, minutes = divmod(minutes, 60)
        eta = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
        return Text(f"ETA {eta}", style="dim")


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
        if console.is_terminal:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=20),
                _CountColumn(self.unit),
                _RateColumn(),
                _EtaColumn(),
                console=console,
                transient=True,
                redirect_stderr=False,  # log records: see set_live_console
            )
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
