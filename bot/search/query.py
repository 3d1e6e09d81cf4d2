"""The user-facing search language, parsed into a small AST (Term, Group).

Syntax (what people already type into search boxes)::

    climate summit          both words (any order, title or body)
    "sea level"             the exact phrase
    wind OR solar           either; OR (uppercase) binds tighter than the
                            implicit AND: ``a b OR c d`` = a AND (b OR c) AND d
    (wind OR solar) power   parentheses group
    -oil  -"oil price"      exclude a word / phrase / group; ``NOT oil`` too
    econom*                 prefix (at least 3 letters; matched against the
                            stemmed index, so ``econom*`` finds economy/economics)
    source:reuters          source filter, also ``source:"Le Monde"``; several
                            are OR-ed, ``-source:x`` excludes (``site:`` = ``source:``)
    date:2023-09-17  on:yesterday  before:2023-09-17  after:2023-09-10
    date:2023-09-10..2023-09-17  date:today  date:"last week"

Lowercase ``or``/``and``/``not`` are ordinary words; uppercase ``AND`` is
accepted and ignored (AND is the default). ``before:D`` means published before
day D starts, ``after:D`` means after day D ends (both exclude D itself).
Filters apply to the whole query, wherever they are written.

The AST is what the store compiles into its own query syntax (FTS5 MATCH or
PostgreSQL's to_tsquery: bot/store/fts.py), where every word or phrase stays a
quoted string: nothing the user types becomes syntax there. Words that the
index tokenizer reduces to nothing (pure punctuation or emoji) are dropped, as
the store's tokenizer says (bot/store/tokenizer.py), so the parser and the
index agree.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Literal

from ..models import Group, Node, SearchWords, Term
from ..store.tokenizer import has_tokens
from .dates import DateParseError, parse_date_range

__all__ = [
    "DateFilter",
    "Group",
    "Node",
    "Query",
    "QueryError",
    "Term",
    "parse_query",
]

MAX_INPUT_CHARS = 4000
MAX_TERMS = 32
MAX_TERM_CHARS = 64
MAX_FILTERS = 8
MAX_DEPTH = 8
MIN_PREFIX_CHARS = 3

_FIELDS = {"source": "source", "site": "source", "date": "date", "on": "date"}
_FIELDS |= {"before": "before", "after": "after"}
_FIELD_RE = re.compile(r"(?P<name>[A-Za-z]+):(?P<value>.*)", re.DOTALL)
_QUOTES = str.maketrans({q: '"' for q in "\u201c\u201d\u201e\u201f\u2033\uff02"})
_RELATIVE_WORDS = {"last", "past", "this"}
_STOP_CHARS = frozenset('()"')


class QueryError(ValueError):
    """A search the user must rephrase; the message is meant for the user."""


@dataclass(frozen=True, slots=True)
class DateFilter:
    """An unresolved date filter: ``kind`` is date (also on:), before or after."""

    kind: Literal["date", "before", "after"]
    spec: str


@dataclass(slots=True)
class Query:
    """A parsed search: full-text part, filters and notes for the user."""

    text: str
    root: Node | None = None
    excluded: list[Node] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    excluded_sources: list[str] = field(default_factory=list)
    dates: list[DateFilter] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def words(self) -> SearchWords:
        """What the full-text index must match (the store compiles it)."""
        return SearchWords(self.root, tuple(self.excluded))

    @property
    def has_words(self) -> bool:
        """True when there is something for the full-text index to match."""
        return self.root is not None

    @property
    def has_filters(self) -> bool:
        """True when a source or date filter was written in the query."""
        return bool(self.sources or self.excluded_sources or self.dates)

    def date_range(self, *, tz: tzinfo, now: datetime) -> tuple[datetime | None, datetime | None]:
        """Intersect the date filters into ``[start, end)`` (UTC; None = open)."""
        start: datetime | None = None
        end: datetime | None = None
        for flt in self.dates:
            try:
                first, after_last = parse_date_range(flt.spec, tz=tz, now=now)
            except DateParseError as exc:
                raise QueryError(str(exc)) from None
            low, high = {
                "date": (first, after_last),
                "before": (None, first),
                "after": (after_last, None),
            }[flt.kind]
            if low is not None and (start is None or low > start):
                start = low
            if high is not None and (end is None or high < end):
                end = high
        return start, end

    def describe(self) -> str:
        """A normalised rendering of what is searched (for "results for ...")."""
        parts = [_describe(self.root, top=True)] if self.root is not None else []
        parts += [f"-{_describe(node)}" for node in self.excluded]
        parts += [f"source:{_quote_if_needed(s)}" for s in self.sources]
        parts += [f"-source:{_quote_if_needed(s)}" for s in self.excluded_sources]
        parts += [f"{d.kind}:{_quote_if_needed(d.spec)}" for d in self.dates]
        return " ".join(parts)


# ---------------------------------------------------------------- rendering


def _quote_if_needed(text: str) -> str:
    return f'"{text}"' if any(ch.isspace() for ch in text) else text


def _describe(node: Node | None, *, top: bool = False) -> str:
    if node is None:
        return ""
    if isinstance(node, Term):
        shown = f'"{node.text}"' if node.phrase else node.text
        return shown + ("*" if node.prefix else "")
    inner = (" OR " if node.op == "OR" else " ").join(_describe(c) for c in node.children)
    return inner if top and node.op == "AND" else f"({inner})"


# ---------------------------------------------------------------- tokenizer


@dataclass(slots=True)
class _Tok:
    kind: Literal["term", "or", "lp", "rp", "field"]
    neg: bool = False
    term: Term | None = None
    name: str = ""
    value: str = ""


def _clean(text: str, notes: list[str]) -> str:
    if len(text) > MAX_INPUT_CHARS:
        text = text[:MAX_INPUT_CHARS]
        notes.append(f"Only the first {MAX_INPUT_CHARS} characters were read.")
    text = text.translate(_QUOTES)
    return "".join(" " if unicodedata.category(ch) in ("Cc", "Cs") else ch for ch in text)


def _read_quoted(s: str, i: int) -> tuple[str, int]:
    """Read ``"..."`` starting at ``s[i] == '"'``; an unclosed quote runs to the end."""
    end = s.find('"', i + 1)
    if end < 0:
        return s[i + 1 :], len(s)
    return s[i + 1 : end], end + 1


def _read_word(s: str, i: int) -> tuple[str, int]:
    start = i
    while i < len(s) and not s[i].isspace() and s[i] not in _STOP_CHARS:
        i += 1
    return s[start:i], i


def _skip_space(s: str, i: int) -> int:
    while i < len(s) and s[i].isspace():
        i += 1
    return i


def _read_field_value(s: str, i: int, name: str, value: str) -> tuple[str, int]:
    """The value of ``name:``; quoted, or a bare word ("date:last week" reads on)."""
    if not value and i < len(s) and s[i] == '"':
        value, i = _read_quoted(s, i)
    elif name in ("date", "before", "after") and value.lower() in _RELATIVE_WORDS:
        j = _skip_space(s, i)
        word, j = _read_word(s, j)
        if word:
            value, i = f"{value} {word}", j
            if word.isdigit():  # "last 3 days"
                j = _skip_space(s, i)
                unit, j = _read_word(s, j)
                if unit:
                    value, i = f"{value} {unit}", j
    return " ".join(value.split()), i


def _term_token(text: str, neg: bool, *, phrase: bool, prefix: bool) -> _Tok:
    return _Tok("term", neg=neg, term=Term(text, phrase=phrase, prefix=prefix))


def _word_token(word: str, neg: bool, s: str, i: int) -> tuple[_Tok, int]:
    """Classify a bare word: a field filter, an operator or a term."""
    match = _FIELD_RE.fullmatch(word)
    if match and match["name"].lower() in _FIELDS:
        name = _FIELDS[match["name"].lower()]
        value, i = _read_field_value(s, i, name, match["value"])
        if value:
            return _Tok("field", neg=neg, name=name, value=value), i
    if not neg and word == "OR":
        return _Tok("or"), i
    stripped = word.rstrip("*")
    return _term_token(stripped, neg, phrase=False, prefix=stripped != word), i


def _tokenize(s: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    pending_not = False
    i = 0
    while i < len(s):
        ch = s[i]
        if ch.isspace():
            i += 1
            continue
        neg = pending_not
        pending_not = False
        if ch == "-" and i + 1 < len(s) and not s[i + 1].isspace():
            neg, i = True, i + 1
            ch = s[i]
        if ch in "()":
            tokens.append(_Tok("lp" if ch == "(" else "rp", neg=neg))
            i += 1
        elif ch == '"':
            text, i = _read_quoted(s, i)
            prefix = s.startswith("*", i)
            while s.startswith("*", i):
                i += 1
            tokens.append(_term_token(text, neg, phrase=True, prefix=prefix))
        else:
            word, i = _read_word(s, i)
            if word == "AND" and not neg:
                continue
            if word == "NOT" and not neg:
                pending_not = True
                continue
            tok, i = _word_token(word, neg, s, i)
            tokens.append(tok)
    return tokens


def _last_word_length(text: str) -> int:
    words = re.findall(r"\w+", text)
    return len(words[-1]) if words else 0


def _fix_terms(tokens: list[_Tok], notes: list[str]) -> list[_Tok]:
    """Truncate, validate and cap term tokens; drop the ones with no words."""
    candidates: list[_Tok] = []
    for tok in tokens:
        if tok.kind != "term" or tok.term is None:
            continue
        term = tok.term
        text = " ".join(term.text.split())
        if len(text) > MAX_TERM_CHARS:
            text = text[:MAX_TERM_CHARS].rstrip()
            notes.append(f"Long words and phrases are cut to {MAX_TERM_CHARS} characters.")
        prefix = term.prefix
        if prefix and _last_word_length(text) < MIN_PREFIX_CHARS:
            prefix = False
            notes.append(f"A prefix search needs at least {MIN_PREFIX_CHARS} letters before *.")
        tok.term = Term(text, phrase=term.phrase and " " in text, prefix=prefix)
        candidates.append(tok)
    texts = [tok.term.text for tok in candidates if tok.term is not None]
    keep = {id(tok) for tok, ok in zip(candidates, has_tokens(texts), strict=True) if ok}
    if len(keep) < len(candidates):
        notes.append("Punctuation and emoji on their own are ignored.")
    out: list[_Tok] = []
    count = 0
    for tok in tokens:
        if tok.kind == "term":
            if id(tok) not in keep:
                continue
            count += 1
            if count > MAX_TERMS:
                continue
        out.append(tok)
    if count > MAX_TERMS:
        notes.append(f"Only the first {MAX_TERMS} words were used.")
    return out


def _balance(tokens: list[_Tok]) -> list[_Tok]:
    """Drop unmatched ``)`` and parentheses nested deeper than MAX_DEPTH."""
    out: list[_Tok] = []
    stack: list[bool] = []  # for each open "(": was it kept?
    for tok in tokens:
        if tok.kind == "lp":
            keep = sum(stack) < MAX_DEPTH
            stack.append(keep)
            if keep:
                out.append(tok)
        elif tok.kind == "rp":
            if stack and stack.pop():
                out.append(tok)
        else:
            out.append(tok)
    return out


# ------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent over balanced tokens; negated units become exclusions."""

    def __init__(self, tokens: list[_Tok]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.excluded: list[Node] = []

    def parse(self) -> Node | None:
        node = self._sequence()
        while self.pos < len(self.tokens):  # stray ")" cannot happen once balanced
            self.pos += 1
            extra = self._sequence()
            node = _and([n for n in (node, extra) if n is not None])
        return node

    def _sequence(self) -> Node | None:
        chains: list[list[Node]] = []
        want_alternative = False
        while self.pos < len(self.tokens) and self.tokens[self.pos].kind != "rp":
            tok = self.tokens[self.pos]
            self.pos += 1
            if tok.kind == "or":
                want_alternative = bool(chains)
                continue
            node = self._unit(tok)
            if node is None:
                continue
            if tok.neg:
                self.excluded.append(node)
            elif want_alternative:
                chains[-1].append(node)
            else:
                chains.append([node])
            want_alternative = False
        return _and([_or(chain) for chain in chains])

    def _unit(self, tok: _Tok) -> Node | None:
        if tok.kind == "term":
            return tok.term
        if tok.kind == "lp":
            inner = self._sequence()
            if self.pos < len(self.tokens):  # the matching ")"
                self.pos += 1
            return inner
        return None


def _or(nodes: list[Node]) -> Node:
    flat: list[Node] = []
    for node in nodes:
        flat.extend(node.children if isinstance(node, Group) and node.op == "OR" else [node])
    unique = list(dict.fromkeys(flat))
    return unique[0] if len(unique) == 1 else Group("OR", tuple(unique))


def _and(nodes: list[Node]) -> Node | None:
    flat: list[Node] = []
    for node in nodes:
        flat.extend(node.children if isinstance(node, Group) and node.op == "AND" else [node])
    unique = list(dict.fromkeys(flat))
    if not unique:
        return None
    return unique[0] if len(unique) == 1 else Group("AND", tuple(unique))


def _apply_fields(query: Query, tokens: list[_Tok]) -> None:
    for tok in tokens:
        if tok.kind != "field":
            continue
        if tok.name == "source":
            target = query.excluded_sources if tok.neg else query.sources
            if len(target) >= MAX_FILTERS:
                query.notes.append(f"Only the first {MAX_FILTERS} source filters were used.")
            elif tok.value not in target:
                target.append(tok.value[:100])
        elif tok.neg:
            raise QueryError(
                f"A date filter cannot be excluded: use before: or after: instead of -{tok.name}:."
            )
        elif len(query.dates) >= MAX_FILTERS:
            query.notes.append(f"Only the first {MAX_FILTERS} date filters were used.")
        else:
            query.dates.append(DateFilter(tok.name, tok.value[:100]))  # type: ignore[arg-type]


def parse_query(text: str, *, allow_empty: bool = False) -> Query:
    """Parse the user's search text; raises :class:`QueryError` when unusable.

    A query made only of filters (``source:reuters date:today``) is valid.
    ``allow_empty`` accepts a blank query too (the caller has its own filters).
    Date filters are kept unresolved: see :meth:`Query.date_range`.
    """
    query = Query(text=text)
    cleaned = _clean(text, query.notes)
    tokens = _tokenize(cleaned)
    _apply_fields(query, tokens)
    tokens = _balance(_fix_terms([t for t in tokens if t.kind != "field"], query.notes))
    parser = _Parser(tokens)
    query.root = parser.parse()
    query.excluded = list(dict.fromkeys(parser.excluded))
    query.notes = list(dict.fromkeys(query.notes))
    _check_usable(query, text, allow_empty)
    return query


def _check_usable(query: Query, text: str, allow_empty: bool) -> None:
    if query.root is not None:
        return
    if query.excluded:
        raise QueryError(
            "Nothing to search for: add at least one word to go with the excluded ones "
            "(for example: climate -oil)."
        )
    if query.has_filters or allow_empty:
        return
    if text.strip():
        raise QueryError(
            "Nothing to search for: add at least one word (punctuation and emoji are ignored)."
        )
    raise QueryError("Nothing to search for: add at least one word.")
