"""The runbook format: every error names file, line and field, and all errors are listed."""

from __future__ import annotations

import textwrap
from datetime import date, timedelta

import pytest

from tasks.catalog.load import load_catalog, load_policy, require_valid
from tasks.errors import CatalogError
from tests.conftest import REPO_ROOT, write_runbook

GOOD = """\
service: issue-tracker
name: Issue tracker
tier: 1
owner: owner@example.com
dr_champion: champ@example.com
targets: {rpo: 30m, rto: 4h}
documentation:
  last_reviewed: 2026-09-01
  reviewed_by: owner@example.com
  links: ["https://wiki.example.com/dr/issue-tracker"]
procedure:
  - Restore the regional database from the latest snapshot or point in time.
validation:
  - {name: engine available, kind: status}
dependencies: [paas-core]
tracker: {project: ITR, component: Database}
resources:
  - kind: rds_instance
    id: issue-tracker-use1
    region: us-east-1
    account: "123456789012"
    expect: {multi_az: true, encrypted: true, backup_retention_days: 30, copy_regions: [us-west-2]}
  - kind: rds_instance
    select: {tags: {service: issue-tracker-tenants}}
    regions: [us-east-1, eu-west-1]
    expect: {encrypted: true, backup_retention_days: 30}
  - kind: s3_bucket
    id: media-attachments
    region: us-east-1
    expect: {versioning: true, replication_to: media-attachments-dr}
  - kind: dynamodb_table
    id: alerts
    region: us-east-1
    expect: {pitr: true}
"""
CORE = "service: paas-core\nname: PaaS core\ntier: 0\n"


def problems_for(tmp_path, text, name="svc.yaml", extra=None):
    write_runbook(tmp_path, name, textwrap.dedent(text))
    for other_name, other in (extra or {}).items():
        write_runbook(tmp_path, other_name, other)
    return load_catalog(tmp_path).problems


def test_the_documented_example_is_valid(tmp_path):
    write_runbook(tmp_path, "issue-tracker.yaml", GOOD)
    write_runbook(tmp_path, "paas-core.yaml", CORE)
    catalog = require_valid(load_catalog(tmp_path))
    runbook = catalog.runbooks["issue-tracker"]
    assert runbook.targets.rpo == timedelta(minutes=30)
    assert runbook.documentation.last_reviewed == date(2026, 9, 1)
    assert runbook.resources[1].is_fleet and runbook.resources[1].all_regions() == ["us-east-1", "eu-west-1"]
    assert runbook.resources[0].label() == "rds_instance:123456789012:us-east-1:issue-tracker-use1"


def test_the_shipped_catalog_and_policy_are_valid():
    catalog = require_valid(load_catalog(REPO_ROOT / "runbooks"))
    assert {
        "paas-core",
        "issue-tracker",
        "wiki",
        "code-hosting",
        "media-platform",
        "alerts",
        "image-effects",
        "analytics",
    } <= set(catalog.runbooks)


@pytest.mark.parametrize(
    "line_no, old, new, field, message",
    [
        (3, "tier: 1", "tier: 7", "tier", "expected a tier from 0 to 3, got 7"),
        (3, "tier: 1", "tier: one", "tier", "expected a tier from 0 to 3, got 'one'"),
        (3, "tier: 1", "tier: true", "tier", "expected a tier from 0 to 3"),
        (6, "rpo: 30m", "rpo: half an hour", "targets.rpo", "expected a duration like 90s, 30m, 4h, 2d or 1w"),
        (8, "last_reviewed: 2026-09-01", "last_reviewed: last week", "documentation.last_reviewed", "expected a date"),
        (
            21,
            'account: "123456789012"',
            "account: 123456789012",
            "resources[0].account",
            "12-digit AWS account id in quotes",
        ),
        (22, "multi_az: true", "multi_az: maybe", "resources[0].expect.multi_az", "expected true or false"),
        (20, "region: us-east-1", "region: us-moon-1", "resources[0].region", "unknown AWS region 'us-moon-1'"),
        (14, "kind: status}", "kind: ping}", "validation[0].kind", "expected 'status', 'endpoint' or 'command'"),
    ],
)
def test_each_wrong_value_names_file_line_field_and_expectation(tmp_path, line_no, old, new, field, message):
    assert old in GOOD
    problems = problems_for(tmp_path, GOOD.replace(old, new, 1), extra={"core.yaml": CORE})
    assert len(problems) == 1, problems
    problem = problems[0]
    assert problem.file.endswith("svc.yaml") and problem.line == line_no and problem.field == field
    assert message in problem.message


def test_unknown_keys_are_rejected_with_the_allowed_ones(tmp_path):
    [problem] = problems_for(tmp_path, GOOD.replace("owner: owner@", "ower: owner@"), extra={"core.yaml": CORE})
    assert (problem.line, problem.field) == (4, "ower")
    assert "unknown field 'ower'" in problem.message and "owner" in problem.message


def test_every_error_is_listed_not_just_the_first(tmp_path):
    text = (
        GOOD.replace("tier: 1", "tier: 9")
        .replace("name: Issue tracker", "name: [1, 2]")
        .replace("rto: 4h", "rto: 4 hours")
    )
    problems = problems_for(tmp_path, text, extra={"core.yaml": CORE})
    assert [(p.line, p.field) for p in problems] == [(2, "name"), (3, "tier"), (6, "targets.rto")]


def test_missing_required_fields_point_at_the_mapping(tmp_path):
    problems = problems_for(tmp_path, "service: x\nowner: a@b\n")
    assert {(p.field, p.message) for p in problems} == {
        ("name", "required field is missing"),
        ("tier", "required field is missing"),
    }


