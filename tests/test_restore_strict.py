"""Restore drivers and teardown on the strict AWS layer (creates take a second, deletes half a second, AWS's
refusals enforced): an Aurora writer only once its cluster is available, teardown step by step, deletes retried
while AWS says "not yet", and a refusal that waiting cannot change ends the teardown at once."""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tasks.actions.restore import RestoreContext, _teardown, _wait_available, perform_restore
from tasks.aws.clients import AwsClients
from tasks.aws.guard import ownership_tags
from tasks.aws.restore import dynamodb_table, rds_cluster, rds_instance
from tasks.aws.restore.base import RestoreSpec
from tasks.catalog.policy import Policy
from tasks.demo.builder import EstateBuilder
from tasks.evidence.store import LocalEvidenceStore
from tasks.rules.restore_plan import RestoreTarget, copy_name
from tests.restore_specs import spec

REGION = "us-east-2"


def context(tmp_path, cleanup: str = "30m") -> RestoreContext:
    policy = Policy.model_validate({"restore": {"cleanup_timeout": cleanup, "poll_interval": "1s"}})
    return RestoreContext(
        run_id="run1", policy=policy, clients=AwsClients(), store=None, run_dir=str(tmp_path), poll_seconds=0.1
    )


@pytest.fixture
def aurora(aws, strict_aws):
    EstateBuilder(in_process_mock=True).aurora_cluster(REGION, "pay-aurora", members=1, retention=7)
    return spec("rds_cluster", "pay-aurora", "drt-run1-aurora")


# The restored cluster stays `creating` until the test moves time on (settle()), whatever the machine's load.
@pytest.mark.strict(seconds=1.0, restore_seconds=600)
def test_the_aurora_writer_is_added_only_once_the_restored_cluster_is_available(aurora, strict_aws, tmp_path):
    clients = AwsClients()
    point = rds_cluster.recovery_point(clients, aurora)
    started = datetime.now(UTC)
    assert rds_cluster.start(clients, aurora, point) == "drt-run1-aurora"
    first = rds_cluster.state(clients, aurora, "drt-run1-aurora")
    assert (first.status, first.detail["status"], first.detail["writer"]) == ("creating", "creating", "missing")
    rds_cluster.advance(clients, aurora, "drt-run1-aurora", first)  # too early: nothing asked of AWS
    assert rds_cluster.state(clients, aurora, "drt-run1-aurora").detail["writer"] == "missing"
    # On the strict layer, creating the writer now is what AWS refuses.
    rds = boto3.client("rds", region_name=REGION)
    with pytest.raises(rds.exceptions.InvalidDBClusterStateFault):
        rds.create_db_instance(
            DBInstanceIdentifier="x-w",
            DBClusterIdentifier="drt-run1-aurora",
            Engine="aurora-postgresql",
            DBInstanceClass="db.r6g.large",
        )
    strict_aws.settle()  # the cluster's restore is done
    settled = time.monotonic()
    state = _wait_available(context(tmp_path), rds_cluster, aurora, "drt-run1-aurora", point, started, 600)
    assert state.status == "available" and state.detail["writer"] == "available"
    assert time.monotonic() - settled >= 1.0  # the writer, asked for only now, took its own second

    outcome = _teardown(context(tmp_path), rds_cluster, aurora, "drt-run1-aurora")
    assert outcome == ("deleted", None)
    assert rds.describe_db_clusters(DBClusterIdentifier="pay-aurora")["DBClusters"]  # the source is untouched


def test_cluster_teardown_goes_step_by_step_and_skips_a_writer_never_made(aurora, tmp_path):
    clients = AwsClients()
    rds_cluster.start(clients, aurora, rds_cluster.recovery_point(clients, aurora))
    # The restore stopped before the writer existed: nothing to delete but the cluster, once it can be.
    ctx = context(tmp_path)
    started = time.monotonic()
    assert _teardown(ctx, rds_cluster, aurora, "drt-run1-aurora") == ("deleted", None)
    assert time.monotonic() - started < 60  # not the 30 minutes of cleanup_timeout: no wait for a writer


