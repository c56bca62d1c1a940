"""Service identification against real servers on loopback: HTTP, TLS certificates, SSH, banners, Minecraft, A2S."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import time
from pathlib import Path

import pytest

from probes._x509 import Certificate, CertificateError, parse_certificate
from probes.identify import identify_a2s, identify_tcp
from probes.models import ServiceInfo
from tests.probes.certs import CertFiles, make_certificate
from tests.probes.servers import A2S_GAME, A2S_NAME, HTTP_SERVER, HTTP_TITLE, serve

pytestmark = pytest.mark.usefixtures("no_loop_errors")

LOCAL = ipaddress.ip_address("127.0.0.1")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, CertFiles]:
    directory: Path = tmp_path_factory.mktemp("certs")
    ca = make_certificate(directory, ["Portbot Test CA"], ca=True)
    return {
        "ca": ca,
        "leaf": make_certificate(
            directory, ["portbot.test", "*.portbot.test", "127.0.0.1"], issuer=ca, days=30
        ),
        "self": make_certificate(directory, ["self.test"], days=30),
        "old": make_certificate(
            directory, ["old.test"], not_before="20200101000000Z", not_after="20200201000000Z"
        ),
    }


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_http_status_server_and_title(host: str) -> None:
    """A web server: status line, Server header and page title, with our Host header sent."""
    async with serve("http", host) as server:
        info = await identify_tcp(
            ipaddress.ip_address(host), server.port, host="www.portbot.test", hint="http"
        )
    assert info == ServiceInfo(
        "http",
        f"HTTP 200 OK ({HTTP_SERVER})",
        {
            "http_status": 200,
            "http_reason": "OK",
            "server": HTTP_SERVER,
            "location": None,
            "title": HTTP_TITLE,
        },
    )
    assert server.log == [{"request": "GET / HTTP/1.1", "host": f"www.portbot.test:{server.port}"}]


async def test_http_redirect_shows_where_it_goes() -> None:
    """A redirect says where it points."""
    async with serve(
        "http", status="301 Moved Permanently", headers=["Location: https://portbot.test/"]
    ) as server:
        info = await identify_tcp(LOCAL, server.port, host="portbot.test", hint="http")
    assert info is not None
    assert info.summary == f"HTTP 301 Moved Permanently ({HTTP_SERVER}) → https://portbot.test/"


async def test_ipv6_host_header_is_bracketed() -> None:
    """Asked by address, the Host header carries the (bracketed IPv6) address."""
    async with serve("http", "::1") as server:
        await identify_tcp(ipaddress.ip_address("::1"), server.port, host="::1", hint="http")
    assert server.log[0]["host"] == f"[::1]:{server.port}"


async def test_trusted_certificate(certs: dict[str, CertFiles]) -> None:
    """A certificate from a trusted CA for the asked name: trusted, name matches, days left, page inside."""
    async with serve("tls", cert=certs["leaf"]) as server:
        info = await identify_tcp(
            LOCAL, server.port, host="portbot.test", hint="https", tls_ca_file=str(certs["ca"].cert)
        )
    assert info is not None and info.kind == "tls"
    assert info.summary.startswith(
        "TLS certificate for portbot.test, issued by Portbot Test CA, valid until "
    )
    assert info.summary.endswith(f"(29 days left); trusted; HTTP 200 OK ({HTTP_SERVER})")
    details = info.details
    assert (details["trusted"], details["trust_error"], details["name_matches"]) == (True, None, True)
    assert (details["days_left"], details["expired"], details["self_signed"]) == (29, False, False)
    assert details["names"] == "portbot.test, *.portbot.test, 127.0.0.1"
    assert details["tls_version"] in ("TLSv1.2", "TLSv1.3")
    assert (details["http_status"], details["title"]) == (200, HTTP_TITLE)
    assert server.log[0]["host"] == f"portbot.test:{server.port}"


async def test_wildcard_name_matches(certs: dict[str, CertFiles]) -> None:
    """*.portbot.test covers mc.portbot.test."""
    async with serve("tls", cert=certs["leaf"]) as server:
        info = await identify_tcp(
            LOCAL, server.port, host="mc.portbot.test", hint="https", tls_ca_file=str(certs["ca"].cert)
        )
    assert info is not None
    assert (info.details["trusted"], info.details["name_matches"]) == (True, True)


async def test_certificate_for_another_name(certs: dict[str, CertFiles]) -> None:
    """A trusted certificate for a different name is reported as a mismatch, with OpenSSL's reason."""
    async with serve("tls", cert=certs["leaf"]) as server:
        info = await identify_tcp(
            LOCAL, server.port, host="other.test", hint="https", tls_ca_file=str(certs["ca"].cert)
        )
    assert info is not None
    assert (info.details["trusted"], info.details["name_matches"]) == (False, False)
    assert info.details["trust_error"] == "Hostname mismatch, certificate is not valid for 'other.test'."
    assert "; not trusted: Hostname mismatch" in info.summary


