"""What a post-test report says first, pure: what was tested, what failed and why, what to do; and the
orderings every page shares (most severe first, then oldest, ticket keys by number).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, TypeVar

from tasks.evidence.findings import SEVERITIES
from tasks.evidence.records import TicketRecord

_T = TypeVar("_T")
_KEY = re.compile(r"^(.*?)(\d+)$")


@lru_cache(maxsize=65536)  # every ticket list on a page sorts the same keys again
def key_order(key: str | None) -> tuple[int, str, int]:
    """DR-2 before DR-10: the number compares as a number; no key sorts last."""
    if not key:
        return (1, "", 0)
    match = _KEY.match(key)
    return (0, match.group(1), int(match.group(2))) if match else (0, key, 0)


def severity_rank(severity: str | None) -> int:
    """0 for the most severe; unknown severities last."""
    return len(SEVERITIES) - 1 - SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def _get(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def by_severity(findings: list[_T]) -> list[_T]:
    """Findings most severe first, then the oldest ticket (lowest number), then service and resource."""
    return sorted(
        findings,
        key=lambda f: (
            severity_rank(_get(f, "severity")),
            key_order(_get(f, "ticket")),
            str(_get(f, "service")),
            str(_get(f, "resource")),
        ),
    )


def tickets_by_severity(tickets: list[TicketRecord]) -> list[TicketRecord]:
    """Tickets most severe first, then the oldest, then by number."""
    return sorted(tickets, key=lambda t: (severity_rank(t.severity), t.opened_at, key_order(t.key)))


@dataclass
class Failure:
    check: str
    severity: str
    title: str
    count: int
    services: list[str]
    remediation: str


@dataclass
class Digest:
    tested: str  # one sentence: what this run tested
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. the tracker was down

    @property
    def ok(self) -> bool:
        return not self.failures

    @property
    def lines(self) -> list[tuple[Failure, bool]]:
        """Each failure, and whether it says what to do: a check hit at two severities says it once, on its
        most severe line."""
        seen: set[str] = set()
        out = []
        for failure in self.failures:
            out.append((failure, failure.title not in seen))
            seen.add(failure.title)
        return out

    @property
    def actions(self) -> list[tuple[str, str]]:
        """(title, remediation) of the lines that say what to do, most severe first."""
        return [(failure.title, failure.remediation) for failure, says in self.lines if says]


def digest(tested: str, findings: list[Any], notes: list[str] | None = None) -> Digest:
    """Findings grouped by check and severity, most severe first; each with the services it hit and what to do."""
    # Here: the vocabulary imports every rule module, which the dashboard (sorting tickets) never needs.
    from tasks.rules.checks import VOCABULARY

    # By check and severity: one check can hit a Tier 0 service as high and a Tier 2 one as medium, and a
    # line under "high" must not name the service whose finding is medium.
    grouped: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for f in findings:
        grouped[(_get(f, "check"), _get(f, "severity"))].append(f)
    failures = []
    for (check, severity), items in grouped.items():
        known = VOCABULARY.get(check)
        failures.append(
            Failure(
                check=check,
                severity=severity,
                title=known.title if known else str(_get(items[0], "title")),
                count=len(items),
                services=sorted({str(_get(f, "service")) for f in items}),
                remediation=str(_get(items[0], "remediation") or (known.remediation if known else "")),
            )
        )
    failures.sort(key=lambda x: (severity_rank(x.severity), -x.count, x.check))
    return Digest(tested=tested, failures=failures, notes=list(notes or []))
