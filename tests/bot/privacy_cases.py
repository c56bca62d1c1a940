"""Texts a member might type that hold an address or a host name, shared by the Discord and Slack privacy
tests, with every spelling that must never reach a public message.

The probe doubles answer every check with 203.0.113.7 (the "resolved" address), so that address, in all its
spellings, is secret for every case too.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import Any

RESOLVED = "203.0.113.7"


def spellings(address: str) -> set[str]:
    """The usual ways to write ``address``: dotted (or IPv6 compressed and exploded), decimal and hex."""
    parsed = ipaddress.ip_address(address)
    if parsed.version == 6:
        return {str(parsed), parsed.exploded}
    value = int(parsed)
    return {str(parsed), str(value), hex(value)}


@dataclass(frozen=True)
class Case:
    """``text`` after ``/port``; ``host`` alone (for /portcheck and the Check modal); what must stay private."""

    text: str
    host: str
    addresses: tuple[str, ...] = ()  # canonical addresses the text spells
    names: tuple[str, ...] = ()  # host names and other strings (user names in URLs) it holds

    @property
    def secrets(self) -> set[str]:
        found = spellings(RESOLVED) | {self.host, *self.names}
        for address in self.addresses:
            found |= spellings(address)
        return found

    def leaks(self, body: Any) -> list[str]:
        """The secrets present in a message body, in any case."""
        text = json.dumps(body, ensure_ascii=False).lower()
        return sorted(s for s in self.secrets if s.lower() in text)


CASES = [
    Case("203.0.113.7", "203.0.113.7", ("203.0.113.7",)),
    Case("is 25565 open on mc.example.com", "mc.example.com", names=("mc.example.com",)),
    Case("check 2130706433 80", "2130706433", ("127.0.0.1",)),
    Case("check 3405803783 25565", "3405803783", ("203.0.113.7",)),
    Case("check 0x7f.1 25565", "0x7f.1", ("127.0.0.1",)),
    Case("[2001:db8::7]:25565", "[2001:db8::7]:25565", ("2001:db8::7",)),
    Case("is [2001:db8::7]:25565 open", "[2001:db8::7]:25565", ("2001:db8::7",)),
    Case("check ::ffff:198.51.100.23 80", "::ffff:198.51.100.23", ("198.51.100.23", "::ffff:198.51.100.23")),
    Case("http://u1@mc.example.com", "http://u1@mc.example.com", names=("mc.example.com", "u1@")),
    Case(
        "check http://u1:pw@mc.example.com:8080/x 8080",
        "http://u1:pw@mc.example.com:8080/x",
        names=("mc.example.com", "u1:pw"),
    ),
    Case("mc.example.com", "mc.example.com", names=("mc.example.com",)),
    Case("play.myserver.net:25565", "play.myserver.net:25565", names=("play.myserver.net",)),
    Case("https://foo.bar/x", "https://foo.bar/x", names=("foo.bar",)),
    Case("why can't my friends join play.myserver.net", "play.myserver.net", names=("play.myserver.net",)),
    Case("minecraft at 198.51.100.23 won't start", "198.51.100.23", ("198.51.100.23",)),
    Case("check 198.51.100.23:25565", "198.51.100.23:25565", ("198.51.100.23",)),
    Case("check 203.0.113.7 70000", "203.0.113.7", ("203.0.113.7",)),
    Case("scan 203.0.113.7 1-1000", "203.0.113.7", ("203.0.113.7",)),
    Case("check mc.example.com", "mc.example.com", names=("mc.example.com",)),
    Case("２０３．０．１１３．７", "２０３．０．１１３．７", ("203.0.113.7",)),
    Case("203.0.113\u200b.7 minecraft", "203.0.113.7", ("203.0.113.7",), names=("203.0.113",)),
    Case("@everyone check MC.Example.COM 25565", "MC.Example.COM", names=("mc.example.com",)),
]

#: Plain questions: answered publicly (so the privacy tests can fail both ways).
PUBLIC_QUESTIONS = ["25565", "minecraft", "what is cgnat", "port 80 vs 443", "tcp vs udp"]
