"""Settings: one typed object from the environment and .env, with one clear line per problem."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from limits import parse as parse_limit

from bot.settings import PortbotSettings, SecretStr, Settings, SettingsError, variables
from probes.client import parse_workers
from probes.policy import SafetyPolicy
from probes.resolve import Resolver
from tests.bot.settings_cases import BAD, BAD_IDS


def load(environ: dict[str, str], env_file: Path | None = None) -> Settings:
    return Settings.load(env_file=env_file, environ=environ)


def test_defaults_with_an_empty_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variables at all is a valid set-up: terminal chat, in-process probes, state under ~/.local/share."""
    monkeypatch.setenv("HOME", str(tmp_path))
    settings = load({})
    assert not settings.has_discord and not settings.has_slack
    portbot = settings.portbot
    assert portbot.data_dir == tmp_path / ".local" / "share" / "portbot"
    assert portbot.audit_path == portbot.data_dir / "audit.sqlite3"
    assert (portbot.workers, portbot.limit_user, portbot.log_level, portbot.log_format, portbot.port) == (
        (),
        "10/minute",
        "INFO",
        "text",
        None,
    )
    assert settings.slack.port == 3000


@pytest.mark.parametrize(("variable", "value", "message"), BAD, ids=BAD_IDS)
def test_a_bad_value_is_one_line_naming_the_variable_and_the_form(
    variable: str, value: str, message: str
) -> None:
    """Each bad value gives exactly one line: the variable, what is wrong, the form expected, where it was set."""
    with pytest.raises(SettingsError) as caught:
        load({variable: value})
    assert str(caught.value) == f"{variable}: {message} (set in the environment)"
    assert [p.variable for p in caught.value.problems] == [variable]


def test_every_bad_value_is_reported_at_once() -> None:
    """All bad variables are named together, in one pass, so an operator fixes them in one go."""
    environ = {variable: value for variable, value, _ in BAD}
    with pytest.raises(SettingsError) as caught:
        load(environ)
    named = {p.variable for p in caught.value.problems}
    assert named == {variable for variable, _, _ in BAD}


