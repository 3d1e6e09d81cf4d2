"""Issue 15, moving over: ``newsdesk db copy`` between an SQLite file and PostgreSQL,
and a PostgreSQL URL as ``NEWSDESK_DATABASE`` (its password never shown)."""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings
from bot.database_url import redact

pytestmark = pytest.mark.usefixtures("cli_isolated")


def _with_password(url: str, password: str) -> str:
    """``url`` with a password added (trust authentication ignores it)."""
    parts = urlsplit(url)
    user = parts.username or "postgres"
    host = parts.hostname or "127.0.0.1"
    port = f":{parts.port}" if parts.port else ""
    return urlunsplit(parts._replace(netloc=f"{user}:{password}@{host}{port}"))


def _export(location: str, out, capsys) -> list[dict]:
    assert main(["--db", location, "export", "-o", str(out)]) == 0
    capsys.readouterr()
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_copy_sqlite_to_postgresql_and_back_keeps_every_article(
    tmp_path, postgres_url, capsys
) -> None:
    source = tmp_path / "demo.db"
    assert main(["--db", str(source), "demo"]) == 0
    capsys.readouterr()
    secret_url = _with_password(postgres_url, "s3cret-pw")

    assert main(["db", "copy", str(source), secret_url]) == 0
    out = capsys.readouterr()
    assert "s3cret-pw" not in out.out + out.err
    assert "every table's count verified" in out.out
    assert "articles" in out.out and "stories" in out.out

    back = tmp_path / "back.db"
    assert main(["db", "copy", postgres_url, str(back)]) == 0
    capsys.readouterr()

    original = _export(str(source), tmp_path / "a.jsonl", capsys)
    on_postgres = _export(postgres_url, tmp_path / "b.jsonl", capsys)
    round_trip = _export(str(back), tmp_path / "c.jsonl", capsys)
    assert original and original == on_postgres == round_trip

    # The stories came along: the demo digest is the same on every copy.
    digests = []
    for location in (str(source), postgres_url, str(back)):
        assert main(["--db", location, "digest", "--date", "2026-11-23", "--json"]) == 0
        digests.append(json.loads(capsys.readouterr().out))
    assert digests[0] == digests[1] == digests[2]


def test_copy_refuses_a_target_that_holds_a_store_and_changes_nothing(
    tmp_path, postgres_url, capsys
) -> None:
    source = tmp_path / "demo.db"
    assert main(["--db", str(source), "demo"]) == 0
    assert main(["db", "copy", str(source), postgres_url]) == 0
    capsys.readouterr()
    before = _export(postgres_url, tmp_path / "before.jsonl", capsys)

    assert main(["db", "copy", str(source), postgres_url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not empty" in err and "Traceback" not in err
    assert _export(postgres_url, tmp_path / "after.jsonl", capsys) == before


def test_a_failed_copy_leaves_no_target_file(tmp_path, capsys) -> None:
    target = tmp_path / "new.db"
    assert main(["db", "copy", str(tmp_path / "missing.db"), str(target)]) == 2
    assert "no database at" in capsys.readouterr().err
    assert not target.exists()

    # A server that does not answer: one line, the password masked, no file left.
    source = tmp_path / "demo.db"
    assert main(["--db", str(source), "demo"]) == 0
    capsys.readouterr()
    dead = "postgresql://newsdesk:hunter2@127.0.0.1:1/newsdesk"
    assert main(["db", "copy", str(source), dead]) == 1
    err = capsys.readouterr().err
    assert "hunter2" not in err and "postgresql://newsdesk:***@127.0.0.1:1/newsdesk" in err
    assert err.count("\n") == 1


def test_a_postgresql_url_setting_is_checked_and_never_shown_with_its_password(
    tmp_path, capsys
) -> None:
    url = "postgresql://bot:p4ss@db.example:5432/news"
    settings = load_settings(env_file=None, database=url)
    assert settings.database == url
    assert settings.masked()["database"] == "postgresql://bot:***@db.example:5432/news"
    assert redact("postgresql://db.example/news") == "postgresql://db.example/news"

    with pytest.raises(ConfigError) as caught:
        load_settings(env_file=None, database="postgresql://bot:p4ss@db.example:5432")
    assert "no database name" in str(caught.value) and "p4ss" not in str(caught.value)

    assert main(["--db", "postgresql://bot:p4ss@127.0.0.1:1/news", "search", "x"]) == 1
    err = capsys.readouterr().err
    assert "p4ss" not in err and "cannot connect" in err and err.count("\n") == 1


def test_a_postgresql_database_without_a_store_is_not_read_as_empty(postgres_url, capsys) -> None:
    """A reading command on a server database that has no store yet says so."""
    import asyncio

    import asyncpg

    async def empty_database() -> str:
        # a database beside the fresh store, with no schema at all
        conn = await asyncpg.connect(postgres_url)
        try:
            await conn.execute("DROP TABLE schema_migrations")
        finally:
            await conn.close()
        return postgres_url

    url = asyncio.run(empty_database())
    assert main(["--db", url, "search", "anything"]) == 2
    err = capsys.readouterr().err
    assert "no Newsdesk store" in err
