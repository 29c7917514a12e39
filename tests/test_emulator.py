"""The strict AWS layer (tasks/emulator): each rule shown with plain boto3 calls, as AWS documents it.

Every test runs in-process (mock_aws) unless it says otherwise; the last ones run the same rules through
ThreadedMotoServer. Transitions here outlast any test (the `strict` marker): a test moves time on with
`strict_aws.settle()`, so what it reads mid-transition does not depend on how loaded the machine is. The
tests that show time passing by itself use short transitions and assert only "not before" (see `transition`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tasks.emulator.timeline import windows_opened

pytestmark = pytest.mark.strict(seconds=600)

PASSWORD = "password1"


def code(call) -> str | None:
    try:
        call()
    except ClientError as exc:
        return exc.response["Error"]["Code"]
    return None


def wait_for(read, wanted, timeout=30.0):
    """The first value `read` returns that is `wanted`, or the last one read once `timeout` has passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value == wanted or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def transition(began: float, read, busy: str, done: str, seconds: float, timeout: float = 120.0) -> list:
    """Read until `done`: every read shows `busy` or `done`, and `done` never sooner than `seconds` after
    `began` (time.monotonic() taken before the call that began the transition). No upper bound but
    `timeout`: a loaded machine may read late, never early. Returns what was read."""
    seen = []
    while True:
        value = read()
        elapsed = time.monotonic() - began
        seen.append(value)
        if value == done:
            assert elapsed >= seconds, f"{done} after {elapsed:.3f} s, before {seconds} s: {seen}"
            return seen
        assert value == busy, seen
        assert elapsed < timeout, f"still {busy} after {elapsed:.0f} s"
        time.sleep(0.05)


def rds(region="us-east-1", **kwargs):
    return boto3.client("rds", region_name=region, **kwargs)


def instance(client, name, **kwargs):
    params = {
        "DBInstanceIdentifier": name,
        "DBInstanceClass": "db.t3.micro",
        "Engine": "postgres",
        "MasterUsername": "admin1",
        "MasterUserPassword": PASSWORD,
        "BackupRetentionPeriod": 7,
    }
    params.update(kwargs)
    return client.create_db_instance(**params)["DBInstance"]


def instance_status(client, name):
    return client.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["DBInstanceStatus"]


def cluster_status(client, name):
    return client.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["Status"]


def aurora(client, name):
    client.create_db_cluster(
        DBClusterIdentifier=name,
        Engine="aurora-postgresql",
        MasterUsername="admin1",
        MasterUserPassword=PASSWORD,
        BackupRetentionPeriod=7,
    )


# --- RDS ------------------------------------------------------------------------------------------


@pytest.mark.strict(seconds=0.5)
def test_a_new_instance_is_creating_until_its_time_is_up(aws, strict_aws):
    client = rds()
    began = time.monotonic()
    assert instance(client, "db1")["DBInstanceStatus"] == "creating"
    transition(began, lambda: instance_status(client, "db1"), "creating", "available", 0.5)
    # boto3's own waiter works against it (with a short delay).
    client.get_waiter("db_instance_available").wait(
        DBInstanceIdentifier="db1", WaiterConfig={"Delay": 1, "MaxAttempts": 3}
    )


@pytest.mark.strict(seconds=0.0, restore_seconds=0.5)
def test_each_kind_of_operation_takes_its_own_configured_time(aws, strict_aws):
    client = rds()
    assert instance(client, "db1")["DBInstanceStatus"] == "available"  # creates: 0 s here
    snapshot = client.describe_db_snapshots(DBInstanceIdentifier="db1")["DBSnapshots"][0]["DBSnapshotIdentifier"]
    began = time.monotonic()
    restored = client.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="copy1", DBSnapshotIdentifier=snapshot)
    assert restored["DBInstance"]["DBInstanceStatus"] == "creating"
    transition(began, lambda: instance_status(client, "copy1"), "creating", "available", 0.5)


