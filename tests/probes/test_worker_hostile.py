"""The worker against hostile clients, over raw sockets on loopback: slow, greedy, compressed and garbled."""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import pytest

from probes._http import ConnectionLimits, Throttle, source_key
from probes.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from probes.policy import SafetyPolicy
from probes.worker import RunningWorker, WorkerConfig, start
from tests.probes._probers import BlockingProber, StaticProber

SECRET = "s3cret-for-hostile-tests"
DOCS = SafetyPolicy.from_strings(allow=["198.51.100.0/24"])

StartWorker = Callable[..., Awaitable[RunningWorker]]


@pytest.fixture
async def start_worker() -> AsyncIterator[StartWorker]:
    """Starts workers on loopback port 0 (limits given as keywords) and stops them after the test."""
    running: list[RunningWorker] = []

    async def _start(prober: Any = None, **limits: Any) -> RunningWorker:
        config = WorkerConfig(
            secret=SECRET,
            port=0,
            region="Frankfurt",
            policy=DOCS,
            audit=False,
            limits=ConnectionLimits(**limits),
        )
        worker = await start(config, prober or StaticProber())
        running.append(worker)
        return worker

    yield _start
    for worker in running:
        await worker.stop()


def body() -> bytes:
    return json.dumps(
        {"target": "198.51.100.7", "ports": [80], "request_id": str(time.monotonic_ns())}
    ).encode()


def head(method: str, path: str, *lines: bytes) -> bytes:
    return b"\r\n".join([f"{method} {path} HTTP/1.1".encode(), b"Host: worker", *lines, b"", b""])


def signed_post(content: bytes, *extra: bytes) -> bytes:
    headers = sign(SECRET, content)
    return (
        head(
            "POST",
            "/v1/probe",
            f"{TIMESTAMP_HEADER}: {headers[TIMESTAMP_HEADER]}".encode(),
            f"{SIGNATURE_HEADER}: {headers[SIGNATURE_HEADER]}".encode(),
            b"Content-Length: %d" % len(content),
            *extra,
        )
        + content
    )


class Conn:
    """One raw client connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def answer(self) -> tuple[int, dict[str, str], bytes]:
        """Read one answer: status, headers (lower-case names), body."""
        raw = await self.reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:] if line)
        }
        content = await self.reader.readexactly(int(headers.get("content-length", "0")))
        return int(lines[0].split()[1]), headers, content

    async def closed(self) -> bool:
        """Whether the worker closed the connection (reads to EOF, discarding anything still sent)."""
        try:
            while await self.reader.read(65536):
                pass
        except ConnectionResetError:
            pass
        return True

    def close(self) -> None:
        self.writer.close()


async def connect(worker: RunningWorker, source: str = "127.0.0.1") -> Conn:
    url = urlsplit(worker.url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port, local_addr=(source, 0))
    return Conn(reader, writer)


@pytest.fixture
async def conns() -> AsyncIterator[list[Conn]]:
    """Connections a test opens, closed at its end."""
    opened: list[Conn] = []
    yield opened
    for conn in opened:
        conn.close()


async def opened(worker: RunningWorker, conns: list[Conn], source: str = "127.0.0.1") -> Conn:
    conn = await connect(worker, source)
    conns.append(conn)
    return conn


async def healthz(worker: RunningWorker, conns: list[Conn], source: str = "127.0.0.1") -> int:
    conn = await opened(worker, conns, source)
    await conn.send(head("GET", "/healthz"))
    return (await conn.answer())[0]


# --- bodies: never decompressed, never read when too big ---------------------------------------------------


def _bomb(size: int = 256 * 1024 * 1024) -> bytes:
    """Gzip of ``size`` zero bytes (about 1/1000th of it), built without holding the inflated bytes."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    return b"".join([*(packer.compress(chunk) for _ in range(size // len(chunk))), packer.flush()])


