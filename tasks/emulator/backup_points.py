"""AWS Backup's own recovery points (moto's Backup API has vaults and plans, no jobs and no recovery points).

With AWS Backup's advanced DynamoDB features a table's backups are AWS Backup recovery points
(`arn:aws:backup:…:recovery-point:…`), listed only by AWS Backup's API, and a cross-Region copy exists only
in the destination Region's vault. This module keeps such points per vault and answers:
- StartBackupJob (DynamoDB tables): a point in the named vault, `CREATING` for `create_seconds`, then
  `COMPLETED`;
- StartCopyJob: a copy in the destination vault (any Region of the account), with the original's
  ResourceArn and its vault as SourceBackupVaultArn, `CREATING` for `copy_seconds`;
- ListRecoveryPointsByBackupVault (filters ByResourceArn, ByResourceType, ByCreatedBefore/After) and
  ListRecoveryPointsByResource, paged with MaxResults/NextToken.
Seeding: `StrictAws.backdate_recovery_point(arn, age)` makes a point as if its job ran `age` ago (an estate
seeded for a test stands for one that has existed for a long time).
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from moto.backup import urls as backup_urls
from moto.backup.models import backup_backends
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.dynamodb.models import dynamodb_backends

from tasks.emulator.errors import StrictError

# https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRecoveryPointsByBackupVault.html (and
# ...ByResource): MaxResults "Valid Range: Minimum value of 1. Maximum value of 1000." AWS documents no
# default page size; this layer pages at the maximum when none is asked for.
MAX_RESULTS = 1000

# The request paths moto does not route for the Backup API (botocore's requestUri for each operation).
PATHS = {
    "{0}/backup-jobs/?$": "StartBackupJob",
    "{0}/copy-jobs/?$": "StartCopyJob",
    # botocore sends the trailing slash; moto's server drops a `/?` when it turns these into its routes.
    "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$": "ListRecoveryPointsByBackupVault",
    "{0}/resources/(?P<resource_arn>.+)/recovery-points/$": "ListRecoveryPointsByResource",
}

# API_RecoveryPointByBackupVault ResourceType: "for example, an Amazon EBS volume or an Amazon RDS database".
RESOURCE_TYPES = {"dynamodb": "DynamoDB", "ec2": "EBS", "rds": "RDS"}


@dataclass(eq=False)
class Point:
    arn: str
    vault_name: str
    vault_arn: str
    resource_arn: str
    resource_type: str
    resource_name: str
    iam_role_arn: str
    created: datetime
    source_vault_arn: str | None = None  # set on copies only


_points: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # BackupBackend -> {arn: Point}
_lock = threading.RLock()


def _store(backend) -> dict[str, Point]:
    with _lock:
        return _points.setdefault(backend, {})


def _vault(backend, name: str):
    vault = backend.vaults.get(name)
    if vault is None:
        # API_ListRecoveryPointsByBackupVault / API_StartBackupJob Errors: ResourceNotFoundException.
        raise StrictError("ResourceNotFoundException", f"Backup vault {name} does not exist.")
    return vault


def _arn_parts(arn: str) -> list[str]:
    parts = arn.split(":", 5)
    if len(parts) < 6 or parts[0] != "arn":
        raise StrictError("InvalidParameterValueException", f"Invalid ARN: {arn}")
    return parts


def _page(items: list, params: dict) -> tuple[list, str | None]:
    size = params.get("MaxResults") or MAX_RESULTS
    if not 1 <= int(size) <= MAX_RESULTS:
        raise StrictError("InvalidParameterValueException", "MaxResults must be between 1 and 1000.")
    start = 0
    token = params.get("NextToken")
    if token:
        try:
            start = int(json.loads(base64.urlsafe_b64decode(token.encode()))["offset"])
        except (ValueError, KeyError, TypeError):
            raise StrictError("InvalidParameterValueException", "Invalid NextToken.") from None
    end = start + int(size)
    following = base64.urlsafe_b64encode(json.dumps({"offset": end}).encode()).decode() if end < len(items) else None
    return items[start:end], following


def _when(value: str | None) -> datetime | None:
    """A query-string timestamp (botocore sends ISO 8601) as moto's naive UTC."""
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise StrictError("InvalidParameterValueException", f"Invalid timestamp: {value}") from None
    return when.astimezone(UTC).replace(tzinfo=None) if when.tzinfo else when


