"""Throwaway TLS certificates for tests, made with the ``openssl`` command (no Python crypto package needed).

    ca = make_certificate(tmp_path, ["Portbot Test CA"], ca=True)
    leaf = make_certificate(tmp_path, ["portbot.test", "127.0.0.1"], issuer=ca)
    old = make_certificate(tmp_path, ["old.test"], not_before="20200101000000Z", not_after="20200201000000Z")

Names that are addresses go into the subjectAltName as ``IP:``, the rest as ``DNS:``; the first is the CN.
``openssl ca`` is used (rather than ``req -x509``) because it is the only openssl 3.0 command that takes
explicit validity dates, which an expired certificate needs.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import itertools
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

_CONFIG = """\
[ ca ]
default_ca = portbot
[ portbot ]
database = {db}
new_certs_dir = {dir}
serial = {serial}
default_md = sha256
policy = anything
copy_extensions = copy
unique_subject = no
[ anything ]
commonName = supplied
"""
_counter = itertools.count()


@dataclass(frozen=True)
class CertFiles:
    """A PEM certificate and its unencrypted PEM key."""

    cert: Path
    key: Path


def make_certificate(
    directory: Path,
    names: Sequence[str],
    *,
    issuer: CertFiles | None = None,
    ca: bool = False,
    not_before: str | None = None,
    not_after: str | None = None,
    days: int = 30,
) -> CertFiles:
    """Make a certificate for ``names`` (self-signed unless ``issuer`` is given). Dates as ``YYYYMMDDHHMMSSZ``."""
    n = next(_counter)
    work = directory / f"cert-{n}"
    work.mkdir(parents=True)
    (work / "index.txt").touch()
    (work / "serial").write_text(f"{1000 + n:04X}\n")
    config = work / "openssl.cnf"
    config.write_text(_CONFIG.format(db=work / "index.txt", dir=work, serial=work / "serial"))

    key, csr, cert = work / "key.pem", work / "req.csr", work / "cert.pem"
    now = dt.datetime.now(dt.UTC)
    start = not_before or (now - dt.timedelta(hours=1)).strftime("%Y%m%d%H%M%SZ")
    end = not_after or (now + dt.timedelta(days=days)).strftime("%Y%m%d%H%M%SZ")
    extensions = ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"] if ca else []
    if not ca:
        extensions.append("subjectAltName=" + ",".join(_san(name) for name in names))
    _openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={names[0]}",
        *itertools.chain.from_iterable(("-addext", e) for e in extensions),
    )  # fmt: skip
    signer = (
        ["-selfsign", "-keyfile", str(key)]
        if issuer is None
        else ["-cert", str(issuer.cert), "-keyfile", str(issuer.key)]
    )
    _openssl(
        "ca", "-batch", "-notext", "-config", str(config), *signer, "-in", str(csr), "-out", str(cert),
        "-startdate", start, "-enddate", end,
    )  # fmt: skip
    return CertFiles(cert=cert, key=key)


def _san(name: str) -> str:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return f"DNS:{name}"
    return f"IP:{name}"


def _openssl(*args: str) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()}")
