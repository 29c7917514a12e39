"""Who the run is in AWS, checked before any work: each account a run needs is resolved once
(sts:GetCallerIdentity through the standard credential chain, or through the policy's role for that account).

GetCallerIdentity needs no IAM permission, so it fails only when there are no usable credentials (or the role
cannot be assumed): https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from tasks.aws.errors import describe_error, is_transient
from tasks.errors import AwsError, CredentialsError

# What botocore's default chain tries, in its order, for the one-line error when nothing worked.
CHAIN = (
    "environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)",
    "web identity (AWS_WEB_IDENTITY_TOKEN_FILE)",
    "SSO and the shared files ({profile} in {credentials}, {config})",
    "container role (ECS/EKS)",
    "instance role (IMDS)",
)


@dataclass(frozen=True)
class Identity:
    account: str | None  # the account the catalog names; None: whatever the default chain gives
    arn: str | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def what_was_tried() -> str:
    profile = f"profile {os.environ['AWS_PROFILE']!r}" if os.environ.get("AWS_PROFILE") else "the default profile"
    credentials = os.environ.get("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials")
    config = os.environ.get("AWS_CONFIG_FILE", "~/.aws/config")
    return ", ".join(step.format(profile=profile, credentials=credentials, config=config) for step in CHAIN)


def resolve(clients, accounts: Iterable[str | None], region: str | None = None) -> dict[str | None, Identity]:
    """Each account once; a failure is remembered by `clients`, so that account's resources become
    not assessed (with the reason) while the other accounts' work goes on."""
    region = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    out: dict[str | None, Identity] = {}
    for account in sorted(set(accounts), key=lambda a: a or ""):
        try:
            answer = clients.client("sts", region, account).get_caller_identity()
            out[account] = Identity(account, arn=answer.get("Arn"))
        except NoCredentialsError:
            out[account] = Identity(account, error=f"no credentials found (tried {what_was_tried()})")
        except (ClientError, BotoCoreError, AwsError) as exc:
            if is_transient(exc):
                raise  # an outage is not a missing credential: the run fails and is retried as a whole
            reason = str(exc) if isinstance(exc, AwsError) else describe_error(exc)
            out[account] = Identity(account, error=reason)
        if not out[account].ok:
            clients.refuse(account, out[account].error)
    return out


def require_some(identities: dict[str | None, Identity]) -> None:
    """No account usable at all: one `dr: error:` line, before any work."""
    if identities and not any(i.ok for i in identities.values()):
        reasons = "; ".join(
            f"{'account ' + a if a else 'default credentials'}: {i.error}" for a, i in identities.items()
        )
        raise CredentialsError(f"no usable AWS credentials: {reasons}")


def accounts_of(runbooks) -> set[str | None]:
    return {account for rb in runbooks for spec in rb.resources for account in spec.all_accounts()}
