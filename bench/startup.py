"""CPU time of whole ``newsdesk`` commands on a small store, start-up included.

``python -m bench.startup [--articles 1000] [--reps 7] [--word WORD] [--code DIR ...]``

Builds (once, cached) a store of the first ``--articles`` corpus articles by
``newsdesk ingest``, compiles the package's bytecode (as an installed package
has it; a checkout run with PYTHONDONTWRITEBYTECODE=1 would otherwise compile
every module on every run), then runs each command ``--reps`` times as a
child process and reports the median, min and max of its user+system CPU
time (``resource.getrusage(RUSAGE_CHILDREN)``). Also lists which heavy
packages ``search`` imports.

``--code`` measures another checkout's ``bot`` package; given more than once
(``--code /tmp/before --code .``), each command is run for every checkout in
turn, rep after rep, so a busy machine slows them all alike.

Target (issue 11): ``newsdesk search WORD`` on a 1,000-article store under
0.4 s of CPU, start-up included.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
from pathlib import Path

from .corpus import CACHE, CorpusSpec, corpus_path, split_jsonl

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.4
HEAVY = (
    "aiohttp",
    "trafilatura",
    "lxml",
    "feedparser",
    "feedparser_rs",
    "discord",
    "apscheduler",
    "bot.stories",
    "bot.ingest",
    "pydantic",
    "pydantic_settings",
    "dotenv",
)


CODE = [ROOT]  # the checkout whose ``bot`` package is measured (--code)


def _env(code: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(code or CODE[0]) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _cpu(args: list[str], code: Path | None = None) -> float:
    """User+system CPU seconds of one child ``python -m bot ARGS`` run on ``code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=_env(code),
        cwd=code or CODE[0],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def build_store(articles: int) -> Path:
    store = CACHE / f"startup-{articles}.db"
    if not store.exists():
        spec = CorpusSpec(size=max(articles, 10_000))
        (part,) = split_jsonl(
            corpus_path(spec), CACHE / f"startup-{articles}", start=0, stop=articles, parts=1
        )
        subprocess.run(
            [sys.executable, "-m", "bot", "--db", str(store), "ingest", str(part)],
            env=_env(),
            cwd=CODE[0],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return store


def heavy_imports(store: Path, word: str, code: Path | None = None) -> list[str]:
    script = (
        "import sys, io, contextlib, bot.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    bot.cli.main(['--db', {str(store)!r}, 'search', {word!r}])\n"
        f"print(' '.join(sorted({{m for m in sys.modules for h in {HEAVY!r}"
        " if m == h or m.startswith(h + '.')})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=_env(code),
        cwd=code or CODE[0],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return sorted(
        {
            name.split(".")[0] if not name.startswith("bot.") else ".".join(name.split(".")[:2])
            for name in out
        }
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=1_000)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--word", default="kiork", help="a word to search for")
    parser.add_argument(
        "--code",
        type=Path,
        action="append",
        help="measure the bot package of this checkout (e.g. an older commit's); "
        "give it more than once to compare checkouts in one run (default: this one)",
    )
    args = parser.parse_args(argv)
    codes = [code.resolve() for code in args.code or [ROOT]]
    CODE[0] = codes[0]
    for code in codes:
        compileall.compile_dir(str(code / "bot"), quiet=1)
    store = build_store(args.articles)
    commands = {
        "newsdesk --version": ["--version"],
        f"newsdesk search {args.word}": ["--db", str(store), "search", args.word],
        "newsdesk digest": ["--db", str(store), "digest"],
    }
    print(f"CPU seconds (user+system), {args.reps} runs, {args.articles:,}-article store")
    several = len(codes) > 1
    print(
        ("| code " if several else "")
        + "| command | median | min | max |\n"
        + ("|---" if several else "")
        + "|---|---:|---:|---:|"
    )
    for label, command in commands.items():
        runs: dict[Path, list[float]] = {code: [] for code in codes}
        for code in codes:
            _cpu(command, code)  # warm the page cache
        for _ in range(args.reps):
            for code in codes:
                runs[code].append(_cpu(command, code))
        for code in codes:
            times = sorted(runs[code])
            print(
                (f"| {code} " if several else "")
                + f"| {label} | {statistics.median(times):.3f} | {times[0]:.3f} | {times[-1]:.3f} |"
            )
    print(f"\ntarget: search under {TARGET_S} s")
    for code in codes:
        heavy = ", ".join(heavy_imports(store, args.word, code)) or "none"
        print("heavy modules loaded by search" + (f" ({code})" if several else "") + ":", heavy)


if __name__ == "__main__":
    main()