@pytest.mark.parametrize(
    ("variable", "value", "field", "expected"),
    [
        ("PORTBOT_LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("PORTBOT_LOG_FORMAT", "JSON", "log_format", "json"),
        ("PORTBOT_LIMIT_USER", "", "limit_user", ""),
        ("PORTBOT_LIMIT_GUILD", "100 per hour", "limit_guild", "100 per hour"),
        ("PORTBOT_PROBE_TIMEOUT", "1.5", "probe_timeout", 1.5),
        ("PORTBOT_PROBE_ICMP_RTT", "off", "probe_icmp_rtt", False),
        ("PORTBOT_PROBE_TTL_RTT", "no", "probe_ttl_rtt", False),
        (
            "PORTBOT_DNS_SERVERS",
            "192.0.2.53, [2001:db8::53]:5353",
            "dns_servers",
            ("192.0.2.53", "[2001:db8::53]:5353"),
        ),
        ("PORTBOT_REDIS_URL", "redis://127.0.0.1:6379/0", "redis_url", "redis://127.0.0.1:6379/0"),
        (
            "PORTBOT_DATABASE_URL",
            "sqlite:///var/lib/portbot/state.sqlite3",
            "database_url",
            "sqlite:///var/lib/portbot/state.sqlite3",
        ),
        (
            "PORTBOT_DATABASE_URL",
            "postgresql://portbot@db.example.net/portbot",
            "database_url",
            "postgresql://portbot@db.example.net/portbot",
        ),
        ("PORTBOT_REDIS_URL", "", "redis_url", None),  # empty is unset
        ("PORT", "8080", "port", 8080),
    ],
)
def test_good_values_are_typed(variable: str, value: str, field: str, expected: object) -> None:
    """Values arrive typed: paths expanded, levels upper-cased, numbers as numbers, flags as bools."""
    assert getattr(load({variable: value}).portbot, field) == expected


def test_the_data_dir_is_expanded_and_absolute(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """~ is expanded and a relative path is fixed against the working directory at start-up."""
    monkeypatch.setenv("HOME", str(tmp_path))
    assert load({"PORTBOT_DATA_DIR": "~/state"}).portbot.data_dir == tmp_path / "state"
    monkeypatch.chdir(tmp_path)
    assert load({"PORTBOT_DATA_DIR": "rel"}).portbot.data_dir == tmp_path / "rel"


def test_lists_are_comma_separated() -> None:
    """PORTBOT_ALLOW_NETWORKS and PORTBOT_WORKERS take comma-separated values, spaces allowed."""
    settings = load(
        {
            "PORTBOT_ALLOW_NETWORKS": "203.0.113.0/24, 2001:db8::/32",
            "PORTBOT_WORKERS": "Frankfurt=https://fra.example.net,https://sgp.example.net",
            "PORTBOT_WORKER_SECRET": "s" * 32,
        }
    )
    assert settings.portbot.allow_networks == ("203.0.113.0/24", "2001:db8::/32")
    assert settings.portbot.workers == ("Frankfurt=https://fra.example.net", "https://sgp.example.net")


def test_accepted_values_are_accepted_by_the_parts_that_use_them() -> None:
    """What settings accept, the policy, the worker client and the resolver accept too (no late surprise)."""
    portbot = load(
        {
            "PORTBOT_ALLOW_NETWORKS": "203.0.113.0/24,2001:db8::/32",
            "PORTBOT_DENY_NETWORKS": "198.51.100.7/32",
            "PORTBOT_WORKERS": "Frankfurt=https://fra.example.net, http://127.0.0.1:8471/",
            "PORTBOT_WORKER_SECRET": "s" * 32,
            "PORTBOT_DNS_SERVERS": "192.0.2.53,192.0.2.53:5353,[2001:db8::53]:53,2001:db8::54",
        }
    ).portbot
    policy = SafetyPolicy.from_strings(portbot.allow_networks, portbot.deny_networks)
    assert policy.deny == (ipaddress.ip_network("198.51.100.7/32"),)
    assert [w.label for w in parse_workers(portbot.workers)] == ["Frankfurt", "127.0.0.1:8471"]
    Resolver(portbot.dns_servers)  # raises ValueError on an entry it can't read


RATE = st.from_regex(
    r"\A *[0-9]{1,4} *(/|per| per |x) *([0-9]{1,2} *)?(second|minute|hour|day|month|year|fortnight|min)s? *\Z",
    fullmatch=True,
)


@given(st.one_of(RATE, st.text(max_size=20)))
def test_a_rate_is_accepted_exactly_when_limits_reads_it_as_one_rate(text: str) -> None:
    """PORTBOT_LIMIT_* accept what probes/ratelimit.py's limits.parse reads (one rate), and nothing else."""
    try:
        accepted = load({"PORTBOT_LIMIT_USER": text}).portbot.limit_user == text.strip()
    except SettingsError:
        accepted = False
    try:
        readable = not text.strip() or (bool(parse_limit(text)) and not any(c in text for c in ",;|"))
    except ValueError:
        readable = False
    assert accepted == readable


def test_workers_need_the_shared_secret(tmp_path: Path) -> None:
    """PORTBOT_WORKERS without PORTBOT_WORKER_SECRET is refused at load, saying where to add it."""
    env_file = tmp_path / ".env"
    env_file.write_text("PORTBOT_WORKERS=https://fra.example.net\n")
    with pytest.raises(SettingsError) as caught:
        load({}, env_file)
    (problem,) = caught.value.problems
    assert str(problem) == (
        f"PORTBOT_WORKER_SECRET: not set, but PORTBOT_WORKERS is (in {env_file}); set the secret the workers "
        "share (any long random string, e.g. `openssl rand -hex 32`)"
    )
    assert problem.fix == f"Add PORTBOT_WORKER_SECRET to {env_file}."


def test_the_environment_wins_over_dotenv(tmp_path: Path) -> None:
    """A variable set in both places takes the environment's value; the rest come from .env."""
    env_file = tmp_path / ".env"
    env_file.write_text("PORTBOT_WORKER_REGION=Frankfurt\nPORTBOT_LOG_LEVEL=DEBUG\nDISCORD_TOKEN=abc\n")
    settings = load({"PORTBOT_WORKER_REGION": "Singapore"}, env_file)
    assert settings.portbot.worker_region == "Singapore"
    assert settings.portbot.log_level == "DEBUG"
    assert settings.has_discord


def test_a_bad_value_in_dotenv_says_so(tmp_path: Path) -> None:
    """A bad value read from .env names the file, so the operator knows where to fix it."""
    env_file = tmp_path / ".env"
    env_file.write_text("PORTBOT_LIMIT_USER=lots\n")
    with pytest.raises(SettingsError) as caught:
        load({}, env_file)
    (problem,) = caught.value.problems
    assert str(problem).endswith(f"(set in {env_file})")
    assert problem.fix == f"Change or remove the PORTBOT_LIMIT_USER line in {env_file}."


def test_an_unreadable_dotenv_line_is_named(tmp_path: Path) -> None:
    """A line that is not NAME=value is reported with its number, not silently skipped."""
    env_file = tmp_path / ".env"
    env_file.write_text('PORTBOT_WORKER_REGION=Frankfurt\nPORTBOT_LOG_LEVEL="DEBUG" please\n')
    with pytest.raises(SettingsError) as caught:
        load({}, env_file)
    assert str(caught.value) == (
        f"{env_file}: line 2 is not NAME=value; fix or remove it ('PORTBOT_LOG_LEVEL=\"DEBUG\" please')"
    )


def test_a_dotenv_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    """A .env that is a directory (or unreadable) is one line naming it, not a traceback."""
    env_file = tmp_path / ".env"
    env_file.mkdir()
    with pytest.raises(SettingsError) as caught:
        load({}, env_file)
    assert str(caught.value) == f"{env_file}: can't be read (Is a directory)"


def test_names_are_matched_whatever_their_case(tmp_path: Path) -> None:
    """portbot_log_level works like PORTBOT_LOG_LEVEL, as it did with pydantic-settings."""
    assert load({"portbot_log_level": "error"}).portbot.log_level == "ERROR"


def test_slack_port_falls_back_to_port() -> None:
    """Slack's HTTP mode serves on SLACK_PORT, else on the platform's $PORT, else 3000."""
    assert load({"PORT": "5000"}).slack.port == 5000
    assert load({"PORT": "5000", "SLACK_PORT": "3001"}).slack.port == 3001


def test_unknown_portbot_variables_are_listed() -> None:
    """A misspelt PORTBOT_ variable is kept aside for `portbot doctor` to name; it stops nothing."""
    settings = load({"PORTBOT_LIMITS_USER": "5/minute", "DISCORD_SOMETHING_ELSE": "x"})
    assert settings.unknown == ("PORTBOT_LIMITS_USER",)


def test_every_field_reads_a_documented_variable() -> None:
    """Every setting's variable has a row in README → Deploy."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    missing = [name for name in variables() if f"`{name}`" not in readme]
    assert missing == []


def test_secrets_never_show() -> None:
    """A secret's repr, str and the section's repr never contain the value."""
    settings = load({"PORTBOT_WORKER_SECRET": "hunter2-hunter2", "DISCORD_TOKEN": "tok-en"})
    secret = settings.portbot.worker_secret
    assert isinstance(secret, SecretStr) and secret.get_secret_value() == "hunter2-hunter2"
    shown = repr(settings.portbot) + str(secret) + repr(settings.discord)
    assert "hunter2" not in shown and "tok-en" not in shown


def test_require_names_the_missing_variable_and_where_to_get_it() -> None:
    """A missing token says which variable and where it comes from."""
    settings = load({})
    with pytest.raises(
        SettingsError, match=r"^SLACK_APP_TOKEN is not set: Slack app settings → Basic Information"
    ):
        settings.require("SLACK_APP_TOKEN")


def test_model_copy_changes_one_value() -> None:
    """Sections are frozen; model_copy gives a changed copy (as `--via local` does for workers)."""
    portbot = load({"PORTBOT_WORKERS": "https://fra.example.net", "PORTBOT_WORKER_SECRET": "s" * 32}).portbot
    assert portbot.model_copy(update={"workers": ()}).workers == ()
    assert portbot.workers == ("https://fra.example.net",)
    assert isinstance(portbot, PortbotSettings)


def test_sections_are_read_only_values() -> None:
    """A section can't be changed in place, compares by value, and refuses a setting it doesn't have."""
    portbot = load({}).portbot
    with pytest.raises(AttributeError, match=r"^settings are read-only; use model_copy"):
        portbot.workers = ("https://fra.example.net",)  # type: ignore[misc]
    assert portbot == load({}).portbot and hash(portbot) == hash(load({}).portbot)
    with pytest.raises(TypeError, match=r"^PortbotSettings has no setting nope$"):
        PortbotSettings(nope=1)  # type: ignore[call-arg]


def test_the_process_environment_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without environ=, load() reads os.environ."""
    monkeypatch.setenv("PORTBOT_WORKER_REGION", "Frankfurt")
    assert Settings.load(env_file=None).portbot.worker_region == os.environ["PORTBOT_WORKER_REGION"]


#: The one reader, and the Slack adapter, which hides from Bolt the two names Bolt reads on its own.
ENVIRONMENT_READERS = {"bot/settings.py", "bot/slack/app.py"}


def test_only_the_settings_read_the_environment() -> None:
    """No module but bot/settings.py touches os.environ or os.getenv (a .env must count everywhere)."""
    root = Path(__file__).resolve().parents[2]
    found = {
        str(path.relative_to(root))
        for package in ("bot", "probes", "knowledge")
        for path in (root / package).rglob("*.py")
        if re.search(
            r"\bos\.(environ|getenv|putenv)\b|\bfrom os import\b[^\n]*\b(environ|getenv)\b", path.read_text()
        )
    }
    assert found == ENVIRONMENT_READERS


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
            "or /96 (RFC 6052) (set in the environment)",
        ),
        (
            "10.0.0.0/8",
            "PORTBOT_NAT64_PREFIXES: '10.0.0.0/8' is not an IPv6 prefix; NAT64 prefixes are IPv6 "
            "(set in the environment)",
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


def test_worker_limits_default_to_the_workers_own_defaults() -> None:
    """Unset PORTBOT_WORKER_* give the worker exactly its built-in caps and deadlines."""
    from bot.app import worker_limits
    from probes.worker import ConnectionLimits

    assert worker_limits(load({})) == ConnectionLimits()


def test_worker_limits_are_read_from_the_environment() -> None:
    """PORTBOT_WORKER_* set the worker's caps and deadlines; 0 per source turns that cap off."""
    from bot.app import worker_limits
    from probes.worker import ConnectionLimits

    settings = load(
        {
            "PORTBOT_WORKER_MAX_CONNECTIONS": "300",
            "PORTBOT_WORKER_MAX_PER_SOURCE": "0",
            "PORTBOT_WORKER_HEADER_TIMEOUT": "5",
            "PORTBOT_WORKER_BODY_TIMEOUT": "7.5",
            "PORTBOT_WORKER_IDLE_TIMEOUT": "30",
        }
    )
    assert worker_limits(settings) == ConnectionLimits(300, 0, 5.0, 7.5, 30.0)
