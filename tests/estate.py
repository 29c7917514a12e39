"""A test estate that is not the demo's: other services, regions, ids and planted gaps."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from tasks.demo.builder import EstateBuilder
from tests.conftest import write_runbook

FRESH = (date.today() - timedelta(days=10)).isoformat()
STALE = (date.today() - timedelta(days=200)).isoformat()

RUNBOOKS = {
    # Tier 0, everything right: must produce no finding at all.
    "ledger.yaml": f"""\
service: ledger
name: Ledger
tier: 0
owner: ledger-owner@example.org
dr_champion: ledger-champ@example.org
documentation: {{last_reviewed: {FRESH}}}
procedure: [Restore ledger-primary from the newest snapshot.]
validation: [{{name: up, kind: status}}]
drills: {{az_failover: true, region_failover: true}}
resources:
  - kind: rds_instance
    id: ledger-primary
    region: us-east-2
    expect: {{multi_az: true, encrypted: true, backup_retention_days: 35, copy_regions: [us-west-1]}}
  - kind: ebs_volume
    select: {{tags: {{Name: ledger-journal}}}}
    region: us-east-2
    expect: {{encrypted: true, copy_regions: [us-west-1], snapshot_max_age: 1d}}
""",
    # Tier 1 with resource gaps: Aurora copy missing, one fleet member single-AZ, bucket not replicated.
    "payments.yaml": f"""\
service: payments
name: Payments
tier: 1
owner: pay-owner@example.org
dr_champion: pay-champ@example.org
documentation: {{last_reviewed: {FRESH}}}
procedure: [Restore the cluster.]
validation: [{{name: up, kind: status}}]
resources:
  - kind: rds_cluster
    id: payments-aurora
    region: us-east-2
    expect: {{multi_az: true, encrypted: true, backup_retention_days: 14, copy_regions: [us-west-1]}}
  - kind: dynamodb_table
    id: payments-idempotency
    region: us-east-2
    expect: {{pitr: true}}
  - kind: rds_instance
    select: {{tags: {{fleet: payments-shards}}}}
    regions: [us-east-2, ap-southeast-2]
    expect: {{multi_az: true, encrypted: true}}
  - kind: s3_bucket
    id: payments-receipts
    region: us-east-2
    expect: {{versioning: true, replication_to: payments-receipts-dr, encrypted: true}}
""",
    # Tier 1 with documentation gaps and a resource that does not exist; EBS snapshot never taken.
    "chat.yaml": f"""\
service: chat
name: Team chat
tier: 1
documentation: {{last_reviewed: {STALE}}}
resources:
  - kind: dynamodb_table
    id: chat-messages
    region: us-east-2
    expect: {{pitr: true}}
  - kind: ebs_volume
    select: {{tags: {{Name: chat-uploads}}}}
    region: us-east-2
    expect: {{encrypted: true, snapshot_max_age: 1d}}
""",
    # Tier 2, clean; only reviewed when tier 2 is asked for.
    "reports.yaml": f"""\
service: reports
name: Reports
tier: 2
owner: r@example.org
dr_champion: r2@example.org
documentation: {{last_reviewed: {FRESH}}}
procedure: [Re-run the report jobs.]
resources:
  - {{kind: s3_bucket, id: reports-archive, region: ap-southeast-2, expect: {{versioning: false}}}}
""",
    # Tier 1, documented exactly as it is (so the review is clean), but against the backup policy:
    # backups off, unencrypted, single-AZ, no copy elsewhere, PITR off; a validation step that fails.
    "legacy.yaml": f"""\
service: legacy
name: Legacy billing
tier: 1
owner: legacy-owner@example.org
dr_champion: legacy-champ@example.org
targets: {{rpo: 1s}}
documentation: {{last_reviewed: {FRESH}}}
procedure: [Restore legacy-db; replay the billing journal.]
validation:
  - {{name: up, kind: status}}
  - {{name: billing smoke test, kind: command, command: ["sh", "-c", "test \\"$DR_RESTORE_MODE\\" != snapshot"]}}
resources:
  - kind: rds_instance
    id: legacy-db
    region: us-east-2
    expect: {{multi_az: false, encrypted: false, backup_retention_days: 0}}
  - kind: dynamodb_table
    id: legacy-sessions
    region: us-east-2
    expect: {{pitr: false}}
