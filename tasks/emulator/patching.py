"""Replace attributes on moto's classes and put every original back on uninstall."""

from __future__ import annotations

from typing import Any

_MISSING = object()


class Patcher:
    def __init__(self) -> None:
        self._saved: list[tuple[Any, str, Any]] = []

    def current(self, owner: Any, name: str) -> Any:
        """The attribute as it is now (moto's, or an earlier wrapper), found the way Python would."""
        return getattr(owner, name)

    def set(self, owner: Any, name: str, value: Any) -> None:
        self._saved.append((owner, name, owner.__dict__.get(name, _MISSING)))
        setattr(owner, name, value)

    def wrap(self, owner: Any, name: str, make):
        """owner.name = make(current); `make` gets the current function and returns its replacement, so
        wrappers stack (the last one installed runs first)."""
        self.set(owner, name, make(self.current(owner, name)))

    def undo(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            if value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
