"""Turning digests and search results into Discord payloads, terminal output and JSON.

Nothing here imports discord.py: payloads are plain dicts in Discord's API shape.
"""

from .discord_embeds import render_digest_messages, render_search_page, render_story_embed
from .jsonout import digest_to_json
from .terminal import print_digest, print_search_page

__all__ = [
    "digest_to_json",
    "print_digest",
    "print_search_page",
    "render_digest_messages",
    "render_search_page",
    "render_story_embed",
]
