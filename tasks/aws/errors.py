"""Classify botocore failures: retry only what is transient, fail loudly on the rest."""

from __future__ import annotations

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from botocore.parsers import ResponseParserError

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "SlowDown",
        "RequestThrottled",
        "PriorRequestNotComplete",
        "BandwidthLimitExceeded",
        "EC2ThrottledException",
        "LimitExceededException",
    }
)
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthFailure",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "SignatureDoesNotMatch",
        "OptInRequired",
    }
)
# Temporary credentials past their time: refreshed (tasks/aws/clients.py), not a denial. One that outlives the
# refresh still means this account cannot be read now: `cannot_use_credentials` covers both.
EXPIRED_CODES = frozenset({"ExpiredToken", "ExpiredTokenException", "RequestExpired"})
# A garbled body (an HTML 5xx page from a proxy, say) fails parsing before botocore's retry logic sees it.
_NETWORK_ERRORS = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    ResponseParserError,
)


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return exc.response.get("Error", {}).get("Code", "")
    return ""


def is_transient(exc: BaseException) -> bool:
    """Throttling, 5xx and network timeouts: worth a retry. Everything else is a real answer."""
    if isinstance(exc, _NETWORK_ERRORS):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return error_code(exc) in THROTTLING_CODES or status >= 500
    return False


def is_access_denied(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in ACCESS_DENIED_CODES


def is_expired_credentials(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in EXPIRED_CODES


def cannot_use_credentials(exc: BaseException) -> bool:
    """Denied, or credentials expired even after a refresh: this account's work is not assessed."""
    return is_access_denied(exc) or is_expired_credentials(exc)


def is_not_found(exc: BaseException, *codes: str) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in codes


def describe_error(exc: BaseException) -> str:
    """One line for reports; never includes credentials (botocore messages do not carry them)."""
    if isinstance(exc, ClientError):
        op = getattr(exc, "operation_name", "call")
        return f"{op}: {error_code(exc)}: {exc.response.get('Error', {}).get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"