async def test_concurrent_gzip_bombs_are_refused_with_415_at_once(
    start_worker: StartWorker,
    conns: list[Conn],
    no_loop_errors: list[dict[str, Any]],
) -> None:
    """50 signed gzip bombs at once (256 MiB each inflated) get 415 within 2 s; nothing is inflated."""
    prober = StaticProber()
    worker = await start_worker(prober, max_per_source=0)
    bomb = _bomb()
    assert len(bomb) < 512 * 1024
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    clients = [await opened(worker, conns) for _ in range(50)]
    began = time.monotonic()

    async def one(conn: Conn) -> int:
        conn.writer.write(signed_post(bomb, b"Content-Encoding: gzip", b"Content-Type: application/json"))
        return (await conn.answer())[0]

    statuses = await asyncio.gather(*(one(c) for c in clients))
    elapsed = time.monotonic() - began
    assert statuses == [415] * 50
    assert elapsed < 2.0
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before) / 1024
    assert grown_mib < 64, f"peak memory grew {grown_mib:.0f} MiB"
    assert prober.calls == []


@pytest.mark.parametrize(
    "encoding",
    [
        b"Content-Encoding: gzip",
        b"Content-Encoding: deflate",
        b"Content-Encoding: br",
        b"Content-Encoding: x-\xff",
    ],
)
async def test_any_content_encoding_gets_415_with_a_reason(
    start_worker: StartWorker, conns: list[Conn], encoding: bytes
) -> None:
    """Every Content-Encoding (even garbled bytes) is refused with 415 and a readable message."""
    worker = await start_worker()
    conn = await opened(worker, conns)
    await conn.send(signed_post(body(), encoding))
    status, headers, content = await conn.answer()
    assert status == 415
    assert json.loads(content) == {
        "error": "invalid",
        "message": "Send the body uncompressed (no Content-Encoding).",
    }
    assert headers["connection"] == "close"


async def test_chunked_gzip_gets_415_before_the_body(start_worker: StartWorker, conns: list[Conn]) -> None:
    """A chunked, gzip-encoded body is refused from its headers alone."""
    worker = await start_worker()
    conn = await opened(worker, conns)
    await conn.send(head("POST", "/v1/probe", b"Transfer-Encoding: chunked", b"Content-Encoding: gzip"))
    assert (await conn.answer())[0] == 415


@pytest.mark.parametrize("expect", [False, True])
async def test_oversize_content_length_gets_413_without_sending_the_body(
    start_worker: StartWorker, conns: list[Conn], expect: bool
) -> None:
    """A declared gigabyte is refused from the headers; with Expect: 100-continue, no 100 is sent first."""
    worker = await start_worker()
    conn = await opened(worker, conns)
    extra = [b"Expect: 100-continue"] if expect else []
    await conn.send(head("POST", "/v1/probe", b"Content-Length: 1000000000", *extra))
    status, _, content = await asyncio.wait_for(conn.answer(), timeout=2)
    assert (status, json.loads(content)["message"]) == (413, "The request is too large.")


async def test_expect_100_continue_is_met_for_a_good_request(
    start_worker: StartWorker, conns: list[Conn]
) -> None:
    """A client asking before it sends the body hears 100 Continue, then gets its answer."""
    worker = await start_worker()
    conn = await opened(worker, conns)
    content = body()
    request = signed_post(content, b"Expect: 100-continue")
    await conn.send(request[: -len(content)])
    assert await conn.reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    await conn.send(content)
    assert (await conn.answer())[0] == 200


async def test_oversize_chunked_body_gets_413(start_worker: StartWorker, conns: list[Conn]) -> None:
    """A chunked body is cut off with 413 once it passes the limit (16 KiB)."""
    worker = await start_worker()
    conn = await opened(worker, conns)
    await conn.send(head("POST", "/v1/probe", b"Transfer-Encoding: chunked"))
    chunk = b"%x\r\n%s\r\n" % (4096, b"a" * 4096)
    for _ in range(5):
        conn.writer.write(chunk)
    await conn.writer.drain()
    assert (await asyncio.wait_for(conn.answer(), timeout=2))[0] == 413


