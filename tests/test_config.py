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


# -- The loader itself (plain Python since the pydantic one was dropped): each
# -- case through what users run, `newsdesk config check`, with a .env file
# -- and/or the environment.


def _check(monkeypatch, tmp_path, capsys, env_text=None, **env):
    """``newsdesk config check`` in ``tmp_path`` (its .env holds ``env_text``):
    (exit code, the printed settings or None, stderr)."""
    import json

    monkeypatch.chdir(tmp_path)
    if env_text is not None:
        (tmp_path / ".env").write_text(env_text, encoding="utf-8")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = main(["config", "check"])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


@pytest.mark.parametrize(
    ("var", "value", "key", "expected"),
    [
        ("NEWSDESK_POLL_INTERVAL_MINUTES", " 20 ", "poll_interval_minutes", 20),
        ("NEWSDESK_POLL_INTERVAL_MINUTES", "20.0", "poll_interval_minutes", 20),
        ("NEWSDESK_FETCH_MAX_BYTES", "+20000", "fetch_max_bytes", 20000),
        ("NEWSDESK_DIGEST_GRACE_HOURS", "1.5", "digest_grace_hours", 1.5),
        ("NEWSDESK_DIGEST_GRACE_HOURS", "0", "digest_grace_hours", 0.0),
        ("NEWSDESK_CLUSTER_WINDOW_HOURS", "720", "cluster_window_hours", 720.0),
        ("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "yes", "allow_private_addresses", True),
        ("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "ON", "allow_private_addresses", True),
        ("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "0", "allow_private_addresses", False),
        ("NEWSDESK_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("NEWSDESK_FULLTEXT", " NEVER ", "fulltext", "never"),
        ("NEWSDESK_TIMEZONE", "europe/paris", "timezone", "Europe/Paris"),
        ("NEWSDESK_DIGEST_TIME", " 7:05 ", "digest_time", "7:05"),
        ("NEWSDESK_SHARD_COUNT", "4", "shard_count", 4),
        ("NEWSDESK_GUILD_IDS", f"{CH1}, {CH2}", "guild_ids", [int(CH1), int(CH2)]),
        ("NEWSDESK_GUILD_IDS", f"{CH1} {CH2}\n", "guild_ids", [int(CH1), int(CH2)]),
        (
            "NEWSDESK_FEEDS",
            "https://a.example/rss, https://b.example/feed fulltext=NEVER",
            "feeds",
            ["https://a.example/rss", "https://b.example/feed fulltext=never"],
        ),
        ("NEWSDESK_FEEDS_FILE", "feeds.txt", "feeds_file", "feeds.txt"),
    ],
)
def test_values_are_read_as_their_type(monkeypatch, tmp_path, capsys, var, value, key, expected):
    if key == "feeds_file":
        (tmp_path / "feeds.txt").write_text("https://a.example/rss\n")
    code, shown, err = _check(monkeypatch, tmp_path, capsys, **{var: value})
    assert code == 0, err
    assert shown[key] == expected


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("NEWSDESK_POLL_INTERVAL_MINUTES", "abc", "Input should be a valid integer"),
        ("NEWSDESK_POLL_INTERVAL_MINUTES", "15.5", "Input should be a valid integer"),
        ("NEWSDESK_POLL_INTERVAL_MINUTES", "0x10", "Input should be a valid integer"),
        ("NEWSDESK_POLL_INTERVAL_MINUTES", "1441", "less than or equal to 1440"),
        ("NEWSDESK_DIGEST_MAX_STORIES", "0", "greater than or equal to 1"),
        ("NEWSDESK_FETCH_MAX_BYTES", "9999", "greater than or equal to 10000"),
        ("NEWSDESK_SHARD_COUNT", "0", "greater than or equal to 1"),
        ("NEWSDESK_DIGEST_GRACE_HOURS", "25", "less than or equal to 24"),
        ("NEWSDESK_DIGEST_GRACE_HOURS", "-1", "greater than or equal to 0"),
        ("NEWSDESK_DIGEST_GRACE_HOURS", "nan", "less than or equal to 24"),
        ("NEWSDESK_DIGEST_GRACE_HOURS", "1,5", "Input should be a valid number"),
        ("NEWSDESK_CLUSTER_WINDOW_HOURS", "0", "Input should be greater than 0"),
        ("NEWSDESK_FETCH_TIMEOUT_SECONDS", "301", "less than or equal to 300"),
        ("NEWSDESK_ALLOW_PRIVATE_ADDRESSES", "maybe", "Input should be a valid boolean"),
        ("NEWSDESK_DIGEST_QUIET_DAY", "Skip", "Input should be 'post' or 'skip'"),
        ("NEWSDESK_LOG_FORMAT", "JSON", "Input should be 'plain' or 'json'"),
        ("NEWSDESK_GUILD_IDS", f'["{CH1}"]', "not a Discord server (guild) id"),
        ("NEWSDESK_GUILD_IDS", f"{CH1},123", "'123' is not a Discord server (guild) id"),
        ("NEWSDESK_SHARD_IDS", "0", "shard ids need NEWSDESK_SHARD_COUNT"),
    ],
)
def test_wrong_values_are_one_line_and_exit_2(monkeypatch, tmp_path, capsys, var, value, expected):
    code, _, err = _check(monkeypatch, tmp_path, capsys, **{var: value})
    assert code == 2
    line = " ".join(err.split())
    assert line.startswith(f"error: {var}={value!r}: "), err
    assert expected in line and "Fix:" in line


def test_log_level_error_quotes_the_level_in_capitals(monkeypatch, tmp_path, capsys):
    code, _, err = _check(monkeypatch, tmp_path, capsys, NEWSDESK_LOG_LEVEL="verbose")
    assert code == 2
    assert "NEWSDESK_LOG_LEVEL='VERBOSE': Input should be 'DEBUG', 'INFO', 'WARNING' or" in err


def test_shard_ids_are_checked_against_the_count(monkeypatch, tmp_path, capsys):
    code, shown, _ = _check(
        monkeypatch, tmp_path, capsys, NEWSDESK_SHARD_COUNT="4", NEWSDESK_SHARD_IDS="0, 2"
    )
    assert code == 0 and shown["shard_ids"] == [0, 2]
    code, _, err = _check(monkeypatch, tmp_path, capsys, NEWSDESK_SHARD_IDS="4")
    assert code == 2 and "shard 4 does not exist with NEWSDESK_SHARD_COUNT=4" in err


def test_first_wrong_setting_is_the_one_reported(monkeypatch, tmp_path, capsys):
    # The settings are checked in one order (the .env.example order), whatever the file's.
    text = "NEWSDESK_TIMEZONE=Bad/Zone\nNEWSDESK_POLL_INTERVAL_MINUTES=1\n"
    code, _, err = _check(monkeypatch, tmp_path, capsys, text)
    assert code == 2 and err.startswith("error: NEWSDESK_POLL_INTERVAL_MINUTES='1'")


def test_environment_wins_over_env_file_and_empty_means_unset(monkeypatch, tmp_path, capsys):
    text = (
        "NEWSDESK_TIMEZONE=Asia/Tokyo\n"
        "NEWSDESK_DIGEST_TIME=06:00\n"
        "NEWSDESK_LOG_LEVEL=\n"  # empty in the file: the default
        "newsdesk_digest_max_stories=7\n"  # names in any letter case
        "NEWSDESK_POLL_INTERVAL_MINUTES=30\n"
    )
    code, shown, err = _check(
        monkeypatch,
        tmp_path,
        capsys,
        text,
        NEWSDESK_TIMEZONE="Europe/Paris",  # the environment wins
        NEWSDESK_DIGEST_TIME="",  # empty in the environment: the file's value
    )
    assert code == 0, err
    assert shown["timezone"] == "Europe/Paris"
    assert shown["digest_time"] == "06:00"
    assert shown["log_level"] == "INFO"
    assert shown["digest_max_stories"] == 7
    assert shown["poll_interval_minutes"] == 30


def test_env_file_syntax(monkeypatch, tmp_path, capsys):
    text = (
        "# a comment\n"
        "export NEWSDESK_TIMEZONE=Asia/Tokyo\n"
        "NEWSDESK_USER_AGENT='Desk bot' # the name servers see\n"
        f'NEWSDESK_DIGEST_CHANNELS="{CH1} 07:00\n{CH2} 08:00 max=3"\n'
        "AREA=Europe\n"
        "NEWSDESK_FEEDS=https://a.example/rss#top\n"
        "NEWSDESK_DIGEST_QUIET_DAY=${UNSET_HERE:-skip}\n"
    )
    monkeypatch.delenv("UNSET_HERE", raising=False)
    code, shown, err = _check(monkeypatch, tmp_path, capsys, text)
    assert code == 0, err
    assert shown["timezone"] == "Asia/Tokyo"
    assert shown["user_agent"] == "Desk bot"
    assert [c["channel_id"] for c in shown["channels"]] == [int(CH1), int(CH2)]
    assert shown["channels"][1]["max_stories"] == 3
    assert shown["feeds"] == ["https://a.example/rss#top"]
    assert shown["digest_quiet_day"] == "skip"
    assert "AREA is not" not in err  # only NEWSDESK_* names are checked


def test_env_file_variables_refer_to_earlier_lines_and_the_environment(monkeypatch, tmp_path):
    from bot.config import read_env_file

    monkeypatch.setenv("DESK_AREA", "Asia")
    env = tmp_path / ".env"
    env.write_text("CITY=Tokyo\nNEWSDESK_TIMEZONE=${DESK_AREA}/${CITY}\nBARE\n")
    values = read_env_file(env)
    assert values == {"CITY": "Tokyo", "NEWSDESK_TIMEZONE": "Asia/Tokyo", "BARE": None}
    assert load_settings(env).timezone == "Asia/Tokyo"
    assert read_env_file(tmp_path / "missing.env") == {}


def test_env_file_line_that_cannot_be_read_is_skipped_with_a_warning(tmp_path, caplog):
    env = tmp_path / ".env"
    env.write_text("NEWSDESK_TIMEZONE='Asia/Tokyo\nNEWSDESK_DIGEST_TIME=09:00\n")
    s = load_settings(env)
    assert s.timezone == "UTC" and s.digest_time == "09:00"
    assert "cannot read the statement starting at line 1" in caplog.text
    assert str(env) in caplog.text
    assert "python-dotenv could not parse" not in caplog.text  # replaced, not repeated


def test_config_check_names_the_ignored_env_line_once(tmp_path):
    """`newsdesk config check` with an unparsable .env line: one line on stderr
    (file and line), no traceback, not dotenv's own file-less warning too."""
    import json

    (tmp_path / ".env").write_text(
        "NEWSDESK_DIGEST_TIME=09:00\n\nNEWSDESK_TIMEZONE='Asia/Tokyo\n", encoding="utf-8"
    )
    from tests.conftest import run_newsdesk

    run = run_newsdesk("config", "check", cwd=tmp_path, timeout=60)
    assert run.returncode == 0, run.stderr
    shown = json.loads(run.stdout)
    assert shown["digest_time"] == "09:00" and shown["timezone"] == "UTC"
    ignored = [line for line in run.stderr.splitlines() if ".env" in line]
    assert ignored == [".env: cannot read the statement starting at line 3; ignored"]
    assert "Traceback" not in run.stderr and "dotenv" not in run.stderr


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no named pipes")
def test_env_file_may_be_a_named_pipe(tmp_path):
    """A .env mounted as a FIFO (1Password Environments, for one) is read too."""
    import os
    import threading

    pipe = tmp_path / ".env"
    os.mkfifo(pipe)

    def write() -> None:
        with open(pipe, "w", encoding="utf-8") as stream:
            stream.write("NEWSDESK_TIMEZONE=Europe/Paris\n")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert load_settings(pipe).timezone == "Europe/Paris"
    finally:
        writer.join(timeout=5)


def test_no_env_file_no_dotenv_import(tmp_path):
    """Commands run without a .env do not pay for python-dotenv's import."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys\nfrom bot.config import load_settings\nload_settings('.env')\n"
        "print('dotenv' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSDESK_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])

    def dotenv_imported() -> str:
        run = [sys.executable, "-c", script]
        return subprocess.run(
            run, cwd=tmp_path, env=env, capture_output=True, text=True, check=True
        ).stdout.strip()

    assert dotenv_imported() == "False"
    (tmp_path / ".env").write_text("NEWSDESK_TIMEZONE=UTC\n")
    assert dotenv_imported() == "True"


def test_secrets_are_never_shown(monkeypatch, tmp_path, capsys):
    token = "MTIzNDU2Nzg5MDEyMzQ1Njc4.GabcDE.abcdefghijklmnopqrstuvwxyz0123456789"
    text = (
        f"DISCORD_TOKEN={token}\nNEWSDESK_DATABASE=postgresql://bot:s3cr3tpw@db.example:5432/news\n"
    )
    code, shown, err = _check(monkeypatch, tmp_path, capsys, text)
    assert code == 0, err
    assert shown["DISCORD_TOKEN"] == "********"
    assert shown["database"] == "postgresql://bot:***@db.example:5432/news"
    s = load_settings(tmp_path / ".env")
    assert s.discord_token.get_secret_value() == token
    for shown_text in (repr(s), str(s), repr(s.discord_token), str(s.discord_token)):
        assert token not in shown_text and "s3cr3tpw" not in shown_text
    assert "SecretStr('**********')" in repr(s)


def test_wrong_secret_values_are_not_quoted(monkeypatch, tmp_path, capsys):
    code, _, err = _check(
        monkeypatch, tmp_path, capsys, NEWSDESK_DATABASE="postgresql://bot:s3cr3tpw@db.example"
    )
    assert code == 2
    assert "s3cr3tpw" not in err and "postgresql://bot:***@db.example" in err
    with pytest.raises(ConfigError) as info:
        load_settings(None, discord_token=12345)
    assert str(info.value).startswith("DISCORD_TOKEN=(hidden): ")


def test_settings_are_read_only_and_copied_with_changes():
    s = load_settings(None, digest_channels=CH1)
    with pytest.raises(AttributeError):
        s.timezone = "Europe/Paris"
    other = s.model_copy(update={"digest_channels": f"{CH1}; {CH2}", "timezone": "Asia/Tokyo"})
    assert [c.channel_id for c in other.channels] == [int(CH1), int(CH2)]
    assert other.timezone == "Asia/Tokyo" and s.timezone == "UTC"
    assert len(s.channels) == 1
    with pytest.raises(TypeError):
        s.model_copy(update={"timezon": "UTC"})
    with pytest.raises(TypeError):
        load_settings(None, timezon="UTC")


def test_overrides_from_code_are_checked_like_the_environment():
    s = load_settings(
        None, guild_ids=[int(CH1)], feeds=["https://a.example/rss"], poll_interval_minutes="20"
    )
    assert s.guild_ids == [int(CH1)] and s.poll_interval_minutes == 20
    assert s.feeds == ["https://a.example/rss"]
    with pytest.raises(ConfigError, match=r"^NEWSDESK_POLL_INTERVAL_MINUTES=1: "):
        load_settings(None, poll_interval_minutes=1)
