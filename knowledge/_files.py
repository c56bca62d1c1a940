"""Writing files so that readers only ever see the old content or the new, never half of it."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(target: Path, content: bytes) -> None:
    """Write ``content`` to a temporary file beside ``target``, flush it to disk, then rename it into place."""
    import tempfile  # only writers need it, and it costs a few milliseconds at start-up

    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
