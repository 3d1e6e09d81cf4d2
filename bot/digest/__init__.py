"""The daily digest: pick a channel's stories, rank them, summarise them.

The names below are loaded on first use (PEP 562), so that importing one
submodule (``bot.digest.models``, as the terminal renderer does) does not
load the digest builder too.
"""

from __future__ import annotations

from bot.lazy import lazy_exports

_EXPORTS = {
    "Digest": ".models",
    "DigestItem": ".models",
    "already_sent": ".history",
    "build_digest": ".build",
    "choose_headline": ".summary",
    "digest_window": ".build",
    "make_sections": ".build",
    "record_sent": ".history",
    "summarize": ".summary",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
