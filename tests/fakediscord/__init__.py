"""A loopback Discord for end-to-end tests of the bot with the unmodified discord.py client.

The server speaks the real protocol on 127.0.0.1: a Gateway websocket (HELLO, heartbeat
ACK, IDENTIFY, READY, GUILD_CREATE, RESUME) and the REST endpoints a bot uses (login,
application info, command sync, channel messages, interaction callbacks, followups and
``@original`` edits). Every REST body is validated against Discord's OpenAPI spec plus
the documented limits (see :mod:`.validate`); problems become :class:`Violation` records.

Quick start::

    from tests.fakediscord import FakeDiscord

    async def test_something(fake_discord):          # fixture: tests/fakediscord/fixtures.py
        guild = fake_discord.add_guild("Test", channels=["news", "general"])
        alice = guild.add_member("alice")                # not an admin
        bot = make_bot()                                 # any discord.Client / commands.Bot
        async with fake_discord.running(bot):
            await bot.tree.sync(guild=discord.Object(guild.id))
            handle = await fake_discord.send_command("news latest", {"count": 3}, member=alice)
            body = await handle.wait_response()          # {"type": 4, "data": {...}}
            posts = await fake_discord.wait_messages(guild.channel("news"), 1)
        # the fixture fails the test at teardown if fake_discord.problems() is not empty
"""

from .server import FakeDiscord, Fault, RecordedRequest, Violation, point_discord_at
from .state import (
    ADMINISTRATOR,
    DEFAULT_EVERYONE,
    EPHEMERAL,
    MANAGE_GUILD,
    SEND_MESSAGES,
    FakeChannel,
    FakeGuild,
    FakeMember,
    FakeUser,
    InteractionHandle,
)

__all__ = [
    "ADMINISTRATOR",
    "DEFAULT_EVERYONE",
    "EPHEMERAL",
    "MANAGE_GUILD",
    "SEND_MESSAGES",
    "Fault",
    "FakeChannel",
    "FakeDiscord",
    "FakeGuild",
    "FakeMember",
    "FakeUser",
    "InteractionHandle",
    "RecordedRequest",
    "Violation",
    "point_discord_at",
]
