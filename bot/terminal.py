"""The terminal adapter: the interactive chat, printing each Reply through :mod:`bot.terminal_render`."""

from __future__ import annotations

import contextlib
import sys
from typing import IO

from bot.core.commands import Portbot
from bot.terminal_render import plain, render_json, render_rich, render_text, write_reply
from probes.models import Requester

__all__ = ["TERMINAL_USER", "chat", "plain", "render_json", "render_rich", "render_text", "write_reply"]

TERMINAL_USER = Requester(platform="terminal", user_id="local")


PROMPT = "portbot> "
_QUIT = {"quit", "exit", ":q", "/quit", "/exit", "bye"}


def chat(portbot: Portbot, stdin: IO[str] = sys.stdin, stdout: IO[str] = sys.stdout) -> int:
    """The interactive terminal chat. With stdin not a terminal, answer each line and exit at end of input."""
    interactive = stdin.isatty() and stdout.isatty()
    if interactive:
        with contextlib.suppress(ImportError):
            import readline  # noqa: F401  (line editing and history for input())
        stdout.write(
            "Portbot terminal chat. Ask like in Discord or Slack: /port 25565, /port minecraft,\n"
            "/port what is cgnat, /port check example.com 25565. Type 'quit' or press Ctrl-D to leave.\n"
        )
    import asyncio  # only the chat loop needs it

    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                line = input(PROMPT) if interactive else stdin.readline()
            except (EOFError, KeyboardInterrupt):
                if interactive:
                    stdout.write("\n")
                break
            if not interactive and line == "":
                break
            text = line.strip()
            if not text:
                continue
            if text.lower() in _QUIT:
                break
            reply = loop.run_until_complete(portbot.handle(text, TERMINAL_USER))
            write_reply(reply, stdout)
    finally:
        loop.run_until_complete(portbot.aclose())
        loop.close()
    return 0
