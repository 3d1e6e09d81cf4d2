"""Typed settings, read once at the edge from the environment and ``.env``.

Every setting is an environment variable (see ``.env.example``). The
Discord token is ``DISCORD_TOKEN``; everything else is ``NEWSDESK_*``.
A wrong value raises :class:`ConfigError` with one message naming the
variable, the bad value and the fix; the CLI turns it into exit code 2.

Plain Python on purpose (no pydantic): every command reads the settings
first, so what this module imports is part of every command's start-up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import time
from functools import cache, cached_property
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from .database_url import is_postgres_url, redact, url_problem

SNOWFLAKE = re.compile(r"^\d{17,20}$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_FEED_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)
FULLTEXT_MODES = ("auto", "always", "never")
FEED_SYNTAX = (
    "list http(s) feed URLs, each optionally followed by fulltext=auto|always|never, "
    'name="Its name" and tags=tag1,tag2'
)
# A token: unquoted text up to a blank or comma, or a "quoted value" (which may hold both).
_TOKEN = re.compile(r'(?:[^\s,"]|"[^"]*")+')
_PART = re.compile(r'(?:[^\s"]|"[^"]*")+')


def _unquote(value: str) -> str:
    return value.replace('"', "").strip()


def _words(value: str) -> tuple[str, ...]:
    """``a,b`` -> ``("a", "b")``: lower case, blanks collapsed, empty ones dropped."""
    out = (" ".join(w.split()).casefold() for w in _unquote(value).split(","))
    return tuple(dict.fromkeys(w for w in out if w))


class ConfigError(Exception):
    """A setting has a wrong value. ``str()`` is the user-facing message."""


def parse_time(text: str) -> time:
    """``"08:00"`` -> ``time(8, 0)``; ValueError with the fix otherwise."""
    match = _TIME.match(text.strip())
    if not match or int(match[1]) > 23 or int(match[2]) > 59:
        raise ValueError(f"{text!r} is not a time of day; use HH:MM in 24-hour form, e.g. 07:30")
    return time(int(match[1]), int(match[2]))


@cache
def _zone_names() -> dict[str, str]:
    return {name.casefold(): name for name in available_timezones()}


def check_timezone(name: str) -> str:
    """An IANA timezone name, spelt as the tz database spells it.

    The one rule for ``NEWSDESK_TIMEZONE`` and for each channel's timezone:
    any IANA name, in any letter case (``utc``, ``europe/paris``).
    """
    name = name.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        canonical = _zone_names().get(name.casefold())
        if canonical is None:
            raise ValueError(
                f"{name!r} is not an IANA timezone; use a name like Europe/Paris, "
                "America/New_York or UTC"
            ) from None
        return canonical
    return name


def _looks_like_timezone(part: str) -> bool:
    return "/" in part or part.casefold() in _zone_names()


def check_snowflake(text: str, what: str) -> int:
    text = text.strip()
    if not SNOWFLAKE.match(text):
        raise ValueError(
            f"{text!r} is not a Discord {what} id; copy it with Developer Mode on "
            "(right-click -> Copy ID): 17 to 20 digits"
        )
    return int(text)


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that carries a server's gateway events: Discord's own rule.

    The one place Newsdesk computes it; a process posts only the channels of
    servers on its own shards (:meth:`Settings.owns_guild`).
    """
    return (guild_id >> 22) % shard_count


def parse_shard_ids(value: Any, shard_count: int | None) -> list[int]:
    """``NEWSDESK_SHARD_IDS``: ``"0,2"`` -> ``[0, 2]``, each below the shard count."""
    parts = _split_list(value) if isinstance(value, str) else list(value)
    if parts and shard_count is None:
        raise ValueError("shard ids need NEWSDESK_SHARD_COUNT (the total number of shards)")
    ids: list[int] = []
    for part in parts:
        text = str(part).strip()
        if not text.isdigit():
            raise ValueError(f"{text!r} is not a shard id (a whole number from 0)")
        shard = int(text)
        if shard_count is not None and shard >= shard_count:
            raise ValueError(
                f"shard {shard} does not exist with NEWSDESK_SHARD_COUNT={shard_count} "
                f"(shards are numbered 0 to {shard_count - 1})"
            )
        if shard in ids:
            raise ValueError(f"shard {shard} is listed twice")
        ids.append(shard)
    return ids


DEFAULT_ALERTS_PER_DAY = 5
ALERT_MIN, ALERT_MAX = 2, 100  # alert=N: outlets that make a story "breaking"
ALERTS_PER_DAY_MAX = 50


