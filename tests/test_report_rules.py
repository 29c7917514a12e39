"""The pure rules behind the pages: the one status rule and its legend, the limited Markdown, the
orderings, and the grouping of post-test reports (no Prefect, no AWS)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest

from tasks.evidence.records import TicketRecord
from tasks.report.groups import group_paths, restore_groups, row_reasons, sampling_note
from tasks.report.markup import inline_html, inline_markdown
from tasks.report.render import environment, md_escape, md_lines
from tasks.rules.digest import by_severity, digest, key_order, tickets_by_severity
from tasks.rules.status import CONDITIONS, RULE, legend, legend_markdown, status_of
from tests.conftest import REPO_ROOT


def test_status_is_the_worst_condition_found():
    assert status_of(set()) == "ok"
    assert status_of({"tickets_open"}) == "attention"
    assert status_of({"tickets_open", "control_overdue"}) == "overdue"
    assert status_of({"simulation_unrecoverable", "tickets_open"}) == "failing"
    for status, conditions in RULE:
        for condition in conditions:
            assert status_of({condition.key}) == status
    with pytest.raises(ValueError, match="unknown status condition"):
        status_of({"no_such_thing"})


def test_legend_states_every_condition_of_the_rule():
    text = dict(legend())
    assert list(text) == ["failing", "overdue", "attention", "ok"]
    for status, conditions in RULE:
        for condition in conditions:
            assert condition.text in text[status]
    assert "unrecoverable" in text["failing"] and "invalid" in text["failing"] and "missed" in text["failing"]
    assert set(CONDITIONS.values()) == {"failing", "overdue", "attention"}


def test_docs_carry_the_generated_legend():
    docs = (REPO_ROOT / "docs" / "dashboard.md").read_text()
    assert legend_markdown() in docs, "regenerate with: python -m tasks.rules.status >> docs (see the marker)"


def test_limited_markdown_renders_code_and_emphasis_and_nothing_else():
    html = str(inline_html("Run `dr sweep` **now**, see *docs* <b>x</b> [link](http://evil) `<i>`"))
    assert "<code>dr sweep</code>" in html and "<strong>now</strong>" in html and "<em>docs</em>" in html
    assert "<b>" not in html and "&lt;b&gt;" in html and "<a" not in html and "[link](http://evil)" in html
    assert "<code>&lt;i&gt;</code>" in html
    assert str(inline_html("snake_case_name and 2*3*4")) == "snake_case_name and 2*3*4"
    md = inline_markdown("Set `a|b` **now** <x>", md_escape)
    assert "`a\\|b`" in md and "**now**" in md and "<x>" not in md


def _ticket(key, severity, days, service="svc", resource="r"):
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    return TicketRecord(
        key=key,
        service=service,
        tier=1,
        severity=severity,
        status="open",
        opened_at=now - timedelta(days=days),
        resource=resource,
    )


def test_tickets_sort_by_severity_then_age_then_number():
    tickets = [
        _ticket("DR-10", "medium", 5),
        _ticket("DR-2", "medium", 5),
        _ticket("DR-1", "low", 90),
        _ticket("DR-30", "critical", 1),
        _ticket("DR-4", "medium", 40),
    ]
    assert [t.key for t in tickets_by_severity(tickets)] == ["DR-30", "DR-4", "DR-2", "DR-10", "DR-1"]
    assert sorted(["DR-10", "DR-2", "DR-1", None], key=key_order) == ["DR-1", "DR-2", "DR-10", None]


def test_findings_sort_by_severity_then_ticket_number():
    findings = [
        {"severity": "medium", "ticket": "DR-10", "service": "a", "resource": "x"},
        {"severity": "critical", "ticket": "DR-12", "service": "z", "resource": "x"},
        {"severity": "medium", "ticket": "DR-9", "service": "b", "resource": "x"},
    ]
    assert [f["ticket"] for f in by_severity(findings)] == ["DR-12", "DR-9", "DR-10"]


def test_digest_groups_failures_by_check_most_severe_first():
    findings = [
        {"check": "runbook.drift", "severity": "medium", "service": "a", "title": "t", "remediation": ""},
        {"check": "runbook.drift", "severity": "medium", "service": "b", "title": "t", "remediation": ""},
        {"check": "backup.disabled", "severity": "critical", "service": "c", "title": "t", "remediation": ""},
    ]
    d = digest("3 services", findings)
    assert not d.ok and [(f.check, f.count) for f in d.failures] == [("backup.disabled", 1), ("runbook.drift", 2)]
    assert d.failures[1].services == ["a", "b"] and "runbook" in d.failures[1].remediation
    assert digest("nothing", []).ok


def test_digest_names_each_service_under_its_own_findings_severity():
    # One check, a Tier 0 service's finding high and a Tier 2 one's medium: the high line names only the first.
    findings = [
        {"check": "backup.retention_below_policy", "severity": "high", "service": "issue-tracker", "remediation": ""},
        {"check": "backup.retention_below_policy", "severity": "medium", "service": "image-effects", "remediation": ""},
        {"check": "runbook.drift", "severity": "medium", "service": "a", "title": "t", "remediation": ""},
    ]
    d = digest("3 services", findings)
    assert [(f.check, f.severity, f.services) for f in d.failures] == [
        ("backup.retention_below_policy", "high", ["issue-tracker"]),
        ("backup.retention_below_policy", "medium", ["image-effects"]),
        ("runbook.drift", "medium", ["a"]),
    ]
    # What to do is said once per check, however many severities it was found at.
    assert [title for title, _ in d.actions] == [d.failures[0].title, d.failures[2].title]
    box = environment().from_string('{% import "macros.html.j2" as m %}{{ m.summary_box(dg) }}').render(dg=d)
    assert box.count("<li ") == 3 and box.count("<em>Do:</em> Raise the backup retention period") == 1


def test_lines_of_prose_and_items_are_markdown_paragraphs_and_a_list_not_br():
    text = "Region loss: 4 of 8 affected.\n- Tier 1 a <b>: no copy\n- Tier 1 b: late\n3 action item(s).\n"
    assert md_lines(text) == (
        "Region loss: 4 of 8 affected.\n\n- Tier 1 a &lt;b&gt;: no copy\n- Tier 1 b: late\n\n3 action item\\(s\\)."
    )


def test_fleet_impact_lines_group_by_path_with_counts():
    paths = [
        {
            "resource": f"rds_instance:us-east-1:tenant-{i}",
            "path": "restore the copy in us-west-2",
            "source": "measured",
            "reason": None,
        }
        for i in range(57)
    ]
    paths += [
        {
            "resource": f"rds_instance:us-east-1:tenant-x{i}",
            "path": None,
            "source": "policy",
            "reason": f"tenant-x{i} has no cross-region copy",
        }
        for i in range(3)
    ]
    groups = group_paths(paths)
    assert [(g.path, g.count) for g in groups] == [(None, 3), ("restore the copy in us-west-2", 57)]
    assert groups[0].reasons == [("has no cross-region copy", 3)] and groups[0].examples[0] == "tenant-x0"
    assert len(groups[1].examples) == 5
    row = {"paths": paths, "reasons": ["tenant-x0 has no cross-region copy", "expected recovery 9h is over 6h"]}
    assert row_reasons(row) == ["expected recovery 9h is over 6h"]


def _m(service, resource, mode, passed, rto=60.0, status="passed", tier=1):
    return {
        "service": service,
        "tier": tier,
        "resource": resource,
        "mode": mode,
        "region": "us-east-1",
        "passed": passed,
        "status": status,
        "rto_seconds": rto,
        "rto_target_seconds": 3600.0,
        "rpo_seconds": 30.0,
        "rpo_target_seconds": 3600.0,
    }


def test_restore_report_groups_by_service_and_path():
    ms = [_m("fleet", f"rds_instance:us-east-1:t{i}", "snapshot", True, rto=60.0 + i) for i in range(6)]
    ms += [
        _m("fleet", "rds_instance:us-east-1:t0", "pitr-latest", True),
        _m("alerts", "dynamodb_table:us-east-1:a", "pitr-latest", False, rto=None, status="no_recovery_point", tier=0),
    ]
    groups = restore_groups(ms)
    assert [g.service for g in groups] == ["alerts", "fleet"]
    alerts, fleet = groups
    assert (alerts.restores, alerts.passed, alerts.failed) == (1, 0, 1) and alerts.paths[0].rto_seconds is None
    assert (fleet.restores, fleet.passed, fleet.resources) == (7, 7, 6)
    snap = next(p for p in fleet.paths if p.mode == "snapshot")
    assert (snap.count, snap.rto_seconds, snap.judged_against) == (6, 65.0, "Tier 1 targets")
    notes = sampling_note(
        "5%", {"fleet|rds_instance:[service=x]": [f"rds_instance:us-east-1:t{i}" for i in range(120)]}, ms, 4
    )
    assert any("5% of each fleet" in n for n in notes) and any(re.search(r"fleet: 6 of 120", n) for n in notes)
