"""A local fake of the parts of Slack that Portbot talks to, on 127.0.0.1 and an ephemeral port.

* ``POST /api/<method>``: the Web API (``auth.test``, ``chat.postMessage``, ``chat.postEphemeral``,
  ``chat.update``, ``views.open``, ``views.update``, ``views.publish``, ``users.info``, ``oauth.v2.access``,
  ``apps.connections.open``), recording every call, and rate-limiting a method on request (HTTP 429 with
  ``Retry-After``, as Slack does);
* ``POST /response/<name>``: ``response_url`` receivers, recording every message;
* ``GET /socket``: a Socket Mode WebSocket that sends queued envelopes and records the acks.

It answers like Slack does (``{"ok": true, ...}``, or ``{"ok": false, "error": ...}`` for a method told to
fail) and lets tests wait for a call instead of sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

BOT_USER_ID = "UBOTPORT1"
BOT_ID = "BPORT1"
TEAM_ID = "T0PORTBOT"


@dataclass(frozen=True)
class ApiCall:
    method: str
    args: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.perf_counter)


@dataclass(frozen=True)
class Posted:
    """A message posted to a response_url, and when it arrived (``time.perf_counter()``, for the benchmark)."""

    hook: str
    body: dict[str, Any]
    peer: Any = None  # the client's (address, port): the same port means a reused connection
    at: float = field(default_factory=time.perf_counter)


@dataclass
class FakeSlack:
    calls: list[ApiCall] = field(default_factory=list)
    posted: list[Posted] = field(default_factory=list)
    socket_acks: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    fail_once: dict[str, str] = field(default_factory=dict)  # like failures, for the next call only
    response_url_status: int = 200
    response_url_delay: float = 0.0  # seconds before a response_url answers (to make a client time out)
    admins: set[str] = field(default_factory=set)  # users.info says is_admin for these
    owners: set[str] = field(default_factory=set)  # and is_owner for these
    rate_limited: dict[str, int] = field(default_factory=dict)  # method -> how many calls get a 429 first
    retry_after: int = 0  # the Retry-After those 429s carry, in seconds
    port: int = 0
    _runner: web.AppRunner | None = None
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _envelopes: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    _sockets: set[web.WebSocketResponse] = field(default_factory=set)

    # -- lifecycle ----------------------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.add_routes(
            [
                web.post("/api/{method}", self._api),
                web.get("/api/{method}", self._api),  # slack-sdk sends users.info and a few others as GET
                web.post("/response/{hook}", self._response_url),
                web.get("/socket", self._socket),
            ]
        )
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, hook: str = "cmd") -> str:
        return f"http://127.0.0.1:{self.port}/response/{hook}"

    # -- what tests look at -------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    def posted_to(self, hook: str) -> list[Posted]:
        return [p for p in self.posted if p.hook == hook]

    @property
    def messages(self) -> list[ApiCall]:
        """Calls that put something in front of a user (not auth.test and the like)."""
        return [c for c in self.calls if c.method in ("chat.postMessage", "chat.postEphemeral")]

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = 10) -> ApiCall:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.calls_to(method)) >= count)
        return self.calls_to(method)[count - 1]

    async def wait_for_post(self, hook: str, count: int = 1, timeout: float = 10) -> Posted:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: len(self.posted_to(hook)) >= count)
        return self.posted_to(hook)[count - 1]

    async def wait_for_socket_ack(self, envelope_id: str, timeout: float = 10) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((a for a in self.socket_acks if a.get("envelope_id") == envelope_id), None)

        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        ack = found()
        assert ack is not None
        return ack

    def send_envelope(self, envelope: dict[str, Any]) -> None:
        """Queue a Socket Mode envelope; it goes out on the (next) connected socket."""
        self._envelopes.put_nowait(envelope)

    # -- handlers -----------------------------------------------------------------------------------------

    async def _record(self, item: ApiCall | Posted | dict[str, Any]) -> None:
        async with self._changed:
            if isinstance(item, ApiCall):
                self.calls.append(item)
            elif isinstance(item, Posted):
                self.posted.append(item)
            else:
                self.socket_acks.append(item)
            self._changed.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await _read_args(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        await self._record(ApiCall(method, args, token))
        if self.rate_limited.get(method, 0) > 0:
            self.rate_limited[method] -= 1
            return web.json_response(
                {"ok": False, "error": "ratelimited"},
                status=429,
                headers={"Retry-After": str(self.retry_after)},
            )
        if method in self.fail_once:
            return web.json_response({"ok": False, "error": self.fail_once.pop(method)})
        if method in self.failures:
            return web.json_response({"ok": False, "error": self.failures[method]})
        return web.json_response(self._answer(method, args))

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        ts = f"1700000000.{len(self.calls):06d}"
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://portbot-test.slack.com/",
                "team": "Portbot Test",
                "user": "portbot",
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": {"ts": ts}}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "chat.update":
            return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts")}
        if method in ("views.open", "views.update", "views.publish"):
            return {"ok": True, "view": {"id": "V0PORTBOT", **(args.get("view") or {})}}
        if method == "users.info":
            user = str(args.get("user"))
            return {
                "ok": True,
                "user": {
                    "id": user,
                    "team_id": TEAM_ID,
                    "is_admin": user in self.admins,
                    "is_owner": user in self.owners,
                    "is_primary_owner": False,
                    "is_bot": False,
                },
            }
        if method == "apps.connections.open":
            return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}
        if method == "oauth.v2.access":
            return {
                "ok": True,
                "app_id": "A0PORTBOT",
                "authed_user": {"id": "U0INSTALLER"},
                "scope": "commands,chat:write",
                "token_type": "bot",
                "access_token": "xoxb-installed-token",
                "bot_user_id": BOT_USER_ID,
                "team": {"id": TEAM_ID, "name": "Portbot Test"},
                "enterprise": None,
                "is_enterprise_install": False,
            }
        return {"ok": False, "error": "unknown_method"}

    async def _response_url(self, request: web.Request) -> web.Response:
        body = json.loads(await request.text())
        peer = request.transport.get_extra_info("peername") if request.transport else None
        await self._record(Posted(request.match_info["hook"], body, peer))
        if self.response_url_delay:
            await asyncio.sleep(self.response_url_delay)  # an unresponsive Slack, as the client sees it
        if self.response_url_status != 200:
            return web.Response(status=self.response_url_status, text="expired_url")
        return web.Response(text="ok")

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        await ws.send_json(
            {"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A0PORTBOT"}}
        )

        async def pump() -> None:
            while True:
                await ws.send_json(await self._envelopes.get())

        sender = asyncio.create_task(pump())
        try:
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    await self._record(json.loads(message.data))
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self._sockets.discard(ws)
        return ws


async def _read_args(request: web.Request) -> dict[str, Any]:
    if request.method == "GET":
        return dict(request.query)
    if request.content_type == "application/json":
        data = await request.json()
        return dict(data) if isinstance(data, dict) else {}
    form = await request.post()
    args: dict[str, Any] = {}
    for key, value in form.items():
        text = value if isinstance(value, str) else ""
        # slack_sdk sends nested structures as JSON strings in form posts
        if key in ("blocks", "view", "attachments") and text.startswith(("[", "{")):
            args[key] = json.loads(text)
        else:
            args[key] = text
    return args
