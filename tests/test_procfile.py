"""The Procfile: valid for honcho and Heroku-style platforms, and every process is a real portbot command."""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import _parser

ROOT = Path(__file__).resolve().parents[1]


def processes() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    entries = (line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {name.strip(): command.strip() for name, command in entries}


def test_procfile_has_the_documented_processes() -> None:
    """discord, slack, web (Slack HTTP mode), worker and watches, as the README says."""
    assert set(processes()) == {"discord", "slack", "web", "worker", "watches"}


def test_honcho_accepts_the_procfile() -> None:
    """`honcho check` validates the file the way `honcho start` reads it."""
    result = subprocess.run(
        [sys.executable, "-m", "honcho", "check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("name", "command"), sorted(processes().items()))
def test_every_process_is_a_portbot_command(name: str, command: str) -> None:
    """Each line parses as a `portbot` invocation (no typo in a subcommand or flag)."""
    program, *args = shlex.split(command)
    assert program == "portbot"
    parsed = _parser().parse_args(args)
    assert parsed.command in {"discord", "slack", "worker", "watch"}
