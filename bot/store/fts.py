"""The search AST (bot/search/query.py) compiled to the full-text engine's syntax:
an FTS5 MATCH expression (SQLite), or ``to_tsquery`` input (PostgreSQL).

Nothing the user typed reaches either as syntax: every word or phrase becomes
a quoted string, so ``title:x``, ``NEAR(a b)``, ``^x``, ``!x``, ``a:*``,
``<->``, stray ``*``/parentheses or SQL fragments are just text. Only the
AST's structure (AND, OR, NOT, a trailing prefix ``*``) becomes operators.

FTS5: an FTS5 double-quoted string (internal quotes doubled).
PostgreSQL: a ``to_tsquery`` quoted operand, ``'...'``, its ASCII
punctuation made spaces as in the index (so no quote or backslash is left;
they would be escaped), which ``to_tsquery`` runs through the text search
configuration (a quoted text of several words becomes a phrase, ``<->``); a
prefix is the words joined by ``<->`` with ``:*`` on the last. The whole
expression is bound as one parameter, never spliced into SQL; words the
configuration reduces to nothing drop out of it (as stop words would).
"""

from __future__ import annotations

import re

from ..models import Node, SearchWords, Term

__all__ = ["has_prefix", "to_fts", "to_tsquery_text"]


def _fts_string(text: str) -> str:
    """``text`` as an FTS5 string literal: double-quoted, quotes doubled."""
    return '"' + text.replace('"', '""') + '"'


def _fts(node: Node) -> str:
    if isinstance(node, Term):
        return _fts_string(node.text) + (" *" if node.prefix else "")
    joiner = " OR " if node.op == "OR" else " AND "
    return "(" + joiner.join(_fts(child) for child in node.children) + ")"


def to_fts(query: SearchWords) -> str | None:
    """The FTS5 MATCH expression for ``query``'s words, or None when it has none."""
    if query.root is None:
        return None
    expr = _fts(query.root)
    for node in query.excluded:
        expr += f" NOT {_fts(node)}"
    return expr


# ASCII punctuation, which the indexed text has as spaces (the ``search``
# column of bot/store/pg_migrations.py, whose regexp this must match): words
# split where FTS5's unicode61 tokenizer splits them.
_PUNCTUATION = re.compile(r"[!-/:-@\[-`{-~]+")


def _lexeme(text: str) -> str | None:
    """``text`` as a ``to_tsquery`` quoted operand, its punctuation made spaces as
    in the index (quotes and backslashes would be escaped: none are left), or
    None when no word is left (``''`` is a syntax error for ``to_tsquery``)."""
    words = " ".join(_PUNCTUATION.sub(" ", text).split())
    if not words:
        return None
    return "'" + words.replace("\\", "\\\\").replace("'", "''") + "'"


def _tsquery(node: Node) -> str | None:
    """``node`` as ``to_tsquery`` input, or None when it has no words left."""
    if isinstance(node, Term):
        words = _PUNCTUATION.sub(" ", node.text).split()
        if not node.prefix or not words:
            return _lexeme(node.text)  # several words: to_tsquery makes a phrase
        parts = [_lexeme(word) for word in words]
        parts[-1] = f"{parts[-1]}:*"
        return "(" + " <-> ".join(p for p in parts if p) + ")"
    joiner = " | " if node.op == "OR" else " & "
    children = [text for text in map(_tsquery, node.children) if text is not None]
    return "(" + joiner.join(children) + ")" if children else None


def to_tsquery_text(query: SearchWords) -> tuple[str, str] | None:
    """The ``to_tsquery`` input for ``query``'s words and for its required part
    alone (``root``, without the exclusions), or None when it has no words.
    Both are ``""`` when the required words are only punctuation (nothing
    matches then); exclusions made only of punctuation exclude nothing."""
    if query.root is None:
        return None
    root = _tsquery(query.root)
    if root is None:
        return "", ""
    expr = root
    for node in query.excluded:
        excluded = _tsquery(node)
        if excluded is not None:
            expr += f" & !{excluded}"
    return expr, root


def has_prefix(query: SearchWords) -> bool:
    """Whether any term of ``query`` is a prefix (FTS5 expands it over the whole index)."""
    nodes: list[Node] = [n for n in (query.root, *query.excluded) if n is not None]
    while nodes:
        node = nodes.pop()
        if isinstance(node, Term):
            if node.prefix:
                return True
        else:
            nodes.extend(node.children)
    return False
