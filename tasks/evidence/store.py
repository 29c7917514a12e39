"""The evidence store: every run's results.json and reports, written atomically.

Layout: <root>/<flow>/<UTC stamp>-<short run id>/{results.json, summary.json, report.html, report.md}.
results.json is written as soon as findings exist (before trackers or reports can fail) and rewritten
with ticket keys at the end; a reader never sees a half-written file. summary.json is a compact copy
(statuses, compact measurements and findings, no detail text) written whenever a run ends, so the
dashboard reads years of history without parsing every finding; it is derived data and may be deleted.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from tasks.errors import EvidenceError, EvidenceUnusable
from tasks.evidence.files import write_atomic
from tasks.evidence.records import RunRecord, run_summary
from tasks.redaction import redact_bytes

logger = logging.getLogger(__name__)


class EvidenceStore(Protocol):
    location: str

    def check_writable(self) -> None: ...
    def write_bytes(self, relpath: str, data: bytes) -> str: ...
    def read_bytes(self, relpath: str) -> bytes | None: ...
    def list_prefix(self, prefix: str) -> list[str]: ...


class LocalEvidenceStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.location = str(self.root)

    def check_writable(self) -> None:
        """Fail before any AWS call if evidence could not be kept (unwritable dir, full disk)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=self.root, prefix=".probe-", delete=True) as probe:
                probe.write(b"\0" * 65536)
                probe.flush()
                os.fsync(probe.fileno())
        except OSError as exc:
            raise EvidenceUnusable(f"evidence directory {self.root} is not writable: {exc.strerror or exc}") from None

    def path(self, relpath: str) -> Path:
        return self.root / relpath

    def write_bytes(self, relpath: str, data: bytes) -> str:
        target = self.path(relpath)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, redact_bytes(data))  # every evidence file: no known secret value
        except OSError as exc:
            raise EvidenceError(f"cannot write evidence {target}: {exc.strerror or exc}") from None
        return str(target)

    def read_bytes(self, relpath: str) -> bytes | None:
        try:
            return self.path(relpath).read_bytes()
        except FileNotFoundError:
            return None

    def list_prefix(self, prefix: str) -> list[str]:
        base = self.path(prefix)
        if not base.exists():
            return []
        return sorted(str(p.relative_to(self.root)) for p in base.rglob("*") if p.is_file())

    def list_dirs(self, prefix: str) -> list[str]:
        """Immediate subdirectories (run directories of a flow) without walking every file below them."""
        base = self.path(prefix)
        try:
            return sorted(
                f"{prefix.rstrip('/')}/{entry.name}"
                for entry in os.scandir(base)
                if entry.is_dir() and not entry.name.startswith(".")
            )
        except (FileNotFoundError, NotADirectoryError):
            return []


def open_store(location: str | Path) -> EvidenceStore:
    location = str(location)
    if location.startswith("s3://"):
        from tasks.evidence.s3 import S3EvidenceStore

        return S3EvidenceStore.from_url(location)
    if "://" in location:
        raise EvidenceUnusable(f"unsupported evidence location {location!r}: use a directory or s3://bucket/prefix")
    return LocalEvidenceStore(location)


def list_dirs(store: EvidenceStore, prefix: str) -> list[str]:
    """A store's subdirectories under prefix; stores without a fast listing derive them from files."""
    fast = getattr(store, "list_dirs", None)
    if fast is not None:
        return fast(prefix)
    base = prefix.rstrip("/") + "/"
    return sorted(
        {
            base + rel[len(base) :].split("/", 1)[0]
            for rel in store.list_prefix(prefix)
            if rel.startswith(base) and "/" in rel[len(base) :]
        }
    )


def run_dir(flow: str, run_id: str, started_at: datetime) -> str:
    stamp = started_at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{flow}/{stamp}-{run_id.replace('-', '')[:8]}"


class RunEvidence:
    """The evidence of one run, in its own directory of the store."""

    def __init__(self, store: EvidenceStore, record: RunRecord):
        self.store = store
        self.record = record
        self.dir = run_dir(record.flow, record.run_id, record.started_at)
        record.evidence_dir = f"{store.location.rstrip('/')}/{self.dir}"

    def save(self) -> str:
        data = json.dumps(self.record.model_dump(mode="json"), indent=2, sort_keys=False).encode()
        location = self.store.write_bytes(f"{self.dir}/results.json", data)
        if self.record.status != "running":
            # Every save of an ended run (completed, failed, crashed) refreshes the summary, so the two agree.
            self.store.write_bytes(
                f"{self.dir}/{SUMMARY_FILE}", json.dumps(run_summary(self.record), separators=(",", ":")).encode()
            )
        return location

    def write_report(self, name: str, text: str) -> str:
        location = self.store.write_bytes(f"{self.dir}/{name}", text.encode())
        self.record.reports[name] = location
        return location


SUMMARY_FILE = "summary.json"


def parse_record(store: EvidenceStore, relpath: str, raw: bytes) -> RunRecord | None:
    """A historical results.json, or None with a warning naming it when it does not parse (a run killed
    mid-write, a truncated copy): one broken old run must not fail every later run."""
    try:
        return RunRecord.model_validate_json(raw)
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        logger.warning("skipped %s/%s: not a valid run record (%s)", store.location, relpath, str(exc).splitlines()[0])
        return None


def load_history(store: EvidenceStore, flow: str) -> list[RunRecord]:
    """Every completed run of a flow, oldest first (used by later flows for trends and rotation)."""
    records = []
    for relpath in store.list_prefix(flow):
        if relpath.endswith("/results.json"):
            raw = store.read_bytes(relpath)
            record = parse_record(store, relpath, raw) if raw else None
            if record is not None:
                records.append(record)
    return sorted(records, key=lambda r: r.started_at)
