"""One restore, start to teardown: preflight, restore, wait (deadline = RTO), validate, delete, confirm.

Teardown runs whatever happens (failure, timeout, cancellation) and is confirmed with a describe. The
measurement is written to the run's evidence as soon as it exists, so a crash loses nothing finished.

A restore holds its slot (`RestoreContext.slot`, the run's concurrency bound) from before it looks for a
recovery point until its copy's teardown is under way: once the copy is validated (available, measured),
when the delete is asked for; otherwise (a copy still creating at the RTO deadline, or failed) once AWS has
accepted the delete. Waiting for the copy to be gone takes no slot, so the next restore starts while this
copy is `deleting` (on AWS, minutes of it); the flow's thread pool (twice the slots) still bounds the copies
alive at once.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tasks.actions.validation import default_steps, run_step
from tasks.aws.clients import AwsClients
from tasks.aws.errors import cannot_use_credentials, describe_error, is_transient
from tasks.aws.guard import UnsafeOperation, ownership_tags
from tasks.aws.restore.base import (
    CopyState,
    Isolation,
    NoRecoveryPoint,
    RestoreDriver,
    RestoreSpec,
)
from tasks.aws.restore.drivers import driver_for
from tasks.catalog.policy import Policy
from tasks.catalog.runbook import ValidationStep
from tasks.evidence.records import Measurement, now
from tasks.evidence.store import EvidenceStore
from tasks.rules.restore_config import NotCarried
from tasks.rules.restore_plan import (
    NEEDS_ISOLATION,
    RestoreTarget,
    copy_name,
    expires_at,
    judge,
)

FLOW = "backup-restore-test"
log = logging.getLogger(__name__)


@dataclass
class RestoreContext:
    run_id: str
    policy: Policy
    clients: AwsClients
    store: EvidenceStore
    run_dir: str
    restore_time: datetime | None = None
    poll_seconds: float | None = None
    attempt: int = 1
    flow: str = FLOW
    lock: str | None = None  # the run lock's id, recorded on each copy (see tasks/evidence/runlock.py)
    # Entered for each restore while it is under way (see the module's docstring): the flow's bound on
    # restores at once. None: no bound here.
    slot: Callable[[], AbstractContextManager] | None = None
    # Called once per restore attempt when its copy has been asked for, or when it ends without one.
    on_under_way: Callable[[], None] | None = None


def path_fields(target: RestoreTarget) -> dict:
    """The disruption a target's path answers for, carried onto its measurement."""
    return {"disruption": target.disruption, "rpo_judged": target.judge_rpo, "judged_against": target.judged_against}


def new_measurement(target: RestoreTarget, started: datetime, **fields: Any) -> Measurement:
    """A measurement of `target` started at `started`: the target's identity, path and goals, plus `fields`."""
    return Measurement(
        service=target.service,
        tier=target.tier,
        resource=target.resource,
        kind=target.kind,
        mode=target.mode,
        region=target.region,
        source_region=target.source_region,
        started_at=started,
        rto_target_seconds=target.rto_target_seconds,
        rpo_target_seconds=target.rpo_target_seconds,
        **path_fields(target),
        **fields,
    )


def measurement_path(run_dir: str, target: RestoreTarget) -> str:
    # Per service too: two runbooks documenting one database each keep their own measurement.
    digest = hashlib.sha256("\0".join((target.service, target.key)).encode()).hexdigest()[:16]
    return f"{run_dir}/measurements/{digest}.json"