@pytest.mark.parametrize(
    ("coding", "status"),
    [
        (b"gzip, chunked", 415),  # we refuse it
        (b"deflate, chunked", 415),
        (b"gzip", 400),  # aiohttp's parser refuses these itself: chunked must come last
        (b"chunked, gzip", 400),
    ],
)
async def test_compressed_transfer_encoding_is_refused(
    start_worker: StartWorker, conns: list[Conn], coding: bytes, status: int
) -> None:
    """A transfer coding other than plain chunked is refused from the headers, never decoded."""
    worker = await start_worker()
    conn = await opened(worker, conns)
    await conn.send(head("POST", "/v1/probe", b"Transfer-Encoding: " + coding))
    assert (await conn.answer())[0] == status


# --- header bytes ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        (None, b"v1=\xff\xfe" + b"0" * 62),  # raw bytes that are no UTF-8
        (None, b"v1=" + "é".encode("latin-1") * 64),  # latin-1
        (None, b"v1=" + "é".encode() * 32),  # UTF-8, but not ASCII
        (b"17\xff\xff00000", None),
        (b"\xe9", b"v1=\xe9"),
    ],
)
async def test_bad_header_bytes_get_401_not_500(
    start_worker: StartWorker, conns: list[Conn], timestamp: bytes | None, signature: bytes | None
) -> None:
    """Signature or timestamp headers with bytes outside ASCII are refused as malformed."""
    worker = await start_worker()
    content = body()
    good = sign(SECRET, content)
    conn = await opened(worker, conns)
    await conn.send(
        head(
            "POST",
            "/v1/probe",
            TIMESTAMP_HEADER.encode() + b": " + (timestamp or good[TIMESTAMP_HEADER].encode()),
            SIGNATURE_HEADER.encode() + b": " + (signature or good[SIGNATURE_HEADER].encode()),
            b"Content-Length: %d" % len(content),
        )
        + content
    )
    status, _, answer = await conn.answer()
    assert status == 401
    assert json.loads(answer)["reason"] == "malformed"


@pytest.mark.parametrize(
    "lines",
    [
        [b"X-Big: " + b"a" * 5000],  # one field past 4 KiB
        [b"X-Many-%d: 1" % i for i in range(40)],  # more than 32 fields
    ],
)
async def test_oversize_headers_get_400(
    start_worker: StartWorker, conns: list[Conn], lines: list[bytes]
) -> None:
    """Header blocks bigger than a worker request needs are refused, so no connection hoards memory."""
    worker = await start_worker()
    conn = await opened(worker, conns)
    await conn.send(head("GET", "/healthz", *lines))
    assert (await conn.answer())[0] == 400


async def test_unsigned_floods_log_one_line_per_interval(
    start_worker: StartWorker, conns: list[Conn], caplog: pytest.LogCaptureFixture
) -> None:
    """Fifty unsigned requests are all refused, but the log gets one line for them, not fifty."""
    worker = await start_worker()
    conn = await opened(worker, conns)
    content = body()
    for _ in range(50):
        await conn.send(head("POST", "/v1/probe", b"Content-Length: %d" % len(content)) + content)
        assert (await conn.answer())[0] == 401
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith("refused request")]
    assert refused == ["refused request from 127.0.0.1: unsigned"]


# --- deadlines ---------------------------------------------------------------------------------------------


