"""The one module that aims discord.py's REST base and gateway elsewhere."""

from __future__ import annotations

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.discord._endpoints import normalise_api_base, pointed_at


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/api/v10"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080/api/v10"),
        ("http://127.0.0.1:8080/api/v10/", "http://127.0.0.1:8080/api/v10"),
        ("https://proxy.internal/discord/api/v10", "https://proxy.internal/discord/api/v10"),
    ],
)
def test_api_base_gets_the_version_path_when_it_has_none(given: str, used: str) -> None:
    """A bare host:port means the usual /api/v10; a base with a path is used as given."""
    assert normalise_api_base(given) == used


def test_pointed_at_sets_and_restores_both_endpoints() -> None:
    """Inside the block REST routes and the gateway use the given URLs; afterwards the defaults return."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    with pointed_at("http://127.0.0.1:1", "ws://127.0.0.1:2/gateway") as endpoints:
        assert Route("GET", "/users/@me").url == "http://127.0.0.1:1/api/v10/users/@me"
        assert endpoints.gateway == "ws://127.0.0.1:2/gateway"
        endpoints.set_gateway("ws://127.0.0.1:3/")
        assert str(DiscordWebSocket.DEFAULT_GATEWAY) == "ws://127.0.0.1:3/"
    assert (base, gateway) == (Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY)


def test_nothing_set_leaves_discord_defaults() -> None:
    """Without overrides the bot talks to Discord itself."""
    with pointed_at(None, None) as endpoints:
        assert endpoints.api_base == "https://discord.com/api/v10"
        assert endpoints.gateway == "wss://gateway.discord.gg/"