@dataclass(frozen=True)
class DigestChannel:
    """One channel that receives the daily digest."""

    channel_id: int
    time: time
    timezone: str
    max_stories: int = 10
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    guild_id: int | None = None  # learned from Discord at run time; None: shared news only
    feeds: tuple[str, ...] = ()  # routing: only these feeds (names, URLs or ids), lower case
    tags: tuple[str, ...] = ()  # routing: only feeds with one of these tags
    alert: int | None = None  # breaking-story alert when a story reaches this many outlets
    alerts_per_day: int = DEFAULT_ALERTS_PER_DAY  # at most this many alerts per local day

    @property
    def routed(self) -> bool:
        """Whether the channel takes only some feeds' stories (``feeds=`` or ``tags=``)."""
        return bool(self.feeds or self.tags)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class DigestOptions:
    """Digest rules shared by every channel."""

    per_source_max: int = 3
    window_hours: int = 24
    quiet_day: str = "post"  # "post" a short 'no new stories' line, or "skip"
    max_links: int = 5
    developing_min_new_sources: int = 2


def parse_channels(
    text: str, *, default_time: time, default_timezone: str, default_max: int
) -> tuple[DigestChannel, ...]:
    """Parse ``NEWSDESK_DIGEST_CHANNELS``.

    Channels are separated by ``;`` (or new lines). Each is a channel id
    followed by optional space-separated parts, in any order::

        123456789012345678
        123456789012345678 07:30 Europe/Paris
        123456789012345678 18:00 America/New_York max=5 include=climate,energy exclude=sport
        123456789012345678 guild=987654321098765432
        123456789012345678 tags=world,politics feeds="Tech Daily",https://x.example/rss
        123456789012345678 alert=4 alerts_per_day=3

    A part of the form HH:MM is the time, a part with a ``/`` or ``UTC`` the
    timezone; ``max=``, ``include=``, ``exclude=`` and ``guild=`` as shown;
    ``feeds=`` (feed names, URLs or ids) and ``tags=`` route: the channel's
    digest then holds only the stories of those feeds (either list matching).
    ``alert=N`` posts a short "Breaking" message the first time a story
    reaches N distinct outlets (2 to 100), at most ``alerts_per_day=M`` a day
    (1 to 50, default 5; only with ``alert=``). A value with blanks is written in double quotes.
    """
    channels: list[DigestChannel] = []
    seen: set[int] = set()
    for raw in re.split(r"[;\n]", text):
        spec = raw.strip()
        if not spec:
            continue
        head, *parts = _PART.findall(spec)
        channel_id = check_snowflake(head, "channel")
        if channel_id in seen:
            raise ValueError(f"channel {channel_id} is listed twice; list each channel once")
        seen.add(channel_id)
        values: dict[str, Any] = {
            "time": default_time,
            "timezone": default_timezone,
            "max_stories": default_max,
        }
        for part in parts:
            key, sep, value = part.partition("=")
            if not sep:
                if _TIME.match(part):
                    values["time"] = parse_time(part)
                elif _looks_like_timezone(part):
                    values["timezone"] = check_timezone(part)
                else:
                    raise ValueError(
                        f"{part!r} in the entry for channel {channel_id} is neither a time "
                        "(HH:MM), a timezone (Area/City) nor key=value (max=, include=, "
                        "exclude=, guild=, feeds=, tags=, alert=, alerts_per_day=)"
                    )
            elif key == "max":
                if not value.isdigit() or not 1 <= int(value) <= 50:
                    raise ValueError(f"max={value!r} for channel {channel_id}: use 1 to 50")
                values["max_stories"] = int(value)
            elif key in {"include", "exclude"}:
                words = tuple(w.strip().lower() for w in _unquote(value).split(",") if w.strip())
                values[key] = words
            elif key in {"feeds", "tags"}:
                if not _words(value):
                    raise ValueError(
                        f"{key}= for channel {channel_id} is empty; list feed "
                        + ("names, URLs or ids" if key == "feeds" else "tags")
                        + " separated by commas"
                    )
                values[key] = _words(value)
            elif key == "guild":
                values["guild_id"] = check_snowflake(value, "server (guild)")
            elif key == "alert":
                values["alert"] = _bounded(
                    value, key, channel_id, ALERT_MIN, ALERT_MAX, "a number of outlets"
                )
            elif key == "alerts_per_day":
                values["alerts_per_day"] = _bounded(
                    value, key, channel_id, 1, ALERTS_PER_DAY_MAX, "a number of alerts"
                )
            else:
                raise ValueError(
                    f"unknown option {key}= for channel {channel_id}; use max=, include=, "
                    "exclude=, guild=, feeds=, tags=, alert= or alerts_per_day="
                )
        if "alerts_per_day" in values and "alert" not in values:
            raise ValueError(
                f"alerts_per_day= for channel {channel_id} needs alert=N (the number of "
                "outlets that makes a story breaking news)"
            )
        channels.append(DigestChannel(channel_id=channel_id, **values))
    return tuple(channels)


