"""Discord sharding: the bot is an AutoShardedClient, and ``--shard-ids``/``--shard-count`` split shards across
processes. The fake gateway routes each guild's events to the connection of its shard, as Discord does."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.core.commands import Portbot
from bot.discord import parse_shards, run
from bot.settings import Settings
from tests.bot.discord import payloads
from tests.bot.discord.fake_discord import FakeDiscord, shard_of

ROOT = Path(__file__).resolve().parents[3]


def guild_on_shard(shard: int, count: int) -> int:
    """A guild id that Discord routes to ``shard`` of ``count``."""
    base = payloads.GUILD_ID >> 22
    guild = ((base - base % count + shard) << 22) | 100
    assert shard_of(guild, count) == shard
    return guild


def port_in(guild: int) -> dict[str, Any]:
    """``/port 25565`` asked in ``guild``."""
    payload = payloads.slash("port", query="25565")
    payload.update(guild_id=str(guild))
    payload["guild"]["id"] = str(guild)
    payload["channel"]["guild_id"] = str(guild)
    payload["authorizing_integration_owners"] = {"0": str(guild)}
    return payload


@pytest.mark.parametrize(
    ("ids", "count", "expected"),
    [
        (None, None, (None, None)),
        (None, 4, (None, 4)),
        ("0,1", 4, ([0, 1], 4)),
        (" 3 ", 4, ([3], 4)),
    ],
)
def test_shard_options_are_read(ids: str | None, count: int | None, expected: Any) -> None:
    """Shard numbers separated by commas, within the count."""
    assert parse_shards(ids, count) == expected


@pytest.mark.parametrize(
    ("ids", "count", "message"),
    [
        (
            "0,1",
            None,
            "--shard-ids needs --shard-count: how many shards the bot has in all, e.g. --shard-count 4.",
        ),
        ("4", 4, "Shard 4 does not exist with --shard-count 4: shards go from 0 to 3."),
        ("0,x", 4, "--shard-ids takes shard numbers separated by commas, e.g. 0,1; 'x' is not one."),
        ("-1", 4, "--shard-ids takes shard numbers separated by commas, e.g. 0,1; '-1' is not one."),
        ("1,1", 4, "Shard 1 is listed twice in --shard-ids."),
        (None, 0, "--shard-count must be 1 or more, not 0."),
        ("0", 0, "--shard-count must be 1 or more, not 0."),
    ],
)
def test_bad_shard_options_get_one_plain_sentence(ids: str | None, count: int | None, message: str) -> None:
    """Each mistake is named, with what would be right."""
    with pytest.raises(ValueError, match=f"^{message.replace('(', '[(]').replace(')', '[)]')}$"):
        parse_shards(ids, count)


def test_the_command_line_refuses_a_shard_outside_the_count() -> None:
    """`portbot discord --shard-ids 4 --shard-count 4` exits 2 with the sentence, before logging in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env["PORTBOT_DATA_DIR"] = os.environ["PORTBOT_DATA_DIR"]
    result = subprocess.run(
        [sys.executable, "-m", "bot", "discord", "--shard-ids", "4", "--shard-count", "4"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr == "portbot: Shard 4 does not exist with --shard-count 4: shards go from 0 to 3.\n"


async def test_a_process_runs_only_its_shards(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With shards 1 and 3 of 4, the bot identifies exactly those, and answers interactions routed to them."""
    monkeypatch.setenv("DISCORD_TOKEN", "fake-token")
    monkeypatch.setenv("DISCORD_API_BASE", fake_discord.api_base)
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path / "data"))
    task = asyncio.create_task(run(Settings.load(env_file=None), portbot, shard_ids=[1, 3], shard_count=4))
    try:
        await fake_discord.wait_identified(count=2, timeout=30)
        assert sorted(tuple(i["shard"]) for i in fake_discord.identifies) == [(1, 4), (3, 4)]
        sent = await fake_discord.push_interaction(port_in(guild_on_shard(3, 4)))
        callback = await fake_discord.wait_callback(sent.id)
        assert callback.type == 4
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.mark.slow
async def test_two_processes_split_the_shards(fake_discord: FakeDiscord, tmp_path: Path) -> None:
    """`portbot discord --shard-ids 0,1 --shard-count 4` and `--shard-ids 2,3` each IDENTIFY their own shards,
    and an interaction in a guild of either half is answered once, by the process holding its shard."""
    base_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "PORTBOT_", "SLACK_"))},
        "DISCORD_TOKEN": "fake-token",
        "DISCORD_API_BASE": fake_discord.api_base,
    }
    processes: list[asyncio.subprocess.Process] = []
    logs: list[Path] = []
    try:
        for index, ids in enumerate(("0,1", "2,3")):
            log = tmp_path / f"portbot-{index}.log"
            logs.append(log)
            env = {**base_env, "PORTBOT_DATA_DIR": str(tmp_path / f"data-{index}")}
            with log.open("wb") as output:
                processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "bot",
                        "discord",
                        "--shard-ids",
                        ids,
                        "--shard-count",
                        "4",
                        env=env,
                        cwd=tmp_path,
                        stdout=output,
                        stderr=output,
                    )
                )
            # One process at a time, so each IDENTIFY is known to come from the process just started.
            await fake_discord.wait_identified(count=2 * (index + 1), timeout=60)
        first, second = fake_discord.identifies[:2], fake_discord.identifies[2:]
        assert sorted(tuple(i["shard"]) for i in first) == [(0, 4), (1, 4)]
        assert sorted(tuple(i["shard"]) for i in second) == [(2, 4), (3, 4)]
        for shard in range(4):
            sent = await fake_discord.push_interaction(port_in(guild_on_shard(shard, 4)))
            callback = await fake_discord.wait_callback(sent.id, timeout=30)
            assert callback.type == 4
            assert len([c for c in fake_discord.callbacks if c.interaction_id == sent.id]) == 1
    finally:
        for process in processes:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
        codes = [await asyncio.wait_for(p.wait(), timeout=30) for p in processes]
    for code, log in zip(codes, logs, strict=True):
        text = log.read_text(errors="replace")
        assert code == 130, text
        assert "Traceback" not in text
