"""The demo estate: a cloud company's DR-relevant AWS resources, with gaps planted on purpose.

Modelled on the program we automate: a Tier 0 platform core; Tier 1 issue tracker (with a tenant
database fleet), wiki (Aurora), code hosting (RDS + EBS), media attachments (S3) and alerting
(DynamoDB); a Tier 2 image service; a Tier 3 analytics store; in us-east-1, us-west-2 and eu-west-1.
The README lists every planted gap; the catalog is runbooks/ plus one deliberately broken runbook.
"""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

from tasks.demo.builder import EstateBuilder

TENANTS_PER_REGION = 60
TENANT_REGIONS = ("us-east-1", "eu-west-1")
# Tenants whose backups drifted from what the runbook documents.
SHORT_RETENTION_TENANTS = {"tenant-use1-007", "tenant-euw1-013", "tenant-euw1-042"}
UNENCRYPTED_TENANTS = {"tenant-use1-031"}
NO_BACKUP_TENANTS = {"tenant-use1-050"}
SINGLE_AZ_TENANTS = {"tenant-euw1-021"}
UNCOPIED_TENANTS = {"tenant-use1-018", "tenant-euw1-033"}  # no snapshot copy in the DR region
RESTORE_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1")
# The runbooks' last_reviewed dates were written as of this day; the demo ages them to today.
CATALOG_AS_OF = date(2026, 11, 24)

BROKEN_RUNBOOK = """\
# Planted by the demo: a runbook with mistakes that `dr validate` reports by file, line and field.
service: status-page
name: Status page
tier: 1
ower: status-owner@example.com        # typo for owner
dr_champion: status-champion@example.com
targets: {rpo: 2h, rto: 1h}           # RPO looser than Tier 1's 1h
documentation:
  last_reviewed: 2026-10-01
procedure:
  - Fail the status page over to the secondary region.
resources:
  - kind: rds_instance
    id: status-page-db
    region: us-east-1
    expect: {multi_az: yes-please}
"""


def build_demo_estate(in_process_mock: bool = False) -> dict[str, int]:
    b = EstateBuilder(in_process_mock=in_process_mock)
    # Tier 0 platform core: everything the policy asks for. Clean.
    b.rds_instance("us-east-1", "paas-core-db", tags={"service": "paas-core"})
    b.copy_instance_snapshot("us-east-1", "paas-core-db", "us-west-2")
    b.volume("us-east-1", "paas-core-config", copy_to=["us-west-2"])

    # Tier 1 issue tracker: the regional database lost Multi-AZ in a migration (drift).
    b.rds_instance("us-east-1", "issue-tracker-use1", multi_az=False, tags={"service": "issue-tracker"})
    b.copy_instance_snapshot("us-east-1", "issue-tracker-use1", "us-west-2")
    tenants = 0
    for region in TENANT_REGIONS:
        short = "use1" if region == "us-east-1" else "euw1"
        names = [f"tenant-{short}-{index:03d}" for index in range(1, TENANTS_PER_REGION + 1)]

        def tenant(name: str, region: str = region) -> None:
            retention = 0 if name in NO_BACKUP_TENANTS else (7 if name in SHORT_RETENTION_TENANTS else 30)
            b.rds_instance(
                region,
                name,
                multi_az=name not in SINGLE_AZ_TENANTS,
                instance_class="db.t4g.medium",
                encrypted=name not in UNENCRYPTED_TENANTS,
                retention=retention,
                tags={"service": "issue-tracker-tenants", "tenant": name},
                settle=False,
            )

        b.client("rds", region)  # made before the threads share it (boto3 sessions are not thread-safe)
        b.in_parallel(tenant, names)
        b.settle()
        tenants += len(names)
        b.copy_instance_snapshots(region, [n for n in names if n not in UNCOPIED_TENANTS], "us-west-2")

    # Tier 1 wiki on Aurora in eu-west-1, copied to eu-central-1. Resources clean; runbook stale.
    b.aurora_cluster("eu-west-1", "wiki-aurora", tags={"service": "wiki"})
    b.copy_cluster_snapshot("eu-west-1", "wiki-aurora", "eu-central-1")

    # Tier 1 code hosting in us-west-2; the documented search database was never built.
    b.rds_instance("us-west-2", "code-hosting-db", tags={"service": "code-hosting"})
    b.copy_instance_snapshot("us-west-2", "code-hosting-db", "us-east-1")
    b.volume("us-west-2", "code-hosting-repos", copy_to=["us-east-1"])

    # Tier 1 media attachments: versioned, but replication to the DR bucket was never configured.
    b.bucket("us-east-1", "media-attachments")
    b.bucket("us-west-2", "media-attachments-dr")
    b.put_object("us-east-1", "media-attachments", "attachments/0001/report.pdf", b"%PDF-1.7 demo attachment")

    # Tier 1 alerting on DynamoDB: point-in-time recovery is off.
    b.table("us-east-1", "alerts", pitr=False, tags={"service": "alerts"})

    # Tier 2 image effects: single-AZ, 7-day backups, as its runbook documents. Clean.
    b.rds_instance("us-west-2", "image-effects-db", multi_az=False, retention=7, tags={"service": "image-effects"})

    # Tier 3 analytics: versioning was never turned on.
    b.bucket("eu-west-1", "analytics-events", versioning=False)

    # Where restore tests put their copies: a private subnet group and a closed security group per region.
    # and the KMS key encrypted copies made there use (restore.regions in runbooks/policy.yaml).
    for region in RESTORE_REGIONS:
        b.isolation(region)
        b.restore_key(region)
    return {"tenant_databases": tenants, "regions": len(b.regions)}


def prepare_demo_catalog(source: Path, target: Path, today: date | None = None) -> Path:
    """Copy runbooks/ to target, age its review dates to today, and add the broken runbook."""
    shift = timedelta(days=((today or date.today()) - CATALOG_AS_OF).days)
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)

    def age(match: re.Match) -> str:
        return match.group(1) + (date.fromisoformat(match.group(2)) + shift).isoformat()

    for path in target.rglob("*.yaml"):
        path.write_text(re.sub(r"(last_reviewed:\s*)(\d{4}-\d{2}-\d{2})", age, path.read_text()))
    (target / "status-page.yaml").write_text(BROKEN_RUNBOOK)
    return target
