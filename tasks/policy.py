"""Tier policy: the program's targets and cadences, overridable by runbooks/policy.yaml."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StrictStr

from .models import AccountId, Duration, Strict

POLICY_FILENAME = "policy.yaml"


class TierPolicy(Strict):
    rpo: Duration
    rto: Duration
    review_every: Duration
    restore_test_every: Duration
    simulation_every: Duration = timedelta(days=365)
    ticket_sla: Duration = timedelta(days=30)


class BackupPolicy(Strict):
    automated_backups: StrictBool = True
    retention_days: Annotated[StrictInt, Field(ge=1, le=35)] = 30
    encryption: StrictBool = True
    pitr: StrictBool = True
    multi_az_tiers: list[Annotated[StrictInt, Field(ge=0, le=3)]] = [0, 1]
    cross_region_copy_tiers: list[Annotated[StrictInt, Field(ge=0, le=3)]] = [0, 1]
    snapshot_max_age: Duration = timedelta(days=1)  # EBS: daily snapshots


class IsolationPolicy(Strict):
    subnet_group: StrictStr | None = None
    security_group_ids: list[StrictStr] = []


class RestorePolicy(Strict):
    """How restore tests make their copies. Isolation is per region: where copies may live."""

    poll_interval: Duration = timedelta(seconds=30)
    expiry_margin: Duration = timedelta(hours=1)
    cleanup_timeout: Duration = timedelta(minutes=30)
    rotation_quarters: Annotated[StrictInt, Field(ge=1, le=20)] = 4
    instance_class: dict[Annotated[int, Field(ge=0, le=3)], StrictStr] = {}  # default: the source's class
    isolation: dict[StrictStr, IsolationPolicy] = {}
    require_isolation: StrictBool = True
    concurrency_limit_name: StrictStr = "dr-restores"


class SimulationPolicy(Strict):
    """Expected recovery figures used when no restore of that kind has been measured yet."""

    multi_az_failover: Duration = timedelta(seconds=120)  # RDS Multi-AZ failover: typically 60-120 s
    restore_estimate: Duration = timedelta(hours=2)
    pitr_rpo: Duration = timedelta(minutes=5)              # PITR lags the live database by about 5 minutes
    replica_switch: Duration = timedelta(minutes=15)
    replica_rpo: Duration = timedelta(minutes=15)
    stand_in_delay: Duration = timedelta(minutes=30)       # someone new to the runbook is slower
    answer_timeout: Duration = timedelta(hours=2)          # how long a tabletop waits for each inject's answers


def _default_tiers() -> dict[int, TierPolicy]:
    # The program's own table: Tier 0 1h/4h, Tier 1 1h/6h, Tier 2 8h/24h, Tier 3 24h/72h;
    # documentation reviews and restore tests quarterly for Tiers 0 and 1.
    h, d = timedelta(hours=1), timedelta(days=1)
    return {
        0: TierPolicy(rpo=1 * h, rto=4 * h, review_every=90 * d, restore_test_every=90 * d, ticket_sla=14 * d),
        1: TierPolicy(rpo=1 * h, rto=6 * h, review_every=90 * d, restore_test_every=90 * d, ticket_sla=30 * d),
        2: TierPolicy(rpo=8 * h, rto=24 * h, review_every=180 * d, restore_test_every=180 * d, ticket_sla=60 * d),
        3: TierPolicy(rpo=24 * h, rto=72 * h, review_every=365 * d, restore_test_every=365 * d, ticket_sla=90 * d),
    }


class Policy(Strict):
    tiers: dict[Annotated[int, Field(ge=0, le=3)], TierPolicy] = Field(default_factory=_default_tiers)
    backups: BackupPolicy = BackupPolicy()
    restore: RestorePolicy = RestorePolicy()
    simulation: SimulationPolicy = SimulationPolicy()
    accounts: dict[AccountId, StrictStr] = {}
    review_tiers: list[Annotated[StrictInt, Field(ge=0, le=3)]] = [0, 1]
    # Runbooks of these tiers must list validation steps (restore tests run them on restored copies).
    validation_required_tiers: list[Annotated[StrictInt, Field(ge=0, le=3)]] = [0, 1]

    @property
    def review_tiers_requiring_validation(self) -> list[int]:
        return self.validation_required_tiers

    def tier(self, tier: int) -> TierPolicy:
        return self.tiers[tier]

    def needs_multi_az(self, tier: int) -> bool:
        return tier in self.backups.multi_az_tiers

    def needs_cross_region_copy(self, tier: int) -> bool:
        return tier in self.backups.cross_region_copy_tiers


def merged_tiers(overrides: dict) -> dict:
    """A policy file may set only some fields of some tiers; the rest keep the program's defaults."""
    merged = {tier: policy.model_dump() for tier, policy in _default_tiers().items()}
    for tier, fields in (overrides or {}).items():
        if isinstance(fields, dict) and tier in merged:
            merged[tier].update(fields)
        else:
            merged[tier] = fields
    return merged


def default_policy_path(runbooks_dir: Path) -> Path:
    return runbooks_dir / POLICY_FILENAME
