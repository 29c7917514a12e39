"""Post-test reports for people, pure: a fleet's hundred restores or impact lines become one line per
service and path with counts, the worst figure and a few named examples."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

EXAMPLES = 5  # members named per group; the rest are counted


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _ident(resource: str) -> str:
    """The id at the end of a resource key (kind:[account:]region:id), as reasons name it."""
    return resource.rsplit(":", 1)[-1] if resource else resource


# --- the simulation's impact table ----------------------------------------------------------------


@dataclass
class PathGroup:
    path: str | None  # None: no recovery path
    source: str
    count: int
    examples: list[str]
    reasons: list[tuple[str, int]]  # (reason without the member's id, how many members share it)


def group_paths(paths: list[dict]) -> list[PathGroup]:
    """One group per (recovery path, source of the figures); no-path groups first (they are the gaps)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for p in paths:
        groups[(_get(p, "path"), _get(p, "source"))].append(p)
    out = []
    for (path, source), members in groups.items():
        reasons: Counter[str] = Counter()
        for p in members:
            reason = _get(p, "reason")
            if not reason:
                continue
            ident = _ident(_get(p, "resource"))
            # "tenant-7 has no cross-region copy" x 60 reads as one reason with a count.
            reasons[
                reason[len(ident) :].strip() if len(members) > 1 and reason.startswith(ident + " ") else reason
            ] += 1
        out.append(
            PathGroup(
                path=path,
                source=source or "",
                count=len(members),
                examples=[_ident(_get(p, "resource")) for p in members[:EXAMPLES]],
                reasons=sorted(reasons.items(), key=lambda r: (-r[1], r[0])),
            )
        )
    out.sort(key=lambda g: (g.path is not None, -g.count, g.path or ""))
    return out


def row_reasons(row: dict) -> list[str]:
    """The service's reasons that are not already shown with a recovery path (e.g. over the RTO)."""
    shown = {_get(p, "reason") for p in _get(row, "paths") or []}
    return [r for r in _get(row, "reasons") or [] if r not in shown]


# --- the restore report ---------------------------------------------------------------------------


@dataclass
class PathFigures:
    mode: str
    region: str
    count: int = 0
    failed: int = 0
    rto_seconds: float | None = None  # the worst measured (None: none measured)
    rto_target_seconds: float | None = None
    rpo_seconds: float | None = None
    rpo_target_seconds: float | None = None
    judged_against: str = ""
    rpo_judged: bool = True


@dataclass
class ServiceRestores:
    service: str
    tier: int | None
    restores: int = 0
    passed: int = 0
    resources: int = 0
    paths: list[PathFigures] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return self.restores - self.passed


def judged_against(m: Any) -> str:
    """Which target a measurement was judged against: the measurement's own label once it carries one."""
    label = _get(m, "judged_against")
    if label:
        return str(label)
    return f"Tier {_get(m, 'tier')} targets"


def restore_groups(measurements: list) -> list[ServiceRestores]:
    """Per service (Tier 0 first): counts, and per restore path (mode, region, and the target it is judged
    against: an RDS snapshot whose RPO PITR covers and an EBS snapshot judged on its age never share a row)
    the worst achieved figures."""
    services: dict[str, ServiceRestores] = {}
    paths: dict[tuple[str, str, str, str, bool], PathFigures] = {}
    resources: dict[str, set[str]] = defaultdict(set)
    for m in measurements:
        service = _get(m, "service")
        group = services.setdefault(service, ServiceRestores(service, _get(m, "tier")))
        group.restores += 1
        group.passed += bool(_get(m, "passed"))
        resources[service].add(_get(m, "resource"))
        label, rpo_judged = judged_against(m), _get(m, "rpo_judged") is not False
        key = (service, _get(m, "mode"), _get(m, "region"), label, rpo_judged)
        figures = paths.get(key)
        if figures is None:
            figures = paths[key] = PathFigures(
                _get(m, "mode"),
                _get(m, "region"),
                rto_target_seconds=_get(m, "rto_target_seconds"),
                rpo_target_seconds=_get(m, "rpo_target_seconds"),
                judged_against=label,
                rpo_judged=rpo_judged,
            )
            group.paths.append(figures)
        figures.count += 1
        figures.failed += not _get(m, "passed")
        for name in ("rto", "rpo"):
            value, target = _get(m, f"{name}_seconds"), _get(m, f"{name}_target_seconds")
            if value is None:
                continue
            worst = getattr(figures, f"{name}_seconds")
            worst_target = getattr(figures, f"{name}_target_seconds")
            if worst is None or (target and worst_target and value / target > worst / worst_target):
                setattr(figures, f"{name}_seconds", value)
                setattr(figures, f"{name}_target_seconds", target)
    for service, group in services.items():
        group.resources = len(resources[service])
        group.paths.sort(key=lambda p: (p.mode, p.region, not p.rpo_judged, p.judged_against))
    return sorted(services.values(), key=lambda g: (g.tier if g.tier is not None else 9, g.service))


def sampling_note(
    sample: str | None, fleets: dict[str, list[str]], measurements: list, rotation_quarters: int
) -> list[str]:
    """How the restores were chosen, in sentences: fleets sampled (how many of how many), the rest in full."""
    tested: dict[str, set[str]] = defaultdict(set)
    for m in measurements:
        tested[_get(m, "service")].add(_get(m, "resource"))
    lines = []
    if sample:
        lines.append(
            f"Fleets (resources selected by tags) were sampled: {sample} of each fleet per run, and for "
            f"Tiers 0 and 1 at least enough that every member is tested within {rotation_quarters} "
            f"quarter(s). Members never tested come first, then the least recently tested, taking turns "
            f"across regions."
        )
    elif fleets:
        lines.append("Every member of every fleet was restored (no sample was asked for).")
    for key, members in sorted(fleets.items()):
        service, _, label = key.partition("|")
        chosen = len(tested.get(service, set()) & set(members))
        lines.append(f"{service}: {chosen} of {len(members)} fleet member(s) restored ({label}).")
    singles = sorted({_get(m, "service") for m in measurements} - {k.partition("|")[0] for k in fleets})
    if singles:
        lines.append(
            "Resources named one by one in the runbooks were all restored"
            f" ({', '.join(singles[:10])}{' and more' if len(singles) > 10 else ''})."
        )
    if not lines:
        lines.append("No restore was planned.")
    return lines
