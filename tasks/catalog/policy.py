"""Tier policy: the program's targets and cadences, overridable by runbooks/policy.yaml."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
    model_validator,
)

from tasks.catalog.runbook import AccountId, BlastRadius, Duration, Region, Strict

POLICY_FILENAME = "policy.yaml"


class TierPolicy(Strict):
    """`rpo`/`rto`: targets for in-region disruptions (an instance, an Availability Zone, data corruption),
    met by point-in-time recovery, Multi-AZ and in-region snapshots. `region_rpo`/`region_rto`: targets for
    the loss of a whole Region, met from the copy in the DR region; looser, as AWS Resilience Hub's policies
    set them per disruption type. Unset region targets take the tier's default (see REGION_DEFAULTS)."""

    rpo: Duration
    rto: Duration
    region_rpo: Duration | None = None
    region_rto: Duration | None = None
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
    # The newest copy in each required DR region must be at most this old (the data in it, where AWS says).
    copy_max_age: Duration = timedelta(days=2)


class AwsBackupPolicy(Strict):
    """Where AWS Backup keeps the estate's recovery points, and what its vault must enforce. The audit reads
    the vault (DescribeBackupVault) in each region it names, by default every region the audited services'
    resources and DR copies are in."""

    vault: Annotated[StrictStr, Field(min_length=2, max_length=50, pattern=r"^[a-zA-Z0-9\-_]+$")]
    require_lock: StrictBool = True  # AWS Backup Vault Lock (governance or compliance mode)
    # The lock's MinRetentionDays must be at least this (API_PutBackupVaultLockConfiguration: 1 .. 36500).
    min_retention_days: Annotated[StrictInt, Field(ge=1, le=36500)] | None = None
    regions: list[Region] = []


class IsolationPolicy(Strict):
    subnet_group: StrictStr | None = None
    security_group_ids: list[StrictStr] = []


class RestoreRegionPolicy(Strict):
    """`restore.regions.<region>`: how copies made in that region are configured where the source's own
    settings cannot be used as they are (KMS keys and parameter/option groups are regional).

    kms_key: the key (id, ARN, alias name or alias ARN, of this region) encrypted copies are made with where
      the restore call takes one (Aurora clusters, EBS volumes). An encrypted source restored in another
      region needs it: without it that restore fails with the reason.
    db_parameter_groups / db_cluster_parameter_groups / option_groups: the source's group name -> the group
      to use in this region. A group not named here keeps the source's name, which must exist in this
      region (checked before the restore starts; else that restore fails naming the group and region)."""

    kms_key: Annotated[StrictStr, Field(min_length=1, max_length=2048)] | None = None
    db_parameter_groups: dict[StrictStr, Annotated[StrictStr, Field(min_length=1, max_length=255)]] = {}
    db_cluster_parameter_groups: dict[StrictStr, Annotated[StrictStr, Field(min_length=1, max_length=255)]] = {}
    option_groups: dict[StrictStr, Annotated[StrictStr, Field(min_length=1, max_length=255)]] = {}


class RestorePolicy(Strict):
    """How restore tests make their copies. Isolation is per region: where copies may live; `regions`: how
    copies made in a region are configured (KMS key, parameter and option groups)."""

    poll_interval: Duration = timedelta(seconds=30)
    expiry_margin: Duration = timedelta(hours=1)
    cleanup_timeout: Duration = timedelta(minutes=30)
    rotation_quarters: Annotated[StrictInt, Field(ge=1, le=20)] = 4
    instance_class: dict[Annotated[int, Field(ge=0, le=3)], StrictStr] = {}  # default: the source's class
    isolation: dict[StrictStr, IsolationPolicy] = {}
    regions: dict[Region, RestoreRegionPolicy] = {}
    require_isolation: StrictBool = True
    concurrency_limit_name: StrictStr = "dr-restores"


