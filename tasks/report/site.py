"""The dashboard site: read inputs, render the pages from templates/, write them to a directory or S3.

Pages: index.html (the dashboard), pack-<quarter>.html and pack-<quarter>.md (the steering committee's
quarterly pack). The flow (flows/dashboard.py) calls these steps as tasks; bench/dashboard.py and the
tests call build_site() directly.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass, field
from datetime import datetime, timezone

from tasks.catalog.durations import format_duration
from tasks.catalog.policy import Policy
from tasks.evidence.gc_pause import paused_gc
from tasks.evidence.history import load_dashboard_history
from tasks.evidence.records import RunSummary, TicketRecord
from tasks.evidence.store import EvidenceStore, open_store
from tasks.report.charts import bar_chart, line_chart, ratio_chart
from tasks.report.render import md_escape, render
from tasks.report.service_table import pack_rows_html, pack_rows_md, service_rows_html
from tasks.rules.dashboard import (
    CRITICAL_TIERS,
    Dashboard,
    Pack,
    QuarterStats,
    ServiceInfo,
    ServiceRow,
    build,
    services_from_catalog,
)
from tasks.rules.quarters import Quarter
from tasks.tracker.history import read_tickets

RATIO_CHART_SERVICES = 20  # the per-service chart shows the Tier 0/1 services furthest from target
LIST_LIMIT = 50  # long lists in the pack stop here and say how many more there are


@dataclass
class Inputs:
    services: list[ServiceInfo]
    policy: Policy
    history: dict[str, list[RunSummary]]
    tickets: list[TicketRecord]
    evidence: str
    tracker: str


@dataclass
class Site:
    dashboard: Dashboard
    pack: Pack
    pages: dict[str, str] = field(default_factory=dict)  # file name -> text
    locations: dict[str, str] = field(default_factory=dict)  # file name -> where it was written


def load_inputs(
    evidence: str, runbooks: str = "runbooks", policy: str | None = None, tracker: str = "ledger"
) -> Inputs:
    from tasks.catalog.load import load_catalog  # here: YAML parsing is not needed to render given inputs

    catalog = load_catalog(runbooks, policy)
    store = open_store(evidence)
    return Inputs(
        services=services_from_catalog(catalog),
        policy=catalog.policy,
        history=load_dashboard_history(store),
        tickets=read_tickets(tracker, evidence, catalog.policy),
        evidence=store.location,
        tracker=tracker,
    )


# --- view helpers ---------------------------------------------------------------------------------


def report_href(evidence_dir: str | None, out: str) -> str | None:
    """A link from the site to a run's report.html: relative when both are local directories."""
    if not evidence_dir:
        return None
    if evidence_dir.startswith(("https://", "http://")):
        return f"{evidence_dir.rstrip('/')}/report.html"
    if evidence_dir.startswith("s3://") and out.startswith("s3://"):
        from tasks.evidence.s3 import parse_s3_url  # here: importing boto3 costs a local render 0.2 s

        # Same bucket: a relative link works wherever the bucket is served (website, CloudFront).
        (e_bucket, e_key), (o_bucket, o_key) = parse_s3_url(evidence_dir), parse_s3_url(out)
        return posixpath.relpath(f"/{e_key}/report.html", f"/{o_key}") if e_bucket == o_bucket else None
    if "://" in evidence_dir or "://" in out:
        return None  # an s3:// object is not a link a browser can open
    return os.path.relpath(os.path.abspath(os.path.join(evidence_dir, "report.html")), os.path.abspath(out))


def _labels(trends: list[QuarterStats]) -> list[str]:
    # "2026Q4": short enough for eight quarters on a printed half page; * marks the quarter in progress.
    return [t.quarter.id + ("*" if t.partial else "") for t in trends]


def trend_charts(trends: list[QuarterStats], width: int = 560) -> dict:
    labels = _labels(trends)
    return {
        "compliance": line_chart(
            labels,
            [
                ("Tier 0/1 compliant", [t.compliance for t in trends]),
                ("restores meeting targets", [t.restore_pass_rate for t in trends]),
                ("reviews without gaps", [t.review_pass_rate for t in trends]),
            ],
            unit="%",
            y_max=1.0,
            width=width,
            title="Compliance and pass rates by quarter",
        ),
        "rto": line_chart(
            labels,
            [
                ("median RTO achieved", [t.rto_median for t in trends]),
                ("median RPO achieved", [t.rpo_median for t in trends]),
            ],
            unit="%",
            target=1.0,
            target_label="target (100%)",
            width=width,
            title="Achieved RTO and RPO as a share of target, by quarter",
        ),
        # A quarter before the first evidence has no bars (no data), where a quarter with data may have 0.
        "tickets": bar_chart(
            labels,
            [
                ("opened", [t.tickets_opened if t.has_data else None for t in trends]),
                ("closed", [t.tickets_closed if t.has_data else None for t in trends]),
                ("open at quarter end", [t.open_at_end if t.has_data else None for t in trends]),
            ],
            width=width,
            title="DR tickets by quarter",
        ),
    }


