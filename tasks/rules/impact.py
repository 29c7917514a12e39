"""Impact analysis for a DR scenario, pure: who is hit, which recovery path applies, whether it meets
the targets. Expectations come from the latest measured restores where there are any, else the policy."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from tasks.catalog.durations import format_duration
from tasks.catalog.policy import IN_REGION, REGION, Policy
from tasks.catalog.runbook import Runbook
from tasks.catalog.scenario import Scenario
from tasks.evidence.findings import Check, CheckSet, Finding
from tasks.evidence.inventory import LiveResource, Observation
from tasks.evidence.records import Measurement

CHECKS = CheckSet(
    Check(
        "simulation.unrecoverable",
        "high",
        "Service cannot meet its targets in a DR scenario",
        "Close the gap named in the reason (Multi-AZ, a cross-region copy, PITR, a faster dependency, an "
        "executable runbook) and re-run the simulation.",
    ),
    Check(
        "simulation.action_item",
        "medium",
        "DR simulation action item",
        "Agreed in the tabletop exercise; the owner named in the item follows it up.",
    ),
)
make_finding = CHECKS.make


@dataclass
class ResourceImpact:
    resource: str
    kind: str
    path: str | None  # None: no recovery path
    rto_seconds: float | None = None
    rpo_seconds: float | None = None  # None: data loss not judged (inherent to the scenario)
    source: str = "policy"  # measured | policy | live
    reason: str | None = None  # why there is no path, or why the figures miss the target


@dataclass
class ServiceImpact:
    service: str
    tier: int
    affected: bool
    strike: str
    rto_target_seconds: float
    rpo_target_seconds: float
    resources: list[ResourceImpact] = field(default_factory=list)
    assessed: bool = True

    @property
    def expected_rto(self) -> float | None:
        values = [r.rto_seconds for r in self.resources if r.rto_seconds is not None]
        return max(values) if values else None

    @property
    def expected_rpo(self) -> float | None:
        values = [r.rpo_seconds for r in self.resources if r.rpo_seconds is not None]
        return max(values) if values else None

    @property
    def reasons(self) -> list[str]:
        out = [r.reason for r in self.resources if r.reason]
        if self.expected_rto is not None and self.expected_rto > self.rto_target_seconds:
            out.append(
                f"expected recovery {format_duration(self.expected_rto)} is over the RTO target "
                f"{format_duration(self.rto_target_seconds)}"
            )
        if self.expected_rpo is not None and self.expected_rpo > self.rpo_target_seconds:
            out.append(
                f"expected data loss {format_duration(self.expected_rpo)} is over the RPO target "
                f"{format_duration(self.rpo_target_seconds)}"
            )
        return list(dict.fromkeys(out))

    @property
    def recoverable(self) -> bool:
        return not self.affected or (self.assessed and not self.reasons)

    @property
    def status(self) -> str:
        if not self.affected:
            return "unaffected"
        if not self.assessed:
            return "not_assessed"
        return "recoverable" if self.recoverable else "unrecoverable"


def targets(runbook: Runbook, policy: Policy, disruption: str = IN_REGION) -> tuple[float, float]:
    """The service's RTO and RPO targets in seconds for a disruption (a lost region has its own, looser)."""
    rto, rpo = policy.targets_for(runbook, disruption)
    return rto.total_seconds(), rpo.total_seconds()


# (resource key, restore mode) -> the latest measured restore
Measured = dict[tuple[str, str], Measurement]


def latest_measurements(history: list[list[Measurement]]) -> dict[tuple[str, str], Measurement]:
    """(resource, mode) -> newest successful measurement across completed restore-test runs."""
    latest: dict[tuple[str, str], Measurement] = {}
    for run in history:
        for m in run:
            if m.status == "passed" and m.rto_seconds is not None:
                key = (m.resource, m.mode)
                if key not in latest or latest[key].started_at <= m.started_at:
                    latest[key] = m
    return latest


def primary_region(runbook: Runbook) -> str | None:
    return runbook.resources[0].all_regions()[0] if runbook.resources else None


def struck_regions(
    scenario: Scenario, runbooks: dict[str, Runbook], selected: list[str], region: str | None = None
) -> list[str]:
    """The regions a region-loss strikes: the run's --region, else the scenario's `regions`, else one
    region: where the most Tier 0 (then Tier 0/1, then any) services have their primary resources."""
    if region:
        return [region]
    if scenario.blast_radius.regions:
        return list(scenario.blast_radius.regions)
    weight: dict[str, list[int]] = {}
    for service in selected:
        runbook = runbooks[service]
        home = primary_region(runbook)
        if home:
            counts = weight.setdefault(home, [0, 0, 0])
            counts[0] += runbook.tier == 0
            counts[1] += runbook.tier in (0, 1)
            counts[2] += 1
    ranked = sorted(weight, key=lambda r: (-weight[r][0], -weight[r][1], -weight[r][2], r))
    return ranked[:1]


