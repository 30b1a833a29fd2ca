"""Part 1, the peer: pgledger (a double-entry ledger written as PostgreSQL functions) under pgbench,
in the same run as pgbench's own reference and the ledger parts.

pgledger is third-party code kept unchanged in `../shared/peers/pgledger` (see its README there); it
is loaded from there at bench time into a database of its own and never copied into this tree. Per
transfer it locks both accounts in id order, inserts the transfer and two entries and updates both
balances, in one function call: no events, no chain, no limits. It is the figure the ledger's
transfers are compared with (`vs_pgledger`), as pgbench's TPC-B is the figure for the raw database.

The two workloads of the peer's README, `-M prepared`, for `Sizes.pgbench_seconds`:
- uncontended: 4 clients, a transfer of 1 between two distinct random accounts among 1,000;
- hot account: 16 clients, a transfer of 1 from a random account into account 1.
Both are run once untimed to warm the tables, then `VACUUM ANALYZE` (the server runs with autovacuum
off; on fresh tables without statistics pgledger measures less than half its warmed rate), then
measured.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

from . import pgbench_ref
from .config import ROOT, Sizes, Target

PEER_DIR = ROOT.parent / "shared" / "peers" / "pgledger"
SQL_FILES = ("ulid-to-uuid.sql", "uuid-to-ulid.sql", "pgledger.sql")  # the README's order
ACCOUNTS = 1000

# pgledger's account ids are text (prefixed ULIDs); pgbench draws integers. A two-column side table
# maps account number n to its id; the look-up is one primary-key probe inside the same statement.
SETUP_SQL = f"""\
CREATE TABLE bench_account (n int PRIMARY KEY, id text NOT NULL);
INSERT INTO bench_account (n, id)
SELECT n, (pgledger_create_account('a' || n, 'USD')).id FROM generate_series(1, {ACCOUNTS}) AS n;
"""

UNCONTENDED_SCRIPT = f"""\
\\set a random(1, {ACCOUNTS})
\\set b random(1, {ACCOUNTS - 1})
\\set b case when :b >= :a then :b + 1 else :b end
SELECT id FROM pgledger_create_transfer(
  (SELECT id FROM bench_account WHERE n = :a), (SELECT id FROM bench_account WHERE n = :b), 1);
"""

HOT_SCRIPT = f"""\
\\set a random(2, {ACCOUNTS})
SELECT id FROM pgledger_create_transfer(
  (SELECT id FROM bench_account WHERE n = :a), (SELECT id FROM bench_account WHERE n = 1), 1);
"""


def available() -> bool:
    return all((PEER_DIR / name).is_file() for name in SQL_FILES)


def database(target: Target) -> str:
    # Derived from pgbench's database name, so it contains "bench" too (config.target refuses others).
    return f"{target.pgbench_db}_pgledger"


def _psql(target: Target, dbname: str, *args: str) -> None:
    pgbench_ref._run(["psql", *target.libpq_args(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dbname, *args], target)


def load(target: Target) -> Target:
    """Re-create the peer's database and load pgledger into it in one transaction, with its accounts.
    Returns the target whose pgbench database is the peer's (what pgbench_ref's helpers run on)."""
    dbname = database(target)
    pgbench_ref._run(["dropdb", *target.libpq_args(), "--if-exists", "--force", dbname], target)
    pgbench_ref._run(["createdb", *target.libpq_args(), dbname], target)
    files = [arg for name in SQL_FILES for arg in ("-f", str(PEER_DIR / name))]
    _psql(target, dbname, "--single-transaction", *files)
    _psql(target, dbname, "-c", SETUP_SQL)
    return dataclasses.replace(target, pgbench_db=dbname)


def _workloads(peer: Target, seconds: int, *, measured: bool) -> dict:
    base = [pgbench_ref.pgbench_binary(), *peer.libpq_args(), "-M", "prepared", "-n"]
    figures = {}
    for key, clients, script in (
        ("transfers_4_clients", 4, UNCONTENDED_SCRIPT),
        ("hot_account_16_clients", 16, HOT_SCRIPT),
    ):
        with tempfile.NamedTemporaryFile("w", suffix=".sql", prefix=f"pgledger-{key}-") as fh:
            fh.write(script)
            fh.flush()
            args = [*base, "-c", str(clients), "-j", "2", "-f", fh.name]
            if measured:
                figures[key] = pgbench_ref._measure(key, args, peer, seconds)
            else:
                pgbench_ref._run([*args, "-T", str(seconds), peer.pgbench_db], peer)
    return figures


def run(target: Target, sizes: Sizes, *, warm_seconds: int = 5) -> dict:
    """Load the peer, warm it up, VACUUM ANALYZE, measure both workloads."""
    peer = load(target)
    _workloads(peer, min(warm_seconds, sizes.pgbench_seconds), measured=False)
    _psql(target, peer.pgbench_db, "-c", "VACUUM ANALYZE")
    figures = _workloads(peer, sizes.pgbench_seconds, measured=True)
    return {"source": str(Path(PEER_DIR)), "accounts": ACCOUNTS, "database": peer.pgbench_db, **figures}
