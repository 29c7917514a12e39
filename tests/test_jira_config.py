"""Jira settings (environment + policy, credentials by reference) and the pure ticket fields."""

from __future__ import annotations

from datetime import date

import pytest

from flows.cli import main
from tasks.catalog.load import load_policy
from tasks.catalog.policy import JiraPolicy, Policy
from tasks.errors import CatalogError, ConfigError
from tasks.rules.checks import make_finding
from tasks.tracker import jira_fields as jf
from tasks.tracker.jira_config import load_settings

ENV = {"DR_JIRA_URL": "https://jira.example.com/", "DR_JIRA_PROJECT": "DR", "DR_JIRA_TOKEN": "pat-123456"}


def test_the_four_environment_variables_are_enough():
    settings = load_settings(None, ENV)
    assert settings.url == "https://jira.example.com" and settings.project == "DR"
    assert settings.credentials(ENV).user is None  # no DR_JIRA_USER: a Data Center personal access token
    assert settings.credentials({**ENV, "DR_JIRA_USER": "bot@example.com"}).user == "bot@example.com"
    assert settings.ticket_sla[0].days == 14 and settings.issue_type == "Task" and settings.on_return == "reopen"
    assert "pat-123456" not in repr(settings) and "pat-123456" not in repr(settings.credentials(ENV))


@pytest.mark.parametrize(
    "missing, named",
    [("DR_JIRA_URL", "DR_JIRA_URL"), ("DR_JIRA_PROJECT", "DR_JIRA_PROJECT"), ("DR_JIRA_TOKEN", "DR_JIRA_TOKEN")],
)
def test_a_missing_setting_names_what_to_set(missing, named):
    with pytest.raises(ConfigError, match=named):
        load_settings(None, {k: v for k, v in ENV.items() if k != missing})


def test_environment_wins_over_the_policy_and_names_can_be_changed():
    policy = Policy(jira=JiraPolicy(url="https://old.example.com", project="OLD", token_env="MY_JIRA_PAT"))
    settings = load_settings(policy, {"DR_JIRA_PROJECT": "NEW", "MY_JIRA_PAT": "x" * 10})
    assert settings.url == "https://old.example.com" and settings.project == "NEW"
    assert str(settings.token_ref) == "$MY_JIRA_PAT"


def test_credentials_never_go_in_the_policy_file(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("jira:\n  token: hunter2-secret-value\n")
    with pytest.raises(CatalogError) as caught:
        load_policy(path)
    text = "\n".join(map(str, caught.value.problems))
    assert "by reference only" in text and "hunter2-secret-value" not in text
    with pytest.raises(ConfigError, match="must not carry credentials"):
        load_settings(None, {**ENV, "DR_JIRA_URL": "https://bot:pw@jira.example.com"})


def test_review_with_jira_but_no_configuration_is_bad_input(tmp_path, monkeypatch, capsys):
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert main(["review", "--tracker", "jira", "--evidence", str(tmp_path)]) == 2
    assert "dr: error: no Jira URL: set DR_JIRA_URL" in capsys.readouterr().err
    assert main(["review", "--tracker", "trello", "--evidence", str(tmp_path)]) == 2


def test_labels_carry_the_facts_and_read_back():
    finding = make_finding(
        "runbook.drift",
        service="media",
        tier=0,
        subject="replication_to",
        detail="d",
        resource="s3_bucket:us-east-1:[team=media assets]",
    )
    labels = jf.labels_for(finding, "dr-automation")
    assert all(" " not in label and len(label) <= 255 for label in labels)
    facts = jf.parse_labels(labels)
    assert facts == {
        "fingerprint": finding.fingerprint,
        "tier": "0",
        "check": "runbook.drift",
        "service": "media",
        "severity": "high",
        "resource": "s3_bucket:us-east-1:[team=media assets]",
    }
    assert jf.parse_labels(jf.with_severity(labels, "critical"))["severity"] == "critical"


def test_priority_by_tier_and_severity_and_due_date_by_tier_sla():
    settings = load_settings(Policy(jira=JiraPolicy(tier_priorities={0: {"medium": "Highest"}})), ENV)
    assert jf.priority_for(settings, 1, "medium") == "Medium"
    assert jf.priority_for(settings, 0, "medium") == "Highest"
    assert jf.due_date(settings, 3, date(2026, 1, 1)) == "2026-04-01"  # Tier 3: 90 days
    assert jf.due_date(settings, None, date(2026, 1, 1)) is None
