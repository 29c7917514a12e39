"""Pause Python's cyclic garbage collector while bulk data is built.

Reading a 10,000-service history and judging it allocates millions of small objects (dicts, tuples,
rows) that form no reference cycles; each allocation burst set off generation-2 collections that walked
the whole growing heap: about a third of the dashboard's CPU at that size. Reference counting still
frees everything as usual; only the cycle collector waits until the outermost pause ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def paused_gc() -> Iterator[None]:
    """Nested or concurrent pauses (Prefect runs tasks in threads) resume collection once, when the
    last one ends, and only if it was on before the first began."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()
