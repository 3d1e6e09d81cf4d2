"""Logging set-up: plain or JSON lines, with secrets redacted on the way out."""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from functools import cache
from typing import Any

# Discord bot tokens: three dot-separated base64url parts.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{23,28}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}")
# The credential ends at a quote or backslash too, so a redacted JSON line stays JSON.
_AUTH = re.compile(r"(Authorization['\"]?\s*[:=]\s*['\"]?Bot\s+)[^\s'\"\\]+", re.IGNORECASE)

_secrets: set[str] = set()


def register_secret(value: str | None) -> None:
    """Make ``value`` redacted from every log line from now on."""
    if value and len(value) >= 8:
        _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, "[redacted]")
    text = _TOKEN.sub("[redacted]", text)
    return _AUTH.sub(r"\1[redacted]", text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(item) for item in value]
    return value


@cache
def _json_formatter_class() -> type[logging.Formatter]:
    """The JSON formatter's class; python-json-logger is imported only for JSON logs."""
    import pythonjsonlogger.json

    class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
        """One JSON object a line: ``time``, ``level``, ``logger``, ``message``, then any
        ``extra=`` fields as their own keys (and ``exception`` with a traceback).

        Secrets are redacted in every string value before serialisation (so a secret holding
        characters JSON escapes is still caught) and in the finished line (for values that
        only become text when serialised)."""

        def __init__(self) -> None:
            super().__init__(
                ["levelname", "name", "message"],
                rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
                json_ensure_ascii=False,
            )

        def add_fields(
            self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
        ) -> None:
            log_data["time"] = datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            )
            super().add_fields(log_data, record, message_dict)

        def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
            return {key: _redact_value(value) for key, value in log_data.items()}

        def serialize_log_record(self, log_data: dict[str, Any]) -> str:
            return redact(super().serialize_log_record(log_data))

    return JsonFormatter


_live_console: Any = None


def set_live_console(console: Any) -> None:
    """While a live progress line is up on ``console`` (rich), log records print above it.

    ``None`` when it is gone. Records are printed unwrapped, so a URL or path
    in a log line is never broken.
    """
    global _live_console
    _live_console = console


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record, or above a live
    progress line (see :func:`set_live_console`) rather than over it."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def emit(self, record: logging.LogRecord) -> None:
        live = _live_console
        if live is None:
            super().emit(record)
            return
        try:
            from rich.text import Text

            live.print(Text(self.format(record)), soft_wrap=True, highlight=False)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


class _DropVoiceWarning(logging.Filter):
    """discord.py warns that voice libraries are missing; Newsdesk never uses voice."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "voice will NOT be supported" not in record.getMessage()


_VOICE_FILTER = _DropVoiceWarning()


def configure_logging(level: str = "INFO", fmt: str = "plain") -> None:
    handler = StderrHandler()
    if fmt == "json":
        handler.setFormatter(_json_formatter_class()())
    else:
        handler.setFormatter(
            RedactingFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # discord.py and aiohttp are chatty at INFO about things users need not see.
    logging.getLogger("discord.http").setLevel(max(logging.INFO, root.level))
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    client_log = logging.getLogger("discord.client")
    if _VOICE_FILTER not in client_log.filters:
        client_log.addFilter(_VOICE_FILTER)
