"""Writing a local file so that a reader sees the old content or the new, never a part: one helper for the
evidence store and the ledger."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _umask() -> int:
    # os.umask can only be read by setting it; set it straight back (process-wide, for an instant).
    current = os.umask(0o022)
    os.umask(current)
    return current


def write_atomic(target: Path, data: bytes) -> None:
    """Write `data` to `target` through a temporary file in the same directory, fsync it, then rename.

    The file gets the mode a plain open() would give it (0666 less the umask), not mkstemp's 0600, so the
    evidence and the dashboard stay readable to whoever the umask lets read them.
    """
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
