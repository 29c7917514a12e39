"""Every kind of bad runbook gives a clear error naming file, line and field, and never a traceback."""

from __future__ import annotations

import os
import shutil

from tests.conftest import REPO_ROOT
from tests.test_cli import dr

CORPUS = REPO_ROOT / "tests" / "bad_inputs"

# file -> (line, field, words the message must contain)
EXPECTED = [
    ("malformed.yaml", 3, "", "invalid YAML: mapping values are not allowed here"),
    ("python-tag.yaml", 2, "", "tag not allowed"),
    ("unknown-key.yaml", 5, "recovery_time", "unknown field 'recovery_time'"),
    ("wrong-types.yaml", 3, "tier", "expected a tier from 0 to 3, got 'one'"),
    ("wrong-types.yaml", 4, "dependencies", "expected a list"),
    ("wrong-types.yaml", 9, "resources[0].expect.multi_az", "expected true or false"),
    ("wrong-types.yaml", 9, "resources[0].expect.backup_retention_days", "expected a whole number"),
    ("duplicate-b.yaml", 1, "service", "duplicate service id 'twin'"),
    ("cycle-a.yaml", 4, "dependencies[0]", "circular dependency: cycle-a -> cycle-b -> cycle-a"),
    ("cycle-b.yaml", 4, "dependencies[0]", "circular dependency"),
    ("impossible-target.yaml", 4, "targets.rpo", "expected a positive duration"),
    ("unknown-region.yaml", 7, "resources[0].region", "unknown AWS region 'us-middle-1'"),
    ("duplicate-key.yaml", 4, "name", "duplicate key (first defined on line 2)"),
    ("not-a-mapping.yaml", 1, "", "expected a mapping"),
    ("alias-bomb.yaml", None, "", "nodes"),
    ("not-utf8.yaml", None, "", "not UTF-8"),
    ("huge.yaml", None, "", "the limit is 1000000"),
    # Values YAML resolves but Python refuses: a line each, never a traceback.
    ("impossible-date.yaml", 5, "documentation.last_reviewed", "not a valid date: '2026-02-30'"),
    ("hex-key.yaml", 4, "0x1", "key '0x1' is read by YAML 1.1 as a number"),
    ("sexagesimal-key.yaml", 5, "targets.1:20", "key '1:20' is read by YAML 1.1 as a number"),
    ("huge-integer.yaml", 3, "tier", "not a valid number"),
    ("huge-duration.yaml", 4, "targets.rto", "expected a duration of at most 100 years"),
    ("nul-byte.yaml", 2, "", "NUL byte"),
    # Made at run time: only regular files are read (a FIFO would hang, /dev/zero would fill memory).
    ("fifo.yaml", None, "", "not a regular file"),
    ("zero.yaml", None, "", "not a regular file"),
]


def plant_special_files(directory):
    os.mkfifo(directory / "fifo.yaml")
    (directory / "zero.yaml").symlink_to("/dev/zero")
    (directory / "scenarios").mkdir(exist_ok=True)  # the scenario library is read the same way
    os.mkfifo(directory / "scenarios" / "fifo.yaml")


def test_every_bad_input_is_reported_precisely(tmp_path):
    corpus = tmp_path / "runbooks"
    shutil.copytree(CORPUS, corpus)
    (corpus / "huge.yaml").write_text("service: huge\nname: Huge\ntier: 1\n" + "# filler line\n" * 90_000)
    plant_special_files(corpus)
    run = dr("validate", "--runbooks", str(corpus))
    assert run.returncode == 2
    assert "Traceback" not in run.stdout + run.stderr
    lines = run.stdout.splitlines()
    for name, line, field, words in EXPECTED:
        where = f"{corpus}/{name}:{line}:" if line else f"{corpus}/{name}:"
        matches = [
            text for text in lines if text.startswith(where) and words in text and (not field or f" {field}: " in text)
        ]
        assert matches, f"no error for {name} line {line} {field!r} containing {words!r}:\n" + "\n".join(lines)
    files_with_errors = {text.split(":", 1)[0].rsplit("/", 1)[-1] for text in lines}
    assert files_with_errors == {name for name, *_ in EXPECTED}
    assert not (tmp_path / "pwned").exists()


def test_review_and_audit_report_bad_runbooks_without_crashing(tmp_path, prefect_harness):
    corpus = tmp_path / "runbooks"
    shutil.copytree(CORPUS, corpus)
    run = dr(
        "review",
        "--runbooks",
        str(corpus),
        "--evidence",
        str(tmp_path / "ev"),
        "--tier",
        "1",
        "--tier",
        "2",
        env_extra={"PREFECT_API_URL": prefect_harness, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr


def test_an_answers_file_is_read_like_a_runbook(tmp_path):
    import pytest

    from flows.dr_simulation import load_answers
    from tasks.errors import ConfigError

    fifo = tmp_path / "answers.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_answers(str(fifo))  # refused at once, not waited on
    bad = tmp_path / "bad.yaml"
    bad.write_text("answers:\n  az-1:\n    when: 2026-02-30\n")
    with pytest.raises(ConfigError, match=r"bad.yaml:3: answers.az-1.when: not a valid date"):
        load_answers(str(bad))
