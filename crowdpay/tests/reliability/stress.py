"""Concurrent API clients moving money among the stack's wallets while faults are injected, then the
proof: every accepted operation ended (or waits in review), each distinct Idempotency-Key had
exactly one effect, every wallet holds what the accepted operations say, and `reconcile` passes.

Each client is one owner (its own token) with a few wallets; the first wallets are CrowdPods that
every client pays into (the hot rows). Some requests are sent again with the same key, some are
abandoned by the client mid-flight (a read timeout of a few milliseconds: the server carries on).
A request whose outcome the client does not know is re-sent with its key at the end, as a real
client would, until it gets an answer.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx
import psycopg

from .processes import Stack

SCOPES = "wallet:create wallet:read wallet:credit wallet:debit wallet:transfer"
SEED_AMOUNT = 1000_00
HANG_SECONDS = 15.0  # an answer slower than this counts as the service hanging
TERMINAL = ("SUCCEEDED", "FAILED")
# the states a saga leaves only by the worker's hand (PAYOUT_REQUESTED and IN_REVIEW wait on people)
WORKER_DRIVEN = ("STARTED", "APPROVED", "CONFIRMED", "FUNDS_HELD", "QUOTED", "COMPENSATING")


@dataclass
class Config:
    clients: int = 8
    seconds: float = 10.0
    wallets: int = 10
    pods: int = 1
    faults: list[tuple[float, str, float]] = field(default_factory=list)  # (at, kind, duration)
    seed: int = 7
    drain_seconds: float = 900.0
    verbose: bool = False
    worker_concurrency: int = 2
    payout_fail_every: int = 7


@dataclass
class Intent:
    """One distinct Idempotency-Key: one operation the client means to happen once."""

    key: str
    client: int
    kind: str  # credit | debit | transfer
    path: str
    body: dict
    wallet: str
    counterparty: str | None
    amount: int
    outcome: str = "unknown"  # accepted | refused | unknown
    status: int | None = None
    operation_id: str | None = None
    sends: int = 0


@dataclass
class Figures:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    aborted: int = 0  # client gave up on purpose (dropped connection)
    resent_same_key: int = 0
    replays_verified: int = 0
    replay_mismatches: int = 0
    transport_errors: int = 0
    hung: int = 0
    max_latency: float = 0.0
    max_latency_in_outage: float = 0.0
    non_problem_errors: int = 0  # a 4xx/5xx that is not application/problem+json
    unavailable_codes: Counter = field(default_factory=Counter)
    faults: list[dict] = field(default_factory=list)
    recoveries: list[float | None] = field(default_factory=list)  # per worker kill (None: not within 600 s)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    def __init__(self, stack: Stack, index: int, figures: Figures, windows: list) -> None:
        self.index = index
        self.sub = str(uuid.uuid4())
        self.token = stack.keys.token(self.sub, SCOPES, ttl=6 * 3600)
        self.base = stack.base_url
        self.figures = figures
        self.windows = windows
        self.http = httpx.Client(base_url=self.base, timeout=httpx.Timeout(HANG_SECONDS + 5, connect=5))
        self.wallets: list[str] = []

    def headers(self, key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", "X-Forwarded-Proto": "https"}
        if key:
            headers["Idempotency-Key"] = key
        return headers

    def request(self, method: str, path: str, *, key: str | None = None, body=None, abort: float | None = None):
        """Send one request; returns the response, or None when there was none (aborted, failed)."""
        started = time.monotonic()
        timeout = httpx.Timeout(abort, connect=5) if abort else self.http.timeout
        response = None
        try:
            response = self.http.request(method, path, json=body, headers=self.headers(key), timeout=timeout)
        except httpx.TimeoutException:
            with self.figures.lock:
                if abort:
                    self.figures.aborted += 1
                else:
                    self.figures.hung += 1
        except httpx.TransportError:
            with self.figures.lock:
                self.figures.transport_errors += 1
        elapsed = time.monotonic() - started
        with self.figures.lock:
            self.figures.requests += 1
            if response is not None:
                self.figures.statuses[response.status_code] += 1
                self.figures.max_latency = max(self.figures.max_latency, elapsed)
                if any(a <= started <= b for a, b in list(self.windows)):
                    self.figures.max_latency_in_outage = max(self.figures.max_latency_in_outage, elapsed)
                if response.status_code >= 400:
                    if response.headers.get("content-type", "").split(";")[0] != "application/problem+json":
                        self.figures.non_problem_errors += 1
                    if response.status_code == 503:
                        self.figures.unavailable_codes[_code(response)] += 1
                if elapsed > HANG_SECONDS:
                    self.figures.hung += 1
        return response

    def send(self, intent: Intent, *, abort: float | None = None) -> None:
        intent.sends += 1
        response = self.request("POST", intent.path, key=intent.key, body=intent.body, abort=abort)
        settle(intent, response)


def _code(response: httpx.Response) -> str:
    try:
        return response.json().get("code", "?")
    except ValueError:
        return "not-json"


def answered_operation(response: httpx.Response) -> str | None:
    """The operation a money write answered: the Operation itself (200 done, 202 pending) or the
    one a 422 refusal carries (it FAILED within the request: a saga row exists all the same)."""
    if response.status_code in (200, 202):
        return response.json()["id"]
    if response.status_code == 422:
        try:
            return response.json().get("operation_id")
        except ValueError:
            return None
    return None


def settle(intent: Intent, response: httpx.Response | None) -> None:
    """Fold one answer into what the client knows of its intent."""
    if response is None:
        return
    status = response.status_code
    operation_id = answered_operation(response)
    if operation_id is not None:
        if intent.operation_id and intent.operation_id != operation_id:
            raise AssertionError(f"key {intent.key} answered two operations")
        intent.outcome, intent.status, intent.operation_id = "accepted", status, operation_id
    elif 400 <= status < 500 and status not in (409, 429) and intent.outcome != "accepted":
        intent.outcome, intent.status = "refused", status
    elif intent.outcome == "unknown":
        intent.status = status  # 409, 429, 5xx: not an answer; the key is sent again later


class Run:
    def __init__(self, stack: Stack, config: Config) -> None:
        self.stack = stack
        self.config = config
        self.rng = random.Random(config.seed)
        self.figures = Figures()
        self.windows: list[tuple[float, float]] = []  # outages, in time.monotonic()
        self.clients = [Client(stack, i, self.figures, self.windows) for i in range(config.clients)]
        self.wallets: list[str] = []
        self.pods: list[str] = []
        self.owner_of: dict[str, Client] = {}
        self.intents: list[Intent] = []
        self.intents_lock = threading.Lock()
        self.seed_total = 0
        self.drain_seconds = 0.0
        self.verbose = config.verbose
        self.watchers: list[threading.Thread] = []

    # --- set-up ---------------------------------------------------------------------------------

    def open_wallets(self) -> None:
        pii = self.stack.pii_markers
        for n in range(self.config.wallets):
            client = self.clients[n % len(self.clients)]
            kind = "POD" if n < self.config.pods else "USER"
            body = {"kind": kind, "base_currency": "USD", "metadata": {"contact": pii[0], "phone": pii[1], "n": n}}
            response = client.http.post("/v1/wallets", json=body, headers=client.headers(str(uuid.uuid4())))
            assert response.status_code == 201, response.text
            wallet_id = response.json()["id"]
            client.wallets.append(wallet_id)
            self.wallets.append(wallet_id)
            self.owner_of[wallet_id] = client
            if kind == "POD":
                self.pods.append(wallet_id)
        seeds = []
        for wallet_id in self.wallets:
            client = self.owner_of[wallet_id]
            intent = self._intent(client, "credit", wallet_id, None, SEED_AMOUNT)
            client.send(intent)
            assert intent.outcome == "accepted", intent
            seeds.append(intent)
        self.seed_total = SEED_AMOUNT * len(seeds)
        self.wait_terminal([i.operation_id for i in seeds], timeout=120)

    def _intent(self, client: Client, kind: str, wallet: str, counterparty: str | None, amount: int) -> Intent:
        key = str(uuid.uuid4())
        if kind == "credit":
            path = f"/v1/wallets/{wallet}/credit"
            body = {"amount": amount, "currency": "USD", "source": "CARD", "reference": f"ch_test_ok_{key}"}
        elif kind == "debit":
            path = f"/v1/wallets/{wallet}/debit"
            body = {"amount": amount, "currency": "USD", "destination": f"iban:REL{client.index:04d}"}
        else:
            path = "/v1/transfer"
            body = {"from_wallet_id": wallet, "to_wallet_id": counterparty, "amount": amount, "currency": "USD",
                    "memo": f"pod share {self.stack.pii_markers[0]}"}  # fmt: skip
        intent = Intent(key, client.index, kind, path, body, wallet, counterparty, amount)
        with self.intents_lock:
            self.intents.append(intent)
        return intent

    # --- the load -------------------------------------------------------------------------------

    def client_loop(self, client: Client, deadline: float, seed: int) -> None:
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            draw = rng.random()
            own = rng.choice(client.wallets)
            if draw < 0.10:
                client.request("GET", f"/v1/wallets/{own}")
                continue
            if draw < 0.45:
                intent = self._intent(client, "credit", own, None, rng.randint(1_00, 500_00))
            elif draw < 0.60:
                intent = self._intent(client, "debit", own, None, rng.randint(1_00, 50_00))
            else:
                others = [w for w in self.wallets if w != own]
                hot = [p for p in self.pods if p != own]
                target = rng.choice(hot) if hot and rng.random() < 0.5 else rng.choice(others)
                intent = self._intent(client, "transfer", own, target, rng.randint(1_00, 100_00))
            if rng.random() < 0.08:
                # the client drops the connection before the answer; half the time it retries at once
                client.send(intent, abort=rng.uniform(0.002, 0.05))
                if rng.random() < 0.5:
                    with self.figures.lock:
                        self.figures.resent_same_key += 1
                    client.send(intent)
            else:
                client.send(intent)
                if intent.outcome == "accepted" and rng.random() < 0.08:
                    # a retry of a request that did get through: the stored answer, not a second effect
                    with self.figures.lock:
                        self.figures.resent_same_key += 1
                    first = intent.operation_id
                    response = client.request("POST", intent.path, key=intent.key, body=intent.body)
                    if response is not None and answered_operation(response) is not None:
                        same = answered_operation(response) == first and response.headers.get("idempotent-replayed")
                        with self.figures.lock:
                            self.figures.replays_verified += bool(same)
                            self.figures.replay_mismatches += not same
            if intent.outcome == "unknown" and intent.status == 503:
                time.sleep(rng.uniform(0.2, 0.6))  # back off while a dependency is down

    def inject_faults(self, start: float, stop: threading.Event) -> None:
        """Each fault at its time on its own thread (a slow worker restart does not delay a Redis
        outage); the worker's kills and restarts are serialised."""
        worker_lock = threading.Lock()

        def inject(at: float, kind: str, duration: float) -> None:
            if stop.wait(max(0.0, start + at - time.monotonic())):
                return
            began = time.monotonic()
            if kind == "kill_worker":
                with worker_lock:
                    began = time.monotonic()  # when the kill happened, after any restart before it
                    self.stack.kill_worker()
                    watcher = threading.Thread(target=self.watch_recovery, args=(began,), daemon=True)
                    watcher.start()
                    self.watchers.append(watcher)
                    time.sleep(duration)
                    self.stack.start_worker()
            elif kind == "restart_postgres":
                self.windows.append((began, began + 30))  # closed below
                self.stack.postgres.restart()
                self.windows[-1] = (began, time.monotonic() + 1)
            elif kind == "stop_redis":
                self.windows.append((began, began + duration + 1))
                self.stack.redis.stop()
                time.sleep(duration)
                self.stack.redis.start()
            else:
                raise ValueError(kind)
            with self.figures.lock:
                self.figures.faults.append(
                    {"kind": kind, "at": round(began - start, 1), "took": round(time.monotonic() - began, 1)}
                )

        threads = [threading.Thread(target=inject, args=fault, daemon=True) for fault in self.config.faults]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)

    def watch_recovery(self, killed: float, timeout: float = 600) -> None:
        """After a kill -9 of the worker: the seconds until every saga it left in a worker-driven
        state (the ones it was running among them) has ended or waits on a person (payout, review)."""
        try:
            with self.db() as conn:
                left = [
                    row[0]
                    for row in conn.execute(
                        "SELECT id::text FROM sagas_saga WHERE state = ANY(%s)", [list(WORKER_DRIVEN)]
                    ).fetchall()
                ]
                while left and time.monotonic() - killed < timeout:
                    time.sleep(0.5)
                    rows = conn.execute(
                        "SELECT id::text FROM sagas_saga WHERE id = ANY(%s::uuid[]) AND state = ANY(%s)",
                        [left, list(WORKER_DRIVEN)],
                    ).fetchall()
                    left = [row[0] for row in rows]
        except psycopg.Error:  # the database restarts meanwhile (another fault): try again
            time.sleep(1)
            return self.watch_recovery(killed, timeout - (time.monotonic() - killed))
        with self.figures.lock:
            self.figures.recoveries.append(None if left else round(time.monotonic() - killed, 1))

    def load(self) -> None:
        start = time.monotonic()
        deadline = start + self.config.seconds
        stop = threading.Event()
        injector = threading.Thread(target=self.inject_faults, args=(start, stop), daemon=True)
        injector.start()
        threads = [
            threading.Thread(target=self.client_loop, args=(c, deadline, self.config.seed * 1000 + c.index))
            for c in self.clients
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        injector.join(timeout=120)  # a fault still in progress (a restart) finishes first
        stop.set()
        if self.stack.worker is None or self.stack.worker.poll() is not None:
            self.stack.start_worker()

    # --- the end --------------------------------------------------------------------------------

    def resolve_unknown(self, timeout: float = 120) -> int:
        """Send every key whose outcome the client does not know again until it gets an answer."""
        deadline = time.monotonic() + timeout
        pending = [i for i in self.intents if i.outcome == "unknown"]
        resent = len(pending)
        while pending and time.monotonic() < deadline:
            for intent in pending:
                self.clients[intent.client].send(intent)
            pending = [i for i in pending if i.outcome == "unknown"]
            if pending:
                time.sleep(1)
        if pending:
            raise AssertionError(f"{len(pending)} requests never got an answer: {pending[:3]}")
        return resent

    def db(self):
        return psycopg.connect(self.stack.postgres.url.replace("postgres://", "postgresql://"), autocommit=True)

    def states(self, ids: list[str]) -> dict[str, str]:
        with self.db() as conn:
            rows = conn.execute("SELECT id::text, state FROM sagas_saga WHERE id = ANY(%s::uuid[])", [ids]).fetchall()
        return dict(rows)

    def wait_terminal(self, ids: list[str], *, timeout: float, stall: float = 120) -> dict[str, str]:
        """Settle the payout queue as finance staff would, until every operation has ended. Fails
        when nothing moved for `stall` seconds (a wedged worker), or after `timeout` in all."""
        started = last_move = time.monotonic()
        last_open, last_print = None, 0.0
        states: dict[str, str] = {}
        while time.monotonic() - started < timeout and time.monotonic() - last_move < stall:
            states = self.states(ids)
            open_ = [i for i in ids if states.get(i) not in (*TERMINAL, "IN_REVIEW")]
            if not open_:
                self.drain_seconds = round(time.monotonic() - started, 1)
                return states
            if last_open is None or len(open_) < last_open:
                last_open, last_move = len(open_), time.monotonic()
            if self.verbose and time.monotonic() - last_print > 15:
                last_print = time.monotonic()
                print(f"  drain: {dict(Counter(states.get(i, 'missing') for i in open_))}", flush=True)
            if any(states.get(i) == "PAYOUT_REQUESTED" for i in open_):
                self.stack.python(
                    "crowdpay.tests.reliability.finance", "--fail-every", str(self.config.payout_fail_every)
                )
            time.sleep(1)
        stuck = Counter(states.get(i, "missing") for i in ids if states.get(i) not in (*TERMINAL, "IN_REVIEW"))
        tail = self.stack.logs().get("worker.log", "")[-4000:]
        raise AssertionError(
            f"operations still running after {time.monotonic() - started:.0f} s: {dict(stuck)}\n"
            f"worker log tail:\n{tail}"
        )

    def check(self, states: dict[str, str]) -> dict:
        """The proof, from the database itself. Returns the figures (money lost/duplicated must be 0)."""
        accepted = [i for i in self.intents if i.outcome == "accepted"]
        by_saga = {i.operation_id: i for i in accepted}
        with self.db() as conn:
            sagas = {
                row[0]: row[1:]
                for row in conn.execute("SELECT id::text, reference, state, kind FROM sagas_saga").fetchall()
            }
            effects = Counter()
            for kind, key in (("WalletCredited", "saga_id"), ("WalletDebited", "saga_id"),
                              ("TransferCompleted", "transfer_id")):  # fmt: skip
                for saga_id, n in conn.execute(
                    "SELECT data->>%s, count(*) FROM wallets_event WHERE type = %s AND data->>%s IS NOT NULL "
                    "GROUP BY 1",
                    [key, kind, key],
                ).fetchall():
                    effects[saga_id] += n
            balances = {
                w: (p, h)
                for w, p, h in conn.execute(
                    "SELECT wallet_id::text, posted, held FROM wallets_balance WHERE currency = 'USD'"
                ).fetchall()
            }
            house = {
                account: int(total)  # numeric sums come back as Decimal
                for account, total in conn.execute(
                    "SELECT account, sum(amount) FROM wallets_posting WHERE wallet_id IS NULL GROUP BY account"
                ).fetchall()
            }
        problems: list[str] = []
        subs = {c.index: c.sub for c in self.clients}
        # 1. every accepted operation exists under its key and has ended (or waits in review)
        lost = [i for i in accepted if i.operation_id not in sagas]
        problems += [f"accepted operation {i.operation_id} has no saga" for i in lost]
        for intent in accepted:
            row = sagas.get(intent.operation_id)
            if row and row[0] != f"{subs[intent.client]}:{intent.key}":
                problems.append(f"operation {intent.operation_id} answered key {intent.key} but is {row[0]}")
        not_ended = [i for i in accepted if states.get(i.operation_id) not in (*TERMINAL, "IN_REVIEW")]
        problems += [f"operation {i.operation_id} is {states.get(i.operation_id)}" for i in not_ended]
        # 2. no saga that no accepted key explains (a refused request that moved money anyway)
        phantom = [s for s in sagas if s not in by_saga]
        problems += [f"saga {s} ({sagas[s][0]}) matches no accepted request" for s in phantom]
        # 3. effects per distinct key: exactly one when it succeeded, none when it failed
        duplicated = missing = 0
        dup_money = 0
        for saga_id, intent in by_saga.items():
            want = 1 if states.get(saga_id) == "SUCCEEDED" else 0
            got = effects.get(saga_id, 0)
            if got != want:
                problems.append(f"{intent.kind} {saga_id} ({states.get(saga_id)}) has {got} effects, not {want}")
                duplicated += got > want
                missing += got < want
                dup_money += abs(got - want) * intent.amount
        # 4. money: each wallet holds its seed plus what its succeeded operations moved
        expected = dict.fromkeys(self.wallets, 0)
        credits = debits = 0
        for saga_id, intent in by_saga.items():
            if states.get(saga_id) != "SUCCEEDED":
                continue
            if intent.kind == "credit":
                expected[intent.wallet] += intent.amount
                credits += intent.amount
            elif intent.kind == "debit":
                expected[intent.wallet] -= intent.amount
                debits += intent.amount
            else:
                expected[intent.wallet] -= intent.amount
                expected[intent.counterparty] += intent.amount
        wallet_diff = sum(abs(expected[w] - balances.get(w, (0, 0))[0]) for w in self.wallets)
        held = sum(balances.get(w, (0, 0))[1] for w in self.wallets)
        in_review = sum(1 for i in accepted if states.get(i.operation_id) == "IN_REVIEW")
        if wallet_diff:
            problems.append(f"wallet balances differ from the accepted operations by {wallet_diff} minor units")
        if held and not in_review:
            problems.append(f"{held} minor units still held with every operation ended")
        house_diff = abs(house.get("funding:USD", 0) + credits) + abs(house.get("payouts:USD", 0) - debits)
        if house_diff:
            problems.append(f"house accounts differ by {house_diff}: {house} vs credits {credits} debits {debits}")
        # 5. the ledger's own proofs
        for command in ("reconcile", "verify_events"):
            result = self.stack.manage(command, check=False, timeout=300)
            if result.returncode != 0:
                problems.append(f"{command} failed: {(result.stdout + result.stderr)[-2000:]}")
        # 6. no token and no PII in any log line
        tokens = [c.token for c in self.clients]
        for name, text in self.stack.logs().items():
            for line in text.splitlines():
                if any(t in line for t in tokens) or any(m in line for m in self.stack.pii_markers):
                    problems.append(f"{name} leaks a token or PII: {line[:200]}")
                    break
        statuses = Counter(states.get(i.operation_id) for i in accepted)
        return {
            "operations_attempted": len(self.intents),
            "operations_accepted": len(accepted),
            "operations_refused": sum(1 for i in self.intents if i.outcome == "refused"),
            "operation_states": dict(statuses),
            "http_requests": self.figures.requests,
            "http_statuses": dict(sorted(self.figures.statuses.items())),
            "http_5xx_other_than_503": sum(n for s, n in self.figures.statuses.items() if s >= 500 and s != 503),
            "http_503": self.figures.statuses.get(503, 0),
            "http_503_codes": dict(self.figures.unavailable_codes),
            "errors_not_problem_json": self.figures.non_problem_errors,
            "dropped_connections": self.figures.aborted,
            "resent_same_key": self.figures.resent_same_key,
            "replays_verified": self.figures.replays_verified,
            "replay_mismatches": self.figures.replay_mismatches,
            "transport_errors": self.figures.transport_errors,
            "hung_requests": self.figures.hung,
            "max_latency_s": round(self.figures.max_latency, 2),
            "max_latency_in_outage_s": round(self.figures.max_latency_in_outage, 2),
            "faults_injected": self.figures.faults,
            "duplicated_effects": duplicated,
            "missing_effects": missing,
            "money_lost_or_duplicated": wallet_diff + house_diff + dup_money,
            "lost_or_stuck_operations": len(lost) + len(not_ended),
            "phantom_operations": len(phantom),
            "problems": problems,
        }


def run(config: Config, *, stack: Stack | None = None) -> dict:
    """Start a private stack (unless given one), load it, inject faults, resolve, drain, check."""
    own = stack is None
    stack = stack or Stack(web_threads=max(16, config.clients), worker_concurrency=config.worker_concurrency).start()
    try:
        run = Run(stack, config)
        began = time.monotonic()
        run.open_wallets()
        run.load()
        resolved = run.resolve_unknown()
        accepted = [i.operation_id for i in run.intents if i.outcome == "accepted"]
        states = run.wait_terminal(accepted, timeout=config.drain_seconds)
        for watcher in run.watchers:
            watcher.join(timeout=600)
        report = run.check(states)
        recoveries = run.figures.recoveries
        # a figure, not a check (a backlog under the load adds its own wait); stuck sagas fail above
        report["recovery_after_worker_kill_s"] = {
            "max": max((r for r in recoveries if r is not None), default=None),
            "kills": len(recoveries),
            "each": recoveries,
        }
        report["resolved_after_the_load"] = resolved
        report["clients"], report["wallets"], report["seconds"] = config.clients, config.wallets, config.seconds
        report["drain_after_load_s"] = run.drain_seconds
        report["wall_clock_s"] = round(time.monotonic() - began, 1)
        return report
    finally:
        if own:
            stack.close()


def print_report(title: str, report: dict) -> None:
    print(f"\n== {title}")
    recovery = report.get("recovery_after_worker_kill_s")
    if recovery and recovery["kills"]:
        print(f"  recovery after worker kill: max {recovery['max']} s over {recovery['kills']} kills")
    for key, value in report.items():
        if key == "problems":
            continue
        print(f"  {key:28} {json.dumps(value) if isinstance(value, dict | list) else value}")
    print(f"  {'problems':28} {len(report['problems'])}")
    for problem in report["problems"][:20]:
        print(f"    - {problem}")
