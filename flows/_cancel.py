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
def termination_deferred(cancelling: Callable[[], bool] = lambda: False) -> Iterator[Callable[[], bool]]:
    """Yields `terminated()`: whether a SIGTERM arrived. Re-raises it through the previous handler on exit,
    as a cancellation when `cancelling()` (the API says the run is being cancelled)."""
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
            if cancelling():
                _commit_cancel_intent()
            if callable(previous):
                previous(signal.SIGTERM, None)  # Prefect's handler raises TerminationSignal
            elif previous != signal.SIG_IGN:
                signal.raise_signal(signal.SIGTERM)


def _commit_cancel_intent() -> None:
    """Prefect's runner tells the flow process "cancel" before its SIGTERM, and the process acknowledges only
    while Prefect's own SIGTERM handler is installed: with ours in place there was no acknowledgement, and the
    signal re-raised later reads as a crash. Record the intent the runner would have delivered (a private
    hook of prefect 3.9's control listener; without it the run ends Crashed instead of Cancelled)."""
    try:
        from prefect._internal import control_listener

        control_listener._set_intent("cancel")
    except (ImportError, AttributeError):
        pass
