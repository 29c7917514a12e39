"""Assume-role credentials on the strict layer: refreshed by botocore before they expire, refreshed at once when
AWS answers ExpiredToken (revoked early), with the policy's ExternalId and duration; ExpiredToken is not a denial."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError
from moto.core.utils import utcnow

from tasks.aws.clients import AccountRole, AwsClients, account_role
from tasks.aws.errors import (
    cannot_use_credentials,
    is_access_denied,
    is_expired_credentials,
)
from tasks.catalog.policy import Policy

ROLE = "arn:aws:iam::222222222222:role/dr-automation"


def assumed_roles(strict_aws) -> list:
    from moto.sts.models import sts_backends

    return list(sts_backends["222222222222"]["aws"].assumed_roles) + list(
        sts_backends["123456789012"]["aws"].assumed_roles
    )


def test_revoked_credentials_are_refreshed_once_and_the_call_goes_through(aws, strict_aws):
    clients = AwsClients(accounts={"222222222222": AccountRole(ROLE, external_id="dr-ext-1", duration_seconds=3600)})
    rds = clients.client("rds", "us-east-1", "222222222222")
    assert rds.describe_db_instances()["DBInstances"] == []
    issued = strict_aws.expire_credentials()
    assert issued >= 1
    # AWS now answers ExpiredToken for the old session; the client assumes the role again and retries.
    assert rds.describe_db_instances()["DBInstances"] == []
    roles = assumed_roles(strict_aws)
    assert len(roles) == issued + 1
    assert {r.external_id for r in roles} == {"dr-ext-1"}
    newest = max(roles, key=lambda r: r.expiration)
    lifetime = (newest.expiration - utcnow()).total_seconds()
    assert 3500 < lifetime <= 3600  # the policy's duration, not STS's default


@pytest.mark.strict(seconds=0.5, credential_seconds=1.0)
def test_credentials_near_their_expiry_are_refreshed_before_the_call(aws, strict_aws):
    import time

    clients = AwsClients(accounts={"222222222222": ROLE})
    ddb = clients.client("dynamodb", "us-east-1", "222222222222")
    assert ddb.list_tables()["TableNames"] == []
    time.sleep(1.2)  # the first session has expired: botocore sees its Expiration and refreshes first
    assert ddb.list_tables()["TableNames"] == []
    assert len(assumed_roles(strict_aws)) >= 2


def test_policy_accounts_take_a_role_arn_or_role_external_id_and_duration():
    policy = Policy.model_validate(
        {
            "accounts": {
                "222222222222": ROLE,
                "333333333333": {
                    "role": "arn:aws:iam::333333333333:role/dr",
                    "external_id": "x-1",
                    "session_duration": "2h",
                },
            }
        }
    )
    assert account_role(policy.accounts["222222222222"]) == AccountRole(ROLE)
    assert account_role(policy.accounts["333333333333"]) == AccountRole(
        "arn:aws:iam::333333333333:role/dr", "x-1", 7200
    )
    with pytest.raises(ValueError, match="15m and 12h"):
        Policy.model_validate({"accounts": {"333333333333": {"role": "r", "session_duration": "13h"}}})


def test_expired_token_is_not_access_denied_but_cannot_be_used():
    def error(code):
        return ClientError(
            {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": 400}},
            "DescribeDBInstances",
        )

    assert is_expired_credentials(error("ExpiredToken")) and not is_access_denied(error("ExpiredToken"))
    assert cannot_use_credentials(error("ExpiredToken")) and cannot_use_credentials(error("AccessDenied"))
    assert not cannot_use_credentials(error("DBInstanceNotFound"))


def test_sessions_share_the_api_models_but_not_credentials(aws, strict_aws):
    first = AwsClients(accounts={"222222222222": ROLE})
    second = AwsClients()
    assumed = first.client("rds", "us-east-1", "222222222222")
    default = second.client("rds", "us-east-1")
    # One loader: the models are parsed once per process, not once per flow run.
    assert first._sessions["222222222222"]._session.get_component("data_loader") is second._sessions[
        None
    ]._session.get_component("data_loader")
    assert assumed.meta.service_model is not None and default.meta.service_model.service_name == "rds"
    assumed_key = assumed._request_signer._credentials.get_frozen_credentials().access_key
    default_key = default._request_signer._credentials.get_frozen_credentials().access_key
    assert assumed_key.startswith("ASIA") and assumed_key != default_key
    assert default.describe_db_instances()["DBInstances"] == []
