"""The documentation review's decisions: completeness, currency, accuracy. Pure functions."""

from __future__ import annotations

from datetime import date
from typing import Any

from tasks.catalog.durations import format_duration
from tasks.catalog.policy import Policy
from tasks.catalog.runbook import Runbook
from tasks.catalog.types import InvalidRunbook
from tasks.evidence.findings import Check, CheckSet, Finding
from tasks.evidence.inventory import Observation

CHECKS = CheckSet(
    Check(
        "runbook.invalid",
        "high",
        "Runbook does not validate",
        "Fix the runbook so `dr validate` passes; until then nothing else about the service is checked.",
    ),
    Check(
        "runbook.owner_missing",
        "high",
        "No service owner named",
        "Name the service owner accountable for RTO/RPO in `owner`.",
    ),
    Check(
        "runbook.champion_missing", "medium", "No DR champion named", "Name the team's DR champion in `dr_champion`."
    ),
    Check(
        "runbook.procedure_missing",
        "high",
        "No restore procedure documented",
        "Write the ordered restore steps in `procedure`.",
    ),
    Check(
        "runbook.validation_missing",
        "medium",
        "No validation steps for restored copies",
        "Add `validation` steps (at least a status check) so restore tests can prove the copy works.",
    ),
    Check(
        "runbook.stale",
        "medium",
        "Runbook review overdue",
        "Review the runbook with the owner and update `documentation.last_reviewed`.",
    ),
    Check(
        "runbook.resource_not_found",
        "high",
        "Documented resource not found in AWS",
        "Correct the resource id/selector in the runbook, or restore the missing resource.",
    ),
    Check(
        "runbook.drift",
        "medium",
        "Runbook does not match the live configuration",
        "Either change the live configuration to what the runbook promises or correct the runbook.",
    ),
    Check(
        "runbook.not_assessed",
        "high",
        "Resource could not be assessed",
        "Grant the tool read access (see docs/safety.md) or fix the account's role mapping.",
    ),
    Check(
        "runbook.resources_missing",
        "high",
        "No resources documented",
        "List the service's databases, buckets, tables and volumes under `resources`.",
    ),
)
make_finding = CHECKS.make

REVIEW_CHECK_PREFIX = "runbook."


def invalid_runbook_finding(bad: InvalidRunbook) -> Finding:
    lines = "\n".join(f"- {problem}" for problem in bad.problems[:20])
    more = f"\n- ... and {len(bad.problems) - 20} more" if len(bad.problems) > 20 else ""
    return make_finding(
        "runbook.invalid",
        service=bad.service,
        tier=bad.tier,
        detail=f"{bad.file} has {len(bad.problems)} problem(s):\n{lines}{more}",
        evidence={"file": bad.file, "problems": [str(p) for p in bad.problems]},
    )


def check_completeness(runbook: Runbook, policy: Policy) -> list[Finding]:
    found = []

    def gap(check: str, detail: str) -> None:
        found.append(make_finding(check, service=runbook.service, tier=runbook.tier, detail=detail))

    if not (runbook.owner or "").strip():
        gap("runbook.owner_missing", "The runbook names no service owner.")
    if not (runbook.dr_champion or "").strip():
        gap("runbook.champion_missing", "The runbook names no DR champion.")
    if not [step for step in runbook.procedure if step.strip()]:
        gap("runbook.procedure_missing", "The runbook has no restore procedure steps.")
    if runbook.tier in policy.review_tiers_requiring_validation and not runbook.validation:
        gap(
            "runbook.validation_missing",
            f"Tier {runbook.tier} runbooks must list validation steps for restored copies; this one has none.",
        )
    if not runbook.resources:
        gap("runbook.resources_missing", "The runbook documents no AWS resources.")
    return found


