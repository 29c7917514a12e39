"""Evidence is written atomically and reports render hostile text as text."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from jinja2 import UndefinedError

from tasks.errors import EvidenceError
from tasks.evidence.records import RunRecord, ServiceStatus
from tasks.evidence.store import LocalEvidenceStore, RunEvidence, load_history
from tasks.report.render import md_escape, render
from tasks.rules.checks import make_finding
from tasks.rules.digest import digest

HOSTILE = '<script>alert("x")</script>'


def record(**kwargs) -> RunRecord:
    base = dict(
        flow="documentation-review",
        run_id="0f1e2d3c-aaaa-bbbb-cccc-000000000000",
        started_at=datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc),
        parameters={"tiers": [1]},
    )
    return RunRecord(**{**base, **kwargs})


def test_run_directory_layout_and_atomic_results(tmp_path):
    store = LocalEvidenceStore(tmp_path)
    run = RunEvidence(store, record())
    path = run.save()
    assert path == str(tmp_path / "documentation-review" / "20261124T080000Z-0f1e2d3c" / "results.json")
    assert json.loads(open(path).read())["run_id"].startswith("0f1e2d3c")
    assert [p.name for p in (tmp_path / "documentation-review" / "20261124T080000Z-0f1e2d3c").iterdir()] == [
        "results.json"
    ]
    assert [r.run_id for r in load_history(store, "documentation-review")] == [run.record.run_id]


def test_unwritable_evidence_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(EvidenceError, match="is not writable"):
        LocalEvidenceStore(blocker / "evidence").check_writable()


def test_hostile_text_renders_as_text_in_html_and_markdown():
    finding = make_finding(
        "runbook.drift",
        service="svc",
        tier=1,
        resource=f"s3_bucket:us-east-1:{HOSTILE}",
        subject="versioning",
        detail=f"name {HOSTILE} | pipe",
    )
    rec = record(findings=[finding], services=[ServiceStatus(service="svc", tier=1, status="gaps", findings=1)])
    rows = [
        {
            "service": "svc",
            "name": HOSTILE,
            "tier": 1,
            "owner": HOSTILE,
            "champion": None,
            "last_reviewed": None,
            "status": "gaps",
            "findings": 1,
        }
    ]
    tracker = {"created": 1, "kept": 0, "resolved": 0, "reopened": 0, "escalated": 0, "deferred": 0, "error": None}
    summary = digest(f"the runbook of {HOSTILE}", rec.findings)
    page = {
        "record": rec,
        "tracker": tracker,
        "rows": rows,
        "tiers": [1],
        "services_filter": [],
        "with_gaps": 1,
        "digest": summary,
    }
    html = render("review.html.j2", **page)
    assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    markdown = render("review.md.j2", **page)
    assert "<script>" not in markdown and "&lt;script&gt;" in markdown and "\\| pipe" in markdown


def test_templates_refuse_undefined_names():
    with pytest.raises(UndefinedError):
        render("review.html.j2", record=record())


def test_markdown_escaping():
    assert md_escape("[link](javascript:x) *b* a|b\nc") == "\\[link\\]\\(javascript:x\\) \\*b\\* a\\|b<br>c"
