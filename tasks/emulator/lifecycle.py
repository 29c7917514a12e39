"""Time in the emulator: which moto objects are still in a transitional state, and deletions that are due.

moto makes everything final at once. Here an object marked busy reads as its transitional status until its
time is up; a deletion is recorded and carried out by `reap()` (called before every request) once due.
Objects are tracked by identity in a weak map, never by attributes on them: moto copies model objects'
`__dict__` into new resources on restores, which would carry the marks along.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable


class Lifecycle:
    def __init__(self) -> None:
        self._until: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._labels: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # status shown while busy
        self._deleting: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._due: list[tuple[float, Callable[[], None]]] = []
        self._lock = threading.RLock()
        self.busy_reads = 0  # reads that found an object still in transition (for benchmarks' reports)

    def start(self, obj: object, seconds: float, status: str | None = None) -> None:
        """`obj` is in transition for `seconds` from now (nothing happens for 0); `status` names the
        transition when it is not the object's default one (`rebooting`, `failing-over`, `modifying`)."""
        if obj is None or seconds <= 0:
            return
        with self._lock:
            self._until[obj] = time.monotonic() + seconds
            if status:
                self._labels[obj] = status
            else:
                self._labels.pop(obj, None)

    def label(self, obj: object) -> str | None:
        """The named transition `obj` is in, if it is busy with one."""
        return self._labels.get(obj)

    def later(self, seconds: float, action: Callable[[], None]) -> None:
        """Run `action` once `seconds` have passed (checked before every request)."""
        with self._lock:
            self._due.append((time.monotonic() + seconds, action))

    def finish(self, obj: object) -> None:
        with self._lock:
            self._until.pop(obj, None)

    def busy(self, obj: object) -> bool:
        until = self._until.get(obj)
        if until is not None and time.monotonic() < until:
            self.busy_reads += 1
            return True
        return False

    def deleting(self, obj: object) -> bool:
        return obj in self._deleting

    def delete_later(self, obj: object, seconds: float, remove: Callable[[], None]) -> None:
        """Show `obj` as deleting, then run `remove` once `seconds` have passed (at once for 0)."""
        if seconds <= 0:
            remove()
            return
        with self._lock:
            self._deleting[obj] = True
            self._due.append((time.monotonic() + seconds, remove))

    def reap(self, everything: bool = False) -> None:
        from moto.core.exceptions import ServiceException  # here: a parent that only launches moto never loads it

        now = time.monotonic()
        with self._lock:
            ready = [item for item in self._due if everything or item[0] <= now]
            self._due = [item for item in self._due if item not in ready]
        for _, remove in ready:
            try:
                remove()
            except (KeyError, ServiceException):  # already gone (a reset, or deleted another way)
                continue

    def settle(self) -> None:
        """Finish every transition now: for seeding an estate that has existed for a long time."""
        with self._lock:
            self._until.clear()
            self._labels.clear()
        self.reap(everything=True)

    def clear(self) -> None:
        with self._lock:
            self._until.clear()
            self._labels.clear()
            self._deleting.clear()
            self._due.clear()
