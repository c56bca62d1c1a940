"""Portbot's settings: one typed object, built in ``main()`` from the environment and ``.env``.

This is the only module that reads either. Every value is parsed and checked when the settings load, and every
bad one is reported at once, one line each, naming the variable, the form it takes and where it was set.

Standard library only, and light: ``portbot ask`` and ``portbot probe`` load the settings on every run, and
pydantic-settings, which did this before, took ~330 ms to import (``python -X importtime``). Each section is a
class of typed, read-only fields declared with :func:`setting` (default, parser, variables), so a new setting
is one line here, plus a check in ``bot/doctor.py`` if it can be tried out and a row in README → Deploy.
Each parser raises ValueError with the sentence users see.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, NamedTuple, cast, dataclass_transform

from probes.errors import OperatorError

if TYPE_CHECKING:
    from typing import Self


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

ENVIRONMENT = "the environment"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
LogFormat = Literal["text", "json"]


class Problem(NamedTuple):
    """One bad setting: the variable, what is wrong with it, and where it was set (``.env`` or the environment)."""

    variable: str
    message: str
    source: str = ENVIRONMENT
    missing: bool = False  # not set where it should be (then ``source`` is where its companion was set)

    def __str__(self) -> str:
        where = self.missing or self.variable == self.source  # the latter: the .env file itself
        return f"{self.variable}: {self.message}" + ("" if where else f" (set in {self.source})")

    @property
    def fix(self) -> str:
        """Where to change it, for ``portbot doctor``."""
        if self.variable == self.source:
            return (
                f"Fix {Path(self.source).resolve()}, or remove it and set the variables in the environment."
            )
        if self.missing:
            place = "the environment" if self.source == ENVIRONMENT else Path(self.source).resolve()
            return f"Add {self.variable} to {place}."
        if self.source == ENVIRONMENT:
            return f"Change or unset {self.variable} where the environment is set (shell, service file, platform)."
        return f"Change or remove the {self.variable} line in {Path(self.source).resolve()}."


class SettingsError(OperatorError):
    """A setting is missing or malformed. ``str()`` is one line per problem, naming the variable."""

    exit_code = 2  # nothing ran: fix the setting and run again (probes/errors.py)

    def __init__(self, problems: Sequence[Problem] | str) -> None:
        self.problems: tuple[Problem, ...] = () if isinstance(problems, str) else tuple(problems)
        super().__init__(problems if isinstance(problems, str) else "\n".join(map(str, self.problems)))


class SecretStr:
    """A secret that never shows in a repr, a log line or an error (pydantic's name and interface)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')" if self._value else "SecretStr('')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __bool__(self) -> bool:
        return bool(self._value)


# -- parsers: text in, typed value out, or ValueError with the sentence to show ---------------------------------


def _text(value: str) -> str:
    return value.strip()


def _secret(value: str) -> SecretStr:
    return SecretStr(value.strip())


def _integer(value: str, *, low: int, high: int, what: str, example: str) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise ValueError(f"{value!r} is not {what}; use a whole number from {low} to {high}, e.g. {example}")
    return int(text)


def _keep_days(value: str) -> int | None:
    days = _integer(value, low=0, high=3650, what="a number of days (0 keeps every row)", example="90")
    return days or None


def _port(value: str) -> int:
    return _integer(value, low=1, high=65535, what="a port", example="8471")


def _snowflake(value: str) -> int:
    text = value.strip()
    if not text.isascii() or not text.isdigit() or not 0 < int(text) < 2**64:
        raise ValueError(
            f"{value!r} is not a Discord server ID; copy it from Discord (Developer Mode on, right-click the "
            "server → Copy Server ID)"
        )
    return int(text)


def _timeout(value: str) -> float:
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds <= 30:  # also refuses nan and inf
        raise ValueError(f"{value!r} is not a timeout; use seconds above 0 and at most 30, e.g. 3 or 1.5")
    return seconds


def _connections(value: str) -> int:
    return _integer(value, low=1, high=1_000_000, what="a connection count", example="1024")


def _processes(value: str) -> int:
    return _integer(value, low=1, high=64, what="a process count", example="2")


def _per_source(value: str) -> int:
    return _integer(
        value, low=0, high=1_000_000, what="a connection count (0 turns the cap off)", example="128"
    )