async def test_trickled_headers_are_cut_at_the_header_deadline(
    start_worker: StartWorker,
    conns: list[Conn],
    no_loop_errors: list[dict[str, Any]],
) -> None:
    """A byte every 0.2 s does not keep headers alive: 408 and close at the deadline (1 s here)."""
    worker = await start_worker(header_timeout=1.0)
    conn = await opened(worker, conns)
    began = time.monotonic()
    request = head("GET", "/healthz", b"X-Slow: " + b"a" * 100)

    async def trickle() -> None:
        for byte in request:
            conn.writer.write(bytes([byte]))
            await asyncio.sleep(0.2)

    trickling = asyncio.create_task(trickle())
    status, _, content = await conn.answer()
    cut_after = time.monotonic() - began
    trickling.cancel()
    assert (status, json.loads(content)["error"]) == (408, "timeout")
    assert await asyncio.wait_for(conn.closed(), timeout=3)
    assert 1.0 <= cut_after < 1.6


async def test_silent_connection_is_closed_at_the_header_deadline(
    start_worker: StartWorker, conns: list[Conn]
) -> None:
    """A connection that never sends a byte is closed at the header deadline."""
    worker = await start_worker(header_timeout=0.5)
    conn = await opened(worker, conns)
    began = time.monotonic()
    assert (await conn.answer())[0] == 408
    assert 0.5 <= time.monotonic() - began < 1.1


async def test_trickled_body_is_cut_at_the_body_deadline(
    start_worker: StartWorker,
    conns: list[Conn],
    no_loop_errors: list[dict[str, Any]],
) -> None:
    """Headers on time, then a byte of body every 0.2 s: 408 at the body deadline (1 s here)."""
    prober = StaticProber()
    worker = await start_worker(prober, body_timeout=1.0)
    conn = await opened(worker, conns)
    await conn.send(head("POST", "/v1/probe", b"Content-Length: 200"))
    began = time.monotonic()

    async def trickle() -> None:
        for _ in range(200):
            conn.writer.write(b"a")
            await asyncio.sleep(0.2)

    trickling = asyncio.create_task(trickle())
    status, _, content = await conn.answer()
    cut_after = time.monotonic() - began
    trickling.cancel()
    assert (status, json.loads(content)["message"]) == (408, "The request body took too long to arrive.")
    assert 1.0 <= cut_after < 1.5
    assert prober.calls == []


async def test_idle_keep_alive_connection_is_closed(
    start_worker: StartWorker,
    conns: list[Conn],
    no_loop_errors: list[dict[str, Any]],
) -> None:
    """After an answer, a keep-alive connection that sends nothing more is closed at the idle timeout."""
    worker = await start_worker(idle_timeout=0.5, header_timeout=5.0)
    conn = await opened(worker, conns)
    await conn.send(head("GET", "/healthz"))
    assert (await conn.answer())[0] == 200
    answered = time.monotonic()
    assert await asyncio.wait_for(conn.closed(), timeout=3)
    assert 0.5 <= time.monotonic() - answered < 1.1


async def test_keep_alive_serves_requests_within_the_deadlines(
    start_worker: StartWorker, conns: list[Conn]
) -> None:
    """A well-behaved client keeps its connection across requests spread over more than one deadline."""
    worker = await start_worker(header_timeout=0.4, idle_timeout=0.4)
    conn = await opened(worker, conns)
    for _ in range(4):
        await conn.send(signed_post(body()))
        assert (await conn.answer())[0] == 200
        await asyncio.sleep(0.2)


# --- connection caps ---------------------------------------------------------------------------------------


async def test_per_source_cap_sheds_the_next_connection_but_serves_other_sources(
    start_worker: StartWorker,
    conns: list[Conn],
    no_loop_errors: list[dict[str, Any]],
) -> None:
    """With 3 connections open from 127.0.0.1, its 4th gets 503 at once; 127.0.0.2 is still served."""
    worker = await start_worker(max_per_source=3)
    for _ in range(3):
        await opened(worker, conns)
    shed = await opened(worker, conns)
    began = time.monotonic()
    status, headers, content = await shed.answer()
    assert (status, json.loads(content)["message"]) == (
        503,
        "Too many connections from your address; close some first.",
    )
    assert headers["retry-after"] == "1"
    assert await asyncio.wait_for(shed.closed(), timeout=1)
    assert time.monotonic() - began < 0.5
    assert await healthz(worker, conns, "127.0.0.2") == 200


