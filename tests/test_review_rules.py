"""Completeness, currency and accuracy as pure functions over canned live data (no AWS)."""

from __future__ import annotations

from datetime import date

from tasks.catalog.policy import Policy
from tasks.catalog.runbook import Runbook
from tasks.evidence.findings import fingerprint
from tasks.evidence.inventory import LiveResource, Observation
from tasks.rules.checks import make_finding, severity_for
from tasks.rules.review import check_accuracy, check_completeness, check_currency

POLICY = Policy()
TODAY = date(2026, 11, 24)


def runbook(**overrides) -> Runbook:
    data = {
        "service": "svc",
        "name": "Svc",
        "tier": 1,
        "owner": "o@x",
        "dr_champion": "c@x",
        "documentation": {"last_reviewed": "2026-10-01"},
        "procedure": ["restore"],
        "validation": [{"name": "up", "kind": "status"}],
        "resources": [
            {
                "kind": "rds_instance",
                "id": "db1",
                "region": "us-east-1",
                "expect": {"multi_az": True, "backup_retention_days": 30, "copy_regions": ["us-west-2"]},
            }
        ],
    }
    data.update(overrides)
    return Runbook.model_validate(data)


def checks(findings):
    return sorted((f.check, f.subject) for f in findings)


def test_a_complete_runbook_has_no_completeness_gaps():
    assert check_completeness(runbook(), POLICY) == []


def test_each_missing_part_is_its_own_finding():
    rb = runbook(owner=None, dr_champion="  ", procedure=[], validation=[], resources=[])
    assert checks(check_completeness(rb, POLICY)) == [
        ("runbook.champion_missing", ""),
        ("runbook.owner_missing", ""),
        ("runbook.procedure_missing", ""),
        ("runbook.resources_missing", ""),
        ("runbook.validation_missing", ""),
    ]


def test_validation_steps_are_only_required_for_tiers_0_and_1():
    assert checks(check_completeness(runbook(tier=2, validation=[]), POLICY)) == []


def test_currency_follows_the_tier_cadence():
    assert check_currency(runbook(documentation={"last_reviewed": "2026-08-26"}), POLICY, TODAY) == []  # 90 days
    [stale] = check_currency(runbook(documentation={"last_reviewed": "2026-08-25"}), POLICY, TODAY)  # 91 days
    assert stale.check == "runbook.stale" and "due 2026-11-23" in stale.detail and stale.evidence["age_days"] == 91
    assert check_currency(runbook(tier=3, documentation={"last_reviewed": "2026-01-01"}), POLICY, TODAY) == []


def test_never_reviewed_and_future_dates_are_stale():
    [never] = check_currency(runbook(documentation=None), POLICY, TODAY)
    assert "never been reviewed" in never.detail
    [future] = check_currency(runbook(documentation={"last_reviewed": "2027-01-01"}), POLICY, TODAY)
    assert "in the future" in future.detail


def live(**attrs) -> LiveResource:
    base = {"multi_az": True, "backup_retention_days": 30, "copy_regions": ["us-west-2", "eu-west-1"]}
    return LiveResource(kind="rds_instance", region="us-east-1", id="db1", attrs={**base, **attrs})


def test_accuracy_passes_when_live_matches_and_extra_copies_are_fine():
    rb = runbook()
    assert check_accuracy(rb, Observation(rb.resources[0], 0, [live()])) == []


def test_drift_names_the_attribute_documented_and_live_values():
    rb = runbook()
    found = check_accuracy(rb, Observation(rb.resources[0], 0, [live(multi_az=False, copy_regions=[])]))
    assert checks(found) == [("runbook.drift", "copy_regions"), ("runbook.drift", "multi_az")]
    multi_az = next(f for f in found if f.subject == "multi_az")
    assert multi_az.detail == "rds_instance db1 (us-east-1): multi_az is documented as true but is false live."
    assert multi_az.evidence == {"attribute": "multi_az", "documented": True, "live": False}
    assert multi_az.resource == "rds_instance:us-east-1:db1"


def test_missing_resource_and_unreadable_resource_are_different_findings():
    rb = runbook()
    [missing] = check_accuracy(rb, Observation(rb.resources[0], 0, []))
    assert missing.check == "runbook.resource_not_found" and "'db1' does not exist in us-east-1" in missing.detail
    [denied] = check_accuracy(rb, Observation(rb.resources[0], 0, [], errors=["us-east-1: AccessDenied"]))
    assert denied.check == "runbook.not_assessed"


def test_fingerprints_ignore_wording_and_time_but_not_identity():
    a = make_finding("runbook.drift", service="s", tier=1, resource="r", subject="multi_az", detail="one wording")
    b = make_finding("runbook.drift", service="s", tier=1, resource="r", subject="multi_az", detail="another")
    c = make_finding("runbook.drift", service="s", tier=1, resource="r", subject="encrypted", detail="one wording")
    assert a.fingerprint == b.fingerprint == fingerprint("s", "r", "runbook.drift", "multi_az")
    assert a.fingerprint != c.fingerprint


def test_severity_rises_with_criticality():
    assert [severity_for("runbook.drift", tier) for tier in range(4)] == ["high", "medium", "low", "low"]
    assert severity_for("runbook.owner_missing", 0) == "critical"
