"""After the demo (the estate README describes, on moto's server, through every flow): every number on the
dashboard and the pack matches the ledger and the results files, every status follows the rule, no quarter
without evidence reads as 0%, and every page reads in headless Chromium at 1400 and 900 px with the
services and their statuses on the first screen and nothing sticking out of the page."""

from __future__ import annotations

import html
import json
import os
import re
from pathlib import Path

import pytest

from tests.browser import measure_layout
from tests.conftest import REPO_ROOT
from tests.test_dashboard_site import chromium

ARTIFACTS = REPO_ROOT / "out" / "test-artifacts"  # screenshots of the first screens (gitignored)
FLOWS = ("documentation-review", "backup-posture-audit", "backup-restore-test", "dr-simulation")
WIDTHS = (1400, 900)
HEIGHT = 900  # the window; the first screen is what is left of it below the browser's own bars


@pytest.fixture(scope="module")
def demo(tmp_path_factory, prefect_harness):
    from flows.demo import run_demo

    out = tmp_path_factory.mktemp("demo")
    saved = dict(os.environ)
    try:
        result = run_demo(out, None, say=lambda *_: None)
    finally:  # the demo points AWS_ENDPOINT_URL at its own emulator; later tests use moto in-process
        os.environ.clear()
        os.environ.update(saved)
    return out, result


# --- the ground truth, read straight from the files ---------------------------------------------


def results(evidence: Path, flow: str) -> list[dict]:
    runs = [json.loads(p.read_text()) for p in sorted((evidence / flow).glob("*/results.json"))]
    return [r for r in runs if r["status"] == "completed"]


def ledger(evidence: Path) -> list[dict]:
    return list(json.loads((evidence / "tracker" / "ledger.json").read_text())["tickets"].values())


def latest(evidence: Path, flow: str) -> dict[str, tuple[dict, dict]]:
    """service -> (its status entry, the run) in the newest completed run that includes it."""
    out: dict[str, tuple[dict, dict]] = {}
    for run in sorted(results(evidence, flow), key=lambda r: r["started_at"]):
        for s in run["services"]:
            out[s["service"]] = (s, run)
    return out


def expected_status(service: str, valid: bool, evidence: Path, open_tickets: int) -> str:
    """The legend, applied by hand to the results files (all of the demo's controls ran today, so
    nothing that ran is past due; a control that never ran is overdue)."""
    review, restore, simulation = (latest(evidence, f).get(service) for f in FLOWS if f != "backup-posture-audit")
    if not valid:
        return "failing"
    if restore and restore[0]["status"] not in ("pass", "not_assessed"):
        return "failing"
    if simulation and any(
        f["check"] == "simulation.unrecoverable" and f["service"] == service for f in simulation[1]["findings"]
    ):
        return "failing"
    if None in (review, restore, simulation):
        return "overdue"
    if any(c[0]["status"] != "pass" for c in (review, restore, simulation)) or open_tickets:
        return "attention"
    return "ok"


# --- reading the pages ----------------------------------------------------------------------------


def figure(page: str, name: str) -> str:
    match = re.search(rf'data-figure="{name}"[^>]*>(.*?)</div>\s*(?:</div>|[^<]*</div>)', page, re.S)
    assert match, f"no figure {name}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def rows(page: str) -> dict[str, str]:
    return {m.group(1): m.group(0) for m in re.finditer(r'<tr class="svc[^"]*" id="svc-([^"]+)".*?</tr>', page, re.S)}


def test_every_number_on_the_dashboard_matches_the_ledger_and_results(demo):
    out, result = demo
    evidence = Path(result["evidence"])
    page = (out / "dashboard" / "index.html").read_text()
    tickets = ledger(evidence)
    open_tickets = [t for t in tickets if t["status"] == "open"]
    program = [t for t in open_tickets if t["service"] == "dr-program"]
    assert program, "the demo's tabletop agrees action items: they are DR program tickets"

    assert figure(page, "open_tickets") == str(len(open_tickets))
    assert f"Open DR tickets ({len(open_tickets)})" in page
    program_row = re.search(r'<tr class="program" data-tickets="DR program">.*?</tr>', page, re.S).group(0)
    assert f"{len(program)} open" in program_row

    catalog = {p.stem for p in (Path(result["catalog"])).glob("*.yaml") if p.stem != "policy"}
    by_row = rows(page)
    assert set(by_row) == catalog
    reviewed = latest(evidence, "documentation-review")
    statuses = {}
    for service, row in by_row.items():
        mine = [t for t in open_tickets if t["service"] == service]
        cell = re.search(r'<td data-figure="tickets">(.*?)</td>', row, re.S).group(1)
        assert (f"{len(mine)} open" in cell) if mine else cell.startswith("none"), (service, cell)
        valid = reviewed[service][0]["status"] != "invalid"
        statuses[service] = re.search(r'data-status="([a-z]+)"', row).group(1)
        assert statuses[service] == expected_status(service, valid, evidence, len(mine)), service
    # The README's planted gaps: a runbook that does not validate, a restore that failed, services the
    # region-loss simulation could not recover.
    assert statuses["status-page"] == statuses["alerts"] == "failing"
    assert figure(page, "failing") == str(sum(1 for s in statuses.values() if s == "failing"))
    assert figure(page, "ok") == str(sum(1 for s in statuses.values() if s == "ok"))

    # Restores per service: counted from the measurements, failures included.
    restore_run = results(evidence, "backup-restore-test")[-1]
    for service, row in by_row.items():
        ms = [m for m in restore_run["measurements"] if m["service"] == service]
        if ms:
            assert f"{sum(m['passed'] for m in ms)} of {len(ms)} passed" in row, service

    # The audit: per service, checks passing of checks run, failing = that service's audit findings.
    audit = results(evidence, "backup-posture-audit")[-1]
    for s in audit["services"]:
        cell = re.search(r'<td class="audit">(.*?)</td>', by_row[s["service"]], re.S).group(1)
        gaps = sum(1 for f in audit["findings"] if f["service"] == s["service"])
        assert f"{s['checks'] - gaps} of {s['checks']} check(s) pass" in cell, (s, cell)

    # One quarter of evidence: no trend is drawn and nothing reads as 0%.
    assert 'id="first-quarter"' in page and "chart-compliance" not in page


