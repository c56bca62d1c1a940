"""Bad values for every setting, shared by the settings and CLI tests."""

from __future__ import annotations

#: A bad value for every setting that can be wrong, and the exact line it gives (after "VARIABLE: ").
#: Secrets and names (DISCORD_TOKEN, SLACK_CLIENT_ID, PORTBOT_WORKER_REGION, ...) take any text.
BAD = [
    (
        "PORTBOT_DATA_DIR",
        "/dev/null",
        "'/dev/null' is a file, not a directory; give a directory Portbot may write to",
    ),
    (
        "PORTBOT_DATA_DIR",
        "/dev/null/state",
        "'/dev/null/state' is inside a file (/dev/null); give a directory Portbot may write to",
    ),
    (
        "PORTBOT_AUDIT_DB",
        "/",
        "'/' is a directory; give the path of a file, e.g. /var/lib/portbot/audit.sqlite3",
    ),
    ("PORT", "http", "'http' is not a port; use a whole number from 1 to 65535, e.g. 8471"),
    ("SLACK_PORT", "0", "'0' is not a port; use a whole number from 1 to 65535, e.g. 8471"),
    (
        "PORTBOT_SLACK_PROCESSES",
        "0",
        "'0' is not a process count; use a whole number from 1 to 64, e.g. 2",
    ),
    (
        "PORTBOT_WORKER_MAX_CONNECTIONS",
        "0",
        "'0' is not a connection count; use a whole number from 1 to 1000000, e.g. 1024",
    ),
    (
        "PORTBOT_WORKER_MAX_PER_SOURCE",
        "-1",
        "'-1' is not a connection count (0 turns the cap off); use a whole number from 0 to 1000000, e.g. 128",
    ),
    (
        "PORTBOT_WORKER_HEADER_TIMEOUT",
        "0",
        "'0' is not a deadline; use seconds above 0 and at most 300, e.g. 10",
    ),
    (
        "PORTBOT_WORKER_BODY_TIMEOUT",
        "soon",
        "'soon' is not a deadline; use seconds above 0 and at most 300, e.g. 10",
    ),
    (
        "PORTBOT_WORKER_IDLE_TIMEOUT",
        "7200",
        "'7200' is not a deadline; use seconds above 0 and at most 3600, e.g. 10",
    ),
    (
        "PORTBOT_LINK_BASE_URL",
        "check.example.net",
        "'check.example.net' is not a public worker URL; use e.g. https://check.example.net",
    ),
    (
        "PORTBOT_LINK_HOST_V4",
        "https://v4.example.net",
        "'https://v4.example.net' is not a host name; use a bare name such as v4.check.example.net",
    ),
    (
        "PORTBOT_LINK_HOST_V6",
        "v6 host",
        "'v6 host' is not a host name; use a bare name such as v4.check.example.net",
    ),
    ("PORTBOT_WATCH_QUOTA", "0", "'0' is not a watch quota; use a whole number from 1 to 10000, e.g. 10"),
    (
        "PORTBOT_AUDIT_KEEP_DAYS",
        "30d",
        "'30d' is not a number of days (0 keeps every row); use a whole number from 0 to 3650, e.g. 90",
    ),
    (
        "PORTBOT_WATCH_MIN_INTERVAL",
        "0.5",
        "'0.5' is not a watch interval; use seconds from 1 to 86400, e.g. 60",
    ),
    ("PORTBOT_LINK_TTL", "5", "'5' is not a link lifetime; use seconds from 30 to 3600, e.g. 600"),
    (
        "PORTBOT_TRUSTED_PROXIES",
        "10.0.0.1/8",
        "'10.0.0.1/8' has bits set after the prefix; did you mean 10.0.0.0/8?",
    ),
    ("PORTBOT_LOG_LEVEL", "verbose", "'verbose' is not a log level; use one of DEBUG, INFO, WARNING, ERROR"),
    ("PORTBOT_LOG_FORMAT", "xml", "'xml' is not a log format; use text or json"),
    (
        "PORTBOT_WORKERS",
        "ftp://worker.example.net",
        "'ftp://worker.example.net' is not a worker URL; use e.g. https://worker.example.net, optionally named: "
        "Frankfurt=https://worker.example.net",
    ),
    (
        "PORTBOT_WORKERS",
        "Frankfurt=",
        "'' is not a worker URL; use e.g. https://worker.example.net, optionally named: "
        "Frankfurt=https://worker.example.net",
    ),
    (
        "PORTBOT_LIMIT_USER",
        "lots",
        "'lots' is not a rate; use a count per period such as 10/minute or 100 per hour, or nothing to turn the "
        "limit off",
    ),
    (
        "PORTBOT_LIMIT_GUILD",
        "10/fortnight",
        "'10/fortnight' is not a rate; use a count per period such as 10/minute or 100 per hour, or nothing to "
        "turn the limit off",
    ),
    (
        "PORTBOT_LIMIT_TARGET",
        "10/minute;100/hour",
        "'10/minute;100/hour' is not a rate; use a count per period such as 10/minute or 100 per hour, or "
        "nothing to turn the limit off",
    ),
    (
        "PORTBOT_DNS_SERVERS",
        "bad",
        "'bad' is not a DNS server; use comma-separated IP addresses, optionally with a port: 192.0.2.53, "
        "192.0.2.53:5353, [2001:db8::53]:53",
    ),
    (
        "PORTBOT_DNS_SERVERS",
        "192.0.2.53:99999",
        "'192.0.2.53:99999' is not a DNS server; use comma-separated IP addresses, optionally with a port: "
        "192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53",
    ),
    (
        "PORTBOT_REDIS_URL",
        "notaurl",
        "'notaurl' is not a Redis URL; use redis://host:6379/0, rediss://host:6380 (TLS) or "
        "redis+unix:///path/to/redis.sock",
    ),
    (
        "PORTBOT_DATABASE_URL",
        "mysql://db.example.net/portbot",
        "'mysql://db.example.net/portbot' is not a database URL; use sqlite:///path/to/portbot.sqlite3 or "
        "postgresql://user@host:5432/portbot",
    ),
    (
        "PORTBOT_DATABASE_URL",
        "mysql://portbot:hunter2@db.example.net/portbot",
        "'mysql://portbot:***@db.example.net/portbot' is not a database URL; use sqlite:///path/to/portbot.sqlite3 "
        "or postgresql://user@host:5432/portbot",
    ),
    (
        "PORTBOT_ALLOW_NETWORKS",
        "nonsense",
        "'nonsense' is not a network; use comma-separated CIDRs such as 203.0.113.0/24 or 2001:db8::/32",
    ),
    (
        "PORTBOT_NAT64_PREFIXES",
        "10.0.0.0/8",
        "'10.0.0.0/8' is not an IPv6 prefix; NAT64 prefixes are IPv6",
    ),
    (
        "PORTBOT_DENY_NETWORKS",
        "10.0.0.1/8",
        "'10.0.0.1/8' has bits set after the prefix; did you mean 10.0.0.0/8?",
    ),
    (
        "PORTBOT_PROBE_TIMEOUT",
        "soon",
        "'soon' is not a timeout; use seconds above 0 and at most 30, e.g. 3 or 1.5",
    ),
    (
        "PORTBOT_PROBE_TIMEOUT",
        "60",
        "'60' is not a timeout; use seconds above 0 and at most 30, e.g. 3 or 1.5",
    ),
    (
        "PORTBOT_PROBE_ICMP_RTT",
        "maybe",
        "'maybe' is not true or false; use true or false (also yes/no, on/off, 1/0)",
    ),
    (
        "PORTBOT_PROBE_TTL_RTT",
        "sometimes",
        "'sometimes' is not true or false; use true or false (also yes/no, on/off, 1/0)",
    ),
    (
        "DISCORD_API_BASE",
        "discord.example.net/api",
        "'discord.example.net/api' is not a URL; use e.g. https://proxy.example.net/api/v10",
    ),
    (
        "DISCORD_GATEWAY_URL",
        "https://gateway.example.net",
        "'https://gateway.example.net' is not a URL; use e.g. wss://gateway.example.net",
    ),
    (
        "DISCORD_DEV_GUILD_ID",
        "my-server",
        "'my-server' is not a Discord server ID; copy it from Discord (Developer Mode on, right-click the server "
        "→ Copy Server ID)",
    ),
    (
        "SLACK_API_URL",
        "ftp://slack.example.net/api/",
        "'ftp://slack.example.net/api/' is not a URL; use e.g. https://proxy.example.net/api/v10",
    ),
]
BAD_IDS = [f"{name}={value}" for name, value, _ in BAD]
