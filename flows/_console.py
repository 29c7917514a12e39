"""What a person sees while a `dr` command runs: one line per phase, a live progress bar when stderr is a
terminal (a count every few seconds otherwise), then the command's summary on stdout.

Flows call `phase()` and `progress()`; they do nothing unless the command line installed a console (workers,
`dr serve` and tests keep Prefect's logs only). Nothing here imports prefect.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

_current: Console | None = None


def phase(text: str) -> None:
    if _current is not None:
        _current.phase(text)


def progress(label: str, done: int, total: int) -> None:
    if _current is not None:
        _current.progress(label, done, total)


@contextmanager
def use(console: Console) -> Iterator[Console]:
    global _current
    previous, _current = _current, console
    try:
        yield console
    finally:
        console.close()
        _current = previous


class Console:
    def __init__(
        self,
        stream: TextIO | None = None,
        tty: bool | None = None,
        every_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.every_seconds = every_seconds
        self.clock = clock
        self._bar = None
        self._bar_task = None
        self._label: str | None = None
        self._last_print = 0.0

    def phase(self, text: str) -> None:
        self.close()
        self._write(text)

    def _write(self, line: str) -> None:
        # Not print(): inside a flow with log_prints=True, Prefect turns print() into log records.
        self.stream.write(line + "\n")
        self.stream.flush()

    def progress(self, label: str, done: int, total: int) -> None:
        if label != self._label:
            self.close()
            self._label = label
            self._last_print = self.clock()
        if self.tty:
            self._draw(label, done, total)
        elif done >= total or self.clock() - self._last_print >= self.every_seconds:
            self._last_print = self.clock()
            self._write(f"  {label}: {done}/{total}")
        if done >= total:
            if self.tty:
                self.close()
                self._write(f"  {label}: {done}/{total}")
            self._label = None

    def _draw(self, label: str, done: int, total: int) -> None:
        from rich.console import Console as RichConsole
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        if self._bar is None:
            self._bar = Progress(
                TextColumn("  {task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=RichConsole(file=self.stream),
                transient=True,
            )
            self._bar.start()
            self._bar_task = self._bar.add_task(label, total=total)
        self._bar.update(self._bar_task, completed=done, total=total)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._bar_task = None
