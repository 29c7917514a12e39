"""YAML loading with safe_load semantics that remembers where every key and item came from.

The catalog's errors must name the line, so we compose the node graph once, record the line of each
mapping key and sequence item by path, refuse duplicate keys (safe_load silently keeps the last), and
construct the data with SafeLoader from the same nodes.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tasks.errors import Problem

MAX_BYTES = 1_000_000  # a runbook is a page of YAML; anything bigger is a mistake or an attack
MAX_NODES = 100_000  # bounds alias expansion ("billion laughs") before pydantic walks it

PathKey = tuple[object, ...]


@dataclass
class YamlDocument:
    file: str
    data: object
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: PathKey) -> int | None:
        """Line of the deepest known prefix of path (a missing field points at its parent)."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get((), None)


def format_path(path: PathKey) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_yaml(path: Path, display: str | None = None) -> tuple[YamlDocument | None, list[Problem]]:
    display = display or str(path)
    try:
        raw = _read_regular_file(path)
        if isinstance(raw, int):
            return None, [Problem(display, None, "", f"file is {raw} bytes; the limit is {MAX_BYTES}")]
        if raw is None:
            return None, [Problem(display, None, "", "not a regular file (only regular files are read)")]
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(display, None, "", f"not UTF-8 text ({exc.reason})")]
    except OSError as exc:
        return None, [Problem(display, None, "", f"cannot read: {exc.strerror or exc}")]
    return parse_yaml(text, display)


def _read_regular_file(path: Path) -> bytes | int | None:
    """The bytes of a regular file; its size if over the cap; None for a FIFO, device or directory.

    Opened non-blocking and checked with fstat before any read, so a FIFO or a symlink to /dev/zero
    named x.yaml neither hangs nor fills memory; the read itself is capped too (the file may grow).
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return None
        if info.st_size > MAX_BYTES:
            return info.st_size
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_BYTES + 1)
        return len(data) if len(data) > MAX_BYTES else data
    finally:
        os.close(fd)


def parse_yaml(text: str, display: str) -> tuple[YamlDocument | None, list[Problem]]:
    if "\0" in text:
        # PyYAML's reader refuses it without a line; name the line here.
        line = text.count("\n", 0, text.index("\0")) + 1
        return None, [Problem(display, line, "", "invalid YAML: NUL byte (control characters are not allowed)")]
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        return None, [Problem(display, line, "", f"invalid YAML: character {exc.character!r} is not allowed")]
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(display, None, {(): 1}), []
        doc = YamlDocument(display, None)
        problems: list[Problem] = []
        _index(node, (), doc.lines, problems, display, [0], loader)
        if problems:
            return None, problems
        doc.data = loader.construct_document(node)
        return doc, []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # At the end of the stream PyYAML points past the last newline: name the last line the file has.
        line = min(mark.line + 1, max(1, len(text.splitlines()))) if mark else None
        message = " ".join(str(part) for part in (exc.context, exc.problem) if part)
        if "could not determine a constructor" in message:
            message = f"tag not allowed (only plain YAML is accepted): {exc.problem}"
        return None, [Problem(display, line, "", f"invalid YAML: {message}")]
    except yaml.YAMLError as exc:
        return None, [Problem(display, None, "", f"invalid YAML: {exc}")]
    except RecursionError:
        return None, [Problem(display, None, "", "invalid YAML: nesting too deep")]
    finally:
        loader.dispose()


_PLAIN_INT = re.compile(r"-?[0-9]{1,18}")
_TYPED_SCALARS = {
    "tag:yaml.org,2002:int": "number",
    "tag:yaml.org,2002:float": "number",
    "tag:yaml.org,2002:timestamp": "date",
}


def _scalar(loader, node, path, problems, display) -> tuple[bool, object]:
    """Construct a typed scalar here, so a value YAML resolves but Python refuses (2026-02-30, an
    integer of 5,000 digits) is an error naming its line instead of a crash in construct_document.
    Constructed objects are cached by the loader and reused for the document."""
    kind = _TYPED_SCALARS.get(node.tag)
    if kind is None:
        return True, node.value
    try:
        return True, loader.construct_object(node)
    except (ValueError, OverflowError) as exc:
        shown = node.value if len(node.value) <= 40 else node.value[:20] + f"... ({len(node.value)} characters)"
        reason = str(exc).split(";")[0]
        problems.append(
            Problem(display, node.start_mark.line + 1, format_path(path), f"not a valid {kind}: {shown!r} ({reason})")
        )
        return False, None


def _index(node, path, lines, problems, display, count, loader) -> None:
    count[0] += 1
    if count[0] > MAX_NODES:
        if count[0] == MAX_NODES + 1:
            problems.append(
                Problem(
                    display,
                    node.start_mark.line + 1,
                    format_path(path),
                    f"document has more than {MAX_NODES} nodes (alias expansion?)",
                )
            )
        return
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[object, int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                key = repr(key_node.value)
            elif key_node.tag == "tag:yaml.org,2002:int" and _PLAIN_INT.fullmatch(key_node.value):
                key = int(key_node.value)  # tier numbers in the policy
            elif key_node.tag == "tag:yaml.org,2002:int":
                # 0x1 and 1:20 are YAML 1.1 integers (1 and 80): nobody means that in a key, so say so here.
                problems.append(
                    Problem(
                        display,
                        line,
                        format_path(path + (key_node.value,)),
                        f"key {key_node.value[:40]!r} is read by YAML 1.1 as a number; quote it or write a plain number",
                    )
                )
                continue
            else:
                key = key_node.value
            if key == "<<":
                _index(value_node, path, lines, problems, display, count, loader)
                continue
            if key in seen:
                problems.append(
                    Problem(
                        display, line, format_path(path + (key,)), f"duplicate key (first defined on line {seen[key]})"
                    )
                )
                continue
            seen[key] = line
            lines[path + (key,)] = line
            _index(value_node, path + (key,), lines, problems, display, count, loader)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _index(item, path + (index,), lines, problems, display, count, loader)
    elif isinstance(node, yaml.ScalarNode):
        _scalar(loader, node, path, problems, display)
