"""``portbot listen`` needs nothing but Python on Windows and macOS too. We can't run those systems here, so:
its imports are checked against the modules that exist everywhere, and its default path is run with Linux's
/proc gone and ``sys.platform`` saying Windows or macOS."""

from __future__ import annotations

import ast
import builtins
import secrets
import sys
from pathlib import Path
from typing import Any

import pytest

import probes.listen_standalone as standalone
from probes.selfcheck import knock

LOOPBACK = "127.0.0.1"
# Standard-library modules that exist only on Unix-likes or only on Linux (Python's docs, "Availability").
NOT_EVERYWHERE = {
    "fcntl",
    "grp",
    "pwd",
    "posix",
    "resource",
    "termios",
    "tty",
    "pty",
    "crypt",
    "syslog",
    "spwd",
    "nis",
    "readline",
    "curses",
    "msvcrt",
    "winreg",
    "_winapi",
}


def test_the_single_file_imports_only_what_every_python_has() -> None:
    """listen.py (probes/listen_standalone.py) imports the standard library only, none of it OS-specific."""
    tree = ast.parse(Path(standalone.__file__).read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    names.discard("__future__")
    assert names <= set(sys.stdlib_module_names)
    assert not names & NOT_EVERYWHERE


@pytest.fixture(params=["win32", "darwin"])
def elsewhere(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """This process as if on Windows or macOS: another sys.platform, and no /proc to read."""
    real_open = builtins.open

    def no_proc(file: Any, *args: Any, **kwargs: Any) -> Any:
        if str(file).startswith("/proc"):
            raise FileNotFoundError(2, "No such file or directory", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(sys, "platform", request.param)
    monkeypatch.setattr(standalone, "open", no_proc, raising=False)  # the module's own name lookup
    return str(request.param)


def test_without_proc_no_gateway_is_guessed(elsewhere: str) -> None:
    """No default gateway is guessed without /proc: NAT-PMP and PCP then need --router (the UPnP search on
    the LAN still runs)."""
    assert standalone.default_gateway() is None


def test_a_busy_port_is_reported_without_naming_the_program(elsewhere: str) -> None:
    """Naming the program holding a port reads /proc: elsewhere the port is still reported busy, unnamed."""
    holder = standalone.Listener([0], "tcp", secrets.token_hex(32), host=LOOPBACK)
    try:
        (port,) = holder.status
        assert standalone.port_owner(port, "tcp") is None
        second = standalone.Listener([port], "tcp", secrets.token_hex(32), host=LOOPBACK)
        second.close()
        assert (second.status[port].bound, second.status[port].problem) == (False, "in-use")
        assert standalone.busy_message(second.status[port]) == (
            f"Port {port}/tcp is already in use by another program. portbot listen can't listen there, so the "
            "check tests that program instead."
        )
    finally:
        holder.close()


async def test_the_listener_answers_a_knock_elsewhere(elsewhere: str) -> None:
    """The listener itself (sockets, selectors, a thread) answers the worker's knock the same way."""
    secret = secrets.token_hex(32)
    listener = standalone.Listener([0], "tcp", secret, host=LOOPBACK)
    try:
        (port,) = listener.status
        assert await knock(LOOPBACK, port, "tcp", secret, timeout=3.0)
    finally:
        listener.close()
