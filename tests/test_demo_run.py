"""`dr demo` runs moto in a child process: whichever way the demo ends (an error, Ctrl-C), the child is stopped
and nothing of it is left in the environment."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tasks.emulator.server import CONTROL_ENV


def _emulator_children() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == os.getpid() and "tasks.emulator.server" in command:
            found.append(int(entry.name))
    return found


@pytest.mark.parametrize("interruption", [KeyboardInterrupt, RuntimeError])
def test_the_demo_stops_its_emulator_however_it_ends(tmp_path, interruption):
    from flows.demo import run_demo

    seen: dict[str, object] = {}

    def prefect_ready():  # called once the estate is built: the emulator is up and serving
        seen["children"] = _emulator_children()
        seen["control"] = os.environ.get(CONTROL_ENV)
        raise interruption("stopped while waiting for Prefect")

    saved = dict(os.environ)
    try:
        with pytest.raises(interruption):
            run_demo(tmp_path / "out", None, say=lambda *_: None, prefect_ready=prefect_ready)
        assert len(seen["children"]) == 1 and seen["control"] == os.environ.get("AWS_ENDPOINT_URL")
        assert _emulator_children() == []
        assert not Path(f"/proc/{seen['children'][0]}").exists()
        assert CONTROL_ENV not in os.environ
    finally:
        os.environ.clear()
        os.environ.update(saved)
