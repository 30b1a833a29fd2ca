"""A real streaming replica of the local PostgreSQL, for the read-replica tests and the bench.

`pg_basebackup -R -X stream` copies the primary (the cluster on 127.0.0.1:5432 that the tests use)
into a temporary directory and writes `standby.signal` and `primary_conninfo`; `pg_ctl` starts it
on a free port (5434 when free) as a hot standby that streams from the primary. As `make
reliability` does with its private cluster, as root the files and the server belong to the
`postgres` OS user (PostgreSQL refuses to run as root).

The primary must accept replication connections from 127.0.0.1: `.ci/services` adds
`host replication all 127.0.0.1/32 trust` to its pg_hba.conf when it is missing (Debian's default
has none), and `max_wal_senders` must be above 0 (the default is 10).

    python -m crowdpay.tests.replica   # start one and print its URL; Ctrl-C stops it

The pytest fixture `streaming_replica` (session-scoped) skips, loudly, only when the PostgreSQL
server binaries are not installed; CI counts a skip as a failure (conftest.py).
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

PRIMARY_HOST = os.environ.get("REPLICA_TEST_PRIMARY_HOST", "127.0.0.1")
PRIMARY_PORT = int(os.environ.get("REPLICA_TEST_PRIMARY_PORT", "5432"))


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    which = shutil.which("pg_basebackup")
    return Path(which).parent if which and shutil.which("pg_ctl") else None


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port(preferred: int = 5434) -> int:
    if _port_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamingReplica:
    """One hot standby of the primary in a directory of its own; `stop()` removes nothing but the
    server, `close()` the directory too."""

    def __init__(self, *, port: int | None = None, log_statements: bool = True) -> None:
        self.log_statements = log_statements
        bin_dir = pg_bin()
        if bin_dir is None:
            raise RuntimeError("pg_basebackup / pg_ctl are not installed (Debian: postgresql-15)")
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="crowdpay-replica-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self.port = port or _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            self.as_user = ["runuser", "-u", "postgres", "--"]
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)

    def _run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        run = subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, cwd=self.root, check=False
        )
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed ({run.returncode}):\n{run.stderr[-3000:]}")
        return run

    def url(self, dbname: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{dbname}"

    def create(self) -> StreamingReplica:
        """Copy the primary (streaming the WAL written meanwhile) and start the standby; on any
        failure nothing is left behind (no server, no directory)."""
        try:
            return self._create()
        except BaseException:
            self.close()
            raise

    def _create(self) -> StreamingReplica:
        for attempt in range(3):
            try:
                self._run(
                    str(self.bin / "pg_basebackup"), "-h", PRIMARY_HOST, "-p", str(PRIMARY_PORT), "-U", "postgres",
                    "-D", str(self.data), "-R", "-X", "stream", "-c", "fast", "--no-sync",
                )  # fmt: skip
                break
            except RuntimeError:
                # a shared server's other users may cut the WAL sender (pg_terminate_backend): copy again
                shutil.rmtree(self.data, ignore_errors=True)
                if attempt == 2:
                    raise
                time.sleep(2)
        # Debian keeps postgresql.conf and pg_hba.conf in /etc, outside the data directory the
        # backup copied: the standby gets its own, with every statement logged (the routing tests
        # read which statements reached it and from which application).
        (self.data / "postgresql.conf").write_text(
            f"port = {self.port}\n"
            "listen_addresses = '127.0.0.1'\n"
            f"unix_socket_directories = '{self.root}'\n"
            "hot_standby = on\n"
            "max_connections = 100\n"
            "fsync = off\n"
            f"log_statement = '{'all' if self.log_statements else 'none'}'\n"
            "log_line_prefix = '%m [%a] '\n"
            "max_standby_streaming_delay = 30s\n"
        )
        (self.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        (self.data / "pg_ident.conf").write_text("")
        if self.as_user:
            pw = pwd.getpwnam("postgres")
            for name in ("postgresql.conf", "pg_hba.conf", "pg_ident.conf"):
                os.chown(self.data / name, pw.pw_uid, pw.pw_gid)
        self.start()
        self.wait_caught_up(timeout=180)  # a busy shared server may have written a lot meanwhile
        return self

    def start(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "-t", "120", "start")
        deadline = time.monotonic() + 60
        while True:
            try:
                self.query("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def stop(self, mode: str = "fast") -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", timeout=120)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def query(self, sql: str, dbname: str = "postgres") -> tuple:
        with psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=3) as conn:
            row = conn.execute(sql).fetchone()
        assert row is not None, sql
        return row

    def pause_replay(self) -> None:
        self.query("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.query("SELECT pg_wal_replay_resume()")

    def replay_lsn(self) -> str:
        return self.query("SELECT pg_last_wal_replay_lsn()::text")[0]

    def wait_caught_up(self, timeout: float = 60) -> None:
        """Until the standby has replayed everything the primary had written when this was called."""
        with psycopg.connect(
            f"postgres://postgres@{PRIMARY_HOST}:{PRIMARY_PORT}/postgres", autocommit=True, connect_timeout=3
        ) as conn:
            row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout
        while True:
            reached = self.query(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn")[0]
            if reached:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"the replica did not reach {target} in {timeout:.0f} s")
            time.sleep(0.1)

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines() if self.log.exists() else []


@pytest.fixture(scope="session")
def streaming_replica(django_db_setup) -> Iterator[StreamingReplica]:
    """A streaming replica of the local PostgreSQL, taken after the test database exists (it would
    follow it anyway: CREATE DATABASE and migrations are WAL too)."""
    if pg_bin() is None:
        message = "pg_basebackup is not installed: THE READ-REPLICA TESTS DID NOT RUN (apt-get install postgresql-15)"
        print(f"\n\n!!! {message} !!!\n", file=sys.stderr)
        pytest.skip(message)
    replica = StreamingReplica().create()
    try:
        yield replica
    finally:
        replica.close()


if __name__ == "__main__":
    standby = StreamingReplica().create()
    print(f"replica of {PRIMARY_HOST}:{PRIMARY_PORT} on port {standby.port} ({standby.root}); Ctrl-C stops it")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        standby.close()
