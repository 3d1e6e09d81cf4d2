"""Undated articles and unknown outlets, through the commands a user types.

An article whose source gives no date is stored as undated (no date is
invented); it joins a dated story by content across any time gap when it is
close enough, and takes that story's time. Two articles whose outlet nobody
named count as two outlets.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from tests.conftest import shared_path

SEEDS = ("000_e49189fab17ffecb.txt", "002_3f7df35fdd9a68e6.txt")


pytestmark = pytest.mark.usefixtures("cli_isolated")


def export(capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["--db", "x.db", "export", "--format", "jsonl"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]


def seed(name: str) -> str:
    path = shared_path("seeds", name)
    if not path.exists():
        pytest.skip("../shared/seeds is not here")
    return str(path)


@pytest.mark.parametrize(
    "commands",
    [
        [SEEDS],  # both in one command
        [tuple(reversed(SEEDS))],  # the undated one first, in one command
        [(SEEDS[0],), (SEEDS[1],)],  # two commands, dated first
        [(SEEDS[1],), (SEEDS[0],)],  # two commands, undated first
    ],
    ids=["together", "together-reversed", "dated-first", "undated-first"],
)
def test_the_seeds_form_one_story_with_no_date_invented(commands, capsys):
    for names in commands:
        assert main(["--db", "x.db", "ingest", *(seed(n) for n in names)]) == 0
    records = {Path(r["title"]).name: r for r in export(capsys)}
    assert len(records) == 2
    assert len({r["story_id"] for r in records.values()}) == 1
    by_date = sorted(records.values(), key=lambda r: r["published_at"] or "")
    undated, dated = by_date
    assert undated["published_at"] is None  # 002 carries no date: none is invented
    assert undated["title"].startswith("Kim Jong Un Returns from Russia")
    assert dated["published_at"].startswith("2023-09-17T08:32:58")

    # Two reports from outlets nobody named are two sources, not one.
    capsys.readouterr()
    assert main(["--db", "x.db", "digest", "--date", "2023-09-18", "--json"]) == 0
    digest = json.loads(capsys.readouterr().out)
    assert len(digest["stories"]) == 1
    item = digest["stories"][0]
    assert item["source_count"] == 2
    assert item["published_at"].startswith("2023-09-17T08:32:58")  # the story's time


def _article(title: str, text: str, *, source: str, url: str, when: datetime | None) -> dict:
    record = {"title": title, "text": text, "source": source, "url": url}
    if when is not None:
        record["published_at"] = when.isoformat()
    return record


def ingest_lines(path: Path, *records: dict) -> None:
    """Write ``records`` as a JSON Lines file and ingest it with the CLI."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert main(["--db", "x.db", "ingest", str(path)]) == 0


def flood(when: datetime | None, **kw) -> dict:
    """The Koblenz flood as the Rhein Zeitung reported it (dated) ..."""
    return _article(
        "Rhine floods Koblenz old town, 4,000 evacuated",
        FLOOD,
        source=kw.get("source", "Rhein Zeitung"),
        url=kw.get("url", "https://rz.example/flood"),
        when=when,
    )


def rescue() -> dict:
    """... and the same event told by another outlet that gives no date."""
    return _article(
        "Rescue boats reach families stranded by Rhine flood in Koblenz",
        FLOOD_UNDATED,
        source="Valley Courier",
        url="https://vc.example/rescue",
        when=None,
    )


FLOOD = (
    "Floodwaters from the Rhine river swept through the old town of Koblenz on Tuesday after "
    "three days of heavy rain, forcing the evacuation of 4,000 residents. Mayor Anna Keller "
    "said the Deutsches Eck embankment was breached at dawn and that rescue boats from "
    "Mainz and Bonn were helping firefighters reach stranded families."
)
FLOOD_UNDATED = (
    "Rescue boats from Mainz and Bonn reached stranded families in Koblenz after the Rhine "
    "breached the Deutsches Eck embankment at dawn. Mayor Anna Keller ordered 4,000 residents "
    "of the old town evacuated as the floodwaters kept rising after three days of rain."
)
CHESS = (
    "The world chess championship in Reykjavik was adjourned after game seven when "
    "challenger Lars Petersen claimed a draw by repetition against champion Mei Tanaka. "
    "Organisers said the tiebreak rules would be reviewed before the final games."
)


def test_undated_article_joins_a_dated_story_days_away_and_an_unrelated_one_does_not(
    tmp_path, capsys, monkeypatch
):
    days_ago = datetime.now(UTC) - timedelta(days=9)
    second = flood(
        days_ago + timedelta(hours=2), source="Mosel Post", url="https://mp.example/koblenz"
    )
    second["title"] = "Koblenz evacuates 4,000 as Rhine breaches embankment"
    second["text"] = FLOOD.replace("Tuesday", "Tuesday morning")
    ingest_lines(tmp_path / "dated.jsonl", flood(days_ago), second)
    chess = _article(
        "Chess title match adjourned in Reykjavik",
        CHESS,
        source="Board Weekly",
        url="https://bw.example/chess",
        when=None,
    )
    ingest_lines(tmp_path / "late.jsonl", rescue(), chess)
    records = {r["url"]: r for r in export(capsys)}
    story = {
        records[u]["story_id"] for u in ("https://rz.example/flood", "https://mp.example/koblenz")
    }
    assert len(story) == 1
    assert records["https://vc.example/rescue"]["story_id"] in story
    assert records["https://vc.example/rescue"]["published_at"] is None
    assert records["https://bw.example/chess"]["story_id"] not in story
    assert records["https://bw.example/chess"]["published_at"] is None

    # The undated report took the story's time: it does not pull a nine-day-old
    # story into today's briefing, where the unrelated undated one (first seen
    # today, its only time) does belong.
    capsys.readouterr()
    soon = datetime.now(UTC) + timedelta(hours=2)  # a briefing whose 24 hours hold "now"
    monkeypatch.setenv("NEWSDESK_TIMEZONE", "UTC")
    monkeypatch.setenv("NEWSDESK_DIGEST_TIME", soon.strftime("%H:%M"))
    assert main(["--db", "x.db", "digest", "--date", soon.date().isoformat(), "--json"]) == 0
    headlines = [s["headline"] for s in json.loads(capsys.readouterr().out)["stories"]]
    assert headlines == ["Chess title match adjourned in Reykjavik"]


def test_a_dated_report_finds_an_undated_story_weeks_later(tmp_path, capsys):
    ingest_lines(tmp_path / "undated.jsonl", rescue())
    ingest_lines(tmp_path / "dated.jsonl", flood(datetime(2021, 7, 14, 9, 0, tzinfo=UTC)))
    records = {r["url"]: r for r in export(capsys)}
    assert (
        records["https://vc.example/rescue"]["story_id"]
        == records["https://rz.example/flood"]["story_id"]
    )
    capsys.readouterr()
    assert main(["--db", "x.db", "digest", "--date", "2021-07-15", "--json"]) == 0
    (item,) = json.loads(capsys.readouterr().out)["stories"]
    assert item["source_count"] == 2
