"""Pure decisions about a tabletop exercise that ended while it waited for answers (a suspended run whose
pause timed out, or that was cancelled or crashed while suspended): how its record ends, and what was left
unanswered."""

from __future__ import annotations

from typing import Any

from tasks.evidence.records import RunStatus

# Prefect's pause-expiration service fails a suspended run whose timeout passed with this message.
PAUSE_EXPIRED = "paused and never resumed"


def unanswered_injects(details: dict[str, Any]) -> list[dict[str, Any]]:
    """The scenario's injects, in order, that have no recorded answers."""
    answered = {e.get("inject") for e in details.get("decision_log") or [] if e.get("answers") is not None}
    injects = (details.get("scenario") or {}).get("injects") or []
    return [i for i in injects if i.get("id") not in answered]


def ended_while_waiting(state_type: str, message: str | None) -> tuple[RunStatus, str]:
    """(status, reason) for the record of a tabletop whose flow run Prefect ended while it was suspended."""
    said = f" ({message})" if message else ""
    if state_type == "FAILED" and PAUSE_EXPIRED in (message or "").lower():
        return "timed_out", f"nobody answered before the answer timeout: Prefect ended the run{said}"
    if state_type == "CANCELLED":
        return "abandoned", f"the run was cancelled while it waited for answers{said}"
    return "abandoned", f"the run ended {state_type.lower()} while it waited for answers{said}"


def unanswered_entries(details: dict[str, Any]) -> list[dict[str, Any]]:
    """Decision-log entries for the injects nobody answered, as the after-action report lists them."""
    from datetime import timedelta

    from pydantic import TypeAdapter

    at = TypeAdapter(timedelta)
    return [
        {
            "inject": i.get("id"),
            "at_minutes": int(at.validate_python(i.get("at") or "PT0S").total_seconds() // 60),
            "title": i.get("title", ""),
            "description": i.get("description", ""),
            "questions": i.get("questions") or {},
            "answers": None,
            "unanswered": True,
        }
        for i in unanswered_injects(details)
    ]
