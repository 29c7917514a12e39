"""TODO docstring."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from flows._run import retry_if_transient
from tasks.aws.backup_points import read_vault_points
from tasks.aws.clients import AwsClients
from tasks.aws.observe import observe
from tasks.catalog.runbook import Resource, Runbook
from tasks.evidence.inventory import Observation
from tasks.rules.posture import POSTURE_ATTRIBUTES
from tasks.rules.restore_plan import copy_regions_for


@task(
    name="read-posture",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
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


@task(
    name="read-backup-copies",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=2),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_if_transient,
    cache_policy=NO_CACHE,
)
def read_backup_copies(
    clients: AwsClients, vault: str, places: list[tuple[str | None, str]], resource_type: str
) -> tuple[dict, dict]:
    # One ListRecoveryPointsByBackupVault listing per (account, DR region) for the whole audit.
    return read_vault_points(clients, vault, places, resource_type)
