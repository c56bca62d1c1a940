"""Where the knowledge data lives: the packaged files, the user's data directory and its cache."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

PACKAGED = Path(__file__).resolve().parent / "data"
IANA_FILE = "iana-service-names-port-numbers.csv"
META_FILE = "iana-meta.json"
PORTS_FILE = "ports.toml"
CONCEPTS_FILE = "concepts.toml"


def default_data_dir() -> Path:
    """``~/.local/share/portbot``, for callers that give no data directory. Portbot itself always passes its
    settings' PORTBOT_DATA_DIR (only bot/settings.py reads the environment and .env)."""
    return Path.home() / ".local" / "share" / "portbot"


def cache_dir(data_dir: Path) -> Path:
    return data_dir / "cache"


class Sources(NamedTuple):
    """The three files one index is compiled from."""

    iana: Path
    ports: Path
    concepts: Path

    @classmethod
    def resolve(cls, data_dir: Path, source_dir: Path | None = None) -> Sources:
        """Packaged (or ``source_dir``) files, except that an IANA file updated into ``data_dir`` wins."""
        base = source_dir or PACKAGED
        updated = data_dir / IANA_FILE
        return cls(
            iana=updated if updated.is_file() else base / IANA_FILE,
            ports=base / PORTS_FILE,
            concepts=base / CONCEPTS_FILE,
        )