async def test_certificate_checked_by_address(certs: dict[str, CertFiles]) -> None:
    """Asked by IP address, the certificate's IP entries decide the match."""
    async with serve("tls", cert=certs["leaf"]) as server:
        info = await identify_tcp(
            LOCAL, server.port, host="127.0.0.1", hint="tls", tls_ca_file=str(certs["ca"].cert)
        )
    assert info is not None
    assert (info.details["trusted"], info.details["name_matches"]) == (True, True)


async def test_self_signed_certificate_is_read_anyway(certs: dict[str, CertFiles]) -> None:
    """A self-signed certificate isn't trusted, but its details are still read and reported."""
    async with serve("tls", cert=certs["self"]) as server:
        info = await identify_tcp(LOCAL, server.port, host="self.test", hint="https")
    assert info is not None
    assert info.details["subject"] == "self.test"
    assert (info.details["trusted"], info.details["self_signed"], info.details["name_matches"]) == (
        False,
        True,
        True,
    )
    assert info.details["trust_error"] == "self-signed certificate"


async def test_expired_certificate(certs: dict[str, CertFiles]) -> None:
    """An expired certificate says when it expired and how long ago."""
    async with serve("tls", cert=certs["old"]) as server:
        info = await identify_tcp(LOCAL, server.port, host="old.test", hint="https")
    assert info is not None
    assert "EXPIRED on 2020-02-01 (" in info.summary
    days_left = info.details["days_left"]
    assert isinstance(days_left, int) and days_left < -1000
    assert info.details["expired"] is True


@pytest.mark.parametrize("hint", ["ssh", None])
async def test_ssh_banner(hint: str | None) -> None:
    """An SSH server's identification line, by hint or heard as a banner on an unknown port."""
    async with serve("ssh", banner="SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13") as server:
        info = await identify_tcp(LOCAL, server.port, host="127.0.0.1", hint=hint)
    assert info == ServiceInfo(
        "ssh",
        "SSH server (OpenSSH_9.6p1 Ubuntu-3ubuntu13)",
        {
            "protocol": "2.0",
            "software": "OpenSSH_9.6p1",
            "comment": "Ubuntu-3ubuntu13",
            "banner": "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13",
        },
    )


async def test_unknown_service_banner() -> None:
    """A service that speaks first is described by its first line, control characters removed."""
    async with serve("banner", text="220 test FTP ready\x07") as server:
        info = await identify_tcp(LOCAL, server.port, host="127.0.0.1")
    assert info == ServiceInfo(
        "banner", "The service greets with: 220 test FTP ready", {"banner": "220 test FTP ready"}
    )


async def test_unknown_port_speaking_http() -> None:
    """A quiet unknown port gets an HTTP request on the same connection."""
    async with serve("http") as server:
        info = await identify_tcp(LOCAL, server.port, host="portbot.test")
    assert info is not None and info.kind == "http"
    assert server.hits == 1


async def test_unknown_port_speaking_tls(certs: dict[str, CertFiles]) -> None:
    """A quiet unknown port that hangs up on plain HTTP (as OpenSSL servers do) is then read as TLS."""
    async with serve("tls", cert=certs["self"]) as server:
        info = await identify_tcp(LOCAL, server.port, host="self.test")
    assert info is not None and info.kind == "tls"
    assert info.details["subject"] == "self.test"


@pytest.mark.parametrize("hint", ["minecraft", "Minecraft: Java Edition"])
async def test_minecraft_java_status(hint: str) -> None:
    """Minecraft's status protocol through mcstatus: version, players and MOTD, asked of the checked address."""
    async with serve("minecraft") as server:
        info = await identify_tcp(LOCAL, server.port, host="mc.portbot.test", hint=hint)
    assert info is not None
    assert info.summary == "Minecraft 1.21.4, 3/20 players – “A Portbot test world”"
    assert info.details["players_online"] == 3 and info.details["protocol"] == 769
    assert isinstance(info.details["latency_ms"], float)
    assert server.log[0]["address"] == "127.0.0.1" and server.log[0]["next_state"] == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_a2s_info_after_the_challenge(host: str) -> None:
    """python-a2s completes the challenge handshake and reads the server's details."""
    async with serve("a2s", host) as server:
        info = await identify_a2s(ipaddress.ip_address(host), server.port)
    assert info is not None
    assert info.summary == f"{A2S_GAME}: “{A2S_NAME}”, 5/16 players, map de_dust2"
    assert (info.details["game_port"], info.details["vac"], info.details["password"]) == (27015, True, False)
    assert server.log == [b"", server.challenge]