def struck_zone(
    scenario: Scenario,
    runbooks: dict[str, Runbook],
    selected: list[str],
    live: dict[str, list[Observation]],
    zone: str | None = None,
    region: str | None = None,
) -> tuple[str | None, str | None]:
    """(region, zone) an az-loss strikes: one zone, as its narrative says. The run's --zone (its region named
    by --region or read from the zone's name), else in the run's --region or the region a region-loss would
    strike, the zone holding zonal resources of the most Tier 0 (then Tier 0/1, then any) services."""
    if zone:
        return region or zone.rstrip("abcdefghijklmnopqrstuvwxyz"), zone
    home = region or next(iter(struck_regions(scenario, runbooks, selected)), None)
    weight: dict[str, list[int]] = {}
    for service in selected:
        tier = runbooks[service].tier
        zones: set[str] = {
            str(m.attrs["availability_zone"])
            for obs in live.get(service, [])
            for m in obs.members
            if m.region == home and m.attrs.get("availability_zone")
        }
        for az in zones:
            counts = weight.setdefault(az, [0, 0, 0])
            counts[0] += tier == 0
            counts[1] += tier in (0, 1)
            counts[2] += 1
    ranked = sorted(weight, key=lambda z: (-weight[z][0], -weight[z][1], -weight[z][2], z))
    return home, (ranked[0] if ranked else None)


def _restore(
    member: LiveResource,
    modes: tuple[str, ...],
    measured: Measured,
    policy: Policy,
    path: str,
    rpo_default: float | None,
) -> ResourceImpact:
    for mode in modes:
        m = measured.get((member.key, mode))
        if m is not None:
            return ResourceImpact(
                member.key,
                member.kind,
                path,
                m.rto_seconds,
                m.rpo_seconds if rpo_default is not None else None,
                "measured",
            )
    return ResourceImpact(
        member.key, member.kind, path, policy.simulation.restore_estimate.total_seconds(), rpo_default, "policy"
    )


def _zone_loss(
    runbook: Runbook, member: LiveResource, measured: Measured, policy: Policy, zone: str
) -> ResourceImpact | None:
    zonal = member.kind in ("rds_instance", "ebs_volume")
    if member.kind in ("s3_bucket", "dynamodb_table"):
        return None  # regional services survive a zone
    if zonal and zone and member.attrs.get("availability_zone") not in (zone, None):
        return None
    failover = policy.simulation.multi_az_failover.total_seconds()
    if member.kind in ("rds_instance", "rds_cluster"):
        if member.attrs.get("multi_az"):
            return ResourceImpact(member.key, member.kind, "Multi-AZ failover", failover, 0.0, "policy")
        if policy.needs_multi_az(runbook.tier):
            return ResourceImpact(
                member.key,
                member.kind,
                None,
                reason=f"{member.id} is single-AZ (Tier {runbook.tier} must survive a zone loss without a restore)",
            )
        if not member.attrs.get("backup_retention_days"):
            return ResourceImpact(member.key, member.kind, None, reason=f"{member.id} is single-AZ with no backups")
        return _restore(
            member,
            ("pitr-latest", "snapshot"),
            measured,
            policy,
            "point-in-time restore in another zone",
            policy.simulation.pitr_rpo.total_seconds(),
        )
    age = member.attrs.get("snapshot_age_seconds")
    if age is None:
        return ResourceImpact(member.key, member.kind, None, reason=f"{member.id} has no snapshot to restore from")
    impact = _restore(member, ("snapshot",), measured, policy, "volume from the newest snapshot in another zone", age)
    impact.rpo_seconds = age  # what is lost is what was written since the newest snapshot
    return impact


