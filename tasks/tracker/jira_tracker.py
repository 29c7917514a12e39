"""Jira backend for the tracker interface (Cloud and Data Center), on the `jira` library.

Requests per sync: serverInfo once (the client is built lazily), one paged search for this tool's open
tickets, one batched fingerprint lookup before the creates, then one request per write. Cloud is told
apart by serverInfo's deploymentType: it searches `/rest/api/3/search/jql` with nextPageToken paging and
assigns by accountId; Data Center searches `/rest/api/2/search` with startAt and assigns by name.
Writes use REST v2 on both (v3 would need ADF bodies).

Failures: 429 (after Retry-After), 5xx and connection errors are retried here with backoff; past the
retries `TrackerUnavailable` is raised and the sync moves the rest to the outbox. Any other refusal is a
`TrackerError` for that one operation. The library's own retries are off: it re-sends POSTs after a
connection error, which could file a ticket twice; we look the fingerprint up before re-sending a create.
"""

from __future__ import annotations

import base64
import copy
import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import requests

from tasks.errors import DrError, TrackerError, TrackerUnavailable
from tasks.evidence.findings import Finding
from tasks.evidence.records import TicketRecord
from tasks.tracker import jira_fields as jf
from tasks.tracker import jira_private
from tasks.tracker.base import RunContext, ServiceRouting, Ticket
from tasks.tracker.jira_config import JiraSettings
from tasks.tracker.outbox import Outbox