def _worker_deadline(most: float) -> Callable[[str], float]:
    def parse(value: str) -> float:
        try:
            seconds = float(value.strip())
        except ValueError:
            seconds = float("nan")
        if not 0 < seconds <= most:  # also refuses nan and inf
            raise ValueError(
                f"{value!r} is not a deadline; use seconds above 0 and at most {most:g}, e.g. 10"
            )
        return seconds

    return parse


_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


def _flag(value: str) -> bool:
    text = value.strip().lower()
    if text in _TRUE | _FALSE:
        return text in _TRUE
    raise ValueError(f"{value!r} is not true or false; use true or false (also yes/no, on/off, 1/0)")


def _directory(value: str) -> Path:
    path = Path(value.strip()).expanduser().absolute()  # fixed now, so a later chdir cannot move the state
    if path.exists() and not path.is_dir():
        raise ValueError(f"{value!r} is a file, not a directory; give a directory Portbot may write to")
    existing = next(p for p in (path, *path.parents) if p.exists())  # what mkdir would start from
    if not existing.is_dir():
        raise ValueError(f"{value!r} is inside a file ({existing}); give a directory Portbot may write to")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(
            f"{value!r} is not writable ({existing} is not); give a directory Portbot may write to"
        )
    return path


def _file(value: str) -> Path:
    path = Path(value.strip()).expanduser()
    if path.is_dir():
        raise ValueError(
            f"{value!r} is a directory; give the path of a file, e.g. /var/lib/portbot/audit.sqlite3"
        )
    return path.absolute()


def _comma_list(parse_one: Callable[[str], str]) -> Callable[[str], tuple[str, ...]]:
    def parse(value: str) -> tuple[str, ...]:
        return tuple(parse_one(part.strip()) for part in value.split(",") if part.strip())

    return parse


def _network(text: str) -> str:
    # Strict, as probes/policy.py builds them: an address with host bits set is a typo, not a network.
    import ipaddress

    try:
        ipaddress.ip_network(text)
    except ValueError as err:
        if "host bits set" in str(err):
            raise ValueError(
                f"{text!r} has bits set after the prefix; did you mean {ipaddress.ip_network(text, strict=False)}?"
            ) from None
        raise ValueError(
            f"{text!r} is not a network; use comma-separated CIDRs such as 203.0.113.0/24 or 2001:db8::/32"
        ) from None
    return text


def _nameserver(text: str) -> str:
    # The forms probes/resolve.py reads: ip, ip:port, [v6]:port.
    import ipaddress

    host, port = text, "53"
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") if rest.startswith(":") else ("" if rest else "53")
    elif text.count(":") == 1:
        host, port = text.split(":")
    try:
        ipaddress.ip_address(host)
        if not port.isascii() or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{text!r} is not a DNS server; use comma-separated IP addresses, optionally with a port: "
            "192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53"
        ) from None
    return text


def _url(value: str, schemes: tuple[str, ...], example: str, *, what: str = "a URL") -> str:
    from urllib.parse import urlsplit

    text = value.strip()
    try:
        parts = urlsplit(text)
        valid = parts.scheme.lower() in schemes and bool(parts.hostname) and (parts.port or 1) > 0
    except ValueError:  # a bad port or bracketed host
        valid = False
    if not valid:
        raise ValueError(f"{text!r} is not {what}; use e.g. {example}")
    return text


def _http_url(value: str) -> str:
    return _url(value, ("http", "https"), "https://proxy.example.net/api/v10")


def _websocket_url(value: str) -> str:
    return _url(value, ("ws", "wss"), "wss://gateway.example.net")


def _worker(text: str) -> str:
    # The form probes/client.py reads: a URL, optionally named as Name=URL.
    url = text
    if "=" in text.split("://", 1)[0]:
        _, url = (part.strip() for part in text.split("=", 1))
    _url(
        url,
        ("http", "https"),
        "https://worker.example.net, optionally named: Frankfurt=https://worker.example.net",
        what="a worker URL",
    )
    return text


def _link_base_url(value: str) -> str:
    return _url(value, ("http", "https"), "https://check.example.net", what="a public worker URL").rstrip("/")


def _host_name(value: str) -> str:
    # A name (or an address) put into the one-time links' URLs: no scheme, no port, no path.
    import ipaddress

    text = value.strip().lower().rstrip(".")
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    labels = text.split(".")
    if (
        not text
        or len(text) > 253
        or not all(
            0 < len(label) <= 63 and label.isascii() and label.replace("-", "").isalnum() and label[0] != "-"
            for label in labels
        )
    ):
        raise ValueError(f"{value!r} is not a host name; use a bare name such as v4.check.example.net")
    return text


