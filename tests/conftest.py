"""Shared fixtures. Every test starts with no Portbot, Discord or Slack settings in its environment."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# On CI the property tests draw the same examples each run, so a red build always reproduces; on developers'
# machines they keep exploring new ones (and remember failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

_PREFIXES = ("PORTBOT_", "DISCORD_", "SLACK_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Strip chat and Portbot settings so no test depends on the developer's shell or a stray .env."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    # Keep state (audit log, settings DB, index cache) out of the user's home directory: in PORTBOT_DATA_DIR for
    # whatever reads the settings, and in a scratch home for domain objects given no path (their default is
    # under ~/.local/share/portbot).
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path_factory.mktemp("portbot-data")))
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))
