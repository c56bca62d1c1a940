"""Tests for the Discord adapter, driven through discord.py's own parsing and dispatch against a fake Discord."""

import warnings

# discord.py imports the stdlib ``audioop`` for voice, which warns on Python 3.11+; pytest turns warnings into
# errors, so import it once here, before any test module does.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="'audioop' is deprecated", category=DeprecationWarning)
    import discord  # noqa: F401