def test_every_number_in_the_pack_matches_the_ledger_and_results(demo):
    out, result = demo
    evidence = Path(result["evidence"])
    quarter = result["dashboard"]["quarter"]
    page = (out / "dashboard" / f"pack-{quarter}.html").read_text()
    markdown = (out / "dashboard" / f"pack-{quarter}.md").read_text()
    tickets = ledger(evidence)
    open_tickets = [t for t in tickets if t["status"] == "open"]
    measurements = [m for run in results(evidence, "backup-restore-test") for m in run["measurements"]]
    passed = sum(1 for m in measurements if m["passed"])
    assert passed < len(measurements), "the demo plants a restore with nothing to restore from"

    assert figure(page, "open_tickets") == str(len(open_tickets))
    assert figure(page, "restores") == f"{passed} / {len(measurements)}"
    trend = re.search(rf'<tr data-quarter="{quarter}">.*?</tr>', page, re.S).group(0)
    assert f"({passed} of {len(measurements)})" in trend
    assert f"Restores meeting targets: {passed} of {len(measurements)}" in markdown
    reviews = results(evidence, "documentation-review")
    assert f"of {sum(len(r['services']) for r in reviews)}" in trend
    assert f"Opened in {quarter[:4]} Q{quarter[-1]} ({len(tickets)})" in page

    # Tickets: most severe first, then oldest, then by number; each with its resource.
    shown = re.findall(r'<tr data-ticket="([^"]+)">', page.split("Opened in", 1)[1])
    order = {"critical": 0, "high": 1, "medium": 2, "low": 3}
    by_key = {t["key"]: t for t in tickets}
    expected = sorted(shown, key=lambda k: (order[by_key[k]["severity"]], by_key[k]["opened_at"], int(k.split("-")[1])))
    assert shown == expected and len(shown) == min(len(tickets), 50)
    first = re.search(rf'<tr data-ticket="{shown[0]}">.*?</tr>', page, re.S).group(0)
    assert html.escape(by_key[shown[0]]["resource"]) in first
    assert "((" not in page  # an invalid runbook's name is not doubly bracketed

    # No quarter without evidence reads as 0%, and there is no "previous quarter" to beat.
    assert 'id="first-quarter"' in page and "points on the previous quarter" not in page
    assert not re.search(r'<tr data-quarter="(?!%s)' % quarter, page)
    assert "0%" not in markdown.split("## Trends", 1)[1].split("## Simulation", 1)[0].replace(
        next(line for line in markdown.splitlines() if line.startswith(f"| {quarter[:4]} Q")), ""
    )

    # Backup posture per tier: audited services and failing checks add up to the audit's findings.
    audit = results(evidence, "backup-posture-audit")[-1]
    tiers = re.findall(r'<tr data-tier="(\d)">(.*?)</tr>', page, re.S)
    assert {int(t) for t, _ in tiers} == {s["tier"] for s in audit["services"]}
    for tier, row in tiers:
        mine = [s for s in audit["services"] if s["tier"] == int(tier)]
        checks = sum(s["checks"] for s in mine)
        gaps = sum(1 for f in audit["findings"] if f["tier"] == int(tier))
        assert f"{checks - gaps} / {checks}" in row, (tier, row)


PAGES = {
    # page -> {mark: selector}; each mark's elements must be wholly on the first screen.
    "dashboard": {
        "status": "tr.svc.t0 td.st .badge, tr.svc.t1 td.st .badge",
        "service": "tr.svc.t0 td.svc-name strong, tr.svc.t1 td.svc-name strong",
    },
    "pack": {"status": "table.services tr.svc td.st .badge", "service": "table.services tr.svc td strong"},
    "documentation-review": {
        "summary": "#summary > p:first-child",
        "status": "table.services tbody tr:first-child .badge",
    },
    "backup-posture-audit": {
        "summary": "#summary > p:first-child",
        "status": "table.services tbody tr:first-child .badge",
    },
    "backup-restore-test": {
        "summary": "#summary > p:first-child",
        "status": "table.groups tbody tr:first-child td:first-child",
    },
    "dr-simulation": {
        "summary": "#summary > p:first-child",
        "strikes": "#strikes",
        "status": "table.impact tbody tr:first-child .badge",
    },
}


