"""The probe worker: a small signed HTTP service that probes from where it runs (``portbot worker``).

    POST /v1/probe   JSON {target, ports, protocol?, service_hint?, requester?, requester_charged?, request_id?}
                     → a ProbeReport
    POST /v1/links   JSON {ports, protocol?, hint?, requester?, ttl?, listener?} → a one-time link (signed)
    GET  /v1/links/{id}?wait=SECONDS  → {state: pending|done|expired, result} (signed over the path)
    GET  /l/{token}  the link's page: probes the visitor's own address once (probes/_links_http.py)
    POST /l/{token}  the page's form: the router's WAN address, to compare
    GET  /healthz    liveness and load
    GET  /metrics    Prometheus text format

Every probe request must be signed (see :mod:`probes.auth`). The worker applies its own safety policy and rate
limits and audits every request; the one thing it takes a signed caller's word for is ``requester_charged``, that
the caller's service already charged its user's and server's limits (a bot's probes/client.py does), which leaves
the target's limit to charge here (anyone holding the secret could name any user anyway). Status codes: 400 bad input, 401 bad
or missing signature, 408 headers or body too slow, 413 body too large, 415 compressed body, 422 refused or
unresolvable target, 429 rate limited, 503 over capacity or shutting down, 504 deadline passed. Errors are
JSON: ``{"error": code, "message": text, ...}``.

Hostile clients are held off before aiohttp sees them (:mod:`probes._http`: connection caps, header and idle
deadlines), and bodies are taken only as they are: no ``Content-Encoding`` (nothing is decompressed, ever,
least of all before the signature is checked), no more than ``max_body_bytes``, within ``body_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import HttpVersion11, web

from probes._http import (
    ConnectionLimits,
    Front,
    Throttle,
    fd_budget,
    fds_needed,
    raise_fd_limit,
    since,
)
from probes._metrics import WorkerMetrics
from probes.audit import AuditLog, AuditSink
from probes.auth import AuthError, RedisReplayGuard, ReplayCheckUnavailable, ReplayGuard, Replays, verify
from probes.errors import InputError, PortbotError, RateLimited, RefusedTarget, ResolveError
from probes.links import Links, LinkStore, RedisLinkStore
from probes.models import ProbeReport, ProbeRequest, Requester
from probes.policy import SafetyPolicy
from probes.ratelimit import ProbeRateLimiter, RateLimits
from probes.runtime import settle_gc
from probes.service import Prober, ProbeService

if TYPE_CHECKING:
    from probes.engine import EngineConfig

__all__ = [
    "MAX_CONCURRENCY",
    "ConnectionLimits",
    "RunningWorker",
    "WorkerConfig",
    "create_app",
    "serve",
    "start",
]

log = logging.getLogger("portbot.worker")

MAX_CONCURRENCY = 64  # probe requests in flight at once; more are answered 503
_MAX_TARGET_LENGTH = 300
_JSON = {"Content-Type": "application/json; charset=utf-8"}  # what web.json_response() sends


@dataclass
class WorkerConfig:
    """Everything a worker needs. ``secret`` is ``PORTBOT_WORKER_SECRET``; ``region`` names this vantage point
    in replies ("Frankfurt"), from ``PORTBOT_WORKER_REGION``."""

    secret: str
    host: str = "127.0.0.1"  # put it behind a TLS proxy, or pass --host to listen on other interfaces
    port: int = 8471
    region: str = "worker"
    policy: SafetyPolicy = field(default_factory=SafetyPolicy)
    engine: EngineConfig | None = None  # None: the engine's defaults
    max_concurrency: int = MAX_CONCURRENCY
    request_deadline: float = 20.0  # seconds for one whole request, probe included
    rate_limits: RateLimits = field(default_factory=RateLimits)
    redis_url: str | None = None  # PORTBOT_REDIS_URL: share rate limits between workers
    audit: bool = True
    audit_path: Path | None = None  # None: $PORTBOT_DATA_DIR/audit.sqlite3
    # Where audit rows go instead of that file: `portbot worker` hands in the shared store's sink
    # (bot/store/audit.py), so every worker and bot writes one log.
    audit_sink: AuditSink | None = None
    shutdown_grace: float = 10.0  # seconds in-flight probes get to finish on SIGTERM
    max_body_bytes: int = 16 * 1024
    replay_memory: int = 100_000  # signatures remembered against replays (without Redis)
    limits: ConnectionLimits = field(default_factory=ConnectionLimits)
    log_interval: float = 10.0  # at most one line per interval about shed connections or failing accept()
    backlog: int = 511
    # One-time links (probes/links.py). link_base_url: this worker's public URL (None: the URL the bot used).
    link_base_url: str | None = None
    link_host_v4: str | None = None  # a name with only an A record, to check IPv4 on its own
    link_host_v6: str | None = None  # and one with only AAAA
    link_ttl: float = 600.0
    # Networks of reverse proxies whose X-Forwarded-For is believed; from anyone else it is ignored.
    trusted_proxies: tuple[str, ...] = ()


@dataclass
class _State:
    config: WorkerConfig
    service: ProbeService
    limiter: ProbeRateLimiter
    audit: AuditLog | None
    guard: Replays
    metrics: WorkerMetrics
    refusals: Throttle  # one log line per interval for refused signatures
    outages: Throttle  # and for a replay store that isn't answering
    links: Links
    prober: Prober
    in_flight: int = 0
    closing: bool = False


_STATE = web.AppKey("portbot_worker", _State)


def create_app(config: WorkerConfig, prober: Prober | None = None) -> web.Application:
    """The worker's aiohttp application. ``prober`` defaults to the real engine with ``config.policy``."""
    if not config.secret:
        raise ValueError(
            "PORTBOT_WORKER_SECRET is not set; use the same long random string on the bot and workers."
        )
    if prober is None:
        from probes.engine import EngineConfig, ProbeEngine

        prober = ProbeEngine(config.policy, config.engine or EngineConfig())
    limiter = ProbeRateLimiter(config.rate_limits, storage_url=config.redis_url)
    audit = AuditLog(config.audit_path, sink=config.audit_sink) if config.audit else None
    service = ProbeService(prober, limiter, audit, policy=config.policy, vantage=config.region, local=False)
    metrics = WorkerMetrics()
    guard: Replays = (
        RedisReplayGuard(config.redis_url) if config.redis_url else ReplayGuard(config.replay_memory)
    )
    state = _State(
        config=config,
        service=service,
        limiter=limiter,
        audit=audit,
        guard=guard,
        metrics=metrics,
        refusals=Throttle(config.log_interval),
        outages=Throttle(config.log_interval),
        links=RedisLinkStore(config.redis_url) if config.redis_url else LinkStore(),
        prober=prober,
    )
    metrics.in_flight.set_function(lambda: state.in_flight)
    app = web.Application(client_max_size=config.max_body_bytes)
    app[_STATE] = state
    app.router.add_post("/v1/probe", _probe, expect_handler=_expect)
    from probes import _links_http

    _links_http.add_routes(app, _STATE, _expect)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    app.on_shutdown.append(_on_shutdown)
    app.on_cleanup.append(_on_cleanup)
    return app