def test_a_cluster_with_a_deleting_writer_is_deleted_on_a_later_step(aurora, tmp_path):
    clients = AwsClients()
    point = rds_cluster.recovery_point(clients, aurora)
    rds_cluster.start(clients, aurora, point)
    _wait_available(context(tmp_path), rds_cluster, aurora, "drt-run1-aurora", point, datetime.now(UTC), 30)
    assert rds_cluster.delete(clients, aurora, "drt-run1-aurora") is False  # writer deleting; the cluster waits
    assert rds_cluster.state(clients, aurora, "drt-run1-aurora").detail["writer"] == "deleting"
    assert rds_cluster.delete(clients, aurora, "drt-run1-aurora") is False
    deadline = time.monotonic() + 10
    while not rds_cluster.delete(clients, aurora, "drt-run1-aurora") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert rds_cluster.state(clients, aurora, "drt-run1-aurora").detail["status"] == "deleting"


def test_a_dynamodb_copy_still_creating_is_deleted_once_aws_lets_it(aws, strict_aws, tmp_path):
    EstateBuilder(in_process_mock=True).table(REGION, "orders", pitr=True)
    table = spec("dynamodb_table", "orders", "drt-run1-orders", mode="pitr-latest")
    clients = AwsClients()
    dynamodb_table.start(clients, table, dynamodb_table.recovery_point(clients, table))
    assert dynamodb_table.state(clients, table, "drt-run1-orders").detail["status"] == "CREATING"
    assert dynamodb_table.delete(clients, table, "drt-run1-orders") is False  # ResourceInUseException: not yet
    assert _teardown(context(tmp_path), dynamodb_table, table, "drt-run1-orders") == ("deleted", None)


def test_a_teardown_the_interlock_refuses_ends_at_once_as_left(aws, strict_aws, tmp_path):
    builder = EstateBuilder(in_process_mock=True)
    builder.rds_instance(REGION, "ledger-db", retention=7)
    rds = boto3.client("rds", region_name=REGION)
    snapshot = rds.describe_db_snapshots(DBInstanceIdentifier="ledger-db")["DBSnapshots"][0]["DBSnapshotIdentifier"]
    # A drt- database without the ownership tag: not ours, so the interlock refuses its delete.
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="drt-someone-else", DBSnapshotIdentifier=snapshot)
    started = time.monotonic()
    status, reason = _teardown(
        context(tmp_path, cleanup="30m"),
        rds_instance,
        spec("rds_instance", "ledger-db", "drt-someone-else"),
        "drt-someone-else",
    )
    assert status == "left" and "refused" in reason
    assert time.monotonic() - started < 5  # not polled until the 30-minute cleanup timeout


def untagged_copies(*names: str) -> None:
    """What a crash between RestoreTableToPointInTime (it takes no tags) and TagResource leaves."""
    ddb = boto3.client("dynamodb", region_name=REGION)
    for name in names:
        ddb.restore_table_to_point_in_time(SourceTableName="orders", TargetTableName=name, UseLatestRestorableTime=True)


def test_untagged_dynamodb_copies_are_found_by_name_and_kept_while_their_run_may_be_alive(aws, strict_aws):
    from tasks.aws.owned import list_owned, sweep_regions

    EstateBuilder(in_process_mock=True).table(REGION, "orders", pitr=True)
    untagged_copies("drt-crashed1-0123456789abcd", "drt-crashed1-0123456789abcd-2", "drt-lookalike", "drt-x-0123")
    owned = {c.identifier: c for c in list_owned(AwsClients(), REGION)}
    assert set(owned) == {"drt-crashed1-0123456789abcd", "drt-crashed1-0123456789abcd-2"}  # names we make only
    assert owned["drt-crashed1-0123456789abcd"].untagged and owned["drt-crashed1-0123456789abcd"].run_id == "crashed1"

    kept: list[dict] = []
    now = datetime.now(UTC)
    # No run known by that prefix: whether it is alive cannot be told, so nothing goes, and that is reported.
    assert sweep_regions(AwsClients(), [(None, REGION)], now, liveness=lambda c: None, kept=kept) == []
    assert {k["id"] for k in kept} == {"drt-crashed1-0123456789abcd", "drt-crashed1-0123456789abcd-2"}
    assert "no tags" in kept[0]["kept"]
    # Known but alive (another host's run, says Prefect): kept too.
    alive = sweep_regions(
        AwsClients(),
        [(None, REGION)],
        now,
        liveness=lambda c: True,
        known_runs={"crashed1": ("crashed1-5a6b-run", "")},
        poll_seconds=0.1,
    )
    assert alive == []


