"""Settings: one typed object from the environment, with one clear line per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings, SettingsError


def test_defaults_with_an_empty_environment(tmp_path: Path) -> None:
    """No variables at all is a valid set-up: terminal chat, in-process probes."""
    settings = Settings.load(env_file=None)
    assert not settings.has_discord and not settings.has_slack
    assert settings.portbot.workers == ()
    assert settings.portbot.audit_path.name == "audit.sqlite3"


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    """PORTBOT_ALLOW_NETWORKS and PORTBOT_WORKERS take comma-separated values, spaces allowed."""
    monkeypatch.setenv("PORTBOT_ALLOW_NETWORKS", "203.0.113.0/24, 2001:db8::/32")
    monkeypatch.setenv("PORTBOT_WORKERS", "Frankfurt=https://fra.example.net,https://sgp.example.net")
    settings = Settings.load(env_file=None)
    assert settings.portbot.allow_networks == ("203.0.113.0/24", "2001:db8::/32")
    assert len(settings.portbot.workers) == 2


def test_every_bad_setting_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two bad variables give two lines, each starting with the variable's name."""
    monkeypatch.setenv("PORTBOT_DENY_NETWORKS", "10.0.0.0/8,not-a-network")
    monkeypatch.setenv("PORTBOT_PROBE_TIMEOUT", "soon")
    with pytest.raises(SettingsError) as caught:
        Settings.load(env_file=None)
    lines = str(caught.value).splitlines()
    assert lines == [
        "PORTBOT_DENY_NETWORKS: 'not-a-network' is not a network; use comma-separated CIDRs such as 203.0.113.0/24",
        "PORTBOT_PROBE_TIMEOUT: Input should be a valid number, unable to parse string as a number",
    ]


def test_require_names_the_missing_variable_and_where_to_get_it() -> None:
    """A missing token says which variable and where it comes from."""
    settings = Settings.load(env_file=None)
    with pytest.raises(
        SettingsError, match=r"^SLACK_APP_TOKEN is not set: Slack app settings → Basic Information"
    ):
        settings.require("SLACK_APP_TOKEN")


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    """Values in .env count like environment variables."""
    env = tmp_path / ".env"
    env.write_text("DISCORD_TOKEN=abc\nPORTBOT_WORKER_REGION=Frankfurt\n")
    settings = Settings.load(env_file=env)
    assert settings.has_discord
    assert settings.portbot.worker_region == "Frankfurt"


def test_worker_limits_default_to_the_workers_own_defaults() -> None:
    """Unset PORTBOT_WORKER_* give the worker exactly its built-in caps and deadlines."""
    from bot.app import worker_limits
    from probes.worker import ConnectionLimits

    assert worker_limits(Settings.load(env_file=None)) == ConnectionLimits()


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        (
            "PORTBOT_WORKER_MAX_CONNECTIONS",
            "0",
            "PORTBOT_WORKER_MAX_CONNECTIONS: Input should be greater than or equal to 1",
        ),
        (
            "PORTBOT_WORKER_MAX_PER_SOURCE",
            "-1",
            "PORTBOT_WORKER_MAX_PER_SOURCE: Input should be greater than or equal to 0",
        ),
        (
            "PORTBOT_WORKER_HEADER_TIMEOUT",
            "0",
            "PORTBOT_WORKER_HEADER_TIMEOUT: Input should be greater than 0",
        ),
        (
            "PORTBOT_WORKER_BODY_TIMEOUT",
            "soon",
            "PORTBOT_WORKER_BODY_TIMEOUT: Input should be a valid number, unable to parse string as a number",
        ),
        (
            "PORTBOT_WORKER_IDLE_TIMEOUT",
            "7200",
            "PORTBOT_WORKER_IDLE_TIMEOUT: Input should be less than or equal to 3600",
        ),
    ],
)
def test_bad_worker_limits_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, line: str
) -> None:
    """A worker cap or deadline out of range is one line naming its variable."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        Settings.load(env_file=None)
    assert str(caught.value) == line


def test_worker_limits_are_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """PORTBOT_WORKER_* set the worker's caps and deadlines; 0 per source turns that cap off."""
    from bot.app import worker_limits
    from probes.worker import ConnectionLimits

    for name, value in (
        ("MAX_CONNECTIONS", "300"),
        ("MAX_PER_SOURCE", "0"),
        ("HEADER_TIMEOUT", "5"),
        ("BODY_TIMEOUT", "7.5"),
        ("IDLE_TIMEOUT", "30"),
    ):
        monkeypatch.setenv(f"PORTBOT_WORKER_{name}", value)
    assert worker_limits(Settings.load(env_file=None)) == ConnectionLimits(300, 0, 5.0, 7.5, 30.0)
