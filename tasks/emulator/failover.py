"""Failovers as AWS performs them: zones and writers swap, promotions and switchovers take time, alarms fire.

moto answers RebootDBInstance(ForceFailover) without changing anything, swaps an Aurora writer at once,
promotes a read replica at once and has no SwitchoverGlobalCluster. A drill that only polls `available`
passes on moto whether or not anything failed over; these rules make a drill prove it.
"""

from __future__ import annotations

from moto.cloudwatch.models import cloudwatch_backends
from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.rds import models as rds
from moto.rds.models import rds_backends

from tasks.emulator.errors import StrictError

_SECONDARY = "_strict_secondary_az"


def _truthy(value) -> bool:
    return value is True or str(value).lower() == "true"


def _other_zone(zone: str) -> str:
    return zone[:-1] + ("b" if zone.endswith("a") else "a")


def install(strict) -> None:
    config, life, patch = strict.config, strict.lifecycle, strict.patcher

    # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBInstance.html: SecondaryAvailabilityZone
    # names the standby's zone of a Multi-AZ instance (absent for single-AZ).
    def secondary(self):
        if not self.multi_az:
            return None
        return self.__dict__.get(_SECONDARY) or _other_zone(self.availability_zone)

    def set_secondary(self, value):
        self.__dict__[_SECONDARY] = value

    patch.set(rds.DBInstance, "secondary_availability_zone", property(secondary, set_secondary))

    @strict.requests.on("rds", "RebootDBInstance")
    def reboot(response, proceed):
        identifier = response.params.get("DBInstanceIdentifier")
        database = response.backend.databases.get(identifier)
        force = _truthy(response.params.get("ForceFailover"))
        if database is not None:
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RebootDBInstance.html: "You can't
            # enable force failover if the instance isn't configured for Multi-AZ"; InvalidDBInstanceState when
            # the instance is not available.
            if database.status != "available":
                raise StrictError(
                    "InvalidDBInstanceState", f"DB instance {identifier} is {database.status}, not available."
                )
            if force and not database.multi_az:
                raise StrictError(
                    "InvalidParameterCombination",
                    f"Cannot force a failover of {identifier}: it is not configured for Multi-AZ.",
                )
        result = proceed()
        if database is not None:
            if force:  # the standby becomes the primary: the zones swap
                primary, standby = database.availability_zone, database.secondary_availability_zone
                database.availability_zone, database.secondary_availability_zone = standby, primary
            # Same page: "the DB instance status is set to rebooting" during the momentary outage.
            life.start(database, config.failover_seconds, "rebooting")
        return result

    def make_failover_cluster(original):
        def failover_db_cluster(self, db_cluster_identifier, target_db_instance_identifier=None):
            cluster = self.clusters.get(db_cluster_identifier)
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_FailoverDBCluster.html:
            # InvalidDBClusterStateFault when the cluster is not in a valid state (e.g. already failing over).
            if cluster is not None and cluster.status != "available":
                raise StrictError(
                    "InvalidDBClusterStateFault",
                    f"DB cluster {db_cluster_identifier} is {cluster.status}, not available.",
                )
            result = original(self, db_cluster_identifier, target_db_instance_identifier)
            # The cluster reports `failing-over` until the promoted replica is the writer and reachable.
            life.start(cluster, config.failover_seconds, "failing-over")
            return result

        return failover_db_cluster

    patch.wrap(rds.RDSBackend, "failover_db_cluster", make_failover_cluster)

    def make_promote(original):
        def promote_read_replica(self, db_kwargs):
            identifier = db_kwargs.get("db_instance_identifier")
            database = self.databases.get(identifier)
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_PromoteReadReplica.html: the
            # identifier "must match the identifier of an existing read replica DB instance"
            # (InvalidDBInstanceState otherwise, or while it is not available).
            if database is not None and (not database.is_replica or database.status != "available"):
                raise StrictError(
                    "InvalidDBInstanceState", f"DB instance {identifier} is not an available read replica."
                )
            result = original(self, db_kwargs)
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_DBInstance.html:
            # ReadReplicaSourceDBInstanceIdentifier is set only "if this DB instance is a read replica".
            if database is not None:
                database.source_db_instance_identifier = None
            # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Promote.html: "RDS reboots
            # the DB instance before making it available"; the promotion takes minutes.
            life.start(database, config.promote_seconds, "modifying")
            return result

        return promote_read_replica

    patch.wrap(rds.RDSBackend, "promote_read_replica", make_promote)

    def make_replica(original):
        def create_db_instance_read_replica(self, db_kwargs):
            replica = original(self, db_kwargs)
            # https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_ReadRepl.Monitoring.html: RDS publishes
            # ReplicaLag (seconds behind the source) to CloudWatch for each read replica.
            cloudwatch_backends[self.account_id][self.region_name].put_metric_data(
                "AWS/RDS",
                [
                    {
                        "MetricName": "ReplicaLag",
                        "Value": float(config.replica_lag_seconds),
                        "Unit": "Seconds",
                        "Timestamp": utcnow(),
                        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": replica.db_instance_identifier}],
                    }
                ],
            )
            return replica

        return create_db_instance_read_replica

    patch.wrap(rds.RDSBackend, "create_db_instance_read_replica", make_replica)

    # --- Aurora global databases ------------------------------------------------------------------
    def global_status(self):
        value = self.__dict__.get("_strict_status", "available")
        return (life.label(self) or "modifying") if value == "available" and life.busy(self) else value

    def set_global_status(self, value):
        self.__dict__["_strict_status"] = value

    patch.set(rds.GlobalCluster, "status", property(global_status, set_global_status))

    def make_create_global(original):
        def create_global_cluster(self, *args, **kwargs):
            found = original(self, *args, **kwargs)
            # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateGlobalCluster.html:
            # SourceDBClusterIdentifier is "the primary cluster of the global database" (moto leaves it a reader).
            for member in found.members[:1]:
                member.is_writer = True
            return found

        return create_global_cluster

    patch.wrap(rds.RDSBackend, "create_global_cluster", make_create_global)

    @strict.requests.on("rds", "SwitchoverGlobalCluster")
    def switchover(response, proceed):
        # moto has no SwitchoverGlobalCluster; this is the whole action.
        # https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_SwitchoverGlobalCluster.html: promotes
        # the secondary named by TargetDbClusterIdentifier (an ARN) and demotes the primary to a secondary;
        # GlobalClusterNotFoundFault, InvalidGlobalClusterStateFault, DBClusterNotFoundFault.
        identifier = (response.params.get("GlobalClusterIdentifier") or "").lower()
        target = response.params.get("TargetDbClusterIdentifier") or ""
        found = response.global_backend.global_clusters.get(identifier)
        if found is None:
            raise StrictError("GlobalClusterNotFoundFault", f"Global cluster {identifier} not found.")
        if found.status != "available":
            raise StrictError("InvalidGlobalClusterStateFault", f"Global cluster {identifier} is {found.status}.")
        members = {m.db_cluster_arn: m for m in found.members}
        chosen = members.get(target) or next((m for m in found.members if m.db_cluster_identifier == target), None)
        if chosen is None:
            raise StrictError("DBClusterNotFoundFault", f"{target} is not a member of global cluster {identifier}.")
        if chosen.is_writer:
            raise StrictError("InvalidGlobalClusterStateFault", f"{target} is already the primary of {identifier}.")
        for member in found.members:
            member.is_writer = member is chosen
        # Same page: "Your database is unavailable for a short time while the primary and selected secondary
        # clusters are assuming their new roles."
        life.start(found, config.switchover_seconds, "switching-over")
        return response.serialized(ActionResult({"GlobalCluster": found}))

    # --- CloudWatch alarms that a drill's own disruption sets off ---------------------------------
    def fire_alarm(
        alarm: str, region: str, after: tuple[str, str], seconds: float = 0.0, account: str | None = None
    ) -> None:
        """Set `alarm` to ALARM `seconds` after the next `after` (service, action) request, as a real
        alarm on error rates would fire once a failover hurts clients."""
        fired = {"armed": True}

        def hook(response, proceed):
            result = proceed()
            if fired["armed"]:
                fired["armed"] = False
                owner = account or response.current_account

                # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_SetAlarmState.html
                def go():
                    cloudwatch_backends[owner][region].set_alarm_state(
                        alarm, "Threshold Crossed: the drill hurt clients", "{}", "ALARM"
                    )

                life.later(seconds, go)
            return result

        strict.requests.hooks.setdefault(after, []).append(hook)

    strict.fire_alarm = fire_alarm


def global_clusters(account: str):
    """moto keeps every global cluster in us-east-1's backend (tests use this to seed)."""
    return rds_backends[account]["us-east-1"].global_clusters
