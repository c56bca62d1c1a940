"""Where discord.py sends REST calls and opens the gateway. The ONLY module that touches discord.py internals.

discord.py has no public option for either, so we set two class attributes it reads (checked against 2.7):

- ``discord.http.Route.BASE``: every REST route, interaction callbacks and webhook follow-ups included, is
  built from it when the call is made.
- ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY``: where a plain (unsharded) ``Client`` connects, and
  where it falls back to when Discord invalidates a session.

Both are process-wide, so :func:`pointed_at` restores them on exit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

API_VERSION_PATH = "/api/v10"


def normalise_api_base(value: str) -> str:
    """``http://proxy:8080`` → ``http://proxy:8080/api/v10``; a base that names its own path is kept as is."""
    value = value.strip().rstrip("/")
    path = urlsplit(value).path
    return value + API_VERSION_PATH if path in ("", "/") else value


class Endpoints:
    """The REST base and gateway URL in force inside :func:`pointed_at`."""

    def set_gateway(self, url: str) -> None:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)

    @property
    def api_base(self) -> str:
        return Route.BASE

    @property
    def gateway(self) -> str:
        return str(DiscordWebSocket.DEFAULT_GATEWAY)


@contextmanager
def pointed_at(api_base: str | None, gateway_url: str | None) -> Iterator[Endpoints]:
    """Aim REST at ``api_base`` and the gateway at ``gateway_url`` (each only if given), then restore."""
    old_base, old_gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    try:
        if api_base:
            Route.BASE = normalise_api_base(api_base)
        if gateway_url:
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)
        yield Endpoints()
    finally:
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = old_base, old_gateway


async def gateway_from_api(client: discord.Client) -> str:
    """Ask the REST API where its gateway is (``GET /gateway/bot``), as sharded clients do."""
    _shards, url, _limits = await client.http.get_bot_gateway()
    return url
