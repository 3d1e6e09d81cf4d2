"""The `newsdesk` command end to end, in-process, on the bundled sample corpus."""

from __future__ import annotations

import json

import pytest

from bot.cli import main
from bot.sample import SAMPLE_DIR


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("NEWSDESK_") or key == "DISCORD_TOKEN":
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def test_demo_prints_merged_stories_and_is_idempotent(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out
    assert "also covered by" in out
    assert main(["demo", "--json"]) == 0
    second = capsys.readouterr().out
    assert "0 new" in second  # everything recognised as already stored
    digest = json.loads(second[second.index("{") :])
    counts = [item["source_count"] for item in digest["stories"]]
    assert max(counts) >= 3


def test_ingest_reports_failures_with_reasons_and_keeps_the_rest(tmp_path, capsys):
    bad = tmp_path / "broken.xml"
    bad.write_bytes(b"<?xml version='1.0'?><rss><channel><item><title>cut")
    good = SAMPLE_DIR / "archive.jsonl"
    assert main(["--db", "x.db", "ingest", str(bad), str(good), "missing.txt"]) == 0
    out = capsys.readouterr().out
    assert "8 new" in out
    assert "2 failed" in out
    assert "missing.txt: no such file" in out
    assert "broken.xml" in out


def test_search_export_and_digest(capsys, tmp_path):
    assert main(["--db", "x.db", "ingest", str(SAMPLE_DIR)]) == 0
    capsys.readouterr()
    assert main(["--db", "x.db", "search", "kettle", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and all("kettle" in (h["title"] + h["snippet"]).lower() for h in hits)

    assert main(
        ["--db", "x.db", "search", 'NEAR("a" "b") title:x ^ " ' + "'; DROP TABLE articles; --"]
    ) in (0, 2)
    capsys.readouterr()

    out = tmp_path / "all.jsonl"
    assert main(["--db", "x.db", "export", "--format", "jsonl", "-o", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) >= 40
    keys = {"id", "url", "source", "title", "text", "published_at", "category", "story_id"}
    assert all(keys <= set(line) for line in lines)
    assert all(line["story_id"] is not None for line in lines)

    capsys.readouterr()
    assert main(["--db", "x.db", "digest", "--date", "2026-11-23", "--json"]) == 0
    digest = json.loads(capsys.readouterr().out)
    assert digest["stories"]


def test_bad_date_is_a_clear_usage_error(capsys):
    assert main(["--db", "x.db", "digest", "--date", "yesterday-ish"]) == 2
    assert "--date" in capsys.readouterr().err
    assert main(["--db", "x.db", "search", "bridge", "--date", "blorp"]) == 2
    assert "blorp" in capsys.readouterr().err


def test_feeds_add_refuses_private_addresses(capsys):
    assert main(["--db", "x.db", "feeds", "add", "http://127.0.0.1:9/feed"]) == 1
    assert "error" in capsys.readouterr().err.lower()
    assert main(["--db", "x.db", "feeds", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


async def test_run_with_a_refused_token_is_a_config_error(fake_discord, tmp_path):
    """A token Discord refuses stops `newsdesk run` with the fix, not a traceback."""
    import argparse

    from bot.cli import cmd_run
    from bot.config import ConfigError, load_settings

    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.Gwrong.not-the-token-the-fake-expects-000000"
    settings = load_settings(None, discord_token=token)
    args = argparse.Namespace(db=str(tmp_path / "run.db"))
    with pytest.raises(ConfigError) as info:
        await cmd_run(args, settings)
    assert "DISCORD_TOKEN was refused" in str(info.value)
    assert token not in str(info.value)
