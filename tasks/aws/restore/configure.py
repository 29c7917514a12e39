"""Before a restore starts: every group and key its copy names must exist in the copy's region, so a
configuration that cannot be carried fails that restore with the reason and creates nothing.

Each group and key is looked up once per run and region (AwsClients.read_once), not once per restore: forty
restores into one region that name the same parameter group make one describe, not forty."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from tasks.aws.clients import AwsClients
from tasks.aws.errors import is_not_found
from tasks.aws.restore.base import RestoreSpec
from tasks.rules.restore_config import (
    CLUSTER_PARAMETER_GROUP,
    OPTION_GROUP,
    PARAMETER_GROUP,
    CopyConfig,
    NotCarried,
    Where,
)

# kind -> (Describe call, its name parameter, its result list, the not-found codes AWS answers with)
_DESCRIBE = {
    PARAMETER_GROUP: (
        "describe_db_parameter_groups",
        "DBParameterGroupName",
        "DBParameterGroups",
        "DBParameterGroupNotFound",
    ),
    CLUSTER_PARAMETER_GROUP: (
        "describe_db_cluster_parameter_groups",
        "DBClusterParameterGroupName",
        "DBClusterParameterGroups",
        "DBParameterGroupNotFound",  # API_DescribeDBClusterParameterGroups: DBParameterGroupNotFound
    ),
    OPTION_GROUP: ("describe_option_groups", "OptionGroupName", "OptionGroupsList", "OptionGroupNotFoundFault"),
}


def where(spec: RestoreSpec) -> Where:
    return Where(spec.region, spec.source_region, spec.configuration)


def ensure_carried(clients: AwsClients, spec: RestoreSpec, config: CopyConfig) -> None:
    """Raise NotCarried (the reason names the group or key and the region) unless every group and key the
    copy needs exists in spec.region."""
    if config.error:
        raise NotCarried(config.error)
    if config.groups:
        rds = clients.client("rds", spec.region, spec.account)
        for kind, name in config.groups:
            key = ("rds-group", spec.account, spec.region, kind, name)
            if not clients.read_once(key, lambda kind=kind, name=name: _group_exists(rds, kind, name)):
                raise NotCarried(
                    f"{kind} {name!r} does not exist in {spec.region}: create it there, or map the source's "
                    f"group to one that does in the policy's restore.regions.{spec.region}"
                )
    if config.kms_key:
        _check_key(clients, spec, config.kms_key)


def _group_exists(rds: Any, kind: str, name: str) -> bool:
    call, parameter, listed, not_found = _DESCRIBE[kind]
    try:
        found = getattr(rds, call)(**{parameter: name})[listed]
    except ClientError as exc:
        if is_not_found(exc, not_found, "DBClusterParameterGroupNotFound"):
            return False
        raise
    return bool(found)


def _check_key(clients: AwsClients, spec: RestoreSpec, key: str) -> None:
    # KMS keys are regional: a key ARN of another region cannot encrypt a copy made here.
    if key.startswith("arn:") and key.split(":")[3:4] != [spec.region]:
        raise NotCarried(f"KMS key {key} is not a key of {spec.region}, where the copy is made")
    kms = clients.client("kms", spec.region, spec.account)
    metadata = clients.read_once(("kms-key", spec.account, spec.region, key), lambda: _key_metadata(kms, key))
    if metadata is None:
        raise NotCarried(f"KMS key {key} does not exist in {spec.region}")
    if metadata.get("KeyState", "Enabled") != "Enabled":
        raise NotCarried(f"KMS key {key} in {spec.region} is {metadata.get('KeyState')}, not Enabled")


def _key_metadata(kms: Any, key: str) -> dict | None:
    try:
        return kms.describe_key(KeyId=key)["KeyMetadata"]
    except ClientError as exc:
        if is_not_found(exc, "NotFoundException", "InvalidArnException"):
            return None
        raise
