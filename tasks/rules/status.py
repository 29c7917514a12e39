"""A service's overall DR status: the one rule, stated once.

The dashboard and the pack judge every service with `status_of`, the dashboard flow's events carry
its result, and the legends on the pages and in docs/dashboard.md are generated from RULE, so what
the page says a status means is what decided it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["failing", "overdue", "attention", "ok"]
STATUS_ORDER: tuple[Status, ...] = ("failing", "overdue", "attention", "ok")


@dataclass(frozen=True)
class Condition:
    key: str  # what judge_row reports when it finds the condition
    text: str  # how the legend states it


# Worst first: a service takes the first status any of whose conditions holds.
RULE: tuple[tuple[Status, tuple[Condition, ...]], ...] = (
    (
        "failing",
        (
            Condition("runbook_invalid", "its runbook is invalid"),
            Condition("restore_failed", "its last restore test failed a restore or missed an RTO or RPO target"),
            Condition("simulation_unrecoverable", "its last DR simulation found it unrecoverable"),
        ),
    ),
    (
        "overdue",
        (
            Condition(
                "control_overdue", "a documentation review, restore test or DR simulation is past due or never ran"
            ),
            Condition("ticket_past_sla", "a DR ticket is open past its tier's SLA"),
        ),
    ),
    (
        "attention",
        (
            Condition("control_gaps", "its last documentation review found gaps, or a control could not assess it"),
            Condition("tickets_open", "it has open DR tickets"),
        ),
    ),
    ("ok", ()),
)
CONDITIONS = {c.key: status for status, conditions in RULE for c in conditions}
_RANK = {key: STATUS_ORDER.index(status) for key, status in CONDITIONS.items()}  # judged 10,000 times a page
OK_TEXT = "none of the above: every control current and passing, and no open DR ticket"


def status_of(found: set[str] | frozenset[str]) -> Status:
    """The worst status any found condition (Condition.key) calls for; ok when none holds."""
    try:
        return STATUS_ORDER[min((_RANK[key] for key in found), default=len(STATUS_ORDER) - 1)]
    except KeyError:
        unknown = set(found) - set(CONDITIONS)
        raise ValueError(f"unknown status condition(s): {', '.join(sorted(unknown))}") from None


def legend() -> list[tuple[Status, str]]:
    """(status, what it means) in rule order, for the pages."""
    out: list[tuple[Status, str]] = []
    for status, conditions in RULE:
        texts = [c.text for c in conditions]
        if not texts:
            out.append((status, OK_TEXT))
        elif len(texts) == 1:
            out.append((status, texts[0]))
        else:
            out.append((status, "; ".join(texts[:-1]) + "; or " + texts[-1]))
    return out


def legend_markdown() -> str:
    """The legend as docs/dashboard.md carries it (a test keeps the two equal)."""
    lines = ["A service's status is the first of these that applies:", ""]
    lines += [f"- **{status}**: {text}." for status, text in legend()]
    return "\n".join(lines)


if __name__ == "__main__":  # python -m tasks.rules.status: the text docs/dashboard.md carries
    print(legend_markdown())
