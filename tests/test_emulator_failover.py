"""The strict layer's failovers (tasks/emulator/failover.py): what AWS changes when a database fails over,
so a drill can prove a failover rather than watch a status."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from tests.test_emulator import PASSWORD, aurora, cluster_status, code, instance, instance_status, rds, wait_for

pytestmark = pytest.mark.strict(seconds=0.3)


def zones(client, name):
    found = client.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    return found["AvailabilityZone"], found.get("SecondaryAvailabilityZone")


def test_a_forced_failover_swaps_the_zones_and_reboots(aws, strict_aws):
    client = rds("us-east-2")
    instance(client, "db1", MultiAZ=True)
    instance(client, "single")
    strict_aws.settle()
    assert zones(client, "db1") == ("us-east-2a", "us-east-2b") and zones(client, "single") == ("us-east-2a", None)
    client.reboot_db_instance(DBInstanceIdentifier="db1", ForceFailover=True)
    assert instance_status(client, "db1") == "rebooting"
    assert code(lambda: client.reboot_db_instance(DBInstanceIdentifier="db1")) == "InvalidDBInstanceState"
    assert wait_for(lambda: instance_status(client, "db1"), "available") == "available"
    assert zones(client, "db1") == ("us-east-2b", "us-east-2a")
    assert (
        code(lambda: client.reboot_db_instance(DBInstanceIdentifier="single", ForceFailover=True))
        == "InvalidParameterCombination"
    )
    client.reboot_db_instance(DBInstanceIdentifier="single")  # a plain reboot: no zone change
    assert instance_status(client, "single") == "rebooting"
    assert wait_for(lambda: instance_status(client, "single"), "available") == "available"
    assert zones(client, "single") == ("us-east-2a", None)


def test_a_cluster_failover_changes_the_writer_and_takes_time(aws, strict_aws):
    client = rds()
    aurora(client, "aur")
    strict_aws.settle()
    for name in ("aur-1", "aur-2"):
        client.create_db_instance(
            DBInstanceIdentifier=name,
            DBInstanceClass="db.r6g.large",
            Engine="aurora-postgresql",
            DBClusterIdentifier="aur",
        )
    strict_aws.settle()

    def writer():
        members = client.describe_db_clusters(DBClusterIdentifier="aur")["DBClusters"][0]["DBClusterMembers"]
        return next(m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"])

    first = writer()
    client.failover_db_cluster(DBClusterIdentifier="aur")
    assert cluster_status(client, "aur") == "failing-over" and writer() != first
    assert code(lambda: client.failover_db_cluster(DBClusterIdentifier="aur")) == "InvalidDBClusterStateFault"
    assert wait_for(lambda: cluster_status(client, "aur"), "available") == "available"


# Transitions that outlast the test (settle() ends them): "refused while creating" and "modifying right after
# the promotion" must not depend on the machine answering within 0.3 s (this failed on a fresh clone's run).
@pytest.mark.strict(seconds=600)
def test_a_promoted_replica_takes_time_and_reports_its_lag(aws, strict_aws):
    source = rds("us-east-2")
    arn = instance(source, "src")["DBInstanceArn"]
    strict_aws.settle()
    replica_region = rds("us-west-1")
    replica_region.create_db_instance_read_replica(DBInstanceIdentifier="rep", SourceDBInstanceIdentifier=arn)
    assert code(lambda: replica_region.promote_read_replica(DBInstanceIdentifier="rep")) == "InvalidDBInstanceState"
    strict_aws.settle()
    assert instance_status(replica_region, "rep") == "available"
    now = datetime.now(UTC)
    lag = boto3.client("cloudwatch", "us-west-1").get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ReplicaLag",
        StartTime=now - timedelta(minutes=5),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": "rep"}],
    )["Datapoints"]
    assert [p["Maximum"] for p in lag] == [strict_aws.config.replica_lag_seconds]
    replica_region.promote_read_replica(DBInstanceIdentifier="rep")
    assert instance_status(replica_region, "rep") == "modifying"
    strict_aws.settle()
    assert instance_status(replica_region, "rep") == "available"
    promoted = replica_region.describe_db_instances(DBInstanceIdentifier="rep")["DBInstances"][0]
    assert "ReadReplicaSourceDBInstanceIdentifier" not in promoted
    assert code(lambda: replica_region.promote_read_replica(DBInstanceIdentifier="rep")) == "InvalidDBInstanceState"


def test_a_global_switchover_swaps_the_writer_region(aws, strict_aws):
    primary, secondary = rds("us-east-1"), rds("us-west-1")
    aurora(primary, "pri")
    strict_aws.settle()
    pri = primary.describe_db_clusters(DBClusterIdentifier="pri")["DBClusters"][0]["DBClusterArn"]
    primary.create_global_cluster(GlobalClusterIdentifier="glob", SourceDBClusterIdentifier=pri)
    secondary.create_db_cluster(DBClusterIdentifier="sec", Engine="aurora-postgresql", GlobalClusterIdentifier="glob")
    strict_aws.settle()
    sec = secondary.describe_db_clusters(DBClusterIdentifier="sec")["DBClusters"][0]["DBClusterArn"]

    def state():
        found = primary.describe_global_clusters(GlobalClusterIdentifier="glob")["GlobalClusters"][0]
        return found["Status"], {m["DBClusterArn"]: m["IsWriter"] for m in found["GlobalClusterMembers"]}

    assert state() == ("available", {pri: True, sec: False})
    assert (
        code(lambda: primary.switchover_global_cluster(GlobalClusterIdentifier="glob", TargetDbClusterIdentifier=pri))
        == "InvalidGlobalClusterStateFault"
    )
    primary.switchover_global_cluster(GlobalClusterIdentifier="glob", TargetDbClusterIdentifier=sec)
    assert state() == ("switching-over", {pri: False, sec: True})
    assert (
        code(lambda: primary.switchover_global_cluster(GlobalClusterIdentifier="glob", TargetDbClusterIdentifier=pri))
        == "InvalidGlobalClusterStateFault"
    )
    assert wait_for(lambda: state()[0], "available") == "available"
    assert (
        code(lambda: primary.switchover_global_cluster(GlobalClusterIdentifier="nope", TargetDbClusterIdentifier=pri))
        == "GlobalClusterNotFoundFault"
    )


def test_an_alarm_fires_after_the_request_that_hurts_clients(aws, strict_aws):
    client = rds("us-east-2")
    instance(client, "db1", MultiAZ=True)
    strict_aws.settle()
    cloudwatch = boto3.client("cloudwatch", "us-east-2")
    cloudwatch.put_metric_alarm(
        AlarmName="errors",
        MetricName="5xx",
        Namespace="app",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanThreshold",
    )
    strict_aws.fire_alarm("errors", "us-east-2", ("rds", "RebootDBInstance"), seconds=0.2)

    def alarm():
        return cloudwatch.describe_alarms(AlarmNames=["errors"])["MetricAlarms"][0]["StateValue"]

    client.describe_db_instances()
    assert alarm() == "OK"
    client.reboot_db_instance(DBInstanceIdentifier="db1", ForceFailover=True)
    time.sleep(0.3)
    assert alarm() == "ALARM"