def _bounded(value: str, key: str, channel_id: int, low: int, high: int, what: str) -> int:
    """``key=value`` as a whole number from ``low`` to ``high``, else one clear error."""
    text = value.strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(
            f"{key}={value!r} for channel {channel_id}: use {what} from {low} to {high}"
        )
    return int(text)


@dataclass(frozen=True)
class FeedSpec:
    """One configured feed: its URL and options (``fulltext``: None = NEWSDESK_FULLTEXT)."""

    url: str
    fulltext: str | None = None
    name: str | None = None  # shown for the feed, and matched by a channel's feeds=
    tags: tuple[str, ...] | None = None  # None: the feed's tags are left as they are

    def __str__(self) -> str:
        text = self.url + (f" fulltext={self.fulltext}" if self.fulltext else "")
        if self.name:
            text += f' name="{self.name}"'
        if self.tags:
            text += f" tags={','.join(self.tags)}"
        return text


def check_fulltext_mode(value: str, what: str = "fulltext") -> str:
    mode = value.strip().lower()
    if mode not in FULLTEXT_MODES:
        raise ValueError(f"{what}={value!r} is not a full-text mode; use auto, always or never")
    return mode


def parse_feed_specs(text: str) -> list[FeedSpec]:
    """Feeds as written in ``NEWSDESK_FEEDS`` or one line of the feeds file.

    URLs are separated by commas, spaces or new lines; options follow their
    URL as ``key=value``: ``fulltext=auto|always|never``, ``name=`` (in double
    quotes when it has blanks) and ``tags=`` (separated by commas; a word
    after ``tags=x,`` that is not a URL is one more tag)::

        https://a.example/rss.xml, https://b.example/feed fulltext=never
        https://c.example/rss name="World desk" tags=world,politics
    """
    specs: list[FeedSpec] = []
    last_key = ""
    for token in _TOKEN.findall(text):
        key, sep, value = token.partition("=")
        key = key.lower()
        if "://" not in token and sep:
            if not specs:
                raise ValueError(f"{token!r} comes before any feed URL; put options after theirs")
            spec = specs[-1]
            if key == "fulltext":
                spec = replace(spec, fulltext=check_fulltext_mode(_unquote(value)))
            elif key == "name":
                name = " ".join(_unquote(value).split())
                if not name:
                    raise ValueError(f"name= for {spec.url} is empty")
                spec = replace(spec, name=name)
            elif key == "tags":
                spec = replace(spec, tags=_words(value))
            else:
                raise ValueError(
                    f"unknown option {key}= for {spec.url}; use fulltext=, name= or tags="
                )
            specs[-1] = spec
            last_key = key
        elif _FEED_URL.match(token):
            specs.append(FeedSpec(token))
            last_key = ""
        elif last_key == "tags" and not sep and "://" not in token:
            tags = (*(specs[-1].tags or ()), token)
            specs[-1] = replace(specs[-1], tags=_words(",".join(tags)))
        else:
            raise ValueError(f"{token!r} is not an http(s) feed URL")
    return specs


def _split_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in re.split(r"[,\s]+", value) if part.strip()]
    return value


def check_database_location(text: str) -> Path | str:
    """A database location from the command line: a file :class:`Path`, or a
    checked PostgreSQL URL (``str``); :class:`ConfigError` with one line otherwise."""
    text = text.strip()
    if not text:
        raise ConfigError("an empty database location: give a file path or a postgresql:// URL")
    if is_postgres_url(text):
        problem = url_problem(text)
        if problem is not None:
            raise ConfigError(f"{redact(text)}: {problem}")
        return text
    return Path(text)


