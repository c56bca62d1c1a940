"""`portbot watch add|list|remove|run` as real processes: friendly refusals with exit 2, the round trip on both
engines, and `watch run --once` turning a real server going down into one alert at a real webhook."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from tests.probes.servers import TcpOpenServer
from tests.watch.conftest import Receiver
from tests.watch.conftest import receiver as receiver

ROOT = Path(__file__).resolve().parents[2]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update(PORTBOT_DATA_DIR=os.environ["PORTBOT_DATA_DIR"], PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


async def portbot(*args: str, **env: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=ROOT, env=_env(**env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


REFUSALS = [
    (
        ("192.168.1.5", "25565"),
        {},
        "portbot: 192.168.1.5 is a LAN (private) address, only reachable inside your home network; check your "
        "PUBLIC address instead.",
    ),
    (("203.0.113.5", "70000"), {}, "portbot: I couldn't read `70000` as a port number (1 to 65535)."),
    (
        ("203.0.113.5", "25565", "--every", "30"),
        {},
        "portbot: Checking every 30 s is too often: the shortest interval here is 1 min "
        "(PORTBOT_WATCH_MIN_INTERVAL).",
    ),
    (
        ("203.0.113.5", "25565", "--every", "5"),
        {"PORTBOT_WATCH_MIN_INTERVAL": "10"},
        "portbot: Checking every 5 s is too often: the shortest interval here is 10 s (PORTBOT_WATCH_MIN_INTERVAL).",
    ),
    (
        ("203.0.113.5", "25565", "--notify", "discord.com/api/webhooks/1/x"),
        {},
        "portbot: --notify takes a webhook URL starting with https://, e.g. a Discord or Slack incoming webhook.",
    ),
    (
        ("203.0.113.5", "25565", "--game", "notagame"),
        {},
        "portbot: I don't know the game or app `notagame`. Use its name as in `portbot ask valheim`, or leave "
        "--game out to watch the port alone.",
    ),
]


@pytest.mark.parametrize(("args", "env", "message"), REFUSALS)
async def test_add_refuses_with_a_sentence(args: tuple[str, ...], env: dict[str, str], message: str) -> None:
    """What can't be watched is refused at once, in one line, exit 2."""
    code, out, err = await portbot("watch", "add", *args, PORTBOT_ALLOW_NETWORKS="203.0.113.0/24", **env)
    assert (code, out) == (2, "")
    assert err.startswith(message), err
    assert "Traceback" not in err


async def test_add_list_remove(database_url: str) -> None:
    """A watch added is listed (webhook URL masked), removed by its number, and gone."""
    env = {"PORTBOT_DATABASE_URL": database_url, "PORTBOT_ALLOW_NETWORKS": "203.0.113.0/24"}
    code, out, _ = await portbot(
        "watch", "add", "203.0.113.5", "2456", "--game", "valheim", "--label", "Vikings",
        "--notify", "https://discord.com/api/webhooks/1/secret", **env,
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[:2] == [
        "Watch #1: 203.0.113.5:2456/UDP every 1 min.",
        "Alerts go to a Discord webhook when it goes down or comes back (no status message).",
    ]
    code, out, _ = await portbot("watch", "list", "--json", **env)
    [listed] = json.loads(out)["watches"]
    assert (listed["id"], listed["protocol"], listed["game"], listed["label"], listed["notify"]) == (
        1, "udp", "valheim", "Vikings", "https://discord.com/…",
    )  # fmt: skip
    code, out, _ = await portbot("watch", "list", **env)
    assert (
        out
        == "#1  203.0.113.5:2456/UDP  not checked yet  (every 1 min, valheim, “Vikings”, alerts to https://discord.com/…)\n"
    )
    assert await portbot("watch", "remove", "1", **env) == (
        0,
        "Removed watch #1 (203.0.113.5:2456/UDP).\n",
        "",
    )
    assert await portbot("watch", "remove", "1", **env) == (
        2, "", "portbot: There is no watch #1. `portbot watch list` shows them.\n",
    )  # fmt: skip


async def test_quota() -> None:
    """Past PORTBOT_WATCH_QUOTA command-line watches, adding is refused with what to do."""
    env = {"PORTBOT_ALLOW_NETWORKS": "203.0.113.0/24", "PORTBOT_WATCH_QUOTA": "1"}
    assert (await portbot("watch", "add", "203.0.113.5", "1", **env))[0] == 0
    assert await portbot("watch", "add", "203.0.113.5", "2", **env) == (
        2, "",
        "portbot: There are already 1 command-line watches, the most allowed (PORTBOT_WATCH_QUOTA). Remove one "
        "with `portbot watch remove ID` first.\n",
    )  # fmt: skip


async def test_run_once_alerts_a_real_webhook_once(receiver: Receiver) -> None:
    """A server up, then down on two runs: `watch run --once` posts one alert to the webhook, then no more."""
    env = {
        "PORTBOT_ALLOW_NETWORKS": "127.0.0.0/8",
        "PORTBOT_WATCH_MIN_INTERVAL": "1",
        "PORTBOT_PROBE_TIMEOUT": "0.5",
        "PORTBOT_LIMIT_TARGET": "",
    }
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    port = str(server.port)
    assert (
        await portbot("watch", "add", "127.0.0.1", port, "--every", "1", "--notify", receiver.url, **env)
    )[0] == 0
    assert (await portbot("watch", "run", "--once", **env))[0] == 0
    await server.close()
    for _ in range(3):
        await asyncio.sleep(1)  # the watch's interval
        assert (await portbot("watch", "run", "--once", **env))[0] == 0
    [body] = receiver.bodies
    assert (body["type"], body["before"], body["after"], body["seq"]) == (
        "portbot.watch.alert",
        "up",
        "down",
        1,
    )
    _, out, _ = await portbot("watch", "list", "--json", **env)
    assert json.loads(out)["watches"][0]["state"] == "down"