LOG = logging.getLogger("dr.tracker.jira")
SEARCH_FIELDS = "summary,status,labels,created"
HISTORY_FIELDS = SEARCH_FIELDS + ",resolutiondate"  # the dashboard also needs when each ticket closed
LOOKUP_CHUNK = 50  # fingerprints per lookup query: keeps the JQL (a GET parameter) well under URL limits
CLOUD_SEARCH_BASE = "{server}/rest/api/3/{path}"  # Cloud removed /rest/api/{2,3}/search; v3 search/jql stays
TRANSIENT = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def jql_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class JiraTracker:
    name = "jira"

    def __init__(
        self,
        settings: JiraSettings,
        outbox: Outbox | None = None,
        *,
        hooks: list[Callable] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ):
        self.settings = settings
        self.outbox = outbox
        self.stats: Counter = Counter()  # open_pages, lookup_pages, creates, requests
        self._hooks = list(hooks or [])
        self._sleep = sleep
        self._environ = environ
        self._client = None
        self._secrets: list[str] = []
        self._labels: dict[str, list[str]] = {}  # ticket key -> labels as last seen
        self._created: dict[str, str] = {}  # ticket key -> created timestamp
        self._found: dict[str, Ticket | None] = {}  # fingerprint -> newest ticket; None = none exists
        self._users: dict[str, dict | None] = {}  # email -> assignee field value

    # --- client and transport -------------------------------------------------------------------

    @property
    def client(self):
        """Built on first use: the constructor talks to the server, and a run may not need Jira."""
        if self._client is None:
            credentials = self.settings.credentials(self._environ)
            # Redact the token, and the Basic header made from it, from anything we log or store.
            self._secrets = [credentials.token]
            if credentials.user:
                self._secrets.append(base64.b64encode(f"{credentials.user}:{credentials.token}".encode()).decode())
            auth = (
                {"basic_auth": (credentials.user, credentials.token)}
                if credentials.user
                else {"token_auth": credentials.token}
            )
            self._client = self._call("connect", lambda: self._connect(auth))
        return self._client

    def _connect(self, auth: dict):
        from jira import JIRA

        client = JIRA(
            server=self.settings.url,
            options={"check_update": False},
            get_server_info=False,
            max_retries=0,
            timeout=self.settings.timeout,
            **auth,
        )
        jira_private.add_response_hooks(client, [self._count, *self._hooks])
        jira_private.set_server_version(client, client.server_info())
        return client

    def _count(self, response, *args, **kwargs):
        self.stats["requests"] += 1

    @property
    def is_cloud(self) -> bool:
        return self.client.deploymentType == "Cloud"

    def _call(self, what: str, fn: Callable, *, before_retry: Callable | None = None):
        """Run one request with our retry policy. `before_retry` may return a result that makes
        re-sending unnecessary (a create or transition whose response was lost but which landed)."""
        attempt = 0
        while True:
            try:
                return fn()
            except DrError:
                raise
            except Exception as exc:
                delay = self._retry_delay(exc, attempt)
                reason = self._describe(exc)
                if delay is None:
                    if getattr(exc, "status_code", None) in (401, 403):
                        reason += f" (check the credentials in {self.settings.token_ref} and their permissions)"
                    raise TrackerError(f"Jira {what} failed: {reason}") from None
                attempt += 1
                if attempt > self.settings.retries or delay > self.settings.max_retry_after_seconds:
                    raise TrackerUnavailable(f"Jira unavailable ({what}): {reason}") from None
                LOG.warning("Jira %s: %s; retry %d/%d in %.2fs", what, reason, attempt, self.settings.retries, delay)
                self._sleep(delay)
                if before_retry is not None:
                    found = before_retry()
                    if found is not None:
                        return found

    def _retry_delay(self, exc: Exception, attempt: int) -> float | None:
        backoff = min(self.settings.max_backoff_seconds, self.settings.backoff_seconds * 2**attempt)
        backoff *= random.uniform(0.5, 1.0)  # jitter: parallel runs do not retry in lockstep
        if isinstance(exc, TRANSIENT):
            return backoff
        status = getattr(exc, "status_code", None)
        if status in (429, 503):
            after = retry_after(getattr(exc, "response", None))
            return after if after is not None else backoff
        if isinstance(status, int) and 500 <= status < 600:
            return backoff
        return None

    def _describe(self, exc: Exception) -> str:
        # Never str(JIRAError): it dumps request headers. Status and Jira's own message are enough.
        status = getattr(exc, "status_code", None)
        if status:
            text = f"HTTP {status}: {getattr(exc, 'text', '') or ''}"
        elif isinstance(exc, TRANSIENT):  # urllib3's message is long; the errno and URL path say it all
            request = getattr(exc, "request", None)
            cause = re.search(r"\[Errno -?\d+\][^'\")]*|[Rr]ead timed out|timed out", str(exc))
            where = f" ({request.method} {request.path_url})" if request is not None else ""
            text = f"{type(exc).__name__}: {cause.group(0) if cause else 'no response'}{where}"
        else:
            text = f"{type(exc).__name__}: {exc}"
        return self.redact(" ".join(text.split())[:300])

    def redact(self, text: str) -> str:
        from tasks.redaction import redact

        for secret in self._secrets:
            if secret:
                text = text.replace(secret, "***")
        return redact(text)

    @contextmanager
    def session(self):
        with self.outbox.locked() if self.outbox is not None else nullcontext():
            yield self

    # --- searching ------------------------------------------------------------------------------

    def _search(self, jql: str, counter: str, fields: str = SEARCH_FIELDS) -> list[dict]:
        client, size = self.client, self.settings.page_size
        issues: list[dict] = []
        if self.is_cloud:
            token = None
            while True:
                params = {"jql": jql, "fields": fields, "maxResults": size}
                if token:
                    params["nextPageToken"] = token
                page = self._call(
                    "search", lambda p=params: jira_private.get_json(client, "search/jql", p, base=CLOUD_SEARCH_BASE)
                )
                self.stats[counter] += 1
                issues += page.get("issues") or []
                token = page.get("nextPageToken")
                if not token or page.get("isLast"):
                    return issues
        while True:
            params = {"jql": jql, "fields": fields, "startAt": len(issues), "maxResults": size}
            page = self._call("search", lambda p=params: jira_private.get_json(client, "search", p))
            self.stats[counter] += 1
            got = page.get("issues") or []
            issues += got
            if not got or len(issues) >= int(page.get("total") or 0):
                return issues

    def _remember(self, issue: dict) -> Ticket | None:
        ticket = jf.ticket_from_issue(issue, self.settings.url)
        if ticket is not None:
            fields = issue.get("fields") or {}
            self._labels[ticket.key] = list(fields.get("labels") or [])
            self._created[ticket.key] = fields.get("created") or ""
        return ticket

    def _newer(self, a: Ticket, b: Ticket | None) -> bool:
        if b is None:
            return True
        rank = lambda t: (self._created.get(t.key, ""), int(t.key.rsplit("-", 1)[-1]))  # noqa: E731
        return rank(a) > rank(b)

    def open_tickets(self) -> dict[str, Ticket]:
        jql = f"labels = {jql_quote(self.settings.label)} AND statusCategory != Done ORDER BY key ASC"
        tickets: dict[str, Ticket] = {}
        for issue in self._search(jql, "open_pages"):
            ticket = self._remember(issue)
            if ticket is not None and ticket.status == "open" and self._newer(ticket, tickets.get(ticket.fingerprint)):
                tickets[ticket.fingerprint] = ticket
        for fp, ticket in tickets.items():
            if self._newer(ticket, self._found.get(fp)):
                self._found[fp] = ticket
        return tickets

    def history(self) -> list[TicketRecord]:
        """Every ticket this tool filed, open and closed, as the dashboard reads them: one paged search."""
        jql = f"labels = {jql_quote(self.settings.label)} ORDER BY key ASC"
        issues = self._search(jql, "history_pages", HISTORY_FIELDS)
        return [t for issue in issues if (t := jf.ticket_record(issue, self.settings.url)) is not None]

    def prefetch(self, fingerprints: list[str]) -> None:
        missing = [fp for fp in dict.fromkeys(fingerprints) if fp not in self._found]
        for start in range(0, len(missing), LOOKUP_CHUNK):
            self._lookup(missing[start : start + LOOKUP_CHUNK])

    def _lookup(self, fingerprints: list[str]) -> None:
        labels = ", ".join(jql_quote(jf.fingerprint_label(fp)) for fp in fingerprints)
        jql = f"labels = {jql_quote(self.settings.label)} AND labels in ({labels}) ORDER BY key ASC"
        newest: dict[str, Ticket] = {}
        for issue in self._search(jql, "lookup_pages"):
            ticket = self._remember(issue)
            if (
                ticket is not None
                and ticket.fingerprint in fingerprints
                and self._newer(ticket, newest.get(ticket.fingerprint))
            ):
                newest[ticket.fingerprint] = ticket
        for fp in fingerprints:  # only after the search succeeded: absence is then a fact
            self._found[fp] = newest.get(fp)

    def find(self, fingerprint: str) -> Ticket | None:
        if fingerprint not in self._found:
            self._lookup([fingerprint])
        return self._found[fingerprint]

    def _find_fresh(self, fingerprint: str) -> Ticket | None:
        self._found.pop(fingerprint, None)
        return self.find(fingerprint)

    # --- writes ---------------------------------------------------------------------------------

    def create(self, finding: Finding, context: RunContext, previous: Ticket | None = None) -> Ticket:
        client, settings = self.client, self.settings
        routing = context.services.get(finding.service)
        assignee, note = self._assignee(routing)
        fields: dict = {
            "project": {"key": (routing and routing.project) or settings.project},
            "issuetype": {"name": settings.issue_type},
            "summary": jf.summary(finding),
            "description": jf.description(finding, context, routing, note, previous),
            "labels": jf.labels_for(finding, settings.label),
        }
        priority = jf.priority_for(settings, finding.tier, finding.severity)
        due = jf.due_date(settings, finding.tier, datetime.now(timezone.utc).date())
        if priority:
            fields["priority"] = {"name": priority}
        if due:
            fields["duedate"] = due
        if routing is not None and routing.component:
            fields["components"] = [{"name": routing.component}]
        if assignee:
            fields["assignee"] = assignee

        def landed() -> Ticket | None:  # the last attempt may have created it before failing
            found = self._find_fresh(finding.fingerprint)
            return (
                found
                if found is not None and found.status == "open" and found.key != getattr(previous, "key", None)
                else None
            )

        issue = self._call(
            "create", lambda: client.create_issue(fields=copy.deepcopy(fields), prefetch=False), before_retry=landed
        )
        if isinstance(issue, Ticket):
            return issue
        self.stats["creates"] += 1
        ticket = Ticket(
            key=issue.key,
            fingerprint=finding.fingerprint,
            service=finding.service,
            check=finding.check,
            resource=finding.resource,
            severity=finding.severity,
            status="open",
            title=fields["summary"],
            url=f"{settings.url}/browse/{issue.key}",
        )
        self._labels[ticket.key] = fields["labels"]
        self._created[ticket.key] = datetime.now(timezone.utc).isoformat()
        self._found[finding.fingerprint] = ticket
        return ticket

    def escalate(self, ticket: Ticket, finding: Finding, context: RunContext) -> Ticket:
        # Comment first, state last: if Jira goes away in between, the replay repeats the comment
        # rather than losing it.
        self._comment(ticket.key, jf.escalation_comment(ticket, finding, context))
        self._put(ticket.key, self._severity_fields(ticket, finding))
        return self._note(replace(ticket, severity=finding.severity))

    def reopen(self, ticket: Ticket, finding: Finding, context: RunContext) -> Ticket:
        if self.settings.on_return == "link_new":
            new = self.create(finding, context, previous=ticket)
            client = self.client
            try:
                self._call("link", lambda: client.create_issue_link(self.settings.link_type, new.key, ticket.key))
            except TrackerUnavailable:
                raise
            except TrackerError as exc:  # the new ticket stands (its body names the old one); only the link is missing
                LOG.warning("%s filed, but not linked to %s: %s", new.key, ticket.key, exc)
            return new
        self._comment(ticket.key, jf.reopen_comment(finding, context))
        fields = self._severity_fields(ticket, finding)
        due = jf.due_date(self.settings, finding.tier, datetime.now(timezone.utc).date())
        if due:
            fields["duedate"] = due  # the SLA starts again
        self._put(ticket.key, fields)
        self._transition(ticket.key, self.settings.reopen_transition, to_done=False)
        return self._note(replace(ticket, status="open", severity=finding.severity))

    def resolve(self, ticket: Ticket, context: RunContext) -> Ticket:
        self._comment(ticket.key, jf.resolve_comment(ticket, context))
        self._transition(ticket.key, self.settings.done_transition, to_done=True)
        return self._note(replace(ticket, status="closed"))

    def _note(self, ticket: Ticket) -> Ticket:
        self._found[ticket.fingerprint] = ticket
        return ticket

    def _severity_fields(self, ticket: Ticket, finding: Finding) -> dict:
        fields: dict = {"labels": jf.with_severity(self._labels_of(ticket.key), finding.severity)}
        priority = jf.priority_for(self.settings, finding.tier, finding.severity)
        if priority:
            fields["priority"] = {"name": priority}
        self._labels[ticket.key] = fields["labels"]
        return fields

    def _labels_of(self, key: str) -> list[str]:
        if key not in self._labels:
            client = self.client
            issue = self._call("read", lambda: jira_private.get_json(client, f"issue/{key}", {"fields": "labels"}))
            self._labels[key] = list((issue.get("fields") or {}).get("labels") or [])
        return self._labels[key]

    def _comment(self, key: str, body: str) -> None:
        client = self.client
        self._call("comment", lambda: client.add_comment(key, body))

    def _put(self, key: str, fields: dict) -> None:
        # A plain PUT: Issue.update() would reload the issue afterwards (one more request per write).
        client = self.client
        self._call("update", lambda: jira_private.put_fields(client, key, fields))

    def _transition(self, key: str, name: str, *, to_done: bool) -> None:
        client = self.client
        offered = self._call("transitions", lambda: client.transitions(key, expand="transitions.fields"))
        wanted = name.casefold()
        chosen = next(
            (
                t
                for t in offered
                if wanted in (str(t.get("name", "")).casefold(), str((t.get("to") or {}).get("name", "")).casefold())
            ),
            None,
        )
        if chosen is None:
            if self._status_category(key) == ("done" if to_done else "open"):
                return  # already there (a person moved it, or an earlier attempt landed)
            names = ", ".join(str(t.get("name")) for t in offered) or "none"
            raise TrackerError(
                f"{key}: no transition {name!r} available (offered: {names}); "
                f"set jira.{'done' if to_done else 'reopen'}_transition in the policy"
            )
        fields = {}
        if to_done and "resolution" in (chosen.get("fields") or {}):
            fields["resolution"] = {"name": self.settings.done_resolution}

        def landed():
            return True if self._status_category(key) == ("done" if to_done else "open") else None

        self._call(
            "transition", lambda: client.transition_issue(key, str(chosen["id"]), fields=fields), before_retry=landed
        )

    def _status_category(self, key: str) -> str:
        client = self.client
        issue = self._call("read", lambda: jira_private.get_json(client, f"issue/{key}", {"fields": "status"}))
        category = (((issue.get("fields") or {}).get("status") or {}).get("statusCategory") or {}).get("key")
        return "done" if category == "done" else "open"

    # --- people ---------------------------------------------------------------------------------

    def _assignee(self, routing: ServiceRouting | None) -> tuple[dict | None, str | None]:
        """The DR champion, else the owner, as a Jira user; unassigned with a note if neither is found."""
        people = [p for p in ((routing.champion, routing.owner) if routing else ()) if p]
        for person in people:
            if person not in self._users:
                self._users[person] = self._find_user(person)
            if self._users[person]:
                return self._users[person], None
        if not people:
            return None, "The runbook names no DR champion or owner, so this ticket is unassigned."
        return None, f"No Jira user found for {' or '.join(people)}, so this ticket is unassigned: assign it by hand."

    def _find_user(self, person: str) -> dict | None:
        client, cloud = self.client, self.is_cloud
        try:
            users = self._call(
                "user search",
                lambda: (
                    client.search_users(query=person, maxResults=10)
                    if cloud
                    else client.search_users(user=person, maxResults=10)
                ),
            )
        except TrackerUnavailable:
            raise
        except TrackerError as exc:
            LOG.warning("cannot look up Jira user %s: %s", person, exc)
            return None
        wanted = person.casefold()
        raws = [u.raw for u in users if u.raw.get("active", True)]
        for raw in raws:
            ids = {str(raw.get(k, "")).casefold() for k in ("emailAddress", "name", "key")}
            if wanted in ids:
                return {"accountId": raw["accountId"]} if cloud else {"name": raw["name"]}
        if cloud and len(raws) == 1 and raws[0].get("accountId"):
            return {"accountId": raws[0]["accountId"]}  # Cloud hides most emails; an exact-email query is specific
        return None


def retry_after(response) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None
