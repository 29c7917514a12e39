"""Jira settings: the policy's `jira:` section merged with DR_JIRA_* environment variables.

Credentials are held as references (an environment variable name or a Prefect Secret block name) and
resolved only when the client is built, so a settings object can be logged or passed around safely.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from tasks.catalog.policy import JiraPolicy, Policy, check_jira_url
from tasks.errors import ConfigError


@dataclass(frozen=True)
class SecretRef:
    kind: str  # env | block
    name: str

    def resolve(self, environ: Mapping[str, str] | None = None) -> str | None:
        if self.kind == "block":
            from prefect.blocks.system import Secret

            try:
                value = Secret.load(self.name).get()
            except Exception as exc:
                raise ConfigError(f"cannot load Prefect Secret block {self.name!r}: {type(exc).__name__}") from None
            if value:
                from tasks.redaction import register_value

                register_value(str(value))  # a Secret block's value is masked wherever it would appear
            return str(value) if value else None
        if self.kind == "env":
            from tasks.redaction import register_env

            register_env(self.name)
        value = (os.environ if environ is None else environ).get(self.name)
        return value or None

    def __str__(self) -> str:
        return f"Prefect Secret block {self.name!r}" if self.kind == "block" else f"${self.name}"


@dataclass(frozen=True)
class Credentials:
    """Resolved credentials. repr() never shows the token."""

    user: str | None
    token: str = field(repr=False)


@dataclass(frozen=True)
class JiraSettings:
    url: str
    project: str
    token_ref: SecretRef
    user_ref: SecretRef
    issue_type: str = "Task"
    priorities: dict[str, str] = field(default_factory=lambda: dict(JiraPolicy().priorities))
    tier_priorities: dict[int, dict[str, str]] = field(default_factory=dict)
    label: str = "dr-automation"
    done_transition: str = "Done"
    done_resolution: str = "Done"
    reopen_transition: str = "Reopened"
    on_return: str = "reopen"
    link_type: str = "Relates"
    page_size: int = 100
    timeout: tuple[float, float] = (5.0, 30.0)
    retries: int = 4
    backoff_seconds: float = 1.0
    max_backoff_seconds: float = 30.0
    max_retry_after_seconds: float = 120.0
    ticket_sla: dict[int, timedelta] = field(default_factory=dict)

    def credentials(self, environ: Mapping[str, str] | None = None) -> Credentials:
        token = self.token_ref.resolve(environ)
        if not token:
            raise ConfigError(f"no Jira token: set {self.token_ref}")
        return Credentials(user=self.user_ref.resolve(environ), token=token)


def load_settings(policy: Policy | None = None, environ: Mapping[str, str] | None = None) -> JiraSettings:
    """Environment variables win over the policy file, so one policy serves several Jira instances."""
    env = os.environ if environ is None else environ
    jp = policy.jira if policy is not None else JiraPolicy()
    url = env.get(jp.url_env) or jp.url
    project = env.get(jp.project_env) or jp.project
    if not url:
        raise ConfigError(f"no Jira URL: set {jp.url_env} (or jira.url in the policy)")
    if not project:
        raise ConfigError(f"no Jira project: set {jp.project_env} (or jira.project in the policy)")
    try:
        url = check_jira_url(url)
    except ValueError as exc:
        raise ConfigError(f"{jp.url_env}: {exc}") from None
    token_ref = SecretRef("block", jp.token_block) if jp.token_block else SecretRef("env", jp.token_env)
    user_ref = SecretRef("block", jp.user_block) if jp.user_block else SecretRef("env", jp.user_env)
    if token_ref.kind == "env" and not env.get(token_ref.name):
        raise ConfigError(f"no Jira token: set {token_ref} (or jira.token_block in the policy)")
    tiers = policy.tiers if policy is not None else Policy().tiers
    return JiraSettings(
        url=url,
        project=project,
        token_ref=token_ref,
        user_ref=user_ref,
        issue_type=jp.issue_type,
        priorities=dict(jp.priorities),
        tier_priorities={t: dict(m) for t, m in jp.tier_priorities.items()},
        label=jp.label,
        done_transition=jp.done_transition,
        done_resolution=jp.done_resolution,
        reopen_transition=jp.reopen_transition,
        on_return=jp.on_return,
        link_type=jp.link_type,
        page_size=jp.page_size,
        timeout=(jp.connect_timeout_seconds, jp.read_timeout_seconds),
        retries=jp.retries,
        backoff_seconds=jp.backoff_seconds,
        max_backoff_seconds=jp.max_backoff_seconds,
        max_retry_after_seconds=jp.max_retry_after_seconds,
        ticket_sla={tier: tp.ticket_sla for tier, tp in tiers.items()},
    )
