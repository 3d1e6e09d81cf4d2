"""Settings from the environment: defaults, channel syntax, clear errors (exit 2)."""

from __future__ import annotations

from datetime import time

import pytest

from bot.cli import main
from bot.config import ConfigError, load_settings

CH1 = "123456789012345678"
CH2 = "234567890123456789"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.startswith("NEWSDESK_") or key == "DISCORD_TOKEN":
            monkeypatch.delenv(key)


def test_defaults():
    s = load_settings(None)
    assert s.poll_interval_minutes == 15
    assert s.timezone == "UTC"
    assert s.channels == ()
    assert s.discord_token is None
    assert str(s.database).startswith("data")


def test_channels_with_own_and_default_values(monkeypatch):
    monkeypatch.setenv("NEWSDESK_TIMEZONE", "Europe/Berlin")
    monkeypatch.setenv("NEWSDESK_DIGEST_TIME", "06:15")
    monkeypatch.setenv(
        "NEWSDESK_DIGEST_CHANNELS",
        f"{CH1} 07:30 America/New_York max=5 include=Climate,energy exclude=sport; {CH2}",
    )
    a, b = load_settings(None).channels
    assert (a.channel_id, a.time, a.timezone, a.max_stories) == (
        int(CH1),
        time(7, 30),
        "America/New_York",
        5,
    )
    assert a.include == ("climate", "energy") and a.exclude == ("sport",)
    assert (b.time, b.timezone, b.max_stories) == (time(6, 15), "Europe/Berlin", 10)


def test_env_file_is_read(tmp_path):
    env = tmp_path / ".env"
    env.write_text(
        f"DISCORD_TOKEN=abc.def.ghi\nNEWSDESK_DIGEST_CHANNELS={CH1} 09:00\nNEWSDESK_FEEDS_FILE=\n"
    )
    s = load_settings(env)
    assert s.discord_token.get_secret_value() == "abc.def.ghi"
    assert s.channels[0].time == time(9, 0)
    assert s.feeds_file is None


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("NEWSDESK_DIGEST_TIME", "25:00", "HH:MM"),
        ("NEWSDESK_TIMEZONE", "Mars/Olympus", "IANA timezone"),
        ("NEWSDESK_POLL_INTERVAL_MINUTES", "1", "from 5 to 1440"),
        ("NEWSDESK_DIGEST_CHANNELS", "12345", "not a Discord channel id"),
        ("NEWSDESK_DIGEST_CHANNELS", f"{CH1} 07:30 max=500", "1 to 50"),
        ("NEWSDESK_DIGEST_CHANNELS", f"{CH1} 24:10", "HH:MM"),
        ("NEWSDESK_DIGEST_CHANNELS", f"{CH1} tomorrow", "neither a time"),
        ("NEWSDESK_DIGEST_CHANNELS", f"{CH1} Nowhere/City", "IANA timezone"),
        ("NEWSDESK_GUILD_IDS", "abc", "not a Discord server"),
        ("NEWSDESK_FEEDS", "ftp://example.com/feed", "http(s)"),
        ("NEWSDESK_LOG_FORMAT", "xml", "plain or json"),
        ("NEWSDESK_FULLTEXT", "sometimes", "use auto, always or never"),
        ("NEWSDESK_FEEDS", "https://a.example/rss fulltext=maybe", "not a full-text mode"),
        ("NEWSDESK_FEEDS", "https://a.example/rss depth=2", "unknown option depth="),
        ("NEWSDESK_FEEDS", "fulltext=never https://a.example/rss", "before any feed URL"),
    ],
)
def test_wrong_values_name_variable_value_and_fix(monkeypatch, var, value, expected):
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigError) as info:
        load_settings(None)
    message = str(info.value)
    assert message.startswith(f"{var}=")
    assert repr(value) in message
    assert expected in message
    assert "Fix:" in message


def test_cli_exits_2_on_bad_config_before_doing_anything(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("NEWSDESK_TIMEZONE", "Not/AZone")
    db = tmp_path / "never.db"
    assert main(["--db", str(db), "config", "check"]) == 2
    assert "NEWSDESK_TIMEZONE" in capsys.readouterr().err
    assert not db.exists()


def test_run_without_token_exits_2(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)  # no .env here
    db = tmp_path / "never.db"
    assert main(["--db", str(db), "run"]) == 2
    assert "DISCORD_TOKEN" in capsys.readouterr().err
    assert not db.exists()


def test_config_check_masks_the_token(monkeypatch, capsys, tmp_path):
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789"
    monkeypatch.setenv("DISCORD_TOKEN", token)
    monkeypatch.setenv("NEWSDESK_DIGEST_CHANNELS", CH1)
    monkeypatch.chdir(tmp_path)  # no .env here
    assert main(["config", "check"]) == 0
    out = capsys.readouterr().out
    assert token not in out and "********" in out
    assert CH1 in out
