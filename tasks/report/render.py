"""Render reports from templates/: autoescaped HTML and Markdown, undefined names are errors."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import lru_cache

from jinja2 import Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined, select_autoescape

from tasks.catalog.durations import format_duration
from tasks.report.groups import group_paths, row_reasons
from tasks.report.markup import inline_html, inline_markdown
from tasks.rules.digest import by_severity
from tasks.shipped import shipped

TEMPLATES_DIR = shipped("templates")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|])")


def md_escape(value: object) -> str:
    """Markdown that a wiki renders as the text it is: no HTML, no links, no table breaks."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("\r", "").replace("\n", "<br>")


def md_lines(value: object) -> str:
    """Text of several lines (a narrative, a summary with "- " items) as Markdown, each line escaped as
    md_escape does (no <br>): lines of prose stay one paragraph, "- " lines a list, with a blank line where
    one turns into the other (a prose line right under a list item would render inside it)."""
    out, previous = [], None
    for line in ("" if value is None else str(value)).splitlines():
        if not line.strip():
            continue
        item = line.startswith("- ")
        if previous is not None:
            out.append("\n" if item == previous else "\n\n")
        out.append(("- " + md_escape(line[2:])) if item else md_escape(line))
        previous = item
    return "".join(out)


def _when(value: object) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


def _day(value: object) -> str:
    if value is None:
        return "never"
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d")
    return str(value)


def _pct(value: object, digits: int = 0) -> str:
    return "n/a" if value is None else f"{float(value) * 100:.{digits}f}%"


_CARRIED_LABELS = {
    "db_parameter_group": "parameter group",
    "db_cluster_parameter_group": "cluster parameter group",
    "writer_db_parameter_group": "writer's parameter group",
    "option_group": "option group",
}


def carried(configuration: dict[str, object] | None) -> str:
    """A measurement's `configuration` in a line: what the copy carried of its source (restore reports)."""
    if not configuration:
        return ""
    parts = [f"{label} {configuration[key]}" for key, label in _CARRIED_LABELS.items() if configuration.get(key)]
    storage = [str(configuration["storage_type"])] if configuration.get("storage_type") else []
    if configuration.get("iops"):
        storage.append(f"{configuration['iops']} IOPS")
    if configuration.get("throughput"):
        storage.append(f"{configuration['throughput']} MiB/s")
    if storage:
        parts.append("storage " + " ".join(storage))
    if configuration.get("kms_key"):
        parts.append(f"KMS key {configuration['kms_key']}")
    overridden = configuration.get("overridden")
    if isinstance(overridden, dict) and overridden:
        parts.append(
            "policy replaced " + ", ".join(f"{_CARRIED_LABELS.get(k, k)} {v}" for k, v in sorted(overridden.items()))
        )
    return "; ".join(parts)


def _bytecode_cache() -> FileSystemBytecodeCache | None:
    """Compiled templates kept between runs (a per-user directory under the system's temp dir, checked
    against each template's source): compiling them cost a dashboard render 0.1-0.2 s."""
    try:
        return FileSystemBytecodeCache()
    except (OSError, RuntimeError):  # no usable temp directory: compile each time
        return None


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        bytecode_cache=_bytecode_cache(),
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["md"] = md_escape
    env.filters["md_lines"] = md_lines
    env.filters["when"] = _when
    env.filters["duration"] = format_duration
    env.filters["day"] = _day
    env.filters["pct"] = _pct
    env.filters["carried"] = carried
    env.filters["inline"] = inline_html  # our remediation texts' code and emphasis
    env.filters["md_inline"] = lambda v: inline_markdown(v, md_escape)
    env.filters["by_severity"] = by_severity
    env.filters["group_paths"] = group_paths
    env.filters["row_reasons"] = row_reasons
    return env


def render(template: str, **context: object) -> str:
    return environment().get_template(template).render(**context)
