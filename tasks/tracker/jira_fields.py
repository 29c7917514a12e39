"""Pure: what a Jira ticket says and carries (labels, priority, due date, body, comments).

Labels identify a ticket to the tool: the tool label, one `dr-fp-<fingerprint>` label and the facts
scope decisions need (tier, check, service, severity, resource). Bodies use Jira wiki markup, which
REST v2 accepts on both Cloud and Data Center.
"""

from __future__ import annotations

import json
import re
from datetime import date
from urllib.parse import quote, unquote

from tasks.evidence.findings import SERVICE_LEVEL, SEVERITIES, Finding
from tasks.evidence.records import TicketRecord, utc
from tasks.tracker.base import RunContext, ServiceRouting, Ticket
from tasks.tracker.jira_config import JiraSettings

FP, TIER, CHECK, SERVICE, SEVERITY, RESOURCE = (
    "dr-fp-",
    "dr-tier-",
    "dr-check-",
    "dr-service-",
    "dr-severity-",
    "dr-resource-",
)
MAX_LABEL = 255
MAX_SUMMARY = 250


def fingerprint_label(fingerprint: str) -> str:
    return FP + fingerprint


def labels_for(finding: Finding, tool_label: str) -> list[str]:
    labels = [tool_label, FP + finding.fingerprint]
    if finding.tier is not None:
        labels.append(f"{TIER}{finding.tier}")
    # Labels cannot hold spaces; quote() keeps resource ids readable and reversible.
    resource = RESOURCE + quote(finding.resource, safe=":/[]=,+-_.@")
    labels += [CHECK + finding.check, SERVICE + finding.service, SEVERITY + finding.severity, resource[:MAX_LABEL]]
    return labels


def with_severity(labels: list[str], severity: str) -> list[str]:
    return [label for label in labels if not label.startswith(SEVERITY)] + [SEVERITY + severity]


def parse_labels(labels: list[str]) -> dict[str, str]:
    """The tool's facts back from a ticket's labels; a missing one is simply absent."""
    facts: dict[str, str] = {}
    for label in labels:
        for prefix, name in (
            (FP, "fingerprint"),
            (TIER, "tier"),
            (CHECK, "check"),
            (SERVICE, "service"),
            (SEVERITY, "severity"),
            (RESOURCE, "resource"),
        ):
            if label.startswith(prefix) and name not in facts:
                value = label[len(prefix) :]
                facts[name] = unquote(value) if name == "resource" else value
    return facts


def ticket_from_issue(issue: dict, browse_url: str) -> Ticket | None:
    """A search hit as a Ticket; None for an issue without a fingerprint label (not ours to manage)."""
    fields = issue.get("fields") or {}
    facts = parse_labels(fields.get("labels") or [])
    if "fingerprint" not in facts:
        return None
    category = (((fields.get("status") or {}).get("statusCategory")) or {}).get("key")
    return Ticket(
        key=issue["key"],
        fingerprint=facts["fingerprint"],
        service=facts.get("service", ""),
        check=facts.get("check", ""),
        resource=facts.get("resource", SERVICE_LEVEL),
        # No severity label (someone removed it): assume the highest, so it never escalates.
        severity=facts.get("severity") if facts.get("severity") in SEVERITIES else SEVERITIES[-1],
        status="closed" if category == "done" else "open",
        title=fields.get("summary") or "",
        url=f"{browse_url}/browse/{issue['key']}",
    )


def ticket_record(issue: dict, browse_url: str) -> TicketRecord | None:
    """A search hit as the dashboard's ticket record (tier, opened and closed times); None if not ours."""
    ticket = ticket_from_issue(issue, browse_url)
    if ticket is None:
        return None
    fields = issue.get("fields") or {}
    tier = parse_labels(fields.get("labels") or []).get("tier")
    closed = utc(fields.get("resolutiondate")) if ticket.status == "closed" else None
    return TicketRecord(
        key=ticket.key,
        service=ticket.service,
        tier=int(tier) if tier and tier.isdigit() else None,
        severity=ticket.severity,
        status=ticket.status,
        opened_at=utc(fields["created"]),
        # A Done ticket without a resolution date (a workflow that sets none) closed at some
        # unknown time: counted closed from when it was opened, never as open.
        closed_at=closed or (utc(fields["created"]) if ticket.status == "closed" else None),
        title=ticket.title,
        check=ticket.check,
        url=ticket.url,
        resource=ticket.resource,
    )


