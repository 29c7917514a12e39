"""The dr-dashboard flow end to end: eight quarters of evidence in, a site that headless Chromium opens
without errors, showing overdue services and the charts' data; artifacts on the flow run; the CLI."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from bench.synthetic import NOW
from tasks.report.site import load_inputs
from tasks.rules.dashboard import build
from tasks.rules.quarters import Quarter
from tests.browser import (
    ChromiumUnavailable,
    console_errors,
    ensure_chromium,
    load_page,
)
from tests.conftest import REPO_ROOT
from tests.test_dashboard import LAPSED, NEVER_RESTORED, make_estate

ARTIFACTS = REPO_ROOT / "out" / "test-artifacts"  # /out/ is gitignored


@pytest.fixture(scope="session")
def chromium():
    """Debian's chromium, installed with apt on a fresh machine; skipped only where apt is missing."""
    try:
        return ensure_chromium()
    except ChromiumUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def site(tmp_path_factory, prefect_harness):
    from flows.dashboard import dr_dashboard

    root = tmp_path_factory.mktemp("site")
    estate = make_estate(root)
    result = dr_dashboard(
        evidence=str(estate.evidence), out=str(root / "site"), runbooks=str(estate.runbooks), as_of=NOW
    )
    return estate, result, root / "site"


def row_html(dom: str, service: str) -> str:
    match = re.search(rf'<tr [^>]*id="svc-{service}"[^>]*>(.*?)</tr>', dom, re.S)
    assert match, f"no row for {service}"
    return match.group(1)


def test_dashboard_opens_in_headless_chromium(site, chromium):
    estate, result, out = site
    assert result["index"] == str(out / "index.html") and result["quarter"] == "2026Q4"
    page = load_page(chromium, out / "index.html", ARTIFACTS / "dashboard.png", width=1400, height=2600)
    assert console_errors(page.stderr) == []
    dom = page.dom
    assert "Disaster-recovery programme dashboard" in dom and "<script" not in dom

    # Overdue services are shown as overdue, in the cell of the control that is late.
    lapsed = row_html(dom, LAPSED)
    assert 'data-status="overdue"' in re.search(rf'<tr [^>]*id="svc-{LAPSED}"[^>]*>', dom).group(0)
    assert re.search(r'<td class="review is-overdue">.*?overdue since 2026-07-12', lapsed, re.S)
    assert re.search(r'<td class="restore is-overdue">.*?overdue since', lapsed, re.S)
    assert re.search(r'<td class="restore is-overdue">.*?never run · overdue', row_html(dom, NEVER_RESTORED), re.S)
    assert "1 past SLA" in row_html(dom, "svc-00000")
    assert 'class="badge ok">ok<' in row_html(dom, "svc-00002")

    # The charts are inline SVG carrying the computed data points.
    inputs = load_inputs(str(estate.evidence), str(estate.runbooks))
    dashboard, _ = build(inputs.services, inputs.history, inputs.tickets, inputs.policy, NOW)
    assert dom.count("<svg") >= 4
    compliance = re.findall(
        r'<circle class="pt s1"[^>]*data-series="Tier 0/1 compliant" data-label="([^"]+)" '
        r'data-value="([^"]+)"',
        dom,
    )
    assert [(label, float(v)) for label, v in compliance] == [
        (t.quarter.id + ("*" if t.partial else ""), round(t.compliance, 4)) for t in dashboard.trends
    ]
    rto = re.findall(r'data-series="median RTO achieved" data-label="[^"]+" data-value="([^"]+)"', dom)
    assert len(rto) == 8 and all(0 < float(v) < 1 for v in rto)
    opened = re.findall(r'<rect class="bar s1"[^>]*data-series="opened" data-label="[^"]+" data-value="(\d+)"', dom)
    assert [int(v) for v in opened] == [t.tickets_opened for t in dashboard.trends]
    per_service = re.findall(r'<g class="row" data-label="([^"]+)">', dom)
    assert set(per_service) == {r.service for r in dashboard.rows if r.tier in (0, 1) and r.restore.last}
    assert (ARTIFACTS / "dashboard.png").stat().st_size > 50_000


def test_quarterly_pack_opens_in_headless_chromium(site, chromium):
    estate, result, out = site
    page = load_page(chromium, out / "pack-2026Q4.html", ARTIFACTS / "pack.png", width=1000, height=3200)
    assert console_errors(page.stderr) == []
    dom = page.dom
    assert "DR steering committee pack: 2026 Q4" in dom and "Top risks" in dom
    assert "Simulation outcomes" in dom and "Opened in 2026 Q4" in dom and "Backup posture by tier" in dom
    assert dom.count("<svg") >= 4 and LAPSED in dom
    assert html.escape('<script>alert("x")</script>', quote=False) in dom and "<script" not in dom
    markdown = (out / "pack-2026Q4.md").read_text()
    assert markdown.startswith("# DR steering committee pack: 2026 Q4") and "| Quarter |" in markdown


def test_flow_publishes_status_table_and_links(site, prefect_harness):
    import httpx

    _, result, out = site
    response = httpx.post(
        f"{prefect_harness}/artifacts/filter",
        json={
            "artifacts": {"key": {"any_": ["dr-dashboard-status", "dr-dashboard", "dr-quarterly-pack"]}},
            "limit": 50,
            "offset": 0,
            "sort": "CREATED_DESC",
        },
    )
    response.raise_for_status()
    by_key = {}
    for artifact in response.json():
        by_key.setdefault(artifact["key"], artifact)
    assert by_key["dr-dashboard-status"]["type"] == "table"
    table = by_key["dr-dashboard-status"]["data"]
    table = json.loads(table) if isinstance(table, str) else table
    assert table[0]["service"] == "svc-00000" and any(
        r["service"] == LAPSED and r["review due"] == "overdue" for r in table
    )
    assert "index.html" in str(by_key["dr-dashboard"]["data"])
    assert "pack-2026Q4.html" in str(by_key["dr-quarterly-pack"]["data"])


def test_cli_dashboard(site, prefect_harness, tmp_path):
    estate, _, _ = site
    env = {**os.environ, "PREFECT_API_URL": prefect_harness}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "dashboard",
            "--evidence",
            str(estate.evidence),
            "--runbooks",
            str(estate.runbooks),
            "--out",
            str(tmp_path / "cli-site"),
            "--quarter",
            "2026Q2",
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "dashboard: 14 service(s)" in run.stdout and "Tier 0/1 compliant" in run.stdout
    assert (tmp_path / "cli-site" / "index.html").is_file() and (tmp_path / "cli-site" / "pack-2026Q2.md").is_file()

    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "flows.cli",
            "dashboard",
            "--evidence",
            str(tmp_path / "nope"),
            "--runbooks",
            str(estate.runbooks),
        ],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "dr: error: evidence directory" in bad.stderr and "Traceback" not in bad.stderr
    quarter = subprocess.run(
        [sys.executable, "-m", "flows.cli", "dashboard", "--quarter", "Q9"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert quarter.returncode == 2 and "like 2026Q3" in quarter.stderr
    next_quarter = Quarter.of(datetime.now(timezone.utc)).next().id
    future = subprocess.run(
        [sys.executable, "-m", "flows.cli", "dashboard", "--quarter", next_quarter],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert future.returncode == 2 and f"{next_quarter} has not begun" in future.stderr, future.stderr