def _region_loss(runbook: Runbook, member: LiveResource, measured: Measured, policy: Policy) -> ResourceImpact:
    copies = member.attrs.get("copy_regions") or []
    if member.kind == "s3_bucket":
        if member.attrs.get("replication_to"):
            return ResourceImpact(
                member.key,
                member.kind,
                f"serve from replica {member.attrs['replication_to'][0]}",
                policy.simulation.replica_switch.total_seconds(),
                policy.simulation.replica_rpo.total_seconds(),
                "policy",
            )
        return ResourceImpact(
            member.key, member.kind, None, reason=f"{member.id} has no cross-region copy (no replication)"
        )
    if not copies:
        return ResourceImpact(member.key, member.kind, None, reason=f"{member.id} has no cross-region copy")
    how = (member.attrs.get("copy_mechanisms") or {}).get(copies[0]) or ""
    backup_copy = how.startswith("AWS Backup")
    what = how if backup_copy else "copy"
    impact = _restore(member, ("snapshot-dr",), measured, policy, f"restore the {what} in {copies[0]}", None)
    m = measured.get((member.key, "snapshot-dr"))
    # An AWS Backup copy the restore test does not restore yet: what is lost is at least its age.
    fallback = (member.attrs.get("copy_ages") or {}).get(copies[0]) if backup_copy else None
    impact.rpo_seconds = m.rpo_seconds if m is not None else fallback
    return impact


def _corruption(
    runbook: Runbook, member: LiveResource, measured: Measured, policy: Policy, age: float | None
) -> ResourceImpact:
    """Recover by going back to before the damage began, `age` seconds ago: only a recovery point that old
    undoes it (PITR within its window, a snapshot taken before the event)."""
    kind = member.kind
    before = f"before the damage began {format_duration(age)} ago" if age else "before the event"
    if kind in ("rds_instance", "rds_cluster"):
        days = member.attrs.get("backup_retention_days")
        if not days:
            return ResourceImpact(member.key, kind, None, reason=f"{member.id} has no PITR (automated backups off)")
        if age and age > float(days) * 86400:  # RDS restores to any time within the backup retention period
            return ResourceImpact(
                member.key, kind, None, reason=f"{member.id}'s {days}-day PITR window does not reach {before}"
            )
        return _restore(
            member,
            ("pitr-time", "pitr-latest", "snapshot"),
            measured,
            policy,
            "point-in-time restore to before the event",
            None,
        )
    if kind == "dynamodb_table":
        if not member.attrs.get("pitr"):
            return ResourceImpact(member.key, kind, None, reason=f"{member.id} has no PITR")
        window = member.attrs.get("pitr_window_seconds")
        if age and isinstance(window, (int, float)) and age > window:
            return ResourceImpact(
                member.key,
                kind,
                None,
                reason=f"{member.id}'s PITR reaches back {format_duration(window)}, not {before}",
            )
        return _restore(
            member, ("pitr-time", "pitr-latest"), measured, policy, "point-in-time restore to before the event", None
        )
    if kind == "s3_bucket":
        if not member.attrs.get("versioning"):
            return ResourceImpact(member.key, kind, None, reason=f"{member.id} has no object versions (versioning off)")
        return _restore(member, ("object-version",), measured, policy, "restore prior object versions", None)
    oldest = member.attrs.get("oldest_snapshot_age_seconds", member.attrs.get("snapshot_age_seconds"))
    if oldest is None:
        return ResourceImpact(member.key, kind, None, reason=f"{member.id} has no snapshot from before the event")
    if age and isinstance(oldest, (int, float)) and oldest < age:
        return ResourceImpact(
            member.key,
            kind,
            None,
            reason=f"{member.id}'s oldest snapshot is {format_duration(oldest)} old, none from {before}",
        )
    return _restore(member, ("snapshot",), measured, policy, "volume from a snapshot before the event", None)


def _own_recovery(observations: list[Observation], measured: Measured, policy: Policy) -> float:
    """How long a service takes to come back by restoring its own data (for dependency chains)."""
    worst = 0.0
    for obs in observations:
        for member in obs.members:
            worst = max(
                worst,
                _restore(
                    member, ("snapshot", "pitr-latest", "object-version"), measured, policy, "restore", None
                ).rto_seconds
                or 0.0,
            )
    return worst


def dependents(catalog_runbooks: dict[str, Runbook], failed: set[str]) -> set[str]:
    """Every service that depends on a failed one, directly or through others."""
    hit, changed = set(failed), True
    while changed:
        changed = False
        for service, runbook in catalog_runbooks.items():
            if service not in hit and hit & set(runbook.dependencies):
                hit.add(service)
                changed = True
    return hit


