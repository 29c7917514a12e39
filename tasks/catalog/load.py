"""Load and validate the service catalog: runbooks/*.yaml plus the tier policy.

Every problem names the file, the line and the field and says what was expected; all problems are
collected (not just the first). An invalid runbook does not stop the others: the review turns it into
a `runbook.invalid` finding for that service.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from tasks.catalog.durations import format_duration
from tasks.catalog.policy import POLICY_FILENAME, Policy, merged_tiers
from tasks.catalog.runbook import Runbook
from tasks.catalog.types import Catalog, InvalidRunbook
from tasks.catalog.yaml_source import YamlDocument, format_path, load_yaml
from tasks.errors import CatalogError, ConfigError, Problem

SCENARIOS_DIR = "scenarios"


def runbook_files(runbooks_dir: Path, policy_file: Path | None = None) -> list[Path]:
    skip = {(policy_file or runbooks_dir / POLICY_FILENAME).resolve()}
    scenarios = (runbooks_dir / SCENARIOS_DIR).resolve()
    files = []
    for path in sorted(runbooks_dir.rglob("*.yaml")):
        resolved = path.resolve()
        if resolved in skip or scenarios in resolved.parents:
            continue
        files.append(path)
    return files


def load_policy(path: Path | None) -> Policy:
    """The policy file is optional; without one the program's defaults apply. Invalid is fatal."""
    if path is None or not path.exists():
        return Policy()
    doc, problems = load_yaml(path)
    if problems:
        raise CatalogError(problems)
    data = doc.data if doc.data is not None else {}
    if not isinstance(data, dict):
        raise CatalogError([Problem(doc.file, 1, "", "expected a mapping of policy settings")])
    if isinstance(data.get("tiers"), dict):
        data = {**data, "tiers": merged_tiers(data["tiers"])}
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise CatalogError(translate_errors(exc, doc, Policy)) from None


def load_catalog(runbooks_dir: Path | str, policy_file: Path | str | None = None) -> Catalog:
    runbooks_dir = Path(runbooks_dir)
    if not runbooks_dir.is_dir():
        raise CatalogError([Problem(str(runbooks_dir), None, "", "runbooks directory not found")])
    policy_path = Path(policy_file) if policy_file else runbooks_dir / POLICY_FILENAME
    if policy_file and not policy_path.exists():
        raise CatalogError([Problem(str(policy_path), None, "", "policy file not found")])
    catalog = Catalog(policy=load_policy(policy_path))
    docs: dict[str, YamlDocument] = {}
    for path in runbook_files(runbooks_dir, policy_path):
        display = str(path)
        doc, problems = load_yaml(path, display)
        runbook = None
        if not problems:
            runbook, problems = _validate_runbook(doc)
            if problems:
                # Everything wrong with the file in one pass: the tier checks too, not after the next fix.
                problems += _looser_targets(doc.data, catalog.policy, doc)
        if problems:
            catalog.invalid.append(InvalidRunbook(display, _guess_service(doc, path), _guess_tier(doc), problems))
            continue
        if runbook.service in catalog.runbooks:
            first = catalog.files[runbook.service]
            catalog.invalid.append(
                InvalidRunbook(
                    display,
                    runbook.service,
                    runbook.tier,
                    [
                        Problem(
                            display,
                            doc.line_of(("service",)),
                            "service",
                            f"duplicate service id {runbook.service!r} (already defined in {first})",
                        )
                    ],
                )
            )
            continue
        catalog.runbooks[runbook.service] = runbook
        catalog.files[runbook.service] = display
        docs[runbook.service] = doc
    _check_cross_file(catalog, docs)
    return catalog


