"""Guild visibility: which articles one Discord server may see. The one definition.

An article is visible to guild ``g`` when it is shared by every server
(``articles.guild_id = 0``: from .env, the CLI or a shared feed), owned by
``g`` (``articles.guild_id = g``), or reached through a feed that ``g``
subscribed to (``article_feeds`` -> ``feeds.guild_id = g``). Stories are
visible through their visible articles. ``guild_id=None`` (the CLI, the
operator) sees everything; guild 0 sees the shared articles only.
"""

from __future__ import annotations


def visible_sql(alias: str = "a", param: str = ":guild") -> str:
    """SQL condition: article ``alias`` is visible to the guild bound as ``param``.

    ``param`` is a named placeholder (``:guild``) bound once, or ``"?"``, in
    which case the condition takes the guild id twice, as ``visible_params``
    gives it.
    """
    return (
        f"({alias}.guild_id IN (0, {param}) OR EXISTS (SELECT 1 FROM article_feeds AS af_v"  # noqa: S608
        f" JOIN feeds AS f_v ON f_v.id = af_v.feed_id"
        f" WHERE af_v.article_id = {alias}.id AND f_v.guild_id = {param}))"
    )


def visible_params(guild_id: int) -> list[int]:
    """The positional parameters of ``visible_sql(alias, "?")``."""
    return [guild_id, guild_id]