def _link_ttl(value: str) -> float:
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = float("nan")
    if not 30 <= seconds <= 3600:  # also refuses nan and inf
        raise ValueError(f"{value!r} is not a link lifetime; use seconds from 30 to 3600, e.g. 600")
    return seconds


def _watch_quota(value: str) -> int:
    text = value.strip()
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 10_000):
        raise ValueError(f"{value!r} is not a watch quota; use a whole number from 1 to 10000, e.g. 10")
    return int(text)


def _watch_min_interval(value: str) -> float:
    try:
        seconds = float(value.strip())
    except ValueError:
        seconds = float("nan")
    # 1 s is the floor: tests lower the 60 s default to run quickly, and nothing real needs a faster watch.
    if not 1 <= seconds <= 86_400:  # also refuses nan and inf
        raise ValueError(f"{value!r} is not a watch interval; use seconds from 1 to 86400, e.g. 60")
    return seconds


def _nat64_prefixes(value: str) -> tuple[str, ...]:
    # The policy's own reading (RFC 6052 lengths, IPv6 only), so what loads here is what the policy accepts.
    from probes.policy import NAT64_VARIABLE, parse_nat64_prefixes

    items = tuple(part.strip() for part in value.split(",") if part.strip())
    try:
        parse_nat64_prefixes(items)
    except ValueError as err:
        # The policy's sentence starts with the variable's name, which Problem adds itself.
        raise ValueError(str(err).removeprefix(f"{NAT64_VARIABLE}: ").rstrip(".")) from None
    return items


def _redis_url(value: str) -> str:
    from urllib.parse import urlsplit

    text = value.strip()
    scheme = urlsplit(text).scheme.lower()
    unix = scheme in ("redis+unix", "unix")
    if scheme not in ("redis", "rediss", "redis+unix", "unix") or not (unix or urlsplit(text).hostname):
        raise ValueError(
            f"{text!r} is not a Redis URL; use redis://host:6379/0, rediss://host:6380 (TLS) or "
            "redis+unix:///path/to/redis.sock"
        )
    import importlib.util

    if importlib.util.find_spec("redis") is None:
        raise ValueError("Redis needs the redis extra; install it with `pip install 'portbot[redis]'`")
    return text


def _database_url(value: str) -> str:
    from urllib.parse import urlsplit

    text = value.strip()
    parts = urlsplit(text)
    sqlite = parts.scheme == "sqlite" and text.startswith("sqlite:///") and len(text) > len("sqlite:///")
    postgres = parts.scheme in ("postgresql", "postgres") and bool(parts.hostname or parts.path.strip("/"))
    if not (sqlite or postgres):
        # The message ends up in logs and terminals: a password in the URL is shown as ***.
        shown = text.replace(f":{parts.password}@", ":***@", 1) if parts.password else text
        raise ValueError(
            f"{shown!r} is not a database URL; use sqlite:///path/to/portbot.sqlite3 or "
            "postgresql://user@host:5432/portbot"
        )
    import importlib.util

    if postgres and importlib.util.find_spec("asyncpg") is None:
        raise ValueError(
            "PostgreSQL needs the postgres extra; install it with `pip install 'portbot[postgres]'`"
        )
    return text


def _rate(value: str) -> str:
    # The ``limits`` notation (one rate), read by the rate limiter's own parser, which imports no ``limits``.
    # tests/bot/test_settings.py holds it to agreeing with limits.parse.
    from probes._window import parse_rate

    text = value.strip()
    try:
        if text:
            parse_rate(text)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a rate; use a count per period such as 10/minute or 100 per hour, "
            "or nothing to turn the limit off"
        ) from None
    return text


def _log_level(value: str) -> LogLevel:
    text = value.strip().upper()
    if text not in LOG_LEVELS:
        raise ValueError(f"{value!r} is not a log level; use one of {', '.join(LOG_LEVELS)}")
    return cast(LogLevel, text)


def _log_format(value: str) -> LogFormat:
    text = value.strip().lower()
    if text not in ("text", "json"):
        raise ValueError(f"{value!r} is not a log format; use text or json")
    return cast(LogFormat, text)


# -- fields -------------------------------------------------------------------------------------------------------


