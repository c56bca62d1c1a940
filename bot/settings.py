"""Portbot's settings: one typed object, built in ``main()`` from the environment and ``.env``.

Never import this at module level on the ``portbot ask`` path: pydantic costs ~150 ms to import.
Each section reads its own prefix (``DISCORD_``, ``SLACK_``, ``PORTBOT_``), the conventional names.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

CommaList = Annotated[tuple[str, ...], NoDecode]

# Where each secret comes from, for the one-line messages when one is missing.
WHERE = {
    "DISCORD_TOKEN": "Discord Developer Portal → your application → Bot → Reset Token",
    "SLACK_BOT_TOKEN": "Slack app settings → OAuth & Permissions → Bot User OAuth Token (xoxb-…)",
    "SLACK_APP_TOKEN": "Slack app settings → Basic Information → App-Level Tokens, scope connections:write (xapp-…)",
    "SLACK_SIGNING_SECRET": "Slack app settings → Basic Information → App Credentials → Signing Secret",
    "SLACK_CLIENT_ID": "Slack app settings → Basic Information → App Credentials → Client ID",
    "SLACK_CLIENT_SECRET": "Slack app settings → Basic Information → App Credentials → Client Secret",
    "PORTBOT_WORKER_SECRET": "any long random string shared by the bot and its workers (e.g. `openssl rand -hex 32`)",
}


class SettingsError(Exception):
    """A setting is missing or malformed. ``str()`` is one line per problem, naming the variable."""


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return value


class _Section(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True)


class DiscordSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="DISCORD_", env_file=".env", extra="ignore", frozen=True)

    token: SecretStr | None = None
    # Aim REST and the gateway elsewhere: a rate-limit proxy in production, local fakes in tests.
    api_base: str | None = None
    gateway_url: str | None = None
    # Only sync commands to this guild (instant) instead of globally (can take up to an hour).
    dev_guild_id: int | None = None


class SlackSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="SLACK_", env_file=".env", extra="ignore", frozen=True)

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    # Aim the Web API elsewhere (tests point it at a local fake). Must end with a slash.
    api_url: str | None = None
    port: int = Field(default=3000, ge=1, le=65535)


class PortbotSettings(_Section):
    model_config = SettingsConfigDict(env_prefix="PORTBOT_", env_file=".env", extra="ignore", frozen=True)

    # The same default as knowledge._paths and probes.audit: one folder for all of Portbot's state.
    data_dir: Path = Field(default_factory=lambda: Path.home() / ".local" / "share" / "portbot")
    workers: CommaList = ()
    worker_secret: SecretStr | None = None
    worker_region: str = "unnamed worker"
    allow_networks: CommaList = ()
    deny_networks: CommaList = ()
    redis_url: str | None = None
    dns_servers: CommaList = ()
    probe_timeout: float = Field(default=3.0, gt=0, le=30)
    # Learn a silent port's path RTT from one ICMP echo to the same address, to call it filtered sooner.
    probe_icmp_rtt: bool = True
    audit_db: Path | None = None
    # Probe rate limits in the `limits` notation ("10/minute", "100 per hour"); empty disables one.
    limit_user: str = "10/minute"
    limit_guild: str = "60/minute"
    limit_target: str = "20/minute"
    # `portbot worker` against slow and greedy clients (README → Safety; defaults as probes._http's).
    worker_max_connections: int = Field(default=1024, ge=1, le=1_000_000)
    # 0 turns the per-address cap off: behind a reverse proxy every client has the proxy's address.
    worker_max_per_source: int = Field(default=128, ge=0, le=1_000_000)
    worker_header_timeout: float = Field(default=10.0, gt=0, le=300)
    worker_body_timeout: float = Field(default=10.0, gt=0, le=300)
    worker_idle_timeout: float = Field(default=15.0, gt=0, le=3600)

    _split_lists = field_validator(
        "workers", "allow_networks", "deny_networks", "dns_servers", mode="before"
    )(_split)

    @field_validator("allow_networks", "deny_networks")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(
                    f"{item!r} is not a network; use comma-separated CIDRs such as 203.0.113.0/24"
                ) from None
        return value

    @property
    def audit_path(self) -> Path:
        return self.audit_db or self.data_dir / "audit.sqlite3"


class Settings:
    """All sections together. Build with :meth:`load`; pass it down, never import a global."""

    def __init__(self, discord: DiscordSettings, slack: SlackSettings, portbot: PortbotSettings) -> None:
        self.discord = discord
        self.slack = slack
        self.portbot = portbot

    @classmethod
    def load(cls, env_file: str | Path | None = ".env") -> Settings:
        """Read the environment (and ``env_file`` if it exists). Raises SettingsError with one line a problem."""
        problems: list[str] = []
        sections: dict[str, Any] = {}
        for key, section, prefix in (
            ("discord", DiscordSettings, "DISCORD_"),
            ("slack", SlackSettings, "SLACK_"),
            ("portbot", PortbotSettings, "PORTBOT_"),
        ):
            try:
                sections[key] = section(_env_file=env_file)  # type: ignore[call-arg]
            except ValidationError as err:
                for error in err.errors():
                    name = prefix + str(error["loc"][0]).upper() if error["loc"] else prefix.rstrip("_")
                    message = str(error["msg"]).removeprefix("Value error, ")
                    problems.append(f"{name}: {message}")
        if problems:
            raise SettingsError("\n".join(problems))
        return cls(**sections)

    def require(self, *names: str) -> None:
        """Raise SettingsError naming each missing variable and where to get it."""
        missing = [name for name in names if not self._value(name)]
        if missing:
            raise SettingsError(
                "\n".join(f"{name} is not set: {WHERE.get(name, 'see the README')}." for name in missing)
            )

    def _value(self, name: str) -> Any:
        prefix, _, field = name.partition("_")
        section = {"DISCORD": self.discord, "SLACK": self.slack, "PORTBOT": self.portbot}[prefix]
        value = getattr(section, field.lower(), None)
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    @property
    def has_discord(self) -> bool:
        return bool(self._value("DISCORD_TOKEN"))

    @property
    def has_slack(self) -> bool:
        return bool(self._value("SLACK_BOT_TOKEN") or self._value("SLACK_CLIENT_ID"))