async def _on_shutdown(app: web.Application) -> None:
    app[_STATE].closing = True


async def _on_cleanup(app: web.Application) -> None:
    state = app[_STATE]
    if state.audit is not None:
        await state.audit.close()
    await state.limiter.aclose()
    await state.guard.aclose()
    await state.links.aclose()


def _error(status: int, code: str, message: str, **extra: Any) -> web.Response:
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(max(1, round(extra["retry_after"])))
    return web.json_response({"error": code, "message": message, **extra}, status=status, headers=headers)


def _refuse_body(request: web.Request, config: WorkerConfig) -> web.Response | None:
    """An answer refusing the body unread (compressed, or declared too large), or None to read it."""
    encoding = request.headers.get("Content-Encoding")
    if encoding is not None and encoding.strip().lower() not in ("", "identity"):
        return _closing(_error(415, "invalid", "Send the body uncompressed (no Content-Encoding)."))
    coding = request.headers.get("Transfer-Encoding")
    if coding is not None and coding.strip().lower() != "chunked":
        return _closing(_error(415, "invalid", "Send the body plainly or chunked, not transfer-compressed."))
    if (request.content_length or 0) > config.max_body_bytes:
        return _closing(_error(413, "invalid", "The request is too large."))
    return None


def _closing(response: web.Response) -> web.Response:
    # The unread body is still on the connection: it can't carry another request.
    response.force_close()
    return response