@pytest.mark.parametrize(
    "resource, message",
    [
        ("  - {kind: rds_instance, region: us-east-1}", "exactly one of 'id'"),
        ("  - {kind: rds_instance, id: a, select: {tags: {a: b}}, region: us-east-1}", "exactly one of 'id'"),
        ("  - {kind: rds_instance, id: a}", "needs 'region'"),
        (
            "  - {kind: s3_bucket, id: a, region: us-east-1, expect: {pitr: true}}",
            "expect.pitr does not apply to s3_bucket",
        ),
        ("  - {kind: rds_instance, select: {tags: {}}, region: us-east-1}", "must not be empty"),
    ],
)
def test_resource_shape_rules(tmp_path, resource, message):
    text = f"service: x\nname: X\ntier: 2\nresources:\n{resource}\n"
    [problem] = problems_for(tmp_path, text)
    assert problem.line == 5 and problem.field.startswith("resources[0]") and message in problem.message


def test_duplicate_service_ids_name_both_files(tmp_path):
    problems = problems_for(tmp_path, CORE, name="a.yaml", extra={"b.yaml": CORE})
    [problem] = problems
    assert problem.file.endswith("b.yaml") and problem.line == 1 and "already defined in" in problem.message
    assert "a.yaml" in problem.message


def test_duplicate_keys_in_one_file_are_errors_not_silently_last_wins(tmp_path):
    [problem] = problems_for(tmp_path, CORE + "tier: 2\n")
    assert (problem.line, problem.field) == (4, "tier") and "first defined on line 3" in problem.message


def test_unknown_and_circular_dependencies(tmp_path):
    write_runbook(tmp_path, "a.yaml", "service: a\nname: A\ntier: 1\ndependencies: [b, ghost]\n")
    write_runbook(tmp_path, "b.yaml", "service: b\nname: B\ntier: 1\ndependencies: [a]\n")
    catalog = load_catalog(tmp_path)
    messages = {(p.file.rsplit("/", 1)[-1], p.field, p.message) for p in catalog.problems}
    assert ("a.yaml", "dependencies[1]", "unknown dependency 'ghost' (no runbook has that service id)") in messages
    assert ("a.yaml", "dependencies[0]", "circular dependency: a -> b -> a") in messages
    assert ("b.yaml", "dependencies[0]", "circular dependency: a -> b -> a") in messages
    assert not catalog.runbooks


def test_targets_may_only_be_stricter_than_the_tier(tmp_path):
    [problem] = problems_for(tmp_path, CORE + "targets: {rpo: 30m, rto: 5h}\n")
    assert (problem.line, problem.field) == (4, "targets.rto")
    assert problem.message.startswith("5h is looser than tier 0's RTO of 4h")


@pytest.mark.parametrize(
    "text, message",
    [
        ("!!python/object/apply:os.system ['true']\n", "tag not allowed"),
        ("service: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "expected a mapping"),
        ("", "expected a mapping"),
        ("a: 1\n---\nb: 2\n", "invalid YAML"),
    ],
)
def test_malformed_files_are_reported_not_raised(tmp_path, text, message):
    [problem] = problems_for(tmp_path, text)
    assert message in problem.message and problem.line is not None


def test_an_error_at_the_end_of_the_file_names_its_last_line(tmp_path):
    [problem] = problems_for(tmp_path, "service: x\nresources: [a, b\n")
    assert problem.line == 2 and "invalid YAML" in problem.message


def test_huge_files_are_refused_before_parsing(tmp_path):
    [problem] = problems_for(tmp_path, "service: x\n" + "# padding\n" * 200_000)
    assert "limit" in problem.message


def test_alias_bombs_are_refused(tmp_path):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        prev = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
    [problem] = problems_for(tmp_path, bomb)
    assert "nodes" in problem.message


def test_policy_files_and_scenarios_are_not_runbooks(tmp_path):
    write_runbook(tmp_path, "core.yaml", CORE)
    write_runbook(tmp_path, "policy.yaml", "tiers: {1: {rto: 5h}}\n")
    write_runbook(tmp_path / "scenarios", "az-loss.yaml", "id: az-loss\n")
    catalog = require_valid(load_catalog(tmp_path))
    assert list(catalog.runbooks) == ["paas-core"]
    assert catalog.policy.tier(1).rto == timedelta(hours=5)
    assert catalog.policy.tier(1).rpo == timedelta(hours=1)  # untouched fields keep the program's defaults


def test_policy_defaults_are_the_programs_table(tmp_path):
    policy = load_policy(None)
    hours = {
        tier: (policy.tier(tier).rpo / timedelta(hours=1), policy.tier(tier).rto / timedelta(hours=1))
        for tier in range(4)
    }
    assert hours == {0: (1, 4), 1: (1, 6), 2: (8, 24), 3: (24, 72)}
    assert policy.tier(0).review_every == policy.tier(1).restore_test_every == timedelta(days=90)
    assert policy.tier(1).simulation_every == timedelta(days=365)
    assert policy.backups.retention_days == 30 and policy.backups.encryption and policy.backups.pitr
    assert policy.needs_multi_az(1) and policy.needs_cross_region_copy(0) and not policy.needs_multi_az(2)


def test_invalid_policy_is_fatal_with_its_line(tmp_path):
    path = write_runbook(tmp_path, "policy.yaml", "backups:\n  retention_days: forever\naccounts: {'1234': role}\n")
    with pytest.raises(CatalogError) as caught:
        load_policy(path)
    located = {(p.line, p.field) for p in caught.value.problems}
    assert (2, "backups.retention_days") in located and (3, "accounts.1234") in located
