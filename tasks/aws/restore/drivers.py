"""The restore driver for each resource kind: the only place that maps a kind to its module."""

from __future__ import annotations

from tasks.aws.restore import (
    dynamodb_table,
    ebs_volume,
    rds_cluster,
    rds_instance,
    s3_bucket,
)
from tasks.aws.restore.base import RestoreDriver

DRIVERS: dict[str, RestoreDriver] = {
    module.KIND: module for module in (rds_instance, rds_cluster, dynamodb_table, ebs_volume, s3_bucket)
}


def driver_for(kind: str) -> RestoreDriver:
    try:
        return DRIVERS[kind]
    except KeyError:
        raise ValueError(f"no restore driver for resource kind {kind!r}; known: {', '.join(sorted(DRIVERS))}") from None