class SimulationPolicy(Strict):
    """Expected recovery figures used when no restore of that kind has been measured yet."""

    multi_az_failover: Duration = timedelta(seconds=120)  # RDS Multi-AZ failover: typically 60-120 s
    restore_estimate: Duration = timedelta(hours=2)
    pitr_rpo: Duration = timedelta(minutes=5)  # PITR lags the live database by about 5 minutes
    replica_switch: Duration = timedelta(minutes=15)
    replica_rpo: Duration = timedelta(minutes=15)
    stand_in_delay: Duration = timedelta(minutes=30)  # someone new to the runbook is slower
    answer_timeout: Duration = timedelta(hours=2)  # how long a tabletop waits for each inject's answers
    # The resource's own consent to drills: a drill touches only resources tagged <drill_tag_key>: allowed,
    # besides the runbook's opt-in and --allow-disruptive (a runbook alone cannot claim another team's database).
    drill_tag_key: Annotated[StrictStr, Field(min_length=1, max_length=128)] = "dr-drills"
    # Guardrails as AWS FIS has them. Stop conditions: CloudWatch alarms (in the resource's region) that keep a
    # drill from starting while in ALARM and stop it, with a rollback, when they fire; a runbook adds its own.
    stop_alarms: list[StrictStr] = []
    # The kill switch an operator can flip without Prefect: an SSM parameter whose value `stop` halts every
    # running drill at its next step (a missing parameter is not engaged).
    kill_switch_parameter: StrictStr | None = "/dr-automation/drills/kill-switch"
    kill_switch_region: Region = "us-east-1"
    # At most this many members (N) or this share (P%) of a fleet per drill run, one at a time.
    blast_radius: BlastRadius = 1


_SECRET_KEYS = {"token", "api_token", "password", "pat", "secret", "user", "email"}
PositiveSeconds = Annotated[float, Field(gt=0, le=3600)]


class JiraPolicy(Strict):
    """The `jira:` section. Credentials are named, never given: environment variables or Prefect Secret
    blocks. The URL and project may also come from DR_JIRA_URL / DR_JIRA_PROJECT (those win)."""

    url: StrictStr | None = None
    project: StrictStr | None = None
    url_env: StrictStr = "DR_JIRA_URL"
    project_env: StrictStr = "DR_JIRA_PROJECT"
    user_env: StrictStr = "DR_JIRA_USER"  # Cloud: the account email; unset for a Data Center PAT
    token_env: StrictStr = "DR_JIRA_TOKEN"  # Cloud API token, Data Center PAT or password
    user_block: StrictStr | None = None  # Prefect Secret block names; a block wins over its env var
    token_block: StrictStr | None = None
    issue_type: StrictStr = "Task"
    # Priority by severity (severity already carries the tier); tier_priorities overrides per tier.
    priorities: dict[Literal["low", "medium", "high", "critical"], StrictStr] = {
        "critical": "Highest",
        "high": "High",
        "medium": "Medium",
        "low": "Low",
    }
    tier_priorities: dict[
        Annotated[int, Field(ge=0, le=3)], dict[Literal["low", "medium", "high", "critical"], StrictStr]
    ] = {}
    label: Annotated[StrictStr, Field(pattern=r"^[^\s]{1,100}$")] = "dr-automation"
    done_transition: StrictStr = "Done"  # matched against the transition or its target status
    done_resolution: StrictStr = "Done"  # sent only when the transition screen asks for it
    reopen_transition: StrictStr = "Reopened"
    on_return: Literal["reopen", "link_new"] = "reopen"
    link_type: StrictStr = "Relates"
    page_size: Annotated[StrictInt, Field(ge=1, le=1000)] = 100
    connect_timeout_seconds: PositiveSeconds = 5.0
    read_timeout_seconds: PositiveSeconds = 30.0
    retries: Annotated[StrictInt, Field(ge=0, le=10)] = 4
    backoff_seconds: PositiveSeconds = 1.0
    max_backoff_seconds: PositiveSeconds = 30.0
    # A Retry-After longer than this sends the work to the outbox instead of stalling the run.
    max_retry_after_seconds: PositiveSeconds = 120.0

    @model_validator(mode="before")
    @classmethod
    def _no_inline_credentials(cls, data: object) -> object:
        if isinstance(data, dict) and _SECRET_KEYS & set(data):
            raise ValueError(
                "credentials are given by reference only: name an environment variable "
                "(user_env, token_env) or a Prefect Secret block (user_block, token_block)"
            )
        return data

    @field_validator("url")
    @classmethod
    def _plain_url(cls, url: str | None) -> str | None:
        if url is not None:
            check_jira_url(url)
        return url


