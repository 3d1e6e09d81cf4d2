"""The live progress line itself (rich.progress): loaded only when stderr is a terminal."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
from rich.text import Text


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


def live_progress(console: Console, unit: str) -> Progress:
    """A transient progress line on ``console``: spinner, description, bar, counts, rate, ETA."""
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(bar_width=20),
        _CountColumn(unit),
        _RateColumn(),
        _EtaColumn(),
        console=console,
        transient=True,
        redirect_stderr=False,  # log records: see bot.logs.set_live_console
    )