def prefetch_sources(targets: list[RestoreTarget], clients: AwsClients, starting: int = 0) -> None:
    """What the drivers can read once for all of a run's restores before the first starts (`prefetch`: the
    sources' configuration, per kind, account and region) and, for the first `starting` targets (the
    restores that begin at once, with no slot to wait for), their recovery points. A failed read is left to
    each restore, which reads its own source again and fails with the reason if it must."""
    wanted: dict[tuple[str, str | None, str], tuple[list[str], list[tuple[str, str]]]] = {}
    for index, target in enumerate(targets):
        ids, at_once = wanted.setdefault((target.kind, target.account, target.source_region), ([], []))
        ids.append(target.source_id)
        if index < starting and target.region == target.source_region:
            at_once.append((target.source_id, target.mode))
    for (kind, account, region), (ids, at_once) in wanted.items():
        prefetch = getattr(driver_for(kind), "prefetch", None)
        if prefetch is None:
            continue
        try:
            prefetch(clients, account, region, ids, at_once)
        except (ClientError, BotoCoreError) as exc:
            log.info("reading the %s sources in %s at once: %s; each restore reads its own", kind, region, exc)


def perform_restore(target: RestoreTarget, steps: list[ValidationStep], ctx: RestoreContext) -> Measurement:
    told = []

    def under_way() -> None:
        if ctx.on_under_way is not None and not told:
            told.append(True)
            ctx.on_under_way()

    try:
        with ExitStack() as slot:
            if ctx.slot is not None:
                slot.enter_context(ctx.slot())

            def release() -> None:
                # Early, from inside the teardown: a slot that fails to go back must not cost the teardown.
                try:
                    slot.close()
                except Exception as exc:
                    log.warning("giving back the restore slot of %s: %s", target.key, exc)

            return _perform(target, steps, ctx, release, under_way)
    finally:
        under_way()


def _perform(
    target: RestoreTarget,
    steps: list[ValidationStep],
    ctx: RestoreContext,
    release: Callable[[], None],
    under_way: Callable[[], None],
) -> Measurement:
    started = now()
    m = new_measurement(target, started, instance_class=target.instance_class)
    name = copy_name(ctx.run_id, target) + (f"-{ctx.attempt}" if ctx.attempt > 1 else "")
    isolation_policy = ctx.policy.restore.isolation.get(target.region)
    spec = RestoreSpec(
        kind=target.kind,
        mode=target.mode,
        source_id=target.source_id,
        source_region=target.source_region,
        region=target.region,
        copy_name=name,
        account=target.account,
        instance_class=target.instance_class,
        engine=target.engine,
        availability_zone=target.availability_zone,
        restore_time=ctx.restore_time,
        configuration=ctx.policy.restore.regions.get(target.region),
        poll_seconds=poll_interval(ctx),
        isolation=Isolation(isolation_policy.subnet_group, tuple(isolation_policy.security_group_ids))
        if isolation_policy
        else Isolation(),
        tags=tuple(
            ownership_tags(
                ctx.run_id, ctx.flow, expires_at(started, target, ctx.policy).isoformat(), target.resource, ctx.lock
            ).items()
        ),
    )
    driver = driver_for(target.kind)

    if target.kind in NEEDS_ISOLATION and ctx.policy.restore.require_isolation and isolation_policy is None:
        return _finish(
            ctx,
            target,
            m,
            "preflight_failed",
            f"no restore isolation (subnet group, security group) configured for {target.region} "
            "in the policy's restore.isolation",
        )
    try:
        point = driver.recovery_point(ctx.clients, spec)
    except NoRecoveryPoint as exc:
        return _finish(ctx, target, m, "no_recovery_point", str(exc))
    except (ClientError, BotoCoreError) as exc:
        if is_transient(exc):
            raise
        return _finish(ctx, target, m, "failed", f"finding a recovery point: {describe_error(exc)}")
    m.recovery_point = point.identifier
    m.recovery_point_time = point.time
    m.recovery_mechanism = point.mechanism
    m.rpo_seconds = driver.rpo_seconds(point, started, target.mode)

    # Named copies are torn down even if the create call failed after reaching AWS; ids that AWS assigns
    # (EBS volumes) come back only from a successful call.
    copy_id: str | None = name if driver.NAMED_COPY else None
    present = False
    try:
        try:
            # Drivers that carry the source's configuration (RDS, Aurora, EBS) read it first: the measurement
            # records it, also when it cannot be carried.
            configure = getattr(driver, "configure", None)
            config = configure(ctx.clients, spec, point) if configure is not None else None
            if config is not None:
                m.configuration = dict(config.applied)
            copy_id = driver.start(ctx.clients, spec, point, config)
            under_way()
        except NotCarried as exc:  # checked before any create call: nothing was made
            return _finish(ctx, target, m, "failed", f"configuration not carried: {exc}")
        except (ClientError, BotoCoreError) as exc:
            if is_transient(exc):
                raise
            return _finish(ctx, target, m, "failed", f"starting the restore: {describe_error(exc)}")
        m.copy_id = copy_id
        state = _wait_available(ctx, driver, spec, copy_id, point, started, target.rto_target_seconds)
        if state.status != "available":
            status = "timeout" if state.status == "creating" else "failed"
            detail = state.detail.get("status", state.status)
            writer = state.detail.get("writer")
            if writer and writer not in ("available", detail):
                detail = f"{detail} (writer {writer})"
            return _finish(ctx, target, m, status, f"copy {copy_id} is {detail}")
        present = True  # the poll that saw it available: the teardown need not look again before deleting
        m.validation = [run_step(step, spec, copy_id, state) for step in (steps or default_steps())]
        validated = now()
        release()  # validated: no longer a restore under way (before its evidence is written)
        m.rto_seconds = (validated - started).total_seconds()
        if not all(step["passed"] for step in m.validation):
            return _finish(ctx, target, m, "validation_failed", None)
        return _finish(ctx, target, m, "passed", None)
    finally:
        if copy_id is not None:
            m.cleanup, cleanup_error = _teardown(ctx, driver, spec, copy_id, on_requested=release, present=present)
            if m.cleanup == "left":
                m.error = "; ".join(filter(None, [m.error, f"cleanup of {copy_id}: {cleanup_error}"]))
            m.passed = judge(m)
            save_measurement(ctx, target, m)


