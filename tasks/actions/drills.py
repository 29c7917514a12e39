"""Technical drills: disruptive operations on production resources, opt-in only.

Each drill runs inside `allow_drill` for exactly one operation on one resource, after the caller has
checked both opt-ins (the runbook's `drills:` block and --allow-disruptive) and the resource's own consent
(`resource_consents`: its drill tag says `allowed`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from tasks.aws import rds
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error
from tasks.aws.guard import allow_drill
from tasks.evidence.inventory import LiveResource

DRILL_TAG_VALUE = "allowed"


def resource_consents(member: LiveResource, tag_key: str) -> bool:
    """Pure. The resource's owners agreed to drills on it: it carries `<tag_key>: allowed`."""
    return member.tags.get(tag_key) == DRILL_TAG_VALUE


@dataclass
class DrillResult:
    drill: str
    service: str
    resource: str
    expected_seconds: float
    rto_target_seconds: float
    measured_seconds: float | None = None
    status: str = "pending"   # passed | slow | failed | refused | skipped
    detail: str = ""

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def az_failover(clients: AwsClients, member: LiveResource, result: DrillResult, poll_seconds: float) -> DrillResult:
    """Reboot a Multi-AZ instance with failover (or fail over an Aurora cluster); time it until available."""
    client = clients.client("rds", member.region, member.account)
    started = time.monotonic()
    deadline = started + result.rto_target_seconds
    try:
        if member.kind == "rds_instance":
            if not member.attrs.get("multi_az"):
                result.status, result.detail = "skipped", "single-AZ: nothing to fail over to"
                return result
            with allow_drill("RebootDBInstance", member.id):
                client.reboot_db_instance(DBInstanceIdentifier=member.id, ForceFailover=True)
            read = lambda: (rds.get_db_instance(client, member.id) or {}).get("DBInstanceStatus")  # noqa: E731
        else:
            if (member.attrs.get("members") or 0) < 2:
                result.status, result.detail = "skipped", "a cluster needs a reader in another zone to fail over"
                return result
            with allow_drill("FailoverDBCluster", member.id):
                client.failover_db_cluster(DBClusterIdentifier=member.id)
            read = lambda: (rds.get_db_cluster(client, member.id) or {}).get("Status")  # noqa: E731
        while read() != "available":
            if time.monotonic() > deadline:
                result.status, result.detail = "failed", "not available again within the RTO target"
                return result
            time.sleep(poll_seconds)
    except (ClientError, BotoCoreError) as exc:
        result.status, result.detail = "failed", describe_error(exc)
        return result
    result.measured_seconds = time.monotonic() - started
    slow = result.measured_seconds > result.expected_seconds
    result.status = "slow" if slow else "passed"
    result.detail = ("took longer than the expected Multi-AZ failover" if slow else "failed over within expectation")
    return result
