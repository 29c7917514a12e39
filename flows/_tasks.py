"""Prefect tasks and read steps that several flows share (flows never import each other)."""

from __future__ import annotations

import dataclasses

from botocore.exceptions import BotoCoreError, ClientError
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff
from prefect.utilities.annotations import quote

from flows._run import retry_if_transient
from tasks.aws.backup_points import read_vault_points
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error
from tasks.aws.observe import observe
from tasks.catalog.runbook import Resource, Runbook
from tasks.evidence.inventory import Observation
from tasks.rules import backup_copies
from tasks.rules.posture import POSTURE_ATTRIBUTES
from tasks.rules.restore_plan import copy_regions_for


def aws_read_task(**options):
    """A Prefect task that reads AWS: transient errors (throttling, 5xx, timeouts) retried with jittered
    backoff, nothing else; never cached (each run reads AWS as it is)."""
    return task(
        retries=3,
        retry_delay_seconds=exponential_backoff(backoff_factor=2),
        retry_jitter_factor=0.5,
        retry_condition_fn=retry_if_transient,
        cache_policy=NO_CACHE,
        **options,
    )


@aws_read_task(
    name="read-posture",
    task_run_name="read-{runbook.service}-{index}",
)
def read_posture(runbook: Runbook, spec: Resource, index: int, clients: AwsClients) -> Observation:
    # One task per documented resource entry: a fleet of thousands is read in pages inside it.
    return observe(
        spec,
        index,
        clients,
        wanted=POSTURE_ATTRIBUTES,
        copy_regions=copy_regions_for(runbook, spec.expect.copy_regions),
    )


@aws_read_task(
    name="read-backup-copies",
)
def read_backup_copies(
    clients: AwsClients, vault: str, places: list[tuple[str | None, str]], resource_type: str
) -> tuple[dict, dict]:
    # One ListRecoveryPointsByBackupVault listing per (account, DR region) for the whole audit.
    return read_vault_points(clients, vault, places, resource_type)


def aws_backup_copies(policy, work: list, clients: AwsClients, logger) -> tuple[dict, dict]:
    """The policy's AWS Backup vault listed once in each DR region its DynamoDB tables need a copy in
    (ListRecoveryPointsByBackupVault, DynamoDB points): (points by place, reason by unreadable place)."""
    places = backup_copies.places(policy, [(runbook, spec) for runbook, spec, _ in work])
    if not places:
        return {}, {}
    try:
        listings, unread = read_backup_copies(
            quote(clients), policy.aws_backup.vault, places, backup_copies.RESOURCE_TYPE
        )
    except (ClientError, BotoCoreError) as exc:  # still throttled (or 5xx) after every retry: not assessed
        listings, unread = {}, dict.fromkeys(places, describe_error(exc))
    for (_account, region), reason in unread.items():
        logger.warning("AWS Backup vault %s (%s) not read: %s", policy.aws_backup.vault, region, reason)
    return listings, unread


def with_aws_backup_copies(policy, runbook, spec, observation: Observation, listings, unread, at) -> Observation:
    """The observation with its DynamoDB tables' AWS Backup copies (and unreadable DR vaults) added."""
    regions = backup_copies.copy_regions(policy, runbook, spec)
    if not regions:
        return observation
    members = [
        backup_copies.with_backup_copies(m, regions, listings, unread, policy.aws_backup.vault, at)
        for m in observation.members
    ]
    return dataclasses.replace(observation, members=members)
