"""TODO docstring."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, StrictStr

from tasks.catalog.durations import parse_duration
from tasks.catalog.runbook import Duration, Slug, Strict


def _offset(value: object) -> timedelta:
    """An inject's time into the exercise: like a duration, but 0 / 0m (the start) is allowed."""
    if value in (0, "0", "0s", "0m", "0h"):
        return timedelta(0)
    return parse_duration(value)


Offset = Annotated[timedelta, BeforeValidator(_offset)]


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
    dependency: Slug | None = None  # dependency-loss: which service fails (default: every Tier 0)
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
