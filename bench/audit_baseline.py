"""The simplest script that does the posture audit's AWS work for one RDS fleet: the yardstick for `dr audit`.

    python -m bench.audit_baseline --tag service=bench-tenants --regions us-east-1,eu-west-1 --copy-region us-west-2

The same paged calls the audit needs (describe_db_instances in each region, 100 a page; describe_db_snapshots
once per copy region) and the same checks as tasks/posture.py applies to an rds_instance of a Tier 1 service
under the default policy (backups on, retention >= 30 days, latest restorable time within the 1 h RPO,
encrypted, Multi-AZ, a copy in another region). Nothing else: no Prefect, no evidence, no tickets, one thread.
Prints the number of instances and of gaps.
"""

from __future__ import annotations

import argparse
from datetime import datetime, timezone

import boto3

RETENTION_DAYS, RPO_SECONDS = 30, 3600


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tag", required=True, help="KEY=VALUE selecting the fleet")
    parser.add_argument("--regions", required=True)
    parser.add_argument("--copy-region", action="append", default=[])
    args = parser.parse_args()
    key, value = args.tag.split("=", 1)
    regions = args.regions.split(",")

    fleet = []
    for region in regions:
        rds = boto3.client("rds", region_name=region)
        for page in rds.get_paginator("describe_db_instances").paginate(PaginationConfig={"PageSize": 100}):
            for db in page["DBInstances"]:
                if {t["Key"]: t["Value"] for t in db.get("TagList", [])}.get(key) == value:
                    fleet.append((region, db))
    copied: dict[str, set[str]] = {}
    for copy_region in args.copy_region:
        rds = boto3.client("rds", region_name=copy_region)
        for page in rds.get_paginator("describe_db_snapshots").paginate(PaginationConfig={"PageSize": 100}):
            for snapshot in page["DBSnapshots"]:
                copied.setdefault(snapshot.get("DBInstanceIdentifier"), set()).add(copy_region)

    now = datetime.now(timezone.utc)
    gaps = 0
    for _region, db in fleet:
        retention = db.get("BackupRetentionPeriod", 0)
        if not retention:
            gaps += 1
        else:
            gaps += retention < RETENTION_DAYS
            latest = db.get("LatestRestorableTime")
            gaps += latest is None or (now - latest).total_seconds() > RPO_SECONDS
        gaps += not db.get("StorageEncrypted")
        gaps += not db.get("MultiAZ")
        replicas = {
            arn.split(":")[3] for arn in db.get("ReadReplicaDBInstanceIdentifiers", []) if arn.startswith("arn:")
        }
        gaps += not (copied.get(db["DBInstanceIdentifier"]) or replicas)
    print(f"baseline: {len(fleet)} instance(s), {gaps} gap(s)")


if __name__ == "__main__":
    main()
