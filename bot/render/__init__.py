"""Turning digests and search results into Discord payloads, terminal output and JSON.

Nothing here imports discord.py: payloads are plain dicts in Discord's API shape.
The names below are loaded on first use (PEP 562): the terminal needs neither
the Discord payloads nor the JSON output.
"""

from __future__ import annotations

from bot.lazy import lazy_exports

_EXPORTS = {
    "digest_to_json": ".jsonout",
    "print_digest": ".terminal",
    "print_search_page": ".terminal",
    "render_digest_messages": ".discord_embeds",
    "render_search_page": ".discord_embeds",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_exports(__name__, _EXPORTS)
