"""Data checks for knowledge/data/ports.toml: schema, safety rules, and agreement with our sources.

These tests read the TOML with tomllib only, so they guard the data independently of the lookup engine.
"""

from __future__ import annotations

import csv
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[2] / "knowledge" / "data"
PORTS_TOML = DATA / "ports.toml"
IANA_CSV = DATA / "iana-service-names-port-numbers.csv"

CATEGORIES = {
    "game",
    "web",
    "mail",
    "remote-access",
    "file-transfer",
    "dns",
    "database",
    "vpn",
    "media",
    "voice",
    "self-hosting",
    "infrastructure",
    "time",
    "directory",
    "messaging",
    "monitoring",
    "dev",
}
PROTOCOLS = {"tcp", "udp", "tcp+udp"}
ROLES = {
    "game",
    "query",
    "rcon",
    "web-ui",
    "api",
    "voice",
    "file-transfer",
    "control",
    "discovery",
    "data",
    "admin",
    "other",
}
FORWARD = {"yes", "no", "optional"}

REQUIRED_SERVICE_KEYS = {"id", "name", "aliases", "category", "summary", "troubles", "sources", "ports"}
OPTIONAL_SERVICE_KEYS = {"security", "disagreement", "iana_note", "sources_read"}
REQUIRED_PORT_KEYS = {"port", "protocol", "role", "forward"}
OPTIONAL_PORT_KEYS = {"note"}

KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
RANGE = re.compile(r"([0-9]{1,5})-([0-9]{1,5})")
# An iana_note names registrations as "<port>[/<proto>] to `<service name>`".
IANA_CLAIM = re.compile(r"(\d{1,5})(?:/(tcp|udp))? to `([^`]+)`")

MUST_HAVE_PORTS = [20, 21, 22, 25, 53, 80, 123, 179, 443, 500, 587, 3389, 3478, 5900, 8080, 8888, 25565, 8096]


def _load_services() -> list[dict[str, Any]]:
    with PORTS_TOML.open("rb") as handle:
        services: list[dict[str, Any]] = tomllib.load(handle)["service"]
    return services


def _load_iana() -> list[tuple[int, int, str, str]]:
    """(low, high, transport, service name) for every IANA row that has a port number."""
    rows = []
    with IANA_CSV.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            number = row["Port Number"]
            if not number:
                continue
            low, _, high = number.partition("-")
            rows.append((int(low), int(high or low), row["Transport Protocol"], row["Service Name"]))
    return rows


SERVICES = _load_services()
BY_ID = {s["id"]: s for s in SERVICES}


def _bounds(value: object) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        return value, value
    assert isinstance(value, str), f"port {value!r} is neither an integer nor a range string"
    match = RANGE.fullmatch(value)
    assert match, f"port range {value!r} is not written like '26900-26902'"
    return int(match[1]), int(match[2])


def _all_ports() -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    for service in SERVICES:
        for port in service["ports"]:
            yield service, port


def _entries(service_id: str, number: int, protocol: str | None = None) -> list[dict[str, Any]]:
    """The port tables of one service that cover ``number`` (and ``protocol``, when given)."""
    found = []
    for port in BY_ID[service_id]["ports"]:
        low, high = _bounds(port["port"])
        if low <= number <= high and (protocol is None or protocol in port["protocol"].split("+")):
            found.append(port)
    return found


def _ids(cases: list[tuple[Any, ...]]) -> list[str]:
    return ["-".join(str(part) for part in case) for case in cases]


# --- structure -----------------------------------------------------------------------------------------


def test_file_parses_and_has_services() -> None:
    """ports.toml is valid TOML with a non-empty [[service]] list."""
    assert len(SERVICES) >= 100


def test_services_have_exactly_the_schema_keys() -> None:
    """Every service carries the required keys and nothing outside the schema."""
    allowed = REQUIRED_SERVICE_KEYS | OPTIONAL_SERVICE_KEYS
    bad = {
        s.get("id", "?"): sorted((REQUIRED_SERVICE_KEYS - set(s)) | (set(s) - allowed))
        for s in SERVICES
        if not REQUIRED_SERVICE_KEYS <= set(s) <= allowed
    }
    assert bad == {}


