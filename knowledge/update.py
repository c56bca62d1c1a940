"""``portbot knowledge update``: replace IANA's registries with newer copies, after checking them.

Three registries: the port registry, and the IPv4 and IPv6 Special-Purpose Address Registries that the probe
address policy decides from. Each new file goes into the data directory (it then overrides the packaged copy),
byte for byte as IANA publishes it, and only once it has passed every check: the exact header, rows that
parse, a row count that has not collapsed, and (for the address registries) the ranges every real copy
refuses. Anything else leaves the registries in use untouched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from knowledge._cache import invalidate
from knowledge._files import write_atomically
from knowledge._iana import IanaTable, read_csv
from knowledge._paths import IANA_FILE, META_FILE, Sources, cache_dir, default_data_dir
from knowledge.errors import DataError, UpdateError
from probes import (
    _special,
)  # the address registries' own reader, so the updater accepts what the policy reads

IANA_URL = "https://www.iana.org/assignments/service-names-port-numbers/service-names-port-numbers.csv"
MIN_ROWS = 10_000
MIN_SHARE = 0.9  # of the current row count: a sharp drop means a truncated or wrong file
MAX_BYTES = 32 * 1024 * 1024  # the registry is about 1 MB; anything far larger is not it
TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class UpdateResult:
    """What an update did. ``format()`` is the line to show the person who ran it."""

    path: Path
    source: str
    rows: int
    previous_rows: int
    sha256: str
    updated: str  # ISO 8601, UTC
    changed: bool  # False when the new file is identical to the one in use

    def format(self) -> str:
        if not self.changed:
            return f"The IANA registry is already up to date ({self.rows:,} records, sha256 {self.sha256[:12]}…)."
        return (
            f"Updated the IANA registry from {self.source}: {self.rows:,} records "
            f"(was {self.previous_rows:,}), sha256 {self.sha256[:12]}…, saved to {self.path}."
        )

    def __str__(self) -> str:
        return self.format()


def update_iana(source: str = IANA_URL, data_dir: Path | None = None) -> UpdateResult:
    """Fetch ``source`` (a URL or a local file), check it, and install it into ``data_dir``.

    Raises :class:`~knowledge.errors.UpdateError` with a sentence saying what was wrong; on any error the
    registry in use is left as it was.
    """
    data_dir = default_data_dir() if data_dir is None else data_dir
    raw = _fetch(source)
    rows = _check(raw)
    current = Sources.resolve(data_dir).iana
    current_raw = current.read_bytes() if current.is_file() else b""
    previous_rows = _count(current_raw)
    if rows < MIN_ROWS or rows < MIN_SHARE * previous_rows:
        raise UpdateError(
            f"Refusing the update: it has {rows:,} records, but the registry in use has {previous_rows:,} "
            f"and a real one has at least {max(MIN_ROWS, int(MIN_SHARE * previous_rows)):,}. "
            "The download may be cut short or be a different file."
        )
    digest = hashlib.sha256(raw).hexdigest()
    target = data_dir / IANA_FILE
    updated = datetime.now(UTC).isoformat(timespec="seconds")
    changed = raw != current_raw
    try:
        if changed:
            write_atomically(target, raw)
        meta = {"updated": updated, "sha256": digest, "rows": rows, "source": source}
        write_atomically(data_dir / META_FILE, (json.dumps(meta, indent=2) + "\n").encode())
        invalidate(cache_dir(data_dir))
    except OSError as err:
        raise UpdateError(f"Could not save the registry into {data_dir}: {err.strerror or err}.") from None
    return UpdateResult(target, source, rows, previous_rows, digest, updated, changed)


def _fetch(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        return _download(source)
    path = Path(source).expanduser()
    try:
        if path.stat().st_size > MAX_BYTES:
            raise UpdateError(f"{path} is too large to be the IANA registry.")
        return path.read_bytes()
    except FileNotFoundError:
        raise UpdateError(f"There is no file {path}.") from None
    except OSError as err:
        raise UpdateError(f"Could not read {path}: {err.strerror or err}.") from None


def _download(url: str) -> bytes:
    import httpx  # only the updater needs it; keeps `portbot ask` light

    try:
        with (
            httpx.Client(timeout=TIMEOUT, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise UpdateError(
                    f"Downloading {url} failed: the server answered HTTP {response.status_code}."
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise UpdateError(
                        f"{url} sent more than {MAX_BYTES // 1_000_000} MB: not the IANA registry."
                    )
            return bytes(body)
    except httpx.HTTPError as err:
        raise UpdateError(f"Downloading {url} failed: {err or type(err).__name__}.") from None


def _check(raw: bytes) -> int:
    """Validate the whole file the way the index builder reads it; return its record count."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UpdateError("The file is not UTF-8 text, so it is not the IANA registry CSV.") from None
    try:
        compiled = read_csv(text)
    except DataError as err:
        raise UpdateError(str(err)) from None
    return len(IanaTable(compiled))