class _Field:
    """How one setting is read: its default, its parser and the variables it comes from (the first set wins)."""

    __slots__ = ("default", "default_factory", "empty_counts", "parse", "variables")

    def __init__(
        self,
        default: Any,
        default_factory: Callable[[], Any] | None,
        parse: Callable[[str], Any],
        variables: tuple[str, ...],
        empty_counts: bool,
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.parse = parse
        self.variables = variables  # empty: the section's prefix + the field name
        self.empty_counts = empty_counts  # an empty value is a value (e.g. "no limit"), not "unset"

    def initial(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default


def setting(
    *,
    parse: Callable[[str], Any],
    default: Any = None,
    default_factory: Callable[[], Any] | None = None,
    variables: tuple[str, ...] = (),
    empty_counts: bool = False,
) -> Any:
    """Declare a setting in a section class: ``name: type = setting(default=..., parse=...)``."""
    return _Field(default, default_factory, parse, variables, empty_counts)


def default_data_dir() -> Path:
    """``~/.local/share/portbot``: one folder for all of Portbot's state when PORTBOT_DATA_DIR is unset."""
    return Path.home() / ".local" / "share" / "portbot"


@dataclass_transform(frozen_default=True, field_specifiers=(setting,))
class _Section:
    """A settings section: typed, read-only fields, each read from ``PREFIX`` + its name unless it says.

    Not a dataclass on purpose: dataclasses compile their methods with exec() at import, ~1.5 ms a class on
    every `portbot ask` and `portbot probe`; this is one generic __init__ (mypy reads the fields all the same,
    through dataclass_transform).
    """

    PREFIX: ClassVar[str] = ""
    FIELDS: ClassVar[dict[str, _Field]] = {}

    def __init_subclass__(cls) -> None:
        cls.FIELDS = {}
        # Not inspect.get_annotations: inspect takes ~10 ms to import.
        for name in cls.__dict__.get("__annotations__", {}):  # noqa: RUF063
            spec = cls.__dict__.get(name)
            if isinstance(spec, _Field):
                cls.FIELDS[name] = spec
                delattr(cls, name)  # instances hold the values

    def __init__(self, **values: Any) -> None:
        unknown = set(values) - set(self.FIELDS)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no setting {', '.join(sorted(unknown))}")
        for name, spec in self.FIELDS.items():
            object.__setattr__(self, name, values[name] if name in values else spec.initial())

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"settings are read-only; use model_copy(update={{{name!r}: ...}})")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.FIELDS)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other._values() == self._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.FIELDS)
        return f"{type(self).__name__}({shown})"

    def model_copy(self, *, update: Mapping[str, Any]) -> Self:
        """A copy with some values changed (pydantic's name, kept so callers read as before)."""
        return type(self)(**{name: getattr(self, name) for name in self.FIELDS} | dict(update))


class DiscordSettings(_Section):
    PREFIX = "DISCORD_"

    token: SecretStr | None = setting(default=None, parse=_secret)
    # Aim REST and the gateway elsewhere: a rate-limit proxy in production, local fakes in tests.
    api_base: str | None = setting(default=None, parse=_http_url)
    gateway_url: str | None = setting(default=None, parse=_websocket_url)
    # Only sync commands to this guild (instant) instead of globally (can take up to an hour).
    dev_guild_id: int | None = setting(default=None, parse=_snowflake)


class SlackSettings(_Section):
    PREFIX = "SLACK_"

    bot_token: SecretStr | None = setting(default=None, parse=_secret)
    app_token: SecretStr | None = setting(default=None, parse=_secret)
    signing_secret: SecretStr | None = setting(default=None, parse=_secret)
    client_id: str | None = setting(default=None, parse=_text)
    client_secret: SecretStr | None = setting(default=None, parse=_secret)
    # Aim the Web API elsewhere (tests point it at a local fake). Must end with a slash.
    api_url: str | None = setting(default=None, parse=_http_url)
    # HTTP mode's port. Heroku-style platforms say which port to serve on in $PORT.
    port: int = setting(default=3000, parse=_port, variables=("SLACK_PORT", "PORT"))


