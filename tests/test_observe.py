"""Accuracy checks against moto: each resource kind read the way AWS returns it."""

from __future__ import annotations

from datetime import date

import boto3
import pytest

from tasks.aws.clients import AwsClients
from tasks.aws.observe import observe
from tasks.catalog.load import load_catalog
from tasks.rules.review import review_runbook
from tests.aws_faults import error_response
from tests.estate import build_estate, write_catalog


@pytest.fixture
def estate(aws, tmp_path):
    build_estate()
    return load_catalog(write_catalog(tmp_path / "runbooks"))


def observations(catalog, service, clients=None):
    clients = clients or AwsClients()
    return [observe(spec, i, clients) for i, spec in enumerate(catalog.runbooks[service].resources)]


def test_a_clean_service_matches_its_runbook(estate):
    obs = observations(estate, "ledger")
    assert [len(o.members) for o in obs] == [1, 1]
    db = obs[0].members[0].attrs
    assert (
        db["multi_az"] and db["encrypted"] and db["backup_retention_days"] == 35 and db["copy_regions"] == ["us-west-1"]
    )
    volume = obs[1].members[0].attrs
    assert volume["copy_regions"] == ["us-west-1"] and volume["snapshot_max_age"] < 600
    assert review_runbook(estate.runbooks["ledger"], estate.policy, obs, date.today()) == []


def test_fleets_are_selected_by_tags_across_regions(estate):
    fleet = observations(estate, "payments")[2]
    assert sorted(m.id for m in fleet.members) == [
        "shard-apse2-1",
        "shard-apse2-2",
        "shard-apse2-3",
        "shard-use2-1",
        "shard-use2-2",
        "shard-use2-3",
    ]
    assert {m.region for m in fleet.members} == {"us-east-2", "ap-southeast-2"}


def test_each_kind_reports_its_live_attributes(estate):
    aurora, table, _, bucket = observations(estate, "payments")
    assert aurora.members[0].attrs["multi_az"] and aurora.members[0].attrs["copy_regions"] == []
    assert table.members[0].attrs["pitr"] is True
    assert bucket.members[0].attrs == {
        "versioning": True,
        "versioning_status": "Enabled",
        "replication_to": [],
        "encrypted": True,
    }
    boto3.client("s3", region_name="us-east-2").put_bucket_replication(
        Bucket="payments-receipts",
        ReplicationConfiguration={
            "Role": "arn:aws:iam::123456789012:role/r",
            "Rules": [
                {
                    "ID": "dr",
                    "Status": "Enabled",
                    "Priority": 1,
                    "Filter": {},
                    "DeleteMarkerReplication": {"Status": "Disabled"},
                    "Destination": {"Bucket": "arn:aws:s3:::payments-receipts-dr"},
                }
            ],
        },
    )
    assert observations(estate, "payments")[3].members[0].attrs["replication_to"] == ["payments-receipts-dr"]


def test_missing_resources_have_no_members(estate):
    table, volume = observations(estate, "chat")
    assert table.members == [] and table.assessed
    assert volume.members[0].attrs["snapshot_max_age"] is None


def test_only_the_expected_attributes_are_fetched(estate):
    calls = []
    clients = AwsClients()
    client = clients.client("s3", "ap-southeast-2")
    client.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    observations(estate, "reports", clients)
    assert calls == ["GetBucketVersioning"]  # versioning only: no replication, encryption or lock reads


def test_access_denied_is_not_assessed_never_passing(estate):
    clients = AwsClients()
    denied = clients.client("dynamodb", "us-east-2")

    # Answer as AWS does for a role without dynamodb:DescribeTable; the request is never sent.
    denied.meta.events.register(
        "before-send.dynamodb.DescribeTable", lambda **_: error_response("dynamodb", "AccessDeniedException", 400)
    )
    table = observations(estate, "payments", clients)[1]
    assert table.members == [] and not table.assessed and "AccessDenied" in table.errors[0]
    findings = review_runbook(estate.runbooks["payments"], estate.policy, [table], date.today())
    assert [f.check for f in findings] == ["runbook.not_assessed"]


def test_accounts_are_read_through_the_policys_role(aws, tmp_path):
    from tasks.demo.builder import EstateBuilder

    role = "arn:aws:iam::222222222222:role/dr-automation"
    creds = boto3.client("sts").assume_role(RoleArn=role, RoleSessionName="setup")["Credentials"]
    other = boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    other.create_table(
        TableName="billing",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )
    EstateBuilder(in_process_mock=True)  # the default account has no such table
    from tasks.catalog.runbook import Resource

    spec = Resource.model_validate(
        {
            "kind": "dynamodb_table",
            "id": "billing",
            "region": "eu-west-1",
            "account": "222222222222",
            "expect": {"pitr": True},
        }
    )
    seen = observe(spec, 0, AwsClients(accounts={"222222222222": role}))
    assert [m.key for m in seen.members] == ["dynamodb_table:222222222222:eu-west-1:billing"]
    assert seen.members[0].attrs["pitr"] is False
    unmapped = observe(spec, 0, AwsClients())
    assert unmapped.members == [] and "no role in the policy's accounts map" in unmapped.errors[0]
    # Its tickets must not be resolved: the account's resource key is reported as unreadable.
    assert unmapped.unreadable() == {"dynamodb_table:222222222222:eu-west-1:billing"}


