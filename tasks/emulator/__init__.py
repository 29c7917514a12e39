"""A strict AWS layer over moto: moto plus the documented AWS behaviours moto skips.

moto answers at once and forgives what AWS refuses; code that passes on plain moto can fail or hang on a
real account. This layer patches moto's backend model classes in this process, so it applies under
in-process `mock_aws()` and inside `ThreadedMotoServer` alike (both serve from the same classes):

    with StrictAws(StrictConfig.fast(1.0)):
        ...                      # boto3 against mock_aws() or a ThreadedMotoServer in this process

Rules (each cites its AWS API reference page where it is implemented):
- rds.py: instances, clusters, snapshots are `creating` for a while, `deleting` before they go; an instance
  joins a cluster only when the cluster is `available`; DeleteDBInstance/DeleteDBCluster need
  SkipFinalSnapshot or FinalDBSnapshotIdentifier; a cluster is deleted only without members;
  LatestRestorableTime trails now; automated snapshots are daily, in the backup window, and absent with
  retention 0; point-in-time restores honour RestoreTime bounds; restores need an available snapshot;
  copies record their source ARN and Region.
- failover.py: RebootDBInstance(ForceFailover) swaps AvailabilityZone and SecondaryAvailabilityZone and
  shows `rebooting`; FailoverDBCluster shows `failing-over`; PromoteReadReplica `modifying`; read replicas
  report ReplicaLag; SwitchoverGlobalCluster swaps the global writer (`switching-over`); `fire_alarm`
  sets a CloudWatch alarm off after a given request, as a drill's own disruption would.
- fis.py: AWS FIS experiments run for a while, end `completed` or `failed` as planned per template
  (`fis_outcome`), stop when a stop-condition alarm is in ALARM, and show `stopping` before `stopped`.
- dynamodb.py: tables CREATING then ACTIVE, DELETING then gone; DeleteTable while CREATING is refused;
  PITR restores need PITR on and a time within the restorable range.
- ebs.py: volumes `creating`, snapshots and copies `pending`; copies carry vol-ffffffff and
  "[Copied snap-… from region]".
- sts.py + requests.py: assumed-role credentials expire (ExpiredToken); a configurable share of calls
  is throttled (`throttle(share)` or StrictConfig.throttle_share), S3's too (503 SlowDown); `throttle_next`
  refuses the next N requests of one action (deterministic, to exhaust a client's retries).
- aws_backup.py: recovery points made by AWS Backup as RDS (SnapshotType awsbackup, listed only when asked
  for), EC2 (description and aws:backup:source-resource tag, kept on copies) and DynamoDB (BackupType
  AWS_BACKUP, listed only when asked for) show them.
- backup_points.py: AWS Backup's own recovery points (advanced DynamoDB backups): StartBackupJob,
  StartCopyJob to another Region's vault, ListRecoveryPointsByBackupVault / ByResource, paged.
Extension point: a module with `install(strict)` added to RULES gets the same config, lifecycle, patcher
and request hooks.

Seeding: an estate built for a test stands for one that has existed for a long time; call `settle()` after
building it so nothing seeded is still in transition.
"""

from __future__ import annotations

import importlib
import threading
from typing import Self

from tasks.emulator.config import StrictConfig
from tasks.emulator.lifecycle import Lifecycle
from tasks.emulator.patching import Patcher

__all__ = ["StrictAws", "StrictConfig", "current", "settle"]

RULES = ["rds", "failover", "fis", "dynamodb", "ebs", "configuration", "sts", "aws_backup", "backup_points"]
# Not rules: installed with them, changes only how fast the emulator answers.
SPEED = ["speed"]

_current: StrictAws | None = None
_install_lock = threading.Lock()


class StrictAws:
    def __init__(self, config: StrictConfig | None = None):
        from tasks.emulator.requests import (
            RequestRules,  # moto is imported only when a layer is made
        )

        self.config = config or StrictConfig()
        self.lifecycle = Lifecycle()
        self.patcher = Patcher()
        self.requests = RequestRules(self)
        self.installed = False

    def install(self) -> Self:
        global _current
        with _install_lock:
            if _current is not None:
                raise RuntimeError("a strict AWS layer is already installed in this process")
            try:
                self.requests.install(self.patcher)
                for name in RULES + SPEED:
                    importlib.import_module(f"{__name__}.{name}").install(self)
            except BaseException:
                self.patcher.undo()
                raise
            self.installed = True
            _current = self
        return self

    def uninstall(self) -> None:
        global _current
        with _install_lock:
            if not self.installed:
                return
            self.patcher.undo()
            self.lifecycle.clear()
            self.installed = False
            if _current is self:
                _current = None

    def __enter__(self) -> Self:
        return self.install()

    def __exit__(self, *exc) -> None:
        self.uninstall()

    # --- what tests and seeding code may ask ------------------------------------------------------
    def settle(self) -> None:
        """Finish every transition and due deletion now (an estate seeded for a test is long-standing)."""
        self.lifecycle.settle()

    def expire_credentials(self) -> int:
        """Expire every assumed-role credential issued so far; returns how many."""
        from tasks.emulator.sts import expire_all

        return expire_all()

    def assumed_role(self, account: str, access_key: str):
        from tasks.emulator.sts import assumed_role

        return assumed_role(account, access_key)

    def aws_backup(self, kind: str, region: str, resource_id: str, **kwargs) -> dict[str, str]:
        """A recovery point made by AWS Backup, as the service's own API shows it (see aws_backup.record);
        call settle() after seeding."""
        from tasks.emulator.aws_backup import record

        return record(kind, region, resource_id, **kwargs)

    def throttle(self, share: float) -> None:
        """From now on refuse `share` of requests as throttled (0 stops it): a test seeds its estate first."""
        import dataclasses

        self.config = dataclasses.replace(self.config, throttle_share=share)

    def throttle_next(self, service: str, action: str, times: int, when=None) -> None:
        """Refuse the next `times` requests of `action` (e.g. "rds", "DescribeDBInstances") as throttled, only
        those whose parameters satisfy `when(param)` if given (`param(name)` reads one): unlike the random
        share of throttle(), this can exhaust a client's retries of one call exactly."""
        self.requests.throttle_next(service, action, times, when)

    @property
    def throttled(self) -> int:
        return self.requests.throttled


def current() -> StrictAws | None:
    return _current


def settle() -> None:
    """settle() on the installed layer, else on the emulator process this process started
    (tasks.emulator.server); nothing without either (plain moto or real AWS)."""
    if _current is not None:
        _current.settle()
        return
    from tasks.emulator.server import settle_remote

    settle_remote()
