"""The loopback Discord against an unmodified discord.py client, and its validator."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import discord
import pytest
from discord import app_commands
from discord.ext import commands

from tests.conftest import shared_path
from tests.fakediscord import EPHEMERAL, FakeDiscord, FakeGuild
from tests.fakediscord.validate import (
    check_command,
    check_commands,
    check_message,
    schema_validator,
)

pytest_plugins = ["tests.fakediscord.fixtures"]  # the ``fake_discord`` fixture

NONE = discord.AllowedMentions.none()


@pytest.fixture(autouse=True)
def _spec_present() -> None:
    shared_path("discord-api-spec", "openapi.json")


class MoreView(discord.ui.View):
    """One button that edits the message it sits on."""

    @discord.ui.button(label="More", custom_id="more", style=discord.ButtonStyle.primary)
    async def more(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        await interaction.response.edit_message(
            content=f"more for {interaction.user.name}", view=None
        )


def make_bot(
    guild: FakeGuild, *, mentions: discord.AllowedMentions | None = NONE, slow: float = 0
) -> commands.Bot:
    """A plain commands.Bot with `/news search query [private]` (autocompleted) in one guild."""
    kwargs = {"allowed_mentions": mentions} if mentions is not None else {}
    bot = commands.Bot(
        command_prefix="!", intents=discord.Intents.default(), guild_ready_timeout=0.05, **kwargs
    )
    news = app_commands.Group(name="news", description="Read the news")

    @news.command(name="search", description="Search the stories")
    @app_commands.describe(query="Words to look for", private="Only you see the answer")
    async def search(interaction: discord.Interaction, query: str, private: bool = False) -> None:
        await asyncio.sleep(slow)
        admin = interaction.permissions.administrator
        await interaction.response.send_message(
            f"results for {query} (admin={admin})", ephemeral=private, view=MoreView()
        )
        await interaction.followup.send(f"1 story about {query}", ephemeral=private)

    @search.autocomplete("query")
    async def complete(
        interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f"{current} {i}", value=f"{current}{i}") for i in range(3)]

    bot.tree.add_command(news, guild=discord.Object(guild.id))
    bot.resumed_count = 0  # type: ignore[attr-defined]

    @bot.event
    async def on_resumed() -> None:
        bot.resumed_count += 1  # type: ignore[attr-defined]

    return bot


async def test_bot_logs_in_syncs_and_answers_interactions(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild("Newsroom", channels=["news", "general"])
    alice = guild.add_member("alice")
    bot = make_bot(guild)
    async with fake_discord.running(bot):
        assert bot.user is not None and bot.user.id == fake_discord.bot_user.id
        assert [g.id for g in bot.guilds] == [guild.id]
        assert {c.name for c in bot.guilds[0].text_channels} == {"news", "general"}
        assert fake_discord.identify_payload is not None
        assert fake_discord.identify_payload["intents"] == discord.Intents.default().value

        synced = await bot.tree.sync(guild=discord.Object(guild.id))
        assert [c.name for c in synced] == ["news"]
        stored = fake_discord.commands(guild)
        assert stored[0]["options"][0]["name"] == "search"
        assert stored[0]["guild_id"] == str(guild.id)

        # public answer from a non-admin member, then a followup
        handle = await fake_discord.send_command(
            "news search", {"query": "floods"}, member=alice, channel="general"
        )
        body = await handle.wait_response()
        assert body["type"] == 4
        assert body["data"]["content"] == "results for floods (admin=False)"
        assert body["data"]["allowed_mentions"] == {"parse": []}
        assert not handle.ephemeral
        assert handle.latency is not None and handle.latency >= 0
        (followup,) = await handle.wait_followups(1)
        assert followup["content"] == "1 story about floods"
        channel_msgs = fake_discord.messages[guild.channel("general").id]
        assert [m["content"] for m in channel_msgs] == [
            "results for floods (admin=False)",
            "1 story about floods",
        ]

        # the button on the original response edits that message (callback type 7)
        press = await fake_discord.send_component(handle.original, "more", member=alice)
        pressed = await press.wait_response()
        assert pressed["type"] == 7
        assert fake_discord.message(handle.original["id"])["content"] == "more for alice"

        # ephemeral answer from the (admin) owner stays out of the channel
        private = await fake_discord.send_command(
            "news search", {"query": "x", "private": True}, channel="general"
        )
        assert (await private.wait_response())["data"]["flags"] & EPHEMERAL
        (hidden,) = await private.wait_followups(1)
        assert "admin=True" in private.original["content"]
        assert hidden["flags"] & EPHEMERAL
        assert len(channel_msgs) == 2

        # autocomplete
        auto = await fake_discord.send_autocomplete(
            "news search", {"query": "clim"}, focused="query"
        )
        answer = await auto.wait_response()
        assert answer["type"] == 8
        assert [c["value"] for c in answer["data"]["choices"]] == ["clim0", "clim1", "clim2"]

        # a plain channel message with an embed
        news = guild.channel("news")
        channel = bot.get_channel(news.id)
        embed = discord.Embed(
            title="Today", description="Three stories", url="https://example.org/a"
        )
        embed.add_field(name="Floods", value="Rivers rise")
        sent = await channel.send("Daily digest", embed=embed)
        (posted,) = await fake_discord.wait_messages(news, 1)
        assert posted["id"] == str(sent.id)
        assert posted["embeds"][0]["fields"][0]["name"] == "Floods"
        history = [m.content async for m in channel.history(limit=5)]
        assert history == ["Daily digest"]
        fetched = await bot.fetch_channel(news.id)
        assert fetched.name == "news"
    assert fake_discord.problems() == []


async def test_deferred_answer_edit_and_late_guild(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild(channels=["news"])
    bot = commands.Bot(
        command_prefix="!",
        intents=discord.Intents.default(),
        allowed_mentions=NONE,
        guild_ready_timeout=0.05,
    )
    joined: list[int] = []

    @bot.tree.command(name="digest", description="Today's digest")
    @app_commands.default_permissions(manage_guild=True)
    async def digest(interaction: discord.Interaction, where: discord.TextChannel) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.edit_original_response(content=f"digest for {where.name}")

    @bot.event
    async def on_guild_join(new: discord.Guild) -> None:
        joined.append(new.id)

    async with fake_discord.running(bot):
        await bot.tree.sync()
        assert fake_discord.commands()[0]["name"] == "digest"  # global scope
        handle = await fake_discord.send_command("digest", {"where": guild.channel("news")})
        assert (await handle.wait_response())["type"] == 5
        edited = await handle.wait_edit(1)
        assert edited["content"] == "digest for news"
        assert fake_discord.messages[guild.channel("news").id] == [edited]
        with pytest.raises(ValueError, match="has no option"):
            await fake_discord.send_command("digest", {"channel": guild.channel("news")})
        bob = guild.add_member("bob")
        with pytest.raises(PermissionError, match="bob"):
            await fake_discord.send_command("digest", {"where": guild.channel("news")}, member=bob)
        with pytest.raises(ValueError, match="not there"):
            await fake_discord.send_component(edited, "nope")
        late = fake_discord.add_guild("Second", channels=["general"])
        for _ in range(100):
            if joined:
                break
            await asyncio.sleep(0.01)
        assert joined == [late.id]


async def test_rate_limit_429_is_retried(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild(channels=["news"])
    bot = make_bot(guild)
    async with fake_discord.running(bot):
        fault = fake_discord.fail_next("POST", "/channels/*/messages", 429, retry_after=0.01)
        await bot.get_channel(guild.channel("news").id).send("hello")
    assert fault.hits == 1
    posts = [r.status for r in fake_discord.requests if r.method == "POST"]
    assert posts == [429, 200]
    assert len(fake_discord.messages[guild.channel("news").id]) == 1


async def test_server_error_500_is_retried(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild(channels=["news"])
    bot = make_bot(guild)
    async with fake_discord.running(bot):
        fake_discord.fail_next("POST", "/channels/*/messages", 500)
        await bot.get_channel(guild.channel("news").id).send("hello")
    assert [r.status for r in fake_discord.requests if r.method == "POST"] == [500, 200]


async def test_forbidden_raises_and_locked_channel_is_forbidden(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild(channels=["news"])
    locked = guild.add_channel("locked", bot_can_send=False)
    bot = make_bot(guild)
    async with fake_discord.running(bot):
        channel = bot.get_channel(guild.channel("news").id)
        fake_discord.fail_next("POST", "/channels/*/messages", 403)
        with pytest.raises(discord.Forbidden) as err:
            await channel.send("hello")
        assert err.value.code == 50013
        locked_channel = bot.get_channel(locked.id)
        assert not locked_channel.permissions_for(locked_channel.guild.me).send_messages
        with pytest.raises(discord.Forbidden):
            await locked_channel.send("hello")
    assert fake_discord.messages[locked.id] == []


async def test_gateway_disconnect_resumes_and_replays(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild(channels=["news"])
    bot = make_bot(guild)
    async with fake_discord.running(bot):
        await bot.tree.sync(guild=discord.Object(guild.id))
        await fake_discord.disconnect_gateway(4000)
        # sent while the bot is away: replayed on RESUME
        handle = await fake_discord.send_command("news search", {"query": "after"})
        await fake_discord.wait_resumed(1)
        body = await handle.wait_response()
        assert body["data"]["content"].startswith("results for after")
        await handle.wait_followups(1)
        assert bot.resumed_count == 1
    assert fake_discord.gateway_connects == ["/gateway", "/gateway/resume"]
    assert fake_discord.resumes == 1


async def test_missing_allowed_mentions_is_a_violation() -> None:
    async with FakeDiscord() as fake:
        guild = fake.add_guild(channels=["news"])
        bot = make_bot(guild, mentions=None)
        async with fake.running(bot):
            message = await bot.get_channel(guild.channel("news").id).send("@everyone hi")
        assert message.content == "@everyone hi"  # accepted, as Discord would
        assert [v.problem for v in fake.violations] == [
            "allowed_mentions missing: send discord.AllowedMentions.none() ({'parse': []})"
        ]


async def test_oversized_message_is_rejected_like_discord() -> None:
    async with FakeDiscord() as fake:
        guild = fake.add_guild(channels=["news"])
        bot = make_bot(guild)
        async with fake.running(bot):
            with pytest.raises(discord.HTTPException) as err:
                await bot.get_channel(guild.channel("news").id).send("x" * 2001)
        assert err.value.status == 400 and err.value.code == 50035
        assert "content: 2001 characters, at most 2000" in [v.problem for v in fake.violations]
        assert fake.messages[guild.channel("news").id] == []


async def test_late_interaction_response_is_a_violation() -> None:
    async with FakeDiscord(ack_deadline=0.05) as fake:
        guild = fake.add_guild(channels=["news"])
        bot = make_bot(guild, slow=0.2)
        errors: list[Exception] = []

        async def on_error(interaction: discord.Interaction, error: Exception) -> None:
            errors.append(getattr(error, "original", error))

        bot.tree.on_error = (
            on_error  # the late callback gets 404 Unknown interaction, as on Discord
        )
        async with fake.running(bot):
            await bot.tree.sync(guild=discord.Object(guild.id))
            handle = await fake.send_command("news search", {"query": "late"})
            await handle.wait_response()
        assert handle.latency is not None and handle.latency > 0.05
        (violation,) = fake.violations
        assert "first response after" in violation.problem
        assert len(errors) == 1 and isinstance(errors[0], discord.NotFound)
        assert errors[0].code == 10062


async def test_nonce_is_enforced_like_discord(fake_discord: FakeDiscord) -> None:
    guild = fake_discord.add_guild(channels=["news"])
    bot = make_bot(guild)
    async with fake_discord.running(bot):
        channel = bot.get_channel(guild.channel("news").id)
        first = await channel.send("digest", nonce="digest-2024-06-01")
        again = await channel.send("digest", nonce="digest-2024-06-01")
        other = await channel.send("digest", nonce="digest-2024-06-02")
    assert first.id == again.id != other.id
    assert len(fake_discord.messages[guild.channel("news").id]) == 2


async def test_bad_token_is_refused_by_rest_and_gateway(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild()
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.default())
    with pytest.raises(discord.LoginFailure):
        await bot.login("wrong-token")
    await bot.close()
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(fake_discord.gateway_url) as ws,
    ):
        hello = await ws.receive_json()
        assert hello["op"] == 10 and hello["s"] is None
        await ws.send_json({"op": 2, "d": {"token": "wrong-token", "intents": 0, "properties": {}}})
        closed = await ws.receive()
        assert closed.type is aiohttp.WSMsgType.CLOSE and closed.data == 4004


async def test_privileged_intents_are_refused(fake_discord: FakeDiscord) -> None:
    fake_discord.add_guild()
    bot = commands.Bot(command_prefix="!", intents=discord.Intents.all())
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with fake_discord.running(bot):
            pass


async def test_unknown_endpoint_is_recorded() -> None:
    async with FakeDiscord() as fake:
        headers = {"Authorization": f"Bot {fake.token}"}
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{fake.http_url}/guilds/1/bans", headers=headers) as resp:
                assert resp.status == 404
                assert resp.headers["Content-Type"] == "application/json"
                assert json.loads(await resp.text())["message"] == "404: Not Found"
        assert [r.path for r in fake.unexpected] == ["/guilds/1/bans"]
        assert fake.problems() == ["unexpected request GET /guilds/1/bans"]


def test_point_discord_at_restores_urls() -> None:
    before = discord.http.Route.BASE
    from tests.fakediscord import point_discord_at

    with point_discord_at("http://127.0.0.1:1/api/v10", "ws://127.0.0.1:1/gateway"):
        assert discord.http.Route.BASE == "http://127.0.0.1:1/api/v10"
        assert str(discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:1/gateway"
    assert discord.http.Route.BASE == before


# --- the validator on its own ---------------------------------------------------------


def test_message_limits() -> None:
    ok = {"content": "hi", "allowed_mentions": {"parse": []}}
    assert check_message(ok) == []
    assert check_message({**ok, "content": "x" * 2000}) == []
    assert check_message({**ok, "content": "x" * 2001}) == [
        "content: 2001 characters, at most 2000"
    ]
    big = [{"description": "d" * 4000}, {"description": "d" * 2000, "title": "t"}]
    assert check_message({**ok, "embeds": big}) == [
        "embeds: 6001 characters in all embeds, at most 6000"
    ]
    assert check_message({"allowed_mentions": {"parse": []}}) == [
        "message is empty: no content, embeds, components, files or poll"
    ]
    assert check_message({"content": "hi"})[0].startswith("allowed_mentions missing")
    assert check_message({"content": "hi", "allowed_mentions": {"parse": ["everyone"]}}) != []
    rows = [{"type": 1, "components": []}] * 6
    assert check_message({**ok, "components": rows}) == ["components: 6 action rows, at most 5"]
    fields = [{"name": "n", "value": "v"}] * 26
    assert check_message({**ok, "embeds": [{"fields": fields}]}) == [
        "embeds/0/fields: 26 fields, at most 25"
    ]


def test_command_limits() -> None:
    good = {"name": "news", "description": "Read", "type": 1, "options": []}
    assert check_command(good) == []
    assert check_command({**good, "name": "News"}) == [
        "command 'News': name 'News' must be lower case"
    ]
    assert "does not match" in check_command({**good, "name": "two words"})[0]
    assert check_command({**good, "name": "nouvelles-été"}) == []
    assert check_command({**good, "description": ""})[0].endswith("got 0")
    options = [{"type": 3, "name": f"o{i}", "description": "d"} for i in range(26)]
    assert "26 options, at most 25" in check_command({**good, "options": options})[0]
    misordered = [
        {"type": 3, "name": "a", "description": "d"},
        {"type": 3, "name": "b", "description": "d", "required": True},
    ]
    assert "required options must come before" in check_command({**good, "options": misordered})[0]
    huge = {
        **good,
        "options": [
            {
                "type": 3,
                "name": f"o{i}",
                "description": "d" * 100,
                "choices": [{"name": "c" * 100, "value": "v" * 100}] * 25,
            }
            for i in range(4)
        ],
    }
    assert any("at most 8000" in p for p in check_command(huge))
    assert check_commands([good, good]) == ["command 'news' defined twice"]


def test_schema_validation() -> None:
    validator = schema_validator()
    path = "/channels/{channel_id}/messages"
    assert validator.template_for("/channels/123/messages") == path
    ok = {
        "content": "hi",
        "allowed_mentions": {"parse": []},
        "message_reference": {"message_id": 123},
    }
    assert validator.check_request("POST", path, ok) == []  # integer snowflake accepted
    typo = validator.check_request(
        "POST", path, {"content": "hi", "allowed_mention": {"parse": []}}
    )
    assert typo == [
        "(body): Additional properties are not allowed ('allowed_mention' was unexpected)"
    ]
    bad_url = validator.check_request(
        "POST", path, {"embeds": [{"url": "/relative/link", "flags": 0}]}
    )
    assert bad_url == ["embeds/0/url: '/relative/link' is not a 'uri'"]
    callback = "/interactions/{interaction_id}/{interaction_token}/callback"
    assert validator.check_request("POST", callback, {"type": 5, "data": {"flags": 64}}) == []
    assert validator.check_request("POST", callback, {"type": 8}) == [
        "(body): 'data' is a required property"
    ]
    commands_path = "/applications/{application_id}/guilds/{guild_id}/commands"
    cmd = [{"name": "news", "description": "d", "type": 1, "nsfw": False}]
    assert validator.check_request("PUT", commands_path, cmd) == []
