"""YAML loading with safe_load semantics that remembers where every key and item came from.

The catalog's errors must name the line, so we compose the node graph once, record the line of each
mapping key and sequence item by path, refuse duplicate keys (safe_load silently keeps the last), and
construct the data with SafeLoader from the same nodes.
"""

from __future__ import annotations

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
        size = path.stat().st_size
        if size > MAX_BYTES:
            return None, [Problem(display, None, "", f"file is {size} bytes; the limit is {MAX_BYTES}")]
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(display, None, "", f"not UTF-8 text ({exc.reason})")]
    except OSError as exc:
        return None, [Problem(display, None, "", f"cannot read: {exc.strerror or exc}")]
    return parse_yaml(text, display)


def parse_yaml(text: str, display: str) -> tuple[YamlDocument | None, list[Problem]]:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(display, None, {(): 1}), []
        doc = YamlDocument(display, None)
        problems: list[Problem] = []
        _index(node, (), doc.lines, problems, display, [0])
        if problems:
            return None, problems
        doc.data = loader.construct_document(node)
        return doc, []
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
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


def _index(node, path, lines, problems, display, count) -> None:
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
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node.value)
            if key_node.tag == "tag:yaml.org,2002:int":
                key = int(key)
            line = key_node.start_mark.line + 1
            if key == "<<":
                _index(value_node, path, lines, problems, display, count)
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
            _index(value_node, path + (key,), lines, problems, display, count)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[path + (index,)] = item.start_mark.line + 1
            _index(item, path + (index,), lines, problems, display, count)
