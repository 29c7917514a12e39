"""Where flow runs get their Prefect API: the user's server (PREFECT_API_URL, e.g. `dr server`), or a temporary
one started once per command, with a start-up timeout that fits a busy machine and one retry.

Nothing here imports prefect at module import: `dr validate`, `--help`, `--version` and dry runs never load it.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import contextmanager

# Prefect's default (20 s) is too short for its temporary server on a busy two-core machine (22-27 s measured).
STARTUP_TIMEOUT_SECONDS = 120
TIMEOUT_SETTING = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
# The packages whose loggers should reach the Prefect UI next to the flow's own logs.
TOOL_LOGGERS = ("flows", "tasks", "dr")
DEFAULT_PORT = 4200


class PrefectUnavailable(Exception):
    """No Prefect API to run flows against; the message says what to do, in one line."""


def apply_defaults(verbose: bool = False, environ: MutableMapping[str, str] = os.environ) -> None:
    """Environment defaults for every command, before prefect is imported; a user's own setting always wins."""
    environ.setdefault(TIMEOUT_SETTING, str(STARTUP_TIMEOUT_SECONDS))
    if "PREFECT_SERVER_ANALYTICS_ENABLED" not in environ and "DO_NOT_TRACK" not in environ:
        # Telemetry off unless the user turned it on: the server's analytics and the client's (DO_NOT_TRACK).
        environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        environ["DO_NOT_TRACK"] = "1"
    environ.setdefault("PREFECT_LOGGING_EXTRA_LOGGERS", ",".join(TOOL_LOGGERS))
    if not verbose:
        # The console gets phases, progress and a summary; Prefect's logs still reach its API (and UI).
        environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
        environ.setdefault("PREFECT_LOGGING_HANDLERS_DEBUG_LEVEL", "CRITICAL")


def _configured_api_url() -> str | None:
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


def _check_reachable(url: str, timeout: float = 10) -> None:
    import httpx

    last: Exception | None = None
    for _attempt in range(2):
        try:
            response = httpx.get(f"{url.rstrip('/')}/health", timeout=timeout)
        except httpx.HTTPError as exc:
            last = exc
            continue
        if response.status_code < 500:
            return
        last = RuntimeError(f"HTTP {response.status_code}")
    raise PrefectUnavailable(
        f"the Prefect API at {url} is not answering ({last}): start it (`dr server`) or unset "
        "PREFECT_API_URL to use a temporary server"
    )


def _start_temporary(timeout: int, say: Callable[[str], None]):
    from prefect.server.api.server import SubprocessASGIServer

    for attempt in (1, 2):
        server = SubprocessASGIServer()
        try:
            server.start(timeout=timeout)
            return server
        except RuntimeError as exc:
            # A server that missed the deadline may still be starting: stop it so the retry is a clean start.
            server.stop()
            if attempt == 2:
                first_line = str(exc).split(" stdout:")[0]
                raise PrefectUnavailable(
                    f"Prefect's temporary server did not start within {timeout} s, twice ({first_line}): raise "
                    f"{TIMEOUT_SETTING}, or run `dr server` in another shell and set PREFECT_API_URL"
                ) from None
            say(f"Prefect's temporary server did not start within {timeout} s; trying once more")
    raise AssertionError("unreachable")


@contextmanager
def prefect_api(
    say: Callable[[str], None] = lambda text: print(text, file=sys.stderr), background: bool = False
) -> Iterator[Callable[[], str]]:
    """The API every flow run of this command uses: the configured one (checked), else one temporary server
    for the whole command (the demo's five flows share it). Yields `ready()`, which returns the API's URL once
    it answers; with `background`, the temporary server starts while the caller does other work (the demo
    builds its estate meanwhile) and no flow may run before `ready()` returned."""
    end_runs_without_waiting_for_heartbeats()
    url = _configured_api_url()
    if url:
        _check_reachable(url)
        yield lambda: url
        return
    timeout = int(float(os.environ.get(TIMEOUT_SETTING, STARTUP_TIMEOUT_SECONDS)))
    if not background:
        server = _start_temporary(timeout, say)
        # Not stopped here: Prefect stops it at exit, after its log and event workers have drained into it.
        yield lambda: server.api_url
        return
    import threading

    outcome: dict[str, object] = {}

    def start() -> None:
        try:
            outcome["server"] = _start_temporary(timeout, say)
        except BaseException as exc:
            outcome["error"] = exc

    starter = threading.Thread(target=start, name="prefect-server-start", daemon=True)
    starter.start()

    def ready() -> str:
        starter.join()
        if "error" in outcome:
            raise outcome["error"]  # type: ignore[misc]
        return outcome["server"].api_url  # type: ignore[attr-defined]

    yield ready
    starter.join()


def end_runs_without_waiting_for_heartbeats() -> None:
    """A flow run of this process ends without joining its heartbeat thread, as Prefect's async engine does.

    Prefect (3.9.1, flow_engine._send_heartbeats) sends a flow run's heartbeats from a thread that sleeps in
    one-second steps and, in the sync engine, joins it when the run ends: every command waited up to a second
    after its work was done (0.8 s on average in the audit benchmark). The thread still stops on its own at its
    next step without sending another heartbeat; heartbeats are sent as before while the run lasts."""
    import inspect

    from prefect import flow_engine

    send = flow_engine._send_heartbeats
    if getattr(send, "dr_without_join", False) or "join_on_exit" not in inspect.signature(send).parameters:
        return  # done already, or a Prefect without the option: leave it as it is

    def without_join(engine, join_on_exit: bool = True):
        return send(engine, join_on_exit=False)

    without_join.dr_without_join = True  # type: ignore[attr-defined]
    flow_engine._send_heartbeats = without_join  # type: ignore[assignment]


def serve_forever(host: str, port: int, say: Callable[[str], None] = print) -> int:
    """`dr server`: a long-lived local Prefect server (its database in PREFECT_HOME) for later commands."""
    import subprocess

    ui = f"http://{host}:{port}"
    say(f"Prefect server (UI and API) on {ui}; stop it with Ctrl-C. In other shells:")
    say(f"  export PREFECT_API_URL={ui}/api")
    env = {**os.environ}
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    env.pop("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", None)  # the server's own log is what this shell shows
    prefect = os.path.join(os.path.dirname(sys.executable), "prefect")
    command = [
        prefect if os.path.exists(prefect) else "prefect",
        "server",
        "start",
        "--host",
        host,
        "--port",
        str(port),
    ]
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


def route_tool_logs() -> None:
    """Send the tool's own loggers to the Prefect API during flow runs (whatever started the process:
    the CLI, `dr serve`, a worker), as PREFECT_LOGGING_EXTRA_LOGGERS would."""
    import logging

    from prefect.logging.handlers import APILogHandler

    for name in TOOL_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(h, APILogHandler) for h in logger.handlers):
            logger.addHandler(APILogHandler())
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
