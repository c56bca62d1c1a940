"""The compiled-index cache. Parsing the CSV and TOML takes tens of milliseconds; loading the compiled index
takes about one, which keeps ``portbot ask`` quick to start. The cache is keyed by the sha256 and size of
every source file (and by the Python version, since marshal's format follows it), so any change to a source
rebuilds it on the next load.
"""

from __future__ import annotations

import contextlib
import hashlib
import marshal
import sys
from pathlib import Path
from typing import Any

from knowledge._files import write_atomically
from knowledge._index import compile_sources
from knowledge._paths import Sources

#: Bump when the compiled layout changes, so old caches are rebuilt rather than misread.
FORMAT = 2
CACHE_FILE = "knowledge-index.marshal"


def source_key(sources: Sources) -> str:
    """A digest of the index format and of each source file's name, size and sha256."""
    digest = hashlib.sha256(f"{FORMAT}|{sys.version_info[:2]}|{marshal.version}".encode())
    for path in sources:
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            digest.update(f"|{path.name}:missing".encode())
            continue
        digest.update(f"|{path.name}:{len(content)}:{hashlib.sha256(content).hexdigest()}".encode())
    return digest.hexdigest()


def load_compiled(sources: Sources, directory: Path, *, rebuild: bool = False) -> tuple[dict[str, Any], bool]:
    """The compiled index for ``sources``, from the cache in ``directory`` when it is current.

    Returns the data and whether it had to be compiled. A cache that cannot be written (read-only home,
    full disk) only costs speed, never an answer.
    """
    key = source_key(sources)
    path = directory / CACHE_FILE
    if not rebuild:
        cached = _read(path, key)
        if cached is not None:
            return cached, False
    data = compile_sources(sources)
    with contextlib.suppress(OSError):
        _write(path, key, data)
    return data, True


def invalidate(directory: Path) -> None:
    """Forget the compiled index so the next load rebuilds it."""
    (directory / CACHE_FILE).unlink(missing_ok=True)


def _read(path: Path, key: str) -> dict[str, Any] | None:
    try:
        # marshal of our own file under the user's cache directory: same trust as the installed package.
        stored_key, data = marshal.loads(path.read_bytes())  # noqa: S302
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if stored_key != key or not isinstance(data, dict):
        return None
    return data


def _write(path: Path, key: str, data: dict[str, Any]) -> None:
    write_atomically(path, marshal.dumps((key, data)))
