"""Region failover drills that change nothing the program does not own, or put back what they change.

* replica promotion: a read replica of the production instance, made by this tool in the DR region (name
  `drt-...`, ownership tags, so the interlock lets it be promoted and deleted), is promoted; RTO is the time from
  the promotion call until the promoted instance is available, data lost is the ReplicaLag it reported;
  the replica is deleted and its deletion confirmed.
* Aurora global switchover: the global cluster's writer moves to a secondary region and back
  (`SwitchoverGlobalCluster`, allowed for this one global cluster); a switchover loses no data by design.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError

from tasks.actions.drills import DrillResult
from tasks.actions.guardrails import Guardrails
from tasks.aws import rds
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error
from tasks.aws.guard import allow_drill, ownership_tags
from tasks.evidence.inventory import LiveResource

FLOW = "dr-simulation"


def replica_name(run_id: str, member: LiveResource) -> str:
    return f"drt-{run_id[:8]}-{hashlib.sha256(member.key.encode()).hexdigest()[:10]}-rr"


def _wait(
    read, done, deadline: float, poll: float, guard: Guardrails | None, region: str, account
) -> tuple[object, str | None]:
    while True:
        value = read()
        if done(value):
            return value, None
        if guard is not None:
            reason = guard.stop_reason(region, account)
            if reason:
                return value, reason
        if time.monotonic() > deadline:
            return value, "not done within the RTO target"
        time.sleep(poll)


def replica_lag(clients: AwsClients, region: str, account, identifier: str) -> float | None:
    """The newest ReplicaLag (seconds) CloudWatch holds for the replica, or None when none is published yet."""
    cloudwatch = clients.client("cloudwatch", region, account)
    now = datetime.now(UTC)
    points = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS",
        MetricName="ReplicaLag",
        StartTime=now - timedelta(minutes=15),
        EndTime=now + timedelta(minutes=1),
        Period=60,
        Statistics=["Maximum"],
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": identifier}],
    )["Datapoints"]
    return max(points, key=lambda p: p["Timestamp"])["Maximum"] if points else None


def promote_replica(
    clients: AwsClients,
    member: LiveResource,
    dr_region: str,
    run_id: str,
    result: DrillResult,
    poll: float,
    guard: Guardrails,
    isolation: dict | None = None,
) -> DrillResult:
    """Make a replica of `member` in `dr_region`, promote it, measure, delete it (always)."""
    source = rds.get_db_instance(clients.client("rds", member.region, member.account), member.id)
    if source is None:
        result.status, result.detail, result.check = "failed", "the source instance was not found", "drill.failed"
        return result
    client = clients.client("rds", dr_region, member.account)
    name = replica_name(run_id, member)
    deadline = time.monotonic() + result.rto_target_seconds
    created = False
    result.event("decision", f"promote a replica of {member.id} in {dr_region} (this tool's copy: {name})")
    try:
        reason = guard.stop_reason(member.region, member.account)
        if reason:
            result.status, result.detail, result.check = "not-started", reason, "drill.stopped"
            result.event("stop", f"not started: {reason}")
            return result
        expires = (datetime.now(UTC) + timedelta(seconds=result.rto_target_seconds) + timedelta(hours=1)).isoformat()
        tags = ownership_tags(run_id, FLOW, expires, member.key)
        params = dict(
            DBInstanceIdentifier=name,
            SourceDBInstanceIdentifier=source["DBInstanceArn"],
            SourceRegion=member.region,
            DBInstanceClass=source.get("DBInstanceClass") or "db.t3.micro",
            PubliclyAccessible=False,
            Tags=[{"Key": k, "Value": v} for k, v in tags.items()],
        )
        if (isolation or {}).get("subnet_group"):  # the restore policy's isolated network in the DR region
            params["DBSubnetGroupName"] = isolation["subnet_group"]
        if (isolation or {}).get("security_group_ids"):
            params["VpcSecurityGroupIds"] = list(isolation["security_group_ids"])
        client.create_db_instance_read_replica(**params)
        created = True
        result.event("action", f"CreateDBInstanceReadReplica {name} in {dr_region}")
        status = lambda: (rds.get_db_instance(client, name) or {}).get("DBInstanceStatus")  # noqa: E731
        _, reason = _wait(status, lambda s: s == "available", deadline, poll, guard, member.region, member.account)
        if reason:
            result.status, result.detail, result.check = "stopped", reason, "drill.stopped"
            result.event("stop", reason)
            return result
        result.data_loss_seconds = replica_lag(clients, dr_region, member.account, name)
        started = time.monotonic()
        client.promote_read_replica(DBInstanceIdentifier=name)
        result.event("action", f"PromoteReadReplica {name} (lag {result.data_loss_seconds} s)")
        seen = {"moving": False}

        def promoted(state):  # the promotion starts with a reboot: only `available` after it counts
            seen["moving"] = seen["moving"] or state != "available"
            return state == "available" and seen["moving"]

        _, reason = _wait(status, promoted, deadline, poll, guard, member.region, member.account)
        result.measured_seconds = time.monotonic() - started
        if reason:
            result.status, result.detail, result.check = "stopped", reason, "drill.stopped"
            result.event("stop", reason)
            return result
        standalone = not (rds.get_db_instance(client, name) or {}).get("ReadReplicaSourceDBInstanceIdentifier")
        lag = "not published" if result.data_loss_seconds is None else f"{result.data_loss_seconds:.0f} s"
        ok = standalone and result.measured_seconds <= result.rto_target_seconds
        result.status = "passed" if ok else "failed"
        result.check = None if ok else "drill.failed"
        result.detail = (
            f"promoted {name} in {dr_region} in {result.measured_seconds:.1f} s "
            f"(RTO target {result.rto_target_seconds:.0f} s); data lost: replica lag {lag}"
            + ("" if standalone else "; still a replica after promotion")
        )
        result.event("verification", result.detail)
    except (ClientError, BotoCoreError) as exc:
        result.status, result.detail, result.check = "failed", describe_error(exc), "drill.failed"
        result.event("stop", f"AWS refused: {describe_error(exc)}")
    finally:
        if created:
            _delete(client, name, result, poll)
    return result


def _delete(client, name: str, result: DrillResult, poll: float) -> None:
    """Delete the drill's instance (once it can be deleted) and confirm it is gone."""
    deadline = time.monotonic() + 1800
    try:
        while (rds.get_db_instance(client, name) or {}).get("DBInstanceStatus") not in ("available", None):
            if time.monotonic() > deadline:
                break
            time.sleep(poll)
        client.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True, DeleteAutomatedBackups=True)
        while rds.get_db_instance(client, name) is not None and time.monotonic() < deadline:
            time.sleep(poll)
        gone = rds.get_db_instance(client, name) is None
    except (ClientError, BotoCoreError) as exc:
        result.event("rollback", f"could not delete {name}: {describe_error(exc)} (the sweep removes it)")
        result.detail += f"; copy left: {name}"
        return
    result.event("rollback", f"deleted {name}" if gone else f"{name} still deleting (the sweep confirms it)")
    result.detail += f"; copy {name} {'deleted' if gone else 'deleting'}"


