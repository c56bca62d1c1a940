"""The per-workspace store: settings per team, kept across restarts, and a welcome once per member."""

from __future__ import annotations

from pathlib import Path

from bot.core import visibility
from bot.slack.workspace import DEFAULTS, WorkspaceSettings, WorkspaceStore


def test_an_unknown_workspace_gets_the_defaults(tmp_path: Path) -> None:
    """Knowledge answers public, as visibility.DEFAULTS says, until an admin chooses."""
    store = WorkspaceStore(tmp_path / "slack.sqlite3")
    assert store.get("T1") == DEFAULTS
    assert store.get(None) == DEFAULTS
    assert DEFAULTS.knowledge_private == visibility.DEFAULTS.knowledge_private


def test_settings_are_per_workspace_and_survive_reopening(tmp_path: Path) -> None:
    """One workspace's choice is not another's, and it is still there after a restart."""
    path = tmp_path / "slack.sqlite3"
    store = WorkspaceStore(path)
    assert store.update("T1", knowledge_private=True) == WorkspaceSettings(knowledge_private=True)
    store.close()
    again = WorkspaceStore(path)
    assert again.get("T1").knowledge_private is True
    assert again.get("T2").knowledge_private is False


def test_a_welcome_is_due_once_per_member(tmp_path: Path) -> None:
    """True the first time for each member of each workspace, also after a restart; then never."""
    path = tmp_path / "slack.sqlite3"
    store = WorkspaceStore(path)
    assert store.first_welcome("T1", "U1") is True
    assert store.first_welcome("T1", "U1") is False
    assert store.first_welcome("T1", "U2") is True
    assert store.first_welcome("T2", "U1") is True
    store.close()
    assert WorkspaceStore(path).first_welcome("T1", "U1") is False


def test_a_private_workspace_makes_knowledge_private_but_never_a_probe_public(tmp_path: Path) -> None:
    """visibility.decide with a workspace's settings: private knowledge when chosen; probes private always."""
    private = WorkspaceSettings(knowledge_private=True)
    assert visibility.decide("25565", None, private) is True
    assert visibility.decide("25565", None, DEFAULTS) is False
    for settings in (private, DEFAULTS):
        assert visibility.decide("check example.com 443", None, settings) is True
