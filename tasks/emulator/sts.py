"""STS: assumed-role credentials that expire."""

from __future__ import annotations

import datetime

from moto.core.utils import utcnow
from moto.sts import models as sts_models


def install(strict) -> None:
    lifetime = strict.config.credential_seconds

    def make(original):
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            # https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html: the credentials
            # last DurationSeconds (default 3600); a configured lifetime stands in for it in tests.
            if lifetime is not None:
                self.expiration = utcnow() + datetime.timedelta(seconds=lifetime)

        return __init__

    strict.patcher.wrap(sts_models.AssumedRole, "__init__", make)


def assumed_role(account: str, access_key: str):
    """The AssumeRole session whose key signed a request (the key maps to the role's account)."""
    for partition in ("aws", "aws-cn", "aws-us-gov"):
        try:
            backend = sts_models.sts_backends[account][partition]
        except KeyError:
            continue
        role = backend.get_assumed_role_from_access_key(access_key)
        if role is not None:
            return role
    return None


def expire_all() -> int:
    """Make every assumed-role credential issued so far expired (a revoked or timed-out session)."""
    count = 0
    past = utcnow() - datetime.timedelta(seconds=1)
    for account in list(sts_models.sts_backends.keys()):
        for partition in ("aws",):
            backend = sts_models.sts_backends[account][partition]
            for role in backend.assumed_roles:
                role.expiration = past
                count += 1
    return count
