"""A real `prefect server` on loopback with a temporary home, for deployment and worker tests: the server, the
project's deployments on a process work pool, workers, and waiting for runs (the `prefect_server` fixture in
conftest.py starts one per test)."""

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
REPO_ROOT = Path(__file__).resolve().parent.parent
FINAL = ("COMPLETED", "FAILED", "CRASHED", "CANCELLED")


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
            # An expired suspension is failed within a second or two (the default loop is slower).
            "PREFECT_SERVER_SERVICES_PAUSE_EXPIRATIONS_LOOP_SECONDS": "1",
        }
        self.log = open(Path(self.home) / "server.log", "w")
        self.process = subprocess.Popen(
            [str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180  # two busy cores: a cold server start took over 90 s
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

    def prefect(self, *args: str, env_extra: dict | None = None, timeout: float = 180) -> str:
        """Run the `prefect` CLI against this server from the project directory; its output (it must succeed)."""
        done = subprocess.run(
            [str(BIN / "prefect"), *args],
            cwd=REPO_ROOT,
            env={**self.env, **(env_extra or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    def deploy(self, name: str, pool: str = "dr-process") -> dict:
        """The project's deployment `name` (prefect.yaml) on a process work pool, created if needed."""
        if not any(p["name"] == pool for p in self.post("/work_pools/filter", {})):
            self.prefect("work-pool", "create", pool, "--type", "process")
        self.prefect("--no-prompt", "deploy", "--name", name, env_extra={"DR_PROJECT_DIR": str(REPO_ROOT)})
        [found] = [
            d
            for d in self.post("/deployments/filter", {"limit": 50, "offset": 0})
            if d["name"] == name and d.get("work_pool_name") == pool
        ]
        return found

    def worker(self, name: str, pool: str = "dr-process", limit: int = 1, env_extra: dict | None = None):
        """A process worker; its flow runs inherit `env_extra` (unbuffered, so its log can be read live)."""
        env = {"DR_PROJECT_DIR": str(REPO_ROOT), "PYTHONUNBUFFERED": "1", **(env_extra or {})}
        return self.start(
            str(BIN / "prefect"),
            "worker",
            "start",
            "--pool",
            pool,
            "--name",
            name,
            "--limit",
            str(limit),
            log_name=f"worker-{name}.log",
            env_extra=env,
        )

    def wait_for_workers(self, names: list[str], pool: str = "dr-process", timeout: float = 120) -> None:
        """Until every named worker has polled the pool (its first heartbeat): a worker still starting takes
        no runs, so one started earlier could take them all."""

        def online():
            workers = self.post(f"/work_pools/{pool}/workers/filter", {})
            return {w["name"] for w in workers if w.get("status") == "ONLINE"} >= set(names) or None

        wait_for(online, timeout, f"workers {', '.join(names)} online")

    def run(self, deployment: dict, parameters: dict) -> dict:
        return self.post(f"/deployments/{deployment['id']}/create_flow_run", {"parameters": parameters})

    def run_to_end(self, run_id: str, timeout: float = 240) -> dict:
        def final():
            run = self.get(f"/flow_runs/{run_id}")
            return run if run["state"]["type"] in FINAL else None

        return wait_for(final, timeout, f"flow run {run_id}")

    def log_tail(self) -> str:
        logs = sorted(Path(self.home).glob("*.log"))
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in logs)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except httpx.TimeoutException:
            value = None  # a busy SQLite-backed server on two cores; ask again
        if value:
            return value
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)
