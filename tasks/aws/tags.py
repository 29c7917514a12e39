"""AWS returns tags as [{"Key": ..., "Value": ...}]; everything here compares them as a dict."""

from __future__ import annotations


def tag_dict(pairs: list[dict] | None) -> dict[str, str]:
    return {pair["Key"]: pair["Value"] for pair in pairs or []}
