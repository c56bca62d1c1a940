"""Asking probe workers: sign, fan out to every worker at once, retry what is worth retrying, merge.

``PORTBOT_WORKERS`` lists the workers, comma-separated, each a URL optionally named for replies:
``Frankfurt=https://fra.example.net,https://sgp.example.net``. Without workers the bot probes in-process with
:class:`LocalProber` (from its own network, which says less about the outside view).
"""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from probes.auth import SECRET_VARIABLE, sign
from probes.errors import InputError, PortbotError, RateLimited, RefusedTarget, ResolveError, WorkerError
from probes.merge import PortView, merge, reach_sentence
from probes.models import ProbeReport, ProbeRequest, Requester
from probes.service import LOCAL_VANTAGE, Prober

if TYPE_CHECKING:
    # Only `portbot link` and the self-check need links; `portbot probe` skips their import (14-18 ms under
    # `python -X importtime` on this loaded 2-core machine: three dataclasses and two enums built at import).
    from probes.links import Link, LinkResult

__all__ = [
    "LocalProber",
    "PortView",
    "WorkerClient",
    "WorkerEndpoint",
    "merge",
    "parse_workers",
    "reach_sentence",
]

WORKERS_VARIABLE = "PORTBOT_WORKERS"

# Which answer to surface when no worker produced a report: the ones the user can act on first.
_PRIORITY: tuple[type[PortbotError], ...] = (RefusedTarget, InputError, ResolveError, RateLimited)


@dataclass(frozen=True, slots=True)
class WorkerEndpoint:
    """One worker: its base URL and the name replies use if it fails before telling us its region."""

    url: str
    label: str


def parse_workers(value: Sequence[str] | str) -> tuple[WorkerEndpoint, ...]:
    """Read ``PORTBOT_WORKERS`` (a comma-separated string or a list); raise ValueError naming it if bad."""
    items = value.split(",") if isinstance(value, str) else list(value)
    endpoints = []
    for raw in items:
        text = raw.strip()
        if not text:
            continue
        label = ""
        if "=" in text.split("://", 1)[0]:
            label, text = (part.strip() for part in text.split("=", 1))
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"{WORKERS_VARIABLE}: {text!r} is not a worker URL; use e.g. https://worker.example.net, "
                "optionally named: Frankfurt=https://worker.example.net"
            )
        endpoints.append(WorkerEndpoint(url=text.rstrip("/"), label=label or parts.netloc))
    return tuple(endpoints)


