"""The command line maps the error tree in one place: the sentence on stderr, the exit status from the class."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.test_cli import ROOT, portbot
from tests.probes.servers import serve


@pytest.fixture
def listener() -> Iterator[int]:
    """A TCP listener on 127.0.0.1 that never accepts; its port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(4)
        yield int(sock.getsockname()[1])


def test_a_rate_limit_store_that_is_down_exits_1(tmp_path: Path, listener: int) -> None:
    """StoreUnavailable is the operator's to fix: exit 1 with its sentence, and no traceback."""
    (tmp_path / "ratelimits.sqlite3").mkdir()  # the counter file can't be opened
    result = portbot(
        "probe",
        "127.0.0.1",
        str(listener),
        env={"PORTBOT_DATA_DIR": str(tmp_path), "PORTBOT_ALLOW_NETWORKS": "127.0.0.0/8"},
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        1,
        "",
        "portbot: The rate limiter's storage isn't answering, so I can't run checks right now; try again soon.\n",
    )


async def test_a_name_that_does_not_resolve_exits_2_with_its_hint() -> None:
    """ResolveError is the user's to fix: exit 2, one line with the hint (no more matching on the class name)."""
    async with serve("dns", "127.0.0.1", records={}) as dns:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "probe",
            "nope.test",
            "443",
            cwd=ROOT,
            env={
                **{
                    k: v
                    for k, v in os.environ.items()
                    if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))
                },
                "PORTBOT_DATA_DIR": os.environ["PORTBOT_DATA_DIR"],
                "PORTBOT_DNS_SERVERS": f"127.0.0.1:{dns.port}",
            },
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(proc.communicate(), 60)
    assert (proc.returncode, stdout.decode(), stderr.decode()) == (
        2,
        "",
        "portbot: I couldn't find `nope.test`: DNS says that name doesn't exist. Check the spelling. A name "
        "created a few minutes ago can take a while to show up.\n",
    )
