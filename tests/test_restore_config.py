"""Restored copies carry their source's configuration (parameter and option groups, storage, engine version,
KMS key), the policy's restore.regions may override it per region, and a configuration that cannot be
carried (a group missing in the DR region, no KMS key named) fails that restore with the reason, before
anything is created, while the others go on. Pure mapping on canned AWS payloads, then on the strict layer."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from tasks.actions.restore import RestoreContext, perform_restore
from tasks.aws.clients import AwsClients
from tasks.aws.guard import ownership_tags
from tasks.aws.restore import ebs_volume, rds_cluster, rds_instance
from tasks.aws.restore.base import Isolation, RestoreSpec
from tasks.catalog.load import load_policy
from tasks.catalog.policy import Policy, RestoreRegionPolicy
from tasks.demo.builder import EstateBuilder
from tasks.errors import CatalogError
from tasks.evidence.store import LocalEvidenceStore
from tasks.rules.ebs_copies import COPY_SOURCE_TAG
from tasks.rules.restore_config import (
    Where,
    ebs_volume_config,
    rds_cluster_config,
    rds_instance_config,
    rds_storage,
)
from tests.conftest import write_runbook
from tests.restore_specs import spec, target

SOURCE, DR = "us-east-2", "us-west-1"
DR_POLICY = RestoreRegionPolicy(
    kms_key="alias/dr-restore", db_parameter_groups={"app-pg": "app-pg-dr"}, option_groups={"app-og": "app-og-dr"}
)

# --- pure mapping, canned DescribeDBInstances / DescribeDBClusters / DescribeVolumes payloads ------------

INSTANCE = {
    "DBInstanceIdentifier": "orders-db",
    "Engine": "mysql",
    "EngineVersion": "8.0.36",
    "AllocatedStorage": 500,
    "StorageType": "gp3",
    "Iops": 12000,
    "StorageThroughput": 500,
    "StorageEncrypted": True,
    "KmsKeyId": "arn:aws:kms:us-east-2:123456789012:key/src",
    "DBParameterGroups": [{"DBParameterGroupName": "app-pg", "ParameterApplyStatus": "in-sync"}],
    "OptionGroupMemberships": [{"OptionGroupName": "app-og", "Status": "in-sync"}],
}


def test_in_the_source_region_the_source_groups_and_storage_are_carried_as_they_are():
    config = rds_instance_config(INSTANCE, Where(SOURCE, SOURCE))
    assert config.kwargs == {
        "DBParameterGroupName": "app-pg",
        "OptionGroupName": "app-og",
        "StorageType": "gp3",
        "Iops": 12000,
        "StorageThroughput": 500,
    }
    assert config.groups == () and config.error is None  # the source's own groups: nothing to check
    assert "EngineVersion" not in config.kwargs and "KmsKeyId" not in config.kwargs  # not restore parameters


def test_in_the_dr_region_the_policy_mapping_wins_else_the_same_name_which_must_exist_there():
    mapped = rds_instance_config(INSTANCE, Where(DR, SOURCE, DR_POLICY))
    assert (mapped.kwargs["DBParameterGroupName"], mapped.kwargs["OptionGroupName"]) == ("app-pg-dr", "app-og-dr")
    assert set(mapped.groups) == {("DB parameter group", "app-pg-dr"), ("option group", "app-og-dr")}
    same = rds_instance_config(INSTANCE, Where(DR, SOURCE))
    assert same.kwargs["DBParameterGroupName"] == "app-pg"
    assert set(same.groups) == {("DB parameter group", "app-pg"), ("option group", "app-og")}


def test_default_groups_are_left_to_the_copys_engine_default():
    db = {**INSTANCE, "DBParameterGroups": [{"DBParameterGroupName": "default.mysql8.0"}]}
    db["OptionGroupMemberships"] = [{"OptionGroupName": "default:mysql-8-0"}]
    config = rds_instance_config(db, Where(DR, SOURCE))
    assert "DBParameterGroupName" not in config.kwargs and "OptionGroupName" not in config.kwargs
    assert config.groups == ()


def test_storage_iops_and_throughput_only_where_the_restore_accepts_them():
    assert rds_storage({**INSTANCE, "AllocatedStorage": 100}) == {"StorageType": "gp3"}  # gp3 baseline below 400 GiB
    assert rds_storage({**INSTANCE, "Engine": "oracle-ee", "AllocatedStorage": 250})["Iops"] == 12000
    assert rds_storage({"StorageType": "io2", "Iops": 8000, "StorageThroughput": 0}) == {
        "StorageType": "io2",
        "Iops": 8000,
    }
    assert rds_storage({"StorageType": "gp2", "Iops": 300}) == {"StorageType": "gp2"}


def test_an_encrypted_cluster_copy_in_another_region_needs_that_regions_key():
    cluster = {
        "DBClusterIdentifier": "wiki",
        "StorageEncrypted": True,
        "DBClusterParameterGroup": "wiki-cpg",
        "StorageType": "aurora",
    }
    writer = {"DBParameterGroups": [{"DBParameterGroupName": "wiki-pg"}]}
    missing = rds_cluster_config(cluster, writer, Where(DR, SOURCE))
    assert "needs a KMS key" in missing.error and f"restore.regions.{DR}.kms_key" in missing.error
    keyed = rds_cluster_config(cluster, writer, Where(DR, SOURCE, RestoreRegionPolicy(kms_key="alias/dr")))
    assert keyed.error is None and keyed.kwargs["KmsKeyId"] == keyed.kms_key == "alias/dr"
    assert keyed.kwargs["DBClusterParameterGroupName"] == "wiki-cpg" and keyed.writer_kwargs == {
        "DBParameterGroupName": "wiki-pg"
    }
    in_region = rds_cluster_config(cluster, writer, Where(SOURCE, SOURCE))
    assert in_region.error is None and "KmsKeyId" not in in_region.kwargs  # AWS keeps the snapshot's key


def test_a_volume_copy_keeps_its_type_and_performance():
    volume = {"VolumeId": "vol-1", "VolumeType": "gp3", "Iops": 6000, "Throughput": 250, "Encrypted": False}
    assert ebs_volume_config(volume, Where(DR, SOURCE)).kwargs == {"VolumeType": "gp3", "Iops": 6000, "Throughput": 250}
    io2 = {"VolumeId": "vol-2", "VolumeType": "io2", "Iops": 4000, "Throughput": None, "Encrypted": True}
    assert "needs a KMS key" in ebs_volume_config(io2, Where(DR, SOURCE)).error
    keyed = ebs_volume_config(io2, Where(DR, SOURCE, RestoreRegionPolicy(kms_key="alias/dr")))
    assert keyed.kwargs == {"VolumeType": "io2", "Iops": 4000, "Encrypted": True, "KmsKeyId": "alias/dr"}


# --- policy file ---------------------------------------------------------------------------------------


def test_restore_regions_in_the_policy_file_are_validated_with_their_line(tmp_path):
    good = write_runbook(
        tmp_path,
        "policy.yaml",
        "restore:\n  regions:\n    us-west-1: {kms_key: alias/dr, db_parameter_groups: {app-pg: app-pg-dr}}\n",
    )
    assert load_policy(good).restore.regions["us-west-1"].db_parameter_groups == {"app-pg": "app-pg-dr"}
    bad = write_runbook(
        tmp_path,
        "policy.yaml",
        "restore:\n  regions:\n    us-west-1:\n      kms: alias/dr\n    moon-base-1: {kms_key: alias/dr}\n",
    )
    with pytest.raises(CatalogError) as caught:
        load_policy(bad)
    located = {(p.line, p.field) for p in caught.value.problems}
    assert (4, "restore.regions.us-west-1.kms") in located
    assert any(line == 5 and "moon-base-1" in field for line, field in located)


# --- on the strict layer --------------------------------------------------------------------------------


def kms_alias(region: str, alias: str = "alias/dr-restore") -> str:
    kms = boto3.client("kms", region)
    key = kms.create_key(Description="DR restores")["KeyMetadata"]
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    return key["Arn"]


@pytest.fixture
def mysql(aws, strict_aws):
    """orders-db (MySQL 8.0.36, gp3 500 GiB at 12000 IOPS / 500 MiB/s, its own parameter and option groups)
    with a snapshot copy in the DR region."""
    b = EstateBuilder(in_process_mock=True)
    rds = boto3.client("rds", SOURCE)
    rds.create_db_parameter_group(DBParameterGroupName="app-pg", DBParameterGroupFamily="mysql8.0", Description="app")
    rds.create_option_group(
        OptionGroupName="app-og", EngineName="mysql", MajorEngineVersion="8.0", OptionGroupDescription="app"
    )
    rds.create_db_instance(
        DBInstanceIdentifier="orders-db",
        Engine="mysql",
        EngineVersion="8.0.36",
        DBInstanceClass="db.r6g.large",
        AllocatedStorage=500,
        StorageType="gp3",
        Iops=12000,
        StorageThroughput=500,
        DBParameterGroupName="app-pg",
        OptionGroupName="app-og",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-0",
        StorageEncrypted=True,
        BackupRetentionPeriod=7,
    )
    strict_aws.settle()
    b.copy_instance_snapshot(SOURCE, "orders-db", DR)
    return b


def copy_of(region: str, name: str) -> dict:
    return boto3.client("rds", region).describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]


def test_an_instance_copy_carries_the_sources_groups_storage_and_engine_version(mysql):
    clients = AwsClients()
    for mode in ("snapshot", "pitr-latest"):
        restore = spec("rds_instance", "orders-db", f"drt-run1-{mode.replace('-', '')}", mode)
        rds_instance.start(clients, restore, rds_instance.recovery_point(clients, restore))
        copy = copy_of(SOURCE, restore.copy_name)
        assert copy["DBParameterGroups"][0]["DBParameterGroupName"] == "app-pg", mode
        assert copy["OptionGroupMemberships"][0]["OptionGroupName"] == "app-og", mode
        assert (copy["StorageType"], copy["Iops"], copy["StorageThroughput"]) == ("gp3", 12000, 500), mode
        assert copy["EngineVersion"] == "8.0.36", mode
        assert rds_instance.state(clients, restore, restore.copy_name).detail["engine_version"] == "8.0.36"


def test_in_the_dr_region_the_policys_groups_win(mysql):
    dr = boto3.client("rds", DR)
    dr.create_db_parameter_group(DBParameterGroupName="app-pg-dr", DBParameterGroupFamily="mysql8.0", Description="dr")
    dr.create_option_group(
        OptionGroupName="app-og-dr", EngineName="mysql", MajorEngineVersion="8.0", OptionGroupDescription="dr"
    )
    clients = AwsClients()
    restore = spec("rds_instance", "orders-db", "drt-run1-dr", "snapshot-dr", region=DR, configuration=DR_POLICY)
    rds_instance.start(clients, restore, rds_instance.recovery_point(clients, restore))
    copy = copy_of(DR, "drt-run1-dr")
    assert copy["DBParameterGroups"][0]["DBParameterGroupName"] == "app-pg-dr"
    assert copy["OptionGroupMemberships"][0]["OptionGroupName"] == "app-og-dr"


def context(tmp_path, policy: dict) -> RestoreContext:
    return RestoreContext(
        run_id="run1",
        policy=Policy.model_validate({"restore": {"require_isolation": False, "poll_interval": "1s", **policy}}),
        clients=AwsClients(),
        store=LocalEvidenceStore(tmp_path),
        run_dir="backup-restore-test/run1",
        poll_seconds=0.2,
    )


def test_a_group_missing_in_the_dr_region_fails_only_that_restore_and_creates_nothing(mysql, tmp_path):
    ctx = context(tmp_path, {})  # no mapping for us-west-1, and app-pg / app-og do not exist there
    dr = perform_restore(target("rds_instance", "orders-db", "snapshot-dr", DR), [], ctx)
    assert dr.status == "failed" and not dr.passed
    assert "app-pg" in dr.error and DR in dr.error and "does not exist" in dr.error
    assert dr.cleanup == "deleted"
    assert all(
        not db["DBInstanceIdentifier"].startswith("drt-")
        for db in boto3.client("rds", DR).describe_db_instances()["DBInstances"]
    )
    # The other restore of the run goes on.
    local = perform_restore(target("rds_instance", "orders-db", "pitr-latest", SOURCE), [], ctx)
    assert local.status == "passed" and local.cleanup == "deleted"


@pytest.fixture
def volume(aws, strict_aws):
    """An encrypted io2 volume (4000 IOPS) with a snapshot copied to the DR region."""
    ec2 = boto3.client("ec2", SOURCE)
    volume_id = ec2.create_volume(AvailabilityZone=f"{SOURCE}a", Size=50, VolumeType="io2", Iops=4000, Encrypted=True)[
        "VolumeId"
    ]
    strict_aws.settle()
    snapshot = ec2.create_snapshot(VolumeId=volume_id)["SnapshotId"]
    strict_aws.settle()
    boto3.client("ec2", DR).copy_snapshot(
        SourceRegion=SOURCE,
        SourceSnapshotId=snapshot,
        Encrypted=True,
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": COPY_SOURCE_TAG, "Value": snapshot}]}],
    )
    strict_aws.settle()
    return volume_id


def test_an_encrypted_copy_in_the_dr_region_needs_its_key_and_is_made_with_it(volume, tmp_path, monkeypatch):
    without = perform_restore(target("ebs_volume", volume, "snapshot-dr", DR), [], context(tmp_path, {}))
    assert without.status == "failed" and "needs a KMS key" in without.error and DR in without.error
    assert without.copy_id is None and not boto3.client("ec2", DR).describe_volumes()["Volumes"]

    kms_alias(DR)
    seen = []  # the copy as each poll described it (it is deleted by the end)
    original = ebs_volume.state

    def watch(clients, spec_, copy_id, point=None):
        state = original(clients, spec_, copy_id, point)
        seen.append(state.detail)
        return state

    monkeypatch.setattr(ebs_volume, "state", watch)
    keyed = perform_restore(
        target("ebs_volume", volume, "snapshot-dr", DR),
        [],
        context(tmp_path, {"regions": {DR: {"kms_key": "alias/dr-restore"}}}),
    )
    assert keyed.status == "passed" and keyed.cleanup == "deleted"
    # The source's io2 type, made with the DR region's key.
    assert any(d.get("type") == "io2" and d.get("kms_key") == "alias/dr-restore" for d in seen)


def test_a_key_that_does_not_exist_in_the_dr_region_fails_before_the_restore(volume, tmp_path):
    kms_alias(SOURCE)  # the alias exists, but in the source region only
    m = perform_restore(
        target("ebs_volume", volume, "snapshot-dr", DR),
        [],
        context(tmp_path, {"regions": {DR: {"kms_key": "alias/dr-restore"}}}),
    )
    assert m.status == "failed" and "alias/dr-restore does not exist in us-west-1" in m.error
    assert not boto3.client("ec2", DR).describe_volumes()["Volumes"]


@pytest.fixture
def aurora(aws, strict_aws):
    b = EstateBuilder(in_process_mock=True)
    rds = boto3.client("rds", SOURCE)
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName="wiki-cpg", DBParameterGroupFamily="aurora-postgresql16", Description="wiki"
    )
    rds.create_db_cluster(
        DBClusterIdentifier="wiki",
        Engine="aurora-postgresql",
        EngineVersion="16.2",
        MasterUsername="dbadmin",
        MasterUserPassword="not-a-secret-0",
        StorageEncrypted=True,
        DBClusterParameterGroupName="wiki-cpg",
        BackupRetentionPeriod=7,
    )
    strict_aws.settle()
    rds.create_db_instance(
        DBInstanceIdentifier="wiki-1",
        Engine="aurora-postgresql",
        DBInstanceClass="db.r6g.large",
        DBClusterIdentifier="wiki",
    )
    strict_aws.settle()
    b.copy_cluster_snapshot(SOURCE, "wiki", DR)
    return b


def test_an_aurora_copy_carries_its_cluster_parameter_group_and_the_dr_key(aurora, strict_aws):
    clients = AwsClients()
    local = spec("rds_cluster", "wiki", "drt-run1-wiki", "snapshot")
    rds_cluster.start(clients, local, rds_cluster.recovery_point(clients, local))
    cluster = boto3.client("rds", SOURCE).describe_db_clusters(DBClusterIdentifier="drt-run1-wiki")["DBClusters"][0]
    assert (cluster["DBClusterParameterGroup"], cluster["EngineVersion"]) == ("wiki-cpg", "16.2")

    dr = spec(
        "rds_cluster",
        "wiki",
        "drt-run1-wikidr",
        "snapshot-dr",
        region=DR,
        configuration=RestoreRegionPolicy(kms_key="alias/dr-restore"),
    )
    kms_alias(DR)
    boto3.client("rds", DR).create_db_cluster_parameter_group(
        DBClusterParameterGroupName="wiki-cpg", DBParameterGroupFamily="aurora-postgresql16", Description="wiki in DR"
    )
    rds_cluster.start(clients, dr, rds_cluster.recovery_point(clients, dr))
    copy = boto3.client("rds", DR).describe_db_clusters(DBClusterIdentifier="drt-run1-wikidr")["DBClusters"][0]
    assert (copy["DBClusterParameterGroup"], copy["KmsKeyId"]) == ("wiki-cpg", "alias/dr-restore")


# --- the strict layer's rules themselves ------------------------------------------------------------------


def test_the_strict_layer_refuses_what_aws_refuses_for_groups_and_keys(aurora, strict_aws):
    rds = boto3.client("rds", DR)
    snapshot = rds.describe_db_cluster_snapshots()["DBClusterSnapshots"][0]["DBClusterSnapshotIdentifier"]
    with pytest.raises(ClientError) as caught:
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="x1",
            SnapshotIdentifier=snapshot,
            Engine="aurora-postgresql",
            DBClusterParameterGroupName="nope",
        )
    assert caught.value.response["Error"]["Code"] == "DBClusterParameterGroupNotFound"
    with pytest.raises(ClientError) as caught:
        rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier="x2", SnapshotIdentifier=snapshot, Engine="aurora-postgresql", KmsKeyId="alias/nope"
        )
    assert caught.value.response["Error"]["Code"] == "KMSKeyNotAccessibleFault"
    with pytest.raises(ClientError) as caught:
        rds.describe_db_parameter_groups(DBParameterGroupName="nope")
    assert caught.value.response["Error"]["Code"] == "DBParameterGroupNotFound"
    # CreateVolume accepts a key the region lacks, and the volume then fails (as AWS documents).
    ec2 = boto3.client("ec2", DR)
    volume = ec2.create_volume(AvailabilityZone=f"{DR}a", Size=10, Encrypted=True, KmsKeyId="alias/nope")["VolumeId"]
    assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["State"] == "creating"
    strict_aws.settle()
    assert ec2.describe_volumes(VolumeIds=[volume])["Volumes"][0]["State"] == "error"


# --- what each copy carried, in the evidence and the report -------------------------------------------------


def test_the_configuration_record_names_each_group_storage_and_what_the_policy_replaced():
    assert rds_instance_config(INSTANCE, Where(SOURCE, SOURCE)).applied == {
        "db_parameter_group": "app-pg",
        "option_group": "app-og",
        "storage_type": "gp3",
        "iops": 12000,
        "throughput": 500,
    }
    dr = rds_instance_config(INSTANCE, Where(DR, SOURCE, DR_POLICY)).applied
    assert (dr["db_parameter_group"], dr["option_group"]) == ("app-pg-dr", "app-og-dr")
    assert dr["overridden"] == {"db_parameter_group": "app-pg", "option_group": "app-og"}
    volume = {"VolumeId": "vol-1", "VolumeType": "io2", "Iops": 4000, "Encrypted": True}
    assert ebs_volume_config(volume, Where(DR, SOURCE, RestoreRegionPolicy(kms_key="alias/dr"))).applied == {
        "storage_type": "io2",
        "iops": 4000,
        "kms_key": "alias/dr",
    }


def test_an_ebs_gp3_copy_keeps_provisioned_iops_and_throughput_at_any_size():
    # API_CreateVolume takes Iops and Throughput for every gp3 volume; RDS's size thresholds do not apply.
    small = {"VolumeId": "vol-3", "VolumeType": "gp3", "Size": 8, "Iops": 4000, "Throughput": 250}
    assert ebs_volume_config(small, Where(SOURCE, SOURCE)).kwargs == {
        "VolumeType": "gp3",
        "Iops": 4000,
        "Throughput": 250,
    }


def test_rds_gp3_iops_are_carried_only_from_each_engines_threshold():
    def carried(engine: str, size: int) -> bool:
        return "Iops" in rds_storage({**INSTANCE, "Engine": engine, "AllocatedStorage": size})

    assert [carried("postgres", s) for s in (399, 400)] == [False, True]
    assert [carried("oracle-se2", s) for s in (199, 200)] == [False, True]
    assert carried("sqlserver-se", 20)


def test_aurora_copies_carry_no_option_group_and_multi_az_db_clusters_are_refused():
    cluster = {"DBClusterIdentifier": "wiki", "Engine": "aurora-postgresql", "StorageType": "aurora-iopt1"}
    aurora = rds_cluster_config(cluster, None, Where(SOURCE, SOURCE))
    assert aurora.kwargs == {"StorageType": "aurora-iopt1"} and "OptionGroupName" not in aurora.kwargs
    multi_az = {"DBClusterIdentifier": "m", "Engine": "postgres", "DBClusterInstanceClass": "db.m6gd.large"}
    refused = rds_cluster_config({**multi_az, "StorageType": "io1", "Iops": 3000}, None, Where(SOURCE, SOURCE))
    assert "Multi-AZ DB cluster" in refused.error and refused.kwargs == {}


@pytest.fixture
def aurora_writer_group(aurora):
    """wiki's writer wiki-1 on its own DB parameter group wiki-pg (the cluster has wiki-cpg)."""
    rds = boto3.client("rds", SOURCE)
    rds.create_db_parameter_group(
        DBParameterGroupName="wiki-pg", DBParameterGroupFamily="aurora-postgresql16", Description="wiki writer"
    )
    rds.modify_db_instance(DBInstanceIdentifier="wiki-1", DBParameterGroupName="wiki-pg", ApplyImmediately=True)
    return aurora


