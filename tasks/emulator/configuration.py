"""What a restore may name in its region: parameter groups and KMS keys are regional, and AWS refuses (or
fails) a copy that names one the region does not have. moto accepts these where AWS does not."""

from __future__ import annotations

from moto.ec2.models import elastic_block_store as ebs
from moto.kms.models import kms_backends
from moto.rds import models as rds

from tasks.emulator.errors import StrictError


def key_exists(account: str, region: str, key: str) -> bool:
    """A KMS key id, key ARN, alias name or alias ARN that resolves to a key of `region` (and account)."""
    if key.startswith("arn:"):
        parts = key.split(":")
        if parts[3] != region or parts[4] != account:
            return False
    backend = kms_backends[account][region]
    name = backend.get_alias_name(key)
    if name.startswith("alias/"):
        target = backend.get_key_id_from_alias(name)
        if target is None:
            return False
        name = target
    return backend.get_key_id(name) in backend.keys


def install(strict) -> None:
    life, patch = strict.lifecycle, strict.patcher

    # --- cluster restores: the named cluster parameter group and KMS key must exist in the region ----
    def check_cluster_restore(backend, group: str | None, key: str | None) -> None:
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RestoreDBClusterFromSnapshot.html
        # (and API_RestoreDBClusterToPointInTime): DBClusterParameterGroupNotFound, KMSKeyNotAccessibleFault.
        if group and not group.startswith("default.") and group not in backend.db_cluster_parameter_groups:
            raise StrictError("DBClusterParameterGroupNotFound", f"DBClusterParameterGroupName {group} does not exist.")
        if key and not key_exists(backend.account_id, backend.region_name, key):
            raise StrictError(
                "KMSKeyNotAccessibleFault",
                f"The specified KMS key [{key}] does not exist, is not enabled or you do not have permissions to access it.",
            )

    def make_cluster_from_snapshot(original):
        def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
            check_cluster_restore(self, overrides.get("db_cluster_parameter_group_name"), overrides.get("kms_key_id"))
            return original(self, from_snapshot_id, overrides)

        return restore_db_cluster_from_snapshot

    patch.wrap(rds.RDSBackend, "restore_db_cluster_from_snapshot", make_cluster_from_snapshot)

    def make_cluster_pitr(original):
        def restore_db_cluster_to_point_in_time(self, *args, **kwargs):
            check_cluster_restore(self, kwargs.get("db_cluster_parameter_group_name"), kwargs.get("kms_key_id"))
            return original(self, *args, **kwargs)

        return restore_db_cluster_to_point_in_time

    patch.wrap(rds.RDSBackend, "restore_db_cluster_to_point_in_time", make_cluster_pitr)

    # --- DescribeDBParameterGroups by name answers DBParameterGroupNotFound (moto: an empty list) ------
    @strict.requests.on("rds", "DescribeDBParameterGroups")
    def parameter_group_not_found(response, proceed):
        name = response.params.get("DBParameterGroupName")
        backend = rds.rds_backends[response.current_account][response.region]
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DescribeDBParameterGroups.html:
        # DBParameterGroupNotFound when DBParameterGroupName does not refer to an existing group.
        if name and not name.startswith("default.") and name not in backend.db_parameter_groups:
            raise StrictError("DBParameterGroupNotFound", f"DBParameterGroup not found: {name}")
        return proceed()

    # --- CreateVolume with a KMS key the region does not have: accepted, then the volume fails ---------
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateVolume.html: "Amazon Web Services
    # authenticates the KMS key asynchronously. Therefore, if you specify an ID, alias, or ARN that is not
    # valid, the action can appear to complete, but eventually fails." (State `error`.)
    status = patch.current(ebs.Volume, "status")
    patch.set(
        ebs.Volume,
        "status",
        property(
            lambda self: "error" if self.__dict__.get("_strict_bad_key") and not life.busy(self) else status.fget(self)
        ),
    )

    def make_create_volume(original):
        def create_volume(self, *args, **kwargs):
            volume = original(self, *args, **kwargs)
            key = kwargs.get("kms_key_id")
            if key and not key_exists(self.account_id, self.region_name, key):
                volume.__dict__["_strict_bad_key"] = True
            return volume

        return create_volume

    patch.wrap(ebs.EBSBackend, "create_volume", make_create_volume)
