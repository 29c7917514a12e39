"""RPO/RTO by recovery path and disruption, and the age of cross-region copies: pure rules (no AWS)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tasks.catalog.load import load_policy
from tasks.catalog.policy import IN_REGION, REGION, Policy
from tasks.catalog.runbook import Runbook
from tasks.evidence.inventory import LiveResource
from tasks.evidence.records import Measurement, measurement_summary
from tasks.report.groups import restore_groups
from tasks.rules.dashboard import restore_figures
from tasks.rules.posture import audit_member
from tasks.rules.restore_plan import findings_for, judge, targets_for_member

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
H, D = 3600.0, 86400.0


def runbook(tier: int = 1, **overrides) -> Runbook:
    data = {
        "service": "svc",
        "name": "Svc",
        "tier": tier,
        "owner": "o@x",
        "dr_champion": "c@x",
        "documentation": {"last_reviewed": "2026-10-01"},
        "procedure": ["restore"],
        "dr_region": "us-west-2",
        "validation": [{"name": "up", "kind": "status"}],
        "resources": [{"kind": "rds_instance", "id": "db1", "region": "us-east-1"}],
    }
    data.update(overrides)
    return Runbook.model_validate(data)


def db(**attrs) -> LiveResource:
    base = {
        "multi_az": True,
        "encrypted": True,
        "backup_retention_days": 30,
        "copy_regions": ["us-west-2"],
        "copy_ages": {"us-west-2": 5 * H},
        "latest_restorable_time": NOW - timedelta(minutes=5),
    }
    return LiveResource("rds_instance", "us-east-1", "db1", attrs={**base, **attrs})


def measurement(target, rpo: float, rto: float = 60.0) -> Measurement:
    return Measurement(
        service=target.service,
        tier=target.tier,
        resource=target.resource,
        kind=target.kind,
        mode=target.mode,
        region=target.region,
        started_at=NOW,
        status="passed",
        cleanup="deleted",
        rto_seconds=rto,
        rpo_seconds=rpo,
        rto_target_seconds=target.rto_target_seconds,
        rpo_target_seconds=target.rpo_target_seconds,
        disruption=target.disruption,
        rpo_judged=target.judge_rpo,
        judged_against=target.judged_against,
    )


def by_mode(targets):
    return {(t.mode, t.region): t for t in targets}


# --- the policy: targets per disruption ---------------------------------------------------------


def test_region_loss_targets_default_looser_than_in_region_and_never_tighter():
    policy = Policy()
    assert policy.targets_for(runbook(0)) == (timedelta(hours=4), timedelta(hours=1))
    assert policy.targets_for(runbook(0), REGION) == (timedelta(hours=12), timedelta(hours=48))
    assert policy.targets_for(runbook(3), REGION) == (timedelta(days=7), timedelta(days=7))
    # A runbook's own (stricter) in-region RPO does not tighten the region-loss one.
    assert policy.targets_for(runbook(1, targets={"rpo": "5m"}), REGION)[1] == timedelta(hours=48)
    # A region target set tighter than in-region is raised to the in-region one.
    tight = Policy.model_validate(
        {
            "tiers": {
                1: {"rpo": "1h", "rto": "6h", "review_every": "90d", "restore_test_every": "90d", "region_rpo": "30m"}
            }
        }
    )
    assert tight.targets_for(runbook(1), REGION)[1] == timedelta(hours=1)


def test_policy_file_sets_region_targets_and_copy_max_age(tmp_path):
    (tmp_path / "policy.yaml").write_text(
        "tiers:\n  1: {region_rpo: 12h, region_rto: 8h}\nbackups: {copy_max_age: 3d}\n"
    )
    policy = load_policy(tmp_path / "policy.yaml")
    assert policy.targets_for(runbook(1), REGION) == (timedelta(hours=8), timedelta(hours=12))
    assert policy.targets_for(runbook(1), IN_REGION) == (timedelta(hours=6), timedelta(hours=1))
    assert policy.backups.copy_max_age == timedelta(days=3)
    assert Policy().backups.copy_max_age == timedelta(days=2)


# --- restore paths: which target each figure is judged against ----------------------------------


def test_each_restore_path_is_judged_against_the_disruption_it_recovers_from():
    targets = by_mode(targets_for_member(runbook(0), Policy(), db(), ["us-west-2"], None))
    pitr, snap, dr = (
        targets[("pitr-latest", "us-east-1")],
        targets[("snapshot", "us-east-1")],
        targets[("snapshot-dr", "us-west-2")],
    )
    assert (pitr.disruption, pitr.judge_rpo, pitr.rpo_target_seconds, pitr.rto_target_seconds) == (
        IN_REGION,
        True,
        1 * H,
        4 * H,
    )
    assert (snap.disruption, snap.judge_rpo) == (IN_REGION, False)  # PITR answers for the in-region RPO
    assert "not judged" in snap.judged_against and "point-in-time" in snap.judged_against
    assert (dr.disruption, dr.judge_rpo, dr.rpo_target_seconds, dr.rto_target_seconds) == (REGION, True, 48 * H, 12 * H)
    assert "Region loss" in dr.judged_against


def test_a_daily_snapshot_beside_pitr_files_no_rpo_finding_but_pitr_over_target_does():
    targets = by_mode(targets_for_member(runbook(1), Policy(), db(), ["us-west-2"], None))
    snapshot = measurement(targets[("snapshot", "us-east-1")], rpo=9 * H)  # daily snapshot, 9 hours old
    pitr = measurement(targets[("pitr-latest", "us-east-1")], rpo=300)  # LatestRestorableTime 5 min behind
    assert judge(snapshot) and judge(pitr)
    assert not [f for f in findings_for(snapshot) + findings_for(pitr) if f.check == "restore.rpo_exceeded"]
    late = measurement(targets[("pitr-latest", "us-east-1")], rpo=2 * H)
    [finding] = findings_for(late)
    assert not judge(late)
    assert finding.check == "restore.rpo_exceeded" and "in-region RPO target of 1h" in finding.detail


def test_an_aurora_cluster_is_restored_to_a_point_in_time_too_and_that_path_answers_for_the_in_region_rpo():
    cluster = db()
    cluster = LiveResource("rds_cluster", cluster.region, "wiki", attrs=cluster.attrs)
    at = NOW - timedelta(hours=2)
    targets = by_mode(targets_for_member(runbook(1), Policy(), cluster, ["us-west-2"], at))
    assert set(targets) == {
        ("snapshot", "us-east-1"),
        ("pitr-latest", "us-east-1"),
        ("pitr-time", "us-east-1"),
        ("snapshot-dr", "us-west-2"),
    }
    assert targets[("pitr-latest", "us-east-1")].judge_rpo and not targets[("snapshot", "us-east-1")].judge_rpo


def test_a_snapshot_is_judged_where_there_is_no_pitr_and_a_dr_copy_against_region_loss():
    targets = by_mode(targets_for_member(runbook(1), Policy(), db(backup_retention_days=0), ["us-west-2"], None))
    snapshot = targets[("snapshot", "us-east-1")]
    assert snapshot.judge_rpo and "no point-in-time recovery" in snapshot.judged_against
    assert [f.check for f in findings_for(measurement(snapshot, rpo=9 * H))] == ["restore.rpo_exceeded"]
    dr = targets[("snapshot-dr", "us-west-2")]
    assert judge(measurement(dr, rpo=30 * H))  # a day-old copy meets the 48h region RPO
    [finding] = findings_for(measurement(dr, rpo=10 * D))
    assert "region-loss RPO target of 2d" in finding.detail
    slow = measurement(dr, rpo=H, rto=30 * H)
    assert [f.check for f in findings_for(slow)] == ["restore.rto_exceeded"]
    assert "region-loss RTO target of 1d" in findings_for(slow)[0].detail


def test_s3_and_ebs_paths():
    bucket = LiveResource("s3_bucket", "us-east-1", "b", attrs={"versioning": True})
    [version] = targets_for_member(runbook(1), Policy(), bucket, [], None)
    assert (version.disruption, version.judge_rpo) == (IN_REGION, False)
    assert judge(measurement(version, rpo=30 * D))
    volume = LiveResource("ebs_volume", "us-east-1", "vol-1", attrs={})
    ebs = by_mode(targets_for_member(runbook(1), Policy(), volume, ["us-west-2"], None))
    local = ebs[("snapshot", "us-east-1")]
    # EBS has no point-in-time recovery: its snapshot is judged, against the policy's snapshot cadence.
    assert local.judge_rpo and local.rpo_target_seconds == D and "snapshot_max_age" in local.judged_against
    assert ebs[("snapshot-dr", "us-west-2")].disruption == REGION


def test_reports_and_dashboard_show_which_target_and_skip_unjudged_rpo():
    targets = by_mode(targets_for_member(runbook(1), Policy(), db(), ["us-west-2"], None))
    rows = [
        measurement(targets[("snapshot", "us-east-1")], rpo=20 * H),
        measurement(targets[("pitr-latest", "us-east-1")], rpo=300),
        measurement(targets[("snapshot-dr", "us-west-2")], rpo=30 * H),
    ]
    [group] = restore_groups(rows)
    labels = {p.mode: (p.judged_against, p.rpo_judged) for p in group.paths}
    assert labels["snapshot"][1] is False and labels["snapshot-dr"][0].startswith("Region loss")
    figures = restore_figures([measurement_summary(m.model_dump()) for m in rows])
    # The 20-hour snapshot is not the worst RPO (not judged); the DR copy's 30h of 48h is.
    assert (figures.rpo_seconds, figures.rpo_target_seconds, figures.rpo_disruption) == (30 * H, 48 * H, REGION)


def test_measurements_written_before_disruptions_existed_still_load_and_judge():
    old = Measurement.model_validate(
        {
            "service": "s",
            "tier": 1,
            "resource": "r",
            "kind": "rds_instance",
            "started_at": NOW.isoformat(),
            "rto_target_seconds": 10,
            "rpo_target_seconds": 10,
            "rpo_seconds": 20,
            "rto_seconds": 5,
            "status": "passed",
        }
    )
    assert (old.disruption, old.rpo_judged) == (IN_REGION, True) and not judge(old)


# --- audit: the age of the newest cross-region copy ---------------------------------------------


def stale(live: LiveResource, tier: int = 1, policy: Policy | None = None, regions=("us-west-2",)):
    ran: list[str] = []
    found = audit_member(runbook(tier), policy or Policy(), live, NOW, list(regions), ran)
    return [f for f in found if f.check == "backup.stale_cross_region_copy"], ran


def test_a_ten_day_old_copy_is_stale_with_its_age_and_a_fresh_one_is_not():
    [finding], ran = stale(db(copy_ages={"us-west-2": 10 * D}))
    assert "backup.stale_cross_region_copy" in ran
    assert finding.subject == "us-west-2" and finding.evidence["age_seconds"] == 10 * D
    assert "10d old" in finding.detail and "2d" in finding.detail
    assert stale(db(copy_ages={"us-west-2": 30 * H}))[0] == []
    # Only where the tier requires copies; a longer copy_max_age accepts the same copy.
    assert stale(db(copy_ages={"us-west-2": 10 * D}), tier=2)[0] == []
    relaxed = Policy.model_validate({"backups": {"copy_max_age": "14d"}})
    assert stale(db(copy_ages={"us-west-2": 10 * D}), policy=relaxed)[0] == []


def test_only_the_required_regions_count_and_each_stale_one_is_its_own_finding():
    live = db(copy_regions=["eu-west-1", "us-west-2"], copy_ages={"us-west-2": 3 * D, "eu-west-1": 4 * D})
    found, _ = stale(live, regions=("us-west-2", "eu-west-1"))
    assert sorted(f.subject for f in found) == ["eu-west-1", "us-west-2"]
    assert len({f.fingerprint for f in found}) == 2
    found, _ = stale(live, regions=("us-west-2",))
    assert [f.subject for f in found] == ["us-west-2"]
    # No copy at all is backup.no_cross_region_copy's finding, not a stale one; an unknown age is not guessed.
    assert stale(db(copy_regions=[], copy_ages={}))[0] == []
    assert stale(db(copy_ages={"us-west-2": None}))[0] == []


@pytest.mark.parametrize("kind", ["ebs_volume", "rds_cluster"])
def test_stale_copies_are_found_for_volumes_and_clusters_too(kind):
    live = LiveResource(
        kind,
        "us-east-1",
        "x",
        attrs={
            "encrypted": True,
            "backup_retention_days": 30,
            "multi_az": True,
            "snapshot_age_seconds": H,
            "latest_restorable_time": NOW,
            "copy_regions": ["us-west-2"],
            "copy_ages": {"us-west-2": 5 * D},
        },
    )
    [finding], _ = stale(live)
    assert finding.resource == live.key


def test_a_judged_and_an_unjudged_snapshot_in_one_region_are_reported_apart():
    rds_snapshot = by_mode(targets_for_member(runbook(1), Policy(), db(), ["us-west-2"], None))[
        ("snapshot", "us-east-1")
    ]
    volume = LiveResource("ebs_volume", "us-east-1", "vol-1", attrs={})
    ebs_snapshot = by_mode(targets_for_member(runbook(1), Policy(), volume, ["us-west-2"], None))[
        ("snapshot", "us-east-1")
    ]
    rows = [measurement(rds_snapshot, rpo=14 * H), measurement(ebs_snapshot, rpo=14.0)]
    [group] = restore_groups(rows)
    snapshots = [p for p in group.paths if (p.mode, p.region) == ("snapshot", "us-east-1")]
    # One row would show the RDS snapshot's 14 h as the worst RPO beside "not judged", hiding the judged 14 s.
    assert [(p.count, p.rpo_seconds, p.rpo_judged) for p in snapshots] == [(1, 14.0, True), (1, 14 * H, False)]
    assert "snapshot_max_age" in snapshots[0].judged_against
