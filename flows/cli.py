"""The `dr` command line. Exit 0: the run completed (gaps are results); 2: bad input; 1: the run failed."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


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


def _quarter(text: str) -> str:
    from tasks.dashboard import Quarter

    try:
        return Quarter.parse(text).id
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _run_options(parser: argparse.ArgumentParser, concurrency: int = 8) -> None:
    parser.add_argument("--tier", type=int, action="append", choices=range(4), metavar="N", dest="tiers",
                        help="tier to include (repeatable; default: 0 and 1)")
    parser.add_argument("--service", action="append", metavar="ID", dest="services",
                        help="service id to include (repeatable; default: all in the tiers)")
    parser.add_argument("--evidence", default="evidence", metavar="DIR", help="evidence directory (default: evidence)")
    parser.add_argument("--tracker", default="ledger", help="ticket tracker: ledger (default) or jira")
    parser.add_argument("--concurrency", type=int, default=concurrency, metavar="N",
                        help=f"work items at once (default: {concurrency})")
    parser.add_argument("--dry-run", action="store_true", help="show the plan; change nothing (reads only)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dr", description="Disaster-recovery runbook automation on Prefect.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check the runbooks and policy; list every error")
    _catalog_options(validate)

    review = commands.add_parser("review", help="quarterly documentation review: complete, current, accurate")
    _catalog_options(review)
    _run_options(review)

    audit = commands.add_parser("audit", help="daily backup posture audit against the tier policy (read-only)")
    _catalog_options(audit)
    _run_options(audit)

    restore = commands.add_parser("restore-test", help="restore backups into isolated copies; measure RTO and RPO")
    _catalog_options(restore)
    _run_options(restore, concurrency=4)
    restore.add_argument("--sample", metavar="N|P%", help="per fleet: a count or a percentage (default: every member)")
    restore.add_argument("--restore-time", metavar="ISO", type=_utc, help="also restore to this point in time (UTC)")
    restore.add_argument("--wait", type=float, default=0, metavar="SECONDS", help="wait for a running restore test")
    restore.add_argument("--poll-seconds", type=float, metavar="S", help="status poll interval (default: policy)")

    sweep = commands.add_parser("sweep", help="delete this tool's expired or orphaned copies")
    _catalog_options(sweep)
    sweep.add_argument("--region", action="append", dest="regions", metavar="REGION", help="region (repeatable)")
    sweep.add_argument("--evidence", default="evidence", metavar="DIR", help="evidence directory (default: evidence)")
    sweep.add_argument("--dry-run", action="store_true", help="list what would be deleted")

    dashboard = commands.add_parser("dashboard", help="build the DR dashboard and the quarterly pack (static HTML)")
    _catalog_options(dashboard)
    dashboard.add_argument("--evidence", default="evidence", metavar="DIR|s3://...",
                           help="evidence to read (default: evidence)")
    dashboard.add_argument("--out", metavar="DIR|s3://...", help="where to write the site (default: <evidence>/dashboard)")
    dashboard.add_argument("--tracker", default="ledger", help="where tickets are read from (default: ledger)")
    dashboard.add_argument("--quarter", type=_quarter, metavar="YYYYQn",
                           help="quarter of the steering committee pack (default: the current one)")
    dashboard.add_argument("--tier", type=int, action="append", choices=range(4), metavar="N", dest="tiers",
                           help="only this tier (repeatable; default: all)")

    demo = commands.add_parser("demo", help="run everything against a moto-backed demo estate")
    demo.add_argument("--out", default="out/demo", metavar="DIR", help="where the demo writes (default: out/demo)")
    demo.add_argument("--evidence", metavar="DIR", help="evidence directory (default: <out>/evidence)")
    return parser


def cmd_validate(args) -> int:
    from tasks.catalog import load_catalog

    catalog = load_catalog(args.runbooks, args.policy)
    problems = catalog.problems
    for problem in problems:
        print(problem)
    if problems:
        files = len({p.file for p in problems})
        print(f"{len(problems)} error(s) in {files} file(s); {len(catalog.runbooks)} runbook(s) valid", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(f"ok: {len(catalog.runbooks)} runbook(s) valid")
    return EXIT_OK


def preflight(args, tiers_default: list[int] | None = None) -> None:
    """Refuse bad input in a second, before Prefect or AWS are touched (the flow checks again)."""
    from tasks.catalog import load_catalog, select_services
    from tasks.evidence import open_store

    catalog = load_catalog(args.runbooks, args.policy)
    select_services(catalog, args.tiers or tiers_default or catalog.policy.review_tiers, args.services)
    if not args.dry_run:
        open_store(args.evidence).check_writable()


def cmd_review(args) -> int:
    preflight(args)
    from flows.documentation_review import documentation_review

    result = documentation_review(tiers=args.tiers, services=args.services, runbooks=args.runbooks,
                                  policy=args.policy, evidence=args.evidence, tracker=args.tracker,
                                  concurrency=args.concurrency, dry_run=args.dry_run)
    if args.dry_run:
        print(f"dry run: would review {len(result['services'])} service(s) in tiers {result['tiers']}")
        for service, labels in result["services"].items():
            print(f"  {service}: {', '.join(labels) or 'no resources'}")
        for service, problems in result["invalid"].items():
            print(f"  {service}: invalid runbook ({len(problems)} problem(s)) -> runbook.invalid")
        return EXIT_OK
    _print_review(result)
    return EXIT_OK


def _print_review(result: dict) -> None:
    print(f"review: {result['services']} service(s), {result['with_gaps']} with gaps, {result['findings']} finding(s)")
    _print_run(result)


def cmd_audit(args) -> int:
    preflight(args, tiers_default=[0, 1, 2, 3])
    from flows.backup_posture_audit import backup_posture_audit

    result = backup_posture_audit(tiers=args.tiers, services=args.services, runbooks=args.runbooks, policy=args.policy,
                                  evidence=args.evidence, tracker=args.tracker, concurrency=args.concurrency,
                                  dry_run=args.dry_run)
    if args.dry_run:
        for service, labels in result["services"].items():
            print(f"would audit {service}: {', '.join(labels) or 'no resources'}")
        return EXIT_OK
    print(f"audit: {result['resources']} resource(s) in {result['services']} service(s), {result['findings']} finding(s)")
    _print_run(result)
    return EXIT_OK


def cmd_restore_test(args) -> int:
    preflight(args)
    from flows.backup_restore_test import backup_restore_test

    result = backup_restore_test(tiers=args.tiers, services=args.services, sample=args.sample,
                                 restore_time=args.restore_time, concurrency=args.concurrency, runbooks=args.runbooks,
                                 policy=args.policy, evidence=args.evidence, tracker=args.tracker,
                                 dry_run=args.dry_run, wait=args.wait, poll_seconds=args.poll_seconds)
    if args.dry_run:
        print(f"dry run: would make {len(result['restores'])} restore(s); each copy is validated, deleted and "
              "the deletion confirmed")
        for r in result["restores"]:
            print(f"  restore {r['resource']} ({r['mode']}) -> copy in {r['region']}, class {r['instance_class'] or 'n/a'},"
                  f" deadline {r['rto_target_seconds']:.0f}s, then delete")
        return EXIT_OK
    print(f"restore test: {result['restores']} restore(s), {result['passed']} met their targets, "
          f"{result['findings']} finding(s), {result['swept']} orphaned copies removed")
    _print_run(result)
    return EXIT_OK


def cmd_sweep(args) -> int:
    from flows.orphan_sweep import orphan_sweep

    result = orphan_sweep(regions=args.regions, runbooks=args.runbooks, policy=args.policy, evidence=args.evidence,
                          dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for copy in result["copies"]:
        state = verb if args.dry_run or copy.get("deleted") else f"FAILED ({copy.get('error')})"
        print(f"{state}: {copy['kind']} {copy['id']} in {copy['region']} (run {copy['run_id'] or '?'})")
    print(f"sweep: {len(result['copies'])} copies in {len(result['regions'])} region(s)")
    return EXIT_FAILED if any(c.get("deleted") is False for c in result["copies"]) else EXIT_OK


def cmd_dashboard(args) -> int:
    from tasks.catalog import load_catalog
    from tasks.errors import EvidenceError
    from tasks.evidence import open_store

    # Bad input fails here in a second, before Prefect starts.
    load_catalog(args.runbooks, args.policy)
    if "://" not in args.evidence and not Path(args.evidence).is_dir():
        raise EvidenceError(f"evidence directory {args.evidence} not found")
    from flows.dashboard import default_out, dr_dashboard

    out = args.out or default_out(args.evidence)
    open_store(out).check_writable()
    result = dr_dashboard(evidence=args.evidence, out=out, runbooks=args.runbooks, policy=args.policy,
                          tracker=args.tracker, quarter=args.quarter, tiers=args.tiers)
    counts = result["counts"]
    print(f"dashboard: {counts['services']} service(s): {counts['failing']} failing, {counts['overdue']} overdue, "
          f"{counts['attention']} need attention, {counts['ok']} ok; Tier 0/1 compliant "
          f"{counts['critical_compliant']}/{counts['critical']}; {counts['open_tickets']} open ticket(s), "
          f"{counts['past_sla']} past SLA")
    print(f"site: {result['index']}")
    print(f"pack ({result['quarter']}): {result['pack_html']} and {result['pack_md']}")
    return EXIT_OK


def _print_run(result: dict) -> None:
    tracker = result["tracker"]
    print(f"tickets ({tracker['backend']}): {tracker['created']} opened, {tracker['kept']} kept, "
          f"{tracker['resolved']} resolved, {tracker['reopened']} reopened"
          + (f"; {tracker['deferred']} deferred: {tracker['error']}" if tracker.get("error") else ""))
    print(f"evidence: {result['evidence_dir']}")
    print(f"report: {result['report']}")


def cmd_demo(args) -> int:
    import os

    # The demo runs offline on an ephemeral Prefect server: no telemetry to send anywhere.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.demo import run_demo

    result = run_demo(Path(args.out), Path(args.evidence) if args.evidence else None)
    print()
    print("== quarterly documentation review")
    _print_review(result["review"])
    audit, restore = result["audit"], result["restore"]
    print("== backup posture audit")
    print(f"audit: {audit['resources']} resource(s) in {audit['services']} service(s), {audit['findings']} finding(s)")
    _print_run(audit)
    print("== backup restore test")
    print(f"restore test: {restore['restores']} restore(s), {restore['passed']} met their targets, "
          f"{restore['findings']} finding(s); every copy deleted and the deletion confirmed")
    _print_run(restore)
    print(f"ledger: {Path(result['evidence']) / 'tracker' / 'ledger.json'}")
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "review": cmd_review, "audit": cmd_audit, "restore-test": cmd_restore_test,
            "sweep": cmd_sweep, "dashboard": cmd_dashboard, "demo": cmd_demo}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from tasks.errors import CatalogError, DrError

    try:
        return COMMANDS[args.command](args)
    except CatalogError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(f"dr: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except DrError as exc:
        print(f"dr: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("dr: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for the operator; details are in the Prefect logs
        print(f"dr: run failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