class PortbotSettings(_Section):
    PREFIX = "PORTBOT_"

    # One folder for all of Portbot's state: audit log, chat settings, Slack installations, knowledge cache.
    data_dir: Path = setting(default_factory=default_data_dir, parse=_directory)
    workers: tuple[str, ...] = setting(default=(), parse=_comma_list(_worker))
    worker_secret: SecretStr | None = setting(default=None, parse=_secret)
    worker_region: str = setting(default="unnamed worker", parse=_text)
    allow_networks: tuple[str, ...] = setting(default=(), parse=_comma_list(_network))
    deny_networks: tuple[str, ...] = setting(default=(), parse=_comma_list(_network))
    # The NAT64 prefixes of this machine's network (RFC 6052), so the IPv4 addresses inside them are judged too.
    nat64_prefixes: tuple[str, ...] = setting(default=(), parse=_nat64_prefixes)
    redis_url: str | None = setting(default=None, parse=_redis_url)
    # Reserved for the shared-state work: validated now so a deployment can set it ahead of time.
    database_url: str | None = setting(default=None, parse=_database_url)
    dns_servers: tuple[str, ...] = setting(default=(), parse=_comma_list(_nameserver))
    probe_timeout: float = setting(default=3.0, parse=_timeout)
    # Learn a silent port's path RTT from one ICMP echo to the same address, to call it filtered sooner.
    probe_icmp_rtt: bool = setting(default=True, parse=_flag)
    # Learn it from TTL-limited SYNs to the same address and port (the routers' "time exceeded") too.
    probe_ttl_rtt: bool = setting(default=True, parse=_flag)
    audit_db: Path | None = setting(default=None, parse=_file)
    # Probe rate limits in the `limits` notation ("10/minute", "100 per hour"); empty disables one.
    limit_user: str = setting(default="10/minute", parse=_rate, empty_counts=True)
    limit_guild: str = setting(default="60/minute", parse=_rate, empty_counts=True)
    limit_target: str = setting(default="20/minute", parse=_rate, empty_counts=True)
    log_level: LogLevel = setting(default="INFO", parse=_log_level)
    log_format: LogFormat = setting(default="text", parse=_log_format)
    # The port `portbot worker` serves on when --port is not given (platforms set $PORT).
    port: int | None = setting(default=None, parse=_port, variables=("PORT",))
    # `portbot worker` against slow and greedy clients (README → Safety; defaults as probes._http's).
    worker_max_connections: int = setting(default=1024, parse=_connections)
    # 0 turns the per-address cap off: behind a reverse proxy every client has the proxy's address.
    worker_max_per_source: int = setting(default=128, parse=_per_source)
    worker_header_timeout: float = setting(default=10.0, parse=_worker_deadline(300))
    worker_body_timeout: float = setting(default=10.0, parse=_worker_deadline(300))
    worker_idle_timeout: float = setting(default=15.0, parse=_worker_deadline(3600))
    # One-time "check my own server" links (probes/links.py): the worker's public URL, and names that resolve
    # to only its IPv4 / only its IPv6 address, so each family is checked on its own.
    link_base_url: str | None = setting(default=None, parse=_link_base_url)
    link_host_v4: str | None = setting(default=None, parse=_host_name)
    link_host_v6: str | None = setting(default=None, parse=_host_name)
    link_ttl: float = setting(default=600.0, parse=_link_ttl)
    # Reverse proxies in front of the worker: only their X-Forwarded-For names a link's visitor.
    trusted_proxies: tuple[str, ...] = setting(default=(), parse=_comma_list(_network))
    # Watches (portbot watch, /port watch): how many per Discord server / Slack workspace / the command line,
    # and the shortest interval one may ask for.
    watch_quota: int = setting(default=10, parse=_watch_quota)
    watch_min_interval: float = setting(default=60.0, parse=_watch_min_interval)
    # `portbot slack --http` serves from this many processes on one port (SO_REUSEPORT): a burst of Slack
    # requests is spread over the machine's cores instead of queueing in one event loop.
    slack_processes: int = setting(default=1, parse=_processes)
    # The audit log in the database keeps rows this many days (None: forever); every watch check is a row, so
    # a thousand watches add about 1.4 million a day.
    audit_keep_days: int | None = setting(default=90, parse=_keep_days)

    @property
    def audit_path(self) -> Path:
        return self.audit_db or self.data_dir / "audit.sqlite3"


_SECTIONS: tuple[tuple[str, type[_Section]], ...] = (
    ("discord", DiscordSettings),
    ("slack", SlackSettings),
    ("portbot", PortbotSettings),
)