""",
    "broken.yaml": "service: broken\nname: Broken\ntier: 1\nresources:\n  - {kind: rds_instance, id: x}\n",
}

# (service, check, resource, subject) of every planted gap, and nothing else.
EXPECTED_GAPS = {
    ("payments", "runbook.drift", "rds_cluster:us-east-2:payments-aurora", "copy_regions"),
    ("payments", "runbook.drift", "rds_instance:ap-southeast-2:shard-apse2-2", "multi_az"),
    ("payments", "runbook.drift", "s3_bucket:us-east-2:payments-receipts", "replication_to"),
    ("chat", "runbook.owner_missing", "runbook", ""),
    ("chat", "runbook.champion_missing", "runbook", ""),
    ("chat", "runbook.procedure_missing", "runbook", ""),
    ("chat", "runbook.validation_missing", "runbook", ""),
    ("chat", "runbook.stale", "runbook", ""),
    ("chat", "runbook.resource_not_found", "dynamodb_table:us-east-2:chat-messages", ""),
    ("broken", "runbook.invalid", "runbook", ""),
}
EBS_GAP = ("chat", "runbook.drift", "ebs_volume", "snapshot_max_age")  # resource id is generated


def write_catalog(directory: Path) -> Path:
    for name, text in RUNBOOKS.items():
        write_runbook(directory, name, text)
    return directory


def build_estate(in_process_mock: bool = True) -> EstateBuilder:
    b = EstateBuilder(in_process_mock=in_process_mock)
    # The ledger team consents to drills on its own resources (the payments runbook is not asked to).
    b.rds_instance("us-east-2", "ledger-primary", retention=35, tags={"dr-drills": "allowed"})
    b.copy_instance_snapshot("us-east-2", "ledger-primary", "us-west-1")
    b.volume("us-east-2", "ledger-journal", copy_to=["us-west-1"], tags={"dr-drills": "allowed"})
    b.aurora_cluster("us-east-2", "payments-aurora", retention=14)
    b.table("us-east-2", "payments-idempotency", pitr=True)
    for region, short in (("us-east-2", "use2"), ("ap-southeast-2", "apse2")):
        for index in range(1, 4):
            name = f"shard-{short}-{index}"
            b.rds_instance(region, name, multi_az=name != "shard-apse2-2", tags={"fleet": "payments-shards"})
    b.rds_instance("us-east-2", "unrelated-db", multi_az=False, tags={"fleet": "other"})
    b.bucket("us-east-2", "payments-receipts")
    b.volume("us-east-2", "chat-uploads", snapshot=False)
    b.bucket("ap-southeast-2", "reports-archive", versioning=False)
    b.rds_instance("us-east-2", "legacy-db", multi_az=False, encrypted=False, retention=0)
    # Backups are off (no automated snapshot, as on AWS), but someone once took a manual one.
    b.client("rds", "us-east-2").create_db_snapshot(
        DBInstanceIdentifier="legacy-db", DBSnapshotIdentifier="legacy-db-manual"
    )
    b.settle()
    b.table("us-east-2", "legacy-sessions", pitr=False)
    return b


# Posture gaps the audit must find (resource kinds with generated ids are matched by kind).
AUDIT_GAPS = {
    ("payments", "backup.retention_below_policy", "rds_cluster:us-east-2:payments-aurora", ""),
    ("payments", "backup.no_cross_region_copy", "rds_cluster:us-east-2:payments-aurora", ""),
    ("payments", "backup.single_az", "rds_instance:ap-southeast-2:shard-apse2-2", ""),
    ("payments", "s3.replication_missing", "s3_bucket:us-east-2:payments-receipts", ""),
    ("chat", "ebs.snapshot_stale", "ebs_volume", ""),
    ("chat", "ebs.no_cross_region_copy", "ebs_volume", ""),
    ("reports", "s3.versioning_disabled", "s3_bucket:ap-southeast-2:reports-archive", ""),
    ("legacy", "backup.disabled", "rds_instance:us-east-2:legacy-db", ""),
    ("legacy", "backup.unencrypted", "rds_instance:us-east-2:legacy-db", ""),
    ("legacy", "backup.single_az", "rds_instance:us-east-2:legacy-db", ""),
    ("legacy", "backup.no_cross_region_copy", "rds_instance:us-east-2:legacy-db", ""),
    ("legacy", "dynamodb.pitr_disabled", "dynamodb_table:us-east-2:legacy-sessions", ""),
} | {
    ("payments", "backup.no_cross_region_copy", f"rds_instance:{region}:shard-{short}-{i}", "")
    for region, short in (("us-east-2", "use2"), ("ap-southeast-2", "apse2"))
    for i in range(1, 4)
}


def gap_keys(findings) -> set[tuple]:
    keys = set()
    for f in findings:
        f = f if isinstance(f, dict) else f.model_dump()
        if f["resource"].startswith("ebs_volume:"):
            keys.add((f["service"], f["check"], "ebs_volume", f["subject"]))
        else:
            keys.add((f["service"], f["check"], f["resource"], f["subject"]))
    return keys


def restore_section(builder: EstateBuilder, isolation: dict) -> dict:
    """The policy's `restore` section for copies in the regions of `isolation`: where they live, and the KMS
    key (made here, `alias/dr-restore`) encrypted Aurora and EBS copies in each region are made with."""
    for region in isolation:
        builder.restore_key(region)
    return {"isolation": isolation, "regions": {region: {"kms_key": "alias/dr-restore"} for region in isolation}}