def priority_for(settings: JiraSettings, tier: int | None, severity: str) -> str | None:
    override = settings.tier_priorities.get(tier, {}) if tier is not None else {}
    return override.get(severity) or settings.priorities.get(severity)


def due_date(settings: JiraSettings, tier: int | None, today: date) -> str | None:
    sla = settings.ticket_sla.get(tier) if tier is not None else None
    return (today + sla).isoformat() if sla else None


def summary(finding: Finding) -> str:
    where = "" if finding.resource == SERVICE_LEVEL else f" ({finding.resource})"
    text = f"[DR] {finding.service}: {finding.title}{where}"
    return text if len(text) <= MAX_SUMMARY else text[: MAX_SUMMARY - 1] + "…"


# Jira wiki markup: macros {..}, links [..|..], images !..!, tables |, effects * _ ^ ~; a backslash makes
# each render as itself. A line break would start new block markup (h1., lists), so it becomes a space. A
# backslash itself is not escapable (two make a forced line break): it becomes the entity &#92;.
_JIRA_SPECIAL = re.compile(r"([{}\[\]|!*_^~])")
# -deleted-, +inserted+ and ??citation?? too, and `#`/`-` opening a list where a paragraph starts. A - or + between
# two letters or digits never delimits an effect (us-east-1, +00:00 in a time), so those stay as they are.
_JIRA_EFFECT = re.compile(r"(?<![A-Za-z0-9])([-+])|([-+])(?![A-Za-z0-9])|(\?)(?=\?)")
# Emoticons: (y) (n) (i) (x) (/) (?) (on) (off) (flag) (flagoff) and :) :( :P :D ;) (those with ! * + - are
# escaped above; the ; that ends an entity such as &#92; is not one). Where a line starts, after any spaces:
# a numbered list (#) is escaped, a heading (h1. to h6.) or quote (bq.) gets its first letter as an entity.
_JIRA_EMOTICON = re.compile(r"\((?=(?:[ynix/?]|on|off|flag|flagoff)\))")
_JIRA_SMILEY = re.compile(r"(?<!&#\d\d)(?<!&#\d\d\d)[:;](?=[()PD])")
_JIRA_LIST = re.compile(r"^(\s*)#")
_JIRA_BLOCK = re.compile(r"^(\s*)(h[1-6]|bq)\.")


# Jira links every bare URL, even inside {{monospace}}: atlassian-renderer's UrlRendererComponent matches
# these schemes (UrlUtil.URL_PROTOCOLS), and a backslash cannot escape ':' or '/' (BackslashEscapeRendererComponent
# escapes only -#*_+?^~|%{}[]()!@, into numeric entities). The colon as the entity &#58; still reads ':' and
# leaves no scheme to match. Case-insensitive here, though the renderer's pattern is not: it costs nothing.
_URL_SCHEME = re.compile(r"(?i)(?:https?|ftps?|nntp|news|irc):(?=//)|(?:mailto|file):")


def wiki_text(value: object) -> str:
    """User-controlled text (resource ids, service names, paths, remediation) as Jira wiki that renders as
    that text: no markup, no line break, no link."""
    text = "" if value is None else str(value)
    escaped = _JIRA_SPECIAL.sub(r"\\\1", " ".join(text.splitlines()).replace("\\", "&#92;"))
    escaped = _JIRA_EFFECT.sub(lambda m: "\\" + m.group(0), escaped)
    escaped = _JIRA_EMOTICON.sub(r"\\(", escaped)
    escaped = _JIRA_SMILEY.sub(lambda m: f"&#{ord(m.group(0))};", escaped)
    escaped = _JIRA_LIST.sub(r"\1\\#", escaped)
    escaped = _JIRA_BLOCK.sub(lambda m: f"{m.group(1)}&#{ord(m.group(2)[0])};{m.group(2)[1:]}.", escaped)
    return _URL_SCHEME.sub(lambda m: m.group(0)[:-1] + "&#58;", escaped)


