"""tasks/emulator/speed.py changes how fast the emulator answers, never what: responses on the strict layer
(with moto's attribute lookups remembered) are byte for byte plain moto's, on first and repeated calls."""

from __future__ import annotations

import re

import boto3
from moto import mock_aws

from tasks.emulator import StrictAws, StrictConfig

# What differs between two runs of the same calls: generated ids and request ids, and times.
_VARYING = re.compile(
    rb"<requestId>.*?</requestId>|<RequestId>.*?</RequestId>|(vol|snap|subnet|vpc)-[0-9a-f]+"
    rb"|<startTime>.*?</startTime>|<createTime>.*?</createTime>"
)


def _record_bodies(clients, seen: list[bytes]) -> None:
    """Every response body the clients receive, appended to `seen` as botocore gets it."""
    for client in clients:
        client.meta.events.register(
            "before-parse.*.*", lambda response_dict=None, **_: seen.append(response_dict["body"])
        )


def _create_db(rds, **extra) -> None:
    rds.create_db_instance(
        DBInstanceIdentifier="db1",
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="u",
        MasterUserPassword="password-password",
        BackupRetentionPeriod=7,
        **extra,
    )


def _bodies(strict: bool, monkeypatch) -> list[list[bytes]]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    rounds = []
    with mock_aws():
        layer = StrictAws(StrictConfig.fast(0.0)).install() if strict else None
        try:
            ec2 = boto3.client("ec2", region_name="us-east-1")
            rds = boto3.client("rds", region_name="us-east-1")
            seen: list[bytes] = []
            _record_bodies((ec2, rds), seen)
            volume = ec2.create_volume(
                AvailabilityZone="us-east-1a",
                Size=10,
                TagSpecifications=[{"ResourceType": "volume", "Tags": [{"Key": "service", "Value": "s"}]}],
            )["VolumeId"]
            ec2.create_snapshot(VolumeId=volume)
            vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
            subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
            rds.create_db_subnet_group(
                DBSubnetGroupName="g", DBSubnetGroupDescription="d", SubnetIds=[subnet["Subnet"]["SubnetId"]]
            )
            for _ in range(2):
                seen.clear()
                ec2.describe_volumes()
                ec2.describe_snapshots(OwnerIds=["self"])
                rds.describe_db_subnet_groups()
                rounds.append([_VARYING.sub(b"", body) for body in seen])
        finally:
            if layer is not None:
                layer.uninstall()
    return rounds


def test_remembered_attribute_lookups_answer_as_moto_does(monkeypatch):
    plain = _bodies(False, monkeypatch)
    strict = _bodies(True, monkeypatch)
    assert len(strict[0]) == 3 and all(strict[0])
    assert strict[0] == plain[0]  # first serialisation: the lookups computed
    assert strict[1] == plain[1] == strict[0]  # again: the lookups remembered


def test_responses_written_directly_are_byte_for_byte_xmltodicts(monkeypatch):
    """Every XML body moto writes on the strict layer, written both ways: RDS, EC2 and STS answers,
    errors, tag values that need escaping, empty and repeated elements."""
    import xmltodict
    from moto.core import serialize

    from tasks.emulator import speed

    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    compared: list[str] = []
    plain: list[bool] = []
    original = xmltodict.unparse
    with mock_aws():
        layer = StrictAws(StrictConfig.fast(0.0)).install()
        direct = serialize.xmltodict.unparse
        assert direct is not original

        def both(body, *args, **kwargs):
            written = direct(body, *args, **kwargs)
            assert written == original(body, *args, **kwargs)
            compared.append(written)
            if kwargs.get("full_document") is False:  # moto's query protocol (RDS, STS): written directly
                plain.append(speed.write_plain(body) == written)
            return written

        monkeypatch.setattr(serialize.xmltodict, "unparse", both)
        try:
            rds = boto3.client("rds", region_name="us-east-1")
            ec2 = boto3.client("ec2", region_name="us-east-1")
            awkward = [{"Key": "note", "Value": "a<b & c>d \"quoted\" 'single'"}, {"Key": "empty", "Value": ""}]
            _create_db(rds, Tags=awkward)
            rds.describe_db_instances()
            rds.describe_db_snapshots()
            try:
                rds.describe_db_instances(DBInstanceIdentifier="missing")
            except rds.exceptions.DBInstanceNotFoundFault:
                pass
            volume = ec2.create_volume(
                AvailabilityZone="us-east-1a", Size=10, TagSpecifications=[{"ResourceType": "volume", "Tags": awkward}]
            )["VolumeId"]
            ec2.describe_volumes(VolumeIds=[volume])
            ec2.describe_volumes(Filters=[{"Name": "tag:none", "Values": ["x"]}])  # an empty list
            boto3.client("sts", region_name="us-east-1").get_caller_identity()
        finally:
            layer.uninstall()
    assert len(compared) >= 8
    assert len(plain) >= 5 and all(plain)
    assert any("a&lt;b &amp; c&gt;d" in body for body in compared)  # escaped as xmltodict escapes


def test_attributes_picked_without_a_context_are_the_ones_moto_picks(monkeypatch):
    """speed._picked (the serializer's attribute lookup, remembered) against moto's own get_value, on the
    same estate: DB instances, snapshots, volumes, caller identity and an error, each body alike."""
    from moto.core import serialize

    own_lookup = serialize.ResponseSerializer.get_value
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        layer = StrictAws(StrictConfig.fast(0.0)).install()
        assert serialize.ResponseSerializer.get_value is not own_lookup
        try:
            rds = boto3.client("rds", region_name="us-east-1")
            ec2 = boto3.client("ec2", region_name="us-east-1")
            sts = boto3.client("sts", region_name="us-east-1")
            seen: list[bytes] = []
            _record_bodies((ec2, rds, sts), seen)
            _create_db(rds, StorageEncrypted=True, Tags=[{"Key": "service", "Value": "s"}])
            rds.create_db_snapshot(DBInstanceIdentifier="db1", DBSnapshotIdentifier="snap1")
            ec2.create_volume(AvailabilityZone="us-east-1a", Size=10)

            def answers() -> list[bytes]:
                seen.clear()
                rds.describe_db_instances()
                rds.describe_db_snapshots()
                ec2.describe_volumes()
                sts.get_caller_identity()
                try:
                    rds.describe_db_instances(DBInstanceIdentifier="missing")
                except rds.exceptions.DBInstanceNotFoundFault:
                    pass
                return [_VARYING.sub(b"", re.sub(rb"<LatestRestorableTime>.*?<", b"<", body)) for body in seen]

            picked = answers()
            monkeypatch.setattr(serialize.ResponseSerializer, "get_value", own_lookup)
            assert answers() == picked
        finally:
            monkeypatch.undo()
            layer.uninstall()
    assert len(picked) == 5 and b"<DBInstanceIdentifier>db1<" in picked[0] and b"snap1" in picked[1]
