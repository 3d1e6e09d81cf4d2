"""Outlet identity: when two articles come from the same outlet.

One rule, used wherever outlets are counted (a story's "covered by N
sources", the digest's per-outlet cap, clustering's outlet tallies): names
compare case-folded with runs of blank space collapsed. An article whose
outlet is not known (no name, no site, no URL host: its source is
:data:`UNKNOWN`) is its own outlet: two unknown outlets are never taken to
be the same one, so two anonymous reports of an event count as two.
"""

from __future__ import annotations

UNKNOWN = "unknown"  # the stored source of an article whose outlet nobody named


def is_unknown(source: str | None) -> bool:
    """True when ``source`` names no outlet."""
    return not source or " ".join(source.split()).casefold() == UNKNOWN


def outlet_key(source: str | None, anonymous_id: int) -> str:
    """The key under which ``source`` is counted as one outlet.

    ``anonymous_id`` (the article's id, or anything unique to it) keeps an
    unknown outlet apart from every other one.
    """
    if is_unknown(source):
        return f"{UNKNOWN}#{anonymous_id}"
    return " ".join((source or "").split()).casefold()