def test_an_aurora_point_in_time_copy_carries_what_a_snapshot_copy_does(aurora_writer_group, strict_aws):
    clients = AwsClients()
    kms_alias(SOURCE, "alias/restore-here")
    here = RestoreRegionPolicy(kms_key="alias/restore-here")
    ec2 = boto3.client("ec2", SOURCE)
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"{SOURCE}{z}")["Subnet"]["SubnetId"]
        for i, z in enumerate("ab")
    ]
    sg = ec2.create_security_group(GroupName="drt-isolated", Description="restores", VpcId=vpc)["GroupId"]
    boto3.client("rds", SOURCE).create_db_subnet_group(
        DBSubnetGroupName="restores", DBSubnetGroupDescription="isolated", SubnetIds=subnets
    )
    restore = replace(
        spec("rds_cluster", "wiki", "drt-run1-wikipit", "pitr-latest", configuration=here),
        isolation=Isolation("restores", (sg,)),
    )
    point = rds_cluster.recovery_point(clients, restore)
    assert point.identifier == "latest" and point.mechanism == rds_cluster.PITR
    rds_cluster.start(clients, restore, point)
    rds = boto3.client("rds", SOURCE)
    cluster = rds.describe_db_clusters(DBClusterIdentifier="drt-run1-wikipit")["DBClusters"][0]
    assert (cluster["DBClusterParameterGroup"], cluster["KmsKeyId"]) == ("wiki-cpg", "alias/restore-here")
    assert cluster["DBSubnetGroup"] == "restores"  # the snapshot path's isolation too
    assert [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]] == [sg]
    strict_aws.settle()
    rds_cluster.advance(clients, restore, "drt-run1-wikipit", rds_cluster.state(clients, restore, "drt-run1-wikipit"))
    writer = rds.describe_db_instances(DBInstanceIdentifier="drt-run1-wikipit-w")["DBInstances"][0]
    assert writer["DBParameterGroups"][0]["DBParameterGroupName"] == "wiki-pg"