def analyse(
    scenario: Scenario,
    runbooks: dict[str, Runbook],
    selected: list[str],
    policy: Policy,
    live: dict[str, list[Observation]],
    measured: dict[tuple[str, str], Measurement],
    today: date,
    zone: str | None = None,
    region: str | None = None,
) -> list[ServiceImpact]:
    kind = scenario.blast_radius.kind
    failed_deps = (
        {scenario.blast_radius.dependency}
        if scenario.blast_radius.dependency
        else {s for s, rb in runbooks.items() if rb.tier == 0}
    )
    hit_by_dependency = dependents(runbooks, failed_deps) if kind == "dependency" else set()
    struck = struck_regions(scenario, runbooks, selected, region) if kind == "region" else []
    zone_region, struck_az = (
        struck_zone(scenario, runbooks, selected, live, zone, region) if kind == "zone" else (None, None)
    )
    rows = []
    for service in selected:
        runbook = runbooks[service]
        rto_target, rpo_target = targets(runbook, policy, REGION if kind == "region" else IN_REGION)
        observations = live.get(service, [])
        assessed = all(obs.assessed for obs in observations)
        members = [m for obs in observations for m in obs.members]
        strike_region = zone_region if kind == "zone" else region or primary_region(runbook)
        row = ServiceImpact(
            service, runbook.tier, False, strike_region or "-", rto_target, rpo_target, assessed=assessed
        )
        if kind == "zone":
            in_region = [m for m in members if m.region == strike_region]
            row.strike = f"{strike_region} zone {struck_az or '(primary)'}"
            row.resources = [i for m in in_region if (i := _zone_loss(runbook, m, measured, policy, struck_az or ""))]
        elif kind == "region":
            row.strike = ", ".join(struck) or "-"
            row.resources = [_region_loss(runbook, m, measured, policy) for m in members if m.region in struck]
        elif kind == "corruption":
            age = scenario.blast_radius.corruption_age.total_seconds() if scenario.blast_radius.corruption_age else None
            row.strike = f"data written in the last {format_duration(age)}" if age else "data"
            row.resources = [_corruption(runbook, m, measured, policy, age) for m in members]
        elif kind == "dependency":
            row.strike = ", ".join(sorted(failed_deps))
            if service in failed_deps:
                own = _own_recovery(observations, measured, policy)
                row.resources = [ResourceImpact(f"service:{service}", "service", "restore its own data", own, None)]
            elif service in hit_by_dependency:
                chain = sorted(failed_deps)
                wait = max(
                    (_own_recovery(live.get(d, []), measured, policy) for d in failed_deps if d in runbooks),
                    default=policy.simulation.restore_estimate.total_seconds(),
                )
                row.resources = [
                    ResourceImpact(
                        f"service:{service}", "service", f"wait for {', '.join(chain)}", wait, None, reason=None
                    )
                ]
                if wait > rto_target:
                    row.resources[0].reason = (
                        f"dependency {', '.join(chain)} recovers in {format_duration(wait)}, "
                        f"over this service's RTO of {format_duration(rto_target)}"
                    )
        elif kind == "people":
            row.strike = "owner and DR champion unavailable"
            reasons = []
            if not [step for step in runbook.procedure if step.strip()]:
                reasons.append("no documented procedure a stand-in could follow")
            if runbook.tier in policy.validation_required_tiers and not runbook.validation:
                reasons.append("no validation steps to prove the restore worked")
            reviewed = runbook.documentation.last_reviewed if runbook.documentation else None
            cadence = policy.tier(runbook.tier).review_every
            if reviewed is None or (today - reviewed).days > cadence.days:
                reasons.append("the runbook is out of date (review overdue)")
            own = _own_recovery(observations, measured, policy) + policy.simulation.stand_in_delay.total_seconds()
            row.resources = [
                ResourceImpact(
                    f"service:{service}",
                    "service",
                    "a stand-in follows the runbook",
                    own,
                    None,
                    reason="; ".join(reasons) or None,
                )
            ]
        row.affected = bool(row.resources)
        rows.append(row)
    return rows


def unrecoverable_findings(scenario: Scenario, rows: list[ServiceImpact]) -> list[Finding]:
    return [
        make_finding(
            "simulation.unrecoverable",
            service=row.service,
            tier=row.tier,
            resource=f"scenario:{scenario.id}",
            title=f"Cannot recover from {scenario.name.lower()}",
            detail=f"{scenario.name} ({row.strike}): " + "; ".join(row.reasons) + ".",
            evidence={
                "scenario": scenario.id,
                "reasons": row.reasons,
                "expected_rto": row.expected_rto,
                "expected_rpo": row.expected_rpo,
                "rto_target": row.rto_target_seconds,
                "rpo_target": row.rpo_target_seconds,
            },
        )
        for row in rows
        if row.status == "unrecoverable"
    ]
