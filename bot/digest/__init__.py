"""The daily digest: pick a channel's stories, rank them, summarise them.

The names below are loaded on first use (PEP 562), so that importing one
submodule (``bot.digest.models``, as the terminal renderer does) does not
load the digest builder too.
"""

from __future__ import annotations

import importlib
from typing import Any

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


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name], __name__), name)
    globals()[name] = value
    return value
