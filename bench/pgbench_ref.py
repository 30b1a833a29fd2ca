"""Part 1, the reference: PostgreSQL's own pgbench on the same server, in the same run.

TPC-B-like is itself a small bank transfer (three balance updates, one history insert). The hot-row
variant is the same transaction with every client on account 1: throughput is then bounded by how
long that one row stays locked, as a CrowdPod's is.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .config import Sizes, Target
from .stats import summary

HOT_ROW_SCRIPT = """\
\\set aid 1
\\set bid random(1, 1 * :scale)
\\set tid random(1, 10 * :scale)
\\set delta random(-5000, 5000)
BEGIN;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
END;
"""


def pgbench_binary() -> str:
    found = shutil.which("pgbench") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)
    if not found:
        raise SystemExit("pgbench is missing: apt-get install -y postgresql-contrib (or postgresql-client)")
    return str(found)


def _run(cmd: list[str], target: Target) -> str:
    done = subprocess.run(cmd, env=target.env(), capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout + done.stderr


def _latencies(log_dir: Path, prefix: str) -> list[float]:
    """Per-transaction latencies from pgbench's --log files: the third field, in microseconds."""
    samples: list[float] = []
    for path in log_dir.glob(f"{prefix}.*"):
        for line in path.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3:
                samples.append(int(fields[2]) / 1e6)
    return samples


def _measure(label: str, args: list[str], target: Target, seconds: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="pgbench-") as tmp:
        out = _run([*args, "--log", f"--log-prefix={tmp}/{label}", "-T", str(seconds), target.pgbench_db], target)
        match = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
        if not match:
            raise RuntimeError(f"could not read pgbench's tps:\n{out}")
        samples = _latencies(Path(tmp), label)
    figures = summary(samples, seconds)
    # pgbench's own tps excludes connection set-up; it is the figure the ratios use.
    figures["per_second"] = float(match.group(1))
    return figures


def run(target: Target, sizes: Sizes) -> dict:
    """Initialise pgbench's database, then measure."""
    pgbench = pgbench_binary()
    base = [pgbench, *target.libpq_args()]
    _run(["dropdb", *target.libpq_args(), "--if-exists", "--force", target.pgbench_db], target)
    _run(["createdb", *target.libpq_args(), target.pgbench_db], target)
    _run([*base, "-i", "-q", "-s", str(sizes.pgbench_scale), target.pgbench_db], target)
    return measure(target, sizes)


def measure(target: Target, sizes: Sizes) -> dict:
    """Both reference figures on the database `run` initialised."""
    base = [pgbench_binary(), *target.libpq_args()]
    tpcb = _measure("tpcb", [*base, "-c", "4", "-j", "2", "-M", "prepared"], target, sizes.pgbench_seconds)
    with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix="hot-row-") as script:
        script.write(HOT_ROW_SCRIPT)
        script.flush()
        hot = _measure(
            "hot",
            [*base, "-c", "16", "-j", "2", "-M", "prepared", "-f", script.name],
            target,
            sizes.pgbench_seconds,
        )
    return {"scale": sizes.pgbench_scale, "tpcb_4_clients": tpcb, "hot_row_16_clients": hot}
