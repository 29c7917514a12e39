"""Technical drills: disruptive operations on production resources, opt-in only.

Each drill runs inside `allow_drill` for exactly one operation on one resource, after the caller has
checked both opt-ins (the runbook's `drills:` block and --allow-disruptive) and the resource's own consent
(`resource_consents`: its drill tag says `allowed`).
"""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from tasks.actions.guardrails import Guardrails
from tasks.aws import rds
from tasks.aws.clients import AwsClients
from tasks.aws.errors import describe_error
from tasks.aws.guard import allow_drill
from tasks.catalog.runbook import DrillProbe
from tasks.evidence.inventory import LiveResource
from tasks.rules.drills import downtime, failover_changed, judge_failover

DRILL_TAG_VALUE = "allowed"


def resource_consents(member: LiveResource, tag_key: str) -> bool:
    """Pure. The resource's owners agreed to drills on it: it carries `<tag_key>: allowed`."""
    return member.tags.get(tag_key) == DRILL_TAG_VALUE


@dataclass
class DrillResult:
    drill: str
    service: str
    resource: str
    expected_seconds: float
    rto_target_seconds: float
    measured_seconds: float | None = None
    status: str = "pending"  # passed | slow | failed | stopped | not-started | refused | skipped
    detail: str = ""
    check: str | None = None  # the finding this result becomes (tasks/rules/drills.py CHECKS)
    before: dict = field(default_factory=dict)
    after: dict = field(default_factory=dict)
    downtime_seconds: float | None = None  # as the runbook's probe saw it
    data_loss_seconds: float | None = None  # region drills: replica lag or copy age
    timeline: list[dict] = field(default_factory=list)  # decision | action | verification | stop | rollback

    def event(self, phase: str, text: str) -> None:
        self.timeline.append({"at": datetime.now(UTC).isoformat(timespec="milliseconds"), "phase": phase, "text": text})

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class ProbeWatch:
    """Probes the service the way a client would, every `interval`, from before the failover until stopped."""

    def __init__(self, probe: DrillProbe, target: dict, member: LiveResource):
        self.probe, self.target, self.member = probe, target, member
        self.samples: list[tuple[float, bool]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"probe-{member.id}", daemon=True)
        self._origin = time.monotonic()

    def start(self) -> ProbeWatch:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            ok = self.once()
            self.samples.append((time.monotonic() - self._origin, ok))
            self._stop.wait(self.probe.interval.total_seconds())

    def once(self) -> bool:
        timeout = self.probe.timeout.total_seconds()
        if self.probe.kind == "endpoint":
            try:
                with socket.create_connection(
                    (self.target.get("endpoint") or "", int(self.target.get("port") or 0)), timeout=timeout
                ):
                    return True
            except (OSError, ValueError):
                return False
        argv = shlex.split(self.probe.command) if isinstance(self.probe.command, str) else list(self.probe.command)
        env = {
            **os.environ,
            "DR_DRILL_ID": self.member.id,
            "DR_DRILL_REGION": self.member.region,
            "DR_DRILL_ENDPOINT": str(self.target.get("endpoint") or ""),
            "DR_DRILL_PORT": str(self.target.get("port") or ""),
        }
        try:
            return subprocess.run(argv, env=env, capture_output=True, timeout=timeout).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False

    def up_again(self, wait_seconds: float) -> None:
        """Give the probe up to `wait_seconds` to see the service answer again, then stop it."""
        deadline = time.monotonic() + wait_seconds
        while time.monotonic() < deadline and not (self.samples and self.samples[-1][1]):
            time.sleep(0.05)
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.probe.timeout.total_seconds() + 1)


