"""The `newsdesk` command end to end, in-process, on the bundled sample corpus.

Every test runs at COLUMNS=80 and checks what the user sees (the message),
the exit code and what is left on disk. Signals and pipes need a real
process: see ``test_cli_process.py``.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bot
from bot import cli
from bot.cli import main
from bot.sample import SAMPLE_DIR

SAMPLE_DAY = "2026-11-23"  # the sample corpus's newest digest day


pytestmark = pytest.mark.usefixtures("cli_isolated")


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory) -> Path:
    """A store holding the sample corpus, built once; copy it before writing to it."""
    path = tmp_path_factory.mktemp("sample") / "sample.db"
    assert main(["--db", str(path), "ingest", str(SAMPLE_DIR)]) == 0
    return path


@pytest.fixture
def store(sample_store, tmp_path) -> Path:
    """A private copy of the sample store."""
    path = tmp_path / "x.db"
    shutil.copy(sample_store, path)
    return path


def one_error_line(err: str) -> str:
    """The single line a failure prints; fails on tracebacks or several lines."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


def count(db: Path, sql: str = "SELECT COUNT(*) FROM articles") -> int:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


# -- the basics -------------------------------------------------------------


def test_demo_prints_merged_stories_and_is_idempotent(capsys):
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "0 failed" in out
    assert "also covered by" in out
    assert main(["demo", "--json"]) == 0
    second = capsys.readouterr()
    assert "0 new" in second.err  # everything recognised as already stored
    digest = json.loads(second.out)  # stdout is the digest alone
    counts = [item["source_count"] for item in digest["stories"]]
    assert max(counts) >= 3


def test_ingest_reports_failures_with_reasons_and_keeps_the_rest(tmp_path, capsys):
    bad = tmp_path / "broken.xml"
    bad.write_bytes(b"<?xml version='1.0'?><rss><channel><item><title>cut")
    good = SAMPLE_DIR / "archive.jsonl"
    # Some sources failed, the rest was stored: the "partly done" exit code.
    assert main(["--db", "x.db", "ingest", str(bad), str(good), "missing.txt"]) == 3
    out = capsys.readouterr().out
    assert "8 new" in out
    assert "2 failed" in out
    assert "missing.txt: no such file" in out
    assert "broken.xml" in out
    assert count(tmp_path / "x.db") == 8


def test_ingest_where_everything_failed_exits_1(capsys):
    assert main(["--db", "x.db", "ingest", "missing.txt"]) == 1
    assert "missing.txt: no such file" in capsys.readouterr().out