class WorkerClient:
    """Sends one probe request to every worker concurrently and returns one report per worker.

    Connection errors, timeouts and 5xx answers are retried with exponential backoff; 4xx never are. A worker
    that fails yields a report with ``error`` set; only when all fail is an error raised (the refusal or limit
    the workers gave, else :class:`WorkerError`).
    """

    def __init__(
        self,
        urls: Sequence[str] | str,
        secret: str,
        client: httpx.AsyncClient | None = None,
        *,
        attempts: int = 3,
        backoff: float = 0.2,
        timeout: float = 25.0,
    ) -> None:
        self.workers = parse_workers(urls)
        if not self.workers:
            raise ValueError(f"{WORKERS_VARIABLE} lists no workers.")
        if not secret:
            raise ValueError(f"{SECRET_VARIABLE} is not set; it must match the workers' secret.")
        self._secret = secret
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self._link_workers: dict[
            str, WorkerEndpoint
        ] = {}  # which worker made each link (it holds the result)

    async def __aenter__(self) -> WorkerClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def probe(self, request: ProbeRequest, *, requester: Requester | None = None) -> list[ProbeReport]:
        """One report per worker, in the order the workers are configured."""
        outcomes = await asyncio.gather(*(self._ask(w, request, requester) for w in self.workers))
        reports = [o for o in outcomes if isinstance(o, ProbeReport)]
        if reports:
            return [
                o if isinstance(o, ProbeReport) else _failed_report(request, w, o)
                for w, o in zip(self.workers, outcomes, strict=True)
            ]
        errors = [o for o in outcomes if isinstance(o, PortbotError)]
        for kind in _PRIORITY:
            for err in errors:
                if isinstance(err, kind):
                    raise err
        messages = list(dict.fromkeys(str(e) for e in errors))
        if len(messages) == 1:
            raise WorkerError(messages[0], hint=_WORKER_HINT)
        detail = "; ".join(f"{w.label}: {e}" for w, e in zip(self.workers, errors, strict=True))
        raise WorkerError(f"No probe worker could run the check ({detail}).", hint=_WORKER_HINT)

    async def create_link(
        self,
        ports: Sequence[int],
        protocol: str,
        requester: Requester,
        hint: str | None = None,
        *,
        ttl: float | None = None,
        listener: str | None = None,
    ) -> Link:
        """Ask the first worker that answers for a one-time link (probes/links.py) checking ``ports``."""
        from probes.links import Link

        payload: dict[str, Any] = {
            "ports": list(ports),
            "protocol": protocol,
            "hint": hint,
            "requester": requester.to_dict(),
            "ttl": ttl,
            "listener": listener,
        }
        failure: PortbotError = WorkerError("No probe worker is configured.", hint=_WORKER_HINT)
        for worker in self.workers:
            body = json.dumps({**payload, "request_id": uuid.uuid4().hex}).encode()
            headers = {**sign(self._secret, body), "Content-Type": "application/json"}
            try:
                response = await self._client.post(f"{worker.url}/v1/links", content=body, headers=headers)
            except httpx.TransportError as err:
                failure = WorkerError(
                    f"{worker.label} could not be reached ({_describe(err)}).", hint=_WORKER_HINT
                )
                continue
            if response.status_code == 200:
                try:
                    link = Link.from_dict(response.json())
                except (ValueError, KeyError, TypeError):
                    failure = WorkerError(f"{worker.label} sent an answer I can't read.")
                    continue
                self._link_workers[link.id] = worker
                return link
            failure = _client_error(worker, response)
            if response.status_code < 500 and not isinstance(failure, WorkerError):
                raise failure  # bad ports and the like: another worker would say the same
        raise failure

    async def wait_link(self, link_id: str, timeout: float) -> LinkResult | None:  # noqa: ASYNC109 (the agreed name)
        """The link's result once it is visited, or None when it expired unused. Raises :class:`TimeoutError`
        when ``timeout`` seconds pass with the link still pending."""
        from probes.links import LinkResult

        worker = self._link_workers.get(link_id) or self.workers[0]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise TimeoutError(f"the link was not used within {timeout:g} s")
            path = f"/v1/links/{link_id}?wait={min(left, _LONG_POLL):.1f}&n={uuid.uuid4().hex}"
            try:
                response = await self._client.get(
                    f"{worker.url}{path}",
                    headers=sign(self._secret, path.encode()),
                    timeout=min(left, _LONG_POLL) + 10,
                )
            except httpx.TransportError:
                # A worker restarting or a proxy cutting a long poll: ask again after a breath.
                await asyncio.sleep(min(1.0, max(0.0, deadline - loop.time())))
                continue
            if response.status_code != 200:
                raise _client_error(worker, response)
            data = _json(response)
            state = data.get("state")
            if state == "done" and isinstance(data.get("result"), dict):
                try:
                    return LinkResult.from_dict(data["result"])
                except (ValueError, KeyError, TypeError):
                    raise WorkerError(f"{worker.label} sent an answer I can't read.") from None
            if state == "expired":
                return None

    async def _ask(
        self, worker: WorkerEndpoint, request: ProbeRequest, requester: Requester | None
    ) -> ProbeReport | PortbotError:
        payload: dict[str, Any] = {
            "target": request.target,
            "ports": list(request.ports),
            "protocol": request.protocol,
            "service_hint": request.service_hint,
            "requester": requester.to_dict() if requester else None,
            # The service calling us (probes/service.py) charged the requester's limits before asking any
            # worker; the workers charge only the target's (shared Redis would otherwise count one check 1 + N
            # times against the user).
            "requester_charged": requester is not None,
        }
        failure: PortbotError = WorkerError(f"{worker.label} did not answer.")
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff * 2 ** (attempt - 1) * random.uniform(0.8, 1.2))  # noqa: S311
            # A fresh request_id per attempt: a retried request must not look like a replay.
            body = json.dumps({**payload, "request_id": uuid.uuid4().hex}).encode()
            headers = {**sign(self._secret, body), "Content-Type": "application/json"}
            try:
                response = await self._client.post(f"{worker.url}/v1/probe", content=body, headers=headers)
            except httpx.TimeoutException:
                failure = WorkerError(f"{worker.label} did not answer in time.")
                continue
            except httpx.TransportError as err:
                failure = WorkerError(f"{worker.label} could not be reached ({_describe(err)}).")
                continue
            if response.status_code >= 500:
                failure = WorkerError(f"{worker.label} had a problem: {_message(response)}")
                continue
            if response.status_code == 200:
                try:
                    return ProbeReport.from_dict(response.json())
                except (ValueError, KeyError, TypeError):
                    return WorkerError(f"{worker.label} sent an answer I can't read.")
            return _client_error(worker, response)
        return failure


