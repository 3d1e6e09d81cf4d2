"""The package layout's boundaries, checked on the source (see README, "How it works").

* ``bot/store/`` is the only package that talks to SQLite: no SQL string and no
  ``import sqlite3``/``aiosqlite`` anywhere else in ``bot/``.
* The faces (``bot/cli/``, ``bot/launch.py``, ``bot/discordbot/``,
  ``bot/render/``) go through :class:`bot.services.Newsdesk`: they never import
  ``bot.store`` nor reach for the services' connection (``.db``).
* ``bot/models.py`` (the dataclasses every stage shares) imports nothing from ``bot``.
* No import cycle between the parts of ``bot`` at module level.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"

# SQL keywords as SQL spells them (upper case), so prose ("select a channel") passes.
SQL = re.compile(
    r"\b(SELECT|INSERT(\s+OR\s+\w+)?\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM"
    r"|CREATE\s+(UNIQUE\s+)?(TABLE|INDEX|VIRTUAL|TRIGGER|VIEW)|PRAGMA)\b"
)
DRIVERS = {"sqlite3", "aiosqlite"}
FACES = ("bot/cli/", "bot/launch.py", "bot/discordbot/", "bot/render/")


def _rel(path: Path, root: Path = ROOT) -> str:
    return path.relative_to(root).as_posix()


def _sources(root: Path = ROOT) -> list[Path]:
    return sorted((root / "bot").rglob("*.py"))


def _under(rel: str, prefixes: tuple[str, ...] | set[str]) -> bool:
    return any(rel == p or (p.endswith("/") and rel.startswith(p)) for p in prefixes)


def _module(path: Path) -> str:
    parts = list(path.with_suffix("").parts)
    parts = parts[len(parts) - 1 - parts[::-1].index("bot") :]  # from the last "bot" on
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported(path: Path, node: ast.Import | ast.ImportFrom) -> list[str]:
    """The absolute module names ``node`` (in file ``path``) imports."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not node.level:
        if node.module == "bot":  # from bot import services: the names are modules
            return [f"bot.{alias.name}" for alias in node.names]
        return [node.module or ""]
    package = _module(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    base = ".".join(package[: len(package) - (node.level - 1)])
    if node.module:
        return [f"{base}.{node.module}"]
    return [f"{base}.{alias.name}" for alias in node.names]  # from . import x


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


def sql_strings(path: Path) -> Iterator[str]:
    """``line: text`` of each string literal (f-string parts too) that reads as SQL."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docs = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
            if SQL.search(node.value):
                yield f"{node.lineno}: {' '.join(node.value.split())[:60]!r}"


def imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) of every import in the file, wherever it stands."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported(path, node):
                yield node.lineno, name


def store_violations(root: Path = ROOT) -> list[str]:
    """SQL strings and driver imports outside bot/store/."""
    found = []
    for path in _sources(root):
        rel = _rel(path, root)
        if rel.startswith("bot/store/"):
            continue
        found += [f"{rel}:{where} SQL string" for where in sql_strings(path)]
        found += [
            f"{rel}:{line} imports {name}"
            for line, name in imports(path)
            if name.split(".")[0] in DRIVERS
        ]
    return sorted(found)


def test_sql_and_the_driver_stay_in_the_store() -> None:
    found = store_violations()
    assert not found, "SQL belongs in bot/store/ (see README):\n" + "\n".join(found)


def face_violations(face: str, root: Path = ROOT) -> list[str]:
    """Imports of the store or the driver, and uses of a ``.db``, in the face's files."""
    found = []
    for path in _sources(root):
        rel = _rel(path, root)
        if not _under(rel, (face,)):
            continue
        for line, name in imports(path):
            if name == "bot.store" or name.startswith("bot.store.") or name in DRIVERS:
                found.append(f"{rel}:{line} imports {name}")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            # ``args.db`` is the CLI's --db option; any other ``.db`` is the connection.
            if isinstance(node, ast.Attribute) and node.attr == "db":
                if not (isinstance(node.value, ast.Name) and node.value.id == "args"):
                    found.append(f"{rel}:{node.lineno} uses {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("face", FACES)
def test_faces_go_through_the_services(face: str) -> None:
    found = face_violations(face)
    assert not found, "faces use bot.services.Newsdesk, not the store:\n" + "\n".join(found)


def test_models_import_nothing_from_bot() -> None:
    path = BOT / "models.py"
    found = [f"{line}: {name}" for line, name in imports(path) if name.split(".")[0] == "bot"]
    assert not found, "bot/models.py must stand alone:\n" + "\n".join(found)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(path: Path) -> Iterator[str]:
    """Imports run when the module loads: not those in functions or under TYPE_CHECKING."""

    def walk(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
        for stmt in body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                yield stmt
            elif isinstance(stmt, ast.If):
                if not _is_type_checking(stmt.test):
                    yield from walk(stmt.body)
                yield from walk(stmt.orelse)
            elif isinstance(stmt, ast.Try):
                for block in (stmt.body, *(h.body for h in stmt.handlers), stmt.orelse):
                    yield from walk(block)
                yield from walk(stmt.finalbody)

    for node in walk(ast.parse(path.read_text(encoding="utf-8")).body):
        yield from _imported(path, node)


def _part(module: str) -> str:
    """``bot.store.db`` -> ``bot.store``; ``bot.services`` stays itself."""
    return ".".join(module.split(".")[:2])


def part_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in _sources():
        here = _part(_module(path))
        for name in _module_level_imports(path):
            if name.startswith("bot.") and _part(name) != here:
                graph.setdefault(here, set()).add(_part(name))
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for nxt in sorted(graph.get(node, ())):
            cycle = visit(nxt, [*path, node])
            if cycle:
                return cycle
        done.add(node)
        return None

    for start in sorted(graph):
        cycle = visit(start, [])
        if cycle:
            return cycle
    return None


def test_no_import_cycle_between_parts_of_bot() -> None:
    graph = part_graph()
    assert graph.get("bot.store"), "the graph is empty: the scan is broken"
    cycle = find_cycle(graph)
    assert cycle is None, "module-level import cycle: " + " -> ".join(cycle or [])


def test_the_checks_catch_what_they_look_for(tmp_path: Path) -> None:
    """The scanners on a made-up tree (a check that finds nothing proves nothing)."""
    (tmp_path / "bot" / "store").mkdir(parents=True)
    (tmp_path / "bot" / "store" / "rows.py").write_text('import sqlite3\nQ = "SELECT 1"\n')
    face = tmp_path / "bot" / "discordbot" / "cog.py"
    face.parent.mkdir()
    face.write_text(
        "from ..store import digests\n"
        "import aiosqlite\n"
        'Q = f"SELECT id FROM {t}"\n'
        'U = "UPDATE feeds\\n SET paused = 1"\n'
        'OK = "Select a channel; update the feed"\n'
        "def f(bot):\n"
        '    """SELECT in a docstring is prose."""\n'
        "    return bot.services.db, args.db\n",
        encoding="utf-8",
    )
    assert store_violations(tmp_path) == [
        "bot/discordbot/cog.py:2 imports aiosqlite",
        "bot/discordbot/cog.py:3: 'SELECT id FROM' SQL string",
        "bot/discordbot/cog.py:4: 'UPDATE feeds SET paused = 1' SQL string",
    ]
    assert face_violations("bot/discordbot/", tmp_path) == [
        "bot/discordbot/cog.py:1 imports bot.store",
        "bot/discordbot/cog.py:2 imports aiosqlite",
        "bot/discordbot/cog.py:8 uses bot.services.db",
    ]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
