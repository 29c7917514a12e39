"""Replace attributes on moto's classes and put every original back on uninstall."""

from __future__ import annotations

from typing import Any

_MISSING = object()


class _Item:
    """Marks a saved dict entry (not an attribute) in the undo list."""

    def __init__(self, mapping: dict) -> None:
        self.mapping = mapping


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

    def set_item(self, mapping: dict, key: Any, value: Any) -> None:
        """mapping[key] = value (a moto routing table), put back on undo."""
        self._saved.append((_Item(mapping), key, mapping.get(key, _MISSING)))
        mapping[key] = value

    def undo(self) -> None:
        while self._saved:
            owner, name, value = self._saved.pop()
            if isinstance(owner, _Item):
                if value is _MISSING:
                    owner.mapping.pop(name, None)
                else:
                    owner.mapping[name] = value
            elif value is _MISSING:
                delattr(owner, name)
            else:
                setattr(owner, name, value)