class SecretStr:
    """A secret (the Discord token): shown as ``**********`` in ``str``, ``repr``
    and logs; :meth:`get_secret_value` is the one way to read it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __repr__(self) -> str:
        return f"SecretStr({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __len__(self) -> int:
        return len(self._value)


class _Invalid(ValueError):
    """A wrong value: ``str()`` is the message; ``shown`` the value the message quotes
    when it is not the one given (the log level in capitals)."""

    def __init__(self, message: str, shown: Any = None, *, has_shown: bool = False) -> None:
        super().__init__(message)
        self.shown = shown
        self.has_shown = has_shown


# The checks of each kind of value, with the messages pydantic gave (users saw
# them; tests and the docs quote them).


def _as_str(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("Input should be a valid string")
    return value


# Numbers as pydantic read them from text: ASCII digits; blanks around are
# ignored; a whole number may end in ".0" and have "_" between digits; a float
# may have single "_" inside (then no blanks around).
_INT = re.compile(r"[+-]?[0-9]+(?:_[0-9]+)*")
_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf|infinity|nan)", re.IGNORECASE
)


def _int_text(text: str) -> int | None:
    text = text.strip()
    if _INT.fullmatch(text):
        return int(text.replace("_", ""))
    whole, dot, zeros = text.partition(".")
    if dot and zeros and not zeros.strip("0") and _INT.fullmatch(whole):
        return int(whole.replace("_", ""))  # "15.0" and "15.000" are whole numbers
    return None


def _float_text(text: str) -> float | None:
    if _FLOAT.fullmatch(text.strip()):
        return float(text.strip())
    if "_" in text and not (text.startswith("_") or text.endswith("_") or "__" in text):
        bare = text.replace("_", "")
        if _FLOAT.fullmatch(bare):
            return float(bare)
    return None


def _as_int(value: Any) -> int:
    if isinstance(value, int):  # bool included, as True -> 1
        return int(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _Invalid("Input should be a finite number")
        if not value.is_integer():
            raise _Invalid("Input should be a valid integer, got a number with a fractional part")
        return int(value)
    if isinstance(value, str):
        number = _int_text(value)
        if number is None:
            raise _Invalid("Input should be a valid integer, unable to parse string as an integer")
        return number
    raise _Invalid("Input should be a valid integer")


def _as_float(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        number = _float_text(value)
        if number is None:
            raise _Invalid("Input should be a valid number, unable to parse string as a number")
        return number
    raise _Invalid("Input should be a valid number")


_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise _Invalid("Input should be a valid boolean, unable to interpret input")
    if isinstance(value, int | float):
        raise _Invalid("Input should be a valid boolean, unable to interpret input")
    raise _Invalid("Input should be a valid boolean")


def _bounds(
    number: float,
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
) -> None:
    """The bound checks, upper one first (so NaN fails it, as with pydantic)."""
    if le is not None and not number <= le:
        raise _Invalid(f"Input should be less than or equal to {le}")
    if ge is not None and not number >= ge:
        raise _Invalid(f"Input should be greater than or equal to {ge}")
    if gt is not None and not number > gt:
        raise _Invalid(f"Input should be greater than {gt}")


def _int(*, ge: int, le: int, optional: bool = False) -> Callable[[Any, dict[str, Any]], Any]:
    def parse(value: Any, _done: dict[str, Any]) -> int | None:
        if value is None and optional:
            return None
        number = _as_int(value)
        _bounds(number, ge=ge, le=le)
        return number

    return parse


def _float(
    *, ge: int | None = None, gt: int | None = None, le: int
) -> Callable[[Any, dict[str, Any]], float]:
    def parse(value: Any, _done: dict[str, Any]) -> float:
        number = _as_float(value)
        _bounds(number, ge=ge, gt=gt, le=le)
        return number

    return parse


def _one_of(*choices: str) -> Callable[[Any, dict[str, Any]], str]:
    quoted = [repr(c) for c in choices]
    message = f"Input should be {', '.join(quoted[:-1])} or {quoted[-1]}"

    def parse(value: Any, _done: dict[str, Any]) -> str:
        if not isinstance(value, str) or value not in choices:
            raise _Invalid(message)
        return value

    return parse


def _text(value: Any, _done: dict[str, Any]) -> str:
    return _as_str(value)


def _database(value: Any, _done: dict[str, Any]) -> str:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str) and is_postgres_url(value.strip()):
        problem = url_problem(value.strip())
        if problem is not None:
            raise _Invalid(problem)
        return value.strip()
    return _as_str(value)


def _token(value: Any, _done: dict[str, Any]) -> SecretStr | None:
    if value is None or isinstance(value, SecretStr):
        return value
    if hasattr(value, "get_secret_value"):  # another library's secret
        return SecretStr(_as_str(value.get_secret_value()))
    return SecretStr(_as_str(value))


def _feeds(value: Any, _done: dict[str, Any]) -> list[str]:
    """Each feed as ``"URL"`` or ``"URL fulltext=MODE"`` (see parse_feed_specs)."""
    if isinstance(value, list | tuple):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str):
        raise _Invalid("Input should be a valid list")
    return [str(spec) for spec in parse_feed_specs(value)]


def _path(value: Any, _done: dict[str, Any]) -> Path | None:
    if value is None or isinstance(value, Path):
        return value
    if isinstance(value, str):
        return Path(value)
    raise _Invalid("Input is not a valid path")


def _digest_time(value: Any, _done: dict[str, Any]) -> str:
    text = _as_str(value)
    parse_time(text)
    return text.strip()


def _timezone(value: Any, _done: dict[str, Any]) -> str:
    return check_timezone(_as_str(value))


def _guilds(value: Any, _done: dict[str, Any]) -> list[int]:
    value = _split_list(value)
    if not isinstance(value, list | tuple):
        raise _Invalid("Input should be a valid list")
    return [check_snowflake(str(v), "server (guild)") for v in value]


def _shard_ids(value: Any, done: dict[str, Any]) -> list[int]:
    if not isinstance(value, str | list | tuple):
        raise _Invalid("Input should be a valid list")
    return parse_shard_ids(value, done.get("shard_count"))


def _log_level(value: Any, done: dict[str, Any]) -> str:
    if isinstance(value, str):
        value = value.upper()
    try:
        return _one_of("DEBUG", "INFO", "WARNING", "ERROR")(value, done)
    except _Invalid as exc:  # the message quotes the value in capitals
        raise _Invalid(str(exc), value, has_shown=True) from None


def _fulltext(value: Any, done: dict[str, Any]) -> str:
    if isinstance(value, str) and value.strip().lower() in FULLTEXT_MODES:
        return value.strip().lower()
    return _one_of(*FULLTEXT_MODES)(value, done)


class _Setting:
    """One setting: its attribute, environment variable, default and check.

    ``parse(value, done)`` turns what was given (text from the environment or
    ``.env``; any value from code) into the setting's value, or raises
    ValueError with the message; ``done`` holds the settings before it.
    (A plain class: a dataclass costs a millisecond of every command's start-up.)"""

    __slots__ = ("default", "fix", "name", "parse", "variable")

    def __init__(
        self,
        name: str,
        parse: Callable[[Any, dict[str, Any]], Any],
        default: Any,
        fix: str = "see .env.example for the expected form",
        env: str = "",
    ) -> None:
        self.name = name
        self.parse = parse
        self.default = default
        self.fix = fix
        self.variable = env or f"NEWSDESK_{name.upper()}"

    def __repr__(self) -> str:
        return f"<setting {self.variable}>"


# In this order: the first wrong one is the one reported.
_SETTINGS: tuple[_Setting, ...] = (
    _Setting(
        "discord_token",
        _token,
        None,
        "set DISCORD_TOKEN to the bot token from the developer portal",
        env="DISCORD_TOKEN",
    ),
    # A file path (SQLite, the default) or a postgresql:// URL (bot.database_url).
    _Setting(
        "database",
        _database,
        "data/newsdesk.db",
        "use a file path, or postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
    ),
    _Setting("feeds", _feeds, (), FEED_SYNTAX),
    _Setting("feeds_file", _path, None),
    _Setting(
        "poll_interval_minutes",
        _int(ge=5, le=24 * 60),
        15,
        "use a whole number of minutes from 5 to 1440",
    ),
    _Setting("digest_channels", _text, ""),
    _Setting("digest_time", _digest_time, "08:00"),
    _Setting("timezone", _timezone, "UTC"),
    _Setting("digest_max_stories", _int(ge=1, le=50), 10, "use a number from 1 to 50"),
    _Setting("digest_per_source_max", _int(ge=1, le=50), 3, "use a number from 1 to 50"),
    _Setting("digest_quiet_day", _one_of("post", "skip"), "post", "use post or skip"),
    _Setting("digest_grace_hours", _float(ge=0, le=24), 3.0, "use a number of hours from 0 to 24"),
    _Setting("cluster_window_hours", _float(gt=0, le=24 * 30), 72.0),
    _Setting("guild_ids", _guilds, ()),
    _Setting(
        "shard_count",
        _int(ge=1, le=100_000, optional=True),
        None,
        "use the total number of shards, a whole number from 1 (leave it empty to run unsharded)",
    ),
    _Setting(
        "shard_ids",
        _shard_ids,
        (),
        "list this process's shard ids, from 0 to NEWSDESK_SHARD_COUNT - 1, separated by "
        "commas (leave it empty to run every shard)",
    ),
    _Setting("log_level", _log_level, "INFO", "use DEBUG, INFO, WARNING or ERROR"),
    _Setting("log_format", _one_of("plain", "json"), "plain", "use plain or json"),
    _Setting("allow_private_addresses", lambda v, _d: _as_bool(v), False, "use true or false"),
    _Setting("fetch_timeout_seconds", _float(gt=0, le=300), 30.0),
    _Setting("fetch_max_bytes", _int(ge=10_000, le=100_000_000), 5_000_000),
    _Setting("user_agent", _text, "Newsdesk/0.1 (self-hosted news digest bot)"),
    _Setting("fulltext", _fulltext, "auto", "use auto, always or never"),
)
_BY_NAME = {setting.name: setting for setting in _SETTINGS}


class Settings:
    """Everything Newsdesk can be told, from the environment and ``.env``.

    ``Settings(_env_file=".env", **overrides)`` reads each setting from, first
    to last: ``overrides`` (by attribute name), the environment, the settings
    file, the default. Variable names are matched in any letter case; an empty
    value counts as not set. A wrong value raises :class:`ConfigError` (one
    line naming the variable, the value and the fix). The settings are
    read-only; :meth:`model_copy` makes a changed copy.
    """

    discord_token: SecretStr | None
    database: str
    feeds: list[str]
    feeds_file: Path | None
    poll_interval_minutes: int
    digest_channels: str
    digest_time: str
    timezone: str
    digest_max_stories: int
    digest_per_source_max: int
    digest_quiet_day: Literal["post", "skip"]
    digest_grace_hours: float
    cluster_window_hours: float
    guild_ids: list[int]
    shard_count: int | None
    shard_ids: list[int]
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"]
    log_format: Literal["plain", "json"]
    allow_private_addresses: bool
    fetch_timeout_seconds: float
    fetch_max_bytes: int
    user_agent: str
    fulltext: Literal["auto", "always", "never"]

    def __init__(self, _env_file: str | Path | None = ".env", **overrides: Any) -> None:
        unknown = sorted(set(overrides) - set(_BY_NAME))
        if unknown:
            raise TypeError(f"Settings() got unknown settings: {', '.join(unknown)}")
        given = _given(_env_file, overrides)
        done: dict[str, Any] = {}
        for setting in _SETTINGS:
            value = given.get(setting.name, setting.default)
            try:
                done[setting.name] = setting.parse(value, done)
            except ValueError as exc:
                raise ConfigError(_message(setting, value, exc)) from None
        self.__dict__.update(done)
        # Parse the channels now: a bad entry fails at start-up, not at digest time.
        try:
            self.channels  # noqa: B018
        except ValueError as exc:
            setting = _BY_NAME["digest_channels"]
            raise ConfigError(_message(setting, given.get("digest_channels", ""), exc)) from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"settings are read-only; use model_copy(update={{{name!r}: ...}})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("settings are read-only")

    def _values(self) -> dict[str, Any]:
        return {setting.name: self.__dict__[setting.name] for setting in _SETTINGS}

    def model_copy(self, *, update: dict[str, Any] | None = None) -> Settings:
        """A copy with ``update``'s settings changed (as given: not checked again)."""
        unknown = sorted(set(update or {}) - set(_BY_NAME))
        if unknown:
            raise TypeError(f"model_copy() got unknown settings: {', '.join(unknown)}")
        copy = object.__new__(type(self))
        copy.__dict__.update({**self._values(), **(update or {})})
        return copy

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        values = self._values()
        values["database"] = redact(values["database"])  # a URL's password stays hidden
        return "Settings(" + ", ".join(f"{k}={v!r}" for k, v in values.items()) + ")"

    @cached_property
    def channels(self) -> tuple[DigestChannel, ...]:
        return parse_channels(
            self.digest_channels,
            default_time=parse_time(self.digest_time),
            default_timezone=self.timezone,
            default_max=self.digest_max_stories,
        )

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def sharded(self) -> bool:
        """Whether this process runs some shards of a sharded bot (NEWSDESK_SHARD_COUNT)."""
        return self.shard_count is not None

    @property
    def shards(self) -> tuple[int, ...]:
        """The shard ids this process runs (all of them by default); ``()`` when not sharded."""
        if self.shard_count is None:
            return ()
        return tuple(self.shard_ids) or tuple(range(self.shard_count))

    @property
    def process_name(self) -> str:
        """This bot process's name in the store's heartbeats: ``"bot"``, or
        ``"shards 0,1 of 4"`` for a sharded one (each container's ``newsdesk
        health`` reads the row of its own settings)."""
        if self.shard_count is None:
            return "bot"
        return f"shards {','.join(str(i) for i in self.shards)} of {self.shard_count}"

    def owns_guild(self, guild_id: int) -> bool:
        """Whether this process posts for server ``guild_id``: always when not
        sharded, else when the server is on one of this process's shards."""
        if self.shard_count is None:
            return True
        return shard_of(guild_id, self.shard_count) in self.shards

    @property
    def digest_options(self) -> DigestOptions:
        return DigestOptions(
            per_source_max=self.digest_per_source_max, quiet_day=self.digest_quiet_day
        )

    def feed_specs(self) -> list[FeedSpec]:
        """Feeds from NEWSDESK_FEEDS plus NEWSDESK_FEEDS_FILE, each URL once (first wins)."""
        specs = [spec for text in self.feeds for spec in parse_feed_specs(text)]
        if self.feeds_file is not None:
            specs.extend(read_feeds_file(self.feeds_file))
        first: dict[str, FeedSpec] = {}
        for spec in specs:
            first.setdefault(spec.url, spec)
        return list(first.values())

    def feed_urls(self) -> list[str]:
        """Feed URLs from NEWSDESK_FEEDS plus NEWSDESK_FEEDS_FILE (OPML or one URL a line)."""
        return [spec.url for spec in self.feed_specs()]

    def masked(self) -> dict[str, Any]:
        """The effective configuration with secrets masked (for `config check`)."""
        data = {k: v for k, v in self._values().items() if k != "discord_token"}
        data = {k: list(v) if isinstance(v, list) else v for k, v in data.items()}
        token = self.discord_token.get_secret_value() if self.discord_token else ""
        data = {"DISCORD_TOKEN": "********" if token else "(not set)", **data}
        data["database"] = redact(self.database)
        data["channels"] = [
            {
                "channel_id": c.channel_id,
                "time": c.time.strftime("%H:%M"),
                "timezone": c.timezone,
                "max_stories": c.max_stories,
                "include": list(c.include),
                "exclude": list(c.exclude),
                "feeds": list(c.feeds),
                "tags": list(c.tags),
                "alert": c.alert,
                "alerts_per_day": c.alerts_per_day if c.alert else None,
                "guild_id": c.guild_id,
            }
            for c in self.channels
        ]
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in data.items()}


