"""A flow reports each runbook with a bad value as runbook.invalid and reviews the others (issue 14 item 5)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from flows.documentation_review import documentation_review
from tests.conftest import REPO_ROOT
from tests.estate import build_estate, write_catalog

CORPUS = REPO_ROOT / "tests" / "bad_inputs"
BAD_VALUES = [
    "impossible-date",
    "hex-key",
    "sexagesimal-key",
    "huge-integer",
    "huge-duration",
    "nul-byte",
]


def test_review_reports_bad_values_as_invalid_and_reviews_the_rest(prefect_harness, aws, tmp_path):
    build_estate()
    runbooks = write_catalog(tmp_path / "runbooks")
    clean = documentation_review(runbooks=str(runbooks), evidence=str(tmp_path / "clean"))
    expected = {s["service"]: s["status"] for s in _results(clean)["services"]}
    for name in BAD_VALUES:
        shutil.copy(CORPUS / f"{name}.yaml", runbooks)
    os.mkfifo(runbooks / "fifo.yaml")
    (runbooks / "zero.yaml").symlink_to("/dev/zero")

    summary = documentation_review(runbooks=str(runbooks), evidence=str(tmp_path / "evidence"))

    record = _results(summary)
    statuses = {s["service"]: s["status"] for s in record["services"]}
    bad = set(BAD_VALUES) | {"fifo", "zero"}
    assert {s: statuses[s] for s in bad} == {s: "invalid" for s in bad}
    assert {s: v for s, v in statuses.items() if s not in bad} == expected  # the others are reviewed as before
    invalid = {f["service"] for f in record["findings"] if f["check"] == "runbook.invalid"}
    assert bad <= invalid


def _results(summary) -> dict:
    return json.loads((Path(summary["evidence_dir"]) / "results.json").read_text())