def variables() -> dict[str, str]:
    """Every variable Portbot reads, each with the field it sets (``section.field``)."""
    found: dict[str, str] = {}
    for name, section in _SECTIONS:
        for field_name, spec in section.FIELDS.items():
            for variable in spec.variables or (section.PREFIX + field_name.upper(),):
                found.setdefault(variable, f"{name}.{field_name}")
    return found


# -- reading ------------------------------------------------------------------------------------------------------


class Settings:
    """All sections together. Build with :meth:`load`; pass it down, never import a global."""

    def __init__(
        self,
        discord: DiscordSettings,
        slack: SlackSettings,
        portbot: PortbotSettings,
        *,
        unknown: tuple[str, ...] = (),
    ) -> None:
        self.discord = discord
        self.slack = slack
        self.portbot = portbot
        # PORTBOT_* names that are set but mean nothing to Portbot (typos, for `portbot doctor`).
        self.unknown = unknown

    @classmethod
    def load(
        cls, env_file: str | Path | None = ".env", *, environ: Mapping[str, str] | None = None
    ) -> Settings:
        """Read ``environ`` (default: the process environment) and ``env_file`` if it exists; the environment
        wins over the file. Raises SettingsError with one line per problem, every problem at once."""
        environ = os.environ if environ is None else environ
        values, problems = _read(environ, env_file)
        sections: dict[str, Any] = {}
        for name, section in _SECTIONS:
            given: dict[str, Any] = {}
            for field_name, spec in section.FIELDS.items():
                names = spec.variables or (section.PREFIX + field_name.upper(),)
                variable = next((v for v in names if v in values), None)
                if variable is None:
                    continue
                raw, where = values[variable]
                if not raw.strip() and not spec.empty_counts:
                    continue
                try:
                    given[field_name] = spec.parse(raw)
                except ValueError as err:
                    problem = Problem(variable, str(err), where)
                    if problem not in problems:  # PORT feeds two fields
                        problems.append(problem)
            sections[name] = section(**given)
        problems += _together(sections["portbot"], values)
        if problems:
            raise SettingsError(problems)
        known = variables()
        unknown = tuple(sorted(n for n in values if n.startswith("PORTBOT_") and n not in known))
        return cls(**sections, unknown=unknown)

    def require(self, *names: str) -> None:
        """Raise SettingsError naming each missing variable and where to get it."""
        missing = [name for name in names if not self._value(name)]
        if missing:
            raise SettingsError(
                "\n".join(f"{name} is not set: {WHERE.get(name, 'see the README')}." for name in missing)
            )

    def _value(self, name: str) -> Any:
        prefix, _, field_name = name.partition("_")
        section = {"DISCORD": self.discord, "SLACK": self.slack, "PORTBOT": self.portbot}[prefix]
        value = getattr(section, field_name.lower(), None)
        return value.get_secret_value() if isinstance(value, SecretStr) else value

    @property
    def has_discord(self) -> bool:
        return bool(self._value("DISCORD_TOKEN"))

    @property
    def has_slack(self) -> bool:
        return bool(self._value("SLACK_BOT_TOKEN") or self._value("SLACK_CLIENT_ID"))


def _together(portbot: PortbotSettings, values: Mapping[str, tuple[str, str]]) -> list[Problem]:
    """Settings that are only wrong together."""
    if portbot.workers and not portbot.worker_secret:
        where = values["PORTBOT_WORKERS"][1]
        return [
            Problem(
                "PORTBOT_WORKER_SECRET",
                f"not set, but PORTBOT_WORKERS is (in {where}); set the secret the workers share "
                "(any long random string, e.g. `openssl rand -hex 32`)",
                where,
                missing=True,
            )
        ]
    return []


def _read(
    environ: Mapping[str, str], env_file: str | Path | None
) -> tuple[dict[str, tuple[str, str]], list[Problem]]:
    """Every variable as ``NAME: (value, where it was set)``, names upper-cased (matching is case-insensitive,
    as it always was), the environment over ``env_file``; and the problems reading the file."""
    values: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    if env_file is not None:
        where = str(env_file)
        try:
            text = Path(env_file).read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            text = ""
        except (OSError, UnicodeDecodeError) as err:
            problems.append(Problem(where, f"can't be read ({getattr(err, 'strerror', None) or err})", where))
            text = ""
        parsed, bad_lines = parse_dotenv(text, environ)
        for name, value in parsed.items():
            values[name.upper()] = (value, where)
        problems += [
            Problem(where, f"line {line} is not NAME=value; fix or remove it ({snippet!r})", where)
            for line, snippet in bad_lines
        ]
    for name, value in environ.items():
        values[name.upper()] = (value, ENVIRONMENT)
    return values, problems