_MISSING_READS = 3


def _wait_available(
    ctx: RestoreContext,
    driver: RestoreDriver,
    spec: RestoreSpec,
    copy_id: str,
    point,
    started: datetime,
    rto_target: float,
) -> CopyState:
    """Poll until the copy is available or failed, or the RTO deadline passes (then it is still `creating`).
    A driver with further steps (`advance`: an Aurora writer once its cluster is available) takes them
    between polls; a step AWS refuses fails the restore with the reason."""
    deadline = started.timestamp() + rto_target
    interval = poll_interval(ctx)
    paced = getattr(driver, "PACED_STATE", False)  # its `state` waits for the next paced read itself
    advance = getattr(driver, "advance", None)
    seen = False
    misses = 0
    while True:
        state = driver.state(ctx.clients, spec, copy_id, point)
        if state.status in ("available", "failed"):
            return state
        if state.status == "missing":
            # Gone after it existed: someone deleted it under us; fail now rather than wait out the RTO.
            # Before it was ever seen, allow a few reads for AWS's eventual consistency after the create call.
            misses += 1
            if seen or misses >= _MISSING_READS:
                return CopyState(
                    "failed",
                    copy_id,
                    None,
                    {"status": f"gone (deleted by someone else while restoring{'' if seen else '?'})"},
                )
        else:
            seen = True
        if advance is not None and state.status != "missing":
            try:
                advance(ctx.clients, spec, copy_id, state)
            except (ClientError, BotoCoreError) as exc:
                if is_transient(exc):
                    raise
                return CopyState("failed", detail={**state.detail, "status": describe_error(exc)})
        if time.time() + interval > deadline:
            return state  # still creating at the RTO deadline
        if not paced:
            time.sleep(interval)


