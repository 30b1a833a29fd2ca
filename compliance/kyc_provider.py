"""The KYC provider gateway: send a profile's check, read a check's state.

Two implementations behind one interface (`submit(check)`, `fetch(check_id)`, each answering a
`CheckResult`):

- `HttpKycProvider`, selected by `settings.KYC_SERVICE_ENDPOINT` (REST, JSON):

      POST {endpoint}/checks          Idempotency-Key: <reference>
           {"reference", "kind", "country", "person": {...} | "business": {...}}
        -> {"id": "chk_…", "reference", "status": "pending|verified|rejected|needs_review", "reasons": [...]}
      GET  {endpoint}/checks/{id}     -> the same document

  The reference (our UUID of the check, new on every submission) is the provider's idempotency key,
  so a retried send never opens a second check. The result arrives later by signed callback
  (`POST /v1/hooks/kyc`, `compliance.webhooks`) or, when that is late, by polling `fetch`.

- `SandboxKycProvider`, used when KYC_SERVICE_ENDPOINT is unset (`make run`, tests). No network;
  it decides from documented test values (see `SANDBOX_VALUES` and the README) and answers at once,
  so its decision is applied by the same service as a real callback's (`kyc_check_result_apply`).
  The production settings refuse to start without a real endpoint.

Failures follow the other gateways (`crowdpay.gateways`): `GatewayUnavailable` is worth a retry
(timeout, refused connection, 5xx, 429, an unreadable body), `GatewayRejected` is final (a 4xx).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from django.conf import settings

from crowdpay.gateways import GatewayRejected, GatewayUnavailable, HttpGateway

PENDING, VERIFIED, REJECTED, NEEDS_REVIEW = "pending", "verified", "rejected", "needs_review"
STATUSES = (PENDING, VERIFIED, REJECTED, NEEDS_REVIEW)
FINAL = (VERIFIED, REJECTED, NEEDS_REVIEW)

__all__ = ["CheckRequest", "CheckResult", "GatewayRejected", "GatewayUnavailable", "kyc_provider"]


@dataclass(frozen=True)
class CheckRequest:
    """What the provider is asked to check (plaintext: it only ever lives in memory and on the wire)."""

    reference: str
    kind: str  # PERSON | BUSINESS
    country: str
    legal_name: str
    date_of_birth: str
    document_number: str
    address: str
    beneficial_owners: tuple[dict, ...] = ()

    def to_json(self) -> dict:
        body: dict = {"reference": self.reference, "kind": self.kind.lower(), "country": self.country}
        if self.kind == "BUSINESS":
            body["business"] = {
                "name": self.legal_name,
                "registration_number": self.document_number,
                "address": self.address,
                "beneficial_owners": list(self.beneficial_owners),
            }
        else:
            body["person"] = {
                "legal_name": self.legal_name,
                "date_of_birth": self.date_of_birth,
                "address": self.address,
                "document_reference": self.document_number,
            }
        return body


@dataclass(frozen=True)
class CheckResult:
    check_id: str
    status: str  # one of STATUSES
    reasons: tuple[str, ...] = field(default_factory=tuple)

    @property
    def final(self) -> bool:
        return self.status in FINAL


def parse_result(body: dict, *, source: str) -> CheckResult:
    """A provider's check document -> CheckResult; GatewayUnavailable when it is not one."""
    status, check_id, reasons = body.get("status"), body.get("id"), body.get("reasons", [])
    if status not in STATUSES or not isinstance(check_id, str) or not check_id:
        raise GatewayUnavailable(f"{source}: the answer is not a check document")
    if not isinstance(reasons, list):
        reasons = []
    return CheckResult(check_id=check_id[:64], status=status, reasons=tuple(str(r)[:500] for r in reasons[:20]))


class HttpKycProvider(HttpGateway):
    name = "kyc"

    def submit(self, check: CheckRequest) -> CheckResult:
        body = self.request("POST", "/checks", json=check.to_json(), headers={"Idempotency-Key": check.reference})
        return parse_result(body, source=self.name)

    def fetch(self, check_id: str) -> CheckResult:
        return parse_result(self.request("GET", f"/checks/{check_id}"), source=self.name)


# --- the sandbox -------------------------------------------------------------------------------------

# The test values the sandbox decides from: a person's family name (the last word of the legal name)
# or the start of a business's registration number, case-insensitive. Anything else is verified.
SANDBOX_VALUES = {
    "reject": (REJECTED, "sandbox: the identity document could not be verified"),
    "review": (NEEDS_REVIEW, "sandbox: a possible watch-list match needs a manual review"),
    "late": (PENDING, "sandbox: the check stays pending until it is polled"),
}


class SandboxKycProvider:
    """The built-in provider for development and tests. Documented test values:

    | person: family name (last word of legal_name) | business: registration_number starts with | result |
    |---|---|---|
    | `Reject` | `REJECT` | rejected, with a reason |
    | `Review` | `REVIEW` | needs_review (an officer decides) |
    | `Late`   | `LATE`   | pending; verified when polled (no callback) |
    | anything else | anything else | verified |
    """

    name = "sandbox"

    @staticmethod
    def _check_id(reference: str) -> str:
        return "sbx_" + hashlib.sha256(reference.encode()).hexdigest()[:24]

    @staticmethod
    def test_value(check: CheckRequest) -> str:
        if check.kind == "BUSINESS":
            number = check.document_number.strip().lower()
            return next((v for v in SANDBOX_VALUES if number.startswith(v)), "")
        words = check.legal_name.split()
        return words[-1].lower() if words else ""

    def submit(self, check: CheckRequest) -> CheckResult:
        status, reason = SANDBOX_VALUES.get(self.test_value(check), (VERIFIED, ""))
        check_id = self._check_id(check.reference)
        return CheckResult(check_id=check_id, status=status, reasons=(reason,) if status != VERIFIED else ())

    def fetch(self, check_id: str) -> CheckResult:
        # Only a "late" check is ever polled: the sandbox decided every other one at once.
        return CheckResult(check_id=check_id, status=VERIFIED, reasons=("sandbox: verified on polling",))


def kyc_provider() -> HttpKycProvider | SandboxKycProvider:
    """The configured provider: HTTP when KYC_SERVICE_ENDPOINT is set, the sandbox otherwise."""
    if settings.KYC_SERVICE_ENDPOINT:
        return HttpKycProvider(settings.KYC_SERVICE_ENDPOINT, timeout=settings.KYC_SERVICE_TIMEOUT_SECONDS)
    return SandboxKycProvider()
