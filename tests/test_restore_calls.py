"""What one restore asks AWS, on the strict layer: nothing twice that a run already knows (a group's or a
key's existence, a source's configuration), no describe before a delete that the last poll made redundant,
and the interlock still reads the copy's tags before every delete."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config

from tasks.actions.restore import RestoreContext, _teardown, perform_restore, prefetch_sources
from tasks.aws import rds as rds_reads
from tasks.aws.clients import AwsClients
from tasks.aws.guard import ownership_tags
from tasks.aws.restore import rds_instance
from tasks.aws.restore.base import RestoreSpec
from tasks.aws.restore.configure import ensure_carried
from tasks.aws.restore.polling import instance_poller
from tasks.catalog.policy import Policy
from tasks.demo.builder import EstateBuilder
from tasks.evidence.store import LocalEvidenceStore
from tasks.rules.restore_config import PARAMETER_GROUP, CopyConfig, NotCarried
from tests.restore_specs import target as restore_target

REGION = "us-east-2"


class Calls(list):
    """Every AWS operation the clients make, in order, as (operation, identifier)."""

    def watch(self, clients: AwsClients, service: str, region: str = REGION) -> None:
        def record(model, params, **_):
            ident = params.get("DBInstanceIdentifier") or params.get("TargetDBInstanceIdentifier")
            self.append((model.name, ident or params.get("KeyId") or params.get("DBParameterGroupName")))

        clients.client(service, region).meta.events.register("before-parameter-build", record)

    def ops(self) -> list[str]:
        return [op for op, _ in self]


def spec(copy: str, mode: str = "snapshot", **extra) -> RestoreSpec:
    tags = ownership_tags("run1", "backup-restore-test", (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "db")
    return RestoreSpec(
        kind="rds_instance",
        mode=mode,
        source_id="ledger-db",
        source_region=REGION,
        region=REGION,
        copy_name=copy,
        tags=tuple(tags.items()),
        instance_class="db.t3.micro",
        **extra,
    )


def context(tmp_path, clients: AwsClients) -> RestoreContext:
    policy = Policy.model_validate({"restore": {"poll_interval": "1s", "require_isolation": False}})
    return RestoreContext(
        run_id="run1",
        policy=policy,
        clients=clients,
        store=LocalEvidenceStore(tmp_path),
        run_dir="run",
        poll_seconds=0.05,
    )


@pytest.fixture
def owned_copy(aws, strict_aws):
    """ledger-db, and an available copy of it that the tool owns (drt- name, ownership tags)."""
    EstateBuilder(in_process_mock=True).rds_instance(REGION, "ledger-db", retention=7)
    rds = boto3.client("rds", region_name=REGION)
    snapshot = rds.describe_db_snapshots(DBInstanceIdentifier="ledger-db")["DBSnapshots"][0]["DBSnapshotIdentifier"]
    copy = spec("drt-run1-ledger")
    rds.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier=copy.copy_name, DBSnapshotIdentifier=snapshot, Tags=list(copy.tag_list)
    )
    strict_aws.settle()
    return copy


def test_a_copy_the_last_poll_saw_is_deleted_first_and_the_interlock_still_reads_its_tags(owned_copy, tmp_path):
    clients = AwsClients()
    calls = Calls()
    calls.watch(clients, "rds")
    assert _teardown(context(tmp_path, clients), rds_instance, owned_copy, owned_copy.copy_name, present=True) == (
        "deleted",
        None,
    )
    # One describe before the delete: the interlock's, which checks the ownership tag.
    assert calls.ops()[:2] == ["DescribeDBInstances", "DeleteDBInstance"]
    assert calls.ops()[2:] and set(calls.ops()[2:]) == {"DescribeDBInstances"}  # confirmed gone


def test_without_a_recent_poll_the_teardown_looks_before_it_deletes(owned_copy, tmp_path):
    clients = AwsClients()
    calls = Calls()
    calls.watch(clients, "rds")
    assert _teardown(context(tmp_path, clients), rds_instance, owned_copy, owned_copy.copy_name) == ("deleted", None)
    assert calls.ops()[:3] == ["DescribeDBInstances", "DescribeDBInstances", "DeleteDBInstance"]


def test_a_copy_gone_since_the_last_poll_is_deleted_not_left(owned_copy, tmp_path):
    """The interlock finds nothing to own and refuses; a describe then tells 'gone' from 'not ours'."""
    boto3.client("rds", region_name=REGION).delete_db_instance(
        DBInstanceIdentifier=owned_copy.copy_name, SkipFinalSnapshot=True
    )
    outcome = _teardown(context(tmp_path, AwsClients()), rds_instance, owned_copy, owned_copy.copy_name, present=True)
    assert outcome == ("deleted", None)


def test_a_throttled_ownership_read_is_asked_again_not_taken_for_not_ours(
    owned_copy, strict_aws, tmp_path, monkeypatch
):
    """The interlock reads the copy's tags before the delete; botocore gives up on that read (throttled at each
    of its attempts): the teardown asks again on its next poll and deletes the copy, never leaves it."""
    attempts = 2
    config = AwsClients.config
    monkeypatch.setattr(
        AwsClients, "config", lambda self: config(self).merge(Config(retries={"total_max_attempts": attempts}))
    )
    clients = AwsClients()
    strict_aws.throttle_next(
        "rds", "DescribeDBInstances", attempts, lambda param: param("DBInstanceIdentifier") == owned_copy.copy_name
    )
    before = strict_aws.throttled
    assert _teardown(context(tmp_path, clients), rds_instance, owned_copy, owned_copy.copy_name, present=True) == (
        "deleted",
        None,
    )
    assert strict_aws.throttled - before == attempts
    rds = boto3.client("rds", region_name=REGION)
    assert (
        rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [owned_copy.copy_name]}])["DBInstances"]
        == []
    )


def test_a_copy_not_ours_is_still_refused_and_left_when_the_last_poll_saw_it(aws, strict_aws, tmp_path):
    EstateBuilder(in_process_mock=True).rds_instance(REGION, "ledger-db", retention=7)
    rds = boto3.client("rds", region_name=REGION)
    snapshot = rds.describe_db_snapshots(DBInstanceIdentifier="ledger-db")["DBSnapshots"][0]["DBSnapshotIdentifier"]
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="drt-someone-else", DBSnapshotIdentifier=snapshot)
    strict_aws.settle()
    status, reason = _teardown(
        context(tmp_path, AwsClients()), rds_instance, spec("drt-someone-else"), "drt-someone-else", present=True
    )
    assert status == "left" and "refused" in reason
    assert rds.describe_db_instances(DBInstanceIdentifier="drt-someone-else")["DBInstances"]


def test_a_snapshot_and_a_point_in_time_restore_of_one_source_read_it_once_for_its_configuration(
    aws, strict_aws, tmp_path
):
    EstateBuilder(in_process_mock=True).rds_instance(REGION, "ledger-db", retention=7)
    clients = AwsClients()
    calls = Calls()
    calls.watch(clients, "rds")
    ctx = context(tmp_path, clients)
    for mode in ("pitr-latest", "snapshot"):
        target = restore_target("rds_instance", "ledger-db", mode)
        m = perform_restore(target, [], replace(ctx))
        assert (m.status, m.cleanup) == ("passed", "deleted"), m.error
    # The point-in-time restore's own read (fresh: LatestRestorableTime) is the only read of the source.
    assert calls.count(("DescribeDBInstances", "ledger-db")) == 1
    assert calls.ops().count("DescribeDBSnapshots") == 2  # automated and manual, then AWS Backup's


def test_groups_and_keys_a_copy_needs_are_looked_up_once_per_run_and_region(aws, strict_aws):
    rds = boto3.client("rds", region_name=REGION)
    rds.create_db_parameter_group(DBParameterGroupName="app-pg", DBParameterGroupFamily="mysql8.0", Description="a")
    key = boto3.client("kms", region_name=REGION).create_key()["KeyMetadata"]["KeyId"]
    clients = AwsClients()
    calls = Calls()
    calls.watch(clients, "rds")
    calls.watch(clients, "kms")
    config = CopyConfig(groups=((PARAMETER_GROUP, "app-pg"),), kms_key=key)
    for n in range(5):
        ensure_carried(clients, spec(f"drt-run1-{n}"), config)
    assert calls == [("DescribeDBParameterGroups", "app-pg"), ("DescribeKey", key)]
    # A group that is missing is missing for every restore of the run, each failing with the reason.
    missing = CopyConfig(groups=((PARAMETER_GROUP, "nope"),))
    for n in range(2):
        with pytest.raises(NotCarried, match="'nope' does not exist in us-east-2"):
            ensure_carried(clients, spec(f"drt-run1-{n}"), missing)
    assert calls.ops().count("DescribeDBParameterGroups") == 2
    # Another run (its own clients) looks again.
    again = AwsClients()
    ensure_carried(again, spec("drt-run2-0"), config)


def _available_copies(strict_aws, name: str, count: int) -> tuple[object, list[str]]:
    """`count` available copies (drt-run1-<name><n>) of a database restored from its snapshot; an RDS client."""
    EstateBuilder(in_process_mock=True).rds_instance(REGION, "ledger-db", retention=7)
    rds = boto3.client("rds", region_name=REGION)
    snapshot = rds.describe_db_snapshots(DBInstanceIdentifier="ledger-db")["DBSnapshots"][0]["DBSnapshotIdentifier"]
    copies = [f"drt-run1-{name}{n}" for n in range(count)]
    for copy in copies:
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier=copy, DBSnapshotIdentifier=snapshot)
    strict_aws.settle()
    return rds, copies


def test_copies_polled_at_once_share_describes_and_each_answer_is_newer_than_its_poll(aws, strict_aws):
    rds, copies = _available_copies(strict_aws, "copy", 6)
    clients = AwsClients()
    calls = Calls()
    calls.watch(clients, "rds")
    poller = instance_poller(clients, REGION, None)
    assert instance_poller(clients, REGION, None) is poller  # one per run, account and region

    # Every read takes 0.2 s, as a busy API's may: the polls that ask meanwhile wait for one read together.
    # (Without it, on a quiet machine each thread could finish its polls before the next one starts.)
    @strict_aws.requests.on("rds", "DescribeDBInstances", first=True)
    def slow(response, proceed):
        time.sleep(0.2)
        return proceed()

    start = threading.Barrier(len(copies))

    def poll(copy: str) -> list[str | None]:
        start.wait()
        return [(poller.describe(copy) or {}).get("DBInstanceIdentifier") for _ in range(5)]

    with ThreadPoolExecutor(len(copies)) as pool:
        answers = list(pool.map(poll, copies))
    strict_aws.requests.hooks[("rds", "DescribeDBInstances")].remove(slow)
    assert answers == [[copy] * 5 for copy in copies]  # each poll its own copy, every time
    assert len(calls) < 6 * 5 / 2  # shared reads: at most one read per round of polls, plus the first
    # Sequentially, each poll reads anew: a delete in between is seen by the next poll.
    rds.delete_db_instance(DBInstanceIdentifier=copies[0], SkipFinalSnapshot=True)
    assert poller.describe(copies[0])["DBInstanceStatus"] == "deleting"
    assert poller.describe("drt-run1-never-made") is None


def test_polls_asked_again_at_once_get_one_read_per_interval_between_them(aws, strict_aws):
    """PACED_STATE: callers ask again as soon as they have an answer; the poller, not each caller, waits
    the interval. Four copies polled four times each: reads start at least an interval apart, each answers
    every copy, and every answer is still from a read started after its poll asked."""
    _, copies = _available_copies(strict_aws, "paced", 4)
    interval = 0.3
    poller = instance_poller(AwsClients(), REGION, None, interval)
    reads: list[float] = []
    poller.client.meta.events.register(
        "before-call.rds.DescribeDBInstances", lambda **_: reads.append(time.monotonic())
    )
    start = threading.Barrier(len(copies))

    def poll(copy: str) -> list[tuple[float, str | None]]:
        start.wait()
        answers = []
        for _ in range(4):
            asked = time.monotonic()
            answers.append((asked, (poller.describe(copy) or {}).get("DBInstanceIdentifier")))
        return answers

    with ThreadPoolExecutor(len(copies)) as pool:
        answers = list(pool.map(poll, copies))
    assert [[copy for _, copy in polls] for polls in answers] == [[copy] * 4 for copy in copies]
    gaps = [later - earlier for earlier, later in zip(reads, reads[1:], strict=False)]
    assert gaps and min(gaps) >= interval * 0.8, gaps  # paced: without it, reads follow one another at once
    assert len(reads) <= 5  # each read answers every copy (the first may catch only the first poll)
    # Every poll's answer came from a read that started after the poll asked.
    for polls in answers:
        for asked, _ in polls:
            assert any(read >= asked for read in reads)


def _two_sources_restored_both_ways() -> tuple[AwsClients, Calls, list]:
    """ledger-db and orders-db (7 days of backups), each restored from a snapshot and to a point in time,
    with every RDS call of the run's clients recorded."""
    builder = EstateBuilder(in_process_mock=True)
    for name in ("ledger-db", "orders-db"):
        builder.rds_instance(REGION, name, retention=7)
    clients = AwsClients()
    calls = Calls()
    calls.watch(clients, "rds")
    targets = [
        restore_target("rds_instance", source, mode)
        for source in ("ledger-db", "orders-db")
        for mode in ("snapshot", "pitr-latest")
    ]
    return clients, calls, targets