def read_state(client, member: LiveResource) -> dict | None:
    """Status, writer, the writer's zone and the endpoint: what a failover must change."""
    if member.kind == "rds_instance":
        found = rds.get_db_instance(client, member.id)
        if found is None:
            return None
        endpoint = found.get("Endpoint") or {}
        return {
            "status": found.get("DBInstanceStatus"),
            "writer": member.id,
            "zone": found.get("AvailabilityZone"),
            "standby_zone": found.get("SecondaryAvailabilityZone"),
            "endpoint": endpoint.get("Address"),
            "port": endpoint.get("Port"),
        }
    found = rds.get_db_cluster(client, member.id)
    if found is None:
        return None
    members = found.get("DBClusterMembers") or []
    writer = next((m["DBInstanceIdentifier"] for m in members if m.get("IsClusterWriter")), None)
    zone = (rds.get_db_instance(client, writer) or {}).get("AvailabilityZone") if writer else None
    return {
        "status": found.get("Status"),
        "writer": writer,
        "zone": zone,
        "members": len(members),
        "readers": sorted(m["DBInstanceIdentifier"] for m in members if not m.get("IsClusterWriter")),
        "endpoint": found.get("Endpoint"),
        "port": found.get("Port"),
    }


def _fail_over(client, member: LiveResource, to_writer: str | None = None) -> None:
    """The one disruptive call, allowed for this operation and identifier only."""
    if member.kind == "rds_instance":
        with allow_drill("RebootDBInstance", member.id):
            client.reboot_db_instance(DBInstanceIdentifier=member.id, ForceFailover=True)
    else:
        with allow_drill("FailoverDBCluster", member.id):
            params = {"DBClusterIdentifier": member.id}
            if to_writer:
                params["TargetDBInstanceIdentifier"] = to_writer
            client.failover_db_cluster(**params)


def _settled(
    client, member, before, deadline, poll_seconds, guard: Guardrails | None, grace: float = 60.0
) -> tuple[dict | None, str | None]:
    """Wait until the resource is available again after a failover call: (state, why it stopped early).
    A status still `available` and unchanged right after the call is not the end: AWS may take a moment to
    start the failover, so only a change or a transition seen since the call counts, or `grace` seconds of
    nothing at all (a failover that never happened: the caller's verification says so)."""
    seen_transition = False
    quiet_until = time.monotonic() + grace
    while True:
        state = read_state(client, member)
        if state is None:
            return None, "the resource disappeared during the drill"
        if state["status"] != "available":
            seen_transition = True
        elif seen_transition or failover_changed(before, state) or time.monotonic() > quiet_until:
            return state, None
        if guard is not None:
            reason = guard.stop_reason(member.region, member.account)
            if reason:
                return state, reason
        if time.monotonic() > deadline:
            return state, "not available again within the RTO target"
        time.sleep(poll_seconds)