def _teardown(
    ctx: RestoreContext,
    driver: RestoreDriver,
    spec: RestoreSpec,
    copy_id: str,
    on_requested: Callable[[], None] | None = None,
    present: bool = False,
) -> tuple[str, str | None]:
    """Delete, then confirm with a describe until it is gone (or the cleanup timeout passes).

    A delete AWS refuses for now (a table still CREATING, a cluster whose writer is still deleting) is asked
    again on each poll. A refusal that waiting cannot change (the ownership interlock, access denied) ends
    the teardown at once as `left`, with the reason. `on_requested` is called once AWS has accepted the
    delete (the restore's slot is given back while the copy is deleting). `present`: the caller's last
    describe saw the copy available and validated it, so the delete goes first (the interlock still reads
    its tags before it) and `on_requested` is called as the delete is asked for."""
    limit = time.monotonic() + ctx.policy.restore.cleanup_timeout.total_seconds()
    interval = poll_interval(ctx)
    paced = getattr(driver, "PACED_STATE", False)
    requested = False
    reason: str | None = None
    look = not present
    if present and on_requested is not None:
        on_requested()  # a validated copy is no longer a restore under way, whatever AWS answers the delete
        on_requested = None
    while True:
        try:
            if look and driver.state(ctx.clients, spec, copy_id).status == "missing":
                return "deleted", None  # never created (the create call failed), or gone
            look = True
            if not requested:
                requested = _delete(ctx, driver, spec, copy_id)
                if requested and on_requested is not None:
                    on_requested()
        except UnsafeOperation as exc:
            return "left", str(exc)
        except (ClientError, BotoCoreError) as exc:
            reason = describe_error(exc)
            if cannot_use_credentials(exc):
                return "left", reason
        if time.monotonic() + interval > limit:
            return "left", reason or "still there at the cleanup timeout"
        if not paced:  # a paced `state` waits for its read itself
            time.sleep(max(interval, 0.01))


def _delete(ctx: RestoreContext, driver: RestoreDriver, spec: RestoreSpec, copy_id: str) -> bool:
    """driver.delete; True once accepted. The interlock refuses a copy it cannot find as well as one not
    ours: a describe then tells them apart (a copy gone since the last look counts as accepted)."""
    try:
        return driver.delete(ctx.clients, spec, copy_id) is not False
    except UnsafeOperation:
        if driver.state(ctx.clients, spec, copy_id).status == "missing":
            return True
        raise


def poll_interval(ctx: RestoreContext) -> float:
    return ctx.poll_seconds if ctx.poll_seconds is not None else ctx.policy.restore.poll_interval.total_seconds()


def _finish(ctx: RestoreContext, target: RestoreTarget, m: Measurement, status: str, error: str | None) -> Measurement:
    m.status = status
    m.error = error
    m.finished_at = now()
    m.passed = judge(m)
    save_measurement(ctx, target, m)
    return m


def save_measurement(ctx: RestoreContext, target: RestoreTarget, m: Measurement) -> None:
    payload = {"target": target.key, "measurement": m.model_dump(mode="json")}
    ctx.store.write_bytes(measurement_path(ctx.run_dir, target), json.dumps(payload, indent=1).encode())


def load_measurements(store: EvidenceStore, run_dir: str) -> dict[tuple[str, str], Measurement]:
    """(service, target key) -> measurement, for resuming a run that crashed. Two services that document
    one resource share its target key, so the service is part of the key."""
    found = {}
    for relpath in store.list_prefix(f"{run_dir}/measurements"):
        raw = store.read_bytes(relpath)
        if raw:
            payload = json.loads(raw)
            measurement = Measurement.model_validate(payload["measurement"])
            if measurement.finished_at is not None and measurement.cleanup != "left":
                found[(measurement.service, payload["target"])] = measurement
    return found


def failed_measurement(target: RestoreTarget, error: BaseException) -> Measurement:
    at = now()
    return new_measurement(
        target,
        at,
        finished_at=at,
        status="failed",
        error=describe_error(error) if isinstance(error, (ClientError, BotoCoreError)) else str(error),
    )
