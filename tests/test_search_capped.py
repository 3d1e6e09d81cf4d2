"""A capped match count reads "1000+" wherever people see it: the CLI and /news search.

Counting stops at ``TOTAL_CAP`` matches; the CLI test stores more than that
many matching articles (through ``newsdesk ingest``, in an SQLite file and in
a PostgreSQL database), the Discord test lowers the cap to the loopback
newsroom's size.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from bot.cli import main
from bot.search import engine
from tests import pgserver
from tests.botharness import FLOOD_ARTICLES

if TYPE_CHECKING:
    from tests.botharness import Newsroom

pytest_plugins = ["tests.botharness"]

MATCHES = engine.TOTAL_CAP + 25


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def big_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A store (a file, or a PostgreSQL URL) where "kettle" matches more than TOTAL_CAP articles."""
    folder = tmp_path_factory.mktemp("capped")
    records = folder / "kettles.jsonl"
    with records.open("w", encoding="utf-8") as out:
        for i in range(MATCHES):
            record = {
                "url": f"https://outlet{i % 7}.example/kettle-{i}",
                "title": f"Kettle report {i} from district {i * 7}",
                "text": f"District {i} reports on item {i * 13}: the kettle story number {i}.",
                "source": f"Outlet {i % 7}",
                "published_at": f"2026-11-{1 + i % 25:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
            }
            out.write(json.dumps(record) + "\n")
    if request.param == "sqlite":
        path = str(folder / "big.db")
        assert main(["--db", path, "ingest", str(records)]) == 0
        yield path
        return
    url = pgserver.fresh_database()  # skips, saying why, without a server
    try:
        assert main(["--db", url, "ingest", str(records)]) == 0
        yield url
    finally:
        pgserver.drop_database(url)


def _last_line(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    capsys.readouterr()
    assert main(list(args)) == 0
    return capsys.readouterr().out.splitlines()[-1]


@pytest.mark.usefixtures("cli_isolated")
def test_cli_search_says_the_count_is_capped(big_store: str, capsys) -> None:
    db = ["--db", str(big_store), "search", "kettle"]
    assert _last_line(capsys, *db) == "showing 1-10 of 1000+ (--offset 10 for more)"
    assert main([*db, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["total"], data["total_capped"]) == (1000, True)
    # The last reachable page (--offset stops at 1000) offers no further page.
    assert _last_line(capsys, *db, "--offset", "990") == (
        "showing 991-1000 of 1000+ (--offset 1000 for more)"
    )
    assert _last_line(capsys, *db, "--offset", "1000") == "showing 1001-1010 of 1000+"
    # A count below the cap is exact.
    exact = ["--db", str(big_store), "search", "kettle", "district", "7", "--json"]
    assert main(exact) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_capped"] is False and data["total"] == len(data["hits"]) >= 1


def _footer(message: dict[str, Any]) -> str:
    return message["embeds"][0].get("footer", {}).get("text", "")


async def test_news_search_says_the_count_is_capped(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    cap = FLOOD_ARTICLES - 2  # the newsroom has FLOOD_ARTICLES flood articles
    monkeypatch.setattr(engine, "TOTAL_CAP", cap)
    async with newsroom.running():
        handle = await newsroom.fake.send_command("news search", {"query": "flood"})
        assert (await handle.wait_response())["type"] == 5
        page = await handle.wait_edit(1)
    assert _footer(page) == f"page 1 of 2+ · {cap}+ results"
    monkeypatch.setattr(engine, "TOTAL_CAP", 1000)
    async with newsroom.running():
        handle = await newsroom.fake.send_command("news search", {"query": "flood"})
        assert (await handle.wait_response())["type"] == 5
        page = await handle.wait_edit(1)
    assert _footer(page) == f"page 1 of 3 · {FLOOD_ARTICLES} results"