def wiki_lines(value: object) -> str:
    """Text of several lines (a finding's detail) as Jira wiki lines, each rendering as that text: a line
    that starts with a list marker or a heading renders as written (wiki_text escapes it)."""
    return "\n".join(wiki_text(line) for line in ("" if value is None else str(value)).splitlines())


_CODE = re.compile(r"`([^`]+)`")


def wiki_inline(value: object) -> str:
    """wiki_text, with the `code` spans of our own Markdown (remediation) as Jira {{monospace}}."""
    text = "" if value is None else str(value)
    parts = _CODE.split(text)  # even: prose, odd: code
    # {{..}} renders as monospace only with no space just inside it (Jira's rule): the code span is stripped.
    return "".join(wiki_text(part) if i % 2 == 0 else _mono(part.strip()) for i, part in enumerate(parts))


def _mono(value: object) -> str:
    return "{{" + wiki_text(value) + "}}"


def _noformat(text: str) -> str:
    return "{noformat}\n" + text.replace("{noformat}", "{ noformat}") + "\n{noformat}"


def _run_line(context: RunContext) -> str:
    run = f"[{context.run_id}|{context.run_url}]" if context.run_url else context.run_id
    line = f"{context.flow} run {run}"
    return line + (f"; evidence: {_mono(context.evidence_dir)}" if context.evidence_dir else "")


def description(
    finding: Finding,
    context: RunContext,
    routing: ServiceRouting | None,
    assignee_note: str | None = None,
    previous: Ticket | None = None,
) -> str:
    tier = "unknown tier" if finding.tier is None else f"Tier {finding.tier}"
    runbook = context.runbook_files.get(finding.service)
    parts = [
        "h3. What was found",
        wiki_lines(finding.detail),
        "",
        f"*Service:* {wiki_text(finding.service)} ({tier})" + (f" — runbook {_mono(runbook)}" if runbook else ""),
        f"*Resource:* {_mono(finding.resource)}",
        f"*Check:* {finding.check} — severity {finding.severity}",
        "",
        "h3. Evidence",
        _noformat(json.dumps(finding.evidence, indent=2, sort_keys=True, default=str)),
        "",
        "h3. Remediation",
        wiki_inline(finding.remediation),
        "",
        "h3. Run",
        _run_line(context),
        "",
    ]
    if routing is not None and (routing.champion or routing.owner):
        parts.append(
            f"*DR champion:* {wiki_text(routing.champion or 'none named')}; *owner:* {wiki_text(routing.owner or 'none named')}"
        )
    if assignee_note:
        parts.append(f"_{wiki_text(assignee_note)}_")
    if previous is not None:
        parts.append(f"This gap was tracked before in {previous.key}, which was closed; it has come back.")
    parts.append(
        f"_Filed by DR automation. The dr-* labels tie this ticket to fingerprint {finding.fingerprint}; keep them._"
    )
    return "\n".join(parts)


def escalation_comment(ticket: Ticket, finding: Finding, context: RunContext) -> str:
    return "\n".join(
        [
            f"Severity raised from {ticket.severity} to {finding.severity}.",
            wiki_lines(finding.detail),
            "Evidence:",
            _noformat(json.dumps(finding.evidence, indent=2, sort_keys=True, default=str)),
            f"Found by {_run_line(context)}.",
        ]
    )


def reopen_comment(finding: Finding, context: RunContext) -> str:
    return "\n".join(
        [
            "The gap has come back, so this ticket is reopened.",
            wiki_lines(finding.detail),
            "Evidence:",
            _noformat(json.dumps(finding.evidence, indent=2, sort_keys=True, default=str)),
            f"Found by {_run_line(context)}.",
        ]
    )


def resolve_comment(ticket: Ticket, context: RunContext) -> str:
    return "\n".join(
        [
            "The gap is no longer present: a re-test of the same scope passed.",
            f"{context.flow} assessed {wiki_text(ticket.service)} ({ticket.check}, {_mono(ticket.resource)}) and did not find it.",
            f"Evidence: {_run_line(context)}.",
        ]
    )
