"""The `jira` library's private members the tracker uses (tasks/tracker/jira_private.py) still behave as relied
on, against jira820 over real HTTP. A `jira` release that changes them fails here first."""

from __future__ import annotations

import inspect

from jira import JIRA

from tasks.tracker import jira_private
from tests.jira_server import PROJECT, jira820


def test_the_private_members_exist_with_the_signatures_relied_on():
    assert list(inspect.signature(JIRA._get_json).parameters)[:4] == ["self", "path", "params", "base"]
    assert list(inspect.signature(JIRA._get_url).parameters)[:3] == ["self", "path", "base"]


def test_hooks_see_every_response_and_reads_and_writes_go_through(jira820):
    client = JIRA(
        server=jira820.url,
        options={"check_update": False},
        get_server_info=False,
        max_retries=0,
        token_auth="test-pat-0000",
    )
    for member in ("_session",):
        assert hasattr(client, member), member
    seen = []
    jira_private.add_response_hooks(client, [lambda response, *a, **k: seen.append(response.request.method)])
    jira_private.set_server_version(client, client.server_info())
    assert client._version[0] == 8 and seen == ["GET"]

    issue = client.create_issue(project=PROJECT, summary="private members", issuetype={"name": "Task"})
    jira_private.put_fields(client, issue.key, {"labels": ["dr-automation", "checked"]})
    fields = jira_private.get_json(client, f"issue/{issue.key}", {"fields": "labels"})["fields"]
    assert sorted(fields["labels"]) == ["checked", "dr-automation"]
    page = jira_private.get_json(client, "search", {"jql": "labels = checked", "maxResults": 5})
    assert [found["key"] for found in page["issues"]] == [issue.key]
    assert seen.count("PUT") == 1 and len(seen) >= 4
