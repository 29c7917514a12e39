"""Build AWS estates in moto: the demo's, and the tests' own. Refuses to run against real AWS.

These helpers create resources that look like a customer's (they are the *subject* of the review, not
copies the tool makes), so they must only ever run against an emulator on loopback.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

from tasks.aws.clients import new_session
from tasks.errors import ConfigError
from tasks.rules.ebs_copies import COPY_SOURCE_TAG

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
BUILD_WORKERS = 4  # calls in flight while building a fleet


def require_emulator() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    host = urlparse(endpoint).hostname if endpoint else None
    if host not in LOOPBACK:
        raise ConfigError(
            "estate builders only run against an AWS emulator on loopback (AWS_ENDPOINT_URL=http://127.0.0.1:PORT)"
        )
    return endpoint


class EstateBuilder:
    def __init__(self, in_process_mock: bool = False):
        # Tests running under moto's in-process mock_aws have no endpoint to check.
        if not in_process_mock:
            require_emulator()
        self._clients: dict = {}
        self._session = new_session()

    @staticmethod
    def settle() -> None:
        """An estate stands for one that has existed for long: on the strict AWS layer (tasks/emulator), finish
        every creation and copy now rather than leave it `creating`. Nothing on plain moto."""
        from tasks.emulator import settle

        settle()

    @property
    def regions(self) -> list[str]:
        """Every region the estate has made or read something in so far."""
        return sorted({region for _, region in self._clients})

    def client(self, service: str, region: str):
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = self._session.client(service, region_name=region)
        return self._clients[key]

    def rds_instance(
        self,
        region: str,
        identifier: str,
        *,
        multi_az: bool = True,
        encrypted: bool = True,
        retention: int = 30,
        tags: dict[str, str] | None = None,
        engine: str = "postgres",
        instance_class: str = "db.r6g.large",
        settle: bool = True,
        windows: tuple[str, str] | None = None,
    ) -> dict:
        """`settle=False`: the caller settles once after creating many (a fleet). `windows`: the backup and
        maintenance windows (tasks.emulator.timeline.windows_opened), which date the automated snapshots."""
        schedule = {"PreferredBackupWindow": windows[0], "PreferredMaintenanceWindow": windows[1]} if windows else {}
        created = self.client("rds", region).create_db_instance(
            DBInstanceIdentifier=identifier,
            Engine=engine,
            DBInstanceClass=instance_class,
            AllocatedStorage=100,
            MasterUsername="dbadmin",
            MasterUserPassword="not-a-secret-0",
            MultiAZ=multi_az,
            StorageEncrypted=encrypted,
            BackupRetentionPeriod=retention,
            CopyTagsToSnapshot=True,
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
            **schedule,
        )["DBInstance"]
        if settle:
            self.settle()
        return created

    def copy_instance_snapshot(self, source_region: str, identifier: str, target_region: str) -> str:
        return self.copy_instance_snapshots(source_region, [identifier], target_region)[0]

    def copy_instance_snapshots(self, source_region: str, identifiers: list[str], target_region: str) -> list[str]:
        """Copy each instance's newest snapshot to target_region, reading the source region's snapshots once
        (a fleet's worth of instances: one paged read instead of one per instance)."""
        source = self.client("rds", source_region)
        wanted = set(identifiers)

        def newest() -> dict[str, dict]:
            found: dict[str, dict] = {}
            for page in source.get_paginator("describe_db_snapshots").paginate():
                for snap in page["DBSnapshots"]:
                    db = snap.get("DBInstanceIdentifier")
                    if db in wanted and (
                        db not in found or snap["SnapshotCreateTime"] > found[db]["SnapshotCreateTime"]
                    ):
                        found[db] = snap
            return found

        snapshots = newest()
        missing = [i for i in identifiers if i not in snapshots]
        for identifier in missing:  # backups off (retention 0): no automated snapshot, as on AWS; copy a manual one
            source.create_db_snapshot(DBInstanceIdentifier=identifier, DBSnapshotIdentifier=f"{identifier}-manual")
        if missing:
            self.settle()
            snapshots = newest()
        target = self.client("rds", target_region)

        def copy(identifier: str) -> str:
            target_id = f"{identifier}-copy-{target_region}"
            target.copy_db_snapshot(
                SourceDBSnapshotIdentifier=snapshots[identifier]["DBSnapshotArn"],
                TargetDBSnapshotIdentifier=target_id,
                SourceRegion=source_region,
                KmsKeyId="alias/aws/rds",
                CopyTags=True,
            )
            return target_id

        targets = self.in_parallel(copy, identifiers)
        self.settle()
        return targets

    @staticmethod
    def in_parallel(call, items: list) -> list:
        """call(item) for each item, a few at a time, results in order (clients are thread-safe; make them
        first: sessions are not). On an emulator in another process, this process prepares and reads calls
        while the emulator answers others."""
        if len(items) < 2:
            return [call(item) for item in items]
        with ThreadPoolExecutor(max_workers=BUILD_WORKERS) as pool:
            return list(pool.map(call, items))

    def aurora_cluster(
        self,
        region: str,
        identifier: str,
        *,
        members: int = 2,
        encrypted: bool = True,
        retention: int = 30,
        tags: dict[str, str] | None = None,
    ) -> dict:
        rds = self.client("rds", region)
        cluster = rds.create_db_cluster(
            DBClusterIdentifier=identifier,
            Engine="aurora-postgresql",
            MasterUsername="dbadmin",
            MasterUserPassword="not-a-secret-0",
            StorageEncrypted=encrypted,
            BackupRetentionPeriod=retention,
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )["DBCluster"]
        self.settle()  # AWS adds instances only to an `available` cluster
        for index in range(members):
            rds.create_db_instance(
                DBInstanceIdentifier=f"{identifier}-{index + 1}",
                Engine="aurora-postgresql",
                DBInstanceClass="db.r6g.large",
                DBClusterIdentifier=identifier,
            )
        self.settle()
        return cluster

    def copy_cluster_snapshot(self, source_region: str, identifier: str, target_region: str) -> str:
        source = self.client("rds", source_region)
        snapshot = max(
            source.describe_db_cluster_snapshots(DBClusterIdentifier=identifier)["DBClusterSnapshots"],
            key=lambda s: s["SnapshotCreateTime"],
        )
        target_id = f"{identifier}-copy-{target_region}"
        self.client("rds", target_region).copy_db_cluster_snapshot(
            SourceDBClusterSnapshotIdentifier=snapshot["DBClusterSnapshotArn"],
            TargetDBClusterSnapshotIdentifier=target_id,
            SourceRegion=source_region,
            KmsKeyId="alias/aws/rds",
            CopyTags=True,
        )
        self.settle()
        return target_id

    def bucket(
        self,
        region: str,
        name: str,
        *,
        versioning: bool = True,
        replicate_to: str | None = None,
        encrypted: bool = True,
        tags: dict[str, str] | None = None,
    ) -> None:
        s3 = self.client("s3", region)
        kwargs = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=name, **kwargs)
        if versioning:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        if encrypted:
            s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]
                },
            )
        if replicate_to:
            s3.put_bucket_replication(
                Bucket=name,
                ReplicationConfiguration={
                    "Role": "arn:aws:iam::123456789012:role/s3-replication",
                    "Rules": [
                        {
                            "ID": "dr",
                            "Status": "Enabled",
                            "Priority": 1,
                            "Filter": {},
                            "DeleteMarkerReplication": {"Status": "Enabled"},
                            "Destination": {"Bucket": f"arn:aws:s3:::{replicate_to}"},
                        }
                    ],
                },
            )
        if tags:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in tags.items()]})

    def put_object(self, region: str, bucket: str, key: str, body: bytes) -> str:
        return self.client("s3", region).put_object(Bucket=bucket, Key=key, Body=body).get("VersionId", "")

    def table(self, region: str, name: str, *, pitr: bool = True, tags: dict[str, str] | None = None) -> None:
        ddb = self.client("dynamodb", region)
        ddb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )
        self.settle()
        if pitr:
            ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
            )

    def volume(
        self,
        region: str,
        name: str,
        *,
        encrypted: bool = True,
        snapshot: bool = True,
        copy_to: list[str] | None = None,
        size: int = 100,
        tags: dict[str, str] | None = None,
    ) -> str:
        ec2 = self.client("ec2", region)
        pairs = [{"Key": "Name", "Value": name}] + [{"Key": k, "Value": v} for k, v in (tags or {}).items()]
        volume_id = ec2.create_volume(
            AvailabilityZone=f"{region}a",
            Size=size,
            Encrypted=encrypted,
            TagSpecifications=[{"ResourceType": "volume", "Tags": pairs}],
        )["VolumeId"]
        self.settle()
        if snapshot:
            snap = ec2.create_snapshot(VolumeId=volume_id, Description=f"daily {name}")["SnapshotId"]
            self.settle()
            for target in copy_to or []:
                self.client("ec2", target).copy_snapshot(
                    SourceRegion=region,
                    SourceSnapshotId=snap,
                    Encrypted=encrypted,
                    Description=f"daily {name} (DR copy)",
                    TagSpecifications=[{"ResourceType": "snapshot", "Tags": [{"Key": COPY_SOURCE_TAG, "Value": snap}]}],
                )
            self.settle()
        return volume_id

    def restore_key(self, region: str, alias: str = "alias/dr-restore") -> str:
        """The KMS key encrypted copies restored in `region` are made with (the policy's restore.regions)."""
        kms = self.client("kms", region)
        try:  # made once per region and estate (a test may write its policy twice)
            return kms.describe_key(KeyId=alias)["KeyMetadata"]["Arn"]
        except kms.exceptions.NotFoundException:
            pass
        key = kms.create_key(Description="DR restore copies")["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
        return key["Arn"]

    def isolation(self, region: str, name: str = "dr-restore-isolated") -> dict:
        """A private VPC, a DB subnet group and a security group with no ingress: where copies live."""
        ec2 = self.client("ec2", region)
        vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.99.{i}.0/24", AvailabilityZone=f"{region}{zone}")["Subnet"][
                "SubnetId"
            ]
            for i, zone in enumerate("ab")
        ]
        self.client("rds", region).create_db_subnet_group(
            DBSubnetGroupName=name, DBSubnetGroupDescription="isolated restore copies", SubnetIds=subnets
        )
        group = ec2.create_security_group(GroupName=name, Description="no ingress", VpcId=vpc)["GroupId"]
        return {"subnet_group": name, "security_group_ids": [group]}
