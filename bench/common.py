"""Shared benchmark plumbing: repeated timing, statistics, results, tables, machine facts."""

from __future__ import annotations

import json
import os
import platform
import resource
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"


def summary(values: Sequence[float]) -> dict[str, float | int]:
    """Median, min and max of repeated measurements."""
    if not values:
        raise ValueError("no measurements")
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": len(values),
    }


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` (0..100) percentile of already sorted values, nearest-rank."""
    if not sorted_values:
        raise ValueError("no samples")
    rank = max(1, min(len(sorted_values), round(q / 100 * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def latency_summary(samples_s: Sequence[float]) -> dict[str, float | int]:
    """p50/p95/p99/max in milliseconds of latency samples given in seconds."""
    ordered = sorted(s * 1000 for s in samples_s)
    return {
        "p50_ms": percentile(ordered, 50),
        "p95_ms": percentile(ordered, 95),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1],
        "samples": len(ordered),
    }


async def time_async(fn: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """Wall time (s) of one awaited call and its result."""
    start = time.perf_counter()
    result = await fn()
    return time.perf_counter() - start, result


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return numerator / denominator


@dataclass
class Row:
    """One line of the results table."""

    metric: str
    value: str
    target: str = ""
    ok: bool | None = None  # None: no target
    note: str = ""


@dataclass
class Result:
    """What one benchmark measured: machine-readable data and table rows."""

    name: str
    size: int
    data: dict[str, Any] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)

    def row(
        self, metric: str, value: str, *, target: str = "", ok: bool | None = None, note: str = ""
    ) -> None:
        self.rows.append(Row(metric, value, target, ok, note))

    def as_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.name,
            "size": self.size,
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine_info(),
            "data": self.data,
            "rows": [row.__dict__ for row in self.rows],
        }


def write_result(result: Result, *, out_dir: Path = RESULTS, suffix: str = "") -> Path:
    """``bench/results/<name>[-<suffix>].json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{result.name}{'-' + suffix if suffix else ''}.json"
    path.write_text(json.dumps(result.as_json(), indent=2, default=str) + "\n", encoding="utf-8")
    return path


def render_table(results: Sequence[Result], *, title: str) -> Any:
    """A rich Table of every row of ``results``."""
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    table.add_column("benchmark", style="bold")
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_column("target")
    table.add_column("")
    table.add_column("note", style="dim")
    for result in results:
        for row in result.rows:
            mark = "" if row.ok is None else ("[green]ok[/]" if row.ok else "[red]MISS[/]")
            table.add_row(result.name, row.metric, row.value, row.target, mark, row.note)
    return table


def markdown_table(results: Sequence[Result]) -> str:
    """The same rows as a Markdown table (for BENCHMARKS.md)."""
    lines = ["| benchmark | metric | value | target | | note |", "|---|---|---:|---|---|---|"]
    for result in results:
        for row in result.rows:
            mark = "" if row.ok is None else ("ok" if row.ok else "**MISS**")
            cells = [result.name, row.metric, row.value, row.target, mark, row.note]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}/s"


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.2f} ms"


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def spread(stat: dict[str, float | int], fmt: Callable[[float], str]) -> str:
    """``"median (min-max)"``."""
    return f"{fmt(stat['median'])} ({fmt(stat['min'])}-{fmt(stat['max'])})"


# ------------------------------------------------------------ machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _ram_gb() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def machine_info() -> dict[str, Any]:
    """Facts that make a figure comparable: CPUs, RAM, versions, load."""
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {
        "nproc": os.cpu_count(),
        "cpu": _cpu_model(),
        "ram_gb": _ram_gb(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
        "loadavg": load,
    }


# ------------------------------------------------------------ memory


def run_child_peak_rss(args: Sequence[str], *, timeout: float | None = None) -> dict[str, Any]:
    """Run ``python -m bench.child ARGS`` and return its JSON output plus its peak RSS (MiB)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.child", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    start = time.monotonic()
    out, err = proc.communicate(timeout=timeout)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed: {err.strip()[-2000:]}")
    payload = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    # The child reports its own peak RSS (VmHWM) just before exiting.
    payload.setdefault("peak_rss_mib", None)
    payload["wall_s"] = elapsed
    return payload


def own_peak_rss_mib() -> float:
    """This process's peak resident set size in MiB.

    On Linux ``VmHWM`` of /proc/self/status: ``ru_maxrss`` would carry over
    the parent's resident size from before ``fork``/``exec``, which inflates
    a child's figure by whatever the benchmark runner holds.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform != "darwin" else peak / 1024 / 1024
