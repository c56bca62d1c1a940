"""A local fake of Discord's REST API and gateway, enough for discord.py 2.7 to log in, connect and answer.

Everything runs on 127.0.0.1 with an ephemeral port. The fake records what the bot sends (interaction
callbacks, follow-ups, edits, the synced command schema) and lets a test push raw gateway dispatches, so
interactions travel through discord.py's own websocket parsing, state and command dispatch.

    fake = FakeDiscord()
    await fake.start()
    ...  # start the bot with api_base=fake.api_base (and optionally gateway_url=fake.gateway_url)
    await fake.wait_identified()
    sent = await fake.push_interaction(payloads.slash("port", query="25565"))
    callback = await fake.wait_callback(sent.id)

Run as a script (``python -m tests.bot.discord.fake_discord``) it serves until interrupted and prints its
two URLs, for poking at a bot by hand.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

APP_ID = 1188000000000000001
BOT_USER_ID = APP_ID  # Discord gives a bot user the application's id
OWNER_ID = 1188000000000000002
API_PREFIX = "/api/v10"
EPHEMERAL = 1 << 6

BOT_USER = {
    "id": str(BOT_USER_ID),
    "username": "Portbot",
    "global_name": None,
    "discriminator": "0000",
    "avatar": None,
    "bot": True,
    "flags": 0,
    "public_flags": 0,
}


@dataclass
class Recorded:
    """One REST call the bot made."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    at: float  # time.perf_counter() when the fake received it
    message: dict[str, Any] | None = None  # the message a follow-up created


@dataclass
class Callback:
    """An interaction callback: ``POST /interactions/{id}/{token}/callback``."""

    interaction_id: str
    token: str
    type: int
    data: dict[str, Any]
    at: float
    message: dict[str, Any] | None = None  # the message it created, if any

    @property
    def flags(self) -> int:
        return int(self.data.get("flags") or 0)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)


@dataclass
class Sent:
    """An interaction pushed through the gateway."""

    id: str
    token: str
    payload: dict[str, Any]
    at: float


@dataclass
class _Socket:
    ws: web.WebSocketResponse
    compressor: Any | None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    shard: tuple[int, int] = (0, 1)  # (id, count) from IDENTIFY


def shard_of(guild_id: int | None, shard_count: int) -> int:
    """The shard Discord sends a guild's events to; DMs go to shard 0."""
    return 0 if guild_id is None else (guild_id >> 22) % shard_count


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py parses a body as JSON only when Content-Type is exactly "application/json", as Discord sends.
    return web.Response(body=json.dumps(data).encode(), status=status, content_type="application/json")


