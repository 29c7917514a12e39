"""The `dr` command line. Exit 0: the run completed (gaps are results); 2: bad input; 1: the run failed.

Prefect is imported only by commands that run a flow: `dr validate`, `--help`, `--version` and every
`--dry-run` neither start nor contact a Prefect server.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path

from tasks.errors import EvidenceUnusable

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
ALL_TIERS = [0, 1, 2, 3]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    def of(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return f"dr {of('dr-runbooks')} (prefect {of('prefect')}, boto3 {of('boto3')}, python {sys.version.split()[0]})"


def _verbose_option(parser: argparse.ArgumentParser, top: bool = False) -> None:
    # Accepted before or after the command; SUPPRESS keeps a subcommand from resetting the top-level flag.
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="also show Prefect's logs on the console",
    )


def _catalog_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runbooks", default="runbooks", metavar="DIR", help="runbook directory (default: runbooks)")
    parser.add_argument("--policy", metavar="FILE", help="tier policy file (default: <runbooks>/policy.yaml)")


def _utc(text: str):
    from datetime import datetime, timezone

    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an ISO timestamp like 2026-11-20T06:00:00Z, got {text!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _count(text: str) -> int:
    """A whole number from 1 to 10,000 (checked here so a bad value stops before any run record)."""
    if not text.strip().isdigit() or len(text.strip()) > 5 or not 1 <= int(text) <= 10_000:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 10000, got {text[:40]!r}")
    return int(text)


def _seconds(text: str) -> float:
    import math

    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not math.isfinite(value) or not 0 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 86400, got {text[:40]!r}")
    return value


def _sample(text: str) -> str:
    from tasks.rules.restore_plan import parse_sample

    try:
        parse_sample(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)[:120]) from None
    return text


def _quarter(text: str) -> str:
    from datetime import datetime, timezone

    from tasks.rules.quarters import Quarter

    try:
        return Quarter.begun(text, datetime.now(timezone.utc)).id
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_scope_options(
    parser: argparse.ArgumentParser,
    tiers_help: str = "the policy's review_tiers, 0 and 1 as shipped",
    tier_help: str = "tier to include",
    services: bool = True,
) -> None:
    """--tier and --service: which services a command covers."""
    parser.add_argument(
        "--tier",
        type=int,
        action="append",
        choices=range(4),
        metavar="N",
        dest="tiers",
        help=f"{tier_help} (repeatable; default: {tiers_help})",
    )
    if services:
        parser.add_argument(
            "--service",
            action="append",
            metavar="ID",
            dest="services",
            help="service id to include (repeatable; default: all in the tiers)",
        )


def _evidence_option(
    parser: argparse.ArgumentParser, metavar: str = "DIR", help: str = "evidence directory (default: evidence)"
) -> None:
    parser.add_argument("--evidence", default="evidence", metavar=metavar, help=help)


def _tracker_option(
    parser: argparse.ArgumentParser, help: str = "ticket tracker: ledger (default) or jira", default: str = "ledger"
) -> None:
    parser.add_argument("--tracker", default=default, help=help)


def _run_options(
    parser: argparse.ArgumentParser,
    concurrency: int = 8,
    tiers_help: str = "the policy's review_tiers, 0 and 1 as shipped",
    plan_reads_aws: bool = False,
) -> None:
    add_scope_options(parser, tiers_help)
    _evidence_option(parser)
    _tracker_option(parser, "ticket tracker: ledger (a local file, default) or jira")
    parser.add_argument(
        "--concurrency",
        type=_count,
        default=concurrency,
        metavar="N",
        help=f"work items at once (default: {concurrency})",
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help=("read AWS (credentials needed), " if plan_reads_aws else "from the catalog alone (no AWS), ")
        + "show the plan and stop (no Prefect server, no evidence, no tickets)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dr",
        description="Disaster-recovery runbook automation on Prefect.",
        epilog="Flow commands use PREFECT_API_URL when it is set (see `dr server`), else a temporary Prefect server "
        "for the one command. Exit codes: 0 the run completed (gaps are results), 2 bad input or no AWS "
        "credentials, 1 the run failed.",
    )
    parser.add_argument("--version", action="version", version=_version())
    _verbose_option(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check the runbooks, policy and scenarios; list every error")
    _catalog_options(validate)

    review = commands.add_parser("review", help="quarterly documentation review: complete, current, accurate")
    _catalog_options(review)
    _run_options(review)

    audit = commands.add_parser("audit", help="daily backup posture audit against the tier policy (read-only)")
    _catalog_options(audit)
    _run_options(audit, tiers_help="all tiers")

    restore = commands.add_parser("restore-test", help="restore backups into isolated copies; measure RTO and RPO")
    _catalog_options(restore)
    _run_options(restore, concurrency=4, plan_reads_aws=True)
    restore.add_argument(
        "--sample",
        metavar="N|P%",
        type=_sample,
        help="per fleet: a count or a percentage (default: every member); for the policy's review "
        "tiers it is raised so every member is tested within rotation_quarters",
    )
    restore.add_argument("--restore-time", metavar="ISO", type=_utc, help="also restore to this point in time (UTC)")
    restore.add_argument("--wait", type=_seconds, default=0, metavar="SECONDS", help="wait for a running restore test")
    restore.add_argument("--poll-seconds", type=_seconds, metavar="S", help="status poll interval (default: policy)")

    sweep = commands.add_parser("sweep", help="delete this tool's expired or orphaned copies")
    _catalog_options(sweep)
    sweep.add_argument("--region", action="append", dest="regions", metavar="REGION", help="region (repeatable)")
    _evidence_option(sweep)
    sweep.add_argument("--dry-run", action="store_true", help="list what would be deleted (reads only, no Prefect)")

    simulate = commands.add_parser("simulate", help="annual DR simulation: tabletop exercise, impact, opt-in drills")
    _catalog_options(simulate)
    simulate.add_argument("--scenario", required=True, metavar="ID", help="scenario id from runbooks/scenarios/")
    answers = simulate.add_mutually_exclusive_group()
    answers.add_argument("--answers", metavar="FILE", help="answers per inject id (YAML)")
    answers.add_argument("--non-interactive", action="store_true", help="record no answers")
    simulate.add_argument("--drill", choices=["az-failover", "region-failover"], help="technical drill (opt-in)")
    simulate.add_argument("--allow-disruptive", action="store_true", help="second opt-in for drills")
    simulate.add_argument(
        "--zone",
        help="zone an az-loss strikes (default: one zone, where the most critical services have zonal resources)",
    )
    simulate.add_argument(
        "--region",
        help="region the scenario strikes (default: the scenario's regions, else the one hosting the most critical services)",
    )
    add_scope_options(simulate, "all tiers")
    _evidence_option(simulate)
    _tracker_option(simulate)
    simulate.add_argument(
        "--poll-interval", type=_count, default=10, metavar="S", help="seconds between checks for answers"
    )

    tracker = commands.add_parser("tracker", help="ticket tracker maintenance")
    actions = tracker.add_subparsers(dest="action", required=True, metavar="ACTION")
    flush = actions.add_parser("flush", help="replay tracker work left in the outbox while Jira was unreachable")
    _evidence_option(flush)
    _tracker_option(flush, "tracker whose outbox to replay (default: jira)", default="jira")
    flush.add_argument(
        "--policy", metavar="FILE", help="policy with the jira: settings (default: runbooks/policy.yaml if present)"
    )

    serve = commands.add_parser("serve", help="serve every deployment in prefect.yaml from this process")
    serve.add_argument("--project", metavar="FILE", help="prefect.yaml to read (default: the project's)")
    serve.add_argument("--deployment", action="append", dest="only", metavar="NAME", help="serve only these")
    serve.add_argument("--limit", type=_count, metavar="N", help="at most N flow runs at once")

    server = commands.add_parser(
        "server",
        help="a long-lived local Prefect server (UI and API) for later commands",
        description="Run Prefect's server in the foreground (its database in PREFECT_HOME). "
        "In other shells, `export PREFECT_API_URL=http://HOST:PORT/api` (printed "
        "at start) and every dr command runs its flows there, with no start-up "
        "wait, and the runs stay visible in the UI.",
    )
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    server.add_argument("--port", type=int, default=4200, help="port (default: 4200)")

    dashboard = commands.add_parser("dashboard", help="build the DR dashboard and the quarterly pack (static HTML)")
    _catalog_options(dashboard)
    _evidence_option(dashboard, "DIR|s3://...", "evidence to read (default: evidence)")
    dashboard.add_argument(
        "--out", metavar="DIR|s3://...", help="where to write the site (default: <evidence>/dashboard)"
    )
    _tracker_option(dashboard, "where tickets are read from: ledger (default) or jira")
    dashboard.add_argument(
        "--quarter",
        type=_quarter,
        metavar="YYYYQn",
        help="quarter of the steering committee pack (default: the current one)",
    )
    add_scope_options(dashboard, "all", tier_help="only this tier", services=False)

    demo = commands.add_parser("demo", help="run everything against a moto-backed demo estate")
    demo.add_argument("--out", default="out/demo", metavar="DIR", help="where the demo writes (default: out/demo)")
    demo.add_argument("--evidence", metavar="DIR", help="evidence directory (default: <out>/evidence)")
    for sub in [*commands.choices.values(), flush]:
        _verbose_option(sub)
    return parser


def cmd_validate(args) -> int:
    from tasks.catalog.load import load_catalog
    from tasks.catalog.scenarios import load_scenarios
    from tasks.errors import CatalogError

    # Every problem of every file in one pass: the policy's and a missing directory's too (they raise).
    runbooks = 0
    try:
        catalog = load_catalog(args.runbooks, args.policy)
        problems, runbooks = list(catalog.problems), len(catalog.runbooks)
    except CatalogError as exc:
        problems = list(exc.problems)
    scenarios = 0
    try:
        scenarios = len(load_scenarios(args.runbooks))
    except CatalogError as exc:
        problems = sorted(set(problems + exc.problems), key=lambda p: (p.file, p.line or 0, p.field))
    for problem in problems:
        print(problem)
    if problems:
        files = len({p.file for p in problems})
        print(f"dr: error: {len(problems)} error(s) in {files} file(s); {runbooks} runbook(s) valid", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"ok: {runbooks} runbook(s), the policy and {scenarios} scenario(s) valid")
    return EXIT_OK


def preflight(args, tiers_default: list[int] | None = None):
    """Refuse bad input in a second, before Prefect or AWS are touched (the flow checks again)."""
    from tasks.catalog.load import load_catalog, select_services
    from tasks.evidence.store import open_store
    from tasks.tracker.factory import check_state, check_tracker

    catalog = load_catalog(args.runbooks, args.policy)
    select_services(catalog, args.tiers or tiers_default or catalog.policy.review_tiers, args.services)
    check_tracker(args.tracker, args.evidence)
    if not args.dry_run:
        check_state(args.tracker, args.evidence)
        open_store(args.evidence).check_writable()
        if args.tracker == "jira":
            from tasks.tracker.jira_config import load_settings

            load_settings(catalog.policy)  # URL, project and a token reference, before any AWS call
    return catalog


_FLOWS_STARTED: list[str] = []


@contextmanager
def flow_runs(args, title: str, background: bool = False):
    """Around every flow a command runs: the console (phases, progress) and one Prefect API for all of them.
    Yields (console, ready); without `background` the API is ready already."""
    from flows import _console
    from flows._runtime import prefect_api

    console = _console.Console()
    _FLOWS_STARTED.append(title)  # an error after this point may have come from a flow run: see main()
    with ExitStack() as stack:
        stack.enter_context(_console.use(console))
        console.phase(
            f"{title}: starting Prefect"
            + ("" if _has_api_url() else " (a temporary server; `dr server` keeps one running)")
        )
        ready = stack.enter_context(prefect_api(say=console.phase, background=background))
        yield console, ready


def _has_api_url() -> bool:
    import os

    return bool(os.environ.get("PREFECT_API_URL"))


def cmd_review(args) -> int:
    catalog = preflight(args)
    if args.dry_run:
        from flows.plans import review_plan

        plan = review_plan(catalog, args.tiers, args.services)
        print(f"dry run: would review {len(plan['services'])} service(s) in tiers {plan['tiers']}")
        for service, labels in plan["services"].items():
            print(f"  {service}: {', '.join(labels) or 'no resources'}")
        for service, problems in plan["invalid"].items():
            print(f"  {service}: invalid runbook ({len(problems)} problem(s)) -> runbook.invalid")
        return EXIT_OK
    with flow_runs(args, "review"):
        from flows.documentation_review import documentation_review

        result = documentation_review(**_scope(args))
    _print_review(result)
    return EXIT_OK


def _scope(args) -> dict:
    """The flow parameters every service-scoped command passes through as given."""
    return {
        "tiers": args.tiers,
        "services": args.services,
        "runbooks": args.runbooks,
        "policy": args.policy,
        "evidence": args.evidence,
        "tracker": args.tracker,
        "concurrency": args.concurrency,
    }


def _print_review(result: dict) -> None:
    print(f"review: {result['services']} service(s), {result['with_gaps']} with gaps, {_findings(result)}")
    _print_run(result)


def _findings(result: dict) -> str:
    """'11 finding(s): 2 critical, 5 high, 4 medium' (the flows report counts by severity)."""
    text = f"{result['findings']} finding(s)"
    by_severity = result.get("by_severity") or {}
    if by_severity:
        from tasks.evidence.findings import SEVERITIES

        text += ": " + ", ".join(f"{by_severity[s]} {s}" for s in reversed(SEVERITIES) if by_severity.get(s))
    return text


def cmd_audit(args) -> int:
    catalog = preflight(args, tiers_default=ALL_TIERS)
    if args.dry_run:
        from flows.plans import audit_plan

        plan = audit_plan(catalog, args.tiers, args.services)
        print(f"dry run: would audit {len(plan['services'])} service(s) in tiers {plan['tiers']} (reads only)")
        for service, labels in plan["services"].items():
            print(f"  {service}: {', '.join(labels) or 'no resources'}")
        return EXIT_OK
    with flow_runs(args, "audit"):
        from flows.backup_posture_audit import backup_posture_audit

        result = backup_posture_audit(**_scope(args))
    _print_audit(result)
    return EXIT_OK


def _print_audit(result: dict) -> None:
    print(
        f"audit: {result['resources']} resource(s) in {result['services']} service(s), {_findings(result)}"
        + (f"; {result['not_assessed']} resource entr(ies) not assessed" if result.get("not_assessed") else "")
    )
    _print_run(result)


def cmd_restore_test(args) -> int:
    catalog = preflight(args)
    if args.dry_run:
        from flows.plans import restore_plan
        from tasks.catalog.durations import format_duration

        plan = restore_plan(catalog, args.tiers, args.services, args.sample, args.restore_time, args.evidence)
        for note in plan["notes"]:
            print(f"note: {note}")
        print(
            f"dry run: would make {len(plan['restores'])} restore(s); each copy is validated, deleted and "
            "the deletion confirmed"
        )
        for r in plan["restores"]:
            print(
                f"  restore {r['resource']} ({r['mode']}) -> copy in {r['region']}, class {r['instance_class'] or 'n/a'},"
                f" deadline {format_duration(r['rto_target_seconds'])}, then delete"
            )
        return EXIT_OK
    with flow_runs(args, "restore test"):
        from flows.backup_restore_test import backup_restore_test

        result = backup_restore_test(
            **_scope(args),
            sample=args.sample,
            restore_time=args.restore_time,
            wait=args.wait,
            poll_seconds=args.poll_seconds,
        )
    _print_restore(result)
    return EXIT_OK


def _print_restore(result: dict) -> None:
    for note in result.get("notes", []):
        print(f"note: {note}")
    print(
        f"restore test: {result['restores']} restore(s), {result['passed']} met their targets, "
        f"{_findings(result)}, {result['swept']} orphaned copies removed"
    )
    _print_run(result)


def cmd_sweep(args) -> int:
    if args.dry_run:
        from flows.plans import sweep_plan

        result = sweep_plan(args.regions, args.runbooks, args.policy, args.evidence)
    else:
        with flow_runs(args, "sweep"):
            from flows.orphan_sweep import orphan_sweep

            result = orphan_sweep(
                regions=args.regions, runbooks=args.runbooks, policy=args.policy, evidence=args.evidence
            )
    verb = "would delete" if args.dry_run else "deleted"
    for copy in result["copies"]:
        state = verb if args.dry_run or copy.get("deleted") else f"FAILED ({copy.get('error')})"
        print(f"{state}: {copy['kind']} {copy['id']} in {copy['region']} (run {copy['run_id'] or '?'})")
    print(f"sweep: {len(result['copies'])} copies in {len(result['regions'])} region(s)")
    return EXIT_FAILED if any(c.get("deleted") is False for c in result["copies"]) else EXIT_OK


def cmd_dashboard(args) -> int:
    from tasks.catalog.load import load_catalog
    from tasks.evidence.store import open_store

    # Bad input fails here in a second, before Prefect starts.
    load_catalog(args.runbooks, args.policy)
    if "://" not in args.evidence and not Path(args.evidence).is_dir():
        raise EvidenceUnusable(f"evidence directory {args.evidence} not found")
    out = args.out or f"{args.evidence.rstrip('/')}/dashboard"
    open_store(out).check_writable()
    with flow_runs(args, "dashboard"):
        from flows.dashboard import dr_dashboard

        result = dr_dashboard(
            evidence=args.evidence,
            out=out,
            runbooks=args.runbooks,
            policy=args.policy,
            tracker=args.tracker,
            quarter=args.quarter,
            tiers=args.tiers,
        )
    _print_dashboard(result)
    print(f"pack ({result['quarter']}): {result['pack_html']} and {result['pack_md']}")
    return EXIT_OK


def _print_dashboard(result: dict) -> None:
    counts = result["counts"]
    print(
        f"dashboard: {counts['services']} service(s): {counts['failing']} failing, {counts['overdue']} overdue, "
        f"{counts['attention']} need attention, {counts['ok']} ok; Tier 0/1 compliant "
        f"{counts['critical_compliant']}/{counts['critical']}; {counts['open_tickets']} open ticket(s), "
        f"{counts['past_sla']} past SLA"
    )
    print(f"site: {result['index']}")


def _print_run(result: dict) -> None:
    tracker = result["tracker"]
    print(
        f"tickets ({tracker['backend']}): {tracker['created']} opened, {tracker['kept']} kept, "
        f"{tracker['resolved']} resolved, {tracker['reopened']} reopened"
        + (
            f"; {tracker['deferred']} deferred to the outbox: {tracker['error']}"
            if tracker.get("deferred")
            else f"; not filed: {tracker['error']}"
            if tracker.get("error")
            else ""
        )
    )
    print(f"evidence: {result['evidence_dir']}")
    print(f"report: {result['report']}")
    if result.get("report_md"):
        print(f"markdown: {result['report_md']}")


def cmd_simulate(args) -> int:
    import os

    from flows.dr_simulation import check_drill_opt_ins, load_answers
    from tasks.catalog.load import load_catalog
    from tasks.catalog.scenarios import load_scenarios
    from tasks.errors import ConfigError
    from tasks.tracker.factory import check_state, check_tracker

    check_drill_opt_ins(args.drill, args.allow_disruptive)
    load_catalog(args.runbooks, args.policy)
    check_tracker(args.tracker, args.evidence)
    check_state(args.tracker, args.evidence)
    library = load_scenarios(args.runbooks)
    if args.scenario not in library:
        raise ConfigError(f"unknown scenario {args.scenario!r} (choose from: {', '.join(sorted(library))})")
    load_answers(args.answers)
    if not args.answers and not args.non_interactive and not os.environ.get("PREFECT_API_URL"):
        raise ConfigError(
            "an interactive tabletop waits for answers in the Prefect UI: set PREFECT_API_URL to a "
            "running server (`dr server`), or use --answers FILE or --non-interactive"
        )
    with flow_runs(args, "simulation"):
        from flows.dr_simulation import dr_simulation

        result = dr_simulation(
            scenario=args.scenario,
            answers=args.answers,
            non_interactive=args.non_interactive,
            drill=args.drill,
            allow_disruptive=args.allow_disruptive,
            zone=args.zone,
            region=args.region,
            tiers=args.tiers,
            services=args.services,
            runbooks=args.runbooks,
            policy=args.policy,
            evidence=args.evidence,
            tracker=args.tracker,
            poll_interval=args.poll_interval,
        )
    _print_simulation(result)
    for d in result["drills"]:
        print(f"drill {d['drill']} {d['resource']}: {d['status']} ({d['detail']})")
    return EXIT_OK


def _print_simulation(result: dict) -> None:
    print(
        f"simulation {result['scenario']}: {len(result['affected'])} service(s) affected; cannot recover within "
        f"target: {', '.join(result['unrecoverable']) or 'none'}"
    )
    _print_run(result)


def cmd_tracker(args) -> int:
    """`dr tracker flush`: exit 0 when the outbox is empty afterwards, 1 while work is still pending."""
    from tasks.catalog.load import load_policy
    from tasks.errors import ConfigError
    from tasks.tracker import flush_outbox
    from tasks.tracker.factory import open_tracker

    policy_path = Path(args.policy or "runbooks/policy.yaml")
    if args.policy and not policy_path.exists():
        raise ConfigError(f"policy file not found: {policy_path}")
    tracker = open_tracker(args.tracker, args.evidence, load_policy(policy_path))
    if getattr(tracker, "outbox", None) is None:
        print(f"{args.tracker}: nothing to flush (this tracker has no outbox)")
        return EXIT_OK
    result, left = flush_outbox(tracker)
    print(
        f"flushed ({result.backend}): {len(result.created)} opened, {len(result.reopened)} reopened, "
        f"{len(result.escalated)} escalated, {len(result.resolved)} resolved, {len(result.kept)} already done; "
        f"{left} left in the outbox"
    )
    for failure in result.failed:
        print(f"refused: {failure}", file=sys.stderr)
    if left:
        print(f"dr: error: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_serve(args) -> int:
    from flows._runtime import prefect_api

    with prefect_api():
        from flows.serve import serve

        serve(args.project, args.only, args.limit)
    return EXIT_OK


def cmd_server(args) -> int:
    from flows._runtime import serve_forever

    return serve_forever(args.host, args.port)


def cmd_demo(args) -> int:
    from flows.demo import PhaseClock, claim_out_dir, run_demo, write_timings

    refused = claim_out_dir(Path(args.out))
    if refused:
        print(f"dr: error: {refused}", file=sys.stderr)
        return 2

    clock = PhaseClock()
    with flow_runs(args, "demo", background=True) as (console, ready):
        result = run_demo(
            Path(args.out),
            Path(args.evidence) if args.evidence else None,
            say=console.phase,
            prefect_ready=ready,
            verbose=args.verbose,
            clock=clock,
        )
    timings = {**clock.seconds, "total": clock.total(), **_process_seconds()}
    written = write_timings(Path(args.out), timings)
    if args.verbose:
        print(
            "demo: phases (wall s): " + ", ".join(f"{k} {v}" for k, v in timings.items()) + f" ({written})",
            file=sys.stderr,
        )
    print()
    print("== quarterly documentation review")
    _print_review(result["review"])
    print("== backup posture audit")
    _print_audit(result["audit"])
    print("== backup restore test")
    _print_restore(result["restore"])
    print("== annual DR simulation (region-loss tabletop, answers from a file)")
    _print_simulation(result["simulation"])
    print("== DR dashboard")
    _print_dashboard(result["dashboard"])
    print(f"steering committee pack: {result['dashboard']['pack_html']} and {result['dashboard']['pack_md']}")
    print(f"ledger: {Path(result['evidence']) / 'tracker' / 'ledger.json'}")
    return EXIT_OK


def _process_seconds() -> dict[str, float]:
    """Seconds since this process started (its imports included) and CPU it used so far: Linux only."""
    import os

    try:
        ticks = os.sysconf("SC_CLK_TCK")
        since_boot = float(Path("/proc/uptime").read_text().split()[0])
        started = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19]) / ticks
    except (OSError, ValueError, IndexError):
        return {}
    cpu = os.times()
    return {"process": round(since_boot - started, 2), "process_cpu": round(cpu.user + cpu.system, 2)}


COMMANDS = {
    "validate": cmd_validate,
    "review": cmd_review,
    "audit": cmd_audit,
    "restore-test": cmd_restore_test,
    "sweep": cmd_sweep,
    "simulate": cmd_simulate,
    "tracker": cmd_tracker,
    "serve": cmd_serve,
    "server": cmd_server,
    "dashboard": cmd_dashboard,
    "demo": cmd_demo,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from flows._runtime import PrefectUnavailable, apply_defaults

    apply_defaults(verbose=args.verbose)
    from tasks.errors import CatalogError, DrError

    try:
        return COMMANDS[args.command](args)
    except CatalogError as exc:
        if len(exc.problems) == 1:
            print(f"dr: error: {exc.problems[0]}", file=sys.stderr)  # said once, on the one error line
        else:
            for problem in exc.problems:
                print(problem, file=sys.stderr)
            files = len({p.file for p in exc.problems})
            print(f"dr: error: {len(exc.problems)} problem(s) in {files} file(s), listed above", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DrError as exc:
        print(f"dr: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except PrefectUnavailable as exc:
        print(f"dr: error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("dr: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        from botocore.exceptions import BotoCoreError, ClientError

        if isinstance(exc, (BotoCoreError, ClientError)) and not _FLOWS_STARTED:
            # AWS refused or could not be reached before any flow ran (a dry run's reads): its words alone.
            from tasks.aws.errors import describe_error

            print(f"dr: error: AWS: {describe_error(exc)}", file=sys.stderr)
            return EXIT_FAILED
        print(
            f"dr: run failed: {type(exc).__name__}: {exc}" + ("" if args.verbose else " (-v shows Prefect's logs)"),
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
