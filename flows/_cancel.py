"""Cancellation that lets a drill finish its step: a worker cancels a flow run by sending its process SIGTERM
(and SIGKILL after a grace period, 30 s by default), which Prefect turns into an exception wherever the code
is, e.g. halfway through a failover with nothing rolled back. While drills run, the signal is only noted; the
guardrails read it between steps, so the drill stops, rolls back and is recorded, and then the signal is
raised as Prefect would have raised it (the run ends Cancelled)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager


@contextmanager
def termination_deferred() -> Iterator[Callable[[], bool]]:
    """Yields `terminated()`: whether a SIGTERM arrived. Re-raises it through the previous handler on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False  # signals reach the main thread only: nothing to defer here
        return
    received: list[int] = []
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        yield lambda: bool(received)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if received:
            if callable(previous):
                previous(signal.SIGTERM, None)  # Prefect's handler raises TerminationSignal
            elif previous != signal.SIG_IGN:
                signal.raise_signal(signal.SIGTERM)