def test_service_ids_are_kebab_case() -> None:
    """Ids are lower-case kebab-case."""
    assert [s["id"] for s in SERVICES if not KEBAB.fullmatch(s["id"])] == []


def test_service_categories_are_known() -> None:
    """Every category is one of the schema's categories."""
    assert {s["id"]: s["category"] for s in SERVICES if s["category"] not in CATEGORIES} == {}


def test_service_texts_are_filled_in() -> None:
    """Name and summary are non-empty; optional text fields are strings when present."""
    bad = [
        s["id"]
        for s in SERVICES
        if not (isinstance(s["name"], str) and s["name"].strip())
        or not (isinstance(s["summary"], str) and s["summary"].strip())
        or not all(isinstance(s.get(key, ""), str) for key in OPTIONAL_SERVICE_KEYS)
    ]
    assert bad == []


def test_services_list_one_to_three_troubles() -> None:
    """Each service gives 1-3 non-empty troubleshooting lines."""
    bad = [
        s["id"]
        for s in SERVICES
        if not 1 <= len(s["troubles"]) <= 3
        or not all(isinstance(t, str) and t.strip() for t in s["troubles"])
    ]
    assert bad == []


def test_services_name_at_least_one_source() -> None:
    """Every fact needs a source: IANA, a facts-table key or a vendor document."""
    bad = [
        s["id"]
        for s in SERVICES
        if not s["sources"] or not all(isinstance(x, str) and x.strip() for x in s["sources"])
    ]
    assert bad == []


def test_aliases_are_lower_case_and_distinct() -> None:
    """Aliases are what people type: present, lower case, trimmed, no duplicates."""
    bad = {
        s["id"]: s["aliases"]
        for s in SERVICES
        if not s["aliases"]
        or len(s["aliases"]) != len(set(s["aliases"]))
        or not all(isinstance(a, str) and a and a == a.lower() == a.strip() for a in s["aliases"])
    }
    assert bad == {}


