"""Pure decisions for technical drills: how many fleet members a drill may touch, and whether a failover
really happened and was fast enough."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

from tasks.evidence.findings import Check, CheckSet

CHECKS = CheckSet(
    Check(
        "drill.failover_unproven",
        "high",
        "A failover drill did not change the writer or zone",
        "The failover call returned but the same writer serves in the same zone: check Multi-AZ, the standby "
        "and the cluster's replicas, then re-run the drill.",
    ),
    Check(
        "drill.failed",
        "high",
        "A DR drill failed or missed its target",
        "Read the drill's timeline in the after-action report; fix what it names and re-run the drill.",
    ),
    Check(
        "drill.stopped",
        "medium",
        "A DR drill was stopped by a guardrail",
        "A stop condition (alarm, kill switch, cancellation) ended the drill: find why it fired, then re-run.",
    ),
)

T = TypeVar("T")


def blast_radius_limit(radius: int | str, fleet_size: int) -> int:
    """How many of `fleet_size` members one drill run may touch: N, or P% rounded down but at least one."""
    if isinstance(radius, str):
        return max(1, math.floor(fleet_size * int(radius.rstrip("%")) / 100)) if fleet_size else 0
    return min(radius, fleet_size)


def within_blast_radius(members: Sequence[T], radius: int | str) -> tuple[list[T], list[T]]:
    """The members a drill may touch (in order) and those it must leave alone."""
    limit = blast_radius_limit(radius, len(members))
    return list(members[:limit]), list(members[limit:])


def failover_changed(before: dict[str, object], after: dict[str, object]) -> bool:
    """A failover is proven when the writer (cluster) or the primary's zone (Multi-AZ instance) changed."""
    return before.get("writer") != after.get("writer") or before.get("zone") != after.get("zone")


def judge_failover(
    before: dict[str, object], after: dict[str, object], seconds: float, target_seconds: float
) -> tuple[str, str, str | None]:
    """(status, detail, check) for a finished failover: unproven beats slow beats passed."""
    if not failover_changed(before, after):
        return (
            "failed",
            f"the failover did not change the writer ({after.get('writer')}) or zone ({after.get('zone')})",
            "drill.failover_unproven",
        )
    moved = f"{before.get('writer')}@{before.get('zone')} -> {after.get('writer')}@{after.get('zone')}"
    if seconds > target_seconds:
        return "slow", f"{moved}; available again after {seconds:.0f} s, target {target_seconds:.0f} s", "drill.failed"
    return "passed", f"{moved}; available again after {seconds:.1f} s (target {target_seconds:.0f} s)", None


def downtime(samples: Sequence[tuple[float, bool]]) -> float | None:
    """Seconds the probe saw the service down: from each failed probe after a good one (or the first) to the
    next good one; None without samples. An outage still open at the last sample counts to that sample."""
    if not samples:
        return None
    total, down_since = 0.0, None
    for at, ok in samples:
        if not ok and down_since is None:
            down_since = at
        elif ok and down_since is not None:
            total += at - down_since
            down_since = None
    if down_since is not None:
        total += samples[-1][0] - down_since
    return total