def _count(raw: bytes) -> int:
    if not raw:
        return 0
    try:
        return _check(raw)
    except UpdateError:
        return 0  # a broken file in use must not block its own replacement


@dataclass(frozen=True, slots=True)
class SpecialUpdateResult:
    """What an update of the address registries did, one line per registry."""

    lines: tuple[str, ...]

    def format(self) -> str:
        return "\n".join(self.lines)

    def __str__(self) -> str:
        return self.format()


def update_special_registries(
    ipv4: str | None = _special.IPV4_URL, ipv6: str | None = _special.IPV6_URL, data_dir: Path | None = None
) -> SpecialUpdateResult:
    """Fetch the IPv4 and IPv6 special-purpose registries (URLs or local files; None skips one), check both,
    then install both into ``data_dir``, recording date, source and sha256 in ``special-registry-meta.json``.

    Raises :class:`~knowledge.errors.UpdateError`; on any error neither registry in use changes.
    """
    data_dir = default_data_dir() if data_dir is None else data_dir
    checked: list[tuple[str, str, bytes, int, int]] = []
    for version, source, name in ((4, ipv4, _special.IPV4_FILE), (6, ipv6, _special.IPV6_FILE)):
        if source is None:
            continue
        raw = _fetch(source)
        rows = _check_special(raw, version)
        current = data_dir / name if (data_dir / name).is_file() else _special.packaged_dir() / name
        previous = _count_special(current, version)
        if rows < MIN_SHARE * previous:
            raise UpdateError(
                f"Refusing the IPv{version} registry from {source}: it has {rows} address blocks, but the one "
                f"in use has {previous}. The download may be cut short or be a different file."
            )
        checked.append((name, source, raw, rows, previous))
    meta_path = data_dir / _special.META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    except (OSError, ValueError):
        meta = {}  # a broken record must not block the update that rewrites it
    updated = datetime.now(UTC).isoformat(timespec="seconds")
    lines = []
    try:
        for name, source, raw, rows, previous in checked:
            target = data_dir / name
            changed = not target.is_file() or target.read_bytes() != raw
            if changed:
                write_atomically(target, raw)
            digest = hashlib.sha256(raw).hexdigest()
            meta[name] = {"updated": updated, "sha256": digest, "blocks": rows, "source": source}
            lines.append(
                f"Updated {name} from {source}: {rows} address blocks (was {previous}), sha256 {digest[:12]}…."
                if changed
                else f"{name} is already up to date ({rows} address blocks, sha256 {digest[:12]}…)."
            )
        if checked:
            write_atomically(meta_path, (json.dumps(meta, indent=2) + "\n").encode())
    except OSError as err:
        raise UpdateError(
            f"Could not save the address registries into {data_dir}: {err.strerror or err}."
        ) from None
    return SpecialUpdateResult(tuple(lines))


def _check_special(raw: bytes, version: int) -> int:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UpdateError(
            f"The file is not UTF-8 text, so it is not IANA's IPv{version} Special-Purpose Address Registry CSV."
        ) from None
    try:
        return len(_special.parse(text, version))
    except ValueError as err:
        raise UpdateError(str(err)) from None


def _count_special(path: Path, version: int) -> int:
    try:
        return _check_special(path.read_bytes(), version)
    except (OSError, UpdateError):
        return 0  # a broken file in use must not block its own replacement
