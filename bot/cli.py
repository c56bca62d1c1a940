"""The ``portbot`` command. Kept import-light: chat libraries load only for the subcommands that need them."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    print("Portbot is being built. Try again soon.", args)
    return 0
