"""The UDP protocol registry: one module per protocol, and a new module is all the engine needs to speak it."""

from __future__ import annotations

import contextlib
import importlib.util
import pkgutil
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from probes import _ports, _protocols
from probes._protocols import REGISTRY, Registry, UdpProtocol
from probes.engine import EngineConfig, ProbeEngine
from probes.models import ProbeRequest, ServiceInfo, State
from probes.policy import SafetyPolicy
from tests.probes.servers import _UdpServer

pytestmark = pytest.mark.usefixtures("no_loop_errors")

LOOPBACK = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"])

# A whole protocol module as someone adding a game would write it: Quake III Arena's status query.
QUAKE3_MODULE = '''
"""Quake III Arena: ``getstatus``, answered by ``statusResponse`` and the server's variables."""

from __future__ import annotations

from probes._protocols._base import UdpProtocol
from probes.models import ServiceInfo

PREFIX = b"\\xff\\xff\\xff\\xff"


def request() -> bytes:
    return PREFIX + b"getstatus\\n"


def parse(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    if not data.startswith(PREFIX + b"statusResponse\\n"):
        return None
    pairs = data.split(b"\\n")[1].decode("utf-8", "replace").split("\\\\")[1:]
    info = dict(zip(pairs[::2], pairs[1::2]))
    return ServiceInfo(
        "quake3",
        f"Quake III server \u201c{info['sv_hostname']}\u201d on {info['mapname']}",
        {"name": info["sv_hostname"], "map": info["mapname"]},
    )


PROTOCOL = UdpProtocol(
    kind="quake3", request=request, parse=parse, ports=frozenset(PORTS), hints=("quake", "q3a")
)
'''


class Quake3Server(_UdpServer):
    """Answers ``getstatus`` as ioquake3 does; logs each request."""

    kind = "quake3"

    def answer(self, data: bytes, addr: tuple[Any, ...]) -> bytes | None:
        self.log.append(data)
        if data != b"\xff\xff\xff\xffgetstatus\n":
            return None
        return b"\xff\xff\xff\xffstatusResponse\n\\sv_hostname\\Portbot arena\\mapname\\q3dm17\n"


def load_module(directory: Path, ports: set[int]) -> ModuleType:
    """Write the Quake III module into ``directory`` and import it from there, as a file of its own."""
    path = directory / "quake3.py"
    path.write_text(QUAKE3_MODULE.replace("PORTS", repr(tuple(ports))))
    spec = importlib.util.spec_from_file_location("portbot_test_quake3", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def module_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory outside the package for the new module; the module is forgotten afterwards."""
    yield tmp_path
    sys.modules.pop("portbot_test_quake3", None)


@contextlib.asynccontextmanager
async def quake3_server() -> AsyncIterator[Quake3Server]:
    server = Quake3Server("127.0.0.1", 0)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def add_to_registry(monkeypatch: pytest.MonkeyPatch, protocol: UdpProtocol) -> None:
    """What adding the module's name to the list in probes/_protocols/__init__.py does."""
    registry = Registry((*REGISTRY.protocols, protocol), fallback=REGISTRY.fallback)
    monkeypatch.setattr(_protocols, "REGISTRY", registry)


def engine() -> ProbeEngine:
    return ProbeEngine(LOOPBACK, EngineConfig(timeout=1.0))


@pytest.mark.parametrize(
    ("declare_port", "hint"),
    [(True, None), (False, "Quake III Arena"), (False, "q3a")],
    ids=["by-port", "by-hint", "by-short-hint"],
)
async def test_a_new_module_is_all_the_engine_needs(
    module_dir: Path, monkeypatch: pytest.MonkeyPatch, declare_port: bool, hint: str | None
) -> None:
    """A protocol module, once listed, makes "auto" probe its port (or the port a hint names) over UDP with its
    request, and its reader describes the answer."""
    async with quake3_server() as server:
        module = load_module(module_dir, {server.port} if declare_port else set())
        add_to_registry(monkeypatch, module.PROTOCOL)
        report = await engine().probe(ProbeRequest("127.0.0.1", (server.port,), service_hint=hint))
    assert [(r.protocol, r.state, r.reason) for r in report.results] == [("udp", State.OPEN, "udp-response")]
    assert report.results[0].service == ServiceInfo(
        "quake3",
        "Quake III server “Portbot arena” on q3dm17",
        {"name": "Portbot arena", "map": "q3dm17"},
    )
    assert server.log == [b"\xff\xff\xff\xffgetstatus\n"]


async def test_without_the_module_the_port_is_checked_over_tcp(module_dir: Path) -> None:
    """The control: the same port and hint without the module get a TCP check, and the server hears nothing."""
    async with quake3_server() as server:
        report = await engine().probe(ProbeRequest("127.0.0.1", (server.port,), service_hint="Quake III"))
    assert [r.protocol for r in report.results] == ["tcp"]
    assert server.hits == 0


def test_every_module_in_the_package_is_registered() -> None:
    """Each protocol module's kind is its file name, and the registry lists every one of them."""
    modules = {m.name for m in pkgutil.iter_modules(_protocols.__path__) if not m.name.startswith("_")}
    assert {p.kind for p in REGISTRY} == modules


def _protocol(kind: str, ports: set[int], tcp_ports: set[int] = set()) -> UdpProtocol:  # noqa: B006
    return UdpProtocol(kind, bytes, lambda data, rtt: None, frozenset(ports), frozenset(tcp_ports))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Registry(
                [_protocol("a", {7000}), _protocol("b", {7000})], fallback=_protocol("c", set())
            ),
            r"^UDP port 7000 is claimed by both a and b$",
        ),
        (
            lambda: Registry([_protocol("a", set()), _protocol("a", set())], fallback=_protocol("c", set())),
            r"^two UDP protocols are called 'a'$",
        ),
        (
            lambda: Registry([_protocol("a", {7000}, {7001})], fallback=_protocol("c", set())),
            r"^a: its tcp_ports must be among its ports$",
        ),
    ],
    ids=["port-twice", "kind-twice", "tcp-port-outside"],
)
def test_conflicting_declarations_fail_when_the_registry_is_built(build: Any, message: str) -> None:
    """Two protocols on one port or with one name, or a TCP port a protocol doesn't declare, fail at import."""
    with pytest.raises(ValueError, match=message):
        build()


@pytest.mark.parametrize(
    ("hint", "kind"),
    [
        ("Minecraft Bedrock", "bedrock"),
        ("minecraft", "minecraft"),
        ("Minecraft: Java Edition", "minecraft"),
        ("Valheim", "a2s"),
        ("DNS over HTTPS", "dns"),
        ("web", "http"),
        ("parkour", None),
        ("", None),
    ],
)
def test_hint_names_a_kind(hint: str, kind: str | None) -> None:
    """A hint names a UDP protocol by its words first, then a TCP service; whole words only."""
    assert _ports.hint_kind(hint) == kind


def test_the_registry_module_imports_no_protocol_library() -> None:
    """Importing the registry loads neither dnspython nor mcstatus: they wait for an answer to read."""
    code = (
        "import sys, probes._protocols\n"
        "print(','.join(m for m in ('dns', 'mcstatus', 'a2s') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
