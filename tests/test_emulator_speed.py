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


def _bodies(strict: bool, monkeypatch) -> list[list[bytes]]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    rounds = []
    with mock_aws():
        layer = StrictAws(StrictConfig.fast(0.0)).install() if strict else None
        try:
            ec2 = boto3.client("ec2", region_name="us-east-1")
            rds = boto3.client("rds", region_name="us-east-1")
            seen: list[bytes] = []
            for client in (ec2, rds):
                client.meta.events.register(
                    "before-parse.*.*", lambda response_dict=None, **_: seen.append(response_dict["body"])
                )
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
