"""Run a task over many items with at most `limit` in flight (the flow's concurrency parameter)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from prefect.task_runners import ThreadPoolTaskRunner

from flows import _console


def map_bounded(
    task,
    items: Sequence[Any],
    limit: int,
    params: Callable[[Any], dict],
    on_done: Callable[[int, int], None] | None = None,
    label: str | None = None,
    before_submit: Callable[[int], None] | None = None,
) -> list[tuple[Any, Any, BaseException | None]]:
    """[(item, result, error)] in input order; one item's failure does not stop the others. `label` names the
    items on the console's progress bar ("services inspected"). `before_submit(index)` runs before each item
    is submitted and may wait (holding later items back until earlier ones are under way)."""
    out: list[tuple[Any, Any, BaseException | None]] = []
    with ThreadPoolTaskRunner(max_workers=max(1, limit)) as runner:
        futures = []
        for index, item in enumerate(items):
            if before_submit is not None:
                before_submit(index)
            futures.append(runner.submit(task, params(item)))
        for done, (item, future) in enumerate(zip(items, futures), start=1):
            try:
                out.append((item, future.result(), None))
            except Exception as exc:
                out.append((item, None, exc))
            if on_done:
                on_done(done, len(items))
            if label:
                _console.progress(label, done, len(items))
    return out


class Countdown:
    """An event set once `count` ticks have come (at once if `count` is 0); ticks after that are ignored."""

    def __init__(self, count: int) -> None:
        self._left = count
        self._lock = threading.Lock()
        self.done = threading.Event()
        if count <= 0:
            self.done.set()

    def tick(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left <= 0:
                self.done.set()
