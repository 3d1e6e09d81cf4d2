"""``newsdesk`` pointed at a loopback Discord, for tests that run the bot as a real process.

    FAKEDISCORD_HTTP=http://127.0.0.1:PORT/api/v10 FAKEDISCORD_GATEWAY=ws://127.0.0.1:PORT/gateway \\
        python -m tests.fakediscord.run run

The two variables come from :attr:`FakeDiscord.http_url` and :attr:`FakeDiscord.gateway_url`;
the arguments are the ``newsdesk`` command's.
"""

from __future__ import annotations

import os
import sys

from .server import point_discord_at


def main() -> int:
    from bot.launch import main as newsdesk

    with point_discord_at(os.environ["FAKEDISCORD_HTTP"], os.environ["FAKEDISCORD_GATEWAY"]):
        sys.argv = ["newsdesk", *sys.argv[1:]]
        return newsdesk()


if __name__ == "__main__":
    sys.exit(main())
