"""What a run would do, worked out without Prefect: the command line's `--dry-run` prints these (no server
started or contacted) and the flows' own `dry_run` returns the same."""

from __future__ import annotations

import logging
from datetime import datetime

from tasks.aws.clients import AwsClients
from tasks.aws.observe import observe
from tasks.catalog.runbook import Runbook
from tasks.evidence.records import RunRecord
from tasks.rules.restore_plan import (
    MODES,
    RestoreTarget,
    choose_members,
    copy_regions_for,
    parse_sample,
    sample_size,
    targets_for_member,
)

ALL_TIERS = [0, 1, 2, 3]
LOG = logging.getLogger("flows.plans")


def review_plan(catalog, tiers: list[int] | None, services: list[str] | None) -> dict:
    from tasks.catalog.load import select_services

    tiers = sorted(set(tiers if tiers is not None else catalog.policy.review_tiers))
    valid, invalid = select_services(catalog, tiers, services)
    return {
        "dry_run": True,
        "tiers": tiers,
        "services": {rb.service: [spec.label() for spec in rb.resources] for rb in valid},
        "invalid": {bad.service: [str(p) for p in bad.problems] for bad in invalid},
    }


def audit_plan(catalog, tiers: list[int] | None, services: list[str] | None) -> dict:
    from tasks.catalog.load import select_services

    tiers = sorted(set(tiers if tiers is not None else ALL_TIERS))
    valid, invalid = select_services(catalog, tiers, services)
    return {
        "dry_run": True,
        "tiers": tiers,
        "services": {rb.service: [spec.label() for spec in rb.resources] for rb in valid},
    }


def sample_note(service: str, label: str, total: int, requested: int, chosen: int, rotation_quarters: int) -> str:
    return (
        f"{service} {label}: --sample asks for {requested} of {total}; testing {chosen} so every member is "
        f"tested within the policy's {rotation_quarters}-quarter rotation (restore.rotation_quarters)"
    )


def plan_targets(
    valid: list[Runbook],
    catalog,
    clients: AwsClients,
    sample: str | None,
    history: dict[str, datetime],
    restore_time: datetime | None,
    logger=LOG,
    fleets: dict[str, list[str]] | None = None,
    notes: list[str] | None = None,
) -> list[tuple[RestoreTarget, Runbook]]:
    """Every restore the selection asks for; `notes` gets one line per fleet whose sample the rotation raised."""
    parsed = parse_sample(sample)
    rotation = catalog.policy.restore.rotation_quarters
    planned = []
    for runbook in valid:
        for index, spec in enumerate(runbook.resources):
            if spec.kind.value not in MODES:
                continue
            observation = observe(spec, index, clients, wanted=set())
            for error in observation.errors:
                logger.warning("%s: cannot list %s: %s", runbook.service, spec.label(), error)
            members = observation.members
            if not members and notes is not None:
                # Said, not skipped silently: the review files the gap, the restore test names what it left out.
                why = (
                    "could not be read"
                    if observation.errors
                    else ("matched nothing in AWS" if spec.is_fleet else "was not found in AWS")
                )
                notes.append(f"{runbook.service}: {spec.label()} {why}; nothing of it restored")
            if spec.is_fleet and fleets is not None:
                # Every member seen, tested or not: the dashboard's fleet coverage is measured against it.
                fleets[f"{runbook.service}|{spec.label()}"] = sorted(m.key for m in members)
            if spec.is_fleet:
                count = sample_size(len(members), parsed, rotation, runbook.tier, catalog.policy)
                asked = sample_size(len(members), parsed, rotation, -1, catalog.policy)  # without the rotation
                if count > asked:
                    note = sample_note(runbook.service, spec.label(), len(members), asked, count, rotation)
                    logger.info("%s", note)
                    if notes is not None:
                        notes.append(note)
                members = choose_members(members, count, history)
            regions = copy_regions_for(runbook, spec.expect.copy_regions)
            for member in members:
                planned += [
                    (t, runbook) for t in targets_for_member(runbook, catalog.policy, member, regions, restore_time)
                ]
    return planned


def last_tested(records: list[RunRecord]) -> dict[str, datetime]:
    tested: dict[str, datetime] = {}
    for record in records:
        for m in record.measurements:
            if m.status not in ("no_recovery_point", "preflight_failed"):
                tested[m.resource] = max(tested.get(m.resource, m.started_at), m.started_at)
    return tested


def invalid_notes(invalid) -> list[str]:
    """Say which services in scope are left out because their runbook is invalid (not silently skipped)."""
    return [
        f"{bad.service}: not restored, its runbook is invalid ({len(bad.problems)} problem(s); `dr validate` lists them)"
        for bad in invalid
    ]


def restore_plan(
    catalog,
    tiers: list[int] | None,
    services: list[str] | None,
    sample: str | None,
    restore_time: datetime | None,
    evidence: str,
    clients: AwsClients | None = None,
    logger=LOG,
) -> dict:
    """Reads AWS (to list fleets) and the local evidence history (for the rotation); changes nothing."""
    from tasks.actions.restore import FLOW
    from tasks.aws.identity import accounts_of, require_some, resolve
    from tasks.catalog.load import select_services
    from tasks.evidence.store import load_history, open_store

    tiers = sorted(set(tiers if tiers is not None else catalog.policy.review_tiers))
    valid, invalid = select_services(catalog, tiers, services)
    if clients is None:
        clients = AwsClients(accounts=dict(catalog.policy.accounts))
        require_some(resolve(clients, accounts_of(valid)))
    history = last_tested(load_history(open_store(evidence), FLOW)) if not evidence.startswith("s3://") else {}
    notes = invalid_notes(invalid)
    planned = plan_targets(valid, catalog, clients, sample, history, restore_time, logger, notes=notes)
    plan = [
        {
            "service": t.service,
            "resource": t.resource,
            "kind": t.kind,
            "mode": t.mode,
            "region": t.region,
            "instance_class": t.instance_class,
            "rto_target_seconds": t.rto_target_seconds,
            "then": "validate, delete the copy, confirm deletion",
        }
        for t, _ in planned
    ]
    return {"dry_run": True, "tiers": tiers, "restores": plan, "notes": notes}


def sweep_plan(regions: list[str] | None, runbooks: str, policy: str | None, evidence: str) -> dict:
    """The copies a sweep would delete now (reads only)."""
    from flows.sweeping import sweep, sweep_pairs
    from tasks.aws.identity import require_some, resolve
    from tasks.catalog.load import load_catalog

    catalog = load_catalog(runbooks, policy)
    clients = AwsClients(accounts=dict(catalog.policy.accounts))
    pairs = sweep_pairs(catalog, regions)
    require_some(resolve(clients, {account for account, _ in pairs}))
    return sweep(clients, pairs, evidence, dry_run=True, logger=LOG)
