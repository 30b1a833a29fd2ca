"""`python -m bench.http_live`: part 4's POSTs through gunicorn, with the CPU each request cost the
machine, process by process (`/proc/<pid>/stat`): the gunicorn workers, the PostgreSQL backends of
the bench database, redis-server and this client. Optionally py-spy records the workers meanwhile.

Same setup as part 4 (`bench/http.py`: `crowdpay.settings.local_stack`, 8 client threads with
keep-alive, a fresh Idempotency-Key per POST); the bench database is re-created. Then GETs
(`GET /v1/wallets/{id}`) for the same time, measured the same way. Nothing here asserts a speed.

    python -m bench.http_live --seconds 15 [--py-spy out.txt] [--clients 8]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

from . import config


def _cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def _backends(dbname: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if cmdline.startswith("postgres: ") and f" {dbname} " in cmdline:
            pids.append(int(entry.name))
    return pids


def _pid_of(name: str) -> list[int]:
    done = subprocess.run(["pgrep", "-x", name], capture_output=True, text=True)
    return [int(p) for p in done.stdout.split()]


def _snapshot(groups: dict[str, list[int]]) -> dict[str, dict[int, float]]:
    return {group: {pid: _cpu(pid) for pid in pids} for group, pids in groups.items()}


def _phase(name, base, wallets, tokens, clients, seconds, master, dbname, py_spy):
    from .http import _clients, read_request, transfer_request
    from .stats import summary

    body = transfer_request(base, wallets, tokens) if name == "post" else read_request(base, wallets, tokens)
    # Warm every connection first (a backend started during the phase would count from zero, one
    # that ended would be lost): one untimed round of the same requests.
    _clients(clients, 1.0, body)
    groups = {
        "gunicorn": _children(master),
        "postgres": _backends(dbname),
        "redis": _pid_of("redis-server"),
    }
    spy = None
    if py_spy:
        spy = subprocess.Popen(
            [str(Path(os.sys.executable).with_name("py-spy")), "record", "--pid", str(master), "--subprocesses",
             "--format", "raw", "--rate", "250", "--nonblocking", "--gil", "--duration", str(int(seconds)),
             "--output", f"{py_spy}.{name}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    before, client_before = _snapshot(groups), time.process_time()
    latencies, errors, elapsed = _clients(clients, seconds, body)
    after, client_after = _snapshot(groups), time.process_time()
    if spy is not None:
        spy.wait(timeout=seconds + 60)
    count = len(latencies)
    figures = summary(latencies, elapsed)
    figures.update(errors=len(errors), error_samples=errors[:3])
    per_request = {
        group: round(sum(after[group][p] - before[group].get(p, 0.0) for p in after[group]) / count * 1000, 3)
        for group in groups
    }
    per_request["client"] = round((client_after - client_before) / count * 1000, 3)
    per_request["total"] = round(sum(per_request.values()), 3)
    figures["cpu_ms_per_request"] = per_request
    figures["load_average"] = os.getloadavg()
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.http_live", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--wallets", type=int, default=200)
    parser.add_argument("--py-spy", help="record the workers with py-spy (raw stacks) to this prefix")
    parser.add_argument("--json", help="write the figures here")
    args = parser.parse_args(argv)

    from .__main__ import _reset_ledger_database, _setup_django, _start_sealer, _stop_sealer

    target = config.target()
    _reset_ledger_database(target)
    _setup_django(target)
    sealer = _start_sealer(target)
    from django.db import connections

    from crowdpay.keys import ensure_dev_keys

    from . import http
    from .transfers import open_owned_wallets

    ensure_dev_keys()
    wallets = open_owned_wallets(args.wallets)
    tokens = {owner: http._bearer(owner) for _, owner in wallets}
    env = http.server_env(target.ledger_url, config.redis_url())
    logs = config.RESULTS / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    connections.close_all()
    results = {}
    with http.server(env, logs / "gunicorn-live.log") as base:
        master = _gunicorn_master(base)
        for phase in ("post", "get"):
            results[phase] = _phase(
                phase, base, wallets, tokens, args.clients, args.seconds, master, target.ledger_db, args.py_spy
            )
    results["ratio_post_to_get"] = round(results["post"]["per_second"] / results["get"]["per_second"], 3)
    results["sealer"] = _stop_sealer(sealer)
    print(json.dumps(results, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


def _gunicorn_master(base: str) -> int:
    """The gunicorn master serving `base`: the process listening on its port whose children are
    the workers (found through /proc: the listening socket's inode)."""
    port = int(base.rsplit(":", 1)[1])
    inodes = set()
    with open("/proc/net/tcp") as fh:
        for line in fh.readlines()[1:]:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                inodes.add(inode)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for fd in (entry / "fd").iterdir():
                link = os.readlink(fd)
                if link.startswith("socket:[") and link[8:-1] in inodes and _children(int(entry.name)):
                    return int(entry.name)
        except OSError:
            continue
    raise RuntimeError(f"no gunicorn master listens on port {port}")


if __name__ == "__main__":
    raise SystemExit(main())
