"""The scenario library (runbooks/scenarios/*.yaml): validated like runbooks, file/line/field errors."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from tasks.catalog.load import translate_errors
from tasks.catalog.scenario import Scenario
from tasks.catalog.yaml_source import load_yaml
from tasks.errors import CatalogError, Problem


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
                        found.append(
                            Problem(
                                doc.file,
                                doc.line_of(("injects", index, "id")),
                                f"injects[{index}].id",
                                f"duplicate inject id {inject_id!r}",
                            )
                        )
                if scenario.id in first_file:
                    found.append(
                        Problem(
                            doc.file,
                            doc.line_of(("id",)),
                            "id",
                            f"duplicate scenario id {scenario.id!r} (already defined in {first_file[scenario.id]})",
                        )
                    )
                if not found:
                    scenarios[scenario.id] = scenario
                    first_file[scenario.id] = doc.file
        problems += found
    if problems:
        raise CatalogError(problems)
    return scenarios
