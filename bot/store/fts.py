"""The search AST (bot/search/query.py) compiled to an FTS5 MATCH expression.

Nothing the user typed reaches FTS5 as syntax: every word or phrase becomes
an FTS5 double-quoted string (internal quotes doubled), so ``title:x``,
``NEAR(a b)``, ``^x``, stray ``*``/parentheses or SQL fragments are just
text. Only the AST's structure (AND, OR, NOT, a trailing prefix ``*``)
becomes FTS5 operators.
"""

from __future__ import annotations

from ..models import Node, SearchWords, Term

__all__ = ["has_prefix", "to_fts"]


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