def test_an_instance_joins_a_cluster_only_once_the_cluster_is_available(aws, strict_aws):
    client = rds()
    aurora(client, "aur")
    assert cluster_status(client, "aur") == "creating"
    writer = {
        "DBInstanceIdentifier": "aur-w",
        "DBClusterIdentifier": "aur",
        "Engine": "aurora-postgresql",
        "DBInstanceClass": "db.r6g.large",
    }
    assert code(lambda: client.create_db_instance(**writer)) == "InvalidDBClusterStateFault"
    strict_aws.settle()
    assert cluster_status(client, "aur") == "available"
    assert client.create_db_instance(**writer)["DBInstance"]["DBInstanceStatus"] == "creating"
    strict_aws.settle()
    assert instance_status(client, "aur-w") == "available"


def test_deleting_an_instance_needs_skip_final_snapshot_or_a_final_snapshot(aws, strict_aws):
    client = rds()
    instance(client, "db1")
    strict_aws.settle()
    assert code(lambda: client.delete_db_instance(DBInstanceIdentifier="db1")) == "InvalidParameterCombination"
    assert (
        code(
            lambda: client.delete_db_instance(
                DBInstanceIdentifier="db1", SkipFinalSnapshot=True, FinalDBSnapshotIdentifier="last"
            )
        )
        == "InvalidParameterCombination"
    )
    assert instance_status(client, "db1") == "available"  # refused calls changed nothing

    client.delete_db_instance(DBInstanceIdentifier="db1", FinalDBSnapshotIdentifier="db1-final")
    assert instance_status(client, "db1") == "deleting"
    assert (
        code(lambda: client.delete_db_instance(DBInstanceIdentifier="db1", SkipFinalSnapshot=True))
        == "InvalidDBInstanceState"
    )
    strict_aws.settle()
    assert code(lambda: instance_status(client, "db1")) == "DBInstanceNotFound"
    final = client.describe_db_snapshots(DBSnapshotIdentifier="db1-final")["DBSnapshots"][0]
    assert final["SnapshotType"] == "manual"


def test_a_cluster_is_deleted_only_without_members_and_with_a_final_snapshot_choice(aws, strict_aws):
    client = rds()
    aurora(client, "aur")
    strict_aws.settle()
    client.create_db_instance(
        DBInstanceIdentifier="aur-w",
        DBClusterIdentifier="aur",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
    )
    strict_aws.settle()
    assert code(lambda: client.delete_db_cluster(DBClusterIdentifier="aur")) == "InvalidParameterCombination"
    assert (
        code(lambda: client.delete_db_cluster(DBClusterIdentifier="aur", SkipFinalSnapshot=True))
        == "InvalidDBClusterStateFault"
    )
    # An Aurora member needs no final-snapshot choice; while it is `deleting` it still holds the cluster.
    client.delete_db_instance(DBInstanceIdentifier="aur-w")
    assert (
        code(lambda: client.delete_db_cluster(DBClusterIdentifier="aur", SkipFinalSnapshot=True))
        == "InvalidDBClusterStateFault"
    )
    strict_aws.settle()
    assert code(lambda: instance_status(client, "aur-w")) == "DBInstanceNotFound"
    client.delete_db_cluster(DBClusterIdentifier="aur", SkipFinalSnapshot=True)
    assert cluster_status(client, "aur") == "deleting"
    strict_aws.settle()
    assert code(lambda: cluster_status(client, "aur")) == "DBClusterNotFoundFault"


def test_latest_restorable_time_trails_now_by_the_configured_lag(aws, strict_aws):
    client = rds()
    instance(client, "db1")
    aurora(client, "aur")
    now = datetime.now(UTC)
    latest = client.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]["LatestRestorableTime"]
    cluster = client.describe_db_clusters(DBClusterIdentifier="aur")["DBClusters"][0]
    for value in (latest, cluster["LatestRestorableTime"]):
        assert timedelta(minutes=4) < now - value < timedelta(minutes=6)
    assert now - cluster["EarliestRestorableTime"] > timedelta(days=6)  # retention 7 days


