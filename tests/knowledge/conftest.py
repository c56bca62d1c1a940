"""Knowledge bases for the knowledge tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge import KnowledgeBase
from tests.knowledge.sources import make_sources


@pytest.fixture(scope="session")
def fixture_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """One knowledge base over the fixtures, shared by the read-only tests."""
    root = tmp_path_factory.mktemp("fixture-kb")
    return KnowledgeBase.load(root / "data", source_dir=make_sources(root / "sources"))


@pytest.fixture(scope="session")
def real_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The knowledge base over the packaged data files, as the bot loads it."""
    return KnowledgeBase.load(tmp_path_factory.mktemp("real-kb"))


@pytest.fixture
def sources(tmp_path: Path) -> Path:
    """A private, editable copy of the fixture sources."""
    return make_sources(tmp_path / "sources")
