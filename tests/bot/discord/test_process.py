"""The real ``portbot discord`` process against the fake Discord: start, answer /port 25565, stop cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.bot.discord import payloads
from tests.bot.discord.fake_discord import FakeDiscord

pytestmark = pytest.mark.slow


async def test_portbot_discord_answers_port_25565_end_to_end(
    fake_discord: FakeDiscord, tmp_path: Path
) -> None:
    """`python -m bot discord` logs in, connects, answers /port 25565 publicly, and exits on Ctrl-C."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "PORTBOT_", "SLACK_"))},
        "DISCORD_TOKEN": "fake-token",
        "DISCORD_API_BASE": fake_discord.api_base,
        "DISCORD_GATEWAY_URL": fake_discord.gateway_url,
        "PORTBOT_DATA_DIR": str(tmp_path / "data"),
    }
    log = tmp_path / "portbot.log"
    with log.open("wb") as output:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "discord", env=env, cwd=tmp_path, stdout=output, stderr=output
        )
        try:
            await fake_discord.wait_identified(timeout=60)
            sent = await fake_discord.push_interaction(payloads.slash("port", query="25565"))
            callback = await fake_discord.wait_callback(sent.id, timeout=30)
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGINT)
            code = await asyncio.wait_for(process.wait(), timeout=30)
    assert (callback.type, callback.ephemeral) == (4, False)
    assert callback.data["allowed_mentions"] == {"parse": []}
    assert "25565" in callback.data["embeds"][0]["title"]
    assert (tmp_path / "data" / "portbot.sqlite3").exists()  # the store, in the data dir by default
    output_text = log.read_text(errors="replace")
    assert code == 130, output_text
    assert "Traceback" not in output_text
