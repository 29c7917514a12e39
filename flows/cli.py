"""The `dr` command line. Exit 0: the run completed (gaps are results); 2: bad input; 1: the run failed."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def _catalog_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runbooks", default="runbooks", metavar="DIR", help="runbook directory (default: runbooks)")
    parser.add_argument("--policy", metavar="FILE", help="tier policy file (default: <runbooks>/policy.yaml)")


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tier", type=int, action="append", choices=range(4), metavar="N", dest="tiers",
                        help="tier to include (repeatable; default: 0 and 1)")
    parser.add_argument("--service", action="append", metavar="ID", dest="services",
                        help="service id to include (repeatable; default: all in the tiers)")
    parser.add_argument("--evidence", default="evidence", metavar="DIR", help="evidence directory (default: evidence)")
    parser.add_argument("--tracker", default="ledger", help="ticket tracker: ledger (default) or jira")
    parser.add_argument("--concurrency", type=int, default=8, metavar="N", help="services inspected at once")
    parser.add_argument("--dry-run", action="store_true", help="show the plan; make no AWS calls, write nothing")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dr", description="Disaster-recovery runbook automation on Prefect.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser("validate", help="check the runbooks and policy; list every error")
    _catalog_options(validate)

    review = commands.add_parser("review", help="quarterly documentation review: complete, current, accurate")
    _catalog_options(review)
    _run_options(review)

    tracker = commands.add_parser("tracker", help="ticket tracker maintenance")
    actions = tracker.add_subparsers(dest="action", required=True, metavar="ACTION")
    flush = actions.add_parser("flush", help="replay tracker work left in the outbox while Jira was unreachable")
    flush.add_argument("--evidence", default="evidence", metavar="DIR", help="evidence directory (default: evidence)")
    flush.add_argument("--tracker", default="jira", help="tracker whose outbox to replay (default: jira)")
    flush.add_argument("--policy", metavar="FILE",
                       help="policy with the jira: settings (default: runbooks/policy.yaml if present)")

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


def preflight(args) -> None:
    """Refuse bad input in a second, before Prefect or AWS are touched (the flow checks again)."""
    from flows.documentation_review import select_services
    from tasks.catalog import load_catalog
    from tasks.evidence import open_store

    from tasks.errors import ConfigError
    from tasks.tracker.factory import TRACKERS

    catalog = load_catalog(args.runbooks, args.policy)
    select_services(catalog, args.tiers or catalog.policy.review_tiers, args.services)
    if args.tracker not in TRACKERS:
        raise ConfigError(f"unknown tracker {args.tracker!r} (choose from: {', '.join(TRACKERS)})")
    if not args.dry_run:
        open_store(args.evidence).check_writable()
        if args.tracker == "jira":
            from tasks.tracker.jira_config import load_settings

            load_settings(catalog.policy)  # URL, project and a token reference, before any AWS call


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
    tracker = result["tracker"]
    print(f"review: {result['services']} service(s), {result['with_gaps']} with gaps, {result['findings']} finding(s)")
    print(f"tickets ({tracker['backend']}): {tracker['created']} opened, {tracker['kept']} kept, "
          f"{tracker['resolved']} resolved, {tracker['reopened']} reopened"
          + (f"; {tracker['deferred']} deferred: {tracker['error']}" if tracker.get("error") else ""))
    print(f"evidence: {result['evidence_dir']}")
    print(f"report: {result['report']}")


def cmd_tracker(args) -> int:
    """`dr tracker flush`: exit 0 when the outbox is empty afterwards, 1 while work is still pending."""
    from tasks.catalog import load_policy
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
    print(f"flushed ({result.backend}): {len(result.created)} opened, {len(result.reopened)} reopened, "
          f"{len(result.escalated)} escalated, {len(result.resolved)} resolved, {len(result.kept)} already done; "
          f"{left} left in the outbox")
    for failure in result.failed:
        print(f"refused: {failure}", file=sys.stderr)
    if left:
        print(f"dr: error: {result.error}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def cmd_demo(args) -> int:
    import os

    # The demo runs offline on an ephemeral Prefect server: no telemetry to send anywhere.
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.demo import run_demo

    result = run_demo(Path(args.out), Path(args.evidence) if args.evidence else None)
    print()
    _print_review(result["review"])
    print(f"ledger: {Path(result['evidence']) / 'tracker' / 'ledger.json'}")
    return EXIT_OK


COMMANDS = {"validate": cmd_validate, "review": cmd_review, "tracker": cmd_tracker, "demo": cmd_demo}


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
