"""What answers on an open port: a web server, a TLS certificate, an SSH server, a Minecraft world, a Steam game.

Identification runs after the verdict, inside its own time box, on new connections to the same checked
address (never a new DNS lookup). It is best effort: any failure, timeout or surprise gives ``None`` and never
changes the verdict. What to try comes from the port and the service hint (probes/_ports.py); an unknown port
gets a short listen for a banner (servers such as SSH, FTP and SMTP speak first), then an HTTP request on the
same connection, then TLS if the HTTP request drew a TLS alert or a silent hang-up. A UDP service's details
come from its protocol module (probes/_protocols/; ``identify_a2s`` is re-exported here).
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from probes import _ports
from probes._protocols.a2s import identify_a2s as identify_a2s  # the public name, kept here
from probes._text import clean as _clean
from probes._x509 import Certificate, parse_certificate
from probes.models import ServiceInfo
from probes.policy import IPAddress

log = logging.getLogger(__name__)

USER_AGENT = "Portbot/0.1 (port reachability check)"
BANNER_WAIT = 0.5  # how long an unknown service gets to speak first
BODY_WAIT = 0.5  # how long we wait for more of a page once its headers are in
_HEAD_LIMIT = 16 * 1024
_BODY_LIMIT = 32 * 1024
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title", re.IGNORECASE | re.DOTALL)
_TLS_ALERT = b"\x15\x03"  # a TLS alert record: the other side wanted a TLS handshake, not plain text

Details = dict[str, str | int | float | bool | None]


@dataclass(frozen=True, slots=True)
class _Http:
    status: int
    reason: str
    server: str | None
    location: str | None
    title: str | None

    def details(self) -> Details:
        return {
            "http_status": self.status,
            "http_reason": self.reason,
            "server": self.server,
            "location": self.location,
            "title": self.title,
        }

    def summary(self) -> str:
        text = f"HTTP {self.status} {self.reason}".rstrip()
        if self.server:
            text += f" ({self.server})"
        if 300 <= self.status < 400 and self.location:
            text += f" → {self.location}"
        return text


async def identify_tcp(
    address: IPAddress,
    port: int,
    *,
    host: str,
    hint: str | None = None,
    time_box: float = 2.0,
    tls_ca_file: str | None = None,
) -> ServiceInfo | None:
    """Identify the service on an open TCP port within ``time_box`` seconds. ``host`` is the name the user
    asked for (sent as HTTP Host and TLS SNI, and checked against the certificate) or the address itself."""
    kinds = _ports.tcp_kinds(port, hint)
    # Steps that collect in stages (TLS, then HTTP inside it) stop early enough to report what they have.
    deadline = asyncio.get_running_loop().time() + time_box
    steps: dict[str, Callable[[], Awaitable[ServiceInfo | None]]] = {
        _ports.MINECRAFT: lambda: _minecraft(address, port, time_box),
        _ports.TLS: lambda: _tls(address, port, host, tls_ca_file, deadline),
        _ports.SSH: lambda: _ssh(address, port),
        _ports.HTTP: lambda: _http(address, port, host, tls_ca_file, deadline),
    }
    try:
        async with asyncio.timeout_at(deadline):
            for kind in kinds:
                info = await _attempt(steps[kind], kind)
                if info is not None:
                    return info
            return await _sniff(address, port, host, tls_ca_file, deadline)
    except TimeoutError:
        log.debug("identification of %s port %s ran out of time", address, port)
    except Exception:  # best effort by design: a failed identification must never fail the probe
        log.debug("identification of %s port %s failed", address, port, exc_info=True)
    return None


async def _attempt(step: Callable[[], Awaitable[ServiceInfo | None]], kind: str) -> ServiceInfo | None:
    """One identification step; "not this protocol" (a refused handshake, garbage) just means None."""
    try:
        return await step()
    except (OSError, EOFError, ValueError, asyncio.IncompleteReadError, ssl.SSLError):
        log.debug("not %s", kind, exc_info=True)
        return None


# --- HTTP ------------------------------------------------------------------------------------------------


async def _http(
    address: IPAddress, port: int, host: str, ca_file: str | None, deadline: float
) -> ServiceInfo | None:
    reader, writer = await asyncio.open_connection(str(address), port)
    try:
        answer = await _http_exchange(reader, writer, _host_header(host, port, 80), deadline)
    except _WantsTls:
        answer = _WANTS_TLS
    finally:
        await _close(writer)
    if answer is _WANTS_TLS:
        return await _tls(address, port, host, ca_file, deadline)  # HTTPS on an HTTP port
    return None if answer is None else ServiceInfo("http", answer.summary(), answer.details())


async def _http_exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host_header: str,
    deadline: float,
    first: bytes = b"",
) -> _Http | None:
    request = (
        f"GET / HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\nAccept: */*\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(request.encode("ascii"))
    await writer.drain()
    data = first
    while b"\r\n\r\n" not in data and len(data) < _HEAD_LIMIT:
        chunk = await reader.read(4096)
        if not chunk:
            break
        data += chunk
    if not data or data.startswith(_TLS_ALERT):
        # A TLS alert, or a hang-up without a word (what OpenSSL-based servers do on plain text): try TLS.
        raise _WantsTls
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/\d(?:\.\d)? (\d{3}) ?(.*)", lines[0])
    if match is None:
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    while _TITLE.search(body) is None and len(body) < _BODY_LIMIT:
        try:
            chunk = await asyncio.wait_for(reader.read(4096), min(BODY_WAIT, _left(deadline)))
        except TimeoutError:
            break
        if not chunk:
            break
        body += chunk
    title = _TITLE.search(body)
    return _Http(
        status=int(match.group(1)),
        reason=_clean(match.group(2)),
        server=_clean(headers["server"]) if headers.get("server") else None,
        location=_clean(headers["location"], 200) if headers.get("location") else None,
        title=_clean(title.group(1).decode("utf-8", "replace")) if title else None,
    )


class _WantsTls(Exception):
    """The service answered a plain-text request with a TLS alert."""


_WANTS_TLS = _Http(0, "", None, None, None)  # marks "try TLS instead" where an answer is expected


def _host_header(host: str, port: int, default_port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port == default_port else f"{shown}:{port}"


# --- TLS -------------------------------------------------------------------------------------------------


async def _tls(
    address: IPAddress, port: int, host: str, ca_file: str | None, deadline: float
) -> ServiceInfo | None:
    """Handshake with verification first (does it verify for ``host``?), else without, to read the
    certificate anyway; then ask for the web page over the same connection."""
    trusted_context = ssl.create_default_context(cafile=ca_file)
    trust_error: str | None = None
    try:
        reader, writer = await asyncio.open_connection(
            str(address), port, ssl=trusted_context, server_hostname=host
        )
    except ssl.SSLCertVerificationError as err:
        trust_error = err.verify_message or str(err)
        loose = ssl.create_default_context()
        loose.check_hostname = False
        loose.verify_mode = ssl.CERT_NONE
        reader, writer = await asyncio.open_connection(str(address), port, ssl=loose, server_hostname=host)
    try:
        tls = writer.get_extra_info("ssl_object")
        der = tls.getpeercert(binary_form=True) if tls is not None else None
        version = tls.version() if tls is not None else None
        try:
            http = await asyncio.wait_for(
                _http_exchange(reader, writer, _host_header(host, port, 443), deadline), _left(deadline)
            )
        except (OSError, EOFError, ValueError, TimeoutError, ssl.SSLError, _WantsTls):
            http = None
    finally:
        await _close(writer)
    if not der:
        return None
    cert = parse_certificate(der)
    return _tls_info(cert, host, version, trust_error, http)


def _tls_info(
    cert: Certificate, host: str, version: str | None, trust_error: str | None, http: _Http | None
) -> ServiceInfo:
    days = cert.days_left()
    date = cert.not_after.date().isoformat()
    name = cert.subject_cn or (cert.dns_names[0] if cert.dns_names else "no name")
    matches = cert.matches(host)
    if days >= 0:
        validity = f"valid until {date} ({days} days left)"
    else:
        validity = f"EXPIRED on {date} ({-days} days ago)"
    summary = f"TLS certificate for {name}, issued by {cert.issuer}, {validity}"
    summary += "; trusted" if trust_error is None else f"; not trusted: {trust_error}"
    if http is not None:
        summary += f"; {http.summary()}"
    details: Details = {
        "tls_version": version,
        "subject": cert.subject_cn,
        "names": ", ".join((*cert.dns_names, *cert.ip_addresses)) or None,
        "issuer": cert.issuer,
        "not_after": cert.not_after.isoformat(),
        "days_left": days,
        "expired": days < 0,
        "self_signed": cert.self_issued,
        "trusted": trust_error is None,
        "trust_error": trust_error,
        "name_asked": host,
        "name_matches": matches,
    }
    if http is not None:
        details.update(http.details())
    return ServiceInfo("tls", summary, details)


# --- SSH, banners, sniffing ------------------------------------------------------------------------------


async def _ssh(address: IPAddress, port: int) -> ServiceInfo | None:
    reader, writer = await asyncio.open_connection(str(address), port)
    try:
        # RFC 4253 lets a server send other lines before its identification line.
        for _ in range(5):
            line = await reader.readline()
            if not line:
                return None
            if line.startswith(b"SSH-"):
                return _ssh_info(line)
        return None
    finally:
        await _close(writer)


def _ssh_info(line: bytes) -> ServiceInfo:
    banner = _clean(line.decode("utf-8", "replace"), 255)
    ident, _, comment = banner.partition(" ")
    _ssh, protocol, software = [*ident.split("-", 2), "", ""][:3]
    about = " ".join(part for part in (software, comment) if part)
    summary = f"SSH server ({about})" if about else "SSH server"
    return ServiceInfo(
        "ssh",
        summary,
        {"protocol": protocol, "software": software, "comment": comment or None, "banner": banner},
    )


async def _sniff(
    address: IPAddress, port: int, host: str, ca_file: str | None, deadline: float
) -> ServiceInfo | None:
    """Unknown port: listen briefly for a banner; if none, speak HTTP; if that drew a TLS alert or a silent
    hang-up, try TLS."""
    reader, writer = await asyncio.open_connection(str(address), port)
    try:
        try:
            first = await asyncio.wait_for(reader.read(1024), min(BANNER_WAIT, _left(deadline)))
        except TimeoutError:
            first = b""
        if first and not first.startswith(b"HTTP/"):
            if first.startswith(b"SSH-"):
                return _ssh_info(first.split(b"\n", 1)[0])
            text = _clean(first.split(b"\n", 1)[0].decode("utf-8", "replace"))
            if text:
                return ServiceInfo("banner", f"The service greets with: {text}", {"banner": text})
            return None
        try:
            answer = await _http_exchange(reader, writer, _host_header(host, port, 80), deadline, first)
        except _WantsTls:
            answer = _WANTS_TLS
    finally:
        await _close(writer)
    if answer is _WANTS_TLS:
        return await _tls(address, port, host, ca_file, deadline)
    return None if answer is None else ServiceInfo("http", answer.summary(), answer.details())


# --- games -----------------------------------------------------------------------------------------------


async def _minecraft(address: IPAddress, port: int, time_box: float) -> ServiceInfo | None:
    from mcstatus import JavaServer

    # The checked address, not the name: mcstatus would otherwise resolve (and maybe follow SRV) again.
    status = await JavaServer(str(address), port, timeout=time_box).async_status(tries=1)
    motd = _clean(status.motd.to_plain(), 200)
    summary = f"Minecraft {_clean(status.version.name)}, {status.players.online}/{status.players.max} players"
    return ServiceInfo(
        "minecraft",
        f"{summary} – “{motd}”" if motd else summary,
        {
            "motd": motd,
            "version": _clean(status.version.name),
            "protocol": status.version.protocol,
            "players_online": status.players.online,
            "players_max": status.players.max,
            "latency_ms": round(status.latency, 3),
            "modded": status.is_modded,
            "enforces_secure_chat": status.enforces_secure_chat,
        },
    )


# --- helpers ---------------------------------------------------------------------------------------------


_MARGIN = 0.1  # stop a stage this long before the box closes, to keep what earlier stages found


def _left(deadline: float) -> float:
    return max(0.0, deadline - asyncio.get_running_loop().time() - _MARGIN)


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close without waiting long: a TLS peer that never answers our goodbye gets the connection aborted."""
    writer.close()
    try:
        await asyncio.wait_for(writer.wait_closed(), 0.5)
    except (OSError, TimeoutError, ssl.SSLError):
        writer.transport.abort()