# -- .env files ---------------------------------------------------------------------------------------------------

# python-dotenv's grammar and rules (the parser pydantic-settings used), step by step as its parser.py reads,
# because importing python-dotenv costs ~75 ms (it pulls in logging and tempfile). A property test
# (tests/bot/test_dotenv.py) holds the two to agreeing.
_DOTENV_ESCAPES = {
    '"': {
        "\\": "\\",
        "'": "'",
        '"': '"',
        "a": "\a",
        "b": "\b",
        "f": "\f",
        "n": "\n",
        "r": "\r",
        "t": "\t",
        "v": "\v",
    },
    "'": {"\\": "\\", "'": "'"},
}


class _Unreadable(Exception):
    pass


def parse_dotenv(text: str, environ: Mapping[str, str]) -> tuple[dict[str, str], list[tuple[int, str]]]:
    """``NAME=value`` pairs of a .env file, with ``${VAR}`` and ``${VAR:-default}`` expanded from earlier lines
    and ``environ`` (earlier lines win); and the lines that could not be read, as ``(line number, text)``."""
    import re

    text = text.removeprefix("\ufeff")
    position = 0

    def read(pattern: str, flags: int = 0) -> re.Match[str]:
        nonlocal position
        match = re.compile(pattern, flags).match(text, position)
        if match is None:
            raise _Unreadable
        position = match.end()
        return match

    given: dict[str, str | None] = {}
    bad: list[tuple[int, str]] = []
    while True:
        read(r"\s*")
        if position >= len(text):
            return {k: v for k, v in given.items() if v is not None}, bad
        start = position
        try:
            read(r"(?:export[^\S\r\n]+)?")
            first = text[position : position + 1]
            key = None if first == "#" else read(r"'([^']+)'" if first == "'" else r"([^=\#\s]+)")[1]
            read(r"[^\S\r\n]*")
            value = None
            if text[position : position + 1] == "=":
                equals = read(r"(=[^\S\r\n]*)")[1]
                value = (
                    ""
                    if len(equals) > 1 and text[position : position + 1] == "#"
                    else _dotenv_value(read, text[position : position + 1])
                )
            read(r"(?:[^\S\r\n]*#[^\r\n]*)?")
            read(r"[^\S\r\n]*(?:\r\n|\n|\r|$)")
        except _Unreadable:
            read(r"[^\r\n]*(?:\r|\n|\r\n)?")
            bad.append((text.count("\n", 0, start) + 1, text[start:position].strip()[:40]))
            continue
        if key is None:
            continue  # a comment
        if value is not None:
            value = _expand(value, {**environ, **given})
        given[key] = value  # a bare name has no value, and unsets the name for the lines after it


def _expand(value: str, scope: Mapping[str, str | None]) -> str:
    """``${NAME}`` and ``${NAME:-default}`` in ``value``, from ``scope`` (a name set without a value is empty)."""
    import re

    def one(match: re.Match[str]) -> str:
        name = match["name"]
        return (scope[name] or "") if name in scope else (match["default"] or "")

    return re.sub(r"\$\{(?P<name>[^\}:]*)(?::-(?P<default>[^\}]*))?\}", one, value)


def _dotenv_value(read: Callable[..., Any], first: str) -> str:
    import re

    if first == "'":
        return _unescape(read(r"'((?:\\.|[^'\\])*)'", re.DOTALL)[1], "'")
    if first == '"':
        return _unescape(read(r'"((?:\\.|[^"\\])*)"', re.DOTALL)[1], '"')
    if first in ("", "\n", "\r"):
        return ""
    return re.sub(r"\s+#.*", "", read(r"([^\r\n]*)")[1]).rstrip()


def _unescape(value: str, quote: str) -> str:
    escapes = _DOTENV_ESCAPES[quote]
    out: list[str] = []
    index = 0
    while index < len(value):
        if value[index] == "\\" and value[index + 1 : index + 2] in escapes:
            out.append(escapes[value[index + 1]])
            index += 2
        else:
            out.append(value[index])
            index += 1
    return "".join(out)
