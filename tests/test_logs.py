"""Log lines: JSON objects (python-json-logger) with ``extra=`` fields, secrets redacted."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot import logs

TOKEN = "MTA4NzY1NDMyMTA5ODc2NTQzMg.GaBcDe.abcdefghijklmnopqrstuvwxyz0123456789AB"  # Discord-shaped
ODD = 'odd "secret" \\ ' + "k3y" * 8  # not Discord-shaped, with characters JSON escapes


@pytest.fixture(autouse=True)
def restore_logging(monkeypatch) -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    monkeypatch.setattr(logs, "_secrets", set())
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines()]


def test_json_line_has_the_usual_fields_and_extra_fields(capsys):
    logs.configure_logging("INFO", "json")
    logging.getLogger("newsdesk.poll").info(
        "polled %d feeds", 2, extra={"feed_id": 3, "counts": {"new": 5}}
    )
    [line] = _lines(capsys.readouterr().err)
    assert line["level"] == "INFO"
    assert line["logger"] == "newsdesk.poll"
    assert line["message"] == "polled 2 feeds"
    assert line["time"].endswith("+00:00")
    assert line["feed_id"] == 3
    assert line["counts"] == {"new": 5}
    assert list(line)[:4] == ["time", "level", "logger", "message"]


def test_json_line_carries_the_traceback(capsys):
    logs.configure_logging("INFO", "json")
    try:
        raise ValueError("bad value")
    except ValueError:
        logging.getLogger("t").exception("failed")
    [line] = _lines(capsys.readouterr().err)
    assert line["message"] == "failed"
    assert "ValueError: bad value" in line["exception"]


@pytest.mark.parametrize("fmt", ["plain", "json"])
def test_tokens_are_redacted_in_messages_extras_and_tracebacks(capsys, fmt):
    logs.configure_logging("DEBUG", fmt)
    logs.register_secret(ODD)
    log = logging.getLogger("t")
    log.info("login with %s", TOKEN, extra={"token": TOKEN, "headers": {"x": [ODD]}})
    log.debug("headers: {'Authorization': 'Bot %s'}", "anything-at-all")
    log.info("odd secret %s here", ODD, extra={"secret": ODD})
    try:
        raise RuntimeError(f"login failed for {TOKEN} and {ODD}")
    except RuntimeError:
        log.exception("run failed")
    out = capsys.readouterr().err
    assert TOKEN not in out
    assert ODD not in out and json.dumps(ODD)[1:-1] not in out
    assert "anything-at-all" not in out
    assert "[redacted]" in out and "run failed" in out
    if fmt == "json":
        first, second, third, fourth = _lines(out)
        assert first["message"] == "login with [redacted]"
        assert first["token"] == "[redacted]"
        assert first["headers"] == {"x": ["[redacted]"]}
        assert second["message"] == "headers: {'Authorization': 'Bot [redacted]'}"
        assert second["message"] == "headers: {'Authorization': 'Bot [redacted]'}"
        assert third["message"] == "odd secret [redacted] here"
        assert "[redacted]" in fourth["exception"]
