"""Prefect artifacts for a run: a markdown summary, a findings table and a link to the HTML report."""

from __future__ import annotations

from pathlib import Path

from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)

from tasks.evidence.records import RunRecord
from tasks.redaction import redact

MAX_TABLE_ROWS = 500  # the UI is for a glance; the full list is in results.json


def publish_run_artifacts(record: RunRecord, markdown: str, key_prefix: str) -> None:
    create_markdown_artifact(
        key=f"{key_prefix}-summary", markdown=redact(markdown), description=f"{record.flow} summary"
    )
    rows = [
        {
            "severity": f.severity,
            "service": f.service,
            "check": f.check,
            "resource": f.resource,
            "title": redact(f.title),
            "ticket": f.ticket or "pending",
        }
        for f in record.findings[:MAX_TABLE_ROWS]
    ]
    create_table_artifact(
        key=f"{key_prefix}-findings",
        table=rows or [{"result": "no gaps found"}],
        description=f"{len(record.findings)} finding(s)",
    )
    html = record.reports.get("report.html")
    if html:
        link = html if "://" in html else Path(html).resolve().as_uri()
        create_link_artifact(
            key=f"{key_prefix}-report",
            link=link,
            link_text="HTML report",
            description="The run's full report in the evidence store",
        )