def test_untagged_dynamodb_copies_of_a_dead_run_are_swept_even_while_creating(aws, strict_aws):
    from tasks.aws.owned import sweep_regions

    EstateBuilder(in_process_mock=True).table(REGION, "orders", pitr=True)
    untagged_copies("drt-crashed1-0123456789abcd", "drt-current1-abcdef01234567")
    held = "lock-held-here"
    # The dead run's record (from the evidence store) names the lock it held; this sweep holds that lock.
    liveness = lambda c: False if c.lock == held else None  # noqa: E731
    asked: list[str] = []

    def recorded(copy):
        asked.append(copy.run_id)
        return liveness(copy)

    swept = sweep_regions(
        AwsClients(),
        [(None, REGION)],
        datetime.now(UTC),
        current_run_id="current1-9999-run",
        liveness=recorded,
        known_runs={"crashed1": ("crashed1-0000-run", held), "current1": ("current1-9999-run", held)},
        poll_seconds=0.1,
        wait_seconds=20,
    )
    # The strict layer holds the restored table CREATING for a second: DeleteTable is refused
    # (ResourceInUseException) and asked again until AWS accepts it. The current run's copy is never touched.
    assert [(c["id"], c["run_id"], c["deleted"], c.get("untagged")) for c in swept] == [
        ("drt-crashed1-0123456789abcd", "crashed1-0000-run", True, True)
    ]
    assert asked == ["crashed1-0000-run"]
    raw = boto3.client("dynamodb", region_name=REGION)
    status = lambda name: raw.describe_table(TableName=name)["Table"]["TableStatus"]  # noqa: E731
    assert status("drt-crashed1-0123456789abcd") == "DELETING" and status("drt-current1-abcdef01234567") != "DELETING"


def test_an_untagged_copy_takes_the_run_of_a_tagged_copy_of_the_same_run():
    from tasks.aws.owned import OwnedCopy, identify_untagged

    tagged = OwnedCopy("rds_instance", "drt-abcd1234-00", REGION, None, "abcd1234-ffff", "f", None, "lock-1")
    untagged = OwnedCopy(
        "dynamodb_table", "drt-abcd1234-0123456789abcd", REGION, None, "abcd1234", "", None, untagged=True
    )
    other = OwnedCopy(
        "dynamodb_table", "drt-ffff0000-0123456789abcd", REGION, None, "ffff0000", "", None, untagged=True
    )
    out = identify_untagged([tagged, untagged, other], {})
    assert (out[1].run_id, out[1].lock) == ("abcd1234-ffff", "lock-1")
    assert out[2] == other  # nothing known of that prefix
    # Two runs sharing one prefix: neither is assumed.
    assert identify_untagged([untagged], {})[0] == untagged
    twice = identify_untagged([tagged, untagged], {"abcd1234": ("abcd1234-eeee", "lock-2")})
    assert twice[1].run_id == "abcd1234"


def test_known_runs_drops_a_prefix_two_recorded_runs_share():
    from flows.sweeping import known_runs
    from tasks.evidence.records import RunRecord

    at = datetime.now(UTC)
    records = [
        RunRecord(flow="backup-restore-test", run_id="aaaa1111-1", started_at=at, details={"lock": "L"}),
        RunRecord(flow="backup-restore-test", run_id="bbbb2222-1", started_at=at),
        RunRecord(flow="backup-restore-test", run_id="bbbb2222-2", started_at=at),
    ]
    assert known_runs(records) == {"aaaa1111": ("aaaa1111-1", "L")}


