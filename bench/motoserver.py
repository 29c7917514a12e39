"""moto's server for the benchmarks, with a thin WSGI layer in front of it (same process, same cost for all).

    python -m bench.motoserver PORT     (bench.common.MotoServer starts it through tasks.emulator.server)

moto runs under the strict AWS layer (tasks/emulator): AWS's rules and states, with no waiting by default
(a benchmark estate stands for one that has existed for a long time). It adds, under /bench-api/ (never
counted):
- GET  /bench-api/counts        every AWS request served since the last reset, by "service:Action"
- POST /bench-api/counts/reset   (also forgets the first and last request times)
- GET  /bench-api/times         wall clock (epoch seconds) of the first and the last AWS request since the reset
- POST /bench-api/latency       {"seconds": 1.0}: restores (RDS, DynamoDB, volumes from snapshots) stay
                                `creating` for that long, and deletes `deleting` for half of it; 0 turns it off.
                                GET shows it, with "rewritten": reads that saw something still in transition.
- POST /bench-api/settle        finish every transition now

Counting here rather than in a proxy keeps both sides of a comparison on exactly the same path.
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import time
from collections import Counter
from urllib.parse import parse_qs

_SERVICE = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/")


DELETE_SHARE = 0.5  # a delete keeps its copy `deleting` for this share of the restore latency


def strict_config(seconds: float):
    from tasks.emulator import StrictConfig

    return StrictConfig(
        create_seconds=0.0, restore_seconds=seconds, copy_seconds=0.0, delete_seconds=seconds * DELETE_SHARE
    )


class BenchLayer:
    def __init__(self, app):
        self.app = app
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.latency = {"seconds": 0.0}
        self.first: float | None = None
        self.last: float | None = None
        self.strict = None
        self._strict(0.0)

    def _strict(self, seconds: float) -> None:
        from tasks.emulator import StrictAws

        if self.strict is not None:
            self.strict.uninstall()
        self.strict = StrictAws(strict_config(seconds)).install()

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
        return self.app(environ, start_response)

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
                self.latency["seconds"] = float(wanted.get("seconds", 0.0))
                self._strict(self.latency["seconds"])
            out = dict(self.latency)
        elif path == "/bench-api/latency" and method == "GET":
            out = {**self.latency, "rewritten": self.strict.lifecycle.busy_reads}
        elif path == "/bench-api/settle" and method == "POST":
            self.strict.settle()
            out = {}
        else:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"unknown bench-api call"]
        data = json.dumps(out).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]


def main(argv: list[str] | None = None) -> None:
    from tasks.emulator.server import serve

    port = int((argv or sys.argv[1:] or ["0"])[0])
    serve(config=None, wrap="bench.motoserver:BenchLayer", port=port)  # BenchLayer installs its own layer


if __name__ == "__main__":
    main()