def test_automated_snapshots_are_daily_in_the_backup_window_not_at_creation(aws, strict_aws):
    client = rds()
    now = datetime.now(UTC)
    start = now - timedelta(hours=3)
    window, maintenance = windows_opened(timedelta(hours=3), now)
    instance(client, "db1", PreferredBackupWindow=window, PreferredMaintenanceWindow=maintenance)
    automated = client.describe_db_snapshots(DBInstanceIdentifier="db1", SnapshotType="automated")["DBSnapshots"]
    assert len(automated) == 1
    taken = automated[0]["SnapshotCreateTime"]
    assert taken == start.replace(second=0, microsecond=0)
    assert automated[0]["DBSnapshotIdentifier"] == f"rds:db1-{start:%Y-%m-%d-%H-%M}"
    assert automated[0]["Status"] == "available"


def test_no_automated_backups_without_retention(aws, strict_aws):
    client = rds()
    instance(client, "db0", BackupRetentionPeriod=0)
    assert client.describe_db_snapshots(DBInstanceIdentifier="db0")["DBSnapshots"] == []
    assert "LatestRestorableTime" not in client.describe_db_instances(DBInstanceIdentifier="db0")["DBInstances"][0]
    assert (
        code(
            lambda: client.restore_db_instance_to_point_in_time(
                SourceDBInstanceIdentifier="db0", TargetDBInstanceIdentifier="drt-0", UseLatestRestorableTime=True
            )
        )
        == "PointInTimeRestoreNotEnabled"
    )


def test_point_in_time_restores_honour_restore_time(aws, strict_aws):
    client = rds()
    instance(client, "db1")
    now = datetime.now(UTC)
    restore = {"SourceDBInstanceIdentifier": "db1", "TargetDBInstanceIdentifier": "drt-1"}
    assert (
        code(lambda: client.restore_db_instance_to_point_in_time(RestoreTime=now, **restore)) == "InvalidRestoreFault"
    )  # now is later than LatestRestorableTime
    assert (
        code(lambda: client.restore_db_instance_to_point_in_time(RestoreTime=now - timedelta(days=8), **restore))
        == "InvalidRestoreFault"
    )
    assert (
        code(
            lambda: client.restore_db_instance_to_point_in_time(
                RestoreTime=now - timedelta(hours=1), UseLatestRestorableTime=True, **restore
            )
        )
        == "InvalidParameterCombination"
    )
    client.restore_db_instance_to_point_in_time(RestoreTime=now - timedelta(hours=1), **restore)
    assert instance_status(client, "drt-1") == "creating"
    # A restored copy gets its first automated backup in a later window, not one from before it existed.
    assert client.describe_db_snapshots(DBInstanceIdentifier="drt-1")["DBSnapshots"] == []


def test_aurora_point_in_time_restore_honours_restore_to_time(aws, strict_aws):
    client = rds()
    aurora(client, "aur")
    restore = {"SourceDBClusterIdentifier": "aur", "DBClusterIdentifier": "drt-aur"}
    assert (
        code(lambda: client.restore_db_cluster_to_point_in_time(RestoreToTime=datetime.now(UTC), **restore))
        == "InvalidRestoreFault"
    )
    client.restore_db_cluster_to_point_in_time(RestoreToTime=datetime.now(UTC) - timedelta(hours=2), **restore)
    assert cluster_status(client, "drt-aur") == "creating"


