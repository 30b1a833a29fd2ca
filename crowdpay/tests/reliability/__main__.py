"""`make reliability`: the full stress-and-faults run on a private stack. Prints its figures and
exits non-zero on any problem (money lost or duplicated, a 5xx other than 503, a hang, a lost
operation, a failed `reconcile`)."""

from __future__ import annotations

import argparse
import json
import sys

from .stress import Config, print_report, run


def full_faults(seconds: float) -> list[tuple[float, str, float]]:
    """kill -9 the worker four times, restart PostgreSQL once, stop Redis for 10 s, spread over the run."""
    at = lambda share: round(seconds * share, 1)  # noqa: E731
    return [
        (at(0.10), "kill_worker", 1.0),
        (at(0.25), "kill_worker", 3.0),
        (at(0.40), "restart_postgres", 0.0),
        (at(0.55), "stop_redis", 10.0),
        (at(0.80), "kill_worker", 1.0),
        (at(0.92), "kill_worker", 0.5),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--wallets", type=int, default=100)
    parser.add_argument("--pods", type=int, default=3)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--worker-concurrency", type=int, default=3)
    parser.add_argument("--json", help="also write the report to this file")
    args = parser.parse_args()
    config = Config(
        clients=args.clients,
        seconds=args.seconds,
        wallets=args.wallets,
        pods=args.pods,
        faults=[] if args.no_faults else full_faults(args.seconds),
        verbose=True,
        worker_concurrency=args.worker_concurrency,
    )
    report = run(config)
    print_report(f"stress + faults: {args.clients} clients, {args.wallets} wallets, {args.seconds:.0f} s", report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    failed = (
        report["problems"]
        or report["http_5xx_other_than_503"]
        or report["hung_requests"]
        or report["money_lost_or_duplicated"]
        or report["errors_not_problem_json"]
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
