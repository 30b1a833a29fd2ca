"""`python -m bench [--smoke] [--skip-pgbench]`: run every part, print the table, write the JSON.

The ledger's database (BENCH_DATABASE_URL, default crowdpay_bench) and pgbench's (BENCH_PGBENCH_DATABASE,
default crowdpay_pgbench) are dropped and re-created by each run; both names must contain "bench".
Exit status: 0 when every part ran and `reconcile` passed afterwards, 1 otherwise.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime

from . import config


def _reset_ledger_database(target: config.Target) -> None:
    import psycopg

    with psycopg.connect(target.url_for("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.ledger_db}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target.ledger_db}"')


def _setup_django(target: config.Target) -> None:
    os.environ["DATABASE_URL"] = target.ledger_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "crowdpay.settings.base"
    # DEBUG would keep a log of every query: not what production runs.
    os.environ["DEBUG"] = "False"
    # The sealer runs as a process of its own beside the parts (as the beat task does when deployed),
    # not inline after every movement as under `make run` with no broker.
    os.environ["EVENT_SEAL_AFTER_COMMIT"] = "False"
    # The bench's own progress lines are what to read: the service's INFO logs (a line per in-process
    # task while the owners are set up) would bury them. Warnings and errors still show.
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # Every outflow's 24 h limit is still read and checked under the lock, but out of reach: a
    # member paying into the hot pod hundreds of times a second passes 10,000 USD within seconds,
    # and refusals are not what the parts measure.
    os.environ.setdefault("WALLET_DEFAULT_LIMIT", str(config.BENCH_WALLET_LIMIT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _reconcile(target: config.Target) -> dict:
    done = subprocess.run(
        [sys.executable, "manage.py", "reconcile", "--json"],
        cwd=config.ROOT,
        env={**os.environ, "DATABASE_URL": target.ledger_url},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        report = {"ok": False, "problems": [{"detail": (done.stdout + done.stderr)[-2000:]}]}
    report["exit_code"] = done.returncode
    report["ok"] = report.get("ok", False) and done.returncode == 0
    return report


def _start_sealer(target: config.Target) -> subprocess.Popen:
    """What production's beat task does (wallets.sealing, every EVENT_SEAL_INTERVAL_SECONDS), beside
    the ledger parts, in a process of its own: the figures include its load, and `reconcile` (which
    verifies the seals) finds no tail left unsealed beyond EVENT_SEAL_MAX_AGE_SECONDS."""
    from django.conf import settings

    sealer = subprocess.Popen(
        [sys.executable, "manage.py", "seal_events", "--every", str(settings.EVENT_SEAL_INTERVAL_SECONDS)],
        cwd=config.ROOT,
        env={**os.environ, "DATABASE_URL": target.ledger_url},
        stdout=subprocess.PIPE,
        text=True,
    )
    atexit.register(lambda: sealer.poll() is None and sealer.kill())
    return sealer


def _stop_sealer(sealer: subprocess.Popen) -> str:
    """SIGTERM: it seals what is queued, prints its total and exits."""
    sealer.terminate()
    out, _ = sealer.communicate(timeout=600)
    return out.strip().splitlines()[-1] if out.strip() else f"sealer exited {sealer.returncode}"


def _fmt(value, unit: str = "") -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}{unit}"
    return f"{value:,}{unit}"


def _reference(results: dict) -> tuple[float | None, float | None]:
    """pgbench's TPC-B and hot-row rates the ratios divide by: the mean of the reference measured
    before the ledger parts and, when they ran, the one measured again after them (the machine's
    mood drifts within a run; bracketing the parts halves what that drift does to a ratio)."""
    runs = [results[key] for key in ("pgbench", "pgbench_after") if results.get(key)]

    def mean(key: str) -> float | None:
        rates = [run[key]["per_second"] for run in runs]
        return round(sum(rates) / len(rates), 2) if rates else None

    return mean("tpcb_4_clients"), mean("hot_row_16_clients")


def _peer(results: dict) -> tuple[float | None, float | None]:
    """The pgledger peer's rates (random pairs, 4 clients; one hot account, 16 clients) that the
    `vs_pgledger` ratios divide by; None when the peer did not run."""
    peer = results.get("pgledger") or {}
    return (
        (peer.get("transfers_4_clients") or {}).get("per_second"),
        (peer.get("hot_account_16_clients") or {}).get("per_second"),
    )


def _vs_peer(figure: dict) -> str:
    return f", {_fmt(figure['vs_pgledger'])} of pgledger" if figure.get("vs_pgledger") is not None else ""


def _table(results: dict) -> str:
    from .stats import ratio

    tpcb, hot_row = _reference(results)
    rows = [("figure", "per second", "p50 ms", "p99 ms", "ratio", "aim")]
    for prefix, key in (("1.", "pgbench"), ("1. again after 2-4:", "pgbench_after")):
        pg = results.get(key)
        if not pg:
            continue
        for label, figure in (
            ("pgbench TPC-B, 4 clients", "tpcb_4_clients"),
            ("pgbench hot row, 16 clients", "hot_row_16_clients"),
        ):
            f = pg[figure]
            rows.append((f"{prefix} {label}", _fmt(f["per_second"]), _fmt(f["p50_ms"]), _fmt(f["p99_ms"]), "", ""))
    if results.get("pgbench"):
        rows.append(("   reference (mean): TPC-B / hot row", f"{_fmt(tpcb)} / {_fmt(hot_row)}", "", "", "1", ""))
    if results.get("pgledger"):
        for label, figure, reference, of in (
            ("1. pgledger peer, 4 clients, random pairs", "transfers_4_clients", tpcb, "TPC-B"),
            ("1. pgledger peer, 16 clients into one account", "hot_account_16_clients", hot_row, "hot row"),
        ):
            f = results["pgledger"][figure]
            rows.append(
                (
                    label,
                    _fmt(f["per_second"]),
                    _fmt(f["p50_ms"]),
                    _fmt(f["p99_ms"]),
                    _fmt(ratio(f["per_second"], reference)) + f" of {of}",
                    "",
                )
            )
    if "ledger" in results:
        f = results["ledger"]
        rows.append(
            (
                f"2. ledger transfer, {f['processes']} processes",
                _fmt(f["per_second"]),
                _fmt(f["p50_ms"]),
                _fmt(f["p99_ms"]),
                _fmt(ratio(f["per_second"], tpcb)) + " of TPC-B" + _vs_peer(f),
                ">= 1.0 of pgledger",
            )
        )
    if "hot_pod" in results:
        f = results["hot_pod"]
        rows.append(
            (
                f"3. hot CrowdPod, {f['processes']} processes",
                _fmt(f["per_second"]),
                _fmt(f["p50_ms"]),
                _fmt(f["p99_ms"]),
                _fmt(ratio(f["per_second"], hot_row)) + " of hot row" + _vs_peer(f),
                ">= 1.0 of pgledger",
            )
        )
    if "pod_goal" in results:
        f = results["pod_goal"]
        rows.append(
            (
                f"pod goal: pledges + captures, {f['processes']} processes",
                _fmt(f["per_second"]),
                _fmt(f["p50_ms"]),
                _fmt(f["p99_ms"]),
                _fmt(ratio(f["per_second"], hot_row)) + " of hot row" + _vs_peer(f),
                ">= 1.0",
            )
        )
    if "http" in results:
        f = results["http"]
        rows.append(
            (
                f"4. HTTP POST /v1/transfer, {f['clients']} clients",
                _fmt(f["per_second"]),
                _fmt(f["p50_ms"]),
                _fmt(f["p99_ms"]),
                _fmt(f["vs_get_wallet"]) + " of GET, " + _fmt(ratio(f["per_second"], tpcb)) + " of TPC-B" + _vs_peer(f),
                ">= 0.6 of GET, p99 <= 50",
            )
        )
        g = f["get_wallet"]
        rows.append(
            ("4. HTTP GET /v1/wallets/{id}", _fmt(g["per_second"]), _fmt(g["p50_ms"]), _fmt(g["p99_ms"]), "", "")
        )
    if "funding_saga" in results:
        f = results["funding_saga"]
        rows.append(
            (
                f"6. funding saga POST->SUCCEEDED, {f['clients']} clients",
                _fmt(f["per_second"]),
                _fmt(f["p50_ms"]),
                _fmt(f["p99_ms"]),
                "",
                "",
            )
        )
    if "webhooks" in results:
        d, t = results["webhooks"]["delivery"], results["webhooks"]["transfer_rate"]
        rows.append(
            (
                f"webhooks: deliveries to loopback, {d['threads']} threads in-process",
                _fmt(d["per_second"]),
                _fmt(d["p50_ms"]),
                _fmt(d["p99_ms"]),
                "",
                "",
            )
        )
        phases = (("no endpoint", "without"), ("3 endpoints/owner", "subscribed"), ("none again", "without_again"))
        for label, key in phases:
            f = t[key]
            rows.append(
                (
                    f"webhooks: transfer_start, {t['processes']} processes, {label}",
                    _fmt(f["per_second"]),
                    _fmt(f["p50_ms"]),
                    _fmt(f["p99_ms"]),
                    _fmt(t["ratio"]) + " of none (mean)" if key == "subscribed" else "",
                    ">= 0.9" if key == "subscribed" else "",
                )
            )
    if "replica_reads" in results:
        r = results["replica_reads"]
        for label, key in (("primary alone", "primary_alone"), ("with one replica", "with_replica")):
            f = r[key]
            rows.append(
                (
                    f"replica: GET /v1/wallets/{{id}}, {f['clients']} clients, {label}",
                    _fmt(f["per_second"]),
                    _fmt(f["p50_ms"]),
                    _fmt(f["p99_ms"]),
                    _fmt(r["ratio"]) + " of primary alone" if key == "with_replica" else "",
                    "",
                )
            )
    for step in results.get("replay", {}).get("steps", []):
        rows.append(
            (
                f"5. replay_events, {step['events']:,} events",
                _fmt(step["replay"]["per_second"]),
                "",
                "",
                _fmt(step["ratio_to_raw"]) + " of raw read",
                ">= 0.5",
            )
        )
        rows.append((f"   raw COPY read, {step['events']:,} events", _fmt(step["raw"]["per_second"]), "", "", "", ""))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    extra = []
    for key in ("ledger", "hot_pod"):
        if key in results:
            f = results[key]
            extra.append(
                f"{key}: row lock held (lock granted -> commit done) p50 {_fmt(f['lock_held_p50_ms'])} ms, "
                f"p99 {_fmt(f['lock_held_p99_ms'])} ms; "
                f"of which work before the last message p50 {_fmt(f['lock_to_last_message_p50_ms'])} ms; "
                f"errors {f['errors']}"
            )
    if "pod_goal" in results:
        f = results["pod_goal"]
        extra.append(
            f"pod_goal: {f['pledges']:,} pledges + {f['captures']:,} captures of {f['pledges_per_goal']} pledges' "
            f"goals; capture call p50 {_fmt(f['capture_call_p50_ms'])} ms, p99 {_fmt(f['capture_call_p99_ms'])} ms; "
            f"pledges refused by a goal closing under them {f['refused_goal_closed']}; errors {f['errors']} "
            f"{f['error_samples'][:2]}"
        )
    for key in ("http", "funding_saga"):
        if key in results:
            extra.append(f"{key}: errors {results[key]['errors']} {results[key]['error_samples'][:2]}")
    if "replica_reads" in results:
        r = results["replica_reads"]
        extra.append(
            f"replica: errors {r['primary_alone']['errors']} / {r['with_replica']['errors']}; transactions in the "
            f"ledger database during the replica phase: primary {r['transactions_during_replica_phase']['primary']:,}, "
            f"replica {r['transactions_during_replica_phase']['replica']:,}"
        )
    if results.get("sealer"):
        extra.append(f"sealer (manage.py seal_events --every, beside every part): {results['sealer']}")
    if "round_trips" in results:
        rt = results["round_trips"]
        extra.append(f"one transfer: {rt['round_trips']} SQL round trips on the wire, {rt['statements']} statements")
    if "lock_window_one_process" in results:
        lw = results["lock_window_one_process"]
        extra.append(
            f"one process alone, transfer after transfer: latency p50 {_fmt(lw['latency_p50_ms'])} ms, rows locked "
            f"p50 {_fmt(lw['lock_held_p50_ms'])} ms (p99 {_fmt(lw['lock_held_p99_ms'])}), "
            f"of which work before the last message {_fmt(lw['lock_to_last_message_p50_ms'])} ms; "
            f"CPU per transfer: client {_fmt(lw['client_cpu_ms'])} ms, "
            f"PostgreSQL backend {_fmt(lw['server_cpu_ms'])} ms"
        )
    if "webhooks" in results:
        d, t = results["webhooks"]["delivery"], results["webhooks"]["transfer_rate"]
        extra.append(
            f"webhooks: {d['delivered']}/{d['messages']} messages delivered ({d['errors']} errors "
            f"{d['error_samples'][:2]}), fan-out {_fmt(d['fan_out_per_second'])} messages/s, receiver answered "
            f"in {_fmt(d['receiver_latency_p50_ms'])} ms (p50, as logged); transfers: {t['endpoints']} endpoints, "
            f"errors {[t[k]['errors'] for k in ('without', 'subscribed', 'without_again')]}, "
            f"messages written {[t[k]['messages_written'] for k in ('without', 'subscribed', 'without_again')]}; "
            f"dispatch requests sent to the broker: {t['dispatch_requests']['sent']} "
            f"(queue {t['dispatch_requests']['queue']}, read by no worker, deleted)"
        )
    for step in results.get("replay", {}).get("steps", []):
        extra.append(
            f"replay at {step['events']:,} events: peak RSS {step['replay']['peak_rss_mb']} MB "
            f"(+{step['replay']['rss_growth_mb']} MB over the process's start)"
        )
    return "\n".join([*lines, "", *extra])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes (also BENCH_SMOKE=1)")
    parser.add_argument(
        "--parts",
        default=None,
        help="comma-separated parts to run (default all: 1,2,3,4,5,6,webhooks,podgoal,admin,replica; "
        "the smoke run leaves out replica unless named)",
    )
    parser.add_argument("--json", help="where to write the figures (default bench/results/<time>.json)")
    parser.add_argument(
        "--admin-reuse",
        action="store_true",
        help="part admin alone: keep the database and its seed_demo data set when it is big enough",
    )
    args = parser.parse_args(argv)
    smoke = args.smoke or config.smoke_requested()
    sizes = config.SMOKE if smoke else config.FULL
    default_parts = "1,2,3,4,5,6,webhooks,podgoal,admin" + ("" if smoke else ",replica")
    parts = {p.strip() for p in (args.parts or default_parts).split(",") if p.strip()}
    target = config.target()

    results: dict = {
        "started_at": datetime.now(UTC).isoformat(),
        "smoke": smoke,
        "sizes": sizes.__dict__,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "note": "absolute figures drift on a shared machine; compare the ratios to pgbench measured in this run",
    }
    if not (args.admin_reuse and parts == {"admin"}):
        _reset_ledger_database(target)
    _setup_django(target)
    sealer = _start_sealer(target)
    from django.db import connections

    from . import pgbench_ref, pgledger, replay, roundtrips, transfers
    from .stats import ratio

    config.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = args.json or str(config.RESULTS / f"bench-{'smoke-' if smoke else ''}{stamp}.json")

    def say(message: str) -> None:
        # The figures so far are saved at every step: a long run stopped half-way keeps them.
        with open(path, "w") as fh:
            json.dump(results, fh, indent=2, default=str)
        print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)

    # The ledger parts follow the peer's protocol (bench/pgledger.py): the workload untimed for as
    # long as the peer is warmed, `VACUUM ANALYZE`, then measured.
    warm = 1 if smoke else 5
    if "1" in parts:
        say("1. pgbench reference")
        results["pgbench"] = pgbench_ref.run(target, sizes)
        if pgledger.available():
            say(f"1. pgledger peer ({pgledger.PEER_DIR}): 4 clients random pairs, 16 clients into one account")
            results["pgledger"] = pgledger.run(target, sizes, warm_seconds=warm)
        else:
            say(f"1. pgledger peer skipped: {pgledger.PEER_DIR} is missing")
    if "2" in parts:
        say(f"2. ledger transfers: {sizes.ledger_processes} processes among {sizes.ledger_wallets} wallets")
        results["ledger"] = transfers.ledger_transfers(
            wallets=sizes.ledger_wallets,
            processes=sizes.ledger_processes,
            seconds=sizes.ledger_seconds,
            warm_seconds=warm,
        )
        wallets = transfers.open_wallets(10)
        results["round_trips"] = roundtrips.transfer(*wallets[:2])
        results["lock_window_one_process"] = roundtrips.lock_window(wallets, 20 if smoke else 300)
    if "3" in parts:
        say(f"3. hot CrowdPod: {sizes.hot_processes} processes into one pod")
        results["hot_pod"] = transfers.hot_pod(
            processes=sizes.hot_processes,
            members_per_process=sizes.hot_members_per_process,
            seconds=sizes.ledger_seconds,
            warm_seconds=warm,
        )
    if "podgoal" in parts:
        from . import pods

        say(f"pod goal: {sizes.hot_processes} processes pledging into one pod's goal, with the captures")
        results["pod_goal"] = pods.pod_goal(
            processes=sizes.hot_processes,
            members_per_process=sizes.hot_members_per_process,
            seconds=sizes.ledger_seconds,
            smoke=smoke,
        )
    if "4" in parts or "6" in parts:
        from crowdpay.keys import ensure_dev_keys

        from . import http

        ensure_dev_keys()
        owned = transfers.open_owned_wallets(sizes.http_wallets)
        transfers.vacuum_analyze()
        env = http.server_env(target.ledger_url, config.redis_url())
        logs = config.RESULTS / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        connections.close_all()
        with http.server(env, logs / "gunicorn.log") as base:
            if "4" in parts:
                say(f"4. HTTP transfers: {sizes.http_clients} clients through gunicorn")
                results["http"] = http.http_transfers(
                    base=base, wallets=owned, clients=sizes.http_clients, seconds=sizes.http_seconds
                )
            if "6" in parts:
                say(f"6. funding sagas: {sizes.saga_clients} clients, one Celery worker")
                with http.worker(env, logs / "worker.log"):
                    results["funding_saga"] = http.funding_sagas(
                        base=base, wallets=owned, clients=sizes.saga_clients, seconds=sizes.http_seconds
                    )
    if "1" in parts and parts & {"2", "3", "4", "podgoal"}:
        say("1. pgbench reference again, after the ledger parts")
        results["pgbench_after"] = pgbench_ref.measure(target, sizes)
    tpcb, hot_row = _reference(results)
    results["reference"] = {"tpcb_4_clients": tpcb, "hot_row_16_clients": hot_row}
    for part, key, reference in (
        ("ledger", "ratio_to_pgbench_tpcb", tpcb),
        ("hot_pod", "ratio_to_pgbench_hot_row", hot_row),
        ("pod_goal", "ratio_to_pgbench_hot_row", hot_row),
        ("http", "ratio_to_pgbench_tpcb", tpcb),
    ):
        if part in results:
            results[part][key] = ratio(results[part]["per_second"], reference)
    peer_transfers, peer_hot = _peer(results)
    for part, reference in (
        ("ledger", peer_transfers),
        ("hot_pod", peer_hot),
        ("pod_goal", peer_hot),
        ("http", peer_transfers),
    ):
        if part in results and reference:
            results[part]["vs_pgledger"] = ratio(results[part]["per_second"], reference)
    if "webhooks" in parts:
        from . import webhooks

        say(
            f"webhooks: {sizes.webhook_messages} deliveries by {sizes.webhook_threads} threads; transfers with "
            f"and without 3 endpoints per owner, {sizes.ledger_processes} processes"
        )
        results["webhooks"] = webhooks.run(
            messages=sizes.webhook_messages,
            threads=sizes.webhook_threads,
            wallets=sizes.webhook_wallets,
            processes=sizes.ledger_processes,
            seconds=sizes.ledger_seconds,
        )
    if "5" in parts:
        wallets = transfers.open_wallets(sizes.replay_wallets, fund=False)
        steps = []
        for total in sizes.replay_events:
            say(f"5. generating events up to {total:,}")
            generated = replay.generate(wallets=wallets, until=total)
            say(f"5. replay_events over {replay.event_count():,} events")
            raw = replay.raw_read()
            measured = replay.replay_command(target.ledger_url)
            steps.append(
                {
                    "events": raw["events"],
                    "generated": generated,
                    "raw": raw,
                    "replay": measured,
                    "ratio_to_raw": ratio(measured["per_second"], raw["per_second"]),
                }
            )
        results["replay"] = {"steps": steps}

    if "replica" in parts:
        from . import http, replica

        say(f"replica: GET /v1/wallets/{{id}}, {sizes.http_clients} clients, primary alone then with one replica")
        from crowdpay.keys import ensure_dev_keys

        ensure_dev_keys()
        results["replica_reads"] = replica.run(
            ledger_url=target.ledger_url,
            redis_url=config.redis_url(),
            wallets=transfers.open_owned_wallets(sizes.http_wallets),
            clients=sizes.http_clients,
            seconds=sizes.http_seconds,
        )

    if "admin" in parts:
        from . import admin

        say("admin: every back-office page's server time as an officer, over a seed_demo data set")
        results["admin"] = admin.run(smoke=smoke, reuse=args.admin_reuse, say=say)

    say("reconcile")
    results["sealer"] = _stop_sealer(sealer)
    connections.close_all()
    results["reconcile"] = _reconcile(target)
    results["finished_at"] = datetime.now(UTC).isoformat()

    with open(path, "w") as fh:
        json.dump(results, fh, indent=2, default=str)
    print()
    print(_table(results))
    if "admin" in results:
        from . import admin

        print()
        print(admin.table(results["admin"]))
    verdict = "PASSED" if results["reconcile"]["ok"] else "FAILED"
    print(f"\nreconcile after the run: {verdict}")
    if not results["reconcile"]["ok"]:
        for problem in results["reconcile"].get("problems", [])[:20]:
            print(f"  {problem}")
    print(f"figures written to {path}")
    return 0 if results["reconcile"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
