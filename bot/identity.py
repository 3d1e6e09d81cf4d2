"""What makes two articles the same: canonical URLs, content hashes, usable GUIDs."""

from __future__ import annotations

import hashlib
import re
from urllib.parse import SplitResult, unquote_plus, urlsplit, urlunsplit

# Query parameters that only track the reader; compared case-insensitively.
TRACKING_PARAMS = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "igsh",
        "yclid",
        "ysclid",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "__hssc",
        "__hstc",
        "__hsfp",
        "hsctatracking",
        "mkt_tok",
        "ref_src",
        "ref_url",
        "oly_anon_id",
        "oly_enc_id",
        "vero_conv",
        "vero_id",
        "wickedid",
        "twclid",
        "ttclid",
        "li_fat_id",
        "s_cid",
        "ncid",
        "cmpid",
        "guccounter",
        "guce_referrer",
        "guce_referrer_sig",
        "sr_share",
        "at_medium",
        "at_campaign",
        "at_custom1",
        "at_custom2",
        "at_custom3",
        "at_custom4",
        "ito",
        "smid",
        "spm",
        "xtor",
        "cid_source",
        "fb_action_ids",
        "fb_action_types",
        "fb_source",
        "fb_ref",
        "action_object_map",
        "action_type_map",
        "action_ref_map",
        "__twitter_impression",
        "wt_mc",
        "wt.mc_id",
        "ocid",
        "trk",
        "trkcampaign",
    }
)
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "piwik_", "matomo_", "hmb_")

_DEFAULT_PORTS = {"http": 80, "https": 443}
_PUNCTUATION = re.compile(r"[^\w\s]|_")  # one char at a time is faster here than "+"
# The ASCII characters _PUNCTUATION removes: ASCII text (most bodies) drops them
# as bytes, three times faster than the expression, with the same result.
_ASCII_PUNCTUATION = bytes(c for c in range(128) if _PUNCTUATION.fullmatch(chr(c)))

# GUIDs that say nothing about which article they name.
PLACEHOLDER_GUIDS = frozenset(
    "item entry guid id post article story news link permalink null none nil undefined "
    "true false n/a na tbd todo default rss feed".split()
)
MIN_GUID_CHARS = 4
MIN_NUMERIC_DIGITS = 6  # purely numeric GUIDs below 100000 are item counters


def canonical_url(url: str | None) -> str | None:
    """A stable form of an http(s) URL, or None for anything else.

    Scheme and host lower-cased (IDN host in punycode), default port, user info,
    fragment and tracking parameters (utm_*, fbclid, gclid, ...) dropped, other
    query parameters kept as written and in order, empty path -> "/".
    """
    if not isinstance(url, str):
        return None
    found = _http_parts(url.strip().replace(" ", "%20"))
    if found is None:
        return None
    parts, netloc = found
    return urlunsplit(
        (parts.scheme.lower(), netloc, parts.path or "/", _strip_tracking(parts.query), "")
    )


# Discord's limit for an embed's image and thumbnail URL (RichEmbedImage.url).
MAX_IMAGE_URL_CHARS = 2048
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def image_url(url: str | None) -> str | None:
    """An image URL fit to store and show, or None.

    The checks of a link (:func:`canonical_url`): http(s) only, a host, control
    characters refused, IDN host in punycode, scheme and host lower-cased,
    default port and fragment dropped; and more: user info (credentials) refuses
    the URL, as does a length over :data:`MAX_IMAGE_URL_CHARS`. The path and
    query stay as written (a CDN's signed query must not change).
    """
    if not isinstance(url, str):
        return None
    url = url.strip()
    if not url or _CONTROL.search(url) or len(url) > MAX_IMAGE_URL_CHARS:
        return None
    found = _http_parts(url.replace(" ", "%20"), strict_host=True)
    if found is None or "@" in found[0].netloc:
        return None
    parts, netloc = found
    out = urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))
    return out if len(out) <= MAX_IMAGE_URL_CHARS else None


def _http_parts(url: str, *, strict_host: bool = False) -> tuple[SplitResult, str] | None:
    """``url`` split, and its netloc rebuilt (lower-case punycode host, default port
    dropped, no user info); None unless it is http(s) with a host."""
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    host = _ascii_host(host.rstrip("."))
    if not host or (strict_host and not _HOST.fullmatch(host)):
        return None
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 literal keeps its brackets
    if port not in (None, _DEFAULT_PORTS[scheme]):
        netloc += f":{port}"
    return parts, netloc


_HOST = re.compile(r"[a-z0-9._~%:-]+|[0-9a-f:.]+")


def _ascii_host(host: str) -> str | None:
    """Lower-cased host, IDN labels in punycode; None when not encodable."""
    host = host.lower()
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def _strip_tracking(query: str) -> str:
    """The query without tracking parameters (others untouched, order kept)."""
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        if not pair:
            continue
        name = unquote_plus(pair.split("=", 1)[0]).strip().lower()
        if name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES):
            continue
        kept.append(pair)
    return "&".join(kept)


def normalise_for_hash(text: str) -> str:
    """Case-folded, punctuation-free, whitespace-collapsed text."""
    folded = text.casefold()
    if folded.isascii():
        return " ".join(folded.encode("ascii").translate(None, _ASCII_PUNCTUATION).decode().split())
    return " ".join(_PUNCTUATION.sub("", folded).split())


def content_hash(title: str, body: str) -> str:
    """Stable hex digest (BLAKE2b, 16 bytes) of the normalised title and body."""
    payload = f"{normalise_for_hash(title or '')}\n{normalise_for_hash(body or '')}"
    return hashlib.blake2b(payload.encode("utf-8", "replace"), digest_size=16).hexdigest()


def is_trustworthy_guid(guid: str | None, url: str | None) -> bool:
    """Whether a feed GUID can identify an article on its own.

    Rule: a GUID is not trusted when it is empty, shorter than
    ``MIN_GUID_CHARS`` characters, has no letter or digit, is purely numeric
    and below 100000 (``MIN_NUMERIC_DIGITS``: feeds numbering items 1, 2, 3...), is a
    placeholder word ("item", "guid", "null", ...), or is a URL naming a site's
    home page (no path, query or fragment: the feed's own link, not an
    article's). ``url`` is the entry's link; a GUID equal to it is fine.
    """
    if not isinstance(guid, str):
        return False
    value = guid.strip()
    if len(value) < MIN_GUID_CHARS or not any(char.isalnum() for char in value):
        return False
    if value.isascii() and value.isdigit() and len(value.lstrip("0")) < MIN_NUMERIC_DIGITS:
        return False
    if value.casefold() in PLACEHOLDER_GUIDS:
        return False
    return not _is_home_page(value)


def _is_home_page(value: str) -> bool:
    """True for "https://example.com" or "https://example.com/"."""
    if "://" not in value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return True
    return bool(parts.netloc) and parts.path in ("", "/") and not parts.query and not parts.fragment
