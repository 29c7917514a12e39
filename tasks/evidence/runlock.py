"""One run of a mutating flow at a time per evidence store, and a way to tell a crashed run.

The lock is an flock on a file in the evidence directory: the kernel drops it when the holding process
dies, so taking it proves that no other run of the flow that used this lock (this host, this evidence
directory) is alive. `exclusive_run` yields the lock's id, which copies carry: a sweep holding the same lock
may treat them as orphans, and nothing else. Remote stores take no lock and yield None.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from tasks.errors import DrError
from tasks.evidence.records import now_text


class RunInProgress(DrError):
    pass


def lock_id(path: Path) -> str:
    """Names one lock file on one host (flock is per host): what a copy records of the lock its run held."""
    where = f"{socket.gethostname()}\0{os.path.realpath(path)}"
    return hashlib.sha256(where.encode()).hexdigest()[:20]


def _open_lock(path: Path):
    # O_NOFOLLOW: a symlinked .run.lock is refused, never followed (its target would be truncated).
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError as exc:
        if path.is_symlink():
            raise DrError(f"{path}: the run lock is a symbolic link; refusing to follow it") from None
        raise DrError(f"{path}: cannot open the run lock: {exc.strerror}") from None
    return os.fdopen(fd, "r+")


@contextmanager
def exclusive_run(evidence: str, flow: str, run_id: str, wait_seconds: float = 0):
    if "://" in evidence:
        yield None  # remote stores rely on the deployment's concurrency limit instead; no lock, no lock id
        return
    path = Path(evidence) / flow / ".run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = _open_lock(path)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "unknown"
                    raise RunInProgress(
                        f"another {flow} run is in progress ({holder}); wait for it or use --wait"
                    ) from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"run_id": run_id, "pid": os.getpid(), "since": now_text()}))
        handle.flush()
        yield lock_id(path)
    finally:
        handle.close()  # releases the lock
