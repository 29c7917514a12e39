"""The safety interlock: every AWS call from this tool's clients passes through here.

Reads pass. A mutating call is refused before it is sent unless
  * it creates something whose name carries our prefix and whose tags mark it as ours, or
  * it changes or deletes something that carries our prefix and already has our ownership tag, or
  * it is a disruptive drill on a production resource that the caller explicitly allowed for this
    one operation and identifier (see `allow_drill`).
Unknown mutating operations are refused: a new call must be added to the table below on purpose.
"""

from __future__ import annotations

import contextvars
import re
from contextlib import contextmanager

from tasks.aws.errors import is_transient
from tasks.aws.tags import tag_dict
from tasks.errors import DrError
from tasks.rules.restore_plan import run_of_copy_name

NAME_PREFIX = "drt-"
OWNER_TAG = "dr-automation:owner"
OWNER_VALUE = "dr-runbooks"
RUN_TAG = "dr-automation:run-id"
FLOW_TAG = "dr-automation:flow"
EXPIRES_TAG = "dr-automation:expires-at"
SOURCE_TAG = "dr-automation:source"
# Which run lock the creating run held (host + evidence store): a sweep holding that same lock knows the run is dead.
LOCK_TAG = "dr-automation:lock"

READ_ONLY = re.compile(r"^(Describe|List|Get|Head|Scan|Query|BatchGet|Lookup|Search|AssumeRole|GetCallerIdentity)")


class UnsafeOperation(DrError):
    """A mutating AWS call that would touch something this tool does not own."""


# operation -> (identifier parameter, how ownership is proven)
#   "create": the new resource's name has our prefix and the request carries our owner tag
#   "owned":  the target's name has our prefix and its current tags include our owner tag
#   "prefix": the target's name has our prefix (objects in our own scratch bucket, tagging our copies)
MUTATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("rds", "RestoreDBInstanceFromDBSnapshot"): ("DBInstanceIdentifier", "create"),
    ("rds", "RestoreDBInstanceToPointInTime"): ("TargetDBInstanceIdentifier", "create"),
    ("rds", "RestoreDBClusterFromSnapshot"): ("DBClusterIdentifier", "create"),
    ("rds", "RestoreDBClusterToPointInTime"): ("DBClusterIdentifier", "create"),
    ("rds", "CreateDBInstance"): ("DBInstanceIdentifier", "create"),
    ("rds", "CreateDBInstanceReadReplica"): ("DBInstanceIdentifier", "create"),
    ("rds", "CopyDBSnapshot"): ("TargetDBSnapshotIdentifier", "create"),
    ("rds", "CopyDBClusterSnapshot"): ("TargetDBClusterSnapshotIdentifier", "create"),
    ("rds", "DeleteDBInstance"): ("DBInstanceIdentifier", "owned"),
    ("rds", "DeleteDBCluster"): ("DBClusterIdentifier", "owned"),
    ("rds", "DeleteDBSnapshot"): ("DBSnapshotIdentifier", "owned"),
    ("rds", "DeleteDBClusterSnapshot"): ("DBClusterSnapshotIdentifier", "owned"),
    ("rds", "ModifyDBInstance"): ("DBInstanceIdentifier", "owned"),
    ("rds", "ModifyDBCluster"): ("DBClusterIdentifier", "owned"),
    ("rds", "PromoteReadReplica"): ("DBInstanceIdentifier", "owned"),
    ("rds", "RebootDBInstance"): ("DBInstanceIdentifier", "owned"),
    ("rds", "FailoverDBCluster"): ("DBClusterIdentifier", "owned"),
    ("rds", "SwitchoverGlobalCluster"): ("GlobalClusterIdentifier", "owned"),  # only ever as an allowed drill
    ("fis", "StartExperiment"): ("experimentTemplateId", "owned"),  # only ever as an allowed drill
    ("fis", "StopExperiment"): ("id", "owned"),  # only ever as an allowed drill (stopping our own experiment)
    ("dynamodb", "RestoreTableToPointInTime"): ("TargetTableName", "prefix"),
    ("dynamodb", "RestoreTableFromBackup"): ("TargetTableName", "prefix"),  # takes no tags either
    ("dynamodb", "TagResource"): ("ResourceArn", "prefix"),
    ("dynamodb", "DeleteTable"): ("TableName", "owned"),
    ("ec2", "CreateVolume"): ("", "create"),
    ("ec2", "DeleteVolume"): ("VolumeId", "owned"),
    ("s3", "CreateBucket"): ("Bucket", "prefix"),
    ("s3", "PutBucketTagging"): ("Bucket", "prefix"),
    ("s3", "CopyObject"): ("Bucket", "prefix"),
    ("s3", "PutObject"): ("Bucket", "prefix"),
    ("s3", "DeleteObject"): ("Bucket", "prefix"),
    ("s3", "DeleteObjects"): ("Bucket", "prefix"),
    ("s3", "DeleteBucket"): ("Bucket", "owned"),
}

_drills: contextvars.ContextVar[frozenset[tuple[str, str]]] = contextvars.ContextVar("dr_drills", default=frozenset())


@contextmanager
def allow_drill(operation: str, identifier: str):
    """Let exactly one disruptive operation touch one production resource, inside this block only.
    Callers must have checked both opt-ins (the runbook's `drills:` and --allow-disruptive)."""
    token = _drills.set(_drills.get() | {(operation, identifier)})
    try:
        yield
    finally:
        _drills.reset(token)


