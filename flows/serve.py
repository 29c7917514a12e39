"""`dr serve`: every deployment in prefect.yaml served from one process, for teams without a work pool.

The deployments, schedules, parameters, tags and concurrency limits are read from prefect.yaml, so a
served deployment is the same one `prefect deploy --all` would register.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tasks.errors import ConfigError
from tasks.shipped import shipped

REPO_ROOT = Path(__file__).resolve().parent.parent


def load_project(path: Path | str | None = None) -> list[dict]:
    path = Path(path or shipped("prefect.yaml"))
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    deployments = (data or {}).get("deployments")
    if not isinstance(deployments, list) or not deployments:
        raise ConfigError(f"{path} defines no deployments")
    return deployments


def schedules_of(deployment: dict) -> list:
    from prefect.schedules import Cron, Interval, RRule

    out = []
    for spec in deployment.get("schedules") or []:
        common = {
            "timezone": spec.get("timezone"),
            "active": spec.get("active", True),
            "parameters": spec.get("parameters") or {},
            "slug": spec.get("slug"),
        }
        if "cron" in spec:
            out.append(Cron(spec["cron"], **common))
        elif "rrule" in spec:
            out.append(RRule(spec["rrule"], **common))
        elif "interval" in spec:
            out.append(Interval(spec["interval"], **common))
        else:
            raise ConfigError(f"deployment {deployment.get('name')}: a schedule needs cron, rrule or interval")
    return out


def runner_deployments(deployments: list[dict], only: list[str] | None = None, root: Path = REPO_ROOT) -> list:
    from prefect.flows import load_flow_from_entrypoint

    built = []
    for deployment in deployments:
        if only and deployment["name"] not in only:
            continue
        module, _, function = deployment["entrypoint"].partition(":")
        flow = load_flow_from_entrypoint(f"{root / module}:{function}")
        limit = deployment.get("concurrency_limit")
        built.append(
            flow.to_deployment(
                name=deployment["name"],
                description=deployment.get("description"),
                tags=deployment.get("tags"),
                parameters=deployment.get("parameters") or {},
                schedules=schedules_of(deployment),
                concurrency_limit=limit["limit"] if isinstance(limit, dict) else limit,
                enforce_parameter_schema=deployment.get("enforce_parameter_schema", True),
            )
        )
    if only:
        missing = sorted(set(only) - {d.name for d in built})
        if missing:
            raise ConfigError(f"no deployment named {', '.join(missing)} in prefect.yaml")
    return built


def serve(project: str | None = None, only: list[str] | None = None, limit: int | None = None) -> None:
    import os

    from prefect import serve as prefect_serve

    if not os.environ.get("PREFECT_API_URL"):
        raise ConfigError(
            "dr serve registers deployments on a Prefect server: set PREFECT_API_URL "
            "(e.g. http://127.0.0.1:4200/api after `prefect server start`)"
        )
    prefect_serve(*runner_deployments(load_project(project), only), limit=limit)
