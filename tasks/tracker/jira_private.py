"""The four private members of the `jira` library's JIRA client this tool relies on, in one place.

Why private: the public API re-reads an issue after every update and has no cursor search for Jira Cloud's
`search/jql`; our hooks must also see every request (rate-limit accounting, secret redaction). The `jira`
requirement is capped below the next minor release, and tests/test_jira_private.py checks these members on the
installed version, so an upgrade that changes them fails the suite instead of the first production sync.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

PRIVATE_MEMBERS = ("_session", "_get_json", "_get_url", "_version")


def add_response_hooks(client: Any, hooks: list[Callable[..., Any]]) -> None:
    """Every HTTP response of this client passes through `hooks` (a requests session hook)."""
    client._session.hooks["response"].extend(hooks)


def set_server_version(client: Any, info: dict[str, Any]) -> None:
    """What JIRA(get_server_info=True) does, for a client built without it (so our hooks count serverInfo)."""
    client._version = tuple(info.get("versionNumbers") or (0, 0, 0))
    client.deploymentType = info.get("deploymentType")


def get_json(client: Any, path: str, params: dict[str, Any], base: str | None = None) -> dict[str, Any]:
    """GET a REST resource relative to the API root (or `base`), parsed."""
    if base is None:
        result: dict[str, Any] = client._get_json(path, params=params)
    else:
        result = client._get_json(path, params=params, base=base)
    return result


def put_fields(client: Any, key: str, fields: dict[str, Any]) -> Any:
    """PUT issue fields without the re-read that Issue.update() does (one request per write, not two)."""
    return client._session.put(client._get_url(f"issue/{key}"), data=json.dumps({"fields": fields}))
