"""The per-workspace store: settings per team, kept across restarts, and a welcome once per member."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.core import visibility
from bot.slack.workspace import DEFAULTS, WorkspaceSettings, WorkspaceStore
from bot.store import Store, database_url_for, open_store


async def test_an_unknown_workspace_gets_the_defaults(state_db: Store) -> None:
    """Knowledge answers public, as visibility.DEFAULTS says, until an admin chooses."""
    store = WorkspaceStore(state_db)
    assert await store.get("T1") == DEFAULTS
    assert await store.get(None) == DEFAULTS
    assert DEFAULTS.knowledge_private == visibility.DEFAULTS.knowledge_private


async def test_settings_are_per_workspace_and_survive_reopening(state_db: Store) -> None:
    """One workspace's choice is not another's, and a fresh store (a restart) still reads it."""
    store = WorkspaceStore(state_db)
    assert await store.update("T1", knowledge_private=True) == WorkspaceSettings(knowledge_private=True)
    again = WorkspaceStore(state_db)
    assert (await again.get("T1")).knowledge_private is True
    assert (await again.get("T2")).knowledge_private is False


async def test_a_welcome_is_due_once_per_member(state_db: Store) -> None:
    """True the first time for each member of each workspace, also after a restart; then never."""
    store = WorkspaceStore(state_db)
    assert await store.first_welcome("T1", "U1") is True
    assert await store.first_welcome("T1", "U1") is False
    assert await store.first_welcome("T1", "U2") is True
    assert await store.first_welcome("T2", "U1") is True
    assert await WorkspaceStore(state_db).first_welcome("T1", "U1") is False


async def test_two_processes_welcome_a_member_once(database_url: str, tmp_path: Path) -> None:
    """Two Slack processes on one database, both seeing a member's first visit at once: one welcome."""
    url = database_url_for(database_url, tmp_path)
    a_db, b_db = await open_store(url), await open_store(url)
    try:
        a, b = WorkspaceStore(a_db), WorkspaceStore(b_db)
        results = await asyncio.gather(*(s.first_welcome("T1", f"U{i}") for i in range(10) for s in (a, b)))
        assert sorted(results).count(True) == 10
    finally:
        await a_db.close()
        await b_db.close()


async def test_a_setting_changed_through_one_process_reaches_another(
    database_url: str, tmp_path: Path
) -> None:
    """Without a cached copy (cache_ttl 0), process B reads what process A just wrote."""
    url = database_url_for(database_url, tmp_path)
    a_db, b_db = await open_store(url), await open_store(url)
    try:
        await WorkspaceStore(a_db).update("T1", knowledge_private=True)
        assert (await WorkspaceStore(b_db, cache_ttl=0).get("T1")).knowledge_private is True
    finally:
        await a_db.close()
        await b_db.close()


def test_a_private_workspace_makes_knowledge_private_but_never_a_probe_public() -> None:
    """visibility.decide with a workspace's settings: private knowledge when chosen; probes private always."""
    private = WorkspaceSettings(knowledge_private=True)
    assert visibility.decide("25565", None, private) is True
    assert visibility.decide("25565", None, DEFAULTS) is False
    for settings in (private, DEFAULTS):
        assert visibility.decide("check example.com 443", None, settings) is True
