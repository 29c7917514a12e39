"""Data corruption, pure: only a recovery point older than the damage undoes it (PITR within its window, a
snapshot taken before the event). The scenario's corruption_age is what decides."""

from __future__ import annotations

from datetime import date

import pytest

from tasks.catalog.policy import Policy
from tasks.catalog.runbook import Runbook
from tasks.catalog.scenario import Scenario
from tasks.evidence.inventory import LiveResource, Observation
from tasks.rules.impact import analyse

HOUR, DAY = 3600.0, 86400.0


def corruption(age: str | None) -> Scenario:
    blast = {"kind": "corruption", **({"corruption_age": age} if age else {})}
    return Scenario.model_validate(
        {
            "id": "data-corruption",
            "name": "Data corruption",
            "narrative": "A bad migration rewrote records.",
            "blast_radius": blast,
            "injects": [{"id": "found", "title": "Wrong data", "description": "Support reports wrong data."}],
        }
    )


def impact(member: LiveResource, age: str | None):
    runbook = Runbook.model_validate(
        {
            "service": "orders",
            "name": "Orders",
            "tier": 1,
            "resources": [{"kind": member.kind, "id": member.id, "region": member.region}],
        }
    )
    live = {"orders": [Observation(spec=runbook.resources[0], index=0, members=[member])]}
    [row] = analyse(corruption(age), {"orders": runbook}, ["orders"], Policy(), live, {}, date(2026, 12, 3))
    [resource] = row.resources
    return row, resource


def rds(days: int) -> LiveResource:
    return LiveResource("rds_instance", "us-east-1", "orders-db", attrs={"backup_retention_days": days})


def table(window: float | None) -> LiveResource:
    return LiveResource("dynamodb_table", "us-east-1", "orders", attrs={"pitr": True, "pitr_window_seconds": window})


def volume(oldest: float | None, newest: float | None) -> LiveResource:
    attrs = {"oldest_snapshot_age_seconds": oldest, "snapshot_age_seconds": newest}
    return LiveResource("ebs_volume", "us-east-1", "vol-0abc", attrs=attrs)


@pytest.mark.parametrize(
    ("member", "age", "reason"),
    [
        (rds(7), "2h", None),
        (rds(7), "8d", "orders-db's 7-day PITR window does not reach before the damage began 8d ago"),
        (rds(0), "2h", "orders-db has no PITR (automated backups off)"),
        (table(35 * DAY), "2h", None),
        (table(3 * DAY), "5d", "orders's PITR reaches back 3d, not before the damage began 5d ago"),
        (table(None), "40d", None),  # window not reported: the recovery path stands, judged by the policy's estimate
        (volume(10 * DAY, HOUR), "2h", None),
        (volume(HOUR, HOUR), "2h", "vol-0abc's oldest snapshot is 1h old, none from before the damage began 2h ago"),
        (volume(None, None), "2h", "vol-0abc has no snapshot from before the event"),
        (rds(1), None, None),  # no age given: any PITR window is taken to reach the event
    ],
)
def test_a_recovery_point_must_be_older_than_the_damage(member, age, reason):
    row, resource = impact(member, age)
    assert resource.reason == reason
    assert (resource.path is None) == (reason is not None)
    assert (row.status == "unrecoverable") == (reason is not None)
