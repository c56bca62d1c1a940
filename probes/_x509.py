"""Just enough X.509 to describe a server's certificate: names, issuer, validity. DER in, plain data out.

Why our own reader: the standard library only decodes a certificate it has *verified* (``getpeercert()`` is
empty with verification off), and the certificates people need explained are exactly the broken ones:
self-signed, expired, for another name. A full crypto package would be a large dependency for reading
six fields, so this walks the DER structure (RFC 5280) for those fields and nothing else. It never checks
signatures; trust is decided by the real TLS handshake in probes/identify.py.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

_OID_COMMON_NAME = bytes.fromhex("550403")  # 2.5.4.3
_OID_ORGANIZATION = bytes.fromhex("55040a")  # 2.5.4.10
_OID_SUBJECT_ALT_NAME = bytes.fromhex("551d11")  # 2.5.29.17


class CertificateError(ValueError):
    """The bytes are not a certificate we can read."""


@dataclass(frozen=True, slots=True)
class Certificate:
    subject_cn: str | None
    subject_org: str | None
    issuer_cn: str | None
    issuer_org: str | None
    not_before: dt.datetime
    not_after: dt.datetime
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    self_issued: bool  # issuer and subject are the same name (self-signed, as far as names go)

    @property
    def issuer(self) -> str:
        """The issuer as people know it: its organisation, else its common name."""
        return self.issuer_org or self.issuer_cn or "an unnamed issuer"

    def days_left(self, now: dt.datetime | None = None) -> int:
        """Whole days until expiry (negative once expired)."""
        now = now or dt.datetime.now(dt.UTC)
        return int((self.not_after - now).total_seconds() // 86400)

    def matches(self, host: str) -> bool:
        """Whether the certificate is valid for ``host`` (a name or an address), by RFC 6125's rules."""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            names = self.dns_names or ((self.subject_cn,) if self.subject_cn else ())
            return any(_name_matches(pattern, host) for pattern in names)
        return any(ipaddress.ip_address(ip) == address for ip in self.ip_addresses)


def _name_matches(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern == host:
        return True
    # A wildcard stands for exactly one whole left-most label: "*.example.com" covers "a.example.com" only.
    if not pattern.startswith("*.") or "*" in pattern[1:]:
        return False
    head, _, rest = host.partition(".")
    return bool(head) and rest == pattern[2:] and rest.count(".") >= 1


def parse_certificate(der: bytes) -> Certificate:
    """Read the fields above from a DER certificate. Raises :class:`CertificateError` if it can't."""
    try:
        return _parse(der)
    except (IndexError, ValueError, UnicodeDecodeError) as err:
        raise CertificateError(f"unreadable certificate: {err}") from None


def _parse(der: bytes) -> Certificate:
    tag, certificate, _ = _tlv(der, 0)
    _expect(tag, 0x30)
    tag, tbs, _ = _tlv(certificate, 0)
    _expect(tag, 0x30)
    fields = _children(tbs)
    if fields and fields[0][0] == 0xA0:  # [0] version: present from X.509 v2 on
        fields = fields[1:]
    # serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo, then optional parts
    issuer_raw, validity, subject_raw = fields[2][1], fields[3][1], fields[4][1]
    (t1, start), (t2, end) = _children(validity)[:2]
    issuer, subject = _name(issuer_raw), _name(subject_raw)
    dns_names: list[str] = []
    ips: list[str] = []
    for tag, value in fields[6:]:
        if tag == 0xA3:  # [3] extensions
            _, extensions, _ = _tlv(value, 0)
            for _tag, extension in _children(extensions):
                parts = _children(extension)
                if parts[0][1] == _OID_SUBJECT_ALT_NAME:
                    _, names, _ = _tlv(parts[-1][1], 0)  # extnValue: OCTET STRING holding GeneralNames
                    for name_tag, name in _children(names):
                        if name_tag == 0x82:  # dNSName
                            dns_names.append(name.decode("ascii"))
                        elif name_tag == 0x87:  # iPAddress
                            ips.append(str(ipaddress.ip_address(name)))
    return Certificate(
        subject_cn=subject.get(_OID_COMMON_NAME),
        subject_org=subject.get(_OID_ORGANIZATION),
        issuer_cn=issuer.get(_OID_COMMON_NAME),
        issuer_org=issuer.get(_OID_ORGANIZATION),
        not_before=_time(t1, start),
        not_after=_time(t2, end),
        dns_names=tuple(dns_names),
        ip_addresses=tuple(ips),
        self_issued=issuer_raw == subject_raw,
    )


def _tlv(data: bytes, offset: int) -> tuple[int, bytes, int]:
    """(tag, value, offset after) of the DER element at ``offset``."""
    tag = data[offset]
    length = data[offset + 1]
    offset += 2
    if length & 0x80:
        count = length & 0x7F
        if not 1 <= count <= 4:
            raise ValueError("bad length")
        length = int.from_bytes(data[offset : offset + count], "big")
        offset += count
    end = offset + length
    if end > len(data):
        raise ValueError("truncated")
    return tag, data[offset:end], end


def _children(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    offset = 0
    while offset < len(data):
        tag, value, offset = _tlv(data, offset)
        out.append((tag, value))
    return out


def _expect(tag: int, wanted: int) -> None:
    if tag != wanted:
        raise ValueError(f"expected tag {wanted:#x}, got {tag:#x}")


def _name(data: bytes) -> dict[bytes, str]:
    """The attributes of a Name, first value of each type."""
    out: dict[bytes, str] = {}
    for _set_tag, rdn in _children(data):
        for _seq_tag, attribute in _children(rdn):
            (_oid_tag, oid), (value_tag, value) = _children(attribute)[:2]
            out.setdefault(oid, _string(value_tag, value))
    return out


def _string(tag: int, value: bytes) -> str:
    if tag == 0x1E:  # BMPString
        return value.decode("utf-16-be")
    if tag == 0x1C:  # UniversalString
        return value.decode("utf-32-be")
    if tag == 0x14:  # TeletexString: in practice Latin-1
        return value.decode("latin-1")
    return value.decode("utf-8")  # UTF8String, PrintableString, IA5String


def _time(tag: int, value: bytes) -> dt.datetime:
    text = value.decode("ascii")
    if tag == 0x17:  # UTCTime, two-digit year: 50-99 are the 1900s (RFC 5280)
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif tag != 0x18:  # GeneralizedTime
        raise ValueError("bad time")
    return dt.datetime.strptime(text, "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)