def ownership_tags(run_id: str, flow: str, expires_at: str, source: str, lock: str | None = None) -> dict[str, str]:
    tags = {OWNER_TAG: OWNER_VALUE, RUN_TAG: run_id, FLOW_TAG: flow, EXPIRES_TAG: expires_at, SOURCE_TAG: source[:250]}
    if lock:
        tags[LOCK_TAG] = lock
    return tags


def install(client) -> None:
    """Attach the interlock to a boto3 client (AwsClients does this for every client it makes)."""
    service = client.meta.service_model.service_name
    client.meta.events.register(
        "before-parameter-build", lambda params, model, **_: _check(client, service, model.name, params)
    )


def _check(client, service: str, operation: str, params: dict) -> None:
    if READ_ONLY.match(operation):
        return
    rule = MUTATIONS.get((service, operation))
    if rule is None:
        raise UnsafeOperation(f"refused {service}:{operation}: not an operation this tool is allowed to make")
    param, proof = rule
    identifier = _identifier(param, params)
    if (operation, identifier) in _drills.get():
        return
    name = _name_of(identifier)
    if proof == "create":
        tags = _request_tags(params)
        if service == "ec2":
            # Volumes have ids, not names: their Name tag carries the prefix, beside the owner tag.
            ok = tags.get(OWNER_TAG) == OWNER_VALUE and tags.get("Name", "").startswith(NAME_PREFIX)
        else:
            ok = name.startswith(NAME_PREFIX) and tags.get(OWNER_TAG) == OWNER_VALUE
    elif proof == "prefix":
        ok = name.startswith(NAME_PREFIX)
    else:
        ok = _currently_owned(client, service, identifier)
    if not ok:
        raise UnsafeOperation(
            f"refused {service}:{operation} on {identifier or '(new resource)'}: "
            f"not a resource this tool created (needs the {NAME_PREFIX!r} prefix and the "
            f"{OWNER_TAG}={OWNER_VALUE} tag)"
        )


def _identifier(param: str, params: dict) -> str:
    return str(params.get(param, "")) if param else ""


def _name_of(identifier: str) -> str:
    # ARNs end in the name (arn:aws:dynamodb:r:a:table/NAME, arn:aws:rds:r:a:db:NAME).
    return re.split(r"[:/]", identifier)[-1] if identifier.startswith("arn:") else identifier


def _request_tags(params: dict) -> dict[str, str]:
    tags = tag_dict(params.get("Tags"))
    for spec in params.get("TagSpecifications", []) or []:
        tags.update(tag_dict(spec.get("Tags")))
    return tags


def _currently_owned(client, service: str, identifier: str) -> bool:
    """Look the target up (a read, so it passes the interlock) and check its tags."""
    try:
        if service == "rds":
            if not identifier.startswith(NAME_PREFIX):
                return False
            for describe, key, _arn in (
                ("describe_db_instances", "DBInstances", "DBInstanceArn"),
                ("describe_db_clusters", "DBClusters", "DBClusterArn"),
            ):
                try:
                    found = getattr(client, describe)(
                        **{("DBInstanceIdentifier" if key == "DBInstances" else "DBClusterIdentifier"): identifier}
                    )[key]
                except client.exceptions.ClientError as exc:
                    _raise_if_transient(exc)
                    continue
                if found:
                    return tag_dict(found[0].get("TagList")).get(OWNER_TAG) == OWNER_VALUE
            for describe, key, param in (
                ("describe_db_snapshots", "DBSnapshots", "DBSnapshotIdentifier"),
                ("describe_db_cluster_snapshots", "DBClusterSnapshots", "DBClusterSnapshotIdentifier"),
            ):
                try:
                    found = getattr(client, describe)(**{param: identifier})[key]
                except client.exceptions.ClientError as exc:
                    _raise_if_transient(exc)
                    continue
                if found:
                    return tag_dict(found[0].get("TagList")).get(OWNER_TAG) == OWNER_VALUE
            return False
        if service == "dynamodb":
            if not identifier.startswith(NAME_PREFIX):
                return False
            arn = client.describe_table(TableName=identifier)["Table"]["TableArn"]
            tags = tag_dict(client.list_tags_of_resource(ResourceArn=arn).get("Tags"))
            # RestoreTableToPointInTime takes no tags (API_RestoreTableToPointInTime): a crash before TagResource
            # leaves a copy with none. Only a table named exactly as copies are named and with no tags at all.
            return tags.get(OWNER_TAG) == OWNER_VALUE or (not tags and run_of_copy_name(identifier) is not None)
        if service == "ec2":
            volumes = client.describe_volumes(VolumeIds=[identifier])["Volumes"]
            tags = tag_dict(volumes[0].get("Tags")) if volumes else {}
            # Both proofs, as for named resources: someone copying our owner tag onto a volume is not enough.
            return tags.get(OWNER_TAG) == OWNER_VALUE and tags.get("Name", "").startswith(NAME_PREFIX)
        if service == "s3":
            if not identifier.startswith(NAME_PREFIX):
                return False
            return tag_dict(client.get_bucket_tagging(Bucket=identifier).get("TagSet")).get(OWNER_TAG) == OWNER_VALUE
    except client.exceptions.ClientError as exc:
        _raise_if_transient(exc)
        return False
    return False


def _raise_if_transient(exc: BaseException) -> None:
    """A throttled or failed (5xx) ownership read proves nothing either way: the caller's call fails with it
    and is retried as any transient error is (a teardown asks again on its next poll), where treating it as
    "not ours" would leave a copy behind. Any other error still refuses the mutation."""
    if is_transient(exc):
        raise exc