@pytest.mark.strict(seconds=0)
def test_an_aurora_cluster_and_its_restores_have_aurora_storage_not_gp2(aws, strict_aws):
    client = rds()
    aurora(client, "aur")
    client.create_db_cluster(
        DBClusterIdentifier="aur-io",
        Engine="aurora-mysql",
        MasterUsername="admin1",
        MasterUserPassword=PASSWORD,
        StorageType="aurora-iopt1",
    )

    def storage(name):
        return client.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]["StorageType"]

    assert (storage("aur"), storage("aur-io")) == ("aurora", "aurora-iopt1")
    # A restore gets aurora unless it asks for another type, whatever its source's (the same pages).
    restore = {"SourceDBClusterIdentifier": "aur-io", "UseLatestRestorableTime": True}
    client.restore_db_cluster_to_point_in_time(DBClusterIdentifier="drt-io", **restore)
    client.restore_db_cluster_to_point_in_time(DBClusterIdentifier="drt-io2", StorageType="aurora-iopt1", **restore)
    client.create_db_cluster_snapshot(DBClusterIdentifier="aur-io", DBClusterSnapshotIdentifier="io-snap")
    client.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="drt-snap", SnapshotIdentifier="io-snap", Engine="aurora-mysql"
    )
    client.restore_db_cluster_from_snapshot(
        DBClusterIdentifier="drt-snap2", SnapshotIdentifier="io-snap", Engine="aurora-mysql", StorageType="aurora-iopt1"
    )
    assert [storage(n) for n in ("drt-io", "drt-io2", "drt-snap", "drt-snap2")] == [
        "aurora",
        "aurora-iopt1",
        "aurora",
        "aurora-iopt1",
    ]


def test_snapshot_copies_take_time_and_name_their_source(aws, strict_aws):
    east, west = rds(), rds("us-west-2")
    instance(east, "db1")
    source = east.describe_db_snapshots(DBInstanceIdentifier="db1")["DBSnapshots"][0]
    west.copy_db_snapshot(
        SourceDBSnapshotIdentifier=source["DBSnapshotArn"],
        TargetDBSnapshotIdentifier="db1-dr",
        SourceRegion="us-east-1",
        CopyTags=True,
    )
    copy = west.describe_db_snapshots(DBSnapshotIdentifier="db1-dr")["DBSnapshots"][0]
    assert copy["Status"] == "creating"
    assert copy["SourceDBSnapshotIdentifier"] == source["DBSnapshotArn"]
    assert copy["SourceRegion"] == "us-east-1"
    assert copy["SnapshotType"] == "manual"
    assert copy["OriginalSnapshotCreateTime"] == source["SnapshotCreateTime"]
    # Nothing restores from a snapshot that is still being copied.
    assert (
        code(
            lambda: west.restore_db_instance_from_db_snapshot(
                DBInstanceIdentifier="drt-1", DBSnapshotIdentifier="db1-dr"
            )
        )
        == "InvalidDBSnapshotState"
    )
    strict_aws.settle()
    assert west.describe_db_snapshots(DBSnapshotIdentifier="db1-dr")["DBSnapshots"][0]["Status"] == "available"
    west.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="drt-1", DBSnapshotIdentifier="db1-dr")


def test_cluster_snapshot_copies_record_the_source_arn(aws, strict_aws):
    east, west = rds(), rds("us-west-2")
    aurora(east, "aur")
    source = east.describe_db_cluster_snapshots(DBClusterIdentifier="aur")["DBClusterSnapshots"][0]
    assert source["DBClusterSnapshotIdentifier"].startswith("rds:aur-")
    west.copy_db_cluster_snapshot(
        SourceDBClusterSnapshotIdentifier=source["DBClusterSnapshotArn"],
        TargetDBClusterSnapshotIdentifier="aur-dr",
        SourceRegion="us-east-1",
    )
    copy = west.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="aur-dr")["DBClusterSnapshots"][0]
    assert copy["SourceDBClusterSnapshotArn"] == source["DBClusterSnapshotArn"]
    assert copy["Status"] == "creating"
    assert (
        code(
            lambda: west.restore_db_cluster_from_snapshot(
                DBClusterIdentifier="drt-aur", SnapshotIdentifier="aur-dr", Engine="aurora-postgresql"
            )
        )
        == "InvalidDBClusterSnapshotStateFault"
    )


# --- DynamoDB -------------------------------------------------------------------------------------


def table(client, name):
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
    )


def table_status(client, name):
    return client.describe_table(TableName=name)["Table"]["TableStatus"]