def test_the_runs_sources_are_read_in_one_call_before_the_restores_and_not_again(aws, strict_aws, tmp_path):
    clients, calls, targets = _two_sources_restored_both_ways()
    prefetch_sources(targets, clients)
    assert calls == [("DescribeDBInstances", None)]  # one read, both sources (a db-instance-id filter)
    ctx = context(tmp_path, clients)
    for t in targets[::2]:  # the snapshot restores: no read of their source of their own
        m = perform_restore(t, [], replace(ctx))
        assert (m.status, m.cleanup) == ("passed", "deleted"), m.error
        assert m.configuration  # carried from the read made before
    assert ("DescribeDBInstances", "ledger-db") not in calls and ("DescribeDBInstances", "orders-db") not in calls
    assert calls.ops().count("DescribeDBSnapshots") == 4  # each restore's own, fresh: two listings each


def test_the_restores_that_begin_at_once_take_their_recovery_points_from_the_runs_first_read(aws, strict_aws, tmp_path):
    clients, calls, targets = _two_sources_restored_both_ways()
    prefetch_sources(targets, clients, starting=2)  # ledger-db's two restores begin at once
    # The sources in one read, the snapshots of the snapshot restores beginning at once in one listing each.
    assert calls == [("DescribeDBInstances", None), ("DescribeDBSnapshots", None), ("DescribeDBSnapshots", None)]
    ctx = context(tmp_path, clients)
    begun = [perform_restore(t, [], replace(ctx)) for t in targets[:2]]
    assert calls.ops().count("DescribeDBSnapshots") == 2 and ("DescribeDBInstances", "ledger-db") not in calls

    fresh = AwsClients()  # what each restore would have read for itself
    snapshot = rds_instance.recovery_point(fresh, spec("c1"))
    latest = rds_instance.recovery_point(fresh, spec("c2", "pitr-latest"))
    assert (begun[0].recovery_point, begun[0].recovery_point_time) == (snapshot.identifier, snapshot.time)
    assert begun[0].recovery_mechanism == snapshot.mechanism == "RDS automated backups"
    assert begun[1].recovery_point == "latest" and begun[1].recovery_mechanism == latest.mechanism
    assert timedelta(0) <= latest.time - begun[1].recovery_point_time < timedelta(seconds=30)
    assert all((m.status, m.cleanup) == ("passed", "deleted") for m in begun), [m.error for m in begun]

    # The restores that would wait for a slot, and any restore run again, read their own when they begin.
    del calls[:]
    later = [perform_restore(t, [], replace(ctx)) for t in (*targets[2:], targets[0])]
    assert all(m.status == "passed" for m in later), [m.error for m in later]
    assert calls.ops().count("DescribeDBSnapshots") == 4  # two listings for each snapshot restore
    assert ("DescribeDBInstances", "orders-db") in calls


def test_recovery_snapshots_are_found_whatever_the_case_of_the_identifier_asked(aws, strict_aws):
    EstateBuilder(in_process_mock=True).rds_instance(REGION, "ledger-db", retention=7)
    client = AwsClients().client("rds", REGION)
    # RDS stores identifiers in lowercase; a runbook may name the database in any case.
    listed = rds_reads.recovery_snapshots_of(client, ["Ledger-DB", "ledger-db"])
    assert listed["Ledger-DB"] and listed["Ledger-DB"] == listed["ledger-db"] == rds_reads.recovery_snapshots(
        client, "LEDGER-DB"
    )
    assert {s["DBInstanceIdentifier"] for s in listed["ledger-db"]} == {"ledger-db"}