class FakeDiscord:
    """REST + gateway fake. Start with :meth:`start`, stop with :meth:`close`."""

    def __init__(self, *, token: str = "fake-token", heartbeat_interval_ms: int = 45_000) -> None:
        self.token = token
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.requests: list[Recorded] = []
        self.callbacks: list[Callback] = []
        self.followups: list[Recorded] = []
        self.edits: list[Recorded] = []
        self.commands: dict[str | None, list[dict[str, Any]]] = {}
        self.identifies: list[dict[str, Any]] = []
        self.gateway_queries: list[dict[str, str]] = []
        self.channel_calls: list[Recorded] = []  # POST/PATCH on /channels/{id}/messages…
        self.forbidden_channels: set[str] = (
            set()
        )  # channels the bot may not post in (403 Missing Permissions)
        self.messages: dict[str, dict[str, Any]] = {}  # by message id
        self.originals: dict[str, dict[str, Any]] = {}  # interaction token -> original response message
        self._channels: dict[str, str] = {}  # interaction token -> channel id
        self._ids = itertools.count(1_200_000_000_000_000_000)
        self._sequence = 0
        self._sockets: list[_Socket] = []
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.app = web.Application()
        self._routes()

    # -- lifecycle -------------------------------------------------------------------------------------

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        for socket in list(self._sockets):
            await socket.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def snowflake(self) -> str:
        return str(next(self._ids))

    # -- what tests call ---------------------------------------------------------------------------------

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate()`` returns something truthy (re-checked on every recorded event)."""
        async with self._changed:
            return await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def wait_identified(self, count: int = 1, timeout: float = 15.0) -> dict[str, Any]:
        """Wait for the bot's IDENTIFY (READY has been sent by the time this returns)."""
        await self.wait_for(lambda: len(self.identifies) >= count and self._sockets, timeout)
        return self.identifies[count - 1]

    async def push_interaction(self, payload: dict[str, Any]) -> Sent:
        """Send an INTERACTION_CREATE dispatch to every connected bot."""
        self._channels[payload["token"]] = str(payload.get("channel_id", "0"))
        at = await self.dispatch("INTERACTION_CREATE", payload)
        return Sent(payload["id"], payload["token"], payload, at)

    async def dispatch(self, event: str, data: dict[str, Any]) -> float:
        """Send one gateway dispatch to the connection of the shard its guild belongs to (every connection, if
        the bots are unsharded); returns perf_counter() just before it went on the wire."""
        self._sequence += 1
        message = {"op": 0, "t": event, "s": self._sequence, "d": data}
        guild = int(data["guild_id"]) if data.get("guild_id") else None
        at = time.perf_counter()
        for socket in list(self._sockets):
            shard_id, count = socket.shard
            if count == 1 or shard_of(guild, count) == shard_id:
                await self._send(socket, message)
        return at

    async def wait_callback(self, interaction_id: str, timeout: float = 10.0) -> Callback:
        def found() -> Callback | None:
            return next((c for c in self.callbacks if c.interaction_id == interaction_id), None)

        result: Callback = await self.wait_for(found, timeout)
        return result

    async def wait_followup(self, token: str, timeout: float = 10.0) -> Recorded:
        def found() -> Recorded | None:
            return next((f for f in self.followups if f.path.split("/")[3] == token), None)

        result: Recorded = await self.wait_for(found, timeout)
        return result

    def outgoing_payloads(self) -> list[dict[str, Any]]:
        """Every message-bearing body the bot sent (callbacks with data, follow-ups, edits)."""
        bodies: list[dict[str, Any]] = []
        for callback in self.callbacks:
            if callback.type in (4, 7):
                bodies.append(callback.data)
        bodies.extend(r.body for r in self.followups + self.edits if isinstance(r.body, dict))
        return bodies

    # -- REST ----------------------------------------------------------------------------------------------

    def _routes(self) -> None:
        r = self.app.router
        p = API_PREFIX
        r.add_get("/gateway", self._gateway)
        r.add_get(p + "/gateway/bot", self._gateway_bot)
        r.add_get(p + "/gateway", self._gateway_bot)
        r.add_get(p + "/users/@me", self._me)
        r.add_get(p + "/oauth2/applications/@me", self._application)
        r.add_get(p + "/applications/@me", self._application)
        r.add_put(p + "/applications/{app}/commands", self._put_commands)
        r.add_put(p + "/applications/{app}/guilds/{guild}/commands", self._put_commands)
        r.add_get(p + "/applications/{app}/commands", self._get_commands)
        r.add_get(p + "/applications/{app}/guilds/{guild}/commands", self._get_commands)
        r.add_post(p + "/interactions/{id}/{token}/callback", self._callback)
        r.add_post(p + "/webhooks/{app}/{token}", self._followup)
        r.add_get(p + "/webhooks/{app}/{token}/messages/@original", self._get_original)
        r.add_patch(p + "/webhooks/{app}/{token}/messages/{message}", self._edit_message)
        r.add_post(p + "/channels/{channel}/messages", self._post_channel_message)
        r.add_patch(p + "/channels/{channel}/messages/{message}", self._edit_channel_message)
        r.add_route("*", p + "/{tail:.*}", self._unknown)

    async def _record(self, request: web.Request) -> Recorded:
        at = time.perf_counter()
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            body = json.loads(raw) if raw else None
        recorded = Recorded(
            request.method, request.path.removeprefix(API_PREFIX), dict(request.query), body, at
        )
        self.requests.append(recorded)
        return recorded

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def _check_auth(self, request: web.Request) -> None:
        if request.headers.get("Authorization") != f"Bot {self.token}":
            raise web.HTTPUnauthorized(
                text=json.dumps({"message": "401: Unauthorized", "code": 0}), content_type="application/json"
            )

    async def _gateway_bot(self, request: web.Request) -> web.Response:
        await self._record(request)
        self._check_auth(request)
        return _json(
            {
                "url": self.gateway_url,
                "shards": 1,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        )

    async def _me(self, request: web.Request) -> web.Response:
        await self._record(request)
        self._check_auth(request)
        return _json(BOT_USER)

    async def _application(self, request: web.Request) -> web.Response:
        await self._record(request)
        self._check_auth(request)
        return _json(
            {
                "id": str(APP_ID),
                "name": "Portbot",
                "icon": None,
                "description": "Ports, explained and checked",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": {**BOT_USER, "id": str(OWNER_ID), "username": "owner", "bot": False},
                "verify_key": "0" * 64,
                "flags": 0,
                "team": None,
                "summary": "",
                "interactions_endpoint_url": None,
            }
        )

    async def _put_commands(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        self._check_auth(request)
        guild = request.match_info.get("guild")
        stored = []
        for command in recorded.body or []:
            stored.append(
                {
                    "description": "",  # Discord answers "" for context-menu commands, which send none
                    **command,
                    "id": self.snowflake(),
                    "application_id": str(APP_ID),
                    "version": self.snowflake(),
                    **({"guild_id": guild} if guild else {}),
                }
            )
        self.commands[guild] = stored
        await self._notify()
        return _json(stored)

    async def _get_commands(self, request: web.Request) -> web.Response:
        await self._record(request)
        return _json(self.commands.get(request.match_info.get("guild"), []))

    def _message(self, body: dict[str, Any], *, token: str = "", kind: int = 0) -> dict[str, Any]:
        message_id = self.snowflake()
        message = {
            "id": message_id,
            "channel_id": self._channels.get(token, "0"),
            "author": BOT_USER,
            "content": body.get("content") or "",
            "timestamp": "2025-01-01T00:00:00.000000+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": body.get("embeds") or [],
            "components": body.get("components") or [],
            "pinned": False,
            "type": kind,
            "flags": int(body.get("flags") or 0),
            "application_id": str(APP_ID),
            "webhook_id": str(APP_ID),
        }
        self.messages[message_id] = message
        return message

    async def _callback(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        body = recorded.body or {}
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        token = request.match_info["token"]
        message = None
        if kind in (4, 5, 7):  # message, deferred message ("thinking"), update
            message = self._message(data, token=token, kind=20)
            self.originals[token] = message
        callback = Callback(request.match_info["id"], token, kind, data, recorded.at, message)
        self.callbacks.append(callback)
        await self._notify()
        response: dict[str, Any] = {
            "interaction": {
                "id": callback.interaction_id,
                "type": 2,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": callback.ephemeral,
                **({"response_message_id": message["id"]} if message else {}),
            }
        }
        if message is not None:
            response["resource"] = {"type": kind, "message": message}
        return _json(response)

    async def _followup(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        message = self._message(recorded.body or {}, token=request.match_info["token"])
        recorded.message = message
        self.followups.append(recorded)
        await self._notify()
        if request.query.get("wait") in ("1", "true", "True"):
            return _json(message)
        return web.Response(status=204)

    async def _get_original(self, request: web.Request) -> web.Response:
        await self._record(request)
        message = self.originals.get(request.match_info["token"])
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(message)

    async def _edit_message(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        self.edits.append(recorded)
        original = self.originals.get(request.match_info["token"]) or self._message({})
        original.update(
            {k: v for k, v in (recorded.body or {}).items() if k in ("content", "embeds", "components")}
        )
        await self._notify()
        return _json(original)

    async def _post_channel_message(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        self._check_auth(request)
        if request.match_info["channel"] in self.forbidden_channels:
            await self._notify()
            return _json({"message": "Missing Permissions", "code": 50013}, status=403)
        message = self._message(recorded.body or {})
        message["channel_id"] = request.match_info["channel"]
        recorded.message = message
        self.channel_calls.append(recorded)
        await self._notify()
        return _json(message)

    async def _edit_channel_message(self, request: web.Request) -> web.Response:
        recorded = await self._record(request)
        self._check_auth(request)
        message = self.messages.get(request.match_info["message"])
        if message is None or message["channel_id"] != request.match_info["channel"]:
            await self._notify()
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        message.update(
            {k: v for k, v in (recorded.body or {}).items() if k in ("content", "embeds", "components")}
        )
        message["edited_timestamp"] = "2025-01-01T00:01:00.000000+00:00"
        recorded.message = message
        self.channel_calls.append(recorded)
        await self._notify()
        return _json(message)

    async def _unknown(self, request: web.Request) -> web.Response:
        await self._record(request)
        await self._notify()
        return _json({"message": "404: Not Found (fake Discord)", "code": 0}, status=404)

    # -- gateway -------------------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        self.gateway_queries.append(dict(request.query))
        compress = request.query.get("compress")
        if compress not in (None, "zlib-stream"):
            raise web.HTTPBadRequest(text=f"fake gateway speaks zlib-stream only, not {compress}")
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        socket = _Socket(ws, zlib.compressobj() if compress == "zlib-stream" else None)
        await self._send(socket, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for frame in ws:
                if frame.type is not WSMsgType.TEXT:
                    continue
                await self._on_gateway_message(socket, json.loads(frame.data))
        finally:
            if socket in self._sockets:
                self._sockets.remove(socket)
            await self._notify()
        return ws

    async def _on_gateway_message(self, socket: _Socket, message: dict[str, Any]) -> None:
        op = message.get("op")
        if op == 1:  # heartbeat
            await self._send(socket, {"op": 11})
        elif op == 2:  # identify
            self.identifies.append(message["d"])
            shard = message["d"].get("shard") or [0, 1]
            socket.shard = (int(shard[0]), int(shard[1]))
            self._sequence += 1
            await self._send(
                socket,
                {
                    "op": 0,
                    "t": "READY",
                    "s": self._sequence,
                    "d": {
                        "v": 10,
                        "user": BOT_USER,
                        "guilds": [],
                        "session_id": "fake-session",
                        "resume_gateway_url": self.gateway_url,
                        "application": {"id": str(APP_ID), "flags": 0},
                        "shard": list(socket.shard),
                    },
                },
            )
            self._sockets.append(socket)
            await self._notify()
        elif op == 6:  # resume
            self._sequence += 1
            await self._send(socket, {"op": 0, "t": "RESUMED", "s": self._sequence, "d": {}})
            self._sockets.append(socket)
            await self._notify()

    async def _send(self, socket: _Socket, message: dict[str, Any]) -> None:
        text = json.dumps(message)
        async with socket.lock:  # zlib-stream frames must go out in the order they were compressed
            if socket.compressor is None:
                await socket.ws.send_str(text)
            else:
                data = socket.compressor.compress(text.encode()) + socket.compressor.flush(zlib.Z_SYNC_FLUSH)
                await socket.ws.send_bytes(data)


async def _serve() -> None:
    fake = FakeDiscord()
    await fake.start()
    print(f"DISCORD_API_BASE={fake.api_base}\nDISCORD_GATEWAY_URL={fake.gateway_url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await fake.close()


if __name__ == "__main__":
    asyncio.run(_serve())