def test_search_export_and_digest(capsys, store, tmp_path):
    assert main(["--db", str(store), "search", "kettle", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and all("kettle" in (h["title"] + h["snippet"]).lower() for h in hits)

    assert main(
        ["--db", str(store), "search", 'NEAR("a" "b") title:x ^ " ' + "'; DROP TABLE articles; --"]
    ) in (0, 2)
    capsys.readouterr()

    out = tmp_path / "all.jsonl"
    assert main(["--db", str(store), "export", "--format", "jsonl", "-o", str(out)]) == 0
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) >= 40
    keys = {"id", "url", "source", "title", "text", "published_at", "category", "story_id"}
    assert all(keys <= set(line) for line in lines)
    assert all(line["story_id"] is not None for line in lines)

    capsys.readouterr()
    assert main(["--db", str(store), "digest", "--date", SAMPLE_DAY, "--json"]) == 0
    digest = json.loads(capsys.readouterr().out)
    assert digest["stories"]


def test_bad_date_is_a_clear_usage_error(capsys, store):
    assert main(["--db", str(store), "digest", "--date", "yesterday-ish"]) == 2
    assert "--date" in one_error_line(capsys.readouterr().err)
    assert main(["--db", str(store), "search", "bridge", "--date", "blorp"]) == 2
    assert "blorp" in one_error_line(capsys.readouterr().err)
    assert main(["--db", str(store), "stories", "rebuild", "--since", "soonish"]) == 2
    assert "--since 'soonish'" in one_error_line(capsys.readouterr().err)


def test_feeds_add_refuses_private_addresses_naming_the_setting(capsys):
    assert main(["--db", "x.db", "feeds", "add", "http://127.0.0.1:9/feed"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "127.0.0.1" in line and "NEWSDESK_ALLOW_PRIVATE_ADDRESSES=true" in line
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


# -- errors are one line, never a traceback ------------------------------------------


def test_database_in_a_folder_that_cannot_be_created(tmp_path, capsys):
    blocker = tmp_path / "notafolder"
    blocker.write_text("a file where a folder should be")
    db = blocker / "sub" / "news.db"
    assert main(["--db", str(db), "ingest", str(SAMPLE_DIR / "archive.jsonl")]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(db) in line and "NEWSDESK_DATABASE or --db" in line
    assert blocker.read_text() == "a file where a folder should be"


@pytest.mark.parametrize("command", [["ingest", "missing.txt"], ["search", "x"]])
def test_database_path_that_is_a_folder_or_not_a_database(command, tmp_path, capsys):
    (tmp_path / "afolder").mkdir()
    (tmp_path / "notes.db").write_text("my notes, not a database\n")
    assert main(["--db", "afolder", *command]) == 2
    assert "afolder is a folder" in one_error_line(capsys.readouterr().err)
    assert main(["--db", "notes.db", *command]) == 2
    assert "notes.db: file is not a database" in one_error_line(capsys.readouterr().err)
    assert (tmp_path / "notes.db").read_text() == "my notes, not a database\n"


def test_export_to_a_missing_folder(store, tmp_path, capsys):
    target = tmp_path / "missing" / "dir" / "x.jsonl"
    assert main(["--db", str(store), "export", "-o", str(target)]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(target) in line and "create it first" in line
    assert not (tmp_path / "missing").exists()


def test_export_writes_the_file_whole_and_leaves_no_partial(store, tmp_path, capsys):
    target = tmp_path / "out.jsonl"
    target.write_text("old contents\n")
    assert main(["--db", str(store), "export", "-o", str(target)]) == 0
    assert f"exported {count(store)} article(s)" in capsys.readouterr().out
    assert len(target.read_text().splitlines()) == count(store)
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_env_file_that_is_not_utf8(tmp_path, capsys):
    env = tmp_path / "latin1.env"
    env.write_bytes(b"NEWSDESK_TIMEZONE=UTC\nNEWSDESK_USER_AGENT=caf\xe9\n")
    assert main(["--env-file", str(env), "config", "check"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert str(env) in line and "UTF-8" in line and "line 2" in line


def test_default_env_file_that_is_not_utf8(tmp_path, capsys):
    (tmp_path / ".env").write_bytes(b"NEWSDESK_USER_AGENT=caf\xe9\n")
    assert main(["--db", "x.db", "ingest", str(SAMPLE_DIR / "archive.jsonl")]) == 2
    assert ".env is not UTF-8" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "x.db").exists()


def test_usage_errors_are_one_line(capsys):
    assert main(["search", "x", "--limit", "0"]) == 2
    assert "--limit" in one_error_line(capsys.readouterr().err)
    assert main(["frobnicate"]) == 2
    assert "frobnicate" in one_error_line(capsys.readouterr().err)


# -- no silent surprises ---------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["search", "bridge"],
        ["search", "bridge", "--json"],
        ["digest"],
        ["digest", "--json"],
        ["export"],
        ["export", "-o", "out.jsonl"],
        ["feeds", "list"],
        ["feeds", "remove", "1"],
        ["feeds", "pause", "1"],
        ["feeds", "resume", "1"],
        ["feeds", "export"],
        ["health"],
        ["backup", "copy.db"],
        ["stories", "rebuild"],
    ],
)
def test_read_only_commands_never_create_a_database(command, tmp_path, capsys):
    db = tmp_path / "typo" / "newsdesk.db"
    assert main(["--db", str(db), *command]) == 2
    err = capsys.readouterr()
    line = one_error_line(err.err)
    assert line == f"error: no database at {db} (set NEWSDESK_DATABASE or --db)"
    assert err.out == ""
    assert not (tmp_path / "typo").exists()
    assert not (tmp_path / "out.jsonl").exists()


def test_missing_database_from_the_setting(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_DATABASE", "elsewhere/news.db")
    assert main(["search", "bridge"]) == 2
    assert "no database at elsewhere/news.db" in one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "elsewhere").exists()


def test_env_file_that_does_not_exist_is_an_error(tmp_path, capsys):
    assert main(["--env-file", "prod.env", "config", "check"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--env-file prod.env: does not exist" in line
    # No --env-file and no .env: the defaults, no complaint.
    assert main(["config", "check"]) == 0


def test_config_check_warns_about_unknown_variables(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_DIGEST_TIM", "07:00")
    (tmp_path / "my.env").write_text("NEWSDESK_TIMEZOEN=Europe/Paris\nNEWSDESK_WHATEVER=1\n")
    assert main(["--env-file", "my.env", "config", "check"]) == 0
    out = capsys.readouterr()
    json.loads(out.out)  # stdout stays pure JSON
    assert "NEWSDESK_DIGEST_TIM is not a Newsdesk setting" in out.err
    assert "did you mean NEWSDESK_DIGEST_TIME?" in out.err
    assert "did you mean NEWSDESK_TIMEZONE?" in out.err
    assert "NEWSDESK_WHATEVER is not a Newsdesk setting" in out.err
    assert "NEWSDESK_DIGEST_TIME " not in out.err  # known settings are not reported


def test_config_check_rejects_a_database_path_run_could_not_create(tmp_path, capsys):
    (tmp_path / "afile").write_text("")
    assert main(["--db", "afile/sub/news.db", "config", "check"]) == 2
    assert "database afile/sub/news.db: cannot create it" in one_error_line(capsys.readouterr().err)
    assert main(["--db", "data/news.db", "config", "check"]) == 0  # creatable: fine
    assert not (tmp_path / "data").exists()  # and not created by a check
    assert "DISCORD_TOKEN is not set" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["config", "check"], ["poll"]])
def test_a_missing_feeds_file_is_rejected_up_front(command, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_FEEDS_FILE", "feeds.txt")
    assert main(["--db", "x.db", *command]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "NEWSDESK_FEEDS_FILE='feeds.txt'" in line
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("command", [["config", "check"], ["poll"]])
def test_a_bad_url_in_the_feeds_file_is_rejected_up_front(command, tmp_path, monkeypatch, capsys):
    (tmp_path / "feeds.txt").write_text(
        "# my feeds\nhttps://good.example/rss\n\nftp://old.example/feed\n"
    )
    monkeypatch.setenv("NEWSDESK_FEEDS_FILE", "feeds.txt")
    assert main(["--db", "x.db", *command]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "line 4" in line and "ftp://old.example/feed" in line
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("Japan", "Japan"),
        ("EST", "EST"),
        ("europe/paris", "Europe/Paris"),
        ("America/Argentina/Buenos_Aires", "America/Argentina/Buenos_Aires"),
        ("Etc/GMT+5", "Etc/GMT+5"),
    ],
)
def test_timezone_rules_are_the_same_for_the_default_and_each_channel(name, canonical):
    from bot.config import load_settings

    settings = load_settings(
        None, timezone=name, digest_channels=f"123456789012345678 07:00 {name}"
    )
    assert settings.timezone == canonical
    assert settings.channels[0].timezone == canonical


@pytest.mark.parametrize("name", ["Mars/Olympus", "Paris", "GMT+5"])
def test_bad_timezones_are_refused_alike(name):
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError) as default:
        load_settings(None, timezone=name)
    with pytest.raises(ConfigError) as channel:
        load_settings(None, digest_channels=f"123456789012345678 {name}")
    assert f"'{name}'" in str(default.value)
    assert f"'{name}'" in str(channel.value)


def test_reingesting_unchanged_files_stores_nothing(tmp_path, capsys):
    assert main(["--db", "a.db", "ingest", str(SAMPLE_DIR)]) == 0
    capsys.readouterr()
    assert main(["--db", "a.db", "ingest", str(SAMPLE_DIR)]) == 0
    assert "0 new, 0 updated" in capsys.readouterr().out


def test_reimporting_our_own_export_creates_no_duplicates(tmp_path, store, capsys):
    before = count(store)
    no_url = count(store, "SELECT COUNT(*) FROM articles WHERE url IS NULL")
    assert no_url > 0  # the test covers articles without URLs
    assert main(["--db", str(store), "export", "-o", "all.jsonl"]) == 0
    capsys.readouterr()
    # Into the store it came from.
    assert main(["--db", str(store), "ingest", "all.jsonl"]) == 0
    assert "0 new, 0 updated" in capsys.readouterr().out
    assert count(store) == before
    # Into a fresh store, twice, then the original sources on top.
    assert main(["--db", "fresh.db", "ingest", "all.jsonl"]) == 0
    assert f"{before} new" in capsys.readouterr().out
    assert main(["--db", "fresh.db", "ingest", "all.jsonl"]) == 0
    assert "0 new, 0 updated" in capsys.readouterr().out
    assert main(["--db", "fresh.db", "ingest", str(SAMPLE_DIR)]) == 0
    assert "0 new, 0 updated" in capsys.readouterr().out  # no older version "updates" it
    assert count(tmp_path / "fresh.db") == before
    assert count(tmp_path / "fresh.db", "SELECT COUNT(*) FROM articles WHERE url IS NULL") == no_url


# -- exit codes for cron -----------------------------------------------------------------


def test_poll_with_nothing_due_exits_0(capsys):
    assert main(["--db", "x.db", "poll"]) == 0
    assert "polled 0 due feed(s)" in capsys.readouterr().out


def test_poll_where_every_feed_failed_exits_1(monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("NEWSDESK_FEEDS", "http://127.0.0.1:9/a.xml,http://127.0.0.1:9/b.xml")
    monkeypatch.setenv("NEWSDESK_FETCH_TIMEOUT_SECONDS", "5")
    assert main(["--db", "x.db", "poll"]) == 1
    out = capsys.readouterr().out
    assert "2 failed" in out and "failed http://127.0.0.1:9/a.xml" in out


def test_poll_where_some_feeds_failed_exits_3(monkeypatch, capsys, feed_server):
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "true")
    good = f"{feed_server}/harbor-city-ledger.rss.xml"
    monkeypatch.setenv("NEWSDESK_FEEDS", f"{good},http://127.0.0.1:9/b.xml")
    assert main(["--db", "x.db", "poll"]) == 3
    out = capsys.readouterr().out
    assert "1 fetched" in out and "1 failed" in out


def test_private_address_refusals_in_poll_name_the_setting(monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_FEEDS", "http://127.0.0.1:9/a.xml")
    assert main(["--db", "x.db", "poll"]) == 1
    assert "NEWSDESK_ALLOW_PRIVATE_ADDRESSES=true" in capsys.readouterr().out


# -- output a person can read --------------------------------------------------------------


URL = re.compile(r"https?://\S+")


def test_digest_at_80_columns_keeps_urls_whole_and_indents(store, capsys):
    assert main(["--db", str(store), "digest", "--date", SAMPLE_DAY, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert main(["--db", str(store), "digest", "--date", SAMPLE_DAY]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    printed = set(URL.findall(text))
    for story in data["stories"]:
        assert story["lead_url"] in printed  # the lead article's link is printed
        for link in story["links"]:
            assert link["url"] in printed  # and every link, whole
    for line in lines:
        if len(line) > 80:  # only a URL too long for the line may run past the edge
            assert URL.fullmatch(line.strip().removeprefix("- ").split(" ")[-1]), line
    summary = data["stories"][0]["summary"]
    summary_lines = [line for line in lines if line.strip() and line.strip() in summary]
    assert len(summary_lines) >= 2  # it wrapped...
    assert all(line.startswith("   ") for line in summary_lines)  # ...keeping its indent


def test_search_at_80_columns(store, capsys):
    assert main(["--db", str(store), "search", "bridge", "OR", "quake", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "Search: bridge OR quake" in lines[0] and "Query(" not in out
    total = json.loads(_search_json(store, "bridge OR quake"))["total"]
    assert total > 3
    assert lines[-1] == f"showing 1-3 of {total} (--offset 3 for more)"
    for line in lines:
        assert len(line) <= 80 or URL.fullmatch(line.strip()), line
        if URL.search(line):
            assert line.startswith("   https://")  # whole, on its own indented line
    last = ["--offset", str(total - 2), "--limit", "10"]
    assert main(["--db", str(store), "search", "bridge", "OR", "quake", *last]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"showing {total - 1}-{total} of {total}"


def _search_json(store: Path, query: str) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(["--db", str(store), "search", *query.split(), "--json", "--limit", "50"]) == 0
    return buffer.getvalue()


@pytest.mark.parametrize("limit", ["0", "51", "ten", "-1"])
def test_search_limit_is_validated(limit, store, capsys):
    assert main(["--db", str(store), "search", "bridge", "--limit", limit]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--limit" in line and ("1 to 50" in line or "whole number" in line)


def test_unknown_source_suggests_close_names(store, capsys):
    assert main(["--db", str(store), "search", "bridge", "--source", "harbour"]) == 2
    line = one_error_line(capsys.readouterr().err)
    assert "--source 'harbour'" in line and "did you mean 'Harbor City Ledger'?" in line
    assert main(["--db", str(store), "search", "bridge", "--source", "north"]) == 0
    assert "Northwind Dispatch" in capsys.readouterr().out


def test_symbols_only_search_says_there_are_no_words(store, capsys):
    assert main(["--db", str(store), "search", "(((("]) == 0
    out = capsys.readouterr()
    assert out.err.strip() == "no words to search for in '(((('"
    assert main(["--db", str(store), "search", "((((", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["hits"] == []


@pytest.mark.parametrize(
    "when", [SAMPLE_DAY, "Nov 23 2026", "23 November 2026", "2026/11/23", "November 23, 2026"]
)
def test_digest_date_speaks_the_date_language(when, store, capsys):
    assert main(["--db", str(store), "digest", "--date", when, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["day"] == SAMPLE_DAY


def test_digest_date_range_prints_each_briefing(store, capsys):
    assert main(["--db", str(store), "digest", "--date", "Nov 22 2026..Nov 23 2026", "--json"]) == 0
    assert [d["day"] for d in json.loads(capsys.readouterr().out)] == ["2026-11-22", SAMPLE_DAY]
    assert main(["--db", str(store), "digest", "--date", "today"]) == 0
    assert "Daily briefing" in capsys.readouterr().out


def test_stories_rebuild_since_speaks_the_date_language(store, capsys):
    assert main(["--db", str(store), "stories", "rebuild", "--since", "Nov 22 2026"]) == 0
    out = capsys.readouterr().out
    assert "rebuilt stories:" in out
    regrouped = int(out.split("stories:")[1].split()[0])
    start = int(datetime(2026, 11, 22, tzinfo=UTC).timestamp())
    assert regrouped == count(store, f"SELECT COUNT(*) FROM articles WHERE published_at >= {start}")


def test_search_date_speaks_the_same_language(store, capsys):
    assert main(["--db", str(store), "search", "bridge", "--date", "Nov 22 2026", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and all(h["published_at"].startswith("2026-11-22") for h in hits)


def test_feeds_list_at_80_columns(monkeypatch, capsys):
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "true")
    long_url = "http://127.0.0.1:9/" + "/".join(["a-rather-long-path-segment"] * 4) + "/rss.xml"
    for url in ("http://127.0.0.1:9/feed.xml", long_url):
        assert main(["--db", "x.db", "feeds", "add", "--no-check", url]) == 0
    capsys.readouterr()
    assert main(["--db", "x.db", "feeds", "add", "--no-check", long_url]) == 0
    assert capsys.readouterr().out.startswith("already subscribed: #2")
    assert main(["--db", "x.db", "feeds", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == [
        "feed",
        "last",
        "success",
        "(UTC)",
        "next",
        "poll",
        "(UTC)",
        "status",
    ]
    assert lines[1].split() == ["#1", "-", "due", "now", "not", "polled", "yet"]
    assert lines[2].strip() == "http://127.0.0.1:9/feed.xml"
    assert lines[4].strip() == long_url  # whole, on one line
    assert all(len(line) <= 80 for line in lines if long_url not in line)
    assert all(line.startswith("      ") for line in (lines[2], lines[4]))


# -- small things ------------------------------------------------------------------------------


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"newsdesk {bot.__version__}"


def test_global_options_after_the_command(store, tmp_path, capsys):
    (tmp_path / "other.env").write_text("NEWSDESK_TIMEZONE=Europe/Paris\n")
    assert main(["search", "bridge", "--db", str(store), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["hits"]
    assert main(["feeds", "list", "--db", str(store), "--json"]) == 0
    json.loads(capsys.readouterr().out)
    assert main(["config", "check", "--env-file", "other.env"]) == 0
    assert json.loads(capsys.readouterr().out)["timezone"] == "Europe/Paris"


def test_fewer_info_lines_by_default(tmp_path, capsys):
    assert main(["--db", "x.db", "ingest", str(SAMPLE_DIR)]) == 0
    err = capsys.readouterr().err
    assert "migration" not in err
    assert "parsed with a warning" not in err


def test_discord_voice_warning_is_not_shown(capsys):
    from bot.config import load_settings

    cli.setup_logging(load_settings(None))
    client_log = logging.getLogger("discord.client")
    client_log.warning("PyNaCl is not installed, voice will NOT be supported")
    client_log.warning("davey is not installed, voice will NOT be supported")
    client_log.warning("something else")
    err = capsys.readouterr().err
    assert "voice" not in err and "something else" in err


def test_no_progress_in_a_pipe(capsys):
    assert main(["--db", "x.db", "ingest", str(SAMPLE_DIR)]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and "entries" not in err and "\x1b" not in err


def test_progress_shows_counts_rate_and_eta_and_logs_print_above_it(monkeypatch, capsys):
    import io

    from rich.console import Console

    from bot.config import load_settings

    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=80, color_system=None)
    monkeypatch.setattr(cli.progress, "_progress_console", lambda: terminal)
    cli.setup_logging(load_settings(None))
    with cli.progress._Bar("ingesting", "entries", total=2000) as bar:
        bar.advance(1000)
        logging.getLogger("bot.test").warning("a log line while the bar is up")
        bar.advance(500)
        bar._progress.refresh()  # type: ignore[union-attr]  # rich draws on refresh
    shown = screen.getvalue()
    assert "1,500/2,000 entries" in shown
    assert re.search(r"[\d,]+/s", shown) and "ETA" in shown
    # The log line went through the live display (above the bar), not over it.
    assert "a log line while the bar is up" in shown
    assert "a log line while the bar is up" not in capsys.readouterr().err


@pytest.fixture
def terminal(monkeypatch):
    """A fake terminal for the progress line (stderr is a pipe under pytest)."""
    import io

    from rich.console import Console

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80, color_system=None)
    monkeypatch.setattr(cli.progress, "_progress_console", lambda: console)
    return screen


def test_long_work_shows_progress_on_a_terminal(terminal, store, monkeypatch, feed_server, capsys):
    assert main(["--db", str(store), "stories", "rebuild"]) == 0
    assert main(["--db", str(store), "export", "-o", "all.jsonl"]) == 0
    assert main(["--db", "new.db", "ingest", str(SAMPLE_DIR / "archive.jsonl")]) == 0
    monkeypatch.setenv("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "true")
    monkeypatch.setenv("NEWSDESK_FEEDS", f"{feed_server}/meridian-wire.json")
    assert main(["--db", "new.db", "poll"]) == 0
    shown = terminal.getvalue()
    articles = count(store)
    assert "regrouping" in shown and f"{articles:,}/{articles:,} articles" in shown
    assert "exporting" in shown
    assert "ingesting" in shown and " entries" in shown
    assert "polling" in shown and "1/1 feeds" in shown
    out = capsys.readouterr()
    assert "\r" not in out.out + out.err  # nothing of it on stdout or the real stderr


def test_ctrl_c_while_the_command_loads_exits_quietly(monkeypatch, capsys):
    import sys
    import types
    from importlib.metadata import entry_points

    from bot import launch

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "newsdesk"]
    assert script.value == "bot.launch:main"  # the light entry point, not bot.cli

    class Loading(types.ModuleType):
        def __getattr__(self, name):
            raise KeyboardInterrupt  # as if Ctrl-C came while bot.cli was importing

    monkeypatch.setitem(sys.modules, "bot.cli", Loading("bot.cli"))
    assert launch.main() == 130
    assert capsys.readouterr().err == "interrupted\n"