def global_membership(client, cluster_arn: str) -> dict | None:
    for page in client.get_paginator("describe_global_clusters").paginate():
        for found in page.get("GlobalClusters", []):
            if any(m.get("DBClusterArn") == cluster_arn for m in found.get("GlobalClusterMembers", [])):
                return found
    return None


def global_switchover(
    clients: AwsClients, member: LiveResource, result: DrillResult, poll: float, guard: Guardrails
) -> DrillResult:
    """Switch the global database's writer to a secondary region, verify, and switch back."""
    client = clients.client("rds", member.region, member.account)
    try:
        cluster = rds.get_db_cluster(client, member.id)
        found = global_membership(client, (cluster or {}).get("DBClusterArn", ""))
        if found is None:
            result.status, result.detail = "skipped", "not part of an Aurora global database"
            return result
        ident = found["GlobalClusterIdentifier"]
        writer = next(m["DBClusterArn"] for m in found["GlobalClusterMembers"] if m.get("IsWriter"))
        secondary = next((m["DBClusterArn"] for m in found["GlobalClusterMembers"] if not m.get("IsWriter")), None)
        if secondary is None:
            result.status, result.detail = "skipped", f"global database {ident} has no secondary region"
            return result
        result.before = {"writer": writer}
        result.event("decision", f"switch {ident} over from {writer} to {secondary}, then back")
        reason = guard.stop_reason(member.region, member.account)
        if reason:
            result.status, result.detail, result.check = "not-started", reason, "drill.stopped"
            result.event("stop", f"not started: {reason}")
            return result
        deadline = time.monotonic() + result.rto_target_seconds
        seconds, reason = _switch(client, ident, secondary, deadline, poll, guard, member, result)
        result.measured_seconds = seconds
        if reason:
            result.status, result.detail, result.check = "stopped", reason, "drill.stopped"
            result.event("stop", reason)
            back, why = _switch(client, ident, writer, deadline + result.rto_target_seconds, poll, None, member, result)
            result.event("rollback", f"switched back to {writer} in {back:.1f} s" if not why else f"rollback: {why}")
            return result
        result.data_loss_seconds = 0.0  # a switchover synchronizes the secondaries first (no data lost)
        result.after = {"writer": secondary}
        back, why = _switch(
            client, ident, writer, time.monotonic() + result.rto_target_seconds, poll, None, member, result
        )
        ok = not why and seconds <= result.rto_target_seconds
        result.status, result.check = ("passed", None) if ok else ("failed", "drill.failed")
        result.detail = (
            f"{ident}: writer moved to {secondary.split(':')[3]} in {seconds:.1f} s and back in "
            f"{back:.1f} s (RTO target {result.rto_target_seconds:.0f} s); no data lost by design"
            + (f"; switch back: {why}" if why else "")
        )
    except (ClientError, BotoCoreError) as exc:
        result.status, result.detail, result.check = "failed", describe_error(exc), "drill.failed"
        result.event("stop", f"AWS refused: {describe_error(exc)}")
    return result


def _switch(
    client,
    ident: str,
    target: str,
    deadline: float,
    poll: float,
    guard: Guardrails | None,
    member: LiveResource,
    result: DrillResult,
) -> tuple[float, str | None]:
    started = time.monotonic()
    with allow_drill("SwitchoverGlobalCluster", ident):
        client.switchover_global_cluster(GlobalClusterIdentifier=ident, TargetDbClusterIdentifier=target)
    result.event("action", f"SwitchoverGlobalCluster {ident} -> {target}")

    def read():
        found = client.describe_global_clusters(GlobalClusterIdentifier=ident)["GlobalClusters"][0]
        writer = next((m["DBClusterArn"] for m in found["GlobalClusterMembers"] if m.get("IsWriter")), None)
        return found.get("Status"), writer

    state, reason = _wait(
        read, lambda s: s == ("available", target), deadline, poll, guard, member.region, member.account
    )
    seconds = time.monotonic() - started
    if not reason:
        result.event("verification", f"{ident} available with writer {target} after {seconds:.1f} s")
    return seconds, reason
