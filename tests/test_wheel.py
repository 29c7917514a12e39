"""A built wheel (not the checkout) is a working tool: templates, demo catalog and prefect.yaml travel with it."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(work / "dist"), str(REPO)],
        check=True,
        capture_output=True,
        text=True,
        cwd=work,
    )
    [wheel] = (work / "dist").glob("dr_runbooks-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "tasks/_shipped/templates/dashboard.html.j2" in names and "tasks/_shipped/prefect.yaml" in names
    assert "tasks/py.typed" in names
    target = work / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
    )
    return target


def run_from_wheel(installed: Path, code: str, cwd: Path) -> subprocess.CompletedProcess:
    # The wheel's copy first on the path, run far from the checkout: nothing may be read from the repository.
    env = {**os.environ, "PYTHONPATH": str(installed)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def test_the_wheel_validates_the_shipped_catalog_and_renders_the_dashboard(installed, tmp_path):
    code = f"""
import sys, tasks, flows
assert tasks.__file__.startswith({str(installed)!r}), tasks.__file__
from tasks.shipped import shipped
assert str(shipped("templates")).startswith({str(installed)!r})
from flows.serve import load_project
assert {{d["name"] for d in load_project()}}, "prefect.yaml travels with the wheel"
from flows.cli import main
code = main(["validate", "--runbooks", str(shipped("runbooks"))])
from tasks.report.site import build_site
build_site({str(tmp_path / "evidence")!r}, {str(tmp_path / "site")!r}, runbooks=str(shipped("runbooks")))
sys.exit(code)
"""
    (tmp_path / "evidence").mkdir()
    run = run_from_wheel(installed, code, tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "valid" in run.stdout
    page = (tmp_path / "site" / "index.html").read_text()
    assert "<table" in page and "code-hosting" in page
