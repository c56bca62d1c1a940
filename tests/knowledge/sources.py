"""Source directories for test knowledge bases: the real IANA registry with small curated and topic fixtures.
Shared by tests/knowledge and tests/bot (the reply tests), hence a module rather than a conftest."""

from __future__ import annotations

import shutil
from pathlib import Path

from knowledge._paths import IANA_FILE, PACKAGED

FIXTURES = Path(__file__).parent / "fixtures"


def make_sources(directory: Path) -> Path:
    """A source directory holding the packaged IANA CSV and the fixture TOML files (copies: tests edit them)."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PACKAGED / IANA_FILE, directory / IANA_FILE)
    for name in ("ports.toml", "concepts.toml"):
        shutil.copyfile(FIXTURES / name, directory / name)
    return directory