def test_the_interlock_deletes_an_untagged_table_only_when_named_as_a_copy(aws, strict_aws):
    from tasks.aws.guard import UnsafeOperation

    EstateBuilder(in_process_mock=True).table(REGION, "orders", pitr=True)
    untagged_copies("drt-crashed1-0123456789abcd", "drt-lookalike", "drt-tagged12-0123456789abcd")
    raw = boto3.client("dynamodb", region_name=REGION)
    arn = raw.describe_table(TableName="drt-tagged12-0123456789abcd")["Table"]["TableArn"]
    raw.tag_resource(ResourceArn=arn, Tags=[{"Key": "team", "Value": "payments"}])  # someone else's tags
    time.sleep(1.5)  # past CREATING
    ddb = AwsClients().client("dynamodb", REGION)
    for refused in ("drt-lookalike", "drt-tagged12-0123456789abcd", "orders"):
        with pytest.raises(UnsafeOperation):
            ddb.delete_table(TableName=refused)
    ddb.delete_table(TableName="drt-crashed1-0123456789abcd")


def test_the_sweep_ties_an_untagged_copy_to_a_crashed_run_recorded_in_its_evidence_store(aws, strict_aws, tmp_path):
    import logging
    from pathlib import Path

    from flows.sweeping import sweep
    from tasks.evidence.records import RunRecord
    from tasks.evidence.runlock import lock_id
    from tasks.evidence.store import RunEvidence, open_store

    EstateBuilder(in_process_mock=True).table(REGION, "orders", pitr=True)
    evidence = tmp_path / "evidence"
    lock = lock_id(Path(evidence) / "backup-restore-test" / ".run.lock")
    store = open_store(str(evidence))
    for run_id, held in (("crashed1-0000-run", lock), ("elsewhr1-0000-run", "another-host-lock")):
        record = RunRecord(flow="backup-restore-test", run_id=run_id, started_at=datetime.now(UTC))
        record.details["lock"] = held
        RunEvidence(store, record).save()  # status "running": the process died
    untagged_copies("drt-crashed1-0123456789abcd", "drt-elsewhr1-0123456789abcd")
    result = sweep(AwsClients(), [(None, REGION)], str(evidence), False, logging.getLogger("test"))
    # This sweep holds the lock the crashed run held, so that run is dead; the other one's lock is not held here.
    assert [(c["id"], c["deleted"]) for c in result["copies"]] == [("drt-crashed1-0123456789abcd", True)]
    assert [k["id"] for k in result["kept"]] == ["drt-elsewhr1-0123456789abcd"]


@pytest.mark.parametrize(
    ("rto", "status", "at_release"),
    [
        # Validated: the slot goes back as the delete is asked for (the copy is still `available` then).
        (60, "passed", "available"),
        # Still creating at the RTO deadline: it is a restore under way until AWS accepts its delete.
        (0.3, "timeout", "deleting"),
    ],
)
def test_a_restore_gives_its_slot_back_once_its_teardown_is_under_way_and_still_confirms_it(
    aws, strict_aws, tmp_path, rto, status, at_release
):
    """The run's concurrency bound covers a restore until its copy's teardown is under way: the next restore
    starts while the copy is being deleted, and the teardown is still confirmed before the measurement is
    final."""
    EstateBuilder(in_process_mock=True).rds_instance(REGION, "ledger-db", retention=7)
    rds = boto3.client("rds", region_name=REGION)
    seen: dict[str, str] = {}

    @contextmanager
    def slot():
        seen["entered"] = "yes"
        yield
        # The copy as the slot goes back: it still exists either way.
        copies = rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [copy]}])["DBInstances"]
        seen["copy at release"] = copies[0]["DBInstanceStatus"] if copies else "gone"

    target = RestoreTarget(
        service="ledger",
        tier=1,
        kind="rds_instance",
        mode="snapshot",
        resource="rds_instance:us-east-2:ledger-db",
        source_id="ledger-db",
        source_region=REGION,
        region=REGION,
        account=None,
        rto_target_seconds=rto,
        rpo_target_seconds=86400 * 2,
        instance_class="db.t3.micro",
    )
    policy = Policy.model_validate({"restore": {"poll_interval": "1s", "require_isolation": False}})
    ctx = replace(context(tmp_path), policy=policy, store=LocalEvidenceStore(tmp_path), slot=slot)
    copy = copy_name("run1", target)
    m = perform_restore(target, [], ctx)
    assert (m.status, m.cleanup) == (status, "deleted")
    assert seen == {"entered": "yes", "copy at release": at_release}
    assert not rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [copy]}])["DBInstances"]
