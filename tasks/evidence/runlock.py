"""One run of a mutating flow at a time per evidence store, and a way to tell a crashed run.

The lock is an flock on a file in the evidence directory: the kernel drops it when the holding process
dies, so taking it proves that no other run of the flow is alive on this host and any copies tagged
with another run id are orphans.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

from tasks.errors import DrError
from tasks.evidence.records import now_text


class RunInProgress(DrError):
    pass


@contextmanager
def exclusive_run(evidence: str, flow: str, run_id: str, wait_seconds: float = 0):
    if "://" in evidence:
        yield  # remote stores rely on the deployment's concurrency limit instead
        return
    path = Path(evidence) / flow / ".run.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
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
                    raise RunInProgress(f"another {flow} run is in progress ({holder}); "
                                        "wait for it or use --wait") from None
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"run_id": run_id, "pid": os.getpid(),
                                 "since": now_text()}))
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock
