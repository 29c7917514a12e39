"""What a run would do, worked out without Prefect: the command line's `--dry-run` prints these (no server
started or contacted) and the flows' own `dry_run` returns the same."""
from __future__ import annotations

ALL_TIERS = [0, 1, 2, 3]


def review_plan(catalog, tiers: list[int] | None, services: list[str] | None) -> dict:
    from tasks.catalog import select_services

    tiers = sorted(set(tiers if tiers is not None else catalog.policy.review_tiers))
    valid, invalid = select_services(catalog, tiers, services)
    return {"dry_run": True, "tiers": tiers,
            "services": {rb.service: [spec.label() for spec in rb.resources] for rb in valid},
            "invalid": {bad.service: [str(p) for p in bad.problems] for bad in invalid}}


def audit_plan(catalog, tiers: list[int] | None, services: list[str] | None) -> dict:
    from tasks.catalog import select_services

    tiers = sorted(set(tiers if tiers is not None else ALL_TIERS))
    valid, _invalid = select_services(catalog, tiers, services)
    return {"dry_run": True, "tiers": tiers,
            "services": {rb.service: [spec.label() for spec in rb.resources] for rb in valid}}
