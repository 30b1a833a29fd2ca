"""Real-time risk score, 0 (clean) to 100.

The built-in scorer adds points for each fraud signal it sees. The rules are pure functions of
`Facts`, which `compliance.screening` reads in one query (indexed reads of recent rows: the wallet's
stored assessments, the owner's wallets and balances; never a wallet's whole history):

| signal | points | when |
|---|---|---|
| `amount_spike` | 35 | amount above 5 times the median of the wallet's last 50 approved amounts (3 or more) |
| `large_first_amounts` | 20 | fewer than 3 approved amounts, and this one above RISK_LARGE_AMOUNT |
| `rapid_succession` | 25 | 5 or more screenings of the wallet in the last 10 minutes |
| `young_wallet` | 15 | the wallet is less than 24 hours old |
| `unusual_currency` | 15 | none of the owner's wallets holds or is based in this currency |
| `new_counterparty` | 10 | a transfer to a wallet this one was never approved to pay |

When `settings.RISK_SERVICE_ENDPOINT` is set, `POST {endpoint}/score` (httpx, with
RISK_SERVICE_TIMEOUT_SECONDS) answers `{"score": 0-100, "reasons": [...]}` and is given the rule
score too; if it times out, fails, or answers nonsense, the rule score stands (source
`rules-fallback`, with the failure among the reasons). Never call this inside a transaction.
"""

from __future__ import annotations

import logging
import statistics
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from django.conf import settings

log = logging.getLogger(__name__)

SPIKE_FACTOR = 5
HISTORY = 50
RAPID_WINDOW = timedelta(minutes=10)
RAPID_COUNT = 5
YOUNG = timedelta(hours=24)


@dataclass(frozen=True)
class Score:
    score: int
    reasons: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    source: str = "rules"


@dataclass(frozen=True)
class Facts:
    """What the rules read, gathered by `compliance.screening` in one query before they run."""

    young: bool  # the wallet is less than YOUNG old
    recent_screenings: int  # screenings of the wallet in the last RAPID_WINDOW
    currency_known: bool  # one of the owner's wallets is based in, or holds, the currency
    counterparty_seen: bool  # this wallet was approved to pay the counterparty before
    # the wallet's last HISTORY approved amounts in the currency (in no particular order: the rules
    # take their count and median)
    approved_amounts: tuple[int, ...] = ()


@dataclass
class Subject:
    operation: str
    wallet_id: uuid.UUID
    owner_id: uuid.UUID
    amount: int
    currency: str
    counterparty_wallet_id: uuid.UUID | None
    saga_id: uuid.UUID | None
    now: datetime
    facts: Facts
    points: list[tuple[str, int, str]] = field(default_factory=list)

    def add(self, signal: str, points: int, reason: str) -> None:
        self.points.append((signal, points, reason))


def _amount_vs_history(s: Subject) -> None:
    recent = s.facts.approved_amounts
    large = getattr(settings, "RISK_LARGE_AMOUNT", 2000_00)
    if len(recent) >= 3:
        usual = statistics.median(recent)
        if s.amount > SPIKE_FACTOR * usual:
            s.add("amount_spike", 35, f"amount {s.amount} is over {SPIKE_FACTOR} times the wallet's usual {int(usual)}")
    elif s.amount > large:
        s.add("large_first_amounts", 20, f"amount {s.amount} above {large} with little history")


def _rapid_succession(s: Subject) -> None:
    count = s.facts.recent_screenings
    if count >= RAPID_COUNT:
        s.add("rapid_succession", 25, f"{count} operations in the last {int(RAPID_WINDOW.total_seconds() // 60)} min")


def _young_wallet(s: Subject) -> None:
    if s.facts.young:
        s.add("young_wallet", 15, "the wallet is less than 24 hours old")


def _unusual_currency(s: Subject) -> None:
    if not s.facts.currency_known:
        s.add("unusual_currency", 15, f"the owner has never used {s.currency}")


def _new_counterparty(s: Subject) -> None:
    if s.operation != "transfer" or s.counterparty_wallet_id is None:
        return
    if not s.facts.counterparty_seen:
        s.add("new_counterparty", 10, "first transfer to this counterparty")


RULES = (_amount_vs_history, _rapid_succession, _young_wallet, _unusual_currency, _new_counterparty)


def rule_score(subject: Subject) -> Score:
    for rule in RULES:
        rule(subject)
    total = min(100, sum(points for _, points, _ in subject.points))
    return Score(
        score=total,
        reasons=tuple(reason for _, _, reason in subject.points),
        signals=tuple(signal for signal, _, _ in subject.points),
    )


def remote_score(subject: Subject, rules: Score, *, client: httpx.Client | None = None) -> Score:
    """Ask the remote risk service; fall back to the rule score on any failure."""
    endpoint = settings.RISK_SERVICE_ENDPOINT.rstrip("/")
    payload = {
        "operation": subject.operation,
        "wallet_id": str(subject.wallet_id),
        "owner_id": str(subject.owner_id),
        "amount": subject.amount,
        "currency": subject.currency,
        "counterparty_wallet_id": str(subject.counterparty_wallet_id) if subject.counterparty_wallet_id else None,
        "saga_id": str(subject.saga_id) if subject.saga_id else None,
        "rules": {"score": rules.score, "signals": list(rules.signals)},
    }
    timeout = settings.RISK_SERVICE_TIMEOUT_SECONDS
    try:
        if client is None:
            with httpx.Client(timeout=timeout) as own:
                response = own.post(f"{endpoint}/score", json=payload)
        else:
            response = client.post(f"{endpoint}/score", json=payload, timeout=timeout)
        response.raise_for_status()
        body = response.json()
        score = body["score"]
        if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 100:
            raise ValueError(f"score {score!r} is not an integer from 0 to 100")
        reasons = tuple(str(r) for r in body.get("reasons", []))
        return Score(score=score, reasons=reasons, signals=rules.signals, source="remote")
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
        log.warning("remote risk service failed, using the rule score", extra={"error": type(exc).__name__})
        reason = f"remote risk service unavailable ({type(exc).__name__}); rule score used"
        return Score(
            score=rules.score, reasons=(*rules.reasons, reason), signals=rules.signals, source="rules-fallback"
        )


def assess(subject: Subject) -> Score:
    rules = rule_score(subject)
    if settings.RISK_SERVICE_ENDPOINT:
        return remote_score(subject, rules)
    return rules
