"""Work run in a child process so its peak resident memory can be read on its own.

``python -m bench.child ingest STORE FILE...``: ``Newsdesk.ingest_sources``.
``python -m bench.child services STORE``: what the running bot's services do
on a store: open it, the search mix, ``/news date`` lookups and the digest of
the last full day. Prints one JSON line with ``peak_rss_mib`` (VmHWM, see ``own_peak_rss_mib``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot.allocator import limit_arenas
from bot.config import DigestChannel
from bot.services import Newsdesk

from .common import own_peak_rss_mib
from .context import settings_for


async def ingest(store: Path, files: list[str]) -> dict[str, Any]:
    desk = await Newsdesk.open(settings_for(store), database=store)
    try:
        outcome = await desk.ingest_sources(files)
    finally:
        await desk.close()
    return {"new": outcome.report.new, "failed": outcome.report.failed}


async def services(store: Path, queries: list[str]) -> dict[str, Any]:
    from datetime import time as dtime

    from .digest import last_full_day

    desk = await Newsdesk.open(settings_for(store), database=store)
    try:
        newest = await desk.newest_article_time()
        assert newest is not None
        now = newest + timedelta(hours=1)
        hits = 0
        for text in queries:
            page = await desk.search(text, now=now)
            hits += len(page.hits)
        for text in ("yesterday", "today", "last week"):
            start, end = desk.parse_dates(text, now=now)
            await desk.stories_between(start, end, limit=25)
        start, end, _ = await last_full_day(desk)
        channel = DigestChannel(channel_id=1, time=dtime(end.hour, end.minute), timezone="UTC")
        digest = await desk.build_digest(channel, end.date(), now=end)
        await desk.latest_stories(10)
    finally:
        await desk.close()
    return {"hits": hits, "digest_items": len(digest.items)}


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in {"ingest", "services"}:
        print("usage: python -m bench.child ingest|services STORE [ARGS...]", file=sys.stderr)
        return 2
    limit_arenas()  # as the newsdesk command starts (bot.launch)
    store = Path(argv[1])
    if argv[0] == "ingest":
        out = asyncio.run(ingest(store, argv[2:]))
    else:
        out = asyncio.run(services(store, argv[2:]))
    out["peak_rss_mib"] = own_peak_rss_mib()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
