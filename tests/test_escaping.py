"""User-controlled text renders as text: no live link, image or HTML in Markdown reports or Jira tickets."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from types import SimpleNamespace

from tasks.evidence.records import RunRecord
from tasks.report.render import render
from tasks.rules.checks import make_finding
from tasks.rules.digest import digest
from tasks.tracker.base import RunContext, ServiceRouting, Ticket
from tasks.tracker.jira_fields import description, reopen_comment, resolve_comment

LINK, IMAGE, HTML = "[x](http://evil)", "![x](http://evil/i.png)", "<img src=x onerror=alert(1)>"
HOSTILE = f"{LINK} {IMAGE} {HTML}"
# A Markdown link or image is `[...](...)` with an unescaped `]`; raw HTML is an unescaped `<`.
LIVE_MD = re.compile(r"(?<!\\)\]\(|<img|<script")


def test_a_simulation_report_renders_hostile_names_and_answers_as_text():
    record = RunRecord(
        flow="dr-simulation",
        run_id="0f1e2d3c-aaaa-bbbb-cccc-000000000000",
        started_at=datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc),
    )
    answers = {"answered_by": HOSTILE, "decisions": HOSTILE, "observations": HOSTILE, "action_items": [HOSTILE]}
    text = render(
        "simulation.md.j2",
        record=record,
        scenario=SimpleNamespace(name=HOSTILE),
        mode="file",
        digest=digest(HOSTILE, []),
        narrative=HOSTILE,
        strikes=HOSTILE,
        summary=HOSTILE,
        impact=[],
        decision_log=[{"at_minutes": 5, "title": HOSTILE, "answers": answers}],
        drills=[],
    )
    assert HOSTILE not in text and not LIVE_MD.search(text), text
    assert text.startswith("# After-action report: \\[x\\]\\(http://evil\\)")


def test_a_review_report_renders_hostile_rows_and_ticket_keys_as_text():
    record = RunRecord(
        flow="backup-restore-test",
        run_id="0f1e2d3c-aaaa-bbbb-cccc-000000000000",
        started_at=datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc),
        findings=[
            make_finding(
                "runbook.drift", service=HOSTILE, tier=1, resource=HOSTILE, subject="x", detail=HOSTILE
            ).model_copy(update={"ticket": HOSTILE})
        ],
    )
    tracker = {"created": 0, "kept": 0, "resolved": 0, "reopened": 0, "escalated": 0, "deferred": 0, "error": None}
    text = render(
        "review.md.j2",
        record=record,
        tracker=tracker,
        tiers=[1],
        services_filter=[],
        with_gaps=1,
        digest=digest(HOSTILE, record.findings),
        rows=[
            {
                "service": HOSTILE,
                "name": HOSTILE,
                "tier": 1,
                "owner": HOSTILE,
                "champion": HOSTILE,
                "last_reviewed": HOSTILE,
                "status": "gaps",
                "findings": 1,
            }
        ],
    )
    assert not LIVE_MD.search(text), text


# Jira wiki: a link is [text|url] or [url], an image !url!, a macro {name}; monospace is {{...}}.
LIVE_WIKI = re.compile(r"(?<!\\)\[[^\]]*(?<!\\)\]|(?<!\\)!\S+(?<!\\)!|(?<![\\{])\{(?!\{|noformat)")


def ticket_for(finding) -> Ticket:
    return Ticket(
        key="DR-1",
        fingerprint=finding.fingerprint,
        service=finding.service,
        check=finding.check,
        resource=finding.resource,
        severity="high",
        status="open",
    )


def _without_noformat(text: str) -> str:
    return re.sub(r"\{noformat\}.*?\{noformat\}", "", text, flags=re.S)


def test_a_hostile_resource_id_cannot_break_out_of_jira_monospace():
    breakout = "}} [phish|http://evil] !http://evil/i.png! {color:red}*x*{color} {{"
    finding = make_finding(
        "runbook.drift",
        service=f"svc {breakout}",
        tier=1,
        resource=f"db\n{breakout}",
        subject="x",
        detail=f"detail {breakout}",
    )
    context = RunContext(
        flow="documentation-review",
        run_id="r1",
        evidence_dir=f"/ev/{breakout}",
        runbook_files={finding.service: f"runbooks/{breakout}.yaml"},
    )
    routing = ServiceRouting(owner=breakout, champion=breakout)
    ticket = ticket_for(finding)
    for text in (
        description(finding, context, routing),
        reopen_comment(finding, context),
        resolve_comment(ticket, context),
    ):
        prose = _without_noformat(text)
        assert not LIVE_WIKI.search(prose), prose
        # Outside the escapes, only our own {{ and }} remain: one pair per monospace field.
        bare = re.sub(r"\\.", "", prose)
        assert bare.count("{{") == bare.count("}}")
    assert "{{db \\}\\} \\[phish\\|http&#58;//evil\\] \\!http&#58;//evil/i.png\\!" in description(
        finding, context, routing
    )


# Jira links a bare URL anywhere in wiki text, {{monospace}} included (atlassian-renderer's UrlRendererComponent,
# schemes from UrlUtil.URL_PROTOCOLS); its colon as the entity &#58; renders as ':' and links nothing.
BARE_URL = re.compile(r"(?i)(?:https?|ftps?|nntp|news|irc)://|(?:mailto|file):")


def test_a_bare_url_in_a_resource_id_or_remediation_renders_as_text_in_jira():
    urls = "http://evil.example/x HTTPS://evil.example ftp://f.example mailto:a@evil.example file:/etc/passwd"
    finding = make_finding(
        "runbook.drift",
        service="svc",
        tier=1,
        resource=f"arn:aws:s3:::bucket/{urls}",
        subject="x",
        detail=f"points at {urls}",
    ).model_copy(update={"remediation": f"See {urls} and C:\\share\\x"})
    context = RunContext(flow="documentation-review", run_id="r1", evidence_dir=f"s3://ev/{urls}")
    ticket = ticket_for(finding)
    texts = (
        description(finding, context, ServiceRouting(owner=urls), assignee_note=f"could not assign {urls}"),
        reopen_comment(finding, context),
        resolve_comment(ticket, context),
    )
    for text in texts:
        prose = _without_noformat(text)  # {noformat} renders nothing, links included
        assert not BARE_URL.search(prose), prose
        assert "\\\\" not in prose  # two backslashes are a forced line break
    body = texts[0]
    assert "{{arn:aws:s3:::bucket/http&#58;//evil.example/x HTTPS&#58;//evil.example ftp&#58;//f.example" in body
    assert "See http&#58;//evil.example/x" in body and "mailto&#58;a@evil.example file&#58;/etc/passwd" in body
    assert "C:&#92;share&#92;x" in body


# Jira's text effects -deleted-, +inserted+ and ??citation??, and a list where a paragraph starts with - or #.
LIVE_EFFECT = re.compile(
    r"(?<![\\A-Za-z0-9])-\S[^-]*(?<![\\])-(?![A-Za-z0-9])|(?<![\\\w])\+\S[^+]*(?<!\\)\+|(?<!\\)\?\?"
)


def test_dashes_pluses_and_question_marks_render_as_text_in_jira_but_ids_stay_readable():
    finding = make_finding(
        "runbook.drift",
        service="svc -struck- +under+",
        tier=1,
        resource="db-prod-01 us-east-1",
        subject="x",
        detail="- a list? ??cited?? at 2026-12-07T10:00+00:00",
    ).model_copy(update={"remediation": "# numbered -x- +y+"})
    body = _without_noformat(description(finding, RunContext(flow="documentation-review", run_id="r1"), None))
    assert not LIVE_EFFECT.search(body), body
    assert "\n- " not in body and "\n# " not in body  # no paragraph opens a list
    assert "\\- a list? \\??cited\\?? at 2026-12-07T10:00+00:00" in body
    assert "\\# numbered \\-x\\- \\+y\\+" in body and "svc \\-struck\\- \\+under\\+" in body
    assert "{{db-prod-01 us-east-1}}" in body  # identifiers keep their dashes as they are


def test_a_finding_reads_in_jira_as_written_headings_emoticons_lines_and_code_included():
    finding = make_finding(
        "runbook.drift",
        service="svc",
        tier=1,
        resource="db",
        subject="x",
        detail=(
            "h1. not a heading (y) :) ;)\nbq. not a quote\n- a.yaml:5: needs region\n# b.yaml:7: unknown field\n"
            "  # indented\n  h2. indented\nC:\\Program Files\\Data (a path, not a wink)"
        ),
    ).model_copy(update={"remediation": "Run `dr validate --runbooks runbooks` and fix *each* file."})
    body = description(finding, RunContext(flow="documentation-review", run_id="r1"), None)
    found = body.split("h3. What was found\n", 1)[1].split("\n\n", 1)[0].splitlines()
    # One line each, as in the detail; none opens a heading, quote or list, and no emoticon is drawn.
    assert found == [
        "&#104;1. not a heading \\(y) &#58;) &#59;)",
        "&#98;q. not a quote",
        "\\- a.yaml:5: needs region",
        "\\# b.yaml:7: unknown field",
        "  \\# indented",
        "  &#104;2. indented",
        "C:&#92;Program Files&#92;Data (a path, not a wink)",  # each backslash an entity, nothing more
    ]
    # The remediation's `code` is Jira monospace, its other markup text.
    assert "Run {{dr validate \\-\\-runbooks runbooks}} and fix \\*each\\* file." in body
