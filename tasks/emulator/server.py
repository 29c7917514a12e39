"""moto's server on the strict AWS layer, in a child process: the caller's flows and the emulator then run on
two cores instead of sharing one interpreter lock (moto answers each call with milliseconds of Python).

    with EmulatorProcess(StrictConfig.fast(1.0)) as emulator:   # started and serving
        emulator.url                  # http://127.0.0.1:PORT, for AWS_ENDPOINT_URL
        emulator.settle()             # finish every transition now (seeding an estate)

The child never outlives its parent: it exits when its stdin closes (the parent stopped it, exited, or was
killed), and `stop()` (every exit of the `with`) terminates it and waits for it. Besides AWS it answers
POST /_strict/settle. A benchmark puts its own WSGI layer in front (`wrap="module:factory"`, given moto's app)
and installs its own strict layer (`config=None`).

    python -m tasks.emulator.server [--config JSON] [--wrap module:factory]   # prints the port, 0 once serving

`start()` alone returns as soon as the port is bound (requests wait until moto has loaded); `ready()` waits.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

CONTROL_PREFIX = "/_strict/"
# Set in the parent while it runs an emulator process: where tasks.emulator.settle() sends its request.
CONTROL_ENV = "DR_STRICT_AWS_URL"
READY_SECONDS = 60.0


class EmulatorProcess:
    def __init__(
        self,
        config=None,
        *,
        wrap: str | None = None,
        env: dict[str, str] | None = None,
        log: Path | None = None,
        verbose: bool = False,
    ):
        self.config = config
        self.wrap = wrap
        self.env = env
        self.log = log
        self.verbose = verbose
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self._ready = False

    def start(self) -> EmulatorProcess:
        command = [sys.executable, "-m", "tasks.emulator.server"]
        if self.config is not None:
            command += ["--config", json.dumps(dataclasses.asdict(self.config))]
        if self.wrap:
            command += ["--wrap", self.wrap]
        if self.verbose:
            command.append("--verbose")
        env = dict(os.environ if self.env is None else self.env)
        # The child imports this very package (a worktree's, an install's), whatever the caller's cwd.
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        log = open(self.log, "wb") if self.log else None
        try:
            self.proc = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log if log else (None if self.verbose else subprocess.DEVNULL),
                env=env,
                start_new_session=True,  # a Ctrl-C reaches the parent only; the parent stops the child
            )
        finally:
            if log:
                log.close()
        try:
            port = self._read_line()
        except BaseException:
            self.stop()
            raise
        self.url = f"http://127.0.0.1:{port}"
        return self

    def ready(self) -> EmulatorProcess:
        """Wait until moto answers (start() returns once the port is bound: requests made before wait in the
        socket's backlog, so a caller may go on with its own start-up meanwhile)."""
        if not self._ready:
            try:
                self._read_line()
            except BaseException:
                self.stop()
                raise
            self._ready = True
        return self

    def check(self) -> None:
        """Raise if the child has exited (a caller's failed request then names the cause)."""
        if self.proc is not None and self.proc.poll() is not None:
            where = f"; see {self.log}" if self.log else ""
            raise RuntimeError(f"the AWS emulator exited ({self.proc.returncode}){where}")

    def _read_line(self) -> int:
        """The child's next line: a number (its port, then 0 once it serves)."""
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + READY_SECONDS
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"the AWS emulator did not start within {READY_SECONDS:.0f} s")
            readable, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.5))
            if readable:
                chunk = os.read(self.proc.stdout.fileno(), 1)  # one byte at a time: never past this line
                if not chunk:
                    break
                line += chunk
            elif self.proc.poll() is not None:
                break
        if not line.strip().isdigit():
            where = f"; see {self.log}" if self.log else ""
            raise RuntimeError(f"the AWS emulator exited ({self.proc.poll()}) before it was ready{where}")
        return int(line)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def settle(self) -> None:
        _post(f"{self.url}{CONTROL_PREFIX}settle")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()  # the child's cue to exit
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        finally:
            if proc.stdout:
                proc.stdout.close()

    def __enter__(self) -> EmulatorProcess:
        return self.start().ready()

    def __exit__(self, *exc) -> None:
        self.stop()


def _post(url: str) -> None:
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()


def settle_remote() -> bool:
    """settle() on the emulator process this process started, if any; whether there was one."""
    url = os.environ.get(CONTROL_ENV)
    if not url:
        return False
    _post(f"{url}{CONTROL_PREFIX}settle")
    return True


class _Control:
    """Answers /_strict/ itself; everything else goes to moto."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if not path.startswith(CONTROL_PREFIX):
            return self.app(environ, start_response)
        from tasks.emulator import settle

        if path == f"{CONTROL_PREFIX}settle" and environ.get("REQUEST_METHOD") == "POST":
            settle()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2")])
            return [b"{}"]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"unknown control call"]


def serve(config=None, wrap: str | None = None, verbose: bool = False, port: int = 0) -> None:
    """The child's side: bind and print the port at once, then load moto and the layer (the parent goes on with
    its own start-up meanwhile; its first requests wait in the backlog), print 0, serve until stdin closes."""
    import socket

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when the emulator stops
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(128)

    def watch_parent() -> None:
        while sys.stdin.buffer.read(4096):
            pass
        os._exit(0)  # nothing to keep: the estate lives only as long as the parent's run

    threading.Thread(target=watch_parent, name="parent-watch", daemon=True).start()
    _say(listener.getsockname()[1])

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    from tasks.emulator import StrictAws
    from tasks.emulator.keepalive import KeepAliveHandler

    # moto logs a traceback for each request it fails (its own races under concurrent calls answer 500, which
    # botocore retries): emulator internals, shown only when asked for.
    logging.getLogger("werkzeug").setLevel(logging.ERROR if verbose else logging.CRITICAL)
    if config is not None:
        StrictAws(config).install()
    app = DomainDispatcherApplication(create_backend_app)
    if wrap:
        module, _, name = wrap.partition(":")
        app = getattr(importlib.import_module(module), name)(app)
    server = make_server(
        "127.0.0.1",
        listener.getsockname()[1],
        _Control(app),
        True,
        request_handler=KeepAliveHandler,
        fd=listener.fileno(),
    )
    _say(0)
    server.serve_forever()


def _say(number: int) -> None:
    sys.stdout.write(f"{number}\n")
    sys.stdout.flush()


def main(argv: list[str] | None = None) -> None:
    from tasks.emulator import StrictConfig

    parser = argparse.ArgumentParser(prog="python -m tasks.emulator.server")
    parser.add_argument("--config", help="StrictConfig fields as JSON; none: no strict layer (the wrapper's own)")
    parser.add_argument("--wrap", help="module:factory of a WSGI layer put in front of moto")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    config = StrictConfig(**json.loads(args.config)) if args.config else None
    serve(config, args.wrap, args.verbose, args.port)


if __name__ == "__main__":
    main()