def check_jira_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected the Jira base URL, e.g. https://example.atlassian.net")
    if parts.username or parts.password:
        raise ValueError("the Jira URL must not carry credentials (use user_env/token_env)")
    return url.rstrip("/")


IN_REGION = "in-region"  # instance, Availability Zone or data corruption: recovered inside the Region
REGION = "region"  # the whole Region lost: recovered from the copy in the DR region

# Region-loss targets (RPO, RTO) per tier where the policy file names none: looser than in-region, since a
# DR copy is made daily and restoring in another Region means more steps. Tiers 0/1 match copy_max_age.
_H, _D = timedelta(hours=1), timedelta(days=1)
REGION_DEFAULTS: dict[int, tuple[timedelta, timedelta]] = {
    0: (48 * _H, 12 * _H),
    1: (48 * _H, 24 * _H),
    2: (72 * _H, 72 * _H),
    3: (7 * _D, 7 * _D),
}


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


class AccountRoleEntry(Strict):
    """`accounts: {ACCOUNT: {role: ARN, external_id: ..., session_duration: 1h}}` (a bare ARN also works).
    API_AssumeRole: DurationSeconds from 900 s up to the role's maximum session duration (at most 12 h)."""

    role: StrictStr
    external_id: StrictStr | None = None
    session_duration: Duration = timedelta(hours=1)

    @field_validator("session_duration")
    @classmethod
    def _assume_role_bounds(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=900) <= value <= timedelta(hours=12):
            raise ValueError("must be between 15m and 12h (sts:AssumeRole DurationSeconds)")
        return value


class Policy(Strict):
    tiers: dict[Annotated[int, Field(ge=0, le=3)], TierPolicy] = Field(default_factory=_default_tiers)
    backups: BackupPolicy = BackupPolicy()
    aws_backup: AwsBackupPolicy | None = None
    restore: RestorePolicy = RestorePolicy()
    simulation: SimulationPolicy = SimulationPolicy()
    accounts: dict[AccountId, StrictStr | AccountRoleEntry] = {}
    review_tiers: list[Annotated[StrictInt, Field(ge=0, le=3)]] = [0, 1]
    # Runbooks of these tiers must list validation steps (restore tests run them on restored copies).
    validation_required_tiers: list[Annotated[StrictInt, Field(ge=0, le=3)]] = [0, 1]
    jira: JiraPolicy = JiraPolicy()

    @property
    def review_tiers_requiring_validation(self) -> list[int]:
        return self.validation_required_tiers

    def tier(self, tier: int) -> TierPolicy:
        return self.tiers[tier]

    def targets_for(self, runbook, disruption: str = IN_REGION) -> tuple[timedelta, timedelta]:
        """The RTO and RPO a service is held to for a disruption: in-region, its runbook's own (only ever
        stricter), else its tier's; region loss, the tier's region targets, never tighter than in-region."""
        tier = self.tier(runbook.tier)
        own = runbook.targets
        rto, rpo = (own.rto if own and own.rto else tier.rto), (own.rpo if own and own.rpo else tier.rpo)
        if disruption == REGION:
            default_rpo, default_rto = REGION_DEFAULTS.get(runbook.tier, (rpo, rto))
            rto = max(rto, tier.region_rto or default_rto)
            rpo = max(rpo, tier.region_rpo or default_rpo)
        return rto, rpo

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
