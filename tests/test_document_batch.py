"""A folder of small documents is stored a batch at a time, never a file split.

Through the user's path (:meth:`Newsdesk.ingest_sources` on a folder, as
``newsdesk ingest DIR`` runs it): the articles of feed, page and text files
are written together (one plan and one transaction per ``IMPORT_BATCH``
articles), each file's articles in one write, a JSON Lines archive in its own
batches after what came before it, and an unusable entry still reported
against its own file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bot.ingest.pipeline as pipeline
from bot.config import Settings
from bot.ingest.pipeline import Ingestor
from bot.services import Newsdesk


def _rss(outlet: str, topics: list[str], *, blank: bool = False) -> str:
    items = "".join(
        f"<item><title>{outlet} reports {topic}</title>"
        f"<link>https://{outlet}.example/{topic.replace(' ', '-')}</link>"
        f"<pubDate>Mon, 03 Jun 2024 0{n}:00:00 GMT</pubDate>"
        f"<description>{outlet.capitalize()} says {topic} happened on Monday morning"
        " and officials expect more news later in the week.</description></item>"
        for n, topic in enumerate(topics)
    )
    if blank:  # neither a title nor any text: unusable
        items += "<item><guid isPermaLink='false'>blank-1</guid></item>"
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{outlet}</title>'
        f"{items}</channel></rss>"
    )


@pytest.fixture
def writes(monkeypatch) -> list[list[str | None]]:
    """The URLs of each batch of articles handed to the store, in order."""
    calls: list[list[str | None]] = []
    original = Ingestor.store_articles

    async def recorded(self: Ingestor, ready: list[Any], **kwargs: Any) -> Any:
        calls.append([a.url for a in ready])
        return await original(self, ready, **kwargs)

    monkeypatch.setattr(Ingestor, "store_articles", recorded)
    return calls


async def _ingest(tmp_path: Path, folder: Path) -> Any:
    desk = await Newsdesk.open(Settings(_env_file=None, database=tmp_path / "news.db"))
    try:
        return await desk.ingest_sources([str(folder)])
    finally:
        await desk.close()


async def test_feed_files_are_stored_in_batches_of_whole_files(
    tmp_path: Path, monkeypatch, writes: list[list[str | None]]
) -> None:
    monkeypatch.setattr(pipeline, "IMPORT_BATCH", 4)
    folder = tmp_path / "feeds"
    folder.mkdir()
    outlets = [f"outlet{i}" for i in range(6)]
    for i, outlet in enumerate(outlets):
        text = _rss(outlet, [f"bridge {i}", f"budget {i}"], blank=i == 2)
        (folder / f"{outlet}.xml").write_text(text, encoding="utf-8")
    outcome = await _ingest(tmp_path, folder)
    report = outcome.report
    assert (report.new, report.failed, outcome.sources) == (12, 1, 6)
    # the unusable entry is reported against its own file, at once
    assert report.errors == [(f"{folder / 'outlet2.xml'}: entry 3", "no title or text")]
    # a batch is written once it holds 4 articles: two whole files each time
    assert [len(batch) for batch in writes] == [4, 4, 4]
    for batch, pair in zip(writes, [outlets[0:2], outlets[2:4], outlets[4:6]], strict=True):
        assert {url.split("/")[2].split(".")[0] for url in batch if url} == set(pair)


async def test_an_archive_in_the_folder_is_stored_after_what_came_before_it(
    tmp_path: Path, writes: list[list[str | None]]
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "a-first.xml").write_text(_rss("first", ["floods"]), encoding="utf-8")
    lines = [
        {
            "title": f"Archive item {n} on the harbour works",
            "url": f"https://archive.example/{n}",
            "body": "The harbour works went on through the night, the port said.",
            "published_at": "2024-06-03T08:00:00Z",
            "source": "Archive",
        }
        for n in range(3)
    ]
    (folder / "b-archive.jsonl").write_text(
        "".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8"
    )
    (folder / "c-last.xml").write_text(_rss("last", ["storm", "rescue"]), encoding="utf-8")
    outcome = await _ingest(tmp_path, folder)
    assert (outcome.report.new, outcome.report.failed) == (6, 0)
    assert writes == [
        ["https://first.example/floods"],
        [f"https://archive.example/{n}" for n in range(3)],
        ["https://last.example/storm", "https://last.example/rescue"],
    ]


async def test_a_batch_is_written_before_a_file_would_take_it_past_its_size(
    tmp_path: Path, monkeypatch, writes: list[list[str | None]]
) -> None:
    """Pending articles are written first when the next file would take the batch
    past its size; a file bigger than the size is written whole, on its own."""
    monkeypatch.setattr(pipeline, "IMPORT_BATCH", 4)
    folder = tmp_path / "feeds"
    folder.mkdir()
    sizes = {"a": 2, "b": 3, "c": 1, "d": 6, "e": 1}
    for name, count in sizes.items():
        topics = [f"topic {name}{k}" for k in range(count)]
        (folder / f"{name}.xml").write_text(_rss(name, topics), encoding="utf-8")
    outcome = await _ingest(tmp_path, folder)
    assert (outcome.report.new, outcome.report.failed) == (13, 0)
    outlets = [
        sorted({url.split("/")[2].split(".")[0] for url in batch if url}) for batch in writes
    ]
    assert outlets == [["a"], ["b", "c"], ["d"], ["e"]]