async def _expect(request: web.Request) -> web.StreamResponse | None:
    """Answers ``Expect: 100-continue``: a body we would refuse is refused before the client sends it."""
    refusal = _refuse_body(request, request.app[_STATE].config)
    if refusal is not None:
        request.app[_STATE].metrics.count("invalid")
        return refusal
    if request.version == HttpVersion11:
        if request.headers.get("Expect", "").lower() != "100-continue":
            return _closing(_error(417, "invalid", "The only expectation I meet is 100-continue."))
        await request.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        request.writer.output_size = 0  # as aiohttp's own handler does: the answer has not begun
    return None


async def _read_body(request: web.Request, state: _State) -> bytes | web.Response:
    config = state.config
    refusal = _refuse_body(request, config)
    if refusal is not None:
        return refusal
    try:
        if request.content.is_eof():  # all here already (the usual case): no deadline to arm
            return await request.read()
        # One deadline for the whole body, however it trickles in.
        async with asyncio.timeout(config.limits.body_timeout):
            return await request.read()
    except web.HTTPRequestEntityTooLarge:  # chunked, or longer than its Content-Length said
        return _closing(_error(413, "invalid", "The request is too large."))
    except TimeoutError:
        state.metrics.connection("body_timeout")
        return _closing(_error(408, "timeout", "The request body took too long to arrive."))
    except ConnectionResetError:
        # The client went away mid-body (a bot stopped, a scheduler killed): nothing to answer and nothing
        # wrong here; aiohttp would log a traceback at ERROR for each one.
        state.metrics.connection("body_reset")
        return _closing(_error(400, "invalid", "The connection was lost before the request ended."))