def page_path(out: Path, result: dict, name: str) -> Path:
    if name == "dashboard":
        return out / "dashboard" / "index.html"
    if name == "pack":
        return out / "dashboard" / f"pack-{result['dashboard']['quarter']}.html"
    return next((Path(result["evidence"]) / name).glob("*/report.html"))


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(PAGES))
def test_page_reads_on_the_first_screen_without_overflow(demo, chromium, name, width):
    out, result = demo
    layout = measure_layout(
        chromium,
        page_path(out, result, name),
        PAGES[name],
        width,
        HEIGHT,
        screenshot=ARTIFACTS / f"first-screen-{name}-{width}.png",
    )
    assert layout["vw"] == width and layout["scrollWidth"] <= width, layout["scrollWidth"]
    assert layout["overflowing"] == [], layout["overflowing"][:10]
    for mark, boxes in layout["marks"].items():
        assert boxes, f"{name}: nothing matches {mark}"
        hidden = [b for b in boxes if not b["visible"]]
        assert hidden == [], f"{name} at {width}px: {mark} not on the first screen ({layout['vh']}px): {hidden[:3]}"


def test_reports_open_with_what_was_tested_what_failed_and_what_to_do(demo):
    out, result = demo
    evidence = Path(result["evidence"])
    for flow in FLOWS:
        path = next((evidence / flow).glob("*/report.html"))
        page = path.read_text()
        head = page.split('id="summary"', 1)[1].split("</section>", 1)[0]
        assert "Tested:" in head and "What failed, why, and what to do" in head, flow
        assert "`" not in head, f"{flow}: Markdown shown raw"
        # The lines shown and the "… and N more findings" after them count every finding of the run.
        shown = sum(int(n) for n in re.findall(r"</strong>: (\d+) in ", head))
        more = re.search(r"… and (\d+) more finding", head)
        findings = json.loads((path.parent / "results.json").read_text())["findings"]
        assert shown + (int(more.group(1)) if more else 0) == len(findings), flow
    restore = next((evidence / "backup-restore-test").glob("*/report.html")).read_text()
    assert 'id="sampling"' in restore and "5% of each fleet" in restore and "of 120 fleet member(s) restored" in restore
    assert restore.count('data-service="issue-tracker"') < 10, "the fleet's restores are grouped, not listed first"
    simulation = next((evidence / "dr-simulation").glob("*/report.html")).read_text()
    strikes = re.search(r'id="strikes">Strikes: <strong>([^<]+)</strong>', simulation).group(1)
    assert strikes == "us-east-1 (1 region)"
    assert re.search(r"× \d{2,}", simulation), "fleet members are grouped per path with a count"


def test_failing_services_are_events_judged_by_the_same_rule(demo, prefect_harness):
    import time

    import httpx

    out, _ = demo
    failing = set(
        re.findall(
            r'<tr class="svc[^"]*" id="svc-([^"]+)"[^>]*data-status="failing"',
            (out / "dashboard" / "index.html").read_text(),
        )
    )
    assert failing
    seen: dict[str, dict] = {}
    for _ in range(30):  # events reach the server asynchronously
        response = httpx.post(
            f"{prefect_harness}/events/filter",
            json={
                "filter": {"event": {"name": ["dr.service.failing"]}, "occurred": {"since": "2000-01-01T00:00:00Z"}},
                "limit": 50,
            },
        )
        response.raise_for_status()
        seen = {e["resource"]["dr.service"]: e for e in response.json()["events"]}
        if set(seen) >= failing:
            break
        time.sleep(1)
    assert set(seen) == failing
    assert all("unrecoverable" in e["payload"]["rule"] and e["payload"]["reasons"] for e in seen.values())


def test_every_markdown_report_has_one_summary_lists_that_end_and_no_dangling_separators(demo):
    out, _ = demo
    reports = sorted((out / "evidence").glob("*/*/report.md"))
    assert {p.parent.parent.name for p in reports} >= set(FLOWS)
    for path in reports:
        lines = path.read_text().splitlines()
        assert lines.count("## Summary") == 1, path
        # Every report lists its findings, each with its ticket (the simulation's as its gaps and action items).
        assert lines.count("## Findings") + lines.count("## Gaps and action items") == 1, path
        for finding in json.loads((path.parent / "results.json").read_text())["findings"]:
            assert not finding.get("ticket") or f"| {finding['ticket']} |" in "\n".join(lines), path
        for line, following in zip(lines, lines[1:]):
            if line.startswith("- "):  # a paragraph right under a list item would render inside it
                assert following == "" or following.startswith("- "), (path, line, following)
            assert not line.rstrip().endswith(";  |") and not line.rstrip().endswith("; |"), (path, line)
            assert "<br>" not in line or line.startswith("|"), (path, line)  # line breaks only inside table cells
