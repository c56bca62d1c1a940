"""The compiled-index cache. Parsing the CSV and TOML takes tens of milliseconds; loading the compiled index
takes about one, which keeps ``portbot ask`` quick to start.

The file is an 8-byte length, a marshal header, then raw blobs: the IANA table's packed arrays and UTF-8 text.
Those are handed out as views into the file's bytes, so a load neither copies nor decodes the megabyte of
registry that one answer barely touches.

The cache is keyed by the sha256 and size of every source file (and by the Python version, since marshal's
format follows it), so any change to a source rebuilds it on the next load. Hashing a megabyte on every start
costs more than the rest of the load, so the cache also remembers each source's size and modification time:
when none of them moved, the sources are the ones hashed last time. Only files that had been still for a
while when the cache was written qualify, so an edit landing in the same clock tick as the write cannot hide.
"""

from __future__ import annotations

import contextlib
import marshal
import sys
import time
from pathlib import Path
from typing import Any

from knowledge._files import write_atomically
from knowledge._index import compile_sources
from knowledge._paths import Sources

#: Bump when the compiled layout changes, so old caches are rebuilt rather than misread.
FORMAT = 7
CACHE_FILE = "knowledge-index.marshal"
#: Written first in the file: a cache from another format or Python version is never read, even when the
#: sources' sizes and mtimes match (those alone would skip the key check).
_VERSION = (FORMAT, *sys.version_info[:2], marshal.version)
_LENGTH = 8  # bytes of the header length that starts the file
_ALIGN = 8  # blobs start at multiples of this, so the integer arrays in them are aligned
#: How long a source must have been unmodified before its size and mtime may stand in for its hash.
SETTLED_NS = 2_000_000_000

Stat = tuple[str, int, int]  # path, size, mtime in ns (-1, -1 for a missing file)


def source_key(sources: Sources) -> str:
    """A digest of the index format and of each source file's name, size and sha256."""
    import hashlib  # only when the sources may have changed: about 3 ms of start-up otherwise

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
    path = directory / CACHE_FILE
    stats = _stats(sources)  # taken before any content is read: a later write changes what the next load sees
    cached = None if rebuild else _read(path)
    if cached is not None and cached[1] is not None and cached[1] == stats:
        return cached[2], False
    key = source_key(sources)
    if cached is not None and cached[0] == key:
        if _settled(stats):  # same content, new mtimes (a checkout, a copy): remember them for next time
            with contextlib.suppress(OSError):
                _write(path, key, stats, cached[2])
        return cached[2], False
    data = compile_sources(sources)
    with contextlib.suppress(OSError):
        _write(path, key, stats if _settled(stats) else None, data)
    return data, True


def invalidate(directory: Path) -> None:
    """Forget the compiled index so the next load rebuilds it."""
    (directory / CACHE_FILE).unlink(missing_ok=True)


def _stats(sources: Sources) -> tuple[Stat, ...]:
    found = []
    for path in sources:
        try:
            status = path.stat()
        except OSError:
            found.append((str(path), -1, -1))
        else:
            found.append((str(path), status.st_size, status.st_mtime_ns))
    return tuple(found)


def _read(path: Path) -> tuple[str, tuple[Stat, ...] | None, dict[str, Any]] | None:
    try:
        content = memoryview(path.read_bytes())
        size = int.from_bytes(content[:_LENGTH], "little")
        # marshal of our own file under the user's cache directory: same trust as the installed package.
        version, key, stats, data, blobs = marshal.loads(content[_LENGTH : _LENGTH + size])  # noqa: S302
        if version != _VERSION or not isinstance(key, str) or not isinstance(data, dict):
            return None
        start = _LENGTH + size
        start += -start % _ALIGN
        for (section, name), (offset, length) in blobs.items():
            if start + offset + length > len(content):
                return None  # cut short: rebuild rather than answer from half an array
            data[section][name] = content[start + offset : start + offset + length]
    except (OSError, ValueError, EOFError, TypeError, AttributeError, KeyError):
        return None
    return key, stats, data


def _settled(stats: tuple[Stat, ...]) -> bool:
    """True when no source changed in the last ``SETTLED_NS``, so its size and mtime identify its content."""
    cutoff = time.time_ns() - SETTLED_NS
    return all(mtime <= cutoff for _, _, mtime in stats)


def _write(path: Path, key: str, stats: tuple[Stat, ...] | None, data: dict[str, Any]) -> None:
    plain: dict[str, Any] = {}
    blobs: dict[tuple[str, str], tuple[int, int]] = {}
    area = bytearray()
    for section, value in data.items():
        if isinstance(value, dict):
            plain[section] = {}
            for name, item in value.items():
                if isinstance(item, bytes | memoryview):
                    area += bytes(-len(area) % _ALIGN)
                    blobs[section, name] = (len(area), len(item))
                    area += item
                else:
                    plain[section][name] = item
        else:
            plain[section] = value
    header = marshal.dumps((_VERSION, key, stats, plain, blobs))
    padding = bytes(-(_LENGTH + len(header)) % _ALIGN)
    write_atomically(path, len(header).to_bytes(_LENGTH, "little") + header + padding + area)