async def _probe(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    metrics = state.metrics
    body = await _read_body(request, state)
    if not isinstance(body, bytes):  # (bytes, not web.Response: an ABC, slower to test against)
        metrics.count("invalid")
        return body
    try:
        signed = verify(state.config.secret, request.headers, body)
        await state.guard.remember(signed, time.time())
    except AuthError as err:
        metrics.count("unauthorized")
        held = state.refusals.allow()
        if held is not None:  # unsigned requests cost an attacker nothing: keep them from flooding the log
            log.warning("refused request from %s: %s%s", request.remote, err.reason, since(held))
        return _error(401, "unauthorized", str(err), reason=err.reason)
    except ReplayCheckUnavailable as err:
        metrics.count("failed")
        held = state.outages.allow()
        if held is not None:
            log.error("the replay store (Redis) is not answering: %s%s", err, since(held))
        return _error(
            503, "unavailable", "This worker can't check requests right now; try another.", retry_after=1
        )
    if state.closing:
        metrics.count("overloaded")
        return _error(503, "shutting-down", "This worker is shutting down; try another.", retry_after=1)
    if state.in_flight >= state.config.max_concurrency:
        metrics.count("overloaded")
        return _error(503, "overloaded", "This worker is busy; try again in a moment.", retry_after=1)
    try:
        probe_request, requester, charged = _parse(body, request.remote)
    except InputError as err:
        metrics.count("invalid")
        return _error(400, "invalid", str(err), hint=err.hint)

    state.in_flight += 1
    started = time.perf_counter()
    try:
        async with asyncio.timeout(state.config.request_deadline):
            # A request the calling service already charged to its user and server (probes/client.py says so in
            # the signed body) is charged here only to its target: counted once, not once per worker as well.
            report = await state.service.run(probe_request, requester, requester_charged=charged)
    except TimeoutError:
        metrics.count("deadline")
        return _error(504, "deadline", "The probe took too long and was stopped.")
    except RefusedTarget as err:
        metrics.count("refused")
        return _error(422, "refused", str(err), category=err.category, address=err.address, hint=err.hint)
    except ResolveError as err:
        metrics.count("unresolvable")
        return _error(422, "unresolvable", str(err), hint=err.hint)
    except InputError as err:
        metrics.count("invalid")
        return _error(400, "invalid", str(err), hint=err.hint)
    except RateLimited as err:
        metrics.count("rate_limited")
        return _error(429, "rate-limited", str(err), scope=err.scope, retry_after=err.retry_after)
    except PortbotError as err:
        metrics.count("failed")
        return _error(502, "failed", str(err), hint=err.hint)
    except Exception:
        metrics.count("failed")
        log.exception("probe of %r failed", probe_request.target)
        return _error(500, "failed", "The probe failed on this worker.")
    finally:
        state.in_flight -= 1
    metrics.latency.observe(time.perf_counter() - started)
    metrics.count("ok")
    metrics.observe(report)
    # Bytes in, bytes out: json_response() would encode the text again through the charset machinery.
    return web.Response(body=json.dumps(_report_json(report)).encode(), headers=_JSON)


def _report_json(report: ProbeReport) -> dict[str, Any]:
    """``report.to_dict()``, written out: dataclasses.asdict's deep copy costs a busy worker ~5% of its CPU."""
    return {
        "target": report.target,
        "host": report.host,
        "vantage": report.vantage,
        "local": report.local,
        "error": report.error,
        "srv_target": report.srv_target,
        "address_count": report.address_count,
        "results": [
            {
                "address": r.address,
                "port": r.port,
                "protocol": r.protocol,
                "state": str(r.state),
                "reason": r.reason,
                "rtt_ms": r.rtt_ms,
                "service": None
                if r.service is None
                else {
                    "kind": r.service.kind,
                    "summary": r.service.summary,
                    "details": dict(r.service.details),
                },
            }
            for r in report.results
        ],
    }


def json_object(body: bytes) -> dict[str, Any]:
    """A request body that must be one JSON object (probes and links); InputError otherwise."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InputError("The request body is not JSON.") from None
    if not isinstance(data, dict):
        raise InputError("The request body must be a JSON object.")
    return data


def _parse(body: bytes, remote: str | None) -> tuple[ProbeRequest, Requester, bool]:
    """The request, who asked, and whether the calling service already charged that requester's limits."""
    data = json_object(body)
    target = data.get("target")
    if not isinstance(target, str) or not target.strip() or len(target) > _MAX_TARGET_LENGTH:
        raise InputError("`target` must be a host name or address.")
    ports = data.get("ports")
    # type() is, not isinstance(): JSON's true and false arrive as bool, a subclass of int.
    if type(ports) is not list or any(type(p) is not int for p in ports):
        raise InputError("`ports` must be a list of port numbers.")
    protocol = data.get("protocol", "auto")
    if protocol not in ("auto", "tcp", "udp"):
        raise InputError("`protocol` must be auto, tcp or udp.")
    hint = data.get("service_hint")
    if hint is not None and (not isinstance(hint, str) or len(hint) > 64):
        raise InputError("`service_hint` must be a short name such as minecraft.")
    who = data.get("requester")
    if who is not None and not isinstance(who, dict):
        raise InputError("`requester` must be an object.")
    requester = (
        Requester.from_dict(who)
        if who
        else Requester(platform="api", user_id=f"caller:{remote or 'unknown'}")
    )
    charged = data.get("requester_charged", False)
    if type(charged) is not bool:
        raise InputError("`requester_charged` must be true or false.")
    return (
        ProbeRequest(target=target, ports=tuple(ports), protocol=protocol, service_hint=hint),
        requester,
        charged,
    )


async def _healthz(request: web.Request) -> web.Response:
    state = request.app[_STATE]
    status = "closing" if state.closing else "ok"
    return web.json_response(
        {
            "status": status,
            "region": state.config.region,
            "in_flight": state.in_flight,
            "max_concurrency": state.config.max_concurrency,
        },
        status=503 if state.closing else 200,
    )


async def _metrics(request: web.Request) -> web.Response:
    metrics = request.app[_STATE].metrics
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})


