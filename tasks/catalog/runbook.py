"""The service catalog's documented format (runbooks/*.yaml) as pydantic models.

Field names are a stable public format: add fields, never rename them. Cross-file rules (unique ids,
known dependencies, targets no looser than the tier) live in catalog.py, which sees the whole catalog.
"""

from __future__ import annotations

from datetime import date, timedelta
from enum import Enum
from functools import lru_cache
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    Tag,
    model_validator,
)

from tasks.catalog.durations import parse_duration

Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
Slug = Annotated[StrictStr, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")]
AccountId = Annotated[StrictStr, Field(pattern=r"^\d{12}$")]


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Every region botocore knows in any partition (read from its bundled endpoint data, no network).
    The endpoint data alone: a session's get_available_regions would parse each service's whole model
    (EC2's is megabytes) just to find its endpoint prefix, which for these four is the service's name."""
    import botocore.loaders
    import botocore.regions

    resolver = botocore.regions.EndpointResolver(botocore.loaders.create_loader().load_data("endpoints"))
    regions: set[str] = set()
    for partition in resolver.get_available_partitions():
        for service in ("ec2", "rds", "s3", "dynamodb"):
            regions.update(resolver.get_available_endpoints(service, partition))
    return frozenset(regions)


def _check_region(value: object) -> object:
    if isinstance(value, str) and value not in known_regions():
        raise ValueError(f"unknown AWS region {value!r}")
    return value


Region = Annotated[StrictStr, BeforeValidator(_check_region)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ResourceKind(str, Enum):
    rds_instance = "rds_instance"
    rds_cluster = "rds_cluster"
    s3_bucket = "s3_bucket"
    dynamodb_table = "dynamodb_table"
    ebs_volume = "ebs_volume"


class Targets(Strict):
    rpo: Duration | None = None
    rto: Duration | None = None


class Documentation(Strict):
    last_reviewed: date | None = None
    reviewed_by: StrictStr | None = None
    links: list[StrictStr] = []


class ValidationStep(Strict):
    """A check run against a restored copy. `command` runs a user check with the copy's endpoint in env."""

    name: StrictStr
    kind: Literal["status", "endpoint", "command"]
    command: list[StrictStr] | StrictStr | None = None
    timeout: Duration = timedelta(minutes=5)
    # Environment variables the command may inherit besides PATH, HOME, LANG and the DR_RESTORE_* ones.
    env: list[Annotated[StrictStr, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")]] = []

    @model_validator(mode="after")
    def _command_matches_kind(self) -> ValidationStep:
        if self.kind == "command" and not self.command:
            raise ValueError("kind 'command' needs a 'command' (the program to run)")
        if self.kind != "command" and self.command:
            raise ValueError(f"'command' is only used with kind 'command', not {self.kind!r}")
        return self


# Which `expect` attributes make sense for which resource kind.
EXPECT_BY_KIND: dict[ResourceKind, frozenset[str]] = {
    ResourceKind.rds_instance: frozenset(
        {"multi_az", "encrypted", "backup_retention_days", "copy_regions", "deletion_protection", "engine"}
    ),
    ResourceKind.rds_cluster: frozenset(
        {"multi_az", "encrypted", "backup_retention_days", "copy_regions", "deletion_protection", "engine"}
    ),
    ResourceKind.s3_bucket: frozenset({"versioning", "replication_to", "encrypted", "object_lock"}),
    ResourceKind.dynamodb_table: frozenset({"pitr", "encrypted"}),
    ResourceKind.ebs_volume: frozenset({"encrypted", "copy_regions", "snapshot_max_age"}),
}


class Expect(Strict):
    multi_az: StrictBool | None = None
    encrypted: StrictBool | None = None
    backup_retention_days: Annotated[StrictInt, Field(ge=0, le=35)] | None = None
    copy_regions: list[Region] | None = None
    deletion_protection: StrictBool | None = None
    engine: StrictStr | None = None
    versioning: StrictBool | None = None
    replication_to: StrictStr | None = None
    object_lock: StrictBool | None = None
    pitr: StrictBool | None = None
    snapshot_max_age: Duration | None = None

    def declared(self) -> dict[str, object]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class Selector(Strict):
    tags: Annotated[dict[StrictStr, StrictStr], Field(min_length=1)]


class Resource(Strict):
    kind: ResourceKind
    id: StrictStr | None = None
    select: Selector | None = None
    region: Region | None = None
    regions: Annotated[list[Region], Field(min_length=1)] | None = None
    account: AccountId | None = None
    accounts: Annotated[list[AccountId], Field(min_length=1)] | None = None  # a fleet spread over accounts
    expect: Expect = Expect()

    @model_validator(mode="after")
    def _shape(self) -> Resource:
        if self.account and self.accounts:
            raise ValueError("give 'account' or 'accounts', not both")
        if self.accounts and self.id is not None:
            raise ValueError("a single resource ('id') lives in one 'account'")
        if (self.id is None) == (self.select is None):
            raise ValueError("give exactly one of 'id' (one resource) or 'select' (a fleet by tags)")
        if self.region and self.regions:
            raise ValueError("give 'region' or 'regions', not both")
        if not self.region and not self.regions:
            raise ValueError("needs 'region' (or 'regions' for a fleet)")
        if self.id is not None and self.regions and len(self.regions) > 1:
            raise ValueError("a single resource ('id') lives in one 'region'")
        wrong = sorted(set(self.expect.model_fields_set) - EXPECT_BY_KIND[self.kind])
        if wrong:
            allowed = ", ".join(sorted(EXPECT_BY_KIND[self.kind]))
            raise ValueError(f"expect.{wrong[0]} does not apply to {self.kind.value} (allowed: {allowed})")
        return self

    @property
    def is_fleet(self) -> bool:
        return self.select is not None

    def all_regions(self) -> list[str]:
        return list(self.regions or [self.region])

    def all_accounts(self) -> list[str | None]:
        return list(self.accounts or [self.account])

    def label(self) -> str:
        if self.id is not None:
            return resource_key(self.kind.value, self.region or self.all_regions()[0], self.id, self.account)
        tags = ",".join(f"{k}={v}" for k, v in sorted(self.select.tags.items()))
        accounts = "+".join(a for a in self.all_accounts() if a)
        prefix = f"{self.kind.value}:{accounts}:" if accounts else f"{self.kind.value}:"
        return f"{prefix}{'+'.join(self.all_regions())}:[{tags}]"


def resource_key(kind: str, region: str, ident: str, account: str | None = None) -> str:
    """The stable name of one live resource, used in fingerprints, tickets and evidence."""
    return f"{kind}:{account}:{region}:{ident}" if account else f"{kind}:{region}:{ident}"


class TrackerRouting(Strict):
    project: StrictStr | None = None
    component: StrictStr | None = None


BlastRadius = Annotated[StrictInt, Field(ge=1)] | Annotated[StrictStr, Field(pattern=r"^([1-9][0-9]?|100)%$")]


class DrillProbe(Strict):
    """How a client sees the service during a drill. `endpoint`: a TCP connection to the resource's endpoint;
    `command`: a program that exits 0 while the service answers (DR_DRILL_ENDPOINT, DR_DRILL_PORT, DR_DRILL_ID,
    DR_DRILL_REGION in its environment)."""

    kind: Literal["endpoint", "command"]
    command: list[StrictStr] | StrictStr | None = None
    interval: Duration = timedelta(seconds=1)
    timeout: Duration = timedelta(seconds=5)

    @model_validator(mode="after")
    def _command_matches_kind(self) -> DrillProbe:
        if (self.kind == "command") != bool(self.command):
            raise ValueError("kind 'command' needs a 'command', and only it takes one")
        return self


# https://docs.aws.amazon.com/fis/latest/APIReference/API_ExperimentTemplate.html: id, "Maximum length of 64.
# Pattern: [\S]+".
FisTemplateId = Annotated[StrictStr, Field(pattern=r"^\S{1,64}$")]


class FisDrill(Strict):
    """Run the drill as an AWS FIS experiment from this template and read its result. The template decides
    what is disrupted, so it must carry the drill consent tag itself (`dr-drills: allowed`)."""

    fis_template: FisTemplateId
    region: Region | None = None  # the template's region (default: the runbook's first resource's)
    account: AccountId | None = None  # the template's account (default: the runbook's first resource's)
    timeout: Duration = timedelta(hours=1)  # stop the experiment if it has not ended by then


def _drill_shape(value: object) -> str:
    return "fis[mapping]" if isinstance(value, dict | FisDrill) else "flag[bool]"


# true/false, or {fis_template: ...} to run the drill through AWS FIS. Tagged so that a bad value gets the errors
# of the shape it was written in (the tags carry brackets, which error paths leave out).
DrillOptIn = Annotated[
    Annotated[StrictBool, Tag("flag[bool]")] | Annotated[FisDrill, Tag("fis[mapping]")],
    Discriminator(_drill_shape),
]


class Drills(Strict):
    az_failover: DrillOptIn = False
    region_failover: DrillOptIn = False
    fail_back: StrictBool = False  # after an AZ failover, fail back to the original writer and zone
    stop_alarms: list[StrictStr] = []  # CloudWatch alarms, besides the policy's, that stop a drill
    probe: DrillProbe | None = None  # measures client-observed downtime
    blast_radius: BlastRadius | None = None  # default: the policy's


class Runbook(Strict):
    service: Slug
    name: StrictStr
    tier: Annotated[StrictInt, Field(ge=0, le=3)]
    owner: StrictStr | None = None
    dr_champion: StrictStr | None = None
    targets: Targets | None = None
    documentation: Documentation | None = None
    procedure: list[StrictStr] = []
    validation: list[ValidationStep] = []
    dependencies: list[Slug] = []
    tracker: TrackerRouting | None = None
    resources: list[Resource] = []
    drills: Drills = Drills()
    dr_region: Region | None = None
