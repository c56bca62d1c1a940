"""Strict reading of our TOML data files: every problem is one sentence naming the file, the entry and the key."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from knowledge.errors import DataError

_KEBAB = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def read_tables(path: Path, array_name: str) -> list[dict[str, Any]]:
    """The ``[[array_name]]`` tables of a TOML file; a missing file has none."""
    import tomllib  # only needed when (re)building the index

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise DataError(f"{path.name} is not valid TOML: {err}.") from None
    unknown = set(document) - {array_name}
    if unknown:
        raise DataError(f"{path.name} has unexpected top-level keys: {', '.join(sorted(unknown))}.")
    tables = document.get(array_name, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise DataError(f"{path.name}: {array_name} must be an array of tables ([[{array_name}]]).")
    return tables


class Entry:
    """Typed access to one TOML table; :meth:`finish` rejects keys nobody asked for (usually typos)."""

    def __init__(self, file: str, where: str, table: dict[str, Any]) -> None:
        self.file = file
        self.where = where
        self._table = table
        self._seen: set[str] = set()

    def fail(self, message: str) -> DataError:
        return DataError(f"{self.file}: {self.where}: {message}")

    def text(self, key: str, *, required: bool = True) -> str:
        self._seen.add(key)
        value = self._table.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            raise self.fail(f"'{key}' must be a non-empty string.")
        return value.strip()

    def choice(self, key: str, options: tuple[str, ...]) -> str:
        value = self.text(key)
        if value not in options:
            raise self.fail(f"'{key}' is {value!r}; expected one of {', '.join(options)}.")
        return value

    def ident(self, key: str = "id") -> str:
        value = self.text(key)
        if not _KEBAB.fullmatch(value):
            raise self.fail(f"'{key}' {value!r} must be kebab-case (a-z, 0-9 and hyphens).")
        return value

    def texts(self, key: str, *, lower: bool = False) -> tuple[str, ...]:
        self._seen.add(key)
        value = self._table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(f"'{key}' must be a list of non-empty strings.")
        if lower and any(v != v.lower() for v in value):
            raise self.fail(f"'{key}' must be lower case.")
        return tuple(v.strip() for v in value)

    def tables(self, key: str) -> list[dict[str, Any]]:
        self._seen.add(key)
        value = self._table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise self.fail(f"'{key}' must be an array of tables.")
        return value

    def raw(self, key: str) -> object:
        self._seen.add(key)
        return self._table.get(key)

    def finish(self) -> None:
        unknown = set(self._table) - self._seen
        if unknown:
            raise self.fail(f"unknown key(s) {', '.join(sorted(unknown))}.")
