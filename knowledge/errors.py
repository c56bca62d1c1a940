"""Errors the knowledge base can raise. ``lookup`` and ``suggest`` never raise; these come from loading data
files and from ``portbot knowledge update``, where the person running the bot can fix the cause.

    probes.errors.OperatorError
     └── KnowledgeError      anything about the knowledge data; exit 2 (nothing was changed: fix and run again)
          ├── DataError      a data file is malformed (bad TOML, a missing key, an unknown port role, ...)
          └── UpdateError    an IANA update was refused (bad header, too few rows, download failed)
"""

from __future__ import annotations

from probes.errors import OperatorError


class KnowledgeError(OperatorError):
    """Base of the knowledge errors. ``str(err)`` is one sentence a person can act on."""

    exit_code = 2


class DataError(KnowledgeError):
    """A knowledge data file is malformed. The message names the file, the entry and the key."""


class UpdateError(KnowledgeError):
    """An IANA registry update was refused; the registry in use is left unchanged."""
