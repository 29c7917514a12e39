"""An AWS error as the strict layer raises it; moto serializes it in each service's own protocol."""

from __future__ import annotations

from moto.core.exceptions import ServiceException


class StrictError(ServiceException):
    def __init__(self, code: str, message: str):
        super().__init__(code, message)
