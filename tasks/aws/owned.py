"""Find the copies this tool made (by prefix and ownership tag), for sweeps and leak checks.

DynamoDB copies are also found by name alone: RestoreTableToPointInTime takes no tags, so a crash between the
restore and TagResource leaves a table named as a copy (drt-<run prefix>-<hash>) with no tags at all. Such a
copy is tied to its run through the run prefix in its name, and swept by the same rule as any other: only once
its run is known to be over (the run lock it held is held here, or Prefect says the run is final)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from botocore.exceptions import ClientError

from tasks.aws import dynamodb, ec2, rds, s3
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error
from tasks.aws.guard import (
    EXPIRES_TAG,
    FLOW_TAG,
    LOCK_TAG,
    NAME_PREFIX,
    OWNER_TAG,
    OWNER_VALUE,
    RUN_TAG,
)
from tasks.aws.restore.base import RestoreSpec
from tasks.aws.restore.drivers import driver_for
from tasks.aws.tags import tag_dict
from tasks.rules.restore_plan import run_of_copy_name, run_prefix


@dataclass(frozen=True)
class OwnedCopy:
    kind: str
    identifier: str
    region: str
    account: str | None
    run_id: str
    flow: str
    expires_at: datetime | None
    lock: str = ""  # the run lock its run held (LOCK_TAG), if any
    expiry_problem: str = ""  # why expires_at is None: the tag is missing or cannot be read
    # Known by its name only (a DynamoDB copy never tagged): run_id is the run prefix in the name until a run
    # with that prefix is identified (see identify_untagged).
    untagged: bool = False


# Where an untagged copy's run is identified from: run prefix -> (full run id, lock it held or "").
KnownRuns = Mapping[str, tuple[str, str]]


def parse_expiry(raw: str | None) -> tuple[datetime | None, str]:
    """Pure. An expiry tag, or (None, why not): a missing, garbled or zone-less tag makes the expiry unknown."""
    if not raw:
        return None, "no expires-at tag"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        return None, f"expires-at tag {raw[:64]!r} is not an ISO 8601 time"
    if value.tzinfo is None or value.utcoffset() is None:
        return None, f"expires-at tag {raw[:64]!r} has no time zone"
    return value, ""


def _copy(kind, identifier, region, account, tags) -> OwnedCopy | None:
    if tags.get(OWNER_TAG) != OWNER_VALUE:
        return None
    expires, problem = parse_expiry(tags.get(EXPIRES_TAG))
    return OwnedCopy(
        kind,
        identifier,
        region,
        account,
        tags.get(RUN_TAG, ""),
        tags.get(FLOW_TAG, ""),
        expires,
        tags.get(LOCK_TAG, ""),
        problem,
    )


def _untagged(kind: str, identifier: str, region: str, account: str | None, run: str) -> OwnedCopy:
    why = "no tags (restored but never tagged: its run stopped before TagResource)"
    return OwnedCopy(kind, identifier, region, account, run, "", None, "", why, untagged=True)


def identify_untagged(copies: list[OwnedCopy], known: KnownRuns) -> list[OwnedCopy]:
    """Pure. Each untagged copy with the full run id and lock of the one run its name's prefix points to: a
    tagged copy of that run found in the same sweep, else `known` (the evidence store's restore tests). A
    prefix shared by two runs identifies neither; the copy then stays unidentified (and is kept)."""
    runs: dict[str, set[tuple[str, str]]] = {}
    for copy in copies:
        if not copy.untagged and copy.run_id:
            runs.setdefault(run_prefix(copy.run_id), set()).add((copy.run_id, copy.lock))
    for prefix, run in known.items():
        runs.setdefault(prefix, set()).add(run)
    out = []
    for copy in copies:
        candidates = runs.get(copy.run_id, set()) if copy.untagged else set()
        run_ids = {run_id for run_id, _ in candidates}
        if len(run_ids) == 1:
            locks = {lock for _, lock in candidates if lock}
            copy = replace(copy, run_id=run_ids.pop(), lock=locks.pop() if len(locks) == 1 else "")
        out.append(copy)
    return out


def is_current(copy: OwnedCopy, current_run_id: str | None) -> bool:
    """Pure. The copy belongs to the running run (an untagged one: its name carries the run's prefix)."""
    if not current_run_id:
        return False
    return copy.run_id == current_run_id or (copy.untagged and copy.run_id == run_prefix(current_run_id))


def list_owned(clients: AwsClients, region: str, account: str | None = None) -> list[OwnedCopy]:
    found: list[OwnedCopy] = []
    client = clients.client("rds", region, account)
    clusters = [c for c in rds.iter_db_clusters(client) if c["DBClusterIdentifier"].startswith(NAME_PREFIX)]
    cluster_ids = {c["DBClusterIdentifier"] for c in clusters}
    for db in rds.iter_db_instances(client):
        if db["DBInstanceIdentifier"].startswith(NAME_PREFIX) and db.get("DBClusterIdentifier") not in cluster_ids:
            found.append(
                _copy("rds_instance", db["DBInstanceIdentifier"], region, account, tag_dict(db.get("TagList")))
            )
    for cluster in clusters:
        found.append(
            _copy("rds_cluster", cluster["DBClusterIdentifier"], region, account, tag_dict(cluster.get("TagList")))
        )
    ddb = clients.client("dynamodb", region, account)
    for name in dynamodb.list_table_names(ddb):
        if name.startswith(NAME_PREFIX):
            table = dynamodb.get_table(ddb, name)
            if table:
                tags = dynamodb.get_tags(ddb, table["TableArn"])
                run = run_of_copy_name(name)
                if not tags and run is not None:
                    found.append(_untagged("dynamodb_table", name, region, account, run))
                else:
                    found.append(_copy("dynamodb_table", name, region, account, tags))
    for volume in ec2.iter_volumes_tagged(clients.client("ec2", region, account), {OWNER_TAG: OWNER_VALUE}):
        if not tag_dict(volume.get("Tags")).get("Name", "").startswith(NAME_PREFIX):
            continue  # the owner tag alone is no proof (see the interlock)
        found.append(_copy("ebs_volume", volume["VolumeId"], region, account, tag_dict(volume.get("Tags"))))
    s3_client = clients.client("s3", region, account)
    for name in s3.list_bucket_names(s3_client):
        if not name.startswith(NAME_PREFIX):
            continue
        try:
            location = s3_client.get_bucket_location(Bucket=name).get("LocationConstraint") or "us-east-1"
        except ClientError:
            continue
        if location == region:
            found.append(_copy("s3_bucket", name, region, account, s3.get_tags(s3_client, name)))
    return [copy for copy in found if copy is not None]


# How a sweep learns whether a copy's run is alive: True (alive), False (finished or crashed), None (unknown).
RunLiveness = Callable[[OwnedCopy], "bool | None"]


def _unknown(copy: OwnedCopy) -> bool | None:
    return None


def is_orphan(
    copy: OwnedCopy, now: datetime, current_run_id: str | None = None, liveness: RunLiveness = _unknown
) -> bool:
    """Pure. Never the current run's; once its expiry has passed; before that only when its run is known to
    be finished or crashed. A copy whose liveness and expiry are both unknown is kept (and reported)."""
    if is_current(copy, current_run_id):
        return False
    if copy.expires_at is not None and copy.expires_at <= now:
        return True
    return liveness(copy) is False


def _delete(clients: AwsClients, copy: OwnedCopy) -> bool:
    """One teardown step; False while AWS refuses the rest for now (a cluster whose writer is deleting)."""
    spec = RestoreSpec(
        kind=copy.kind,
        mode="",
        source_id="",
        source_region=copy.region,
        region=copy.region,
        copy_name=copy.identifier,
        tags=(),
        account=copy.account,
    )
    return driver_for(copy.kind).delete(clients, spec, copy.identifier) is not False


def sweep_regions(
    clients: AwsClients,
    regions,
    at: datetime,
    current_run_id: str | None = None,
    liveness: RunLiveness = _unknown,
    dry_run: bool = False,
    wait_seconds: float = 900.0,
    poll_seconds: float = 2.0,
    kept: list[dict] | None = None,
    known_runs: KnownRuns | None = None,
) -> list[dict]:
    """Find and (unless dry_run) delete orphans in (account, region) pairs. Deletes pass the interlock.
    Copies kept because their expiry cannot be read are appended to `kept` (to be reported).

    A copy whose delete takes steps (an Aurora cluster only once its writer is gone) is asked again every
    `poll_seconds`, all such copies together, for at most `wait_seconds`; one still pending then is reported
    not deleted, and the next sweep finishes it.

    Untagged DynamoDB copies are tied to their run by identify_untagged (tagged copies of every swept region,
    then `known_runs`); a DynamoDB table still CREATING refuses DeleteTable and is asked again the same way."""
    removed = []
    pending: list[tuple[dict, OwnedCopy]] = []
    listed = [copy for account, region in regions for copy in list_owned(clients, region, account)]
    for copy in identify_untagged(listed, known_runs or {}):
        account, region = copy.account, copy.region
        if not is_orphan(copy, at, current_run_id, liveness):
            if copy.expiry_problem and kept is not None and not is_current(copy, current_run_id):
                kept.append(
                    {
                        "kind": copy.kind,
                        "id": copy.identifier,
                        "region": region,
                        "account": account,
                        "run_id": copy.run_id,
                        "flow": copy.flow,
                        "kept": f"expiry unknown ({copy.expiry_problem}) and its run may be alive",
                    }
                )
            continue
        entry = {
            "kind": copy.kind,
            "id": copy.identifier,
            "region": region,
            "account": account,
            "run_id": copy.run_id,
            "flow": copy.flow,
            "expires_at": copy.expires_at.isoformat() if copy.expires_at else None,
            **({"untagged": True} if copy.untagged else {}),
        }
        if not dry_run:
            pending.append((entry, copy))
        removed.append(entry)
    deadline = time.monotonic() + wait_seconds
    while pending:
        waiting = []
        for entry, copy in pending:
            try:
                if _delete(clients, copy):
                    entry["deleted"] = True
                else:
                    waiting.append((entry, copy))
            except Exception as exc:  # reported; the next sweep tries again
                entry["deleted"] = False
                entry["error"] = describe_error(exc)
        pending = waiting
        if pending and time.monotonic() + poll_seconds > deadline:
            for entry, _ in pending:
                entry["deleted"] = False
                entry["error"] = f"still being deleted after {wait_seconds:.0f} s (the next sweep finishes it)"
            break
        if pending:
            time.sleep(poll_seconds)
    return removed
