"""A real `prefect server` on loopback with a temporary home, for deployment and worker tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrefectServer:
    def __init__(self):
        self.home = tempfile.mkdtemp(prefix="dr-prefect-server-")
        self.port = free_port()
        self.api = f"http://127.0.0.1:{self.port}/api"
        self.env = {
            **os.environ,
            "PREFECT_HOME": self.home,
            "PREFECT_API_URL": self.api,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS": "2",
            # Far enough ahead to hold the annual simulation (the default horizon is 100 days).
            "PREFECT_SERVER_SERVICES_SCHEDULER_MAX_SCHEDULED_TIME": "P400D",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            "PREFECT_LOGGING_LEVEL": "INFO",
        }
        self.log = open(Path(self.home) / "server.log", "w")
        self.process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.api}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"prefect server did not start: {Path(self.home, 'server.log').read_text()[-2000:]}")

    def post(self, path: str, body: dict) -> list | dict:
        return self._call("POST", path, body)

    def get(self, path: str):
        return self._call("GET", path, None)

    def _call(self, method: str, path: str, body: dict | None):
        # A SQLite-backed server on two busy cores answers 503 or slowly at times; Prefect's own
        # client retries those too.
        for attempt in range(6):
            try:
                response = httpx.request(method, f"{self.api}{path}", json=body, timeout=60)
                if response.status_code != 503:
                    response.raise_for_status()
                    return response.json()
            except httpx.TimeoutException:
                if attempt == 5:
                    raise
            time.sleep(2 * (attempt + 1))
        response.raise_for_status()

    def start(self, *args: str, log_name: str, env_extra: dict | None = None) -> subprocess.Popen:
        log = open(Path(self.home) / log_name, "w")
        return subprocess.Popen(
            list(args),
            env={**self.env, **(env_extra or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=Path(__file__).resolve().parent.parent,
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()
