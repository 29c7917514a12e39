"""Jira servers for tests and the benchmark: jira820 (a Jira Data Center 8.20 emulator) on loopback in a
uvicorn thread, which can be stopped and restarted on the same port with its state kept; and a small
fake Jira Cloud (stdlib http.server) that records what it is asked.

Real HTTP through the `jira` library; nothing is mocked in-process.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

PROJECT = "DR"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Jira820:
    """jira820 in a thread. `fault(method, path)` may return a status code to answer instead (429s carry
    Retry-After: 0), a (status, headers) pair, or ("after", status) to process the request and then
    answer that status (a lost response)."""

    def __init__(self, latency_ms: int = 0, project: str = PROJECT, users: tuple[str, ...] = ()):
        from jira820 import Config, Store

        config = Config(
            host="127.0.0.1",
            port=free_port(),
            latency_ms=latency_ms,
            project_key=project,
            epics_per_module=1,
            standalone_per_module=2,
            history_per_module=1,
        )
        config.children_per_epic = (1, 2)
        self.store = Store(config)
        for user in users:
            self.store.users[user] = {"name": user, "displayName": user.split("@")[0], "realName": user, "company": ""}
        self.requests: Counter = Counter()  # (method, path) -> count, as the server saw them
        self.fault: Callable[[str, str], object] | None = None
        self._server = None
        self._thread = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.store.config.port}"

    def _app(self):
        from fastapi import Request
        from fastapi.responses import JSONResponse
        from jira820 import make_app

        app = make_app(store=self.store)

        @app.middleware("http")
        async def _observe(request: Request, call_next):
            self.requests[(request.method, request.url.path)] += 1
            fault = self.fault(request.method, request.url.path) if self.fault else None
            if isinstance(fault, tuple) and fault[0] == "after":
                await call_next(request)
                return JSONResponse({"errorMessages": ["gateway timeout"]}, status_code=fault[1])
            if isinstance(fault, tuple):
                return JSONResponse({"errorMessages": ["injected"]}, status_code=fault[0], headers=fault[1])
            if isinstance(fault, int):
                headers = {"Retry-After": "0"} if fault == 429 else {}
                return JSONResponse({"errorMessages": ["injected"]}, status_code=fault, headers=headers)
            return await call_next(request)

        return app

    def start(self) -> None:
        import uvicorn

        config = uvicorn.Config(
            self._app(),
            host="127.0.0.1",
            port=self.store.config.port,
            log_level="error",
            lifespan="off",
            access_log=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("jira820 did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(15)
            self._server = None

    def script(self, answers: dict[tuple[str, str], list]) -> None:
        """Answer the next requests to (method, path) with these faults, in order, then normally."""
        self.fault = lambda method, path: (
            (answers.get((method, path)) or [None]).pop(0) if answers.get((method, path)) else None
        )

    def tool_issues(self, label: str = "dr-automation") -> list[dict]:
        return [it for it in self.store.issues.values() if label in (it.get("labels") or [])]

    def total(self, method: str, path_prefix: str = "") -> int:
        return sum(n for (m, p), n in self.requests.items() if m == method and p.startswith(path_prefix))


@pytest.fixture
def jira820(monkeypatch):
    server = Jira820(users=("pay-champ@example.org", "ledger-owner@example.org", "champ@example.org"))
    monkeypatch.setenv("DR_JIRA_URL", server.url)
    monkeypatch.setenv("DR_JIRA_PROJECT", PROJECT)
    monkeypatch.setenv("DR_JIRA_TOKEN", "test-pat-0000")
    monkeypatch.delenv("DR_JIRA_USER", raising=False)
    try:
        yield server
    finally:
        server.stop()


# --- a fake Jira Cloud --------------------------------------------------------------------------


@dataclass
class CloudState:
    issues: list[dict] = field(default_factory=list)  # search results, in order
    page_size: int = 2  # the server's own page cap
    users: dict[str, str] = field(default_factory=dict)  # email -> accountId
    log: list[dict] = field(default_factory=list)  # every request: method, path, query, body, auth
    created: list[dict] = field(default_factory=list)
    script: list[tuple] = field(default_factory=list)  # canned (status, headers[, body]) answers, served first
    url: str = ""


class _CloudHandler(BaseHTTPRequestHandler):
    state: CloudState

    def log_message(self, *args):  # keep test output quiet
        pass

    def _send(self, status: int, body: object, headers: dict | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self, method: str) -> dict:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"null") if length else None
        entry = {
            "method": method,
            "path": parts.path,
            "query": {k: v[0] for k, v in parse_qs(parts.query).items()},
            "body": body,
            "auth": self.headers.get("Authorization"),
        }
        self.state.log.append(entry)
        return entry

    def do_GET(self):
        req = self._record("GET")
        if self.state.script and req["path"] != "/rest/api/2/serverInfo":
            status, headers, *body = self.state.script.pop(0)
            return self._send(status, body[0] if body else {"errorMessages": ["scripted"]}, headers)
        path, query = req["path"], req["query"]
        if path == "/rest/api/2/serverInfo":
            return self._send(
                200,
                {
                    "baseUrl": "https://example.atlassian.net",
                    "version": "1001.0.0-SNAPSHOT",
                    "versionNumbers": [1001, 0, 0],
                    "deploymentType": "Cloud",
                    "buildNumber": 100292,
                    "serverTitle": "Jira",
                },
            )
        if path == "/rest/api/3/search/jql":
            issues = self.state.issues
            wanted = re.search(r"labels in \(([^)]*)\)", query.get("jql", ""))
            if wanted:  # the only other JQL the backend sends: a fingerprint lookup
                labels = set(re.findall(r'"([^"]+)"', wanted.group(1)))
                issues = [i for i in issues if labels & set(i["fields"]["labels"])]
            start = int(query.get("nextPageToken", "0").removeprefix("tok-") or 0)
            size = min(int(query.get("maxResults", 50)), self.state.page_size)
            page = issues[start : start + size]
            body: dict = {"issues": page, "isLast": start + size >= len(issues)}
            if not body["isLast"]:
                body["nextPageToken"] = f"tok-{start + size}"
            return self._send(200, body)
        if path == "/rest/api/2/user/search":
            email = query.get("query", "")
            hits = [
                {
                    "self": f"{self.state.url}/rest/api/2/user?accountId={aid}",
                    "accountId": aid,
                    "accountType": "atlassian",
                    "active": True,
                    "displayName": email,
                }
                for mail, aid in self.state.users.items()
                if mail == email
            ]
            return self._send(200, hits)
        return self._send(404, {"errorMessages": [f"no route {path}"]})

    def do_POST(self):
        req = self._record("POST")
        if req["path"] == "/rest/api/2/issue":
            key = f"{req['body']['fields']['project']['key']}-{len(self.state.created) + 1}"
            self.state.created.append(req["body"])
            return self._send(
                201, {"id": str(10000 + len(self.state.created)), "key": key, "self": f"/rest/api/2/issue/{key}"}
            )
        return self._send(404, {"errorMessages": ["no route"]})


@pytest.fixture
def jira_cloud(monkeypatch):
    state = CloudState()
    handler = type("Handler", (_CloudHandler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("DR_JIRA_URL", state.url)
    monkeypatch.setenv("DR_JIRA_PROJECT", "OPS")
    monkeypatch.setenv("DR_JIRA_USER", "bot@example.com")
    monkeypatch.setenv("DR_JIRA_TOKEN", "cloud-api-token-0000")
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
