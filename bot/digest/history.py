"""What a channel was shown: a sent digest's items as the coverage the store keeps."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..store import digest_history
from ..store.digest_history import already_sent
from .models import DigestItem

if TYPE_CHECKING:
    from ..store import Connection

__all__ = ["already_sent", "record_sent"]


async def record_sent(
    db: Connection, channel_id: int, day: dt.date, items: Iterable[DigestItem]
) -> int:
    """Record that ``items`` went to ``channel_id`` in the digest of ``day``.

    What counts is each story's number of outlets (``source_count``): a later
    digest shows the story again only when it has gained enough of them.
    Opens no transaction of its own; returns the number of rows written.
    """
    coverage = {item.story_id: item.source_count for item in items}
    return await digest_history.record_sent(db, channel_id, day, coverage)
