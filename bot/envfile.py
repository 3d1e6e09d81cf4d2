"""Reading a ``.env`` file: ``NAME=value`` lines, as python-dotenv reads them.

The same grammar as ``dotenv_values`` (which pydantic-settings used): blank
lines and ``#`` comments; an optional ``export``; ``'single'`` quotes
(``\\'`` and ``\\\\`` escapes), ``"double"`` quotes (C escapes) and bare
values (a `` #`` starts a comment); quoted values may span lines; a name
without ``=`` has no value (``None``); ``${NAME}`` and ``${NAME:-default}``
are replaced by an earlier line's value or the environment's. Loaded only
when a settings file exists: the command's start-up stays light.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

_NEWLINE = re.compile(r"(\r\n|\n|\r)")
_MULTILINE_WHITESPACE = re.compile(r"\s*", re.MULTILINE)
_WHITESPACE = re.compile(r"[^\S\r\n]*")
_EXPORT = re.compile(r"(?:export[^\S\r\n]+)?")
_SINGLE_QUOTED_KEY = re.compile(r"'([^']+)'")
_UNQUOTED_KEY = re.compile(r"([^=\#\s]+)")
_EQUAL_SIGN = re.compile(r"(=[^\S\r\n]*)")
_SINGLE_QUOTED_VALUE = re.compile(r"'((?:\\.|[^'\\])*)'", re.DOTALL)
_DOUBLE_QUOTED_VALUE = re.compile(r'"((?:\\.|[^"\\])*)"', re.DOTALL)
_UNQUOTED_VALUE = re.compile(r"([^\r\n]*)")
_COMMENT = re.compile(r"(?:[^\S\r\n]*#[^\r\n]*)?")
_END_OF_LINE = re.compile(r"[^\S\r\n]*(?:\r\n|\n|\r|$)")
_REST_OF_LINE = re.compile(r"[^\r\n]*(?:\r|\n|\r\n)?")
_DOUBLE_QUOTE_ESCAPES = re.compile(r"\\[\\'\"abfnrtv]")
_SINGLE_QUOTE_ESCAPES = re.compile(r"\\[\\']")
_INLINE_COMMENT = re.compile(r"\s+#.*")
_VARIABLE = re.compile(r"\$\{(?P<name>[^\}:]*)(?::-(?P<default>[^\}]*))?\}")


class _Unparsable(Exception):
    pass


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def more(self) -> bool:
        return self.pos < len(self.text)

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]

    def read(self, regex: re.Pattern[str]) -> tuple[str, ...]:
        match = regex.match(self.text, self.pos)
        if match is None:
            raise _Unparsable
        self.line += len(_NEWLINE.findall(self.text, self.pos, match.end()))
        self.pos = match.end()
        return match.groups()


def _unescape(regex: re.Pattern[str], text: str) -> str:
    return regex.sub(lambda m: codecs.decode(m.group(0), "unicode-escape"), text)


def _value(reader: _Reader) -> str:
    char = reader.peek()
    if char == "'":
        return _unescape(_SINGLE_QUOTE_ESCAPES, reader.read(_SINGLE_QUOTED_VALUE)[0])
    if char == '"':
        return _unescape(_DOUBLE_QUOTE_ESCAPES, reader.read(_DOUBLE_QUOTED_VALUE)[0])
    if char in ("", "\n", "\r"):
        return ""
    return _INLINE_COMMENT.sub("", reader.read(_UNQUOTED_VALUE)[0]).rstrip()


def _bindings(text: str, where: str | None) -> Iterator[tuple[str, str | None]]:
    reader = _Reader(text.removeprefix("\ufeff"))
    while reader.more():
        line = reader.line  # where the statement starts, blank lines before it included
        try:
            reader.read(_MULTILINE_WHITESPACE)
            if not reader.more():
                return
            reader.read(_EXPORT)
            if reader.peek() == "#":
                key = None
            elif reader.peek() == "'":
                key = reader.read(_SINGLE_QUOTED_KEY)[0]
            else:
                key = reader.read(_UNQUOTED_KEY)[0]
            reader.read(_WHITESPACE)
            value: str | None = None
            if reader.peek() == "=":
                (equal_sign,) = reader.read(_EQUAL_SIGN)
                # `KEY= # comment` is empty; `KEY=#text` is the value "#text".
                value = "" if len(equal_sign) > 1 and reader.peek() == "#" else _value(reader)
            reader.read(_COMMENT)
            reader.read(_END_OF_LINE)
        except _Unparsable:  # skip to the end of the line, as python-dotenv does
            reader.read(_REST_OF_LINE)
            if where is not None:
                log.warning(
                    "%s: cannot read the statement starting at line %d; ignored", where, line
                )
            continue
        if key is not None:
            yield key, value


def parse_env(text: str, where: str | None = ".env") -> dict[str, str | None]:
    """The ``NAME: value`` pairs of a settings file's text, later lines winning.

    A statement it cannot read is skipped with a warning naming ``where``
    (none when ``where`` is None)."""
    values: dict[str, str | None] = {}
    for name, raw in _bindings(text, where):
        if raw is None:
            values[name] = None
            continue
        values[name] = _VARIABLE.sub(_Resolver({**os.environ, **values}), raw)
    return values


class _Resolver:
    """``${NAME}`` or ``${NAME:-default}`` -> the value of NAME (earlier lines, then the environment)."""

    def __init__(self, known: dict[str, str | None]) -> None:
        self.known = known

    def __call__(self, match: re.Match[str]) -> str:
        default = match["default"] if match["default"] is not None else ""
        found = self.known.get(match["name"], default)
        return found if found is not None else ""


def read_env_file(path: str | os.PathLike[str], *, warn: bool = True) -> dict[str, str | None]:
    """The pairs of the settings file at ``path``; ``{}`` when there is none.

    Raises :class:`UnicodeDecodeError` for a file that is not UTF-8."""
    file = Path(path).expanduser()
    if not (file.is_file() or file.is_fifo()):
        return {}
    with open(file, encoding="utf-8") as stream:
        text = stream.read()
    return parse_env(text, str(path) if warn else None)
