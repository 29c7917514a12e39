"""moto's server for the benchmarks, with a thin WSGI layer in front of it (same process, same cost for all).

    python -m bench.motoserver PORT

It adds, under /bench-api/ (never counted):
- GET  /bench-api/counts        every AWS request served since the last reset, by "service:Action"
- POST /bench-api/counts/reset   (also forgets the first and last request times)
- GET  /bench-api/times         wall clock (epoch seconds) of the first and the last AWS request since the reset
- POST /bench-api/latency       {"prefix": "drt-", "seconds": 1.0}: an RDS instance restored under that prefix
                                reads as `creating` for that long after its restore call (moto makes everything
                                `available` at once); seconds 0 turns it off.

Counting here rather than in a proxy keeps both sides of a comparison on exactly the same path.
"""
from __future__ import annotations

import io
import json
import logging
import re
import sys
import threading
import time
from collections import Counter
from urllib.parse import parse_qs

_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/")
_RESTORES = {"RestoreDBInstanceFromDBSnapshot": "DBInstanceIdentifier",
             "RestoreDBInstanceToPointInTime": "TargetDBInstanceIdentifier"}


class BenchLayer:
    def __init__(self, app):
        self.app = app
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.latency = {"prefix": "drt-", "seconds": 0.0}
        self.born: dict[str, float] = {}  # restored instance id -> when its restore was asked for
        self.rewritten = 0
        self.first: float | None = None
        self.last: float | None = None

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/bench-api/"):
            return self._control(environ, start_response, path)
        if path.startswith("/moto-api/"):
            return self.app(environ, start_response)
        body = b""
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)
        match = _SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = match.group(2) if match else "?"
        params: dict[str, list[str]] = {}
        target = environ.get("HTTP_X_AMZ_TARGET")
        if target:
            action = target.split(".")[-1]
        else:
            if body and "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
                params = parse_qs(body.decode("utf-8", "replace"))
            params = params or parse_qs(environ.get("QUERY_STRING", ""))
            rest = f"{environ.get('REQUEST_METHOD')} {path.split('/')[1] if '/' in path else ''}"  # S3: method, bucket
            action = (params.get("Action") or [rest])[0]
        with self.lock:
            self.counts[f"{service}:{action}"] += 1
            self.last = time.time()
            self.first = self.first or self.last
        seconds = self.latency["seconds"]
        if seconds and action in _RESTORES:
            name = (params.get(_RESTORES[action]) or [""])[0]
            if name.startswith(self.latency["prefix"]):
                with self.lock:
                    self.born[name.lower()] = time.monotonic()
        if seconds and action == "DescribeDBInstances":
            name = (params.get("DBInstanceIdentifier") or [""])[0].lower()
            born = self.born.get(name)
            if born is not None and time.monotonic() - born < seconds:
                return self._creating(environ, start_response)
        return self.app(environ, start_response)

    def _creating(self, environ, start_response):
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        result = self.app(environ, capture)
        try:
            payload = b"".join(result)
        finally:
            getattr(result, "close", lambda: None)()
        payload = payload.replace(b"<DBInstanceStatus>available</DBInstanceStatus>",
                                  b"<DBInstanceStatus>creating</DBInstanceStatus>")
        with self.lock:
            self.rewritten += 1
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(payload))))
        start_response(captured["status"], headers)
        return [payload]

    def _control(self, environ, start_response, path):
        method = environ.get("REQUEST_METHOD")
        if path == "/bench-api/counts" and method == "GET":
            with self.lock:
                out = dict(self.counts)
        elif path == "/bench-api/counts/reset" and method == "POST":
            with self.lock:
                self.counts.clear()
                self.first = self.last = None
            out = {}
        elif path == "/bench-api/times" and method == "GET":
            with self.lock:
                out = {"first": self.first, "last": self.last}
        elif path == "/bench-api/latency" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            wanted = json.loads(environ["wsgi.input"].read(length) or b"{}")
            with self.lock:
                self.latency.update(wanted)
                self.born.clear()
                self.rewritten = 0
            out = dict(self.latency)
        elif path == "/bench-api/latency" and method == "GET":
            out = {**self.latency, "rewritten": self.rewritten}
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"unknown bench-api call"]
        data = json.dumps(out).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def main(argv: list[str] | None = None) -> None:
    from werkzeug.serving import run_simple

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    port = int((argv or sys.argv[1:])[0])
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    app = DomainDispatcherApplication(create_backend_app)
    run_simple("127.0.0.1", port, BenchLayer(app), threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