def test_only_transient_errors_are_retried():
    from botocore.exceptions import ClientError, EndpointConnectionError

    from tasks.aws.errors import is_access_denied, is_transient

    def error(code, status):
        return ClientError(
            {"Error": {"Code": code, "Message": ""}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
        )

    assert is_transient(error("Throttling", 400)) and is_transient(error("InternalFailure", 500))
    assert is_transient(EndpointConnectionError(endpoint_url="http://x"))
    assert not is_transient(error("AccessDenied", 403)) and is_access_denied(error("AccessDenied", 403))
    assert not is_transient(error("DBInstanceNotFound", 404))


def _tenant_fleet():
    """Two tenants in each of two regions, all but one copied to us-west-2; the fleet's spec."""
    from tasks.catalog.runbook import Resource
    from tasks.demo.builder import EstateBuilder

    builder = EstateBuilder(in_process_mock=True)
    for region, short in (("us-east-1", "use1"), ("eu-west-1", "euw1")):
        for index in (1, 2):
            name = f"tenant-{short}-{index}"
            builder.rds_instance(region, name, tags={"service": "tenants"})
            if name != "tenant-euw1-2":
                builder.copy_instance_snapshot(region, name, "us-west-2")
    return Resource.model_validate(
        {
            "kind": "rds_instance",
            "select": {"tags": {"service": "tenants"}},
            "regions": ["us-east-1", "eu-west-1"],
            "expect": {"copy_regions": ["us-west-2"]},
        }
    )


def test_a_fleets_copy_region_is_listed_once_for_all_its_regions(aws):
    spec = _tenant_fleet()
    clients = AwsClients()
    calls = []
    clients.client("rds", "us-west-2").meta.events.register(
        "before-parameter-build.rds.*",
        lambda model, params, **_: calls.append((model.name, params.get("SnapshotType"))),
    )
    seen = observe(spec, 0, clients)
    # One listing of the default snapshots and one of AWS Backup's (returned only when asked for by type).
    assert calls == [("DescribeDBSnapshots", None), ("DescribeDBSnapshots", "awsbackup")] and seen.assessed
    assert {m.id: m.attrs["copy_regions"] for m in seen.members} == {
        "tenant-use1-1": ["us-west-2"],
        "tenant-use1-2": ["us-west-2"],
        "tenant-euw1-1": ["us-west-2"],
        "tenant-euw1-2": [],
    }
    assert [m.region for m in seen.members] == ["us-east-1", "us-east-1", "eu-west-1", "eu-west-1"]  # catalog order


def test_an_unreadable_copy_region_leaves_every_source_region_not_assessed(aws):
    spec = _tenant_fleet()
    clients = AwsClients()

    clients.client("rds", "us-west-2").meta.events.register(
        "before-send.rds.DescribeDBSnapshots", lambda **_: error_response("rds", "AccessDenied", 403)
    )
    seen = observe(spec, 0, clients)
    assert seen.members == [] and len(seen.errors) == 2
    assert seen.errors[0].startswith("us-east-1: ") and seen.errors[1].startswith("eu-west-1: ")
    assert all("AccessDenied" in error for error in seen.errors)


def test_timestamps_parse_as_botocore_parses_them():
    from botocore.utils import parse_timestamp

    from tasks.aws.clients import fast_timestamp

    for value in (
        "2026-11-24T09:09:39.123Z",
        "2026-11-24T09:09:39Z",
        "2026-11-24T09:09:39.123456+02:00",
        "2026-11-24T09:09:39",
        "Tue, 24 Nov 2026 09:09:39 GMT",
        1700000000,
        "1700000000.5",
    ):
        fast, slow = fast_timestamp(value), parse_timestamp(value)
        assert fast == slow and (fast.tzinfo is None) == (slow.tzinfo is None) and fast.utcoffset() == slow.utcoffset()


def test_bucket_and_table_fleets_are_selected_by_tags_and_our_copies_are_found(aws):
    from tasks.aws.guard import ownership_tags
    from tasks.aws.owned import list_owned
    from tasks.catalog.runbook import Resource
    from tasks.demo.builder import EstateBuilder

    builder = EstateBuilder(in_process_mock=True)
    builder.bucket("us-east-1", "logs-a", tags={"fleet": "logs"})
    builder.bucket("us-east-1", "logs-b", versioning=False, tags={"fleet": "logs"})
    builder.bucket("us-east-1", "other", tags={"fleet": "other"})
    builder.table("us-east-1", "sessions-a", tags={"fleet": "sessions"})
    builder.table("us-east-1", "sessions-b", pitr=False, tags={"fleet": "sessions"})
    clients = AwsClients()
    buckets = observe(
        Resource.model_validate(
            {
                "kind": "s3_bucket",
                "select": {"tags": {"fleet": "logs"}},
                "region": "us-east-1",
                "expect": {"versioning": True},
            }
        ),
        0,
        clients,
    )
    assert {m.id: m.attrs["versioning"] for m in buckets.members} == {"logs-a": True, "logs-b": False}
    tables = observe(
        Resource.model_validate(
            {
                "kind": "dynamodb_table",
                "select": {"tags": {"fleet": "sessions"}},
                "region": "us-east-1",
                "expect": {"pitr": True},
            }
        ),
        0,
        clients,
    )
    assert {m.id: m.attrs["pitr"] for m in tables.members} == {"sessions-a": True, "sessions-b": False}

    ours = ownership_tags("run-1", "backup-restore-test", "2099-01-01T00:00:00+00:00", "src")
    builder.bucket("us-east-1", "drt-run1-bucket", versioning=False, tags=ours)
    builder.table("us-east-1", "drt-run1-table", pitr=False, tags=ours)
    builder.table("us-east-1", "drt-not-ours", pitr=False)
    found = {(c.kind, c.identifier, c.run_id) for c in list_owned(clients, "us-east-1")}
    assert found == {("s3_bucket", "drt-run1-bucket", "run-1"), ("dynamodb_table", "drt-run1-table", "run-1")}
