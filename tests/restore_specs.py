"""RestoreSpec and RestoreTarget values for restore tests: a copy tagged as run `run1` of the restore test
would tag it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tasks.aws.guard import ownership_tags
from tasks.aws.restore.base import RestoreSpec
from tasks.catalog.policy import RestoreRegionPolicy
from tasks.rules.restore_plan import RestoreTarget

SOURCE_REGION = "us-east-2"


def spec(
    kind: str,
    source: str,
    copy: str,
    mode: str = "snapshot",
    region: str = SOURCE_REGION,
    configuration: RestoreRegionPolicy | None = None,
) -> RestoreSpec:
    """Restore `source` (in SOURCE_REGION) as `copy` in `region`, owned by run1 for the next hour."""
    tags = ownership_tags("run1", "backup-restore-test", (datetime.now(UTC) + timedelta(hours=1)).isoformat(), source)
    return RestoreSpec(
        kind=kind,
        mode=mode,
        source_id=source,
        source_region=SOURCE_REGION,
        region=region,
        copy_name=copy,
        tags=tuple(tags.items()),
        instance_class="db.r6g.large",
        configuration=configuration,
    )


def target(kind: str, source: str, mode: str, region: str = SOURCE_REGION) -> RestoreTarget:
    """A Tier 1 restore of `source` (in SOURCE_REGION) into `region`, RTO 10 min, RPO 48 h."""
    return RestoreTarget(
        service="orders",
        tier=1,
        kind=kind,
        mode=mode,
        resource=f"{kind}:{SOURCE_REGION}:{source}",
        source_id=source,
        source_region=SOURCE_REGION,
        region=region,
        account=None,
        rto_target_seconds=600,
        rpo_target_seconds=3600 * 48,
        instance_class="db.r6g.large",
    )
