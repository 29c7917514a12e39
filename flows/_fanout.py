"""Run a task over many items with at most `limit` in flight (the flow's concurrency parameter)."""

from __future__ import annotations

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
) -> list[tuple[Any, Any, BaseException | None]]:
    """[(item, result, error)] in input order; one item's failure does not stop the others. `label` names the
    items on the console's progress bar ("services inspected")."""
    out: list[tuple[Any, Any, BaseException | None]] = []
    with ThreadPoolTaskRunner(max_workers=max(1, limit)) as runner:
        futures = [runner.submit(task, params(item)) for item in items]
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