def test_service_ids_are_unique() -> None:
    """No two services share an id."""
    ids = [s["id"] for s in SERVICES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


def test_every_port_table_matches_the_schema() -> None:
    """Port tables use only schema keys and the allowed protocol, role and forward values."""
    problems: list[tuple[str, str, object]] = []
    for service, port in _all_ports():
        keys = set(port)
        if not REQUIRED_PORT_KEYS <= keys <= REQUIRED_PORT_KEYS | OPTIONAL_PORT_KEYS:
            problems.append((service["id"], "keys", sorted(keys)))
        if port.get("protocol") not in PROTOCOLS:
            problems.append((service["id"], "protocol", port.get("protocol")))
        if port.get("role") not in ROLES:
            problems.append((service["id"], "role", port.get("role")))
        if port.get("forward") not in FORWARD:
            problems.append((service["id"], "forward", port.get("forward")))
    assert not problems


def test_every_service_lists_at_least_one_port() -> None:
    """A service without ports cannot answer a port question."""
    assert all(s["ports"] for s in SERVICES)


def test_port_numbers_and_ranges_are_valid() -> None:
    """Ports are within 1-65535 and ranges run from a lower to a higher number."""
    bad = []
    for service, port in _all_ports():
        low, high = _bounds(port["port"])
        is_range = isinstance(port["port"], str)
        if not (1 <= low <= high <= 65535) or (is_range and low >= high):
            bad.append((service["id"], port["port"]))
    assert not bad


def test_at_least_150_distinct_port_numbers() -> None:
    """The curated list covers at least 150 distinct single port numbers (ranges not counted)."""
    singles = {p["port"] for _, p in _all_ports() if isinstance(p["port"], int)}
    assert len(singles) >= 150, len(singles)


@pytest.mark.parametrize("number", MUST_HAVE_PORTS)
def test_must_have_port_is_covered(number: int) -> None:
    """Each port people ask about most has at least one curated entry."""
    assert any(_bounds(p["port"])[0] <= number <= _bounds(p["port"])[1] for _, p in _all_ports())


# --- safety rules ----------------------------------------------------------------------------------------

NEVER_FORWARD = [
    ("rdp", 3389),
    ("vnc", 5900),
    ("redis", 6379),
    ("mysql", 3306),
    ("postgresql", 5432),
    ("mongodb", 27017),
    ("docker-api", 2375),
    ("telnet", 23),
]


@pytest.mark.parametrize(("service_id", "number"), NEVER_FORWARD, ids=_ids(NEVER_FORWARD))
def test_dangerous_port_is_never_forwarded(service_id: str, number: int) -> None:
    """RDP, VNC, databases, Docker and telnet are marked forward="no" wherever they appear."""
    assert _entries(service_id, number), f"{service_id} does not list {number}"
    every = [p for _, p in _all_ports() if _bounds(p["port"])[0] <= number <= _bounds(p["port"])[1]]
    assert {p["forward"] for p in every} == {"no"}


@pytest.mark.parametrize(("service_id", "number"), NEVER_FORWARD, ids=_ids(NEVER_FORWARD))
def test_dangerous_service_explains_the_safe_alternative(service_id: str, number: int) -> None:
    """Those services carry a security line pointing to a VPN or SSH tunnel."""
    security = BY_ID[service_id].get("security", "")
    assert security.strip()
    assert "VPN" in security or "SSH" in security


def test_rcon_ports_are_never_forwarded() -> None:
    """Every role="rcon" port is forward="no", and its service says why in `security`."""
    rcon = [(s, p) for s, p in _all_ports() if p["role"] == "rcon"]
    assert len(rcon) >= 10
    assert [(s["id"], p["port"]) for s, p in rcon if p["forward"] != "no"] == []
    assert [s["id"] for s, _ in rcon if not s.get("security", "").strip()] == []


def test_admin_ports_are_never_forwarded() -> None:
    """Admin consoles (role="admin") are forward="no", as SCHEMA.md requires."""
    assert [
        (s["id"], p["port"]) for s, p in _all_ports() if p["role"] == "admin" and p["forward"] != "no"
    ] == []


def test_discovery_ports_stay_on_the_lan() -> None:
    """LAN discovery ports (role="discovery") are forward="no"."""
    assert [
        (s["id"], p["port"]) for s, p in _all_ports() if p["role"] == "discovery" and p["forward"] != "no"
    ] == []


# --- agreement with the shared game-ports facts table ----------------------------------------------------

# (service id, port, protocol) rows copied from /work/shared/data/game-ports-facts.md.
FACTS = [
    ("minecraft-java", 25565, "tcp"),
    ("minecraft-java", 25565, "udp"),
    ("minecraft-java", 25575, "tcp"),
    ("minecraft-bedrock", 19132, "udp"),
    ("minecraft-bedrock", 19133, "udp"),
    ("valheim", 2456, "udp"),
    ("valheim", 2457, "udp"),
    ("terraria", 7777, "tcp"),
    ("rust", 28015, "udp"),
    ("rust", 28016, "tcp"),
    ("rust", 28082, "tcp"),
    ("ark-survival-evolved", 7777, "udp"),
    ("ark-survival-evolved", 7778, "udp"),
    ("ark-survival-evolved", 27015, "udp"),
    ("ark-survival-evolved", 27020, "tcp"),
    ("ark-survival-ascended", 7777, "udp"),
    ("counter-strike-2", 27015, "udp"),
    ("counter-strike-2", 27015, "tcp"),
    ("counter-strike-2", 27020, "udp"),
    ("factorio", 34197, "udp"),
    ("factorio", 34198, "tcp"),
    ("palworld", 8211, "udp"),
    ("palworld", 27015, "udp"),
    ("palworld", 25575, "tcp"),
    ("palworld", 8212, "tcp"),
    ("satisfactory", 7777, "udp"),
    ("satisfactory", 7777, "tcp"),
    ("satisfactory", 8888, "tcp"),
    ("project-zomboid", 16261, "udp"),
    ("project-zomboid", 16262, "udp"),
    ("project-zomboid", 27015, "tcp"),
    ("7-days-to-die", 26900, "tcp"),
    ("7-days-to-die", 26900, "udp"),
    ("7-days-to-die", 26902, "udp"),
    ("7-days-to-die", 8080, "tcp"),
    ("7-days-to-die", 8081, "tcp"),
    ("enshrouded", 15636, "udp"),
    ("enshrouded", 15637, "udp"),
    ("space-engineers", 27016, "udp"),
    ("space-engineers", 8766, "udp"),
    ("v-rising", 9876, "udp"),
    ("v-rising", 9877, "udp"),
    ("v-rising", 25575, "tcp"),
    ("conan-exiles", 7778, "udp"),
    ("conan-exiles", 27015, "udp"),
    ("unturned", 27016, "udp"),
    ("soulmask", 8777, "tcp"),
    ("soulmask", 8777, "udp"),
    ("soulmask", 18888, "tcp"),
    ("dont-starve-together", 10999, "udp"),
    ("dont-starve-together", 10888, "udp"),
    ("dayz", 2302, "udp"),
    ("dayz", 27016, "udp"),
    ("vintage-story", 42420, "tcp"),
    ("teamspeak3", 9987, "udp"),
    ("teamspeak3", 30033, "tcp"),
    ("teamspeak3", 10011, "tcp"),
    ("mumble", 64738, "tcp"),
    ("mumble", 64738, "udp"),
    ("plex", 32400, "tcp"),
    ("plex", 32413, "udp"),
    ("jellyfin", 8096, "tcp"),
    ("jellyfin", 8920, "tcp"),
    ("jellyfin", 7359, "udp"),
    ("home-assistant", 8123, "tcp"),
    ("syncthing", 22000, "tcp"),
    ("syncthing", 21027, "udp"),
    ("syncthing", 8384, "tcp"),
]


@pytest.mark.parametrize(("service_id", "number", "protocol"), FACTS, ids=_ids(FACTS))
def test_entry_matches_the_facts_table(service_id: str, number: int, protocol: str) -> None:
    """Each facts-table row appears in our entry with the same port and protocol."""
    assert _entries(service_id, number, protocol)


# Rows the facts table marks LAN-only, admin-only or "do not forward".
FACTS_DO_NOT_FORWARD = [
    ("plex", 1900, "udp"),
    ("plex", 5353, "udp"),
    ("plex", 8324, "tcp"),
    ("plex", 32410, "udp"),
    ("plex", 32469, "tcp"),
    ("jellyfin", 7359, "udp"),
    ("jellyfin", 1900, "udp"),
    ("syncthing", 21027, "udp"),
    ("palworld", 8212, "tcp"),
    ("teamspeak3", 10011, "tcp"),
    ("teamspeak3", 10022, "tcp"),
    ("7-days-to-die", 8081, "tcp"),
    ("soulmask", 18888, "tcp"),
]


@pytest.mark.parametrize(
    ("service_id", "number", "protocol"), FACTS_DO_NOT_FORWARD, ids=_ids(FACTS_DO_NOT_FORWARD)
)
def test_facts_table_lan_and_admin_ports_are_not_forwarded(
    service_id: str, number: int, protocol: str
) -> None:
    """Ports the facts table calls LAN-only or admin-only are forward="no"."""
    entries = _entries(service_id, number, protocol)
    assert entries
    assert {p["forward"] for p in entries} == {"no"}


@pytest.mark.parametrize(
    ("service_id", "numbers"),
    [
        ("rust", ("28017", "28015")),
        ("ark-survival-ascended", ("37015", "27020")),
        ("space-engineers", ("8080", "8081")),
        ("satisfactory", ("15777", "15000")),
    ],
)
def test_disagreeing_sources_are_named(service_id: str, numbers: tuple[str, ...]) -> None:
    """Where sources differ, `disagreement` names every candidate instead of picking one silently."""
    disagreement = BY_ID[service_id].get("disagreement", "")
    assert disagreement.strip()
    assert all(n in disagreement for n in numbers)


@pytest.mark.parametrize(
    ("service_id", "number", "protocol"),
    [("rust", 28017, "udp"), ("ark-survival-ascended", 27020, "tcp"), ("space-engineers", 8080, "tcp")],
)
def test_uncertain_default_says_default_varies(service_id: str, number: int, protocol: str) -> None:
    """Ports whose default is disputed carry a 'default varies' note rather than a flat claim."""
    notes = [p.get("note", "") for p in _entries(service_id, number, protocol)]
    assert notes and all("default varies" in n.lower() for n in notes)


@pytest.mark.parametrize("number", [15777, 15000])
def test_satisfactory_pre_1_0_ports_are_historical(number: int) -> None:
    """Satisfactory's pre-1.0 ports are kept only as history and never forwarded."""
    entries = _entries("satisfactory", number, "udp")
    assert entries
    assert all(p["forward"] == "no" and "historical" in p.get("note", "").lower() for p in entries)


# --- IANA notes ------------------------------------------------------------------------------------------

IANA_ROWS = _load_iana()
NOTED = [s for s in SERVICES if s.get("iana_note", "").strip()]


def _registered(number: int, protocol: str | None, name: str) -> bool:
    return any(
        low <= number <= high and service == name and (protocol is None or transport in ("", protocol))
        for low, high, transport, service in IANA_ROWS
    )


@pytest.mark.parametrize("service", NOTED, ids=[s["id"] for s in NOTED])
def test_iana_note_matches_the_registry(service: dict[str, Any]) -> None:
    """Every registration an iana_note names is really in the IANA CSV for that port."""
    claims = IANA_CLAIM.findall(service["iana_note"])
    assert claims, "an iana_note must name at least one registration as <port> to `<name>`"
    wrong = [c for c in claims if not _registered(int(c[0]), c[1] or None, c[2])]
    assert wrong == []


# Unrelated registrations listed in the facts table's "Notes for the bot".
FACTS_IANA = [
    ("terraria", "7777", "cbt"),
    ("ark-survival-evolved", "7778", "interwise"),
    ("valheim", "2456", "altav-remmgt"),
    ("valheim", "2457", "rapido-ip"),
    ("teamspeak3", "9987", "dsm-scm-target"),
    ("palworld", "8211", "aruba-papi"),
    ("space-engineers", "27016", "chlenix"),
    ("space-engineers", "8766", "amcs"),
    ("satisfactory", "8888", "ddi-tcp-1"),
]


@pytest.mark.parametrize(("service_id", "number", "name"), FACTS_IANA, ids=_ids(FACTS_IANA))
def test_unrelated_iana_registration_is_explained(service_id: str, number: str, name: str) -> None:
    """Game ports that IANA assigns to something else say so in the entry's iana_note."""
    claims = {(c[0], c[2]) for c in IANA_CLAIM.findall(BY_ID[service_id].get("iana_note", ""))}
    assert (number, name) in claims


# --- facts that go stale: vendors' current docs, and when we read them --------------------------------------

DATE = re.compile(r"20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])")

# (service id, port, protocol) checked against the vendor's current docs or default config, with the date read.
VENDOR_FACTS = [
    ("velocity", 25565, "tcp"),  # PaperMC docs + default-velocity.toml: bind = "0.0.0.0:25565"
    ("bungeecord", 25577, "tcp"),  # BungeeCord default config.yml listener
    ("pterodactyl-wings", 8080, "tcp"),
    ("pterodactyl-wings", 2022, "tcp"),
    ("game-panel", 443, "tcp"),
    ("amp", 8080, "tcp"),
    ("crafty-controller", 8443, "tcp"),
    ("vaultwarden", 443, "tcp"),
    ("xbox-network", 3074, "udp"),
    ("xbox-network", 3074, "tcp"),
    ("playstation-network", 3478, "udp"),
    ("playstation-network", 3480, "tcp"),
    # Second recheck: self-hosted apps, panels, proxies and remote-access tools (vendor repo or docs page).
    ("home-assistant", 8123, "tcp"),  # home-assistant.io http.markdown: Server port default 8123
    ("nextcloud", 443, "tcp"),  # nextcloud/all-in-one readme: mandatory ports
    ("nextcloud", 3478, "udp"),
    ("nextcloud", 8443, "tcp"),  # AIO interface with a valid certificate
    ("emby", 8096, "tcp"),
    ("emby", 8920, "tcp"),
    ("cockpit", 9090, "tcp"),  # cockpit.socket.in: ListenStream=9090
    ("webmin", 10000, "tcp"),  # webmin setup.sh default port
    ("nginx-proxy-manager", 81, "tcp"),  # Dockerfile: EXPOSE 80 81 443
    ("traefik", 8080, "tcp"),  # static_config.go: the traefik entryPoint defaults to :8080
    ("caddy", 2019, "tcp"),  # admin default localhost:2019
    ("caddy", 443, "udp"),  # protocols default h1 h2 h3
    ("pihole", 53, "udp"),
    ("pihole", 547, "udp"),  # prerequisites: DHCPv6, optional
    ("adguard-home", 3000, "tcp"),  # config.go: first-run address 0.0.0.0:3000
    ("adguard-home", 853, "tcp"),
    ("unifi-network", 8080, "tcp"),
    ("immich", 2283, "tcp"),
    ("navidrome", 4533, "tcp"),
    ("qbittorrent", 8080, "tcp"),  # preferences.cpp: WebUI/Port default 8080
    ("transmission", 51413, "tcp"),
    ("transmission", 9091, "tcp"),
    ("deluge", 8112, "tcp"),
    ("deluge", 58846, "tcp"),
    ("sabnzbd", 8080, "tcp"),  # constants.py: DEF_PORT = 8080
    ("nzbget", 6789, "tcp"),
    ("sonarr", 8989, "tcp"),  # ConfigFileProvider.cs
    ("radarr", 7878, "tcp"),
    ("lidarr", 8686, "tcp"),
    ("prowlarr", 9696, "tcp"),
    ("overseerr", 5055, "tcp"),
    ("tautulli", 8181, "tcp"),
    ("node-red", 1880, "tcp"),  # settings.js: uiPort
    ("esphome", 6052, "tcp"),
    ("esphome", 6053, "tcp"),  # native API on each device
    ("rustdesk-server", 21116, "udp"),
    ("rustdesk-server", 21117, "tcp"),
    ("sunshine", 47989, "tcp"),
    ("sunshine", 48010, "tcp"),  # base + 21 (RTSP)
    ("teamviewer", 5938, "tcp"),
    ("anydesk", 6568, "tcp"),
    ("synology-dsm", 5001, "tcp"),
    ("minio", 9000, "tcp"),
    ("kodi", 9090, "tcp"),  # AdvancedSettings.cpp: m_jsonTcpPort = 9090
    ("tailscale", 41641, "udp"),  # tailscaled.go: Windows default; tailscaled.defaults: Linux packages
    ("zerotier", 9993, "udp"),
    ("uptime-kuma", 3001, "tcp"),
    ("grafana", 3000, "tcp"),
    ("ollama", 11434, "tcp"),
    ("matrix-synapse", 8448, "tcp"),
    ("netdata", 19999, "tcp"),
    ("jenkins", 50000, "tcp"),
    ("squid", 3128, "tcp"),
    ("mumble", 64738, "udp"),
    ("jupyter", 8888, "tcp"),  # jupyter_server: DEFAULT_JUPYTER_SERVER_PORT = 8888
    ("prometheus", 9090, "tcp"),
    ("docker-registry", 5000, "tcp"),
    ("unbound-pihole", 5335, "udp"),
    ("gitea", 3000, "tcp"),  # app.example.ini: HTTP_PORT = 3000
    ("wireguard", 51820, "udp"),
    ("openvpn", 1194, "udp"),
    ("node-exporter", 9100, "tcp"),
    ("alertmanager", 9093, "tcp"),
    ("influxdb", 8086, "tcp"),  # 1.x and 2.x
    ("influxdb", 8181, "tcp"),  # InfluxDB 3 Core: DEFAULT_HTTP_BIND_ADDR 0.0.0.0:8181
    ("openvpn-access-server", 943, "tcp"),
    ("pushgateway", 9091, "tcp"),
    ("mqtt", 1883, "tcp"),
    ("ssh", 22, "tcp"),  # sshd_config: #Port 22
    ("rdp", 3389, "tcp"),  # Microsoft: change the listening port (3389 by default)
    ("nats", 4222, "tcp"),  # const.go: DEFAULT_PORT = 4222
    ("kibana", 5601, "tcp"),
    ("loki", 3100, "tcp"),
    ("teamspeak3", 9987, "udp"),  # TeamSpeak's own Docker image: EXPOSE 9987/udp 10011 30033
    ("vite", 5173, "tcp"),  # constants.ts: DEFAULT_DEV_PORT = 5173
    ("kubernetes", 6443, "tcp"),
    ("etcd", 2379, "tcp"),
    ("rabbitmq", 15672, "tcp"),
    ("docker-api", 2375, "tcp"),
]


@pytest.mark.parametrize(("service_id", "number", "protocol"), VENDOR_FACTS, ids=_ids(VENDOR_FACTS))
def test_rechecked_entry_matches_the_vendor_and_says_when_it_was_read(
    service_id: str, number: int, protocol: str
) -> None:
    """A rechecked entry holds the vendor's current default and the date its sources were read."""
    assert _entries(service_id, number, protocol)
    assert DATE.fullmatch(BY_ID[service_id].get("sources_read", ""))


def test_sources_read_is_a_date_when_present() -> None:
    """sources_read, where given, is a YYYY-MM-DD date."""
    assert [s["id"] for s in SERVICES if "sources_read" in s and not DATE.fullmatch(s["sources_read"])] == []


def test_qbittorrent_peer_port_is_not_presented_as_its_own_default() -> None:
    """qBittorrent picks a random peer port; 6881 is the linuxserver.io image's setting and is named as such."""
    entry = BY_ID["qbittorrent"]
    assert "random" in entry["summary"]
    assert "6881" in entry["disagreement"] and "linuxserver" in entry["disagreement"]


def test_influxdb_names_both_version_ports() -> None:
    """InfluxDB 3 moved its HTTP API to 8181; the entry names 8086 (1.x, 2.x) and 8181 and says which is which."""
    disagreement = BY_ID["influxdb"]["disagreement"]
    assert "8086" in disagreement and "8181" in disagreement and "InfluxDB 3" in disagreement


def test_tailscale_port_is_not_claimed_as_universal() -> None:
    """Tailscale's 41641 is the default only on Windows and Linux packages; elsewhere the port is random."""
    entry = BY_ID["tailscale"]
    assert "random" in entry["summary"]
    assert "41641" in entry["disagreement"] and "--port" in entry["disagreement"]


@pytest.mark.parametrize(("service_id", "number"), [("nextcloud", 8080), ("nextcloud", 8443)])
def test_nextcloud_aio_interface_is_never_forwarded(service_id: str, number: int) -> None:
    """The Nextcloud AIO admin interface (8080 self-signed, 8443 with a certificate) is never forwarded."""
    assert {p["forward"] for p in _entries(service_id, number, "tcp")} == {"no"}


@pytest.mark.parametrize("service_id", ["anydesk", "unifi-network"])
def test_unreadable_vendor_page_is_said_in_disagreement(service_id: str) -> None:
    """Where the vendor's own port page could not be read, the entry says so instead of implying it was."""
    assert "could not be read" in BY_ID[service_id].get("disagreement", "")


def test_velocity_is_not_given_bungeecords_port() -> None:
    """Velocity's default is 25565; 25577 (BungeeCord's) appears only as the old value its sources disagree on."""
    assert not _entries("velocity", 25577, "tcp")
    assert "25577" in BY_ID["velocity"]["disagreement"]


# (service id, words its security line must hold): the specific risk, a real incident, the safe alternative.
SAFETY_FACTS = [
    ("rdp", ("BlueKeep", "ransomware", "brute force", "VPN", "RD Gateway")),
    ("smb", ("WannaCry", "EternalBlue", "VPN")),
    ("ssh", ("brute force", "keys", "PasswordAuthentication no")),
    ("telnet", ("Mirai", "SSH")),
    ("vnc", ("no password", "SSH", "VPN")),
    ("mongodb", ("ransom", "localhost", "VPN")),
    ("redis", ("authorized_keys", "cron", "localhost", "protected mode")),
    ("elasticsearch", ("ransom", "wiped", "localhost")),
]


@pytest.mark.parametrize(("service_id", "words"), SAFETY_FACTS, ids=[s for s, _ in SAFETY_FACTS])
def test_exposed_service_names_risk_incident_and_alternative(service_id: str, words: tuple[str, ...]) -> None:
    """The security line of a never-expose service names what attackers do, a real incident and the way round."""
    security = BY_ID[service_id]["security"].casefold()
    assert [w for w in words if w.casefold() not in security] == []
