"""Which words the full-text index keeps, asked of SQLite's own FTS5 tokenizer.

The search parser drops words the index tokenizer reduces to nothing (pure
punctuation, emoji): such a word can never match, and an FTS5 query made
only of them is an error. Asking the tokenizer itself, on a small in-memory
table, keeps the parser and the index in agreement. The parser asks it
whichever backend the store is: on PostgreSQL, a word that the ``newsdesk``
text search configuration reduces to nothing drops out of the tsquery
instead (bot/store/fts.py).
"""

from __future__ import annotations

import sqlite3
import threading

__all__ = ["FTS_TOKENIZER", "has_tokens"]

# Must match the articles_fts tokenizer in bot/store/migrations.py.
FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"

_local = threading.local()  # one in-memory database per thread (sqlite3 objects are not shared)


def _tokenizer_db() -> sqlite3.Connection:
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.execute(f"CREATE VIRTUAL TABLE t USING fts5(x, tokenize = '{FTS_TOKENIZER}')")
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
        _local.conn = conn
    return conn


def has_tokens(texts: list[str]) -> list[bool]:
    """Whether the index tokenizer finds at least one token in each text."""
    if not texts:
        return []
    conn = _tokenizer_db()
    with conn:
        conn.execute("DELETE FROM t")
        conn.executemany("INSERT INTO t (rowid, x) VALUES (?, ?)", enumerate(texts))
        found = {int(row[0]) for row in conn.execute("SELECT DISTINCT doc FROM v")}
        conn.execute("DELETE FROM t")
    return [i in found for i in range(len(texts))]
