"""The safety interlock refuses every mutation of something this tool did not create."""

from __future__ import annotations

import pytest

from tasks.aws.clients import AwsClients
from tasks.aws.guard import UnsafeOperation, allow_drill, ownership_tags
from tasks.demo.builder import EstateBuilder

OURS = [{"Key": k, "Value": v} for k, v in ownership_tags("run-1", "test", "2099-01-01T00:00:00+00:00", "src").items()]


@pytest.fixture
def rds(aws):
    EstateBuilder(in_process_mock=True).rds_instance("us-east-1", "prod-db")
    return AwsClients().client("rds", "us-east-1")


def snapshot_of(rds, instance="prod-db") -> str:
    return rds.describe_db_snapshots(DBInstanceIdentifier=instance)["DBSnapshots"][0]["DBSnapshotIdentifier"]


@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.delete_db_instance(DBInstanceIdentifier="prod-db", SkipFinalSnapshot=True),
        lambda c: c.modify_db_instance(DBInstanceIdentifier="prod-db", MultiAZ=False, ApplyImmediately=True),
        lambda c: c.reboot_db_instance(DBInstanceIdentifier="prod-db", ForceFailover=True),
        lambda c: c.add_tags_to_resource(ResourceName="arn:aws:rds:us-east-1:123456789012:db:prod-db", Tags=OURS),
    ],
)
def test_production_is_never_changed(rds, call):
    with pytest.raises(UnsafeOperation, match="refused"):
        call(rds)
    assert (
        rds.describe_db_instances(DBInstanceIdentifier="prod-db")["DBInstances"][0]["DBInstanceStatus"] == "available"
    )


def test_copies_need_both_the_prefix_and_the_tags(rds):
    snapshot = snapshot_of(rds)
    with pytest.raises(UnsafeOperation):
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="drt-copy", DBSnapshotIdentifier=snapshot)
    with pytest.raises(UnsafeOperation):
        rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="copy", DBSnapshotIdentifier=snapshot, Tags=OURS)
    rds.restore_db_instance_from_db_snapshot(DBInstanceIdentifier="drt-copy", DBSnapshotIdentifier=snapshot, Tags=OURS)
    rds.delete_db_instance(DBInstanceIdentifier="drt-copy", SkipFinalSnapshot=True)


def test_a_prefixed_name_is_not_enough_to_delete(rds):
    raw = EstateBuilder(in_process_mock=True).client("rds", "us-east-1")
    raw.restore_db_instance_from_db_snapshot(
        DBInstanceIdentifier="drt-someone-elses", DBSnapshotIdentifier=snapshot_of(rds)
    )
    with pytest.raises(UnsafeOperation):
        rds.delete_db_instance(DBInstanceIdentifier="drt-someone-elses", SkipFinalSnapshot=True)


def test_a_drill_is_allowed_only_for_its_operation_and_target(rds):
    with allow_drill("RebootDBInstance", "prod-db"):
        rds.reboot_db_instance(DBInstanceIdentifier="prod-db", ForceFailover=True)
        with pytest.raises(UnsafeOperation):
            rds.delete_db_instance(DBInstanceIdentifier="prod-db", SkipFinalSnapshot=True)
    with pytest.raises(UnsafeOperation):
        rds.reboot_db_instance(DBInstanceIdentifier="prod-db", ForceFailover=True)


def test_unknown_mutations_are_refused_and_reads_pass(aws):
    s3 = AwsClients().client("s3", "us-east-1")
    with pytest.raises(UnsafeOperation, match="not an operation this tool is allowed"):
        s3.put_bucket_policy(Bucket="drt-x", Policy="{}")
    with pytest.raises(UnsafeOperation):
        s3.create_bucket(Bucket="production-bucket")
    assert s3.list_buckets()["Buckets"] == []


def test_a_volume_needs_the_drt_name_as_well_as_the_owner_tag(aws):
    """docs/safety.md promises both proofs for every copy; a volume someone tagged with our owner tag stays."""
    raw = EstateBuilder(in_process_mock=True).client("ec2", "us-east-1")
    ec2 = AwsClients().client("ec2", "us-east-1")
    foreign = raw.create_volume(
        AvailabilityZone="us-east-1a",
        Size=1,
        TagSpecifications=[{"ResourceType": "volume", "Tags": OURS + [{"Key": "Name", "Value": "prod-data"}]}],
    )["VolumeId"]
    with pytest.raises(UnsafeOperation):
        ec2.delete_volume(VolumeId=foreign)
    with pytest.raises(UnsafeOperation):  # creating one without the name is refused too
        ec2.create_volume(
            AvailabilityZone="us-east-1a", Size=1, TagSpecifications=[{"ResourceType": "volume", "Tags": OURS}]
        )
    ours = ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=1,
        TagSpecifications=[{"ResourceType": "volume", "Tags": OURS + [{"Key": "Name", "Value": "drt-copy"}]}],
    )["VolumeId"]
    ec2.delete_volume(VolumeId=ours)
    assert [v["VolumeId"] for v in raw.describe_volumes()["Volumes"]] == [foreign]
