"""AWS error responses in each service's own protocol, for fault injection through botocore hooks."""

from __future__ import annotations

import json

from botocore.awsrequest import AWSResponse


class _Body:
    def __init__(self, body: bytes):
        self._body = body

    def stream(self, **_):
        yield self._body

    def read(self, *_):
        body, self._body = self._body, b""
        return body


def error_response(service: str, code: str, status: int) -> AWSResponse:
    """What AWS sends for an error; returned from a before-send hook, the request is never sent."""
    if service == "dynamodb":
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code}).encode()
    elif service == "ec2":
        body = (
            f"<Response><Errors><Error><Code>{code}</Code><Message>{code}</Message></Error></Errors>"
            "<RequestID>r</RequestID></Response>"
        ).encode()
    elif service == "s3":
        body = f"<Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
    else:
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{code}</Message></Error>"
            "<RequestId>r</RequestId></ErrorResponse>"
        ).encode()
    return AWSResponse("https://aws", status, {"x-amzn-requestid": "r"}, _Body(body))