def read_feeds_file(path: Path) -> list[FeedSpec]:
    """Feeds from an OPML file or a text file with one feed a line (# comments).

    A line is a URL, optionally followed by ``fulltext=auto|always|never``.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"NEWSDESK_FEEDS_FILE={str(path)!r}: cannot read it ({exc.strerror}). "
            "Fix: point it at an existing OPML or text file, or leave it empty."
        ) from None
    if data.lstrip().startswith(b"<"):
        from .ingest.parse import ParseError, parse_opml

        try:
            return [FeedSpec(f.url, tags=f.tags) for f in parse_opml(data)]
        except ParseError as exc:
            raise ConfigError(f"NEWSDESK_FEEDS_FILE={str(path)!r}: {exc}") from None
    specs: list[FeedSpec] = []
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            found = parse_feed_specs(line)
            if len(found) != 1:
                raise ValueError("put one feed on each line")
        except ValueError as exc:
            raise ConfigError(
                f"NEWSDESK_FEEDS_FILE={str(path)!r}: line {number}: {exc}. Fix: {FEED_SYNTAX}."
            ) from None
        specs.extend(found)
    return specs


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read the settings; any wrong value raises one clear :class:`ConfigError`."""
    return Settings(_env_file=env_file, **overrides)


def _given(env_file: str | Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """Each setting's value as given: by ``overrides``, else the environment, else the file."""
    environ = _lowered(os.environ)
    file: dict[str, str | None] = {}
    if env_file is not None:
        try:
            file = _lowered(read_env_file(env_file))
        except UnicodeDecodeError:
            raise ConfigError(_not_utf8(Path(str(env_file)))) from None
    given: dict[str, Any] = {}
    for setting in _SETTINGS:
        key = setting.variable.lower()
        if setting.name in overrides:
            given[setting.name] = overrides[setting.name]
        elif environ.get(key) is not None:
            given[setting.name] = environ[key]
        elif file.get(key) is not None:
            given[setting.name] = file[key]
    return given


def read_env_file(path: str | os.PathLike[str], *, warn: bool = True) -> dict[str, str | None]:
    """The ``NAME: value`` pairs of the settings file at ``path``; ``{}`` when there is none.

    Read by python-dotenv's ``dotenv_values`` (its grammar: quotes, ``export``,
    comments, ``${NAME}`` from earlier lines or the environment; a name
    without ``=`` is ``None``), imported only when there is a file to read.
    A statement it cannot parse is skipped; dotenv's own warning names no
    file, so it is replaced by one line naming the file and the line (none
    when ``warn`` is false). Raises :class:`UnicodeDecodeError` for a file
    that is not UTF-8.
    """
    file = Path(path).expanduser()
    if not (file.is_file() or file.is_fifo()):
        return {}
    import io
    import logging

    from dotenv import dotenv_values

    lines: list[int] = []

    def unparsed(record: logging.LogRecord) -> bool:
        """Keep the line number of dotenv's "could not parse" warning, drop the warning."""
        found = re.search(r"could not parse statement starting at line (\d+)", record.getMessage())
        if found is None:
            return True
        lines.append(int(found[1]))
        return False

    # Read here, not by dotenv: a named pipe is read too, whatever dotenv's version.
    with open(file, encoding="utf-8") as stream:
        text = stream.read()
    dotenv_log = logging.getLogger("dotenv.main")
    dotenv_log.addFilter(unparsed)
    try:
        values = dotenv_values(stream=io.StringIO(text))
    finally:
        dotenv_log.removeFilter(unparsed)
    if warn and lines:
        # dotenv counts the blank lines before a statement as its start: name its first text.
        rows = re.split(r"\r\n|\n|\r", text)
        for line in lines:
            while line < len(rows) and not rows[line - 1].strip():
                line += 1
            logging.getLogger(__name__).warning(
                "%s: cannot read the statement starting at line %d; ignored", path, line
            )
    return values


def _lowered(values: Mapping[str, str | None]) -> dict[str, str | None]:
    """Names in lower case (a later spelling wins); an empty value is not set."""
    return {name.lower(): value for name, value in values.items() if value != ""}


def _message(setting: _Setting, value: Any, exc: ValueError) -> str:
    """The one line for a wrong value: variable, value (secrets hidden), problem, fix."""
    if isinstance(exc, _Invalid) and exc.has_shown:
        value = exc.shown
    if setting.name == "discord_token":
        shown = "(hidden)"
    elif setting.name == "database":
        shown = repr(redact(value))
    else:
        shown = repr(value)
    return f"{setting.variable}={shown}: {exc}. Fix: {setting.fix}."


def _not_utf8(path: Path) -> str:
    where = ""
    try:
        data = path.read_bytes()
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        where = f" (byte 0x{data[exc.start]:02x} on line {line})"
    except OSError:
        pass
    return f"{path} is not UTF-8 text{where}. Fix: save it as UTF-8 (any editor can)."


def unknown_variables(env_file: str | Path | None) -> list[str]:
    """``NEWSDESK_*`` names set in the environment or ``env_file`` that no setting reads.

    Each comes with a "did you mean" when a real setting is close (a
    misspelt ``NEWSDESK_DIGEST_TIM``), as one line for the user.
    """
    known = {setting.variable for setting in _SETTINGS}
    names = {key.upper() for key in os.environ if key.upper().startswith("NEWSDESK_")}
    if env_file is not None and Path(env_file).is_file():
        try:
            values = read_env_file(env_file, warn=False)
        except (UnicodeDecodeError, OSError):
            values = {}
        names |= {key.upper() for key in values if key.upper().startswith("NEWSDESK_")}
    import difflib

    lines = []
    for name in sorted(names - known):
        tails = {k.removeprefix("NEWSDESK_"): k for k in known}
        close = difflib.get_close_matches(name.removeprefix("NEWSDESK_"), sorted(tails), n=1)
        hint = f"; did you mean {tails[close[0]]}?" if close else "; see .env.example"
        lines.append(f"{name} is not a Newsdesk setting and is ignored{hint}")
    return lines
