"""AWS Backup vault reads (DescribeBackupVault)."""

from __future__ import annotations

from botocore.exceptions import ClientError

from tasks.aws.errors import is_not_found


def describe_vault(client, name: str) -> dict | None:
    """The vault as DescribeBackupVault returns it (Locked, MinRetentionDays, MaxRetentionDays, LockDate), or
    None when AWS says it does not exist (ResourceNotFoundException; AccessDenied is raised, not hidden)."""
    try:
        answer = client.describe_backup_vault(BackupVaultName=name)
    except ClientError as exc:
        if is_not_found(exc, "ResourceNotFoundException"):
            return None
        raise
    answer.pop("ResponseMetadata", None)
    return answer