def az_failover(
    clients: AwsClients,
    member: LiveResource,
    result: DrillResult,
    poll_seconds: float,
    guard: Guardrails,
    probe: DrillProbe | None = None,
    fail_back: bool = False,
) -> DrillResult:
    """Fail over a Multi-AZ instance (reboot with failover) or an Aurora cluster, and prove it: the writer or
    zone changed, within the AZ target, as a client saw it; stop and roll back when a guardrail says so."""
    client = clients.client("rds", member.region, member.account)
    watch: ProbeWatch | None = None
    try:
        before = read_state(client, member)
        if before is None:
            result.status, result.detail, result.check = "failed", "the resource was not found", "drill.failed"
            return result
        if member.kind == "rds_instance" and not member.attrs.get("multi_az"):
            result.status, result.detail = "skipped", "single-AZ: nothing to fail over to"
            return result
        if member.kind == "rds_cluster" and (before.get("members") or 0) < 2:
            result.status, result.detail = "skipped", "a cluster needs a reader in another zone to fail over"
            return result
        result.before = before
        result.event(
            "decision",
            f"fail over {member.id}: writer {before['writer']} in {before['zone']}"
            + (f", standby in {before['standby_zone']}" if before.get("standby_zone") else ""),
        )
        reason = guard.stop_reason(member.region, member.account)
        if reason:
            result.status, result.detail, result.check = "not-started", reason, "drill.stopped"
            result.event("stop", f"not started: {reason}")
            return result
        if probe is not None:
            watch = ProbeWatch(probe, before, member).start()
        started = time.monotonic()
        _fail_over(client, member)
        result.event(
            "action", "RebootDBInstance(ForceFailover=true)" if member.kind == "rds_instance" else "FailoverDBCluster"
        )
        after, reason = _settled(
            client,
            member,
            before,
            started + result.rto_target_seconds,
            poll_seconds,
            guard,
            grace=result.expected_seconds,
        )
        result.measured_seconds = time.monotonic() - started
        if reason:
            result.status, result.detail, result.check = "stopped", reason, "drill.stopped"
            result.event("stop", reason)
            _roll_back(client, member, before, result, poll_seconds)
            return result
        result.after = after
        if watch is not None:
            watch.up_again(max(5.0, probe.timeout.total_seconds() * 2))
            result.downtime_seconds = downtime(watch.samples)
        status, detail, check = judge_failover(before, after, result.measured_seconds, result.expected_seconds)
        if status == "passed" and (result.downtime_seconds or 0) > result.expected_seconds:
            status, check = "slow", "drill.failed"
            detail += f"; clients saw {result.downtime_seconds:.0f} s of downtime"
        elif result.downtime_seconds is not None:
            detail += f"; clients saw {result.downtime_seconds:.1f} s of downtime"
        result.status, result.detail, result.check = status, detail, check
        result.event("verification", detail)
        if fail_back and check != "drill.failover_unproven":
            _fail_back(client, member, before, result, poll_seconds, guard)
    except (ClientError, BotoCoreError) as exc:
        result.status, result.detail, result.check = "failed", describe_error(exc), "drill.failed"
        result.event("stop", f"AWS refused: {describe_error(exc)}")
    finally:
        if watch is not None:
            watch.stop()
    return result


def _fail_back(client, member, before, result: DrillResult, poll_seconds: float, guard: Guardrails) -> None:
    reason = guard.stop_reason(member.region, member.account)
    if reason:
        result.event("stop", f"not failing back: {reason}")
        return
    started = time.monotonic()
    _fail_over(client, member, to_writer=before["writer"] if member.kind == "rds_cluster" else None)
    result.event("action", f"fail back to {before['writer']} in {before['zone']}")
    current = result.after or before
    back, reason = _settled(client, member, current, started + result.rto_target_seconds, poll_seconds, None)
    ok = back is not None and not reason and back["writer"] == before["writer"] and back["zone"] == before["zone"]
    result.event(
        "verification",
        f"failed back in {time.monotonic() - started:.1f} s: writer {back and back['writer']} "
        f"in {back and back['zone']}"
        if ok
        else f"fail-back not verified: {reason or back}",
    )
    if not ok:
        result.status, result.check = "failed", "drill.failed"
        result.detail += "; the fail-back did not restore the original writer and zone"


def _roll_back(client, member, before, result: DrillResult, poll_seconds: float) -> None:
    """After a stop: once the resource is available, put the original writer and zone back."""
    deadline = time.monotonic() + result.rto_target_seconds
    state, reason = _settled(client, member, before, deadline, poll_seconds, None)
    if state is None or reason:
        result.event("rollback", f"cannot roll back: {reason}")
        return
    if not failover_changed(before, state):
        result.event("rollback", "nothing to roll back: the original writer and zone still serve")
        return
    started = time.monotonic()
    _fail_over(client, member, to_writer=before["writer"] if member.kind == "rds_cluster" else None)
    back, reason = _settled(client, member, state, deadline, poll_seconds, None)
    if back is not None and not reason and not failover_changed(before, back):
        result.event(
            "rollback", f"failed back to {before['writer']} in {before['zone']} in {time.monotonic() - started:.1f} s"
        )
    else:
        result.event("rollback", f"rollback not verified: {reason or back}")