def test_dynamodb_restores_are_creating_and_cannot_be_deleted_until_active(aws, strict_aws):
    client = boto3.client("dynamodb", region_name="us-east-1")
    table(client, "orders")
    strict_aws.settle()
    restore = {"SourceTableName": "orders", "TargetTableName": "drt-orders", "UseLatestRestorableTime": True}
    assert code(lambda: client.restore_table_to_point_in_time(**restore)) == "PointInTimeRecoveryUnavailableException"
    client.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    restored = client.restore_table_to_point_in_time(**restore)["TableDescription"]
    assert restored["TableStatus"] == "CREATING"
    assert restored["RestoreSummary"]["RestoreInProgress"] is True
    assert code(lambda: client.delete_table(TableName="drt-orders")) == "ResourceInUseException"
    strict_aws.settle()
    assert table_status(client, "drt-orders") == "ACTIVE"
    assert client.delete_table(TableName="drt-orders")["TableDescription"]["TableStatus"] == "DELETING"
    assert client.delete_table(TableName="drt-orders")["TableDescription"]["TableStatus"] == "DELETING"
    strict_aws.settle()
    assert code(lambda: table_status(client, "drt-orders")) == "ResourceNotFoundException"


def test_dynamodb_point_in_time_restores_stay_within_the_restorable_range(aws, strict_aws):
    client = boto3.client("dynamodb", region_name="us-east-1")
    table(client, "orders")
    client.update_continuous_backups(
        TableName="orders", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    pitr = client.describe_continuous_backups(TableName="orders")["ContinuousBackupsDescription"][
        "PointInTimeRecoveryDescription"
    ]
    now = datetime.now(UTC)
    assert timedelta(minutes=4) < now - pitr["LatestRestorableDateTime"] < timedelta(minutes=6)
    assert now - pitr["EarliestRestorableDateTime"] > timedelta(days=34)
    restore = {"SourceTableName": "orders", "TargetTableName": "drt-orders"}
    assert (
        code(lambda: client.restore_table_to_point_in_time(RestoreDateTime=now, **restore))
        == "InvalidRestoreTimeException"
    )
    wanted = (now - timedelta(hours=1)).replace(microsecond=0)
    restored = client.restore_table_to_point_in_time(RestoreDateTime=wanted, **restore)["TableDescription"]
    assert restored["RestoreSummary"]["RestoreDateTime"] == wanted


# --- EC2 / EBS ------------------------------------------------------------------------------------


def test_ebs_copies_carry_an_arbitrary_volume_id_and_the_aws_description(aws, strict_aws):
    east, west = boto3.client("ec2", region_name="us-east-1"), boto3.client("ec2", region_name="us-west-2")
    volume = east.create_volume(AvailabilityZone="us-east-1a", Size=8)
    assert volume["State"] == "creating"
    snapshot = east.create_snapshot(VolumeId=volume["VolumeId"])
    assert snapshot["State"] == "pending"
    plain = west.copy_snapshot(SourceRegion="us-east-1", SourceSnapshotId=snapshot["SnapshotId"])["SnapshotId"]
    described = west.copy_snapshot(
        SourceRegion="us-east-1", SourceSnapshotId=snapshot["SnapshotId"], Description="dr copy"
    )["SnapshotId"]
    copies = {s["SnapshotId"]: s for s in west.describe_snapshots(SnapshotIds=[plain, described])["Snapshots"]}
    assert copies[plain]["VolumeId"] == "vol-ffffffff"
    assert copies[plain]["Description"] == f"[Copied {snapshot['SnapshotId']} from us-east-1]"
    assert copies[described]["Description"] == "dr copy"
    assert copies[plain]["State"] == "pending"
    # The source volume id finds nothing in the DR region: a copy must be linked some other way.
    assert west.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume["VolumeId"]]}])["Snapshots"] == []
    strict_aws.settle()
    assert west.describe_snapshots(SnapshotIds=[plain])["Snapshots"][0]["State"] == "completed"
    restored = west.create_volume(AvailabilityZone="us-west-2a", SnapshotId=plain)
    assert restored["State"] == "creating"
    strict_aws.settle()
    assert west.describe_volumes(VolumeIds=[restored["VolumeId"]])["Volumes"][0]["State"] == "available"


