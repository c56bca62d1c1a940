"""The IANA updater: checks a new registry file, installs it atomically, records where it came from."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from knowledge import KnowledgeBase, PortAnswer
from knowledge._cache import CACHE_FILE
from knowledge._paths import IANA_FILE, META_FILE, PACKAGED
from knowledge.errors import UpdateError
from knowledge.update import update_iana

PACKAGED_CSV = (PACKAGED / IANA_FILE).read_bytes()
NEW_ROW = b"portbot-test,65001,tcp,A row only the test file has,,,,,,,,\r\n"
NEWER_CSV = PACKAGED_CSV + NEW_ROW


def _file(tmp_path: Path, content: bytes, name: str = "new.csv") -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_good_file_is_installed_with_its_metadata(tmp_path: Path) -> None:
    """The file lands unmodified in data_dir, and iana-meta.json records date, sha256, rows and source."""
    data = tmp_path / "data"
    source = _file(tmp_path, NEWER_CSV)
    result = update_iana(source, data)
    assert (data / IANA_FILE).read_bytes() == NEWER_CSV
    meta = json.loads((data / META_FILE).read_text())
    digest = hashlib.sha256(NEWER_CSV).hexdigest()
    assert meta == {"updated": result.updated, "sha256": digest, "rows": 14_513, "source": source}
    assert (result.rows, result.previous_rows, result.changed) == (14_513, 14_512, True)
    assert result.format() == (
        f"Updated the IANA registry from {source}: 14,513 records (was 14,512), "
        f"sha256 {digest[:12]}…, saved to {data / IANA_FILE}."
    )


def test_installed_file_overrides_the_packaged_one_and_the_cache_is_renewed(tmp_path: Path) -> None:
    """After an update the next load rebuilds and answers from the new registry."""
    data = tmp_path / "data"
    KnowledgeBase.load(data)
    assert (data / "cache" / CACHE_FILE).exists()
    update_iana(_file(tmp_path, NEWER_CSV), data)
    assert not (data / "cache" / CACHE_FILE).exists()
    kb = KnowledgeBase.load(data)
    assert kb.rebuilt and kb.iana_records == 14_513
    answer = kb.lookup("65001")
    assert isinstance(answer, PortAnswer)
    assert [e.name for e in answer.iana] == ["portbot-test"]


def test_identical_file_is_reported_as_current(tmp_path: Path) -> None:
    """Updating to the same registry says so instead of claiming a change."""
    result = update_iana(_file(tmp_path, PACKAGED_CSV), tmp_path / "data")
    assert not result.changed
    assert result.format() == (
        f"The IANA registry is already up to date (14,512 records, sha256 {result.sha256[:12]}…)."
    )


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            b"name,port\r\nssh,22\r\n",
            r"^This is not the IANA registry CSV: expected the 12 columns Service Name, .*; found 2: name, port\.$",
        ),
        (
            PACKAGED_CSV[: PACKAGED_CSV.index(b"\r\n", 200_000) + 2],
            r"^Refusing the update: it has [0-9,]+ records, but the registry in use has 14,512 and a real one "
            r"has at least 13,060\. The download may be cut short or be a different file\.$",
        ),
        (b"\xff\xfe\x00garbage", r"^The file is not UTF-8 text, so it is not the IANA registry CSV\.$"),
        (
            PACKAGED_CSV + b"bad,99999,tcp,x,,,,,,,,\r\n",
            r"^IANA registry record 14513 has a port outside 0–65535",
        ),
    ],
)
def test_bad_files_are_refused_and_nothing_is_written(tmp_path: Path, content: bytes, message: str) -> None:
    """Wrong header, too few rows, binary junk and unparsable rows fail with the reason; data_dir stays empty."""
    data = tmp_path / "data"
    with pytest.raises(UpdateError, match=message):
        update_iana(_file(tmp_path, content), data)
    assert not (data / IANA_FILE).exists() and not (data / META_FILE).exists()


def test_row_count_floor_is_ten_thousand(tmp_path: Path) -> None:
    """Even with no registry in use at all, a file of a few rows is not accepted."""
    small = PACKAGED_CSV[: PACKAGED_CSV.index(b"\r\n", 1000) + 2]
    with pytest.raises(UpdateError, match=r"a real one has at least 13,060\."):
        update_iana(_file(tmp_path, small), tmp_path / "data")


def test_failed_update_leaves_the_previous_file(tmp_path: Path) -> None:
    """A refused update after a good one keeps the good one byte for byte."""
    data = tmp_path / "data"
    update_iana(_file(tmp_path, NEWER_CSV), data)
    with pytest.raises(UpdateError):
        update_iana(_file(tmp_path, b"Service Name\r\n", "bad.csv"), data)
    assert (data / IANA_FILE).read_bytes() == NEWER_CSV


def test_failed_write_leaves_the_previous_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the final rename fails (disk full, say), the old file is intact and the temp file is gone."""
    data = tmp_path / "data"
    update_iana(_file(tmp_path, PACKAGED_CSV + b"one,65002,tcp,x,,,,,,,,\r\n", "one.csv"), data)
    before = (data / IANA_FILE).read_bytes()

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("knowledge._files.os.replace", full_disk)
    with pytest.raises(
        UpdateError, match=r"^Could not save the registry into .*: No space left on device\.$"
    ):
        update_iana(_file(tmp_path, NEWER_CSV), data)
    assert (data / IANA_FILE).read_bytes() == before
    assert {p.name for p in data.iterdir()} == {IANA_FILE, META_FILE}


def test_missing_file_is_a_friendly_error(tmp_path: Path) -> None:
    """A path that does not exist says so."""
    with pytest.raises(UpdateError, match=r"^There is no file .*nope\.csv\.$"):
        update_iana(str(tmp_path / "nope.csv"), tmp_path / "data")


class _Registry(BaseHTTPRequestHandler):
    """Serves NEWER_CSV at /iana.csv and 404 elsewhere."""

    def do_GET(self) -> None:
        if self.path == "/iana.csv":
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(NEWER_CSV)))
            self.end_headers()
            self.wfile.write(NEWER_CSV)
        else:
            self.send_error(404)

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


def test_url_is_downloaded_and_installed(tmp_path: Path, registry_url: str) -> None:
    """A URL source is fetched with httpx and recorded as the source."""
    result = update_iana(f"{registry_url}/iana.csv", tmp_path / "data")
    assert result.rows == 14_513
    assert (tmp_path / "data" / IANA_FILE).read_bytes() == NEWER_CSV
    assert json.loads((tmp_path / "data" / META_FILE).read_text())["source"] == f"{registry_url}/iana.csv"


def test_http_error_is_a_friendly_error(tmp_path: Path, registry_url: str) -> None:
    """A 404 names the URL and the status."""
    with pytest.raises(
        UpdateError, match=r"^Downloading http://127\.0\.0\.1:\d+/missing failed: .*HTTP 404\.$"
    ):
        update_iana(f"{registry_url}/missing", tmp_path / "data")


def test_unreachable_url_is_a_friendly_error(tmp_path: Path) -> None:
    """A refused connection (a loopback port nothing listens on) becomes an UpdateError."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UpdateError, match=rf"^Downloading http://127\.0\.0\.1:{port}/x failed: "):
        update_iana(f"http://127.0.0.1:{port}/x", tmp_path / "data")
