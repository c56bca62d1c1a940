"""The address-registry updater: checks both special-purpose registries, installs them atomically, dates them,
and the probe policy then decides from the installed copies."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from knowledge._paths import PACKAGED
from knowledge.errors import UpdateError
from knowledge.update import update_special_registries
from probes._special import IPV4_FILE, IPV6_FILE, META_FILE
from probes.errors import RefusedTarget
from probes.policy import SafetyPolicy, load_registries

IPV4_CSV = (PACKAGED / IPV4_FILE).read_bytes()
IPV6_CSV = (PACKAGED / IPV6_FILE).read_bytes()
# A row IANA might add one day: a public-looking block set aside and not globally reachable.
NEW_IPV4_ROW = b"198.51.99.0/24,Portbot Test Block,[RFC0000],2026-12,N/A,True,True,True,False,False\r\n"
NEWER_IPV4 = IPV4_CSV + NEW_IPV4_ROW


def _file(tmp_path: Path, content: bytes, name: str) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_both_files_are_installed_with_their_metadata(tmp_path: Path) -> None:
    """The files land unmodified in data_dir, and the meta file records date, sha256, blocks and source."""
    data = tmp_path / "data"
    v4, v6 = _file(tmp_path, NEWER_IPV4, "v4.csv"), _file(tmp_path, IPV6_CSV, "v6.csv")
    result = update_special_registries(v4, v6, data)
    assert (data / IPV4_FILE).read_bytes() == NEWER_IPV4
    assert (data / IPV6_FILE).read_bytes() == IPV6_CSV
    meta = json.loads((data / META_FILE).read_text())
    v4_digest = hashlib.sha256(NEWER_IPV4).hexdigest()
    assert meta[IPV4_FILE] == {
        "updated": meta[IPV4_FILE]["updated"],
        "sha256": v4_digest,
        "blocks": 27,
        "source": v4,
    }
    assert meta[IPV6_FILE]["blocks"] == 25 and meta[IPV6_FILE]["source"] == v6
    assert result.format() == (
        f"Updated {IPV4_FILE} from {v4}: 27 address blocks (was 26), sha256 {v4_digest[:12]}….\n"
        f"Updated {IPV6_FILE} from {v6}: 25 address blocks (was 25), "
        f"sha256 {hashlib.sha256(IPV6_CSV).hexdigest()[:12]}…."
    )


def test_the_policy_decides_from_the_installed_copy(tmp_path: Path) -> None:
    """After an update, a policy built on the data directory refuses the new row; the packaged one does not."""
    data = tmp_path / "data"
    update_special_registries(_file(tmp_path, NEWER_IPV4, "v4.csv"), None, data)
    address = ipaddress.IPv4Address("198.51.99.7")
    SafetyPolicy().check_address(address)
    with pytest.raises(RefusedTarget) as info:
        SafetyPolicy.from_strings(data_dir=data).check_address(address)
    assert info.value.message == (
        "198.51.99.7 is in a reserved range that isn't used on the public internet "
        "(IANA lists it as “Portbot Test Block”)."
    )


def test_a_broken_installed_copy_falls_back_to_the_packaged_one(tmp_path: Path) -> None:
    """A hand-edited copy that no longer parses is skipped: the packaged registries still decide."""
    data = tmp_path / "data"
    data.mkdir()
    (data / IPV6_FILE).write_text("Address Block\n::/0\n")
    registries = load_registries(data)
    assert registries.sources[1].parent == PACKAGED.resolve()
    with pytest.raises(RefusedTarget):
        SafetyPolicy(registries=registries).check_address(ipaddress.IPv6Address("::1"))


def test_identical_files_are_reported_as_current(tmp_path: Path) -> None:
    """Updating again to the registries just installed says so instead of claiming a change."""
    data = tmp_path / "data"
    sources = _file(tmp_path, IPV4_CSV, "v4.csv"), _file(tmp_path, IPV6_CSV, "v6.csv")
    update_special_registries(*sources, data)
    again = update_special_registries(*sources, data)
    assert again.lines == (
        f"{IPV4_FILE} is already up to date (26 address blocks, sha256 {hashlib.sha256(IPV4_CSV).hexdigest()[:12]}…).",
        f"{IPV6_FILE} is already up to date (25 address blocks, sha256 {hashlib.sha256(IPV6_CSV).hexdigest()[:12]}…).",
    )


_LOOPBACK_ROW = b'127.0.0.0/8,Loopback,"[RFC1122], Section 3.2.1.3",1981-09,N/A,False [1],False [1],False [1],False [1],True\r\n'


@pytest.mark.parametrize(
    ("v4", "v6", "message"),
    [
        (
            b"Address Block,Name\r\n10.0.0.0/8,Private-Use\r\n",
            IPV6_CSV,
            r"^This is not IANA's IPv4 Special-Purpose Address Registry CSV: expected the columns Address Block, ",
        ),
        (
            b"\xff\xfe\x00garbage",
            IPV6_CSV,
            r"^The file is not UTF-8 text, so it is not IANA's IPv4 Special-Purpose",
        ),
        (
            IPV4_CSV.replace(_LOOPBACK_ROW, _LOOPBACK_ROW.replace(b"False [1],True\r\n", b"True,True\r\n")),
            IPV6_CSV,
            r"^The IPv4 registry does not list 127\.0\.0\.0/8 as not globally reachable, so it is not IANA's",
        ),
        (IPV4_CSV, IPV4_CSV, r"^IPv6 registry row 1: 0\.0\.0\.0/8 is not an IPv6 block\.$"),
        (
            IPV4_CSV + b"10.1.0.0/16,Odd,[RFC1],2026-01,N/A,True,True,True,Maybe,False\r\n",
            IPV6_CSV,
            r"^IPv4 registry row 26: Globally Reachable is 'Maybe', not True, False or N/A\.$",
        ),
        (
            IPV4_CSV[: IPV4_CSV.index(b"172.16.0.0/12")],
            IPV6_CSV,
            r"^The IPv4 registry has only 6 blocks; IANA's has more than 15\. The file may be cut short\.$",
        ),
    ],
)
def test_bad_files_are_refused_and_nothing_is_written(
    tmp_path: Path, v4: bytes, v6: bytes, message: str
) -> None:
    """Wrong header, binary junk, a registry that opens loopback, wrong family, odd flags and a cut file fail
    with the reason, and neither registry is written."""
    data = tmp_path / "data"
    with pytest.raises(UpdateError, match=message):
        update_special_registries(_file(tmp_path, v4, "v4.csv"), _file(tmp_path, v6, "v6.csv"), data)
    assert not data.exists() or not any(data.iterdir())


def test_a_collapsed_row_count_is_refused(tmp_path: Path) -> None:
    """A file with far fewer blocks than the registry in use is refused even though it parses."""
    data = tmp_path / "data"
    update_special_registries(
        _file(
            tmp_path,
            NEWER_IPV4
            + b"".join(
                f"198.51.{n}.0/24,Extra,[RFC0],2026-12,N/A,True,True,True,False,False\r\n".encode()
                for n in range(10, 30)
            ),
            "big.csv",
        ),
        None,
        data,
    )
    with pytest.raises(
        UpdateError,
        match=r"^Refusing the IPv4 registry from .*: it has 26 address blocks, but the one in use has 47\.",
    ):
        update_special_registries(_file(tmp_path, IPV4_CSV, "v4.csv"), None, data)


def test_failed_write_leaves_the_previous_files_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the rename fails (disk full, say), the installed files are intact and no temporary file is left."""
    data = tmp_path / "data"
    update_special_registries(_file(tmp_path, IPV4_CSV, "v4.csv"), _file(tmp_path, IPV6_CSV, "v6.csv"), data)
    before = {p.name: p.read_bytes() for p in data.iterdir()}

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("knowledge._files.os.replace", full_disk)
    with pytest.raises(
        UpdateError, match=r"^Could not save the address registries into .*: No space left on device\.$"
    ):
        update_special_registries(_file(tmp_path, NEWER_IPV4, "v4.csv"), None, data)
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


