"""Shared fixtures: an isolated Prefect home, AWS via moto on the strict layer (in-process or server), canned
runbooks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Before anything imports prefect or moto: isolated Prefect state, no telemetry, fake AWS credentials.
_PREFECT_HOME = tempfile.mkdtemp(prefix="dr-test-prefect-")
os.environ["PREFECT_HOME"] = _PREFECT_HOME
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.pop("PREFECT_API_URL", None)
os.environ["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
for _key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
    os.environ.pop(_key, None)
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def prefect_harness():
    """One real Prefect API server for the whole session (flow runs, artifacts, states)."""
    from prefect.testing.utilities import prefect_test_harness

    # Generous: on two busy cores the temporary server has taken over a minute to answer.
    with prefect_test_harness(server_startup_timeout=180):
        from prefect.settings import PREFECT_API_URL

        yield PREFECT_API_URL.value()


@pytest.fixture
def prefect_server():
    """A real `prefect server` (tests/prefect_server.py), one per test: deployments, workers, the UI's API."""
    from tests.prefect_server import PrefectServer

    started = PrefectServer()
    yield started
    started.stop()


def _strict_config(request):
    from tasks.emulator import StrictConfig

    marker = request.node.get_closest_marker("strict")
    overrides = dict(marker.kwargs) if marker else {}
    seconds = overrides.pop("seconds", 1.0)
    return StrictConfig.fast(seconds, **overrides)


@pytest.fixture
def strict_layer(request):
    """The strict AWS layer (tasks/emulator) that `aws` and `moto_server` run on by default: moto plus the
    documented AWS behaviours it skips, with transitions of 1 s unless `@pytest.mark.strict(...)` sets
    StrictConfig fields. A test that needs lenient moto says why: `@pytest.mark.plain_moto(reason=...)`."""
    plain = request.node.get_closest_marker("plain_moto")
    if plain is not None:
        if not plain.kwargs.get("reason"):
            raise pytest.UsageError(f"{request.node.nodeid}: plain_moto needs reason=... (why not the strict layer)")
        yield None
        return
    from tasks.emulator import StrictAws

    with StrictAws(_strict_config(request)) as strict:
        yield strict


@pytest.fixture
def aws(strict_layer):
    """In-process moto on the strict layer; AWS_ENDPOINT_URL must be unset or mock_aws would not intercept."""
    from moto import mock_aws

    assert not os.environ.get("AWS_ENDPOINT_URL")
    with mock_aws():
        yield


@pytest.fixture
def moto_server(monkeypatch, strict_layer):
    """moto's server on loopback, on the strict layer, for whole-process runs (the CLI in a subprocess)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    # moto's backends live in this process and outlive a server: start every test from an empty estate.
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST"), timeout=10).read()
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture
def strict_aws(strict_layer):
    """The installed strict layer (for tests that settle, expire credentials or read its counters)."""
    if strict_layer is None:
        pytest.fail("strict_aws was asked for by a test marked plain_moto")
    return strict_layer


def write_runbook(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text)
    return path
