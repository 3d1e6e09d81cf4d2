"""Where the store lives: a file path (SQLite) or a ``postgresql://`` URL.

The one rule for telling them apart, and for showing a URL without its
password (in messages, logs and ``config check``); used by the settings, the
command line and the store alike.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

URL_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: object) -> bool:
    """Whether a database location names a PostgreSQL server."""
    return str(location).startswith(URL_SCHEMES)


def redact(location: object) -> str:
    """``location`` fit for a message or a log: a URL's password is ``***``."""
    text = str(location)
    if not is_postgres_url(text):
        return text
    try:
        parts = urlsplit(text)
        password, user, host, port = parts.password, parts.username, parts.hostname, parts.port
    except ValueError:
        return text.split("://", 1)[0] + "://***"
    if password is None:
        return text
    netloc = f"{user or ''}:***@{host or ''}" + (f":{port}" if port is not None else "")
    return urlunsplit(parts._replace(netloc=netloc))


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable PostgreSQL URL, or ``None``."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if not parts.path.strip("/"):
        return "no database name (postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
    if not parts.hostname and "host=" not in parts.query:
        return "no host (postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
    return None
