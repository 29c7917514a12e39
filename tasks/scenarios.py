"""The scenario library (runbooks/scenarios/*.yaml): validated like runbooks, file/line/field errors."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from datetime import timedelta

from pydantic import BeforeValidator, Field, StrictStr, ValidationError

from .catalog import translate_errors
from .errors import CatalogError, Problem
from .durations import parse_duration
from .models import Duration, Slug, Strict


def _offset(value: object) -> timedelta:
    """An inject's time into the exercise: like a duration, but 0 / 0m (the start) is allowed."""
    if value in (0, "0", "0s", "0m", "0h"):
        return timedelta(0)
    return parse_duration(value)


Offset = Annotated[timedelta, BeforeValidator(_offset)]
from .yaml_source import load_yaml

ROLES = ("sre", "dr_champion", "service_owner", "leadership")


class Questions(Strict):
    sre: list[StrictStr] = []
    dr_champion: list[StrictStr] = []
    service_owner: list[StrictStr] = []
    leadership: list[StrictStr] = []


class Inject(Strict):
    id: Slug
    at: Offset = timedelta(0)  # time into the exercise: 0m, 15m, 2h
    title: StrictStr
    description: StrictStr
    questions: Questions = Questions()


class BlastRadius(Strict):
    kind: Literal["zone", "region", "corruption", "dependency", "people"]
    corruption_age: Duration | None = None  # data-corruption: how long before detection the damage began
    dependency: Slug | None = None           # dependency-loss: which service fails (default: every Tier 0)
    # region-loss: the regions struck. Default: one, the region that hosts the most critical services'
    # primary resources (a run's --region overrides both).
    regions: list[StrictStr] = []


class Scenario(Strict):
    id: Slug
    name: StrictStr
    events: list[StrictStr] = []  # what it stands for: earthquake, fire, ransomware...
    narrative: StrictStr
    blast_radius: BlastRadius
    injects: Annotated[list[Inject], Field(min_length=1)]


def load_scenarios(runbooks_dir: Path | str) -> dict[str, Scenario]:
    directory = Path(runbooks_dir) / "scenarios"
    scenarios: dict[str, Scenario] = {}
    problems: list[Problem] = []
    first_file: dict[str, str] = {}
    for path in sorted(directory.glob("*.yaml")) if directory.is_dir() else []:
        doc, found = load_yaml(path)
        if not found and not isinstance(doc.data, dict):
            found = [Problem(doc.file, 1, "", "expected a mapping with id, name, narrative, blast_radius, injects")]
        if not found:
            try:
                scenario = Scenario.model_validate(doc.data)
            except ValidationError as exc:
                found = translate_errors(exc, doc, Scenario)
            else:
                ids = [inject.id for inject in scenario.injects]
                for index, inject_id in enumerate(ids):
                    if ids.index(inject_id) != index:
                        found.append(Problem(doc.file, doc.line_of(("injects", index, "id")), f"injects[{index}].id",
                                             f"duplicate inject id {inject_id!r}"))
                if scenario.id in first_file:
                    found.append(Problem(doc.file, doc.line_of(("id",)), "id",
                                         f"duplicate scenario id {scenario.id!r} (already defined in {first_file[scenario.id]})"))
                if not found:
                    scenarios[scenario.id] = scenario
                    first_file[scenario.id] = doc.file
        problems += found
    if problems:
        raise CatalogError(problems)
    return scenarios
