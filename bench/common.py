"""What every benchmark shares: moto's server and a Prefect server as separate processes, a fleet builder,
AWS call counts, and timing a whole process (spawn to exit) with its peak memory."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
DR = str(VENV_BIN / "dr")
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench-access-key",
    "AWS_SECRET_ACCESS_KEY": "bench-secret-key",
    "AWS_DEFAULT_REGION": "us-east-1",
}
ACCOUNT = "123456789012"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _http(url: str, method: str = "GET", data: dict | None = None, timeout: float = 30) -> bytes:
    body = json.dumps(data).encode() if data is not None else None
    request = urllib.request.Request(
        url, data=body, method=method, headers={"Content-Type": "application/json"} if body else {}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.read()


def _wait(url: str, what: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before it was ready")
        try:
            _http(url, timeout=2)
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {seconds:.0f} s")


def clean_env(**extra: str) -> dict[str, str]:
    """The environment every measured process gets: fake credentials, no real profile, nothing inherited
    from an outer Prefect or AWS set-up."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "PREFECT_", "DR_JIRA_")) and k not in ("VIRTUAL_ENV",)
    }
    env.update(FAKE_AWS)
    env["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.update(extra)
    return env


class MotoServer:
    """moto's server in its own process (bench.motoserver: moto under the strict layer, plus request counts)."""

    def __init__(self, log_dir: Path):
        from tasks.emulator.server import EmulatorProcess

        env = clean_env(MOTO_EC2_LOAD_DEFAULT_AMIS="false", MOTO_RDS_SNAPSHOT_LIMIT="1000000")
        # No config: BenchLayer installs (and swaps) its own strict layer; the launcher stops it on every exit.
        self.emulator = EmulatorProcess(None, wrap="bench.motoserver:BenchLayer", env=env, log=log_dir / "moto.log")
        self.emulator.start().ready()
        self.url = self.emulator.url
        self.port = int(self.url.rsplit(":", 1)[1])

    def counts(self) -> dict[str, int]:
        return json.loads(_http(f"{self.url}/bench-api/counts"))

    def request_times(self) -> dict:
        """Wall clock of the first and the last AWS request since the last reset (None if there was none)."""
        return json.loads(_http(f"{self.url}/bench-api/times"))

    def reset_counts(self) -> None:
        _http(f"{self.url}/bench-api/counts/reset", "POST", {})

    def set_latency(self, seconds: float) -> None:
        """Restores take `seconds` on the strict layer from now on (0: AWS's rules without the waiting)."""
        _http(f"{self.url}/bench-api/latency", "POST", {"seconds": seconds})

    def settle(self) -> None:
        _http(f"{self.url}/bench-api/settle", "POST", {})

    def latency_stats(self) -> dict:
        return json.loads(_http(f"{self.url}/bench-api/latency"))

    def reset(self) -> None:
        _http(f"{self.url}/moto-api/reset", "POST", {})
        self.reset_counts()

    def cpu_seconds(self) -> float:
        """CPU the emulator has used so far (user + system): what a run cost the server side."""
        fields = Path(f"/proc/{self.emulator.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.emulator.stop()


class PrefectServer:
    """`prefect server start` in its own process with its own PREFECT_HOME: flows then run as a deployment's
    process would, against an API that is already up."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.home = tempfile.mkdtemp(prefix="dr-bench-prefect-")
        self.url = f"http://127.0.0.1:{self.port}/api"
        self.log = open(log_dir / "prefect-server.log", "wb")
        env = clean_env(PREFECT_HOME=self.home)
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _wait(f"{self.url}/health", "prefect server", self.proc, seconds=120)

    def stop(self) -> None:
        import signal

        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.log.close()
        shutil.rmtree(self.home, ignore_errors=True)


def measure(
    cmd: list[str], env: dict[str, str], cwd: Path | str = REPO, log: Path | None = None, check: bool = True
) -> dict:
    """Run one command in its own wrapper process: wall time from spawn to exit and the peak resident memory
    of the command (RUSAGE_CHILDREN in a wrapper that has no other child)."""
    out = subprocess.run(
        [sys.executable, "-m", "bench.measure", "--", *cmd],
        cwd=cwd,
        env={**env, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
    )
    lines = out.stdout.rstrip().splitlines()
    try:
        result = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        raise RuntimeError(f"measure wrapper failed: {out.stderr[-2000:]}") from None
    result["stdout"] = "\n".join(lines[:-1])
    result["stderr"] = out.stderr
    if log is not None:
        log.write_text(f"$ {' '.join(cmd)}\n{result['stdout']}\n--- stderr\n{out.stderr}")
    if check and result["rc"] != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {result['rc']}:\n{out.stderr[-3000:]}")
    return result


def build_parallel(calls, workers: int = 8) -> None:
    """Run zero-argument callables on a thread pool; the first failure is raised."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()


def aws_client(service: str, region: str, endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.session.Session(**{k.lower(): v for k, v in FAKE_AWS.items() if k != "AWS_DEFAULT_REGION"}).client(
        service,
        region_name=region,
        endpoint_url=endpoint,
        config=Config(max_pool_connections=32, retries={"mode": "standard", "max_attempts": 8}),
    )


def summed(counts: dict[str, int], prefix: str = "") -> int:
    return sum(v for k, v in counts.items() if k.startswith(prefix))


def ratio(a: float, b: float) -> float:
    return round(a / b, 3) if b else float("inf")