def select_services(
    catalog: Catalog, tiers: list[int], services: list[str] | None
) -> tuple[list[Runbook], list[InvalidRunbook]]:
    """Valid runbooks and invalid files in scope; an invalid file whose tier is unreadable is kept."""
    known = set(catalog.runbooks) | {bad.service for bad in catalog.invalid}
    unknown = sorted(set(services or []) - known)
    if unknown:
        raise ConfigError(f"unknown service(s): {', '.join(unknown)} (not in the catalog)")
    wanted = set(services or known)
    valid = [rb for s, rb in sorted(catalog.runbooks.items()) if s in wanted and rb.tier in tiers]
    invalid = [bad for bad in catalog.invalid if bad.service in wanted and (bad.tier is None or bad.tier in tiers)]
    return valid, invalid


def require_valid(catalog: Catalog) -> Catalog:
    if catalog.invalid:
        raise CatalogError(catalog.problems)
    return catalog


def _validate_runbook(doc: YamlDocument) -> tuple[Runbook | None, list[Problem]]:
    if not isinstance(doc.data, dict):
        kind = "an empty file" if doc.data is None else type(doc.data).__name__
        return None, [
            Problem(doc.file, doc.line_of(()), "", f"expected a mapping with service, name, tier...; got {kind}")
        ]
    try:
        return Runbook.model_validate(doc.data), []
    except ValidationError as exc:
        return None, translate_errors(exc, doc, Runbook)


def _looser_target(name: str, value: timedelta, tier: int, policy: Policy) -> str | None:
    tier_policy = policy.tiers.get(tier)
    limit: timedelta | None = getattr(tier_policy, name) if tier_policy else None
    if limit is None or value <= limit:
        return None
    return (
        f"{format_duration(value)} is looser than tier {tier}'s {name.upper()} of {format_duration(limit)}; "
        "targets may only be stricter than the tier's"
    )


def _looser_targets(data: object, policy: Policy, doc: YamlDocument) -> list[Problem]:
    """The tier check on the raw document of a runbook that failed validation elsewhere (values it cannot
    read are left to the schema's own messages)."""
    from tasks.catalog.durations import parse_duration

    if not isinstance(data, dict) or not isinstance(data.get("targets"), dict) or type(data.get("tier")) is not int:
        return []
    problems = []
    for name in ("rpo", "rto"):
        try:
            value = parse_duration(data["targets"].get(name))
        except ValueError:
            continue
        message = _looser_target(name, value, data["tier"], policy)
        if message:
            path = ("targets", name)
            problems.append(Problem(doc.file, doc.line_of(path), format_path(path), message))
    return problems