async def test_full_worker_sheds_new_connections_with_503_at_once(
    start_worker: StartWorker,
    conns: list[Conn],
    no_loop_errors: list[dict[str, Any]],
) -> None:
    """At the connection cap with every connection busy, a newcomer is answered 503 without being read."""
    prober = BlockingProber()
    worker = await start_worker(prober, max_connections=2)
    busy = [await opened(worker, conns) for _ in range(2)]
    for conn in busy:
        await conn.send(signed_post(body()))
    while prober.started < 2:
        await asyncio.sleep(0.01)
    newcomer = await opened(worker, conns, "127.0.0.3")
    status, _, content = await asyncio.wait_for(newcomer.answer(), timeout=1)
    assert (status, json.loads(content)["error"]) == (503, "overloaded")
    prober.release.set()
    assert [(await c.answer())[0] for c in busy] == [200, 200]


async def test_full_worker_drops_the_longest_waiting_connection_for_a_newcomer(
    start_worker: StartWorker,
    conns: list[Conn],
    no_loop_errors: list[dict[str, Any]],
) -> None:
    """At the cap, the connection waiting longest for its headers is dropped so a new client is served."""
    worker = await start_worker(max_connections=2)
    oldest = await opened(worker, conns)
    await opened(worker, conns)
    await asyncio.sleep(0.05)  # both admitted, in this order
    assert await healthz(worker, conns, "127.0.0.2") == 200
    assert await asyncio.wait_for(oldest.closed(), timeout=1)


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        (("198.51.100.7", 5000), "198.51.100.7"),
        (("2001:db8:1:2:3:4:5:6", 5000, 0, 0), "2001:db8:1:2::/64"),
        (("2001:db8:1:2:ffff::1", 5000, 0, 0), "2001:db8:1:2::/64"),
        (("::ffff:198.51.100.7", 5000, 0, 0), "198.51.100.7"),
        (None, ""),
    ],
)
def test_per_source_cap_counts_ipv4_addresses_and_ipv6_64s(peer: Any, key: str) -> None:
    """One IPv6 customer (a /64) is one source; an IPv4-mapped peer counts as its IPv4 address."""
    assert source_key(peer) == key


# --- logging -----------------------------------------------------------------------------------------------


def test_throttle_lets_one_event_through_per_interval_and_counts_the_rest() -> None:
    """Within an interval only the first event passes; the next one after it reports how many were held."""
    now = [100.0]
    throttle = Throttle(10.0, clock=lambda: now[0])
    assert throttle.allow() == 0
    for step in (1, 2, 3, 9.9):
        now[0] = 100 + step
        assert throttle.allow() is None
    now[0] = 110.5
    assert throttle.allow() == 4
    assert throttle.allow() is None


async def test_a_client_gone_mid_body_is_not_an_error(
    start_worker: StartWorker,
    conns: list[Conn],
    no_loop_errors: list[dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A client that drops its connection halfway through a body (a bot stopped, a scheduler killed) is counted
    as body_reset, and nothing is logged as an error: it is the client's doing, not the worker's."""
    prober = StaticProber()
    worker = await start_worker(prober, body_timeout=5.0)
    conn = await opened(worker, conns)
    await conn.send(head("POST", "/v1/probe", b"Content-Length: 200") + b'{"target": ')
    await asyncio.sleep(0.1)  # the handler is now waiting for the rest of the body
    conn.writer.transport.abort()  # RST, as a killed process's kernel sends
    await asyncio.sleep(0.2)
    assert await healthz(worker, conns) == 200
    metrics = await opened(worker, conns)
    await metrics.send(head("GET", "/metrics"))
    _, _, text = await metrics.answer()
    assert b'portbot_worker_connections_total{outcome="body_reset"} 1.0' in text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert prober.calls == []