# --- STS and throttling ---------------------------------------------------------------------------


def _client_from(credentials, service="rds"):
    return boto3.client(
        service,
        region_name="us-east-1",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


@pytest.mark.strict(seconds=0.5, credential_seconds=2.0)  # 2 s: room for a loaded 2-core machine
def test_assumed_role_credentials_expire(aws, strict_aws):
    sts = boto3.client("sts", region_name="us-east-1")
    credentials = sts.assume_role(
        RoleArn="arn:aws:iam::222222222222:role/dr", RoleSessionName="dr-test", DurationSeconds=900
    )["Credentials"]
    assert credentials["Expiration"] - datetime.now(UTC) < timedelta(seconds=2.5)
    client = _client_from(credentials)
    assert client.describe_db_instances()["DBInstances"] == []
    time.sleep(2.1)
    assert code(client.describe_db_instances) == "ExpiredToken"
    assert code(_client_from(credentials, "dynamodb").list_tables) == "ExpiredToken"
    # Fresh credentials work again; the caller's own long-term keys were never affected.
    assert _client_from(
        sts.assume_role(RoleArn="arn:aws:iam::222222222222:role/dr", RoleSessionName="dr-test")["Credentials"]
    ).describe_db_instances()
    assert rds().describe_db_instances()["DBInstances"] == []


def test_duration_seconds_is_honoured_and_credentials_can_be_revoked(aws, strict_aws):
    sts = boto3.client("sts", region_name="us-east-1")
    credentials = sts.assume_role(
        RoleArn="arn:aws:iam::222222222222:role/dr", RoleSessionName="dr-test", DurationSeconds=900
    )["Credentials"]
    left = credentials["Expiration"] - datetime.now(UTC)
    assert timedelta(seconds=890) < left <= timedelta(seconds=900)
    client = _client_from(credentials)
    client.describe_db_instances()
    assert strict_aws.expire_credentials() >= 1
    assert code(client.describe_db_instances) == "ExpiredToken"


@pytest.mark.strict(seconds=0.5, throttle_share=0.5, seed=7)
def test_a_share_of_calls_is_throttled_and_standard_retries_get_through(aws, strict_aws):
    once = rds(config=Config(retries={"mode": "standard", "total_max_attempts": 1}))
    codes = [code(once.describe_db_instances) for _ in range(40)]
    throttled = codes.count("Throttling")
    assert 8 <= throttled <= 32 and set(codes) <= {None, "Throttling"}
    retried = rds(config=Config(retries={"mode": "standard", "max_attempts": 10}))
    for _ in range(3):  # few: each retry backs off for up to seconds
        retried.describe_db_instances()
    dynamo = boto3.client(
        "dynamodb", region_name="us-east-1", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    assert "ThrottlingException" in {code(dynamo.list_tables) for _ in range(20)}
    ec2 = boto3.client(
        "ec2", region_name="us-east-1", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    assert "RequestLimitExceeded" in {code(ec2.describe_volumes) for _ in range(20)}
    assert strict_aws.throttled >= throttled


@pytest.mark.plain_moto(reason="installs and uninstalls a layer of its own to show plain moto comes back")
def test_uninstalling_gives_plain_moto_back(aws):
    from tasks.emulator import StrictAws, StrictConfig, current

    with StrictAws(StrictConfig.fast(5.0)):
        assert instance(rds(), "db1")["DBInstanceStatus"] == "creating"
        with pytest.raises(RuntimeError):
            StrictAws().install()  # one layer per process
    assert current() is None
    assert instance(rds(), "db2")["DBInstanceStatus"] == "available"
    rds().delete_db_instance(DBInstanceIdentifier="db2")  # moto's leniency is back


# --- the same rules inside moto's server ----------------------------------------------------------


@pytest.mark.slow
def test_rules_apply_inside_threaded_moto_server(moto_server, strict_aws):
    client = boto3.client("rds", region_name="us-east-1", endpoint_url=moto_server)
    aurora(client, "aur")
    writer = {
        "DBInstanceIdentifier": "aur-w",
        "DBClusterIdentifier": "aur",
        "Engine": "aurora-postgresql",
        "DBInstanceClass": "db.r6g.large",
    }
    assert code(lambda: client.create_db_instance(**writer)) == "InvalidDBClusterStateFault"
    strict_aws.settle()  # time moves on
    client.get_waiter("db_cluster_available").wait(
        DBClusterIdentifier="aur", WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )
    client.create_db_instance(**writer)
    assert instance_status(client, "aur-w") == "creating"
    strict_aws.settle()
    client.get_waiter("db_instance_available").wait(
        DBInstanceIdentifier="aur-w", WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )
    client.delete_db_instance(DBInstanceIdentifier="aur-w")
    assert (
        code(lambda: client.delete_db_cluster(DBClusterIdentifier="aur", SkipFinalSnapshot=True))
        == "InvalidDBClusterStateFault"
    )
    strict_aws.settle()
    client.get_waiter("db_instance_deleted").wait(
        DBInstanceIdentifier="aur-w", WaiterConfig={"Delay": 1, "MaxAttempts": 5}
    )
    client.delete_db_cluster(DBClusterIdentifier="aur", SkipFinalSnapshot=True)

    ddb = boto3.client("dynamodb", region_name="us-east-1", endpoint_url=moto_server)
    table(ddb, "orders")
    assert table_status(ddb, "orders") == "CREATING"
    assert code(lambda: ddb.delete_table(TableName="orders")) == "ResourceInUseException"

    ec2 = boto3.client("ec2", region_name="us-west-2", endpoint_url=moto_server)
    east = boto3.client("ec2", region_name="us-east-1", endpoint_url=moto_server)
    volume = east.create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]
    snapshot = east.create_snapshot(VolumeId=volume)["SnapshotId"]
    copy = ec2.copy_snapshot(SourceRegion="us-east-1", SourceSnapshotId=snapshot)["SnapshotId"]
    assert ec2.describe_snapshots(SnapshotIds=[copy])["Snapshots"][0]["VolumeId"] == "vol-ffffffff"


@pytest.mark.slow
@pytest.mark.strict(seconds=0)
def test_concurrent_requests_see_a_consistent_estate_inside_threaded_moto_server(moto_server):
    """Describes answer while other threads create and delete instances (moto's dicts alone fail such a
    describe with "mutated during iteration", an HTML 500 that botocore cannot parse). Threads switch
    often here so that the race shows within a few requests."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    config = Config(retries={"mode": "standard", "max_attempts": 1}, max_pool_connections=16)
    client = rds(endpoint_url=moto_server, config=config)
    for i in range(30):
        instance(client, f"steady-{i:02d}")

    def churn(worker: int) -> None:
        for i in range(10):
            name = f"churn-{worker}-{i:02d}"
            instance(client, name)
            client.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)

    def describe(_: int) -> None:
        for i in range(40):
            assert instance_status(client, f"steady-{i % 30:02d}") == "available"

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(churn, w) for w in range(4)] + [pool.submit(describe, w) for w in range(4)]
            for future in futures:
                future.result()  # re-raises a failed describe or create
    finally:
        sys.setswitchinterval(switch)


def test_the_speed_patch_lists_moto_modules_once_the_same_and_goes_on_uninstall():
    from moto import backends

    from tasks.emulator import StrictAws

    original = backends.list_of_moto_modules
    expected = set(original())
    layer = StrictAws().install()
    try:
        patched = backends.list_of_moto_modules
        assert patched is not original
        assert set(patched()) == expected and "rds" in patched() and "__pycache__" not in patched()
        assert patched() is patched()  # computed once
    finally:
        layer.uninstall()
    assert backends.list_of_moto_modules is original
