"""AWS Backup recovery-point reads (ListRecoveryPointsByBackupVault): one paged listing per vault and Region.

A DynamoDB table backed up with AWS Backup's advanced features has its cross-Region copies only in the
destination Region's vault, visible only through AWS Backup's API: the audit lists that vault once for the
whole estate and matches each point's ResourceArn (the original resource's) to the tables it audits.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error, is_not_found, is_transient
from tasks.errors import AwsError


def list_vault_points(client, vault: str, resource_type: str | None = None, page_size: int | None = None) -> list[dict]:
    """Every recovery point in `vault` (of `resource_type`, e.g. "DynamoDB"), all pages; [] when AWS says the
    vault does not exist (the vault checks report that); AccessDenied and the like are raised."""
    arguments: dict = {"BackupVaultName": vault}
    if resource_type:
        arguments["ByResourceType"] = resource_type
    if page_size:
        arguments["PaginationConfig"] = {"PageSize": page_size}
    points: list[dict] = []
    try:
        for page in client.get_paginator("list_recovery_points_by_backup_vault").paginate(**arguments):
            points += page.get("RecoveryPoints", [])
    except ClientError as exc:
        if is_not_found(exc, "ResourceNotFoundException"):
            return []
        raise
    return points


def read_vault_points(
    clients: AwsClients, vault: str, places: list[tuple[str | None, str]], resource_type: str | None = None
) -> tuple[dict[tuple[str | None, str], list[dict]], dict[tuple[str | None, str], str]]:
    """(points by (account, region), reason by (account, region) that could not be read). Throttling and
    5xx are raised once botocore's retries are spent (the caller's task retries); a refusal (AccessDenied,
    an unmapped account) is that place's reason."""
    found: dict[tuple[str | None, str], list[dict]] = {}
    unread: dict[tuple[str | None, str], str] = {}
    for account, region in places:
        try:
            found[(account, region)] = list_vault_points(
                clients.client("backup", region, account), vault, resource_type
            )
        except (ClientError, BotoCoreError, AwsError) as exc:
            if is_transient(exc):
                raise
            unread[(account, region)] = str(exc) if isinstance(exc, AwsError) else describe_error(exc)
    return found, unread