class _Registry(BaseHTTPRequestHandler):
    """Serves the IPv4 registry at /v4.csv and the IPv6 one at /v6.csv, 404 elsewhere."""

    def do_GET(self) -> None:
        body = {"/v4.csv": NEWER_IPV4, "/v6.csv": IPV6_CSV}.get(self.path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def registry_url() -> Iterator[str]:
    """A loopback HTTP server on an ephemeral port, stopped and closed after the test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Registry)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_urls_are_downloaded_and_installed(tmp_path: Path, registry_url: str) -> None:
    """URL sources are fetched with httpx and recorded as the source."""
    data = tmp_path / "data"
    update_special_registries(f"{registry_url}/v4.csv", f"{registry_url}/v6.csv", data)
    assert (data / IPV4_FILE).read_bytes() == NEWER_IPV4
    assert (data / IPV6_FILE).read_bytes() == IPV6_CSV
    assert json.loads((data / META_FILE).read_text())[IPV6_FILE]["source"] == f"{registry_url}/v6.csv"


def test_one_failed_download_installs_neither(tmp_path: Path, registry_url: str) -> None:
    """A 404 on the IPv6 registry names the URL, and the good IPv4 one is not installed alone."""
    data = tmp_path / "data"
    with pytest.raises(
        UpdateError, match=r"^Downloading http://127\.0\.0\.1:\d+/missing failed: .*HTTP 404\.$"
    ):
        update_special_registries(f"{registry_url}/v4.csv", f"{registry_url}/missing", data)
    assert not data.exists() or not any(data.iterdir())