class RunningWorker:
    """A started worker: ``url`` to reach it, :meth:`stop` to shut it down gracefully."""

    def __init__(self, runner: web.AppRunner, front: Front, url: str) -> None:
        self._runner = runner
        self._front = front
        self.url = url

    @property
    def limits(self) -> ConnectionLimits:
        """The limits in force (``max_connections`` lowered to fit the open-file limit, if it had to be)."""
        return self._front.limits

    async def stop(self) -> None:
        """Stop listening, let in-flight probes finish within the grace period, then clean up."""
        self._front.close()
        await self._runner.cleanup()


async def start(config: WorkerConfig, prober: Prober | None = None) -> RunningWorker:
    """Start a worker listening on ``config.host``/``config.port`` (port 0 picks a free one)."""
    app = create_app(config, prober)
    limits = _fitted(config)
    # Nothing is ever decompressed: a compressed body is refused (415) unread, and this makes sure nothing
    # else could inflate one. aiohttp's keep-alive timer is only a backstop behind the front's deadlines;
    # lingering (draining an unread body so the client gets to read our answer) is kept short.
    options: dict[str, Any] = {
        "keepalive_timeout": limits.header_timeout + limits.idle_timeout,
        "lingering_time": 2.0,
        "auto_decompress": False,
        "access_log": None,
        # Our requests carry a handful of short headers; aiohttp's defaults (128 fields of 8 KiB) would let
        # each connection hold a megabyte of them.
        "max_line_size": 4096,
        "max_field_size": 4096,
        "max_headers": 32,
    }
    runner = web.AppRunner(app, shutdown_timeout=config.shutdown_grace, handle_signals=False, **options)
    await runner.setup()
    assert runner.server is not None
    front = Front(
        runner.server,
        limits,
        count=app[_STATE].metrics.connection,
        log_interval=config.log_interval,
        handler_options=options,
    )
    try:
        host, port = front.listen(config.host, config.port, config.backlog)[0]
    except BaseException:
        front.close()
        await runner.cleanup()
        raise
    shown = f"[{host}]" if ":" in host else host
    return RunningWorker(runner, front, f"http://{shown}:{port}")


def _fitted(config: WorkerConfig) -> ConnectionLimits:
    """The configured limits, with the connection cap lowered to what the open-file limit can hold."""
    limits = config.limits
    budget = fd_budget(config.max_concurrency)
    if limits.max_connections <= budget:
        return limits
    fitted = max(16, budget)
    log.warning(
        "the open-file limit (ulimit -n) leaves room for %d connections beside %d probes in flight, "
        "not PORTBOT_WORKER_MAX_CONNECTIONS=%d: serving at most %d",
        max(budget, 0),
        config.max_concurrency,
        limits.max_connections,
        fitted,
    )
    return replace(limits, max_connections=fitted)


# Measured under the worker bench. Frozen, start-up's ~50,000 objects (modules, the app, the engine) are left
# out of the full passes that otherwise took 20-60 ms every second or two under load: most of the p99 latency
# and ~5% of the CPU. A request's objects die by reference counting, not in cycles: at the default threshold
# (700) the youngest generation was scanned every ~10 requests only to find the in-flight requests' live
# objects, ~20 µs a request in all; real cyclic garbage still triggers a pass, after 10,000 objects.
YOUNG_THRESHOLD = 10_000


async def serve(config: WorkerConfig, prober: Prober | None = None) -> None:
    """Run a worker until SIGTERM or SIGINT, then shut down gracefully."""
    # A process of its own: room for every connection and probe, up to the hard limit.
    raise_fd_limit(fds_needed(config.limits, config.max_concurrency))
    worker = await start(config, prober)
    settle_gc(YOUNG_THRESHOLD)
    log.info("probe worker %r listening on %s", config.region, worker.url)
    print(f"portbot worker {config.region!r} listening on {worker.url}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):  # Windows
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
        log.info("shutting down: letting in-flight probes finish (up to %.0f s)", config.shutdown_grace)
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
        await worker.stop()
    log.info("probe worker stopped")