def check_currency(runbook: Runbook, policy: Policy, today: date) -> list[Finding]:
    cadence = policy.tier(runbook.tier).review_every
    reviewed = runbook.documentation.last_reviewed if runbook.documentation else None
    evidence: dict[str, object] = {
        "last_reviewed": reviewed.isoformat() if reviewed else None,
        "review_every_days": cadence.days,
        "as_of": today.isoformat(),
    }
    if reviewed is None:
        detail = "The runbook has never been reviewed (no documentation.last_reviewed)."
    elif reviewed > today:
        detail = f"documentation.last_reviewed is {reviewed}, a date in the future."
    else:
        age = (today - reviewed).days
        if age <= cadence.days:
            return []
        due = reviewed + cadence
        detail = (
            f"Last reviewed {reviewed} ({age} days ago); Tier {runbook.tier} runbooks are reviewed "
            f"every {cadence.days} days, so the review was due {due}."
        )
        evidence["age_days"] = age
    return [make_finding("runbook.stale", service=runbook.service, tier=runbook.tier, detail=detail, evidence=evidence)]


def check_accuracy(runbook: Runbook, observation: Observation) -> list[Finding]:
    spec, found = observation.spec, []
    if observation.errors:
        found.append(
            make_finding(
                "runbook.not_assessed",
                service=runbook.service,
                tier=runbook.tier,
                resource=spec.label(),
                detail=f"resources[{observation.index}] could not be read: " + "; ".join(observation.errors),
                evidence={"errors": observation.errors},
            )
        )
    if not observation.members and not observation.errors:
        tags = spec.select.tags if spec.select else {}
        what = (
            f"No {spec.kind.value} matches tags {tags} in {', '.join(spec.all_regions())}"
            if spec.is_fleet
            else f"{spec.kind.value} {spec.id!r} does not exist in {spec.region}"
        )
        found.append(
            make_finding(
                "runbook.resource_not_found",
                service=runbook.service,
                tier=runbook.tier,
                resource=spec.label(),
                detail=what + f" (resources[{observation.index}]).",
                evidence={"kind": spec.kind.value, "regions": spec.all_regions()},
            )
        )
    for member in observation.members:
        for attribute, documented in sorted(spec.expect.declared().items()):
            live = member.attrs.get(attribute)
            if _matches(attribute, documented, live):
                continue
            found.append(
                make_finding(
                    "runbook.drift",
                    service=runbook.service,
                    tier=runbook.tier,
                    resource=member.key,
                    subject=attribute,
                    detail=(
                        f"{member.kind} {member.id} ({member.region}): {attribute} is documented as "
                        f"{_show(attribute, documented)} but is {_show(attribute, live)} live."
                    ),
                    evidence={"attribute": attribute, "documented": _plain(documented), "live": _plain(live)},
                )
            )
    return found


def _matches(attribute: str, documented: Any, live: Any) -> bool:
    if attribute == "copy_regions":
        return bool(set(documented or []) <= set(live or []))
    if attribute == "replication_to":
        return bool(documented in (live or []))
    if attribute == "snapshot_max_age":
        return live is not None and bool(live <= documented.total_seconds())
    return bool(documented == live)


def _plain(value: Any) -> object:
    if hasattr(value, "total_seconds"):
        return value.total_seconds()
    return sorted(value) if isinstance(value, (set, frozenset)) else value


def _show(attribute: str, value: Any) -> str:
    if value is None:
        return "absent" if attribute != "snapshot_max_age" else "no snapshot"
    if attribute == "snapshot_max_age":
        return format_duration(value) if hasattr(value, "total_seconds") else f"{format_duration(value)} old"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple, set)):
        return "[" + ", ".join(sorted(map(str, value))) + "]" if value else "none"
    return str(value)


def review_runbook(runbook: Runbook, policy: Policy, observations: list[Observation], today: date) -> list[Finding]:
    findings = check_completeness(runbook, policy) + check_currency(runbook, policy, today)
    for observation in observations:
        findings += check_accuracy(runbook, observation)
    return findings