def test_an_aurora_point_in_time_copy_whose_mapped_group_is_missing_fails_before_the_restore(aurora, tmp_path):
    ctx = context(tmp_path, {"regions": {SOURCE: {"db_cluster_parameter_groups": {"wiki-cpg": "wiki-cpg-v2"}}}})
    m = perform_restore(target("rds_cluster", "wiki", "pitr-latest", SOURCE), [], ctx)
    assert m.status == "failed" and "wiki-cpg-v2" in m.error and "does not exist" in m.error
    assert m.configuration["db_cluster_parameter_group"] == "wiki-cpg-v2"
    assert m.configuration["overridden"] == {"db_cluster_parameter_group": "wiki-cpg"}
    names = [c["DBClusterIdentifier"] for c in boto3.client("rds", SOURCE).describe_db_clusters()["DBClusters"]]
    assert not [n for n in names if n.startswith("drt-")]


def test_a_restore_records_what_its_copy_carried_and_the_report_shows_it(mysql, tmp_path):
    import json

    from tasks.actions.restore import measurement_path
    from tasks.evidence.records import Measurement, RunRecord
    from tasks.report.render import render
    from tasks.rules.digest import digest

    ctx = context(tmp_path, {})
    where = target("rds_instance", "orders-db", "snapshot", SOURCE)
    m = perform_restore(where, [], ctx)
    assert m.status == "passed" and m.cleanup == "deleted"
    saved = json.loads((tmp_path / measurement_path(ctx.run_dir, where)).read_text())["measurement"]
    assert saved["configuration"] == {
        "db_parameter_group": "app-pg",
        "option_group": "app-og",
        "storage_type": "gp3",
        "iops": 12000,
        "throughput": 500,
    }
    # Evidence written before the field existed still loads.
    old = {k: v for k, v in saved.items() if k != "configuration"}
    assert Measurement.model_validate(old).configuration == {}

    record = RunRecord(flow="backup-restore-test", run_id="run1", started_at=m.started_at, measurements=[m])
    context_ = dict(record=record, tracker={"created": 0, "kept": 0, "resolved": 0}, digest=digest("t", []))
    rows = [{"m": m, "before": None, "rto_change": None}]
    common = dict(rows=rows, swept=[], groups=[], sampling=[], **context_)
    html = render("restore.html.j2", **common)
    assert "carried: parameter group app-pg; option group app-og; storage gp3 12000 IOPS 500 MiB/s" in html
    assert "carried: parameter group app-pg" in render("restore.md.j2", **common)
