"""Making entry links absolute and refusing the dangerous schemes."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from bot.identity import image_url

_ALLOWED_SCHEMES = frozenset({"http", "https"})


def resolve_link(href: object, base: str | None = None) -> str | None:
    """``href`` made absolute against ``base``; None unless the result is http(s).

    ``javascript:``, ``data:``, ``mailto:`` and the like are dropped.
    """
    if not isinstance(href, str):
        return None
    href = href.strip()
    if not href or len(href) > 4096:
        return None
    try:
        absolute = urljoin(base, href) if base else href
        parts = urlsplit(absolute)
    except ValueError:
        return None
    if parts.scheme.lower() not in _ALLOWED_SCHEMES or not parts.netloc:
        return None
    return absolute


def resolve_image(href: object, base: str | None = None) -> str | None:
    """An image URL made absolute against ``base`` and checked like a link, plus
    the image rules of :func:`bot.identity.image_url` (no credentials, at most
    2048 characters); None when it fails any."""
    return image_url(resolve_link(href, base))