def service_ratio_chart(rows: list[ServiceRow], limit: int = RATIO_CHART_SERVICES, width: int = 640) -> dict:
    def worst(row: ServiceRow) -> float:
        f = row.figures
        ratios = [r for r in (f.rto_ratio, f.rpo_ratio) if r is not None]
        return float("inf") if f.rto_ratio is None else max(ratios)

    tested = [r for r in rows if r.tier in CRITICAL_TIERS and r.restore.last is not None and r.figures.restores]
    chosen = sorted(tested, key=lambda r: (-worst(r), r.service))[:limit]
    items = []
    for row in chosen:
        f = row.figures
        items.append(
            {
                "label": row.service,
                "values": [
                    {
                        "ratio": f.rto_ratio,
                        "text": (
                            f"RTO {format_duration(f.rto_seconds)} of {format_duration(f.rto_target_seconds)} target"
                            if f.rto_ratio is not None
                            else f"RTO not measured: {f.failed} restore(s) failed"
                        ),
                    },
                    {
                        "ratio": f.rpo_ratio,
                        "text": (
                            f"RPO {format_duration(f.rpo_seconds)} of {format_duration(f.rpo_target_seconds)} target"
                            if f.rpo_ratio is not None
                            else "RPO not measured"
                        ),
                    },
                ],
            }
        )
    more = len(tested) - len(chosen)
    title = "Achieved RTO and RPO against target, last restore test per service (Tiers 0–1"
    title += f", the {len(chosen)} furthest from target of {len(tested)})" if more > 0 else ")"
    return ratio_chart(items, width=width, title=title)


# --- rendering ------------------------------------------------------------------------------------


def pack_name(quarter: Quarter, ext: str) -> str:
    return f"pack-{quarter.id}.{ext}"


def render_site(
    inputs: Inputs,
    out: str,
    now: datetime | None = None,
    quarter: Quarter | None = None,
    tiers: list[int] | None = None,
    quarters: int = 8,
) -> Site:
    with paused_gc():  # judging and writing 10,000 rows: see tasks/evidence/gc_pause.py
        return _render_site(inputs, out, now or datetime.now(timezone.utc), quarter, tiers, quarters)


def _render_site(
    inputs: Inputs, out: str, now: datetime, quarter: Quarter | None, tiers: list[int] | None, quarters: int
) -> Site:
    quarter = quarter or Quarter.of(now)
    dashboard, pack = build(
        inputs.services,
        inputs.history,
        inputs.tickets,
        inputs.policy,
        now,
        quarter=quarter,
        quarters=quarters,
        tiers=tiers,
    )
    links: dict[str | None, str | None] = {}  # a few runs are linked from thousands of rows

    def href(evidence_dir: str | None) -> str | None:
        if evidence_dir not in links:
            links[evidence_dir] = report_href(evidence_dir, out)
        return links[evidence_dir]

    common = dict(
        evidence=inputs.evidence,
        tracker=inputs.tracker,
        tiers_filter=tiers,
        href=href,
        pack_html=pack_name(pack.quarter, "html"),
        pack_md=pack_name(pack.quarter, "md"),
        limit=LIST_LIMIT,
    )
    site = Site(dashboard=dashboard, pack=pack)
    tiers_present = sorted({r.tier for r in dashboard.rows if r.tier is not None})
    site.pages["index.html"] = render(
        "dashboard.html.j2",
        d=dashboard,
        charts=trend_charts(dashboard.trends),
        ratio=service_ratio_chart(dashboard.rows),
        tiers_present=tiers_present,
        service_rows=service_rows_html(dashboard.rows, href),
        **common,
    )
    pack_charts = trend_charts(pack.trends, width=460)
    site.pages[pack_name(pack.quarter, "html")] = render(
        "pack.html.j2",
        p=pack,
        charts=pack_charts,
        ratio=service_ratio_chart(pack.rows, limit=12, width=460),
        pack_rows=pack_rows_html(pack.rows),
        **common,
    )
    site.pages[pack_name(pack.quarter, "md")] = render(
        "pack.md.j2", p=pack, pack_rows_md=pack_rows_md(pack.rows, md_escape), **common
    )
    return site


def write_site(site: Site, out: str) -> dict[str, str]:
    store: EvidenceStore = open_store(out)
    store.check_writable()
    for name, text in site.pages.items():
        site.locations[name] = store.write_bytes(name, text.encode())
    return site.locations


def build_site(
    evidence: str,
    out: str,
    runbooks: str = "runbooks",
    policy: str | None = None,
    tracker: str = "ledger",
    quarter: Quarter | None = None,
    tiers: list[int] | None = None,
    now: datetime | None = None,
) -> Site:
    """Everything the flow does, without Prefect: for the benchmark, tests and scripts."""
    inputs = load_inputs(evidence, runbooks, policy, tracker)
    site = render_site(inputs, out, now=now, quarter=quarter, tiers=tiers)
    write_site(site, out)
    return site


def status_table(rows: list[ServiceRow], limit: int = 500) -> list[dict]:
    """The dashboard's rows for a Prefect table artifact: worst first within Tiers 0/1 first."""
    return [
        {
            "service": r.service,
            "tier": r.tier,
            "status": r.status,
            "last review": r.review.last.strftime("%Y-%m-%d") if r.review.last else "never",
            "review due": "overdue" if r.review.overdue else r.review.due.strftime("%Y-%m-%d"),
            "last restore test": r.restore.last.strftime("%Y-%m-%d") if r.restore.last else "never",
            "restore due": "overdue" if r.restore.overdue else r.restore.due.strftime("%Y-%m-%d"),
            "last simulation": r.simulation.last.strftime("%Y-%m-%d") if r.simulation.last else "never",
            "open tickets": r.tickets.open,
            "past SLA": r.tickets.past_sla,
            "reasons": "; ".join(r.reasons),
        }
        for r in rows[:limit]
    ]