def _check_cross_file(catalog: Catalog, docs: dict[str, YamlDocument]) -> None:
    bad: dict[str, list[Problem]] = {}

    def flag(service: str, path: tuple, message: str) -> None:
        doc = docs[service]
        bad.setdefault(service, []).append(Problem(doc.file, doc.line_of(path), format_path(path), message))

    known = set(catalog.runbooks) | {b.service for b in catalog.invalid}
    for service, runbook in catalog.runbooks.items():
        for index, dep in enumerate(runbook.dependencies):
            if dep not in known:
                flag(service, ("dependencies", index), f"unknown dependency {dep!r} (no runbook has that service id)")
            elif dep == service:
                flag(service, ("dependencies", index), "a service cannot depend on itself")
        tier = catalog.policy.tiers.get(runbook.tier)
        if tier is None:
            flag(service, ("tier",), f"the policy defines no tier {runbook.tier}")
            continue
        for name in ("rpo", "rto"):
            value: timedelta | None = getattr(runbook.targets, name, None) if runbook.targets else None
            message = _looser_target(name, value, runbook.tier, catalog.policy) if value is not None else None
            if message:
                flag(service, ("targets", name), message)
    for cycle in _cycles(
        {s: [d for d in r.dependencies if d in catalog.runbooks and d != s] for s, r in catalog.runbooks.items()}
    ):
        chain = " -> ".join(cycle + [cycle[0]])
        for service in cycle:
            index = catalog.runbooks[service].dependencies.index(cycle[(cycle.index(service) + 1) % len(cycle)])
            flag(service, ("dependencies", index), f"circular dependency: {chain}")
    for service, problems in bad.items():
        runbook = catalog.runbooks.pop(service)
        catalog.invalid.append(InvalidRunbook(catalog.files.pop(service), service, runbook.tier, problems))


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each elementary cycle once (found by DFS back edges; enough to name every service in a cycle)."""
    cycles, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "active"
        stack.append(node)
        for nxt in graph.get(node, []):
            if state.get(nxt) == "active":
                cycles.append(stack[stack.index(nxt) :])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def _guess_service(doc: YamlDocument | None, path: Path) -> str:
    data = doc.data if doc else None
    if isinstance(data, dict) and isinstance(data.get("service"), str) and data["service"].strip():
        return data["service"].strip()
    return path.stem


def _guess_tier(doc: YamlDocument | None) -> int | None:
    data = doc.data if doc else None
    tier = data.get("tier") if isinstance(data, dict) else None
    return tier if isinstance(tier, int) and not isinstance(tier, bool) and 0 <= tier <= 3 else None


# --- pydantic errors -> Problems --------------------------------------------------------------------


def translate_errors(exc: ValidationError, doc: YamlDocument, model: type[BaseModel]) -> list[Problem]:
    problems = set()
    for error in exc.errors(include_url=False):
        loc = _data_path(error["loc"])
        problems.add(Problem(doc.file, doc.line_of(loc), format_path(loc), _message(error, model, loc)))
    return sorted(problems)


def _data_path(loc: tuple) -> tuple:
    # pydantic adds validator names for unions/annotated types ("list[str]", "function-before[...]").
    return tuple(part for part in loc if isinstance(part, int) or ("[" not in part and "(" not in part))


def _message(error: dict[str, Any], model: type[BaseModel], loc: tuple) -> str:
    kind, got = error["type"], error.get("input")
    field = str(loc[-1]) if loc else ""
    if field == "account" and kind in ("string_type", "string_pattern_mismatch"):
        return f'expected a 12-digit AWS account id in quotes ("123456789012"), got {_describe(got)}'
    if field == "fis_template" and kind == "string_pattern_mismatch":
        return f"expected an AWS FIS experiment template id (1-64 characters, no spaces), got {got!r}"
    if field == "tier" and kind in ("int_type", "less_than_equal", "greater_than_equal"):
        return f"expected a tier from 0 to 3, got {_describe(got)}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_fields(model, loc[:-1])
        hint = f" (allowed: {', '.join(allowed)})" if allowed else ""
        return f"unknown field {loc[-1]!r}{hint}"
    if kind == "value_error":
        return str(error["ctx"]["error"]) if "ctx" in error else error["msg"]
    if kind == "string_pattern_mismatch":
        return f"expected a lowercase slug (letters, digits, dashes), got {got!r}"
    if kind in ("string_type",):
        return f"expected text, got {_describe(got)}"
    if kind in ("int_type", "int_parsing"):
        return f"expected a whole number, got {_describe(got)}"
    if kind == "bool_type":
        return f"expected true or false, got {_describe(got)}"
    if kind in ("list_type",):
        return f"expected a list, got {_describe(got)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping, got {_describe(got)}"
    if kind in ("date_type", "date_parsing", "date_from_datetime_parsing"):
        return f"expected a date like 2026-09-01, got {_describe(got)}"
    if kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        return f"{error['msg'].lower()}, got {got!r}"
    if kind in ("literal_error", "enum"):
        return f"{error['msg'].replace('Input should be', 'expected')}, got {_describe(got)}"
    if kind == "too_short":
        return "must not be empty"
    return f"{error['msg']} (got {_describe(got)})"


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'}"
    return f"{value!r}"


def _allowed_fields(model: type[BaseModel], loc: tuple) -> list[str]:
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        if not (isinstance(current, type) and issubclass(current, BaseModel)) or part not in current.model_fields:
            return []
        current = _model_in(current.model_fields[part].annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return sorted(current.model_fields)
    return []


def _model_in(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) is not None or get_args(annotation):
        for arg in get_args(annotation):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
