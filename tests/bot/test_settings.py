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


def test_nat64_prefixes_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    """PORTBOT_NAT64_PREFIXES takes comma-separated RFC 6052 prefixes."""
    monkeypatch.setenv("PORTBOT_NAT64_PREFIXES", "64:ff9b::/96, 2001:db8:64::/48")
    assert Settings.load(env_file=None).portbot.nat64_prefixes == ("64:ff9b::/96", "2001:db8:64::/48")


@pytest.mark.parametrize(
    ("value", "line"),
    [
        (
            "2001:db8::/50",
            "PORTBOT_NAT64_PREFIXES: '2001:db8::/50' has length /50; a NAT64 prefix is /32, /40, /48, /56, /64 "
            "or /96 (RFC 6052).",
        ),
        (
            "10.0.0.0/8",
            "PORTBOT_NAT64_PREFIXES: '10.0.0.0/8' is not an IPv6 prefix; NAT64 prefixes are IPv6.",
        ),
    ],
)
def test_a_bad_nat64_prefix_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, value: str, line: str
) -> None:
    """A prefix RFC 6052 does not allow stops the settings with the variable's name."""
    monkeypatch.setenv("PORTBOT_NAT64_PREFIXES", value)
    with pytest.raises(SettingsError) as caught:
        Settings.load(env_file=None)
    assert str(caught.value) == line
