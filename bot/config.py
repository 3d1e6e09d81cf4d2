"""Typed settings, read once at the edge from the environment and ``.env``.

Every setting is an environment variable (see ``.env.example``). The
Discord token is ``DISCORD_TOKEN``; everything else is ``NEWSDESK_*``.
A wrong value raises :class:`ConfigError` with one message naming the
variable, the bad value and the fix; the CLI turns it into exit code 2.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass, replace
from datetime import time
from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

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


class Settings(BaseSettings):
    """Everything Newsdesk can be told, from the environment and ``.env``."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSDESK_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
        env_ignore_empty=True,
    )

    discord_token: SecretStr | None = Field(default=None, validation_alias="DISCORD_TOKEN")
    # A file path (SQLite, the default) or a postgresql:// URL (bot.database_url).
    database: str = "data/newsdesk.db"
    feeds: Annotated[list[str], NoDecode] = []
    feeds_file: Path | None = None
    poll_interval_minutes: int = Field(default=15, ge=5, le=24 * 60)
    digest_channels: str = ""
    digest_time: str = "08:00"
    timezone: str = "UTC"
    digest_max_stories: int = Field(default=10, ge=1, le=50)
    digest_per_source_max: int = Field(default=3, ge=1, le=50)
    digest_quiet_day: Literal["post", "skip"] = "post"
    digest_grace_hours: float = Field(default=3.0, ge=0, le=24)
    cluster_window_hours: float = Field(default=72.0, gt=0, le=24 * 30)
    guild_ids: Annotated[list[int], NoDecode] = []
    shard_count: int | None = Field(default=None, ge=1, le=100_000)
    shard_ids: Annotated[list[int], NoDecode] = []
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["plain", "json"] = "plain"
    allow_private_addresses: bool = False
    fetch_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    fetch_max_bytes: int = Field(default=5_000_000, ge=10_000, le=100_000_000)
    user_agent: str = "Newsdesk/0.1 (self-hosted news digest bot)"
    fulltext: Literal["auto", "always", "never"] = "auto"

    @field_validator("database", mode="before")
    @classmethod
    def _database(cls, value: Any) -> Any:
        if isinstance(value, Path):
            return str(value)
        if isinstance(value, str) and is_postgres_url(value.strip()):
            problem = url_problem(value.strip())
            if problem is not None:
                raise ValueError(problem)
            return value.strip()
        return value

    @field_validator("feeds", mode="before")
    @classmethod
    def _feeds(cls, value: Any) -> Any:
        """Each feed as ``"URL"`` or ``"URL fulltext=MODE"`` (see parse_feed_specs)."""
        if isinstance(value, list | tuple):
            value = ",".join(str(v) for v in value)
        if isinstance(value, str):
            return [str(spec) for spec in parse_feed_specs(value)]
        return value

    @field_validator("fulltext", mode="before")
    @classmethod
    def _fulltext(cls, value: Any) -> Any:
        if isinstance(value, str) and value.strip().lower() in FULLTEXT_MODES:
            return value.strip().lower()
        return value

    @field_validator("guild_ids", mode="before")
    @classmethod
    def _guilds(cls, value: Any) -> Any:
        value = _split_list(value)
        if isinstance(value, list):
            return [check_snowflake(str(v), "server (guild)") for v in value]
        return value

    @field_validator("shard_ids", mode="before")
    @classmethod
    def _shard_ids(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str | list | tuple):
            return parse_shard_ids(value, info.data.get("shard_count"))
        return value

    @field_validator("digest_time")
    @classmethod
    def _digest_time(cls, value: str) -> str:
        parse_time(value)
        return value.strip()

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        return check_timezone(value)

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _channels(self) -> Settings:
        # Parse eagerly so a bad entry fails at start-up, not at digest time.
        self.channels  # noqa: B018
        return self

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
        data = self.model_dump(exclude={"discord_token"})
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


_FIXES = {
    "discord_token": "set DISCORD_TOKEN to the bot token from the developer portal",
    "poll_interval_minutes": "use a whole number of minutes from 5 to 1440",
    "digest_max_stories": "use a number from 1 to 50",
    "digest_per_source_max": "use a number from 1 to 50",
    "digest_quiet_day": "use post or skip",
    "digest_grace_hours": "use a number of hours from 0 to 24",
    "log_level": "use DEBUG, INFO, WARNING or ERROR",
    "log_format": "use plain or json",
    "allow_private_addresses": "use true or false",
    "shard_count": "use the total number of shards, a whole number from 1 (leave it empty to run unsharded)",
    "shard_ids": (
        "list this process's shard ids, from 0 to NEWSDESK_SHARD_COUNT - 1, separated by "
        "commas (leave it empty to run every shard)"
    ),
    "feeds": FEED_SYNTAX,
    "fulltext": "use auto, always or never",
    "database": "use a file path, or postgresql://USER:PASSWORD@HOST:PORT/DATABASE",
}


def _env_name(field: str) -> str:
    return "DISCORD_TOKEN" if field == "discord_token" else f"NEWSDESK_{field.upper()}"


def load_settings(env_file: str | Path | None = ".env", **overrides: Any) -> Settings:
    """Read the settings; any wrong value raises one clear :class:`ConfigError`."""
    try:
        return Settings(_env_file=env_file, **overrides)  # type: ignore[call-arg]
    except UnicodeDecodeError:
        raise ConfigError(_not_utf8(Path(str(env_file)))) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err.get("loc") or ("digest_channels",)
        field = str(loc[0]) if loc and loc[0] != "__root__" else "digest_channels"
        if field in {"DISCORD_TOKEN"}:
            field = "discord_token"
        value = err.get("input")
        shown = "(hidden)" if field == "discord_token" else repr(value)
        if field == "database":
            shown = repr(redact(value))
        if isinstance(value, dict):  # a model-level error: the channel list
            field = "digest_channels"
            shown = repr(value.get("digest_channels", ""))
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        fix = _FIXES.get(field, "see .env.example for the expected form")
        raise ConfigError(f"{_env_name(field)}={shown}: {msg}. Fix: {fix}.") from None


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
    known = {_env_name(name) for name in Settings.model_fields}
    names = {key.upper() for key in os.environ if key.upper().startswith("NEWSDESK_")}
    if env_file is not None and Path(env_file).is_file():
        from dotenv import dotenv_values

        try:
            values = dotenv_values(env_file, encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            values = {}
        names |= {key.upper() for key in values if key.upper().startswith("NEWSDESK_")}
    lines = []
    for name in sorted(names - known):
        tails = {k.removeprefix("NEWSDESK_"): k for k in known}
        close = difflib.get_close_matches(name.removeprefix("NEWSDESK_"), sorted(tails), n=1)
        hint = f"; did you mean {tails[close[0]]}?" if close else "; see .env.example"
        lines.append(f"{name} is not a Newsdesk setting and is ignored{hint}")
    return lines
