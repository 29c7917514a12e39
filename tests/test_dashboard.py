"""The dashboard's decisions and pages from a synthetic eight-quarter history (no Prefect, no AWS)."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from bench.synthetic import NOW, build_estate, make_services
from tasks.catalog.policy import Policy
from tasks.errors import ConfigError
from tasks.evidence.history import load_dashboard_history, load_summaries, read_run
from tasks.evidence.store import LocalEvidenceStore
from tasks.report.charts import bar_chart, line_chart, ratio_chart
from tasks.report.site import (
    build_site,
    load_inputs,
    render_site,
    report_href,
    status_table,
    trend_charts,
)
from tasks.rules.dashboard import build, build_pack, services_from_catalog
from tasks.rules.quarters import Quarter
from tasks.tracker.history import ledger_tickets, read_ledger, read_tickets

HOSTILE = '<script>alert("x")</script>'
LAPSED = "svc-00004"  # Tier 1: stopped being reviewed and tested two quarters ago
NEVER_RESTORED = "svc-00008"  # Tier 1: never restore-tested
HOSTILE_SERVICE = "svc-00003"  # Tier 3, never restore-tested, with a hostile runbook name


def add_tickets(evidence: Path, *tickets: dict) -> None:
    path = evidence / "tracker" / "ledger.json"
    data = json.loads(path.read_text())
    for t in tickets:
        key = f"DR-{data['next']}"
        data["next"] += 1
        data["tickets"][key] = {
            "key": key,
            "fingerprint": key.lower(),
            "check": "runbook.drift",
            "resource": "runbook",
            "title": "Planted",
            "detail": "",
            "remediation": "",
            "closed_at": None,
            "history": [],
            "status": "open",
            **t,
        }
    path.write_text(json.dumps(data))


def make_estate(root: Path):
    services = make_services(14, names={3: f"{HOSTILE} Billing"}, fleet_every=5)
    estate = build_estate(
        root, services, lapsed=frozenset({LAPSED}), never_restored=frozenset({NEVER_RESTORED, HOSTILE_SERVICE})
    )
    add_tickets(
        estate.evidence,
        # Tier 0, open 40 days: past the 14-day SLA.
        {"service": "svc-00000", "tier": 0, "severity": "high", "opened_at": (NOW - timedelta(days=40)).isoformat()},
        # Tier 1, open 10 days: within the 30-day SLA.
        {"service": "svc-00012", "tier": 1, "severity": "medium", "opened_at": (NOW - timedelta(days=10)).isoformat()},
    )
    return estate


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    return make_estate(tmp_path_factory.mktemp("dashboard"))


@pytest.fixture(scope="module")
def views(estate):
    inputs = load_inputs(str(estate.evidence), str(estate.runbooks))
    dashboard, pack = build(inputs.services, inputs.history, inputs.tickets, inputs.policy, NOW)
    return inputs, dashboard, pack


def rows_by_service(rows):
    return {r.service: r for r in rows}


def test_quarters():
    q = Quarter.of(datetime(2026, 11, 24, tzinfo=timezone.utc))
    assert (q.id, q.label, q.start.month, q.end) == ("2026Q4", "2026 Q4", 10, datetime(2027, 1, 1, tzinfo=timezone.utc))
    assert [x.id for x in q.back(5)] == ["2025Q4", "2026Q1", "2026Q2", "2026Q3", "2026Q4"]
    assert Quarter.parse("2025-q1") == Quarter(2025, 1) == Quarter(2024, 4).next() == Quarter(2025, 2).prev()
    with pytest.raises(ValueError, match="like 2026Q3"):
        Quarter.parse("2026Q5")
    now = datetime(2026, 12, 7, tzinfo=timezone.utc)
    assert Quarter.begun("2026Q4", now) == q and Quarter.begun("2026Q1", now) == Quarter(2026, 1)
    with pytest.raises(ValueError, match="2027Q1 has not begun"):
        Quarter.begun("2027Q1", now)


def test_catalog_services_carry_owner_champion_and_fleets(views):
    inputs, _, _ = views
    by_id = {s.service: s for s in inputs.services}
    assert len(by_id) == 14 and by_id["svc-00004"].owner == "owner4@example.com"
    assert by_id["svc-00004"].fleets == ("svc-00004|rds_instance:us-east-1:[service=svc-00004-tenants]",)
    assert by_id[HOSTILE_SERVICE].name == f"{HOSTILE} Billing"


def test_overdue_never_run_and_past_sla_are_flagged(views):
    _, dashboard, _ = views
    rows = rows_by_service(dashboard.rows)
    lapsed = rows[LAPSED]
    assert lapsed.review.overdue and lapsed.restore.overdue and not lapsed.simulation.overdue
    assert lapsed.review.due == lapsed.review.last + timedelta(days=90) < NOW
    assert lapsed.status == "overdue" and "documentation review overdue since" in lapsed.reasons[0]
    never = rows[NEVER_RESTORED]
    assert never.restore.last is None and never.restore.overdue and "restore test never run" in never.reasons
    # Tier 0 ticket open 40 days against a 14-day SLA; Tier 1 ticket open 10 of 30 days.
    assert (rows["svc-00000"].tickets.open, rows["svc-00000"].tickets.past_sla, rows["svc-00000"].status) == (
        1,
        1,
        "overdue",
    )
    assert rows["svc-00000"].tickets.oldest_age_days == 40
    assert (rows["svc-00012"].tickets.past_sla, rows["svc-00012"].status) == (0, "attention")
    # Tiers 0/1 first, and within a tier the worst first.
    assert [r.tier for r in dashboard.rows] == sorted(r.tier for r in dashboard.rows)
    assert [r.service for r in dashboard.rows[:3]] == ["svc-00000", LAPSED, NEVER_RESTORED]
    assert dashboard.counts["critical"] == 4


def test_last_restore_test_reports_worst_rto_and_rpo_against_target(views):
    inputs, dashboard, _ = views
    row = rows_by_service(dashboard.rows)["svc-00012"]
    last_run = [
        r for r in inputs.history["backup-restore-test"] if any(s["service"] == "svc-00012" for s in r.services)
    ][-1]
    mine = [m for m in last_run.measurements if m.service == "svc-00012"]
    assert row.restore.last == last_run.started_at
    assert row.figures.rto_seconds == max(m.rto_seconds for m in mine)
    assert row.figures.rto_target_seconds == 6 * 3600 and row.figures.rpo_target_seconds == 3600


def test_simulation_is_the_newest_completed_run_including_the_service(views):
    _, dashboard, _ = views
    row = rows_by_service(dashboard.rows)["svc-00012"]
    assert row.simulation.last.date().isoformat() == "2026-05-11" and row.simulation.detail == "region-loss"
    assert row.simulation.due.date().isoformat() == "2027-05-11"


def test_fleet_coverage_counts_members_tested_in_the_rotation_window(views):
    _, dashboard, _ = views
    coverage = {f.service: f for f in dashboard.coverage}
    # Rotation tests a quarter of the 8 members each quarter; the lapsed service's last two tests
    # (2026 Q1 and Q2) are inside the 4-quarter window.
    assert (coverage[LAPSED].members, coverage[LAPSED].tested, coverage[LAPSED].share) == (8, 4, 0.5)
    # Tier 3 is tested once a year: 2 of 8 members since the window opened.
    assert (coverage["svc-00009"].members, coverage["svc-00009"].tested) == (8, 2)
    assert dashboard.window_start == NOW - timedelta(days=365.25)


def test_trends_cover_eight_quarters(views, estate):
    _, dashboard, _ = views
    trends = dashboard.trends
    assert [t.quarter.id for t in trends] == [q.id for q in Quarter(2026, 4).back(8)]
    assert trends[-1].partial and not any(t.partial for t in trends[:-1])
    assert all(t.restores > 0 and t.reviews > 0 for t in trends)
    assert [t.simulations for t in trends] == [0, 1, 0, 0, 0, 1, 0, 0]
    assert trends[0].compliance == 0  # no simulation had run yet in the first quarter
    assert all(0 <= t.compliance <= 1 for t in trends)
    ledger = json.loads((estate.evidence / "tracker" / "ledger.json").read_text())["tickets"].values()
    assert sum(t.tickets_opened for t in trends) == sum(1 for t in ledger if t["opened_at"] >= "2025-01-01")


def test_pack_for_a_past_quarter_is_judged_at_its_end(views, estate):
    inputs, _, current = views
    assert current.quarter == Quarter(2026, 4) and current.partial and current.as_of == NOW
    pack = build_pack(inputs.services, inputs.history, inputs.tickets, inputs.policy, NOW, Quarter(2026, 2))
    assert not pack.partial and pack.as_of.date().isoformat() == "2026-06-30"
    assert [(s.scenario, s.services) for s in pack.simulations] == [("region-loss", 14)]
    assert [t.quarter.id for t in pack.trends][-1] == "2026Q2"
    # The lapsed service was still current at the end of Q2.
    assert not rows_by_service(pack.rows)[LAPSED].review.overdue
    assert all(Quarter(2026, 2).start <= t.opened_at < Quarter(2026, 2).end for t in pack.opened)
    assert all(t.status == "closed" for t in pack.closed)


def test_tier_filter(views):
    inputs, _, _ = views
    dashboard, pack = build(inputs.services, inputs.history, inputs.tickets, inputs.policy, NOW, tiers=[0])
    assert [r.service for r in dashboard.rows] == ["svc-00000"] and pack.critical == 1


def test_summaries_are_preferred_and_results_json_is_the_fallback(estate, tmp_path):
    store = LocalEvidenceStore(estate.evidence)
    with_summaries = load_dashboard_history(store)
    run_dir = next((estate.evidence / "documentation-review").iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["summary_version"] == 1 and all("detail" not in f for f in summary["findings"])

    copy = tmp_path / "evidence"
    shutil.copytree(estate.evidence, copy)
    for path in copy.rglob("summary.json"):
        path.unlink()
    without = load_dashboard_history(LocalEvidenceStore(copy))
    for flow, runs in with_summaries.items():
        assert [(r.run_id, r.services, r.measurements, r.findings, r.fleets) for r in runs] == [
            (r.run_id, r.services, r.measurements, r.findings, r.fleets) for r in without[flow]
        ], flow


def test_a_summary_with_a_malformed_restore_is_read_from_results_json(estate, tmp_path, caplog):
    copy = tmp_path / "evidence"
    shutil.copytree(estate.evidence, copy)
    run_dir = sorted((copy / "backup-restore-test").iterdir())[-1]
    good = read_run(LocalEvidenceStore(copy), f"backup-restore-test/{run_dir.name}")
    summary = json.loads((run_dir / "summary.json").read_text())
    summary["measurements"][0]["kind"] = "rds_instanse"  # outside the kind vocabulary
    (run_dir / "summary.json").write_text(json.dumps(summary))
    with caplog.at_level("WARNING"):
        again = read_run(LocalEvidenceStore(copy), f"backup-restore-test/{run_dir.name}")
    assert "summary.json: unreadable" in caplog.text and "kind" in caplog.text
    assert good.measurements and again.measurements == good.measurements
    assert again.measurements[0].kind == "rds_instance" and again.measurements[0].started_at.tzinfo is not None


def test_run_dirs_are_listed_without_walking_measurement_files(estate):
    store = LocalEvidenceStore(estate.evidence)
    run_dir = sorted((estate.evidence / "backup-restore-test").iterdir())[0]
    (run_dir / "measurements").mkdir()
    (run_dir / "measurements" / "abc.json").write_text("{}")
    try:
        assert len(load_summaries(store, "backup-restore-test")) == estate.runs["backup-restore-test"]
    finally:
        shutil.rmtree(run_dir / "measurements")
    assert load_summaries(store, "no-such-flow") == []


def test_hostile_runbook_name_renders_as_text_in_dashboard_and_pack(estate, tmp_path):
    site = build_site(str(estate.evidence), str(tmp_path / "site"), runbooks=str(estate.runbooks), now=NOW)
    assert set(site.pages) == {"index.html", "pack-2026Q4.html", "pack-2026Q4.md"}
    assert HOSTILE_SERVICE in [r.service for r in site.pack.risks]
    for name in ("index.html", "pack-2026Q4.html"):
        html = (tmp_path / "site" / name).read_text()
        assert "<script" not in html, name  # no script at all: the pages work offline and in print
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; Billing" in html, name
    markdown = (tmp_path / "site" / "pack-2026Q4.md").read_text()
    assert "<script>" not in markdown and '&lt;script&gt;alert\\("x"\\)&lt;/script&gt; Billing' in markdown


def test_report_links_are_relative_to_the_site():
    assert (
        report_href("evidence/documentation-review/x", "evidence/dashboard") == "../documentation-review/x/report.html"
    )
    assert (
        report_href("s3://b/p/documentation-review/x", "s3://b/p/dashboard") == "../documentation-review/x/report.html"
    )
    assert report_href("s3://b/p/documentation-review/x", "site") is None
    assert report_href("s3://other/p/x", "s3://b/p/dashboard") is None
    assert report_href(None, "site") is None


def test_status_table_is_capped_for_the_artifact(views):
    _, dashboard, _ = views
    table = status_table(dashboard.rows, limit=3)
    assert len(table) == 3 and table[0]["service"] == "svc-00000" and table[1]["review due"] == "overdue"


def test_ledger_reader(tmp_path):
    store = LocalEvidenceStore(tmp_path)
    assert read_ledger(store) == []
    (tmp_path / "tracker").mkdir()
    (tmp_path / "tracker" / "ledger.json").write_text(
        json.dumps(
            {
                "next": 2,
                "tickets": {
                    "DR-1": {
                        "key": "DR-1",
                        "service": "a",
                        "tier": 1,
                        "severity": "high",
                        "status": "closed",
                        "title": "t",
                        "check": "c",
                        "opened_at": "2026-01-02T03:04:05+00:00",
                        "closed_at": "2026-02-01T00:00:00+00:00",
                    }
                },
            }
        )
    )
    [ticket] = read_tickets("ledger", str(tmp_path))
    assert ticket.closed_at == datetime(2026, 2, 1, tzinfo=timezone.utc) and ticket.status == "closed"
    assert ledger_tickets({}) == []
    with pytest.raises(ConfigError, match="readers: jira, ledger"):
        read_tickets("trello", str(tmp_path))


def test_invalid_runbooks_are_listed_and_failing(tmp_path):
    from tasks.catalog.load import load_catalog
    from tests.estate import write_catalog

    catalog = load_catalog(write_catalog(tmp_path / "runbooks"))
    services = services_from_catalog(catalog)
    assert {s.service for s in services if not s.valid} == {b.service for b in catalog.invalid}
    dashboard, _ = build(services, {}, [], Policy(), NOW)
    assert all(r.status == "failing" for r in dashboard.rows if not r.info.valid)
    assert all(r.status == "overdue" for r in dashboard.rows if r.info.valid)  # nothing has ever run


def test_chart_geometry():
    labels = ["Q1", "Q2", "Q3", "Q4"]
    chart = line_chart(labels, [("a", [0.5, None, 1.0, 0.25])], unit="%", y_max=1.0, target=0.9)
    [series] = chart["series"]
    assert len(series["paths"]) == 2 and [p["label"] for p in series["points"]] == ["Q1", "Q3", "Q4"]
    assert series["points"][1]["y"] == chart["top"]  # 100% at the top of the plot
    assert series["points"][0]["y"] == chart["top"] + chart["plot_h"] / 2
    assert chart["ticks"][-1]["label"] == "100%" and chart["target"] is not None
    bars = bar_chart(labels, [("opened", [3, 0, None, 7])])
    assert [b["value"] for b in bars["bars"]] == [3, 0, 7] and bars["ticks"][-1]["label"] == "10"
    ratio = ratio_chart([{"label": "svc", "values": [{"ratio": 1.5, "text": "x"}, {"ratio": None, "text": "y"}]}])
    over, failed = ratio["rows"][0]["bars"]
    assert over["cls"].startswith("over") and failed["cls"].startswith("failed") and ratio["target_x"] > ratio["left"]


def test_quarters_before_the_first_evidence_are_no_data_not_zero(views, estate, tmp_path):
    inputs, _, _ = views
    dashboard, pack = build(inputs.services, inputs.history, inputs.tickets, inputs.policy, NOW, quarters=12)
    first = min(run.started_at for runs in inputs.history.values() for run in runs)
    empty = [t for t in dashboard.trends if t.as_of < first]
    assert (
        len(empty) >= 3
        and not any(t.has_data for t in empty)
        and all(t.has_data for t in dashboard.trends[len(empty) :])
    )
    assert all(t.compliance is None for t in empty)
    charts = trend_charts(dashboard.trends)
    drawn = {p["label"] for s in charts["compliance"]["series"] for p in s["points"]}
    assert not drawn & {t.quarter.id for t in empty}, "a quarter without evidence is a gap, not 0%"
    assert not {b["label"] for b in charts["tickets"]["bars"]} & {t.quarter.id for t in empty}
    assert not dashboard.first_quarter and pack.previous_compliance is not None
    site = render_site(inputs, str(tmp_path), now=NOW, quarters=12)
    rows = re.findall(r'<tr data-quarter="([^"]+)">(.*?)</tr>', site.pages["pack-2026Q4.html"], re.S)
    assert [q for q, row in rows if "no data" in row and "0%" not in row] == [t.quarter.id for t in empty]


@pytest.mark.parametrize(
    ("before", "said_html", "said_md"),
    [
        (0.004, "unchanged from the previous quarter", "unchanged from the previous quarter"),  # was "-0 points"
        (0.02, ">-2 points</span> on the previous quarter", "-2 points on the previous quarter"),
        (-0.01, ">+1 point</span> on the previous quarter", "+1 point on the previous quarter"),
    ],
)
def test_the_packs_change_in_compliance_agrees_with_the_two_percentages_it_shows(
    views, tmp_path, monkeypatch, before, said_html, said_md
):
    inputs, _, _ = views
    import tasks.report.site as site_module

    def with_previous(*args, **kwargs):
        dashboard, pack = build(*args, **kwargs)
        return dashboard, replace(pack, previous_compliance=pack.compliance + before)

    monkeypatch.setattr(site_module, "build", with_previous)
    site = render_site(inputs, str(tmp_path), now=NOW)
    html, md = site.pages["pack-2026Q4.html"], site.pages["pack-2026Q4.md"]
    assert said_html in html and said_md in md
    assert "-0 point" not in html + md and "+0 point" not in html + md


def test_one_quarter_of_evidence_draws_no_trend(views, tmp_path):
    inputs, _, _ = views
    recent = {
        flow: [r for r in runs if r.started_at >= Quarter(2026, 4).start] for flow, runs in inputs.history.items()
    }
    tickets = [t for t in inputs.tickets if t.opened_at >= Quarter(2026, 4).start]
    dashboard, pack = build(inputs.services, recent, tickets, inputs.policy, NOW)
    assert dashboard.first_quarter and pack.first_quarter and pack.previous_compliance is None
    site = render_site(replace(inputs, history=recent, tickets=tickets), str(tmp_path), now=NOW)
    index, page = site.pages["index.html"], site.pages["pack-2026Q4.html"]
    assert 'id="first-quarter"' in index and "chart-compliance" not in index
    assert "first quarter with evidence" in page and "points on the previous quarter" not in page
    assert re.findall(r'<tr data-quarter="([^"]+)">', page) == ["2026Q4"]


def test_service_rows_escape_what_runbooks_say_and_link_each_run(tmp_path):
    """The services table is written in Python (tasks/report/service_table.py): runbook text is escaped as
    the template would, and each control links its run's report."""
    from markupsafe import escape

    from tasks.report.service_table import service_rows_html
    from tasks.rules.dashboard import Control, RestoreFigures, ServiceInfo, ServiceRow, TicketSummary

    name = """<script>alert("x")</script> & 'co'"""
    last = NOW - timedelta(days=3)
    row = ServiceRow(
        info=ServiceInfo("svc-a", name, 0, owner="o&o", champion=None),
        review=Control(
            "review", last=last, result="pass", due=NOW + timedelta(days=80), overdue=False, link="ev/review"
        ),
        restore=Control(
            "restore", last=last, result="gaps", due=NOW - timedelta(days=1), overdue=True, link="ev/restore"
        ),
        simulation=Control("simulation"),
        figures=RestoreFigures(
            restores=2,
            passed=1,
            failed=1,
            rto_seconds=None,
            rto_target_seconds=3600,
            rpo_seconds=60,
            rpo_target_seconds=300,
        ),
        tickets=TicketSummary(open=2, past_sla=1, oldest_key="DR-7", oldest_age_days=40),
        status="failing",
        reasons=["a < b"],
        why=["a < b"],
    )
    html = str(service_rows_html([row], lambda link: f"../{link}/report.html" if link else None))
    assert str(escape(name)) in html and "<script>" not in html
    assert 'title="a &lt; b"' in html and "o&amp;o" in html and "no champion" in html
    assert html.count('<a href="../ev/review/report.html">') == 1 and '<a href="../ev/restore/report.html">' in html
    assert '<span class="bad">failed</span> / 1h' in html and "1 of 2 passed" in html
    assert "overdue since" in html and "never run · overdue" in html and "next due" in html
    assert "2 open" in html and "oldest DR-7 (40 d)" in html and "1 past SLA" in html
    assert html.count("<td") == 8 and "not audited yet" in html
