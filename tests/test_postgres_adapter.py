"""The PostgreSQL adapter's pieces that need no server: placeholders and URLs."""

from __future__ import annotations

import pytest

from bot.database_url import is_postgres_url, redact, url_problem
from bot.store.postgres import translate


@pytest.mark.parametrize(
    ("sql", "params", "expected_sql", "expected_args"),
    [
        ("SELECT ? , ?", (1, 2), "SELECT $1 , $2", [1, 2]),
        (
            "UPDATE t SET df = ?2 WHERE term = ?1",
            ("a", 3),
            "UPDATE t SET df = $1 WHERE term = $2",
            [3, "a"],
        ),
        ("SELECT :lo, :hi, :lo", {"lo": 1, "hi": 2}, "SELECT $1, $2, $1", [1, 2]),
        # Not placeholders: a literal, a quoted name, comments, a cast.
        (
            "SELECT '?', 'it''s :x', \"a?\" -- ?\n, ? /* :y */",
            (5,),
            "SELECT '?', 'it''s :x', \"a?\" -- ?\n, $1 /* :y */",
            [5],
        ),
        (
            "SELECT CAST(? AS BIGINT[]), x::text",
            ([1],),
            "SELECT CAST($1 AS BIGINT[]), x::text",
            [[1]],
        ),
    ],
)
def test_placeholders_become_numbered_parameters(sql, params, expected_sql, expected_args):
    statement = translate(sql)
    assert statement.sql == expected_sql
    assert statement.arguments(params) == expected_args


def test_database_urls_are_told_apart_checked_and_shown_without_password():
    assert is_postgres_url("postgresql://h/db") and is_postgres_url("postgres://h/db")
    assert not is_postgres_url("data/newsdesk.db") and not is_postgres_url("postgresql.db")
    assert redact("postgresql://u:pw@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
    assert redact("data/x.db") == "data/x.db"
    assert "pw" not in redact("postgresql://u:pw@h:99999/db")  # a bad port: still hidden
    assert url_problem("postgresql://u:pw@h:5432/db") is None
    assert url_problem("postgresql:///db?host=/run/postgresql") is None  # a Unix socket
    assert "no database name" in (url_problem("postgresql://h:5432") or "")
    assert "not a valid URL" in (url_problem("postgresql://h:port/db") or "")


def test_every_schema_version_after_the_base_has_a_postgresql_twin():
    from bot.store import SCHEMA_VERSION, pg_migrations

    assert set(pg_migrations.MIGRATIONS) == set(
        range(pg_migrations.BASE_VERSION, SCHEMA_VERSION + 1)
    )