def install(strict) -> None:
    life, config, patch = strict.lifecycle, strict.config, strict.patcher

    for path, _ in PATHS.items():
        patch.set_item(backup_urls.url_paths, path, backup_urls.response.dispatch)

    def status(point: Point) -> str:
        # https://docs.aws.amazon.com/aws-backup/latest/devguide/API_RecoveryPointByBackupVault.html: Status
        # CREATING while the job runs, COMPLETED once the point can be restored.
        return "CREATING" if life.busy(point) else "COMPLETED"

    def by_vault(point: Point) -> dict[str, Any]:
        done = status(point) == "COMPLETED"
        shown = {
            "RecoveryPointArn": point.arn,
            "BackupVaultName": point.vault_name,
            "BackupVaultArn": point.vault_arn,
            "ResourceArn": point.resource_arn,
            "ResourceType": point.resource_type,
            "ResourceName": point.resource_name,
            "IamRoleArn": point.iam_role_arn,
            "Status": status(point),
            "CreationDate": point.created,
            "InitiationDate": point.created,
            "IsEncrypted": True,
            "IsParent": False,
            "VaultType": "BACKUP_VAULT",
        }
        if done:
            shown["CompletionDate"] = point.created
        # SourceBackupVaultArn: "The backup vault where the recovery point was originally copied from."
        if point.source_vault_arn:
            shown["SourceBackupVaultArn"] = point.source_vault_arn
        return shown

    def body(response) -> dict[str, Any]:
        return json.loads(response.body or "{}")

    def query(response, name: str) -> str | None:
        values = response.querystring.get(name)
        return values[0] if values else None

    # https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartBackupJob.html: BackupVaultName,
    # ResourceArn, IamRoleArn required; returns BackupJobId, RecoveryPointArn, CreationDate, IsParent.
    @strict.requests.on("backup", "StartBackupJob")
    def start_backup_job(response, proceed):
        request = body(response)
        for field in ("BackupVaultName", "ResourceArn", "IamRoleArn"):
            if not request.get(field):
                raise StrictError("MissingParameterValueException", f"{field} is required.")
        backend = backup_backends[response.current_account][response.region]
        vault = _vault(backend, request["BackupVaultName"])
        parts = _arn_parts(request["ResourceArn"])
        service, region, account, resource = parts[2], parts[3], parts[4], parts[5]
        if service != "dynamodb" or not resource.startswith("table/"):
            # RDS, EBS and non-advanced DynamoDB points appear in each service's own API: aws_backup.record.
            raise StrictError("InvalidParameterValueException", "this emulator backs up DynamoDB tables only")
        name = resource.split("/", 1)[1]
        if region != response.region or name not in dynamodb_backends[account][region].tables:
            raise StrictError("ResourceNotFoundException", f"Resource {request['ResourceArn']} not found.")
        point = Point(
            arn=f"arn:aws:backup:{response.region}:{response.current_account}:recovery-point:{uuid.uuid4()}",
            vault_name=vault.backup_vault_name,
            vault_arn=vault.backup_vault_arn,
            resource_arn=request["ResourceArn"],
            resource_type=RESOURCE_TYPES[service],
            resource_name=name,
            iam_role_arn=request["IamRoleArn"],
            created=utcnow(),
        )
        _store(backend)[point.arn] = point
        life.start(point, config.create_seconds)
        return response.serialized(
            ActionResult(
                {
                    "BackupJobId": str(uuid.uuid4()).upper(),
                    "RecoveryPointArn": point.arn,
                    "CreationDate": point.created,
                    "IsParent": False,
                }
            )
        )

    # https://docs.aws.amazon.com/aws-backup/latest/devguide/API_StartCopyJob.html: RecoveryPointArn,
    # SourceBackupVaultName, DestinationBackupVaultArn, IamRoleArn required; returns CopyJobId, CreationDate.
    @strict.requests.on("backup", "StartCopyJob")
    def start_copy_job(response, proceed):
        request = body(response)
        for field in ("RecoveryPointArn", "SourceBackupVaultName", "DestinationBackupVaultArn", "IamRoleArn"):
            if not request.get(field):
                raise StrictError("MissingParameterValueException", f"{field} is required.")
        backend = backup_backends[response.current_account][response.region]
        vault = _vault(backend, request["SourceBackupVaultName"])
        source = _store(backend).get(request["RecoveryPointArn"])
        if source is None or source.vault_name != vault.backup_vault_name:
            raise StrictError(
                "ResourceNotFoundException",
                f"Recovery point {request['RecoveryPointArn']} not found in vault {vault.backup_vault_name}.",
            )
        if status(source) != "COMPLETED":
            raise StrictError("InvalidRequestException", f"Recovery point {source.arn} is {status(source)}.")
        parts = _arn_parts(request["DestinationBackupVaultArn"])
        region, account = parts[3], parts[4]
        target = backup_backends[account][region]
        destination = _vault(target, parts[5].split(":", 1)[-1])
        copy = Point(
            arn=f"arn:aws:backup:{region}:{account}:recovery-point:{uuid.uuid4()}",
            vault_name=destination.backup_vault_name,
            vault_arn=destination.backup_vault_arn,
            resource_arn=source.resource_arn,
            resource_type=source.resource_type,
            resource_name=source.resource_name,
            iam_role_arn=request["IamRoleArn"],
            created=utcnow(),
            source_vault_arn=source.vault_arn,
        )
        _store(target)[copy.arn] = copy
        life.start(copy, config.copy_seconds)
        return response.serialized(
            ActionResult({"CopyJobId": str(uuid.uuid4()).upper(), "CreationDate": copy.created, "IsParent": False})
        )

    # https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRecoveryPointsByBackupVault.html
    @strict.requests.on("backup", "ListRecoveryPointsByBackupVault")
    def list_by_vault(response, proceed):
        name = unquote(response.path.rstrip("/").split("/")[-2])
        backend = backup_backends[response.current_account][response.region]
        _vault(backend, name)
        resource_arn, resource_type = query(response, "resourceArn"), query(response, "resourceType")
        before, after = _when(query(response, "createdBefore")), _when(query(response, "createdAfter"))
        with _lock:
            points = [p for p in _store(backend).values() if p.vault_name == name]
        points = [
            p
            for p in points
            if (resource_arn is None or p.resource_arn == resource_arn)
            and (resource_type is None or p.resource_type == resource_type)
            and (before is None or p.created < before)
            and (after is None or p.created > after)
        ]
        page, following = _page(
            points, {"MaxResults": query(response, "maxResults"), "NextToken": query(response, "nextToken")}
        )
        answer: dict[str, Any] = {"RecoveryPoints": [by_vault(p) for p in page]}
        if following:
            answer["NextToken"] = following
        return response.serialized(ActionResult(answer))

    # https://docs.aws.amazon.com/aws-backup/latest/devguide/API_ListRecoveryPointsByResource.html: the
    # resource's points in this Region's vaults (a copy in another Region is listed there, by vault).
    @strict.requests.on("backup", "ListRecoveryPointsByResource")
    def list_by_resource(response, proceed):
        path = unquote(response.path)
        resource_arn = path.split("/resources/", 1)[1].rsplit("/recovery-points", 1)[0]
        backend = backup_backends[response.current_account][response.region]
        with _lock:
            points = [p for p in _store(backend).values() if p.resource_arn == resource_arn]
        page, following = _page(
            points, {"MaxResults": query(response, "maxResults"), "NextToken": query(response, "nextToken")}
        )
        answer: dict[str, Any] = {
            "RecoveryPoints": [
                {
                    key: value
                    for key, value in by_vault(p).items()
                    if key
                    in (
                        "RecoveryPointArn",
                        "CreationDate",
                        "Status",
                        "BackupVaultName",
                        "IsParent",
                        "ResourceName",
                        "VaultType",
                    )
                }
                for p in page
            ]
        }
        if following:
            answer["NextToken"] = following
        return response.serialized(ActionResult(answer))

    def backdate_recovery_point(arn: str, age: timedelta, account: str | None = None) -> None:
        """Seeding only: the point `arn` as if its job had finished `age` ago."""
        region, owner = arn.split(":")[3], account or arn.split(":")[4]
        point = _store(backup_backends[owner][region]).get(arn)
        if point is None:
            raise KeyError(f"no recovery point {arn}")
        point.created = utcnow() - age
        life.finish(point)

    strict.backdate_recovery_point = backdate_recovery_point
