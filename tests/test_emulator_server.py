"""The strict layer's moto server in a child process (tasks.emulator.server, what `dr demo` and the benchmarks
run): it serves AWS on the strict layer, settles on request, and never outlives its parent, however the
parent ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from tasks.emulator import StrictConfig
from tasks.emulator.server import CONTROL_ENV, EmulatorProcess

REPO = Path(__file__).resolve().parent.parent


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def _gone_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _rds(url: str):
    return boto3.client(
        "rds",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="k",
        aws_secret_access_key="s",
    )


def test_serves_aws_on_the_strict_layer_and_settles_on_request(monkeypatch, tmp_path):
    with EmulatorProcess(StrictConfig.fast(30.0), log=tmp_path / "emulator.log") as emulator:
        rds = _rds(emulator.url)
        rds.create_db_instance(
            DBInstanceIdentifier="db1",
            Engine="postgres",
            DBInstanceClass="db.t4g.medium",
            AllocatedStorage=20,
            MasterUsername="u",
            MasterUserPassword="password-0",
        )
        # The strict layer, not plain moto: a new instance is `creating` (for 30 s here), not `available` at once.
        status = rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]["DBInstanceStatus"]
        assert status == "creating"
        # tasks.emulator.settle() (what estate builders call) reaches the child through CONTROL_ENV.
        monkeypatch.setenv(CONTROL_ENV, emulator.url)
        from tasks.emulator import settle

        settle()
        status = rds.describe_db_instances(DBInstanceIdentifier="db1")["DBInstances"][0]["DBInstanceStatus"]
        assert status == "available"
        pid = emulator.pid
    assert _gone_within(pid, 10)


def test_stop_ends_the_child_even_if_it_ignores_its_stdin(tmp_path):
    emulator = EmulatorProcess(StrictConfig.fast(1.0)).start().ready()
    pid = emulator.pid
    os.kill(pid, signal.SIGSTOP)  # cannot read its stdin: stop() must fall back to terminate/kill
    try:
        emulator.stop()
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    assert _gone_within(pid, 15)
    emulator.stop()  # a second stop is harmless


@pytest.mark.parametrize("how", ["exit", "sigkill"])
def test_the_child_does_not_outlive_its_parent(tmp_path, how):
    script = (
        "import os, signal, sys\n"
        "from tasks.emulator import StrictConfig\n"
        "from tasks.emulator.server import EmulatorProcess\n"
        "e = EmulatorProcess(StrictConfig.fast(1.0)).start()\n"
        "print(e.pid, flush=True)\n"
        f"os.kill(os.getpid(), signal.SIGKILL) if {how == 'sigkill'!r} else os._exit(0)\n"
    )
    parent = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    child = int(parent.stdout.split()[0])
    assert _gone_within(child, 15), f"emulator {child} still running after its parent ended ({how})"


def test_a_child_that_fails_to_start_is_reported_with_its_log(tmp_path):
    log = tmp_path / "emulator.log"
    emulator = EmulatorProcess(StrictConfig.fast(1.0), wrap="no_such_module:App", log=log).start()
    pid = emulator.pid  # the port is bound before moto loads: the failure shows when waiting for it to serve
    with pytest.raises(RuntimeError, match="exited .* before it was ready; see .*emulator.log"):
        emulator.ready()
    assert "No module named 'no_such_module'" in log.read_text()
    assert _gone_within(pid, 10)


def test_requests_made_while_moto_loads_wait_and_are_answered():
    emulator = EmulatorProcess(StrictConfig.fast(1.0)).start()  # port bound, moto maybe still loading
    try:
        assert _rds(emulator.url).describe_db_instances()["DBInstances"] == []
    finally:
        emulator.stop()


_STS_CALL = b"Action=GetCallerIdentity&Version=2011-06-15"
_STS_HEADERS = {
    "Authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261203/us-east-1/sts/aws4_request, "
    "SignedHeaders=host, Signature=0",
    "Content-Type": "application/x-www-form-urlencoded",
}


def test_connections_stay_open_between_calls_and_bodies_keep_their_lengths():
    import http.client

    with EmulatorProcess(StrictConfig.fast(1.0)) as emulator:
        host, port = emulator.url.rsplit("/", 1)[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        sockets = []
        for _ in range(3):
            conn.request("POST", "/", body=_STS_CALL, headers=_STS_HEADERS)
            response = conn.getresponse()
            body = response.read()
            assert response.status == 200 and b"<Arn>" in body
            assert response.getheader("Content-Length") == str(len(body))
            assert response.getheader("Connection") is None
            sockets.append(conn.sock)
        # One connection for all three calls: http.client drops its socket after a response that closes it.
        assert sockets[0] is not None and all(s is sockets[0] for s in sockets)

        # A chunked body (no length to read it by) is still answered; that connection is then closed.
        conn.request(
            "POST", "/", body=iter([b"Action=GetCallerIdentity", b"&Version=2011-06-15"]), headers=_STS_HEADERS
        )
        response = conn.getresponse()
        assert response.status == 200 and b"<Arn>" in response.read()
        assert response.getheader("Connection") == "close"

        # HEAD keeps the object's length (and sends no body); a large upload (Expect: 100-continue) still works.
        s3 = boto3.client(
            "s3", region_name="us-east-1", endpoint_url=emulator.url, aws_access_key_id="k", aws_secret_access_key="s"
        )
        s3.create_bucket(Bucket="keep-alive-test")
        for key, size in (("small", 1234), ("large", 3 * 1024 * 1024)):
            s3.put_object(Bucket="keep-alive-test", Key=key, Body=b"x" * size)
            assert s3.head_object(Bucket="keep-alive-test", Key=key)["ContentLength"] == size
            assert len(s3.get_object(Bucket="keep-alive-test", Key=key)["Body"].read()) == size