def _client_error(worker: WorkerEndpoint, response: httpx.Response) -> PortbotError:
    data = _json(response)
    message = str(data.get("message") or f"{worker.label} answered HTTP {response.status_code}.")
    hint = data.get("hint")
    hint = str(hint) if hint else None
    status = response.status_code
    if status == 401:
        if data.get("reason") == "stale":
            return WorkerError(
                f"{worker.label} says our clock is more than five minutes off: check the time on the bot "
                "and the worker (NTP)."
            )
        return WorkerError(
            f"{worker.label} rejected our signature: check {SECRET_VARIABLE} (it must be the same on the bot "
            "and every worker)."
        )
    if status == 422 and data.get("error") == "refused":
        return RefusedTarget(
            message,
            category=str(data.get("category") or "refused"),
            address=data.get("address"),
            hint=hint,
        )
    if status == 422:
        return ResolveError(message, hint=hint)
    if status == 429:
        try:
            retry_after = float(data.get("retry_after") or response.headers.get("Retry-After") or 60)
        except ValueError:
            retry_after = 60.0
        return RateLimited(message, retry_after=retry_after, scope=str(data.get("scope") or "worker"))
    if status == 400:
        return InputError(message, hint=hint)
    return WorkerError(f"{worker.label} answered HTTP {status}: {message}")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _message(response: httpx.Response) -> str:
    return str(_json(response).get("message") or f"HTTP {response.status_code}")


def _describe(err: httpx.TransportError) -> str:
    if isinstance(err, httpx.ConnectError):
        return "connection failed"
    return type(err).__name__


def _failed_report(request: ProbeRequest, worker: WorkerEndpoint, err: PortbotError) -> ProbeReport:
    return ProbeReport(
        target=request.target,
        host=request.target,
        vantage=worker.label,
        results=(),
        local=False,
        error=str(err),
    )


_LONG_POLL = 25.0  # seconds one poll may hold the worker (it allows 60): under common proxies' idle limits
_WORKER_HINT = "Try again in a few minutes. If it keeps happening, tell the people who run this bot."


class LocalProber:
    """Probes in-process with the engine, from the bot's own network (used when no worker is configured)."""

    def __init__(self, prober: Prober, vantage: str = LOCAL_VANTAGE) -> None:
        self._prober = prober
        self.vantage = vantage

    async def probe(self, request: ProbeRequest, *, requester: Requester | None = None) -> list[ProbeReport]:
        return [await self._prober.probe(request, vantage=self.vantage, local=True)]
