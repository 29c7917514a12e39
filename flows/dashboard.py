"""The DR dashboard and the steering committee's quarterly pack: a static site from evidence and tickets."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated

from prefect import flow, get_run_logger, task
from prefect.artifacts import (
    create_link_artifact,
    create_markdown_artifact,
    create_table_artifact,
)
from prefect.cache_policies import NO_CACHE
from pydantic import Field

from flows._run import current_run
from tasks.errors import ConfigError
from tasks.report import events
from tasks.report.site import (
    Inputs,
    Site,
    load_inputs,
    pack_name,
    render_site,
    status_table,
    write_site,
)
from tasks.rules.quarters import Quarter

FLOW_NAME = "dr-dashboard"
MAX_TABLE_ROWS = 500  # the UI is for a glance; the site has every service


@task(name="read-evidence-and-tickets", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def read_inputs(evidence: str, runbooks: str, policy: str | None, tracker: str) -> Inputs:
    return load_inputs(evidence, runbooks, policy, tracker)


@task(name="render-site", cache_policy=NO_CACHE)
def render_pages(inputs: Inputs, out: str, as_of: datetime, quarter: Quarter | None, tiers: list[int] | None) -> Site:
    return render_site(inputs, out, now=as_of, quarter=quarter, tiers=tiers)


@task(name="write-site", retries=2, retry_delay_seconds=5, cache_policy=NO_CACHE)
def write_pages(site: Site, out: str) -> dict[str, str]:
    return write_site(site, out)


def default_out(evidence: str) -> str:
    """Next to the evidence it summarises, so a deployment's site lands in the same bucket or volume."""
    return f"{evidence.rstrip('/')}/dashboard"


def _link(location: str) -> str:
    return location if "://" in location else Path(location).resolve().as_uri()


@flow(name=FLOW_NAME, log_prints=True)
def dr_dashboard(
    evidence: Annotated[str, Field(description="Evidence directory or s3://bucket/prefix to read.")] = "evidence",
    out: Annotated[
        str | None, Field(description="Where to write the site (directory or s3://); default <evidence>/dashboard.")
    ] = None,
    runbooks: Annotated[str, Field(description="Runbook directory (owners, champions, tiers, fleets).")] = "runbooks",
    policy: Annotated[str | None, Field(description="Tier policy file; default: <runbooks>/policy.yaml.")] = None,
    tracker: Annotated[
        str, Field(description="Where tickets are read from: ledger (local file) or jira (one paged search).")
    ] = "ledger",
    quarter: Annotated[
        str | None, Field(description="Quarter of the steering committee pack, e.g. 2026Q3; default: the current one.")
    ] = None,
    tiers: Annotated[list[int] | None, Field(description="Only these tiers (default: all).")] = None,
    as_of: Annotated[
        datetime | None, Field(description="Judge due dates and SLAs as of this time (default: now, UTC).")
    ] = None,
) -> dict:
    logger = get_run_logger()
    out = out or default_out(evidence)
    as_of = as_of or datetime.now(timezone.utc)
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=timezone.utc)
    try:
        pack_quarter = Quarter.begun(quarter, as_of) if quarter else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None

    inputs = read_inputs(evidence, runbooks, policy, tracker)
    logger.info(
        "read %d service(s), %s run(s), %d ticket(s)",
        len(inputs.services),
        ", ".join(f"{len(runs)} {flow}" for flow, runs in inputs.history.items()),
        len(inputs.tickets),
    )
    site = render_pages(inputs, out, as_of, pack_quarter, tiers)
    locations = write_pages(site, out)

    d, pack = site.dashboard, site.pack
    counts = d.counts
    index = locations["index.html"]
    pack_html = locations[pack_name(pack.quarter, "html")]
    create_table_artifact(
        key="dr-dashboard-status",
        table=status_table(d.rows, MAX_TABLE_ROWS) or [{"services": "none"}],
        description=f"{counts['services']} service(s), Tiers 0/1 first and worst first"
        + (f"; the first {MAX_TABLE_ROWS} shown" if len(d.rows) > MAX_TABLE_ROWS else ""),
    )
    create_link_artifact(
        key="dr-dashboard", link=_link(index), link_text="DR dashboard", description="The static dashboard site"
    )
    create_link_artifact(
        key="dr-quarterly-pack",
        link=_link(pack_html),
        link_text=f"Quarterly pack {pack.quarter.label}",
        description="Print-friendly steering committee pack",
    )
    create_markdown_artifact(
        key="dr-quarterly-pack-summary",
        markdown=site.pages[pack_name(pack.quarter, "md")],
        description=f"Steering committee pack {pack.quarter.label}",
    )
    failing = events.services_failing(d.rows, FLOW_NAME, current_run()[0])
    logger.info("dashboard: %s; pack: %s; %d service(s) failing", index, pack_html, failing)
    return {
        "index": index,
        "pack_html": pack_html,
        "pack_md": locations[pack_name(pack.quarter, "md")],
        "quarter": pack.quarter.id,
        "services": counts["services"],
        "counts": counts,
        "critical_compliant": counts["critical_compliant"],
        "critical": counts["critical"],
    }
