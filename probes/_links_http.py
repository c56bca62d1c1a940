"""The worker's one-time link routes (see probes/links.py for the tokens and stores).

    POST /v1/links               signed like /v1/probe; makes a link
    GET  /v1/links/{id}?wait=N   signed over the request path; long-polls the result
    GET  /l/{token}              the page: one visit probes the visitor's own address
    POST /l/{token}              the page's form: the router's WAN address, to compare
    GET  /listen.py              the single-file `portbot listen` (probes/listen_standalone.py), stdlib only

The visitor's address is the TCP source of the visit. ``X-Forwarded-For`` counts only when that source is in
``PORTBOT_TRUSTED_PROXIES``, and then the rightmost address not itself a trusted proxy is the visitor (the
leftmost entries are whatever the client wrote). The probe goes through the worker's own
:class:`~probes.service.ProbeService`: the same safety policy, rate limits (charged to the member who asked
for the link) and audit as ``/v1/probe``.

A visit that checks nothing (address refused, rate limited, worker busy) gives the link back, so the member
can try again; link previews (chat unfurlers) and HEAD requests see a neutral page and never use the link.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qs

from aiohttp import web

from probes import _link_page as page
from probes._tcp_info import tcp_rtt
from probes.auth import AuthError, ReplayCheckUnavailable, verify
from probes.errors import InputError, PortbotError, RateLimited, RefusedTarget
from probes.links import MAX_TTL, Claim, LinkResult, make_link, split_token, verify_token
from probes.models import ProbeRequest, Requester

if TYPE_CHECKING:
    from probes.worker import _State

__all__ = ["add_routes", "visitor_address"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_WAIT = 60.0  # seconds one long-poll may hold; the client asks again
_HTML = "text/html; charset=utf-8"
# The page carries the token in its URL: no referrer may leak it, nothing may cache it, no script may run.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ),
}
# Link previews fetch a URL the moment it is posted; they must not use up the member's link.
_PREVIEWERS = re.compile(
    r"bot\b|bot/|slack|discord|facebookexternalhit|whatsapp|telegram|skype|preview|crawler|spider|embedly",
    re.IGNORECASE,
)

StateKey = web.AppKey["_State"]


def add_routes(
    app: web.Application,
    key: StateKey,
    expect: Callable[[web.Request], Awaitable[web.StreamResponse | None]],
) -> None:
    """Add the link routes to the worker's app; ``key`` finds the worker's state."""
    routes = _Routes(key)
    app.router.add_post("/v1/links", routes.create, expect_handler=expect)
    app.router.add_get("/v1/links/{id}", routes.status)
    app.router.add_get("/l/{token}", routes.visit)
    app.router.add_post("/l/{token}", routes.compare, expect_handler=expect)
    app.router.add_get("/listen.py", _listen_script(_standalone_source()))


def _standalone_source() -> bytes:
    from pathlib import Path

    from probes import listen_standalone

    return Path(listen_standalone.__file__).read_bytes()  # once, at start-up


def _listen_script(body: bytes) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The single-file `portbot listen` (stdlib only) the link page can offer: ``python listen.py PORT --link URL``."""

    async def serve(request: web.Request) -> web.Response:
        return web.Response(
            body=body,
            headers={
                "Content-Type": "text/x-python; charset=utf-8",
                "Content-Disposition": 'attachment; filename="listen.py"',
                "X-Content-Type-Options": "nosniff",
                "Cache-Control": "public, max-age=3600",
            },
        )

    return serve


def _html(body: str, status: int = 200) -> web.Response:
    return web.Response(body=body.encode(), status=status, headers={"Content-Type": _HTML, **_PAGE_HEADERS})


def visitor_address(
    peer: str | None, forwarded: str | None, trusted: Sequence[IPNetwork]
) -> IPAddress | None:
    """The visitor's address: the TCP source, or from a trusted proxy the rightmost untrusted entry of
    ``X-Forwarded-For``. None when it can't be told (a trusted proxy sending garbage)."""
    source = _address(peer)
    if source is None:
        return None
    if forwarded is None or not _within(source, trusted):
        return source
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            return None
        if not _within(address, trusted):
            return address
    return _address(hops[0]) if hops else source


