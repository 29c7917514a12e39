"""Restore drivers and teardown on the strict AWS layer (creates take a second, deletes half a second, AWS's
refusals enforced): an Aurora writer only once its cluster is available, teardown step by step, deletes retried
while AWS says "not yet", and a refusal that waiting cannot change ends the teardown at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tasks.actions.restore import RestoreContext, _teardown, _wait_available
from tasks.aws.clients import AwsClients
from tasks.aws.guard import ownership_tags
from tasks.aws.restore import dynamodb_table, rds_cluster, rds_instance
from tasks.aws.restore.base import RestoreSpec
from tasks.catalog.policy import Policy
from tasks.demo.builder import EstateBuilder

REGION = "us-east-2"


def spec(kind: str, source: str, copy: str, mode: str = "snapshot") -> RestoreSpec:
    tags = ownership_tags("run1", "backup-restore-test", (datetime.now(UTC) + timedelta(hours=1)).isoformat(), source)
    return RestoreSpec(
        kind=kind,
        mode=mode,
        source_id=source,
        source_region=REGION,
        region=REGION,
        copy_name=copy,
        tags=tuple(tags.items()),
        instance_class="db.r6g.large",
    )


def context(tmp_path, cleanup: str = "30m") -> RestoreContext:
    policy = Policy.model_validate({"restore": {"cleanup_timeout": cleanup, "poll_interval": "1s"}})
    return RestoreContext(
        run_id="run1", policy=policy, clients=AwsClients(), store=None, run_dir=str(tmp_path), poll_seconds=0.1
    )


@pytest.fixture
def aurora(aws, strict_aws):
    EstateBuilder(in_process_mock=True).aurora_cluster(REGION, "pay-aurora", members=1, retention=7)
    return spec("rds_cluster", "pay-aurora", "drt-run1-aurora")


def test_the_aurora_writer_is_added_only_once_the_restored_cluster_is_available(aurora, tmp_path):
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
    state = _wait_available(context(tmp_path), rds_cluster, aurora, "drt-run1-aurora", point, started, 30)
    assert state.status == "available" and state.detail["writer"] == "available"
    assert (datetime.now(UTC) - started).total_seconds() >= 1.8  # the cluster, then the writer, each a second

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
    assert time.monotonic() - started < 10


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