async def test_a2s_on_a_silent_port_is_none() -> None:
    """No A2S answer: no details, no exception."""
    async with serve("udp-silent") as server:
        assert await identify_a2s(LOCAL, server.port, time_box=0.4) is None


@pytest.mark.parametrize(
    ("kind", "hint"), [("tcp-open", None), ("tcp-open", "https"), ("tcp-open", "minecraft")]
)
async def test_nothing_to_identify_is_none(kind: str, hint: str | None) -> None:
    """A port that accepts and hangs up tells us nothing: None, not an error."""
    async with serve(kind) as server:
        assert await identify_tcp(LOCAL, server.port, host="127.0.0.1", hint=hint) is None


@pytest.mark.parametrize("hint", [None, "http", "https", "ssh", "minecraft"])
async def test_silent_service_stays_inside_the_time_box(hint: str | None) -> None:
    """A port that accepts and never speaks gives None once the time box closes."""
    async with serve("tcp-silent") as server:
        started = time.monotonic()
        assert await identify_tcp(LOCAL, server.port, host="127.0.0.1", hint=hint, time_box=0.6) is None
        assert time.monotonic() - started < 1.5


def decoded_by_python(path: Path) -> dict:  # type: ignore[type-arg]
    """CPython's own certificate decoder (a private test helper of the ssl module), as a reference."""
    return ssl._ssl._test_decode_cert(str(path))  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("which", ["ca", "leaf", "self", "old"])
def test_certificate_reader_agrees_with_openssl(certs: dict[str, CertFiles], which: str) -> None:
    """Our DER reader finds the same names and dates as CPython's OpenSSL-based decoder."""
    files = certs[which]
    cert = parse_certificate(ssl.PEM_cert_to_DER_cert(files.cert.read_text()))
    reference = decoded_by_python(files.cert)
    assert cert.subject_cn == dict(rdn[0] for rdn in reference["subject"])["commonName"]
    assert cert.issuer_cn == dict(rdn[0] for rdn in reference["issuer"])["commonName"]
    assert cert.not_after == dt.datetime.strptime(reference["notAfter"], "%b %d %H:%M:%S %Y GMT").replace(
        tzinfo=dt.UTC
    )
    sans = reference.get("subjectAltName", ())
    assert cert.dns_names == tuple(v for k, v in sans if k == "DNS")
    assert cert.ip_addresses == tuple(str(ipaddress.ip_address(v)) for k, v in sans if k == "IP Address")
    assert cert.self_issued == (which in ("ca", "self", "old"))


def cert_for(*names: str, cn: str | None = None) -> Certificate:
    when = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    dns_names = tuple(n for n in names if not n[0].isdigit())
    ips = tuple(n for n in names if n[0].isdigit())
    return Certificate(cn, None, "CA", None, when, when, dns_names, ips, False)


@pytest.mark.parametrize(
    ("cert", "host", "matches"),
    [
        (cert_for("portbot.test"), "portbot.test", True),
        (cert_for("portbot.test"), "PORTBOT.test.", True),
        (cert_for("*.portbot.test"), "mc.portbot.test", True),
        (cert_for("*.portbot.test"), "portbot.test", False),
        (cert_for("*.portbot.test"), "a.mc.portbot.test", False),
        (cert_for("*.test"), "portbot.test", False),
        (cert_for("mc*.portbot.test"), "mc1.portbot.test", False),
        (cert_for("other.test", cn="portbot.test"), "portbot.test", False),  # SANs win over the CN
        (cert_for(cn="portbot.test"), "portbot.test", True),  # no SANs: the CN counts
        (cert_for("203.0.113.7"), "203.0.113.7", True),
        (cert_for("portbot.test", cn="203.0.113.7"), "203.0.113.7", False),
    ],
)
def test_certificate_name_matching(cert: Certificate, host: str, matches: bool) -> None:
    """RFC 6125 matching: whole left-most-label wildcards only, SANs before the CN, IPs against IP entries."""
    assert cert.matches(host) is matches


@pytest.mark.parametrize("der", [b"", b"\x30", b"\x30\x82\xff\xff", b"\x04\x00", bytes(range(64))])
def test_unreadable_certificates_raise_certificate_error(der: bytes) -> None:
    """Garbage is a CertificateError, never another exception."""
    with pytest.raises(CertificateError):
        parse_certificate(der)