def _address(text: str | None) -> IPAddress | None:
    if not text:
        return None
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _within(address: IPAddress, networks: Sequence[IPNetwork]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


class _Routes:
    def __init__(self, key: StateKey) -> None:
        self._key = key
        self._trusted: tuple[IPNetwork, ...] | None = None

    def _state(self, request: web.Request) -> _State:
        return request.app[self._key]

    def _proxies(self, state: _State) -> tuple[IPNetwork, ...]:
        if self._trusted is None:
            self._trusted = tuple(ipaddress.ip_network(n, strict=False) for n in state.config.trusted_proxies)
        return self._trusted

    # --- signed API for the bot ------------------------------------------------------------------------

    async def _authenticate(self, request: web.Request, state: _State, signed: bytes) -> web.Response | None:
        from probes.worker import _error

        try:
            await state.guard.remember(verify(state.config.secret, request.headers, signed), time.time())
        except AuthError as err:
            state.metrics.count("unauthorized")
            return _error(401, "unauthorized", str(err), reason=err.reason)
        except ReplayCheckUnavailable:
            state.metrics.count("failed")
            return _error(
                503, "unavailable", "This worker can't check requests right now; try another.", retry_after=1
            )
        return None

    async def create(self, request: web.Request) -> web.Response:
        from probes.worker import _error, _read_body

        state = self._state(request)
        body = await _read_body(request, state)
        if not isinstance(body, bytes):
            return body
        refusal = await self._authenticate(request, state, body)
        if refusal is not None:
            return refusal
        try:
            options = _parse_link(body, state, request.remote)
        except InputError as err:
            return _error(400, "invalid", str(err), hint=err.hint)
        config = state.config
        base = config.link_base_url or f"{request.scheme}://{request.host}"
        link = make_link(
            config.secret,
            base_url=base,
            host_v4=config.link_host_v4,
            host_v6=config.link_host_v6,
            **options,
        )
        await state.links.add(link)
        return web.json_response(link.to_dict())

    async def status(self, request: web.Request) -> web.Response:
        from probes.worker import _error

        state = self._state(request)
        # No body to sign: the path and query are (a nonce in the query keeps two polls apart).
        refusal = await self._authenticate(request, state, request.raw_path.encode())
        if refusal is not None:
            return refusal
        try:
            wait = min(MAX_WAIT, max(0.0, float(request.query.get("wait", "0"))))
        except ValueError:
            return _error(400, "invalid", "`wait` must be a number of seconds.")
        link_state, result = await state.links.wait(request.match_info["id"], wait)
        return web.json_response(
            {"state": str(link_state), "result": None if result is None else result.to_dict()}
        )

    # --- the page ----------------------------------------------------------------------------------------

    async def _link_for(self, state: _State, token: str) -> Any:
        parts = split_token(token)
        if parts is None:
            return None
        link = await state.links.get(parts[0])
        if link is None or not verify_token(state.config.secret, token, link):
            return None
        return link

    async def visit(self, request: web.Request) -> web.Response:
        state = self._state(request)
        token = request.match_info["token"]
        link = await self._link_for(state, token)
        if link is None:
            return _html(page.invalid_page(), 404)
        previewer = (
            _PREVIEWERS.search(request.headers.get("User-Agent", "")) and _listener_from(request) is None
        )
        if request.method == "HEAD" or previewer:
            return _html(page.landing_page(link.ports, link.protocol))
        peer = request.transport.get_extra_info("peername") if request.transport else None
        address = visitor_address(
            str(peer[0]) if peer else None, request.headers.get("X-Forwarded-For"), self._proxies(state)
        )
        if address is None:
            return _html(
                page.problem_page(
                    "I couldn't tell your address",
                    "The proxy in front of this worker didn't say where the visit came from.",
                ),
                502,
            )
        # With a name per family each family is its own single-use check; `portbot listen` opening a link
        # from a browser visit's page is one more visit of that family (see Link.claim_key).
        listener_visit = link.listener is None and _listener_from(request) is not None
        key = link.claim_key(_kind(address), listener_visit)
        claim = await state.links.claim(link.id, time.time(), key)
        if claim is Claim.USED:
            return _html(page.gone_page(expired=False), 410)
        if claim is not Claim.OK:
            return _html(page.gone_page(expired=True), 410)
        try:
            return await self._check(request, state, link, address, key)
        finally:
            # Whatever stopped the check, the link was not used up by it (a finished visit stays used).
            await state.links.release(link.id, key)

    async def _check(
        self, request: web.Request, state: _State, link: Any, address: IPAddress, key: str
    ) -> web.Response:
        if state.closing or state.in_flight >= state.config.max_concurrency:
            return _html(page.problem_page("Busy", "This worker is busy right now."), 503)
        _learn_rtt(request, state, address)
        probe = ProbeRequest(
            target=str(address), ports=link.ports, protocol=link.protocol, service_hint=link.hint
        )
        state.in_flight += 1
        try:
            async with asyncio.timeout(state.config.request_deadline):
                report = await state.service.run(probe, link.requester)
        except RefusedTarget as err:
            state.metrics.count("refused")
            return _html(
                page.problem_page(
                    "I can't check this address",
                    str(err),
                    "Open the link on the server's own network, not over a VPN or mobile data.",
                ),
                422,
            )
        except RateLimited as err:
            state.metrics.count("rate_limited")
            return _html(page.problem_page("Too many checks", str(err), err.hint), 429)
        except (TimeoutError, PortbotError) as err:
            state.metrics.count("failed")
            message = "The check took too long." if isinstance(err, TimeoutError) else str(err)
            return _html(page.problem_page("The check failed", message), 502)
        finally:
            state.in_flight -= 1
        state.metrics.count("ok")
        state.metrics.observe(report)
        # `portbot listen` opening a link from chat adds its per-run secret (and the router's WAN address) to
        # the visit; a link it created itself carries the secret already.
        listener = link.listener or _listener_from(request)
        reached, todo = await _knock(listener, report)
        wan = _address(request.query.get("wan"))
        diagnosis, more = _diagnose(str(address), str(wan)) if wan is not None else (None, ())
        result = LinkResult(
            link_id=link.id,
            address_kind=_kind(address),
            report=report,
            wan_address=None if wan is None else str(wan),
            diagnosis=diagnosis,
            reached_listener=reached,
            todo=(*todo, *more),
        )
        await state.links.finish(link.id, result, key)
        if listener is not None and "application/json" in request.headers.get("Accept", ""):
            return web.json_response(
                _listen_json(str(address), result), headers={"Cache-Control": "no-store"}
            )
        return _html(
            page.result_page(
                link,
                result,
                next_family=await _next_family(state, link, result),
                offer_listen=listener is None,
            )
        )

    async def compare(self, request: web.Request) -> web.Response:
        from probes.worker import _read_body

        state = self._state(request)
        body = await _read_body(request, state)
        if not isinstance(body, bytes):
            return body
        link = await self._link_for(state, request.match_info["token"])
        if link is None:
            return _html(page.invalid_page(), 404)
        peer = request.transport.get_extra_info("peername") if request.transport else None
        address = visitor_address(
            str(peer[0]) if peer else None, request.headers.get("X-Forwarded-For"), self._proxies(state)
        )
        found = await state.links.result(link.id)
        result = None if found is None or address is None else found.family(_kind(address))
        if result is None or result.report is None:
            expired = time.time() >= link.expires_at
            return (
                _html(page.gone_page(expired=True), 410)
                if expired
                else _html(
                    page.problem_page("Open the link first", "Open the link itself first; then compare."), 409
                )
            )
        if address is None or str(address) != result.report.host:
            return _html(
                page.gone_page(expired=False),
                410,
            )
        try:
            fields = parse_qs(body.decode("utf-8"), max_num_fields=4)
        except (UnicodeDecodeError, ValueError):
            fields = {}
        typed = (fields.get("wan") or [""])[0].strip()
        wan = _address(typed)
        if wan is None:
            return _html(page.result_page(link, result, form_error=_bad_wan(typed)), 400)
        diagnosis, todo = _diagnose(str(address), str(wan))
        updated = replace(
            result,
            wan_address=str(wan),
            diagnosis=diagnosis,
            todo=tuple(dict.fromkeys((*result.todo, *todo))),
        )
        await state.links.finish(link.id, updated)
        return _html(page.result_page(link, updated))


def _kind(address: IPAddress) -> Literal["v4", "v6"]:
    return "v6" if address.version == 6 else "v4"


async def _next_family(state: _State, link: Any, result: LinkResult) -> tuple[str, str] | None:
    """``(family, url)`` of the family this link still offers after this visit's, if any."""
    other = "v6" if result.address_kind == "v4" else "v4"
    url = link.url_for(other) if other in link.families else None
    if url is None:
        return None
    done = await state.links.result(link.id)
    return None if done is not None and done.family(other) is not None else (other, url)


def _learn_rtt(request: web.Request, state: _State, address: IPAddress) -> None:
    """Hand the visit's own TCP RTT to the engine, when the visit came straight from ``address`` (through a
    proxy the connection's RTT is the proxy's, not the visitor's path)."""
    learn = getattr(state.prober, "learn_rtt", None)
    if learn is None or request.transport is None:
        return
    peer = request.transport.get_extra_info("peername")
    if not peer or _address(str(peer[0])) != address:
        return
    rtt = tcp_rtt(request.transport.get_extra_info("socket"))
    if rtt is not None:
        learn(address, rtt)


def _bad_wan(typed: str) -> str:
    if not typed:
        return "Type the address from your router's status page, e.g. 100.72.14.3."
    return f"“{typed[:64]}” is not an address; type it as four numbers with dots, e.g. 100.72.14.3."


def _parse_link(body: bytes, state: _State, remote: str | None) -> dict[str, Any]:
    from probes.worker import json_object  # the worker imports this module once it is loaded itself

    data = json_object(body)
    ports = data.get("ports")
    if type(ports) is not list or not ports or any(type(p) is not int for p in ports):
        raise InputError("`ports` must be a list of port numbers.")
    state.config.policy.check_ports(tuple(ports))
    protocol = data.get("protocol", "auto")
    if protocol not in ("auto", "tcp", "udp"):
        raise InputError("`protocol` must be auto, tcp or udp.")
    hint = data.get("hint")
    if hint is not None and (not isinstance(hint, str) or len(hint) > 64):
        raise InputError("`hint` must be a short name such as minecraft.")
    listener = data.get("listener")
    if listener is not None and (not isinstance(listener, str) or not 0 < len(listener) <= 128):
        raise InputError("`listener` must be the nonce `portbot listen` answers with.")
    ttl = data.get("ttl", state.config.link_ttl)
    if ttl is None:
        ttl = state.config.link_ttl
    if type(ttl) not in (int, float) or not 1 <= ttl <= MAX_TTL:
        raise InputError(f"`ttl` must be seconds from 1 to {MAX_TTL:.0f}.")
    who = data.get("requester")
    if who is not None and not isinstance(who, dict):
        raise InputError("`requester` must be an object.")
    requester = (
        Requester.from_dict(who)
        if who
        else Requester(platform="api", user_id=f"caller:{remote or 'unknown'}")
    )
    return {
        "ports": tuple(ports),
        "protocol": protocol,
        "hint": hint,
        "listener": listener,
        "ttl": float(ttl),
        "requester": requester,
    }


def _listener_from(request: web.Request) -> str | None:
    """The secret `portbot listen` sent with its visit (query ``listener=`` or ``X-Portbot-Listener``)."""
    from probes import selfcheck

    value = request.query.get("listener") or request.headers.get("X-Portbot-Listener")
    return value if selfcheck.valid_listener_secret(value) else None


def _listen_json(address: str, result: LinkResult) -> dict[str, Any]:
    """What `portbot listen` reads back: the address seen, per-port state and reached_listener, the diagnosis."""
    reached = result.reached_listener or {}
    ports = [
        {
            "port": r.port,
            "protocol": r.protocol,
            "state": str(r.state),
            "reached_listener": reached.get(r.port, False),
        }
        for r in (result.report.results if result.report is not None else ())
    ]
    return {"address": address, "ports": ports, "diagnosis": result.diagnosis, "result": result.to_dict()}


async def _knock(listener: str | None, report: Any) -> tuple[dict[int, bool] | None, tuple[str, ...]]:
    """Whether each port reached `portbot listen` itself, when it opened the link."""
    if listener is None:
        return None, ()
    try:
        from probes import selfcheck  # lane listen's module; absent until that branch is merged
    except ImportError:
        return None, ("reached_listener: probes.selfcheck.knock is not on this worker yet",)
    reached: dict[int, bool] = {}
    for result in report.results:
        # A UDP listener ignores the probe's payloads, so its port looks open|filtered: knock there too.
        if str(result.state) not in ("open", "open|filtered"):
            reached[result.port] = False
            continue
        try:
            reached[result.port] = bool(
                await selfcheck.knock(result.address, result.port, result.protocol, listener, 3.0)
            )
        except (OSError, TimeoutError):
            reached[result.port] = False
    return reached, ()


def _diagnose(public: str, wan: str) -> tuple[dict[str, Any] | None, tuple[str, ...]]:
    """Lane listen's judgement of the two addresses, when this worker has it."""
    try:
        from probes import selfcheck
    except ImportError:
        return None, ("diagnosis: probes.selfcheck.diagnose is not on this worker yet",)
    with contextlib.suppress(ValueError):
        return page.diagnosis_dict(selfcheck.diagnose(public, wan)), ()
    return None, ()
